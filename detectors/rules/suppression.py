"""Noise control: one alert per (rule, entity, window), and analysts' exceptions as data.

**Suppression.** The first hit of a rule for an entity raises an alert; later hits within the
rule's ``suppress`` window (default 1 h of *event* time, counted from the first hit) do not raise
new alerts but yield an *update* of the same alert: same ``alert.id``, ``event.end`` extended,
``related.event_ids`` grown (capped), ``alert.suppressed_count`` and
``parasol.alert.suppressed`` = the number of hits folded in. Indexed by ``alert.id``, the store
holds one document per window with the right count. A re-delivered event (same ``event.id``)
is recognised and changes nothing. The window state is a plain dict kept in the entity's state.

**Exceptions** (allow-lists) are data: ``{id, rule_id ("*" = every rule), when: condition,
expires (RFC 3339, optional), reason, created_by}``, checked against the event that completed
the evidence at its event time. :func:`exception_from_verdict` turns an analyst's
false-positive verdict on an alert into a scoped, expiring exception.

>>> exc = exception_from_verdict({"rule": {"id": "r1"}, "user": {"name": "etl"},
...     "@timestamp": "2026-11-20T10:00:00.000Z", "alert": {"id": "a1"}}, ttl_s=86400)
>>> exc.applies("r1", {"user": {"name": "etl"}}, 1795168800.0), exc.applies("r2", {"user":
...     {"name": "etl"}}, 1795168800.0), exc.applies("r1", {"user": {"name": "etl"}}, 1.9e9)
(True, False, False)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detectors.rules.conditions import Condition, ConditionError, parse_condition
from detectors.rules.fields import MISSING, event_time, get, iso

__all__ = [
    "EVIDENCE_CAP",
    "EXCEPTIONS_FILE",
    "RuleException",
    "SuppressionOutcome",
    "exception_from_verdict",
    "expire_windows",
    "load_exceptions",
    "open_or_fold",
]

EXCEPTIONS_FILE = Path(__file__).resolve().parent / "data" / "exceptions.yaml"
#: At most this many event ids are kept as evidence of one alert (the count goes on).
EVIDENCE_CAP = 50


@dataclass(frozen=True)
class RuleException:
    id: str
    rule_id: str
    when: Condition
    expires: float | None = None
    reason: str = ""
    created_by: str = ""
    spec: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def applies(self, rule_id: str, event: Any, ts: float | None) -> bool:
        if self.rule_id not in ("*", rule_id):
            return False
        if self.expires is not None and ts is not None and ts >= self.expires:
            return False
        return self.when.match(event)

    def to_dict(self) -> dict[str, Any]:
        """The exception as data (for exceptions.yaml or a table)."""
        d: dict[str, Any] = {"id": self.id, "rule_id": self.rule_id,
                             "when": dict(self.spec.get("when") or {})}
        if self.expires is not None:
            d["expires"] = iso(self.expires)
        if self.reason:
            d["reason"] = self.reason
        if self.created_by:
            d["created_by"] = self.created_by
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "exception") -> RuleException:
        if not isinstance(d, Mapping):
            raise TypeError(f"{where}: an exception is a mapping")
        missing = [k for k in ("id", "rule_id", "when") if not d.get(k)]
        if missing:
            raise ValueError(f"{where}: missing {', '.join(missing)}")
        try:
            when = parse_condition(d["when"], f"{where}.when")
        except ConditionError as e:
            raise ValueError(str(e)) from None
        expires = None
        if d.get("expires"):
            expires = event_time({"@timestamp": d["expires"]})
            if expires is None:
                raise ValueError(f"{where}: expires {d['expires']!r} is not a time")
        return cls(str(d["id"]), str(d["rule_id"]), when, expires, str(d.get("reason") or ""),
                   str(d.get("created_by") or ""), dict(d))


def load_exceptions(path: Path | str | None = None) -> tuple[RuleException, ...]:
    """Exceptions from a YAML list (default: the packaged, usually empty, file)."""
    import yaml
    p = Path(path) if path else EXCEPTIONS_FILE
    if not p.exists():
        return ()
    with open(p, encoding="utf-8") as f:
        doc = yaml.safe_load(f) or []
    if not isinstance(doc, list):
        raise TypeError(f"{p.name}: exceptions are a YAML list")
    problems, out = [], []
    for i, d in enumerate(doc):
        try:
            out.append(RuleException.from_dict(d, f"{p.name}[{i}]"))
        except (ValueError, TypeError) as e:
            problems.append(str(e))
    ids = [e.id for e in out]
    problems += [f"{p.name}: duplicate exception id {x}" for x in sorted(set(ids))
                 if ids.count(x) > 1]
    if problems:
        raise ValueError("\n".join(problems))
    return tuple(out)


def exception_from_verdict(alert: Mapping[str, Any], *, analyst: str = "", reason: str = "",
                           ttl_s: float = 30 * 86400.0,
                           fields: Iterable[str] = ("user.name",)) -> RuleException:
    """A false-positive verdict on ``alert`` → an exception for the same rule and entity,
    expiring ``ttl_s`` after the alert's event time (scoped: the named ``fields`` must equal
    the alert's values; a field the alert lacks is left out)."""
    rule_id = str(get(alert, "rule.id", "*"))
    conds = []
    for f in fields:
        v = get(alert, f)
        if v is not MISSING and v is not None and v != "":
            conds.append({"field": f, "equals": v})
    when = {"all": conds} if len(conds) > 1 else (conds[0] if conds else {})
    if not conds:
        raise ValueError("the alert has none of the scoping fields: refusing a rule-wide exception")
    ts = event_time(alert) or 0.0
    alert_id = str(get(alert, "alert.id", ""))
    xid = "fp-" + hashlib.sha1(f"{rule_id}|{alert_id}|{sorted(map(str, conds))}".encode()
                               ).hexdigest()[:16]
    spec = {"id": xid, "rule_id": rule_id, "when": when, "expires": iso(ts + ttl_s),
            "reason": reason or f"false positive verdict on alert {alert_id}",
            "created_by": analyst}
    return RuleException.from_dict(spec)


@dataclass(frozen=True)
class SuppressionOutcome:
    new: bool  # a new alert (else an update of the window's alert)
    duplicate: bool  # the same event seen again: nothing to emit
    window: dict  # the window's state (mutated in place)


def open_or_fold(windows: dict, key: str, ts: float, event_id: str | None, window_s: float,
                 evidence: Iterable[str] = ()) -> SuppressionOutcome:
    """Open a suppression window for ``key`` at ``ts`` or fold this hit into the open one.

    ``windows`` is the entity's ``{key: window}`` dict (JSON-ready); a window is
    ``{"start", "end", "count", "ids", "alert"}`` where ``alert`` is filled by the caller."""
    w = windows.get(key)
    if w is not None and w["start"] - window_s < ts < w["start"] + window_s:
        if event_id is not None and event_id in w["ids"]:
            return SuppressionOutcome(False, True, w)
        w["count"] += 1
        w["end"] = max(w["end"], ts)
        if event_id is not None and len(w["ids"]) < EVIDENCE_CAP:
            w["ids"].append(event_id)
        return SuppressionOutcome(False, False, w)
    ids: list[str] = []
    for x in list(evidence) + ([event_id] if event_id else []):
        if x and x not in ids and len(ids) < EVIDENCE_CAP:
            ids.append(x)
    w = {"start": ts, "end": ts, "count": 0, "ids": ids, "alert": None}
    windows[key] = w
    return SuppressionOutcome(True, False, w)


def expire_windows(windows: dict, ts: float, window_s_of: Any) -> None:
    """Drop windows that closed before ``ts`` (``window_s_of(key)`` gives each key's length)."""
    for k in [k for k, w in windows.items() if ts >= w["start"] + window_s_of(k)]:
        del windows[k]
