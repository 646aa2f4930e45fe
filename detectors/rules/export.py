"""Rules (native and Sigma) as Elasticsearch query DSL, to hunt the index for what the stream
would have raised.

:func:`export_es` returns, per rule, ``{"rule": {...}, "index": "parasol-audit*", "query": DSL,
"exact": bool, "notes": [...]}``; threshold rules add ``"aggs"`` and ``"threshold"`` (bucket the
matches per entity and window, then keep buckets with ``doc_count`` — or the ``distinct``
cardinality — at least ``threshold.count``). ``exact`` is false where the index cannot say the
same thing as the stream:

* threshold windows become fixed (tumbling) histogram buckets, where the stream also slides;
* new-terms and sequence rules need per-entity history: the export is their event filter only;
* regular expressions are translated to Lucene's dialect (anchored, no ``\\b``, no lookaround);
* ``db.statement`` in ``parasol-audit*`` has recognised personal values cut out by the
  understand stage, so statement conditions on those values cannot match there;
* ``outside_hours``, ``count_gte`` and ``equals_field`` become ``script`` queries.

Leaf mapping: equals → ``term``; in → ``terms``; contains / endswith / wildcard → ``wildcard``;
startswith → ``prefix``; regex → ``regexp``; gt/gte/lt/lte → ``range``; exists → ``exists``;
cidr → ``terms`` on the ``ip`` field; ignore_case → ``case_insensitive``. Text fields use their
``.keyword`` sub-field (``db.statement.keyword``).

>>> from detectors.rules.conditions import parse_condition
>>> parse_condition({"field": "db.statement", "contains": "pg_sleep", "ignore_case": True}).to_es()
{'wildcard': {'db.statement.keyword': {'value': '*pg_sleep*', 'case_insensitive': True}}}
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from detectors.rules.conditions import Condition, FieldTest, es_field, walk
from detectors.rules.model import Rule

__all__ = ["ALERTS_INDEX", "AUDIT_INDEX", "export_es", "field_test_to_es", "lucene_regex"]

AUDIT_INDEX = "parasol-audit*"
ALERTS_INDEX = "parasol-alerts*"
_ANOMALY_FIELDS = {"parasol.anomaly.score": "risk.score", "parasol.anomaly.detector": "rule.id",
                   "parasol.anomaly.name": "rule.name"}


def _wild_escape(s: str) -> str:
    return re.sub(r"([\\*?])", r"\\\1", s)


def _glob_to_es(pattern: str) -> str:
    """fnmatch glob (``[*]`` escapes a star) → ES wildcard (``\\*``)."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "[" and i + 2 < len(pattern) and pattern[i + 2] == "]":
            out.append(_wild_escape(pattern[i + 1]))
            i += 3
            continue
        out.append("\\\\" if c == "\\" else c)
        i += 1
    return "".join(out)


def lucene_regex(py: str) -> tuple[str, bool, bool]:
    r"""A Python ``re.search`` pattern → (Lucene regexp matching the whole term, case-insensitive,
    exact translation).

    >>> lucene_regex(r"(?i)\bto\s+stdout\b")
    ('.*(to[ \t\r\n]+stdout).*', True, False)
    """
    exact = True
    ic = False
    m = re.match(r"^\(\?([aiLmsux]+)\)", py)
    if m:
        ic = "i" in m.group(1)
        exact = not set(m.group(1)) - {"i"}
        py = py[m.end():]
    if "(?=" in py or "(?!" in py or "(?<" in py or "\\b" in py or "\\B" in py:
        exact = False
    py = py.replace("\\b", "").replace("\\B", "").replace("(?:", "(")
    # Lucene has no \d \w \s (a backslash only escapes the next character): spell them out
    py = py.replace("\\d", "[0-9]").replace("\\w", "[a-zA-Z0-9_]").replace("\\s", "[ \t\r\n]")
    py = py.replace("\\D", "[^0-9]").replace("\\S", "[^ \t\r\n]")
    start = py.startswith("^")
    end = py.endswith("$") and not py.endswith("\\$")
    core = py[1 if start else 0: -1 if end else None]
    out = ("" if start else ".*") + (f"({core})" if not (start and end) else core) + (
        "" if end else ".*")
    # Lucene reserves " < > # @ & ~: escape the ones a Python pattern uses literally
    out = re.sub(r'(?<!\\)([<>"#@&~])', r"\\\1", out)
    return out, ic, exact


def _ci(q: dict, ic: bool) -> dict:
    if ic:
        q["case_insensitive"] = True
    return q


def field_test_to_es(t: FieldTest, notes: list[str] | None = None) -> dict:
    """One leaf (see module doc); ``notes`` collects what is approximate."""
    notes = notes if notes is not None else []
    f, op, v, ic = t.field, t.op, t.value, t.ignore_case
    ef = es_field(f)
    if f == "db.statement":
        notes.append("db.statement in the index has recognised personal values cut out")
    if op == "equals":
        if isinstance(v, str):
            return {"term": {ef: _ci({"value": v}, ic)}}
        return {"term": {ef: {"value": v}}}
    if op == "in":
        vals = list(v)
        if ic and any(isinstance(x, str) for x in vals):
            return {"bool": {"should": [{"term": {ef: _ci({"value": x}, isinstance(x, str))}}
                                        for x in vals], "minimum_should_match": 1}}
        return {"terms": {ef: vals}}
    if op == "contains":
        return {"wildcard": {ef: _ci({"value": f"*{_wild_escape(v)}*"}, ic)}}
    if op == "startswith":
        return {"prefix": {ef: _ci({"value": v}, ic)}}
    if op == "endswith":
        return {"wildcard": {ef: _ci({"value": f"*{_wild_escape(v)}"}, ic)}}
    if op == "wildcard":
        return {"wildcard": {ef: _ci({"value": _glob_to_es(v)}, ic)}}
    if op == "regex":
        rx, ric, exact = lucene_regex(str(v))
        if not exact:
            notes.append(f"regex on {f} translated approximately to Lucene syntax")
        return {"regexp": {ef: _ci({"value": rx, "flags": "ALL"}, ic or ric)}}
    if op in ("gt", "gte", "lt", "lte"):
        return {"range": {ef: {op: v}}}
    if op == "exists":
        q = {"exists": {"field": ef}}
        return q if v else {"bool": {"must_not": [q]}}
    if op == "cidr":
        return {"terms": {ef: list(v) if isinstance(v, (list, tuple)) else [v]}}
    notes.append(f"{op} on {f} runs as a script query")
    if op == "count_gte":
        return {"script": {"script": {"source": f"doc['{ef}'].size() >= params.n",
                                      "params": {"n": v}}}}
    if op == "equals_field":
        other = es_field(str(v))
        return {"script": {"script": {
            "source": f"doc['{ef}'].size() > 0 && doc['{other}'].size() > 0 && "
                      f"doc['{ef}'].value == doc['{other}'].value"}}}
    if op == "outside_hours":
        spec = dict(v)
        return {"script": {"script": {
            "source": "ZonedDateTime t = doc['@timestamp'].value.withZoneSameInstant("
                      "ZoneId.of(params.tz)); int h = t.getHour(); "
                      "if (params.weekends && t.getDayOfWeek().getValue() >= 6) return true; "
                      "boolean inside = params.start <= params.end ? "
                      "(h >= params.start && h < params.end) : (h >= params.start || h < params.end);"
                      " return !inside;",
            "params": {"tz": _zone(spec.get("tz", "site")), "start": int(spec.get("start", 8)),
                       "end": int(spec.get("end", 19)),
                       "weekends": bool(spec.get("weekends", True))}}}}
    raise ValueError(f"no Elasticsearch form for op {op!r}")


def _remap(cond: Condition, mapping: dict[str, str]) -> dict:
    """``cond.to_es()`` with field names replaced (anomaly rules query the alerts index)."""
    q = cond.to_es([])

    def sub(x: Any) -> Any:
        if isinstance(x, dict):
            return {mapping.get(k, k): sub(v) for k, v in x.items()}
        if isinstance(x, list):
            return [sub(v) for v in x]
        return x

    return sub(q)


def _filter(*qs: dict) -> dict:
    qs = tuple(q for q in qs if q and q != {"match_all": {}})
    if not qs:
        return {"match_all": {}}
    return qs[0] if len(qs) == 1 else {"bool": {"filter": list(qs)}}


def _one(rule: Rule) -> dict:
    notes: list[str] = []
    out: dict[str, Any] = {
        "rule": {"id": rule.id, "name": rule.name, "type": rule.type, "severity": rule.severity,
                 "risk_score": rule.risk_score, "origin": rule.origin},
        "index": AUDIT_INDEX,
    }
    exact = True
    if rule.type == "anomaly":
        out["index"] = ALERTS_INDEX
        spec = rule.anomaly
        parts = [{"term": {"rule.kind": {"value": "anomaly"}}},
                 {"range": {"risk.score": {"gte": spec.min_score if spec else 0}}}]
        if spec and spec.detectors:
            parts.append({"terms": {"rule.id": list(spec.detectors)}})
        out["query"] = _filter(*parts, _remap(rule.when, _ANOMALY_FIELDS))
    else:
        query = rule.when.to_es(notes)
        if rule.type == "sequence" and rule.sequence:
            steps = [s.when.to_es(notes) for s in rule.sequence.steps if s.input == "events"]
            query = _filter(query, {"bool": {"should": steps, "minimum_should_match": 1}}
                            if steps else {})
            notes.append(f"sequence of {len(rule.sequence.steps)} steps within "
                         f"{rule.sequence.within_s:g}s: the query finds candidate events only")
            exact = False
        elif rule.type == "new_terms":
            notes.append("new terms need per-entity history: the query is the event filter only")
            exact = False
        elif rule.type == "threshold" and rule.threshold:
            th = rule.threshold
            if len(rule.group_by) == 1:
                group: dict = {"terms": {"field": es_field(rule.group_by[0]), "size": 1000,
                                         "min_doc_count": 1 if th.distinct else th.count}}
            else:
                group = {"multi_terms": {"terms": [{"field": es_field(g)}
                                                   for g in rule.group_by], "size": 1000}}
            window: dict = {"date_histogram": {"field": "@timestamp",
                                               "fixed_interval": f"{int(th.window_s)}s",
                                               "min_doc_count": 1}}
            if th.distinct:
                window["aggs"] = {"distinct": {"cardinality": {"field": es_field(th.distinct)}}}
            group["aggs"] = {"windows": window}
            out["aggs"] = {"entities": group}
            out["threshold"] = {"count": th.count, "distinct": th.distinct,
                                "window_s": th.window_s, "mode": th.mode}
            notes.append("keep windows whose doc_count (or distinct.value) >= threshold.count; "
                         "windows are fixed buckets" + (" where the stream slides"
                                                        if th.mode == "sliding" else ""))
            exact = False
        out["query"] = query
    for node in walk(rule.when) if rule.type != "anomaly" else ():
        if isinstance(node, FieldTest) and node.field.startswith("parasol.") and \
                node.field.split(".")[1] in ("sqli", "api", "anomaly"):
            notes.append(f"{node.field} is computed by the rule stage: indexed only for events "
                         f"that went through it")
            break
    if notes:
        exact = False
    out["exact"] = exact
    out["notes"] = sorted(set(notes))
    return out


def export_es(rules: Iterable[Rule]) -> list[dict]:
    """Elasticsearch search bodies for ``rules`` (see module doc); pure, no client."""
    return [_one(r) for r in rules]


def _zone(name: str) -> str:
    from detectors.rules import conditions

    return conditions._site_tz if name == "site" else name
