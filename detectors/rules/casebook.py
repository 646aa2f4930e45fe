"""Run the test cases that sit beside each rule (``tests: {positive, negative}``).

A case is one event, or a list of events for stateful rules. Short forms keep rule files
readable:

* no ``@timestamp``: the case's base time (2026-11-20T10:00:00Z, a Friday) plus one second per
  event; ``_at: "+35d"`` (or ``-2h``) places an event relative to the base instead, and ``_at``
  with an RFC 3339 time places it exactly;
* ``_repeat: N`` repeats an event N times, ``_step: "10s"`` apart, with ``{i}`` in string
  values replaced by the repetition number (``user.name: "user{i}"``);
* ``_alert: true`` feeds the item to :meth:`RuleEngine.observe_alert` (an alert from the UEBA
  stage) instead of :meth:`RuleEngine.process`;
* a DB event with ``db.statement`` but no ``parasol.sql`` is analysed by :mod:`detectors.sql`
  first, as the pipeline's understand stage would.

A positive case passes when the rule raised at least one alert; a negative one when it raised
none. :func:`failures` returns every failing case of every rule, so one run reports all.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from detectors.rules.fields import event_time, iso, parse_duration
from detectors.rules.model import Rule

__all__ = ["BASE_TIME", "expand_case", "failures", "run_case"]

BASE_TIME = "2026-11-20T10:00:00.000Z"
_BASE = event_time({"@timestamp": BASE_TIME}) or 0.0
_analyzer = None


def _fill(value: Any, i: int) -> Any:
    if isinstance(value, str):
        return value.replace("{i}", str(i))
    if isinstance(value, dict):
        return {k: _fill(v, i) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, i) for v in value]
    return value


def _understand(event: dict) -> None:
    global _analyzer
    db = event.get("db")
    if not isinstance(db, dict) or not isinstance(db.get("statement"), str):
        return
    p = event.setdefault("parasol", {})
    if "sql" in p:
        return
    if _analyzer is None:
        from detectors.sql import SqlAnalyzer
        _analyzer = SqlAnalyzer()
    info = _analyzer.analyze(db["statement"], db.get("system"))
    p["sql"] = {"operation": info.operation, "command": info.command,
                "statements": info.statements, "fingerprint": info.fingerprint,
                "parse_ok": info.parse_ok, "has_where": info.has_where,
                "has_limit": info.has_limit, "functions": sorted(info.functions),
                "flags": sorted(info.flags), "columns_filtered": sorted(info.columns_filtered)}
    p.setdefault("tables", sorted(info.tables))
    p.setdefault("columns", sorted(info.columns_read | info.columns_written))


def expand_case(case: Any) -> list[tuple[bool, dict]]:
    """``[(is_alert, event)]`` in order, with times, ids and repetitions filled in."""
    items = case if isinstance(case, list) else [case]
    out: list[tuple[bool, dict]] = []
    t = _BASE
    n = 0
    for item in items:
        if not isinstance(item, dict):
            raise TypeError(f"a case item is a mapping, not {type(item).__name__}")
        item = copy.deepcopy(item)
        repeat = int(item.pop("_repeat", 1))
        step = parse_duration(item.pop("_step", "1s"))
        at = item.pop("_at", None)
        is_alert = bool(item.pop("_alert", False))
        if at is not None:
            if isinstance(at, str) and at[:1] in "+-":
                sign = -1 if at[0] == "-" else 1
                t = _BASE + sign * parse_duration(at[1:])
            else:
                t = event_time({"@timestamp": at}) or t
        elif n:
            t += 1.0
        for i in range(repeat):
            ev = _fill(item, i) if repeat > 1 else item
            ev = copy.deepcopy(ev)
            if "@timestamp" not in ev:
                ev["@timestamp"] = iso(t)
            n += 1
            if is_alert:
                ev.setdefault("alert", {}).setdefault("id", f"case-alert-{n}")
            else:
                ev.setdefault("event", {}).setdefault("id", f"case-event-{n}")
                _understand(ev)
            out.append((is_alert, ev))
            if i < repeat - 1:
                t += step
    return out


def run_case(rule: Rule, case: Any, engine_factory: Any = None) -> list[dict]:
    """Alerts of ``rule`` (alone in a fresh engine) on one case."""
    from detectors.rules.engine import RuleEngine
    engine = (engine_factory or (lambda r: RuleEngine([r], exceptions=())))(rule)
    alerts: list[dict] = []
    for is_alert, ev in expand_case(case):
        got = engine.observe_alert(ev) if is_alert else engine.process(ev)
        alerts += [a for a in got if a["rule"]["id"] == rule.id]
    return alerts


def failures(rules: Iterable[Rule]) -> list[str]:
    """Every failing test case of every rule, as ``file: positive[2]: why`` lines."""
    out = []
    for rule in rules:
        tests = rule.tests or {}
        for polarity in ("positive", "negative"):
            for i, case in enumerate(tests.get(polarity) or []):
                try:
                    alerts = run_case(rule, case)
                except Exception as e:  # noqa: BLE001 — report, do not stop at the first
                    out.append(f"{rule.source or rule.name}: {polarity}[{i}]: raised {e!r}")
                    continue
                if polarity == "positive" and not alerts:
                    out.append(f"{rule.source or rule.name}: positive[{i}]: no alert")
                elif polarity == "negative" and alerts:
                    out.append(f"{rule.source or rule.name}: negative[{i}]: alerted: "
                               f"{alerts[0]['explanation']}")
    return out
