"""Alert documents as CONTRACT.md's "Risk alert": built from a rule, the event that completed
its evidence and the :class:`~detectors.rules.windows.Hit`.

``alert.id`` is a hash of (rule id, entity key, start of the suppression window, first evidence
event id): a replay or a re-delivery of the same evidence yields the same id, so the index keeps
one document. ``event.created`` (wall clock) is left to the caller.

>>> alert_id("r1", "user.name=alice", 1795168800.0, "e1") == alert_id("r1", "user.name=alice",
...     1795168800.0, "e1")
True
>>> explain("{user.name} read {db.rows} rows ({count} in {window})",
...         {"user": {"name": "alice"}, "db": {"rows": 5}}, {"count": 3, "window": "5m"})
'alice read 5 rows (3 in 5m)'
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping
from typing import Any

from detectors.rules.fields import MISSING, get, iso
from detectors.rules.model import Rule
from detectors.rules.suppression import EVIDENCE_CAP
from detectors.rules.windows import Hit

__all__ = ["COPIED_FIELDS", "alert_id", "build_alert", "explain", "fold_update"]

#: Entity and place fields copied from the event into the alert when present.
COPIED_FIELDS = ("user.name", "source.ip", "service.name", "session.id", "db.system",
                 "db.instance", "db.name", "http.route", "http.request.method", "url.path")
_PLACEHOLDER = re.compile(r"\{([@\w.]+)\}")


def alert_id(rule_id: str, entity: str, start: float, first_event: str | None) -> str:
    raw = f"{rule_id}|{entity}|{round(start * 1000)}|{first_event or ''}"
    return hashlib.sha1(raw.encode()).hexdigest()[:32]


def _text(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ", ".join(_text(x) for x in v[:10]) + (", …" if len(v) > 10 else "")
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def explain(template: str, event: Any, context: Mapping[str, Any] | None = None) -> str:
    """Fill ``{field.path}`` / ``{context_key}`` placeholders (``?`` when absent)."""
    ctx = context or {}

    def sub(m: re.Match) -> str:
        key = m.group(1)
        if key in ctx and ctx[key] is not None:
            return _text(ctx[key])
        v = get(event, key)
        return "?" if v is MISSING or v is None else _text(v)

    return _PLACEHOLDER.sub(sub, template)


def _put(doc: dict, path: str, value: Any) -> None:
    parts = path.split(".")
    cur = doc
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value


def build_alert(rule: Rule, event: Any, ts: float, hit: Hit, entity: str, window_start: float,
                score: int, severity: str, entity_risk: float | None = None) -> dict:
    """A new alert (revision 0) for ``rule`` on ``event`` at event time ``ts``."""
    first = hit.event_ids[0] if hit.event_ids else get(event, "event.id", None)
    aid = alert_id(rule.id, entity, window_start, first)
    doc: dict[str, Any] = {
        "@timestamp": iso(ts),
        "event": {"kind": "alert", "start": iso(min(hit.start, ts)), "end": iso(max(hit.end, ts)),
                  "dataset": "parasol.alerts"},
        "alert": {"id": aid, "suppressed_count": 0},
        "rule": {"id": rule.id, "name": rule.name, "kind": rule.kind, "type": rule.type},
        "risk": {"score": score, "severity": severity},
        "related": {"event_ids": list(dict.fromkeys(hit.event_ids))[:EVIDENCE_CAP]},
        "tags": list(rule.tags),
        "explanation": explain(rule.explanation, event, hit.context),
    }
    for f in COPIED_FIELDS:
        v = get(event, f)
        if v is not MISSING and v is not None and v != "":
            _put(doc, f, v)
    if rule.threat is not None:
        doc["threat"] = rule.threat.to_dict()
    info: dict[str, Any] = {"suppressed": 0, "revision": 0, "entity": entity,
                            "rule_type": rule.type, "maturity": rule.maturity}
    for key, path in (("sql_fingerprint", "parasol.sql.fingerprint"),
                      ("sql_command", "parasol.sql.command"), ("tables", "parasol.tables"),
                      ("sensitive_level", "parasol.sensitive.level"), ("sqli", "parasol.sqli"),
                      ("rows", "db.rows"), ("anomaly_score", "parasol.anomaly.score")):
        v = get(event, path)
        if v is not MISSING and v is not None and v != []:
            info[key] = v
    if entity_risk is not None:
        info["entity_risk"] = round(entity_risk, 1)
    if hit.context:
        info["context"] = {k: v for k, v in hit.context.items() if v is not None}
    doc["parasol"] = {"alert": info}
    return doc


def fold_update(alert: dict, window: Mapping[str, Any], ts: float, score: int | None = None,
                severity: str | None = None) -> dict:
    """The window's alert updated with the hits folded in (a new dict; same ``alert.id``)."""
    a = copy.deepcopy(alert)
    count = int(window["count"])
    a["alert"]["suppressed_count"] = count
    a["parasol"]["alert"]["suppressed"] = count
    a["parasol"]["alert"]["revision"] = count
    a["event"]["end"] = iso(max(window["end"], ts))
    a["related"]["event_ids"] = list(dict.fromkeys(a["related"]["event_ids"] + list(
        window["ids"])))[:EVIDENCE_CAP]
    if score is not None and score > a["risk"]["score"]:
        a["risk"]["score"] = score
        if severity:
            a["risk"]["severity"] = severity
    return a
