"""Sigma rules, evaluated in the stream: parsed by pySigma, compiled to parasol conditions.

pySigma parses and validates a rule (modifiers, ``1 of sel*`` / ``all of them``, and/or/not) and
hands back a condition tree; pySigma has no evaluator of its own, so each leaf becomes a
:class:`~detectors.rules.conditions.FieldTest` and the tree an ``All`` / ``AnyOf`` / ``Not`` of
them. The result is a native ``match`` :class:`~detectors.rules.model.Rule`: the same engine,
suppression, scoring and Elasticsearch export as parasol's own rules.

**Fields.** Sigma field names are mapped to parasol's (ECS) fields by :data:`FIELD_MAP`
(case-insensitive); a name with a dot, or one the map does not know, is used as given, so a
Sigma rule may use parasol's dotted names directly. Keywords (values without a field) match
as substrings of :data:`KEYWORD_FIELDS`.

=========================  ===================================
Sigma field                parasol field
=========================  ===================================
user, username             user.name
roles                      user.roles
src_ip, source_ip, c-ip    source.ip
statement, query, sql      db.statement
table, tables              parasol.tables
column, columns            parasol.columns
database, db               db.name
instance                   db.instance
dbms, db_system            db.system
rows                       db.rows
error                      db.error
operation                  parasol.sql.operation
command                    parasol.sql.command
sqli                       parasol.sqli
level, sensitivity         parasol.sensitive.level
service, application       service.name
session                    session.id
outcome                    event.outcome
action                     event.action
method, cs-method          http.request.method
uri, path, cs-uri-stem     url.path
route                      http.route
query_string, cs-uri-query url.query
status, sc-status          http.response.status_code
bytes, sc-bytes            http.response.bytes
user_agent, c-useragent    user_agent.original
=========================  ===================================

**Log sources.** ``category: database`` adds ``event.dataset: db.audit``; ``webserver``,
``api`` or ``proxy`` add ``event.dataset: api.access``; ``product`` may be ``parasol`` or absent.

**Modifiers.** contains, startswith, endswith, all, re (with i, m, s), cidr, gt/gte/lt/lte,
exists, cased, fieldref, expand-free wildcards (``*``, ``?``), null values; strings match
case-insensitively, as Sigma specifies, unless ``cased``. Encoding modifiers (base64, wide, …)
make values no DB or API field holds and are rejected with the rule named.

**Metadata.** ``level`` → severity and risk score (low 21, medium 47, high 73, critical 91);
``status`` stable/test → production, else experimental; ``attack.tNNNN`` tags → the technique,
``attack.<tactic-name>`` → the tactic.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from detectors.rules.conditions import All, AnyOf, Condition, FieldTest, Not
from detectors.rules.model import Rule, Threat

__all__ = [
    "FIELD_MAP",
    "KEYWORD_FIELDS",
    "TACTICS",
    "TECHNIQUE_NAMES",
    "SigmaError",
    "load_sigma",
    "sigma_rules",
]

FIELD_MAP = {
    "user": "user.name", "username": "user.name", "user_name": "user.name",
    "roles": "user.roles", "src_ip": "source.ip", "source_ip": "source.ip",
    "client_ip": "source.ip", "c-ip": "source.ip", "statement": "db.statement",
    "query": "db.statement", "sql": "db.statement", "table": "parasol.tables",
    "tables": "parasol.tables", "column": "parasol.columns", "columns": "parasol.columns",
    "database": "db.name", "db": "db.name", "instance": "db.instance", "dbms": "db.system",
    "db_system": "db.system", "rows": "db.rows", "error": "db.error",
    "operation": "parasol.sql.operation", "command": "parasol.sql.command",
    "sqli": "parasol.sqli", "level": "parasol.sensitive.level",
    "sensitivity": "parasol.sensitive.level", "service": "service.name",
    "application": "service.name", "session": "session.id", "outcome": "event.outcome",
    "action": "event.action", "method": "http.request.method", "cs-method": "http.request.method",
    "uri": "url.path", "path": "url.path", "cs-uri-stem": "url.path", "route": "http.route",
    "query_string": "url.query", "cs-uri-query": "url.query",
    "status": "http.response.status_code", "sc-status": "http.response.status_code",
    "bytes": "http.response.bytes", "sc-bytes": "http.response.bytes",
    "user_agent": "user_agent.original", "c-useragent": "user_agent.original",
}
KEYWORD_FIELDS = ("db.statement", "url.path", "url.query", "user_agent.original", "db.error")
_CATEGORY = {"database": "db.audit", "webserver": "api.access", "api": "api.access",
             "proxy": "api.access"}
_LEVEL = {"informational": ("low", 21), "low": ("low", 21), "medium": ("medium", 47),
          "high": ("high", 73), "critical": ("critical", 91)}
TACTICS = {
    "reconnaissance": ("TA0043", "Reconnaissance"), "initial-access": ("TA0001", "Initial Access"),
    "execution": ("TA0002", "Execution"), "persistence": ("TA0003", "Persistence"),
    "privilege-escalation": ("TA0004", "Privilege Escalation"),
    "defense-evasion": ("TA0005", "Defense Evasion"),
    "credential-access": ("TA0006", "Credential Access"), "discovery": ("TA0007", "Discovery"),
    "lateral-movement": ("TA0008", "Lateral Movement"), "collection": ("TA0009", "Collection"),
    "exfiltration": ("TA0010", "Exfiltration"), "command-and-control": ("TA0011",
                                                                       "Command and Control"),
    "impact": ("TA0040", "Impact"),
}
#: Names of techniques parasol's rules use (others are named by their id).
TECHNIQUE_NAMES = {
    "T1190": "Exploit Public-Facing Application", "T1485": "Data Destruction",
    "T1098": "Account Manipulation", "T1136": "Create Account", "T1562": "Impair Defenses",
    "T1213": "Data from Information Repositories",
    "T1048": "Exfiltration Over Alternative Protocol", "T1078": "Valid Accounts",
    "T1110": "Brute Force", "T1110.001": "Brute Force: Password Guessing",
    "T1110.003": "Brute Force: Password Spraying", "T1119": "Automated Collection",
    "T1595": "Active Scanning", "T1595.002": "Active Scanning: Vulnerability Scanning",
    "T1567": "Exfiltration Over Web Service", "T1005": "Data from Local System",
}


class SigmaError(ValueError):
    """Sigma input that cannot become a parasol rule (every problem, with the rule's title)."""


def _field(name: str | None) -> str | None:
    if name is None:
        return None
    return FIELD_MAP.get(name.lower(), name)


def _glob(parts: Iterable[Any]) -> tuple[str, bool]:
    """SigmaString parts → (fnmatch pattern, has wildcards)."""
    from sigma.types import SpecialChars
    out, wild = [], False
    for p in parts:
        if p is SpecialChars.WILDCARD_MULTI:
            out.append("*")
            wild = True
        elif p is SpecialChars.WILDCARD_SINGLE:
            out.append("?")
            wild = True
        elif isinstance(p, str):
            out.append("".join(f"[{c}]" if c in "*?[" else c for c in p))
        else:  # placeholders
            raise SigmaError(f"unsupported string part {p!r}")
    return "".join(out), wild


def _string_test(field: str, value: Any, cased: bool) -> Condition:
    from sigma.types import SpecialChars
    parts = list(value.s)
    ic = not cased
    strs = [p for p in parts if isinstance(p, str)]
    multi = SpecialChars.WILDCARD_MULTI
    if all(isinstance(p, str) for p in parts):
        return FieldTest(field, "equals", "".join(strs), ic)
    if SpecialChars.WILDCARD_SINGLE not in parts and len(strs) == 1:
        if parts == [multi, strs[0], multi]:
            return FieldTest(field, "contains", strs[0], ic)
        if parts == [strs[0], multi]:
            return FieldTest(field, "startswith", strs[0], ic)
        if parts == [multi, strs[0]]:
            return FieldTest(field, "endswith", strs[0], ic)
    pattern, _ = _glob(parts)
    return FieldTest(field, "wildcard", pattern, ic)


def _leaf(field: str | None, value: Any) -> Condition:
    from sigma.types import (
        CompareOperators,
        SigmaBool,
        SigmaCasedString,
        SigmaCIDRExpression,
        SigmaCompareExpression,
        SigmaExists,
        SigmaExpansion,
        SigmaFieldReference,
        SigmaNull,
        SigmaNumber,
        SigmaRegularExpression,
        SigmaRegularExpressionFlag,
        SigmaString,
    )
    if field is None:  # keywords
        if isinstance(value, SigmaString):
            pattern, wild = _glob(value.s)
            text = "".join(p for p in value.s if isinstance(p, str))
            if wild:
                return AnyOf(tuple(FieldTest(f, "wildcard", f"*{pattern}*", True)
                                   for f in KEYWORD_FIELDS))
            return AnyOf(tuple(FieldTest(f, "contains", text, True) for f in KEYWORD_FIELDS))
        raise SigmaError(f"unsupported keyword value {value!r}")
    f = _field(field) or field
    if isinstance(value, SigmaExpansion):
        return AnyOf(tuple(_leaf(field, v) for v in value.values))
    if isinstance(value, SigmaString):
        return _string_test(f, value, isinstance(value, SigmaCasedString))
    if isinstance(value, SigmaBool):
        return FieldTest(f, "equals", bool(value.boolean))
    if isinstance(value, SigmaNumber):
        return FieldTest(f, "equals", value.number)
    if isinstance(value, SigmaNull):
        return FieldTest(f, "exists", False)
    if isinstance(value, SigmaExists):
        return FieldTest(f, "exists", bool(value.exists))
    if isinstance(value, SigmaRegularExpression):
        rx = value.regexp.to_plain() if hasattr(value.regexp, "to_plain") else str(value.regexp)
        flags = value.flags or set()
        inline = "".join(c for fl, c in ((SigmaRegularExpressionFlag.MULTILINE, "m"),
                                         (SigmaRegularExpressionFlag.DOTALL, "s")) if fl in flags)
        if inline:
            rx = f"(?{inline}){rx}"
        return FieldTest(f, "regex", rx, SigmaRegularExpressionFlag.IGNORECASE in flags)
    if isinstance(value, SigmaCIDRExpression):
        return FieldTest(f, "cidr", value.cidr)
    if isinstance(value, SigmaCompareExpression):
        n = value.number.number
        op = value.op
        if op == CompareOperators.NEQ:
            return Not(FieldTest(f, "equals", n))
        name = {CompareOperators.LT: "lt", CompareOperators.LTE: "lte",
                CompareOperators.GT: "gt", CompareOperators.GTE: "gte"}[op]
        return FieldTest(f, name, n)
    if isinstance(value, SigmaFieldReference):
        return FieldTest(f, "equals_field", _field(value.field) or value.field)
    raise SigmaError(f"unsupported value {type(value).__name__} on field {field!r}")


def _merge_or(items: list[Condition]) -> Condition:
    """``a = x OR a = y`` (a Sigma value list) → ``a in [x, y]``: one lookup, not one per value."""
    flat: list[Condition] = []
    for c in items:
        flat += list(c.items) if isinstance(c, AnyOf) else [c]
    eq = [c for c in flat if isinstance(c, FieldTest) and c.op == "equals"
          and not isinstance(c.value, (bool, dict, list, tuple))]
    groups: dict[tuple[str, bool], list[FieldTest]] = {}
    for c in eq:
        groups.setdefault((c.field, c.ignore_case), []).append(c)
    out: list[Condition] = []
    done: set[tuple[str, bool]] = set()
    for c in flat:
        key = (c.field, c.ignore_case) if isinstance(c, FieldTest) else None
        if key in groups and c in eq and len(groups[key]) > 1:
            if key not in done:
                done.add(key)
                out.append(FieldTest(key[0], "in", tuple(x.value for x in groups[key]), key[1]))
            continue
        out.append(c)
    return out[0] if len(out) == 1 else AnyOf(tuple(out))


def _tree(node: Any) -> Condition:
    from sigma.conditions import (
        ConditionAND,
        ConditionFieldEqualsValueExpression,
        ConditionNOT,
        ConditionOR,
        ConditionValueExpression,
    )
    if isinstance(node, ConditionAND):
        items = []
        for a in node.args:
            c = _tree(a)
            items += list(c.items) if isinstance(c, All) else [c]
        return All(tuple(items))
    if isinstance(node, ConditionOR):
        return _merge_or([_tree(a) for a in node.args])
    if isinstance(node, ConditionNOT):
        return Not(_tree(node.args[0]))
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _leaf(node.field, node.value)
    if isinstance(node, ConditionValueExpression):
        return _leaf(None, node.value)
    raise SigmaError(f"unsupported condition node {type(node).__name__}")


def _threat(tags: list[str]) -> Threat | None:
    tech = tactic = None
    for t in tags:
        t = t.lower()
        if not t.startswith("attack."):
            continue
        name = t[7:]
        if name[:1] == "t" and name[1:5].isdigit():
            tech = name.upper()
        elif name in TACTICS:
            tactic = TACTICS[name]
    if tech is None:
        return None
    return Threat(tech, TECHNIQUE_NAMES.get(tech, tech), tactic[0] if tactic else None,
                  tactic[1] if tactic else None)


_REJECTED_MODIFIERS = {"base64", "base64offset", "wide", "utf16", "utf16be", "utf16le",
                       "windash", "expand"}


def _check_modifiers(detection: Any) -> None:
    """Reject encoding modifiers: they make values no DB or API field holds."""
    from sigma.modifiers import reverse_modifier_mapping
    for item in getattr(detection, "detection_items", ()):
        if hasattr(item, "detection_items"):
            _check_modifiers(item)
            continue
        for m in getattr(item, "modifiers", ()):
            name = reverse_modifier_mapping.get(m.__name__, m.__name__)
            if name in _REJECTED_MODIFIERS:
                raise SigmaError(f"modifier '{name}' on {item.field!r} is not supported")


def _to_rule(sr: Any, source: str) -> Rule:
    title = sr.title or "untitled Sigma rule"
    for det in sr.detection.detections.values():
        _check_modifiers(det)
    conds = []
    for c in sr.detection.parsed_condition:
        conds.append(_tree(c.parsed))
    cond: Condition = conds[0] if len(conds) == 1 else AnyOf(tuple(conds))
    ls = sr.logsource
    dataset = _CATEGORY.get((ls.category or "").lower()) if ls else None
    if ls and ls.product and ls.product.lower() not in ("parasol",):
        raise SigmaError(f"logsource product {ls.product!r} is not parasol's")
    if dataset:
        cond = All((FieldTest("event.dataset", "equals", dataset), cond))
    level = str(sr.level).lower() if sr.level else "medium"
    severity, score = _LEVEL.get(level, ("medium", 47))
    status = str(sr.status).lower() if sr.status else ""
    tags = [str(t) for t in (sr.tags or [])]
    rid = str(sr.id) if sr.id else str(uuid.uuid5(uuid.NAMESPACE_URL, f"sigma:{title}"))
    return Rule(
        id=rid, name=title, description=sr.description or title, type="match",
        severity=severity, risk_score=score, threat=_threat(tags),
        tags=tuple(["sigma"] + [t for t in tags if not t.startswith("attack.")]),
        maturity="production" if status in ("stable", "test") else "experimental",
        when=cond, explanation=f"Sigma: {title} ({{user.name}} on {{db.instance}}{{url.path}})",
        source=source, references=tuple(sr.references or ()), origin="sigma")


def sigma_rules(text_or_dicts: str | Mapping | list, source: str = "") -> tuple[Rule, ...]:
    """Rules from Sigma YAML text (one or several documents) or parsed dicts."""
    from sigma.collection import SigmaCollection
    from sigma.exceptions import SigmaError as PySigmaError
    from sigma.rule import SigmaRule
    try:
        if isinstance(text_or_dicts, str):
            coll = SigmaCollection.from_yaml(text_or_dicts)
        else:
            dicts = text_or_dicts if isinstance(text_or_dicts, list) else [text_or_dicts]
            coll = SigmaCollection.from_dicts(dicts)
    except PySigmaError as e:
        raise SigmaError(f"{source}: {e}") from None
    problems, out = [], []
    for sr in coll.rules:
        if not isinstance(sr, SigmaRule):
            problems.append(f"{source}: {getattr(sr, 'title', '?')}: only detection rules are "
                            f"supported (correlations run as parasol threshold/sequence rules)")
            continue
        try:
            out.append(_to_rule(sr, source))
        except (SigmaError, PySigmaError, KeyError) as e:
            problems.append(f"{source}: {sr.title}: {e}")
    if problems:
        raise SigmaError("\n".join(problems))
    return tuple(out)


def load_sigma(*paths: Path | str) -> tuple[Rule, ...]:
    """Sigma rules from files or directories (default: the packaged examples)."""
    from detectors.rules.loader import SIGMA_DIR, check_unique
    files: list[Path] = []
    for p in paths or (SIGMA_DIR,):
        p = Path(p)
        files += sorted(x for x in p.iterdir() if x.suffix in (".yml", ".yaml")) if p.is_dir() \
            else [p]
    problems, out = [], []
    for f in files:
        try:
            out += sigma_rules(f.read_text(encoding="utf-8"), f.name)
        except SigmaError as e:
            problems.append(str(e))
    problems += check_unique(out)
    if problems:
        raise SigmaError("\n".join(problems))
    return tuple(out)
