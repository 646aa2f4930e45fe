"""The rule stage: events (and UEBA alerts) in, risk alerts out, state per entity.

:class:`RuleEngine` runs every enabled rule on each event after :class:`Annotator` has added
the computed fields. Stateful rules (threshold, new terms, sequence), suppression windows and
entity risk live in one plain-JSON state dict per *entity key* — ``"user.name=alice"``, or
``"source.ip=10.1.2.3"`` for a rule grouped by address — so the stream can keep them in a Faust
table keyed the same way:

.. code-block:: python

    for key in engine.state_keys(event):          # load what this event may touch
        if not engine.has_state(key) and key in table:
            engine.load_state(key, table[key])
    alerts = engine.process(event)
    for key, state in engine.drain_dirty().items():  # write back what changed
        table[key] = state

(:meth:`RuleEngine.process_with` does exactly this with two callables.) The input topics are
keyed by ``user.name``, so per-user state is partition-local; rules grouped by another field
(password spraying by ``source.ip``) see only their partition's share unless the stream
re-keys those events (:meth:`RuleEngine.group_fields` lists the groupings in use).

Only event time is used. In-memory states are an LRU of ``max_entities``; an evicted state that
changed stays in the dirty set until drained, so nothing is lost between drains.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

from detectors.rules.alerts import build_alert, fold_update
from detectors.rules.annotate import Annotator
from detectors.rules.conditions import All, AnyOf
from detectors.rules.fields import MISSING, event_time, get, getter, iso
from detectors.rules.loader import check_unique, load_rules
from detectors.rules.model import Rule
from detectors.rules.scoring import (
    DEFAULT_HALF_LIFE_S,
    EntityRisk,
    alert_score,
    risk_level,
    severity_for,
)
from detectors.rules.suppression import RuleException, load_exceptions, open_or_fold
from detectors.rules.windows import Hit, new_terms, sequence, threshold

__all__ = ["STATE_VERSION", "RuleEngine", "entity_key"]

STATE_VERSION = 1
_SEEN_ALERTS = 64


def entity_key(fields: Iterable[str], event: Any) -> str:
    """``"user.name=alice"`` (``|``-joined for several fields; ``-`` for a missing value)."""
    parts = []
    for f in fields:
        v = getter(f)(event)
        if v is MISSING or v is None or v == "":
            v = "-"
        elif isinstance(v, (list, tuple)):
            v = ",".join(sorted(map(str, v)))
        parts.append(f"{f}={v}")
    return "|".join(parts)


def _new_state() -> dict:
    return {"v": STATE_VERSION, "last": None, "r": {}, "s": {}, "risk": None, "seen": []}


class RuleEngine:
    """Rules + exceptions → ``process(event)`` / ``observe_alert(alert)`` → alert dicts.

    ``rules``: defaults to the packaged pack (:func:`load_rules`); ``exceptions``: defaults to
    the packaged ``exceptions.yaml``. ``risk_half_life_s``: entity-risk half-life over event time.
    """

    def __init__(self, rules: Iterable[Rule] | None = None,
                 exceptions: Iterable[RuleException] | None = None, *,
                 annotator: Callable[[dict], dict] | None = None, max_entities: int = 100_000,
                 risk_half_life_s: float = DEFAULT_HALF_LIFE_S):
        self.rules = tuple(r for r in (load_rules() if rules is None else rules) if r.enabled)
        problems = check_unique(self.rules)
        if problems:
            raise ValueError("\n".join(problems))
        self.exceptions = tuple(load_exceptions() if exceptions is None else exceptions)
        self.annotator = annotator if annotator is not None else Annotator()
        self.max_entities = max_entities
        self.risk_half_life_s = risk_half_life_s
        # (rule, filter) pairs: the rule's ``when``, and for a sequence also "some step of this
        # input matches", so a sequence's state is touched only by events that can advance it
        self._event_rules = tuple((r, _filter(r, "events")) for r in self.rules
                                  if r.input in ("events", "both"))
        self._alert_rules = tuple((r, _filter(r, "alerts")) for r in self.rules
                                  if r.input in ("alerts", "both"))
        self._suppress = {r.id: r.suppress_s for r in self.rules}
        self._groups = tuple(sorted({r.group_by for r in self.rules} | {("user.name",)}))
        self._own = frozenset(r.id for r in self.rules)
        self._states: OrderedDict[str, dict] = OrderedDict()
        self._dirty: dict[str, dict] = {}
        self.stats: Counter = Counter()

    def matches(self, event: Any) -> bool:
        """Whether any rule's event filter accepts ``event`` as it is (no annotation): the
        stream forwards only such events to the engine that runs rules keyed by address."""
        return any(match(event) for _, match in self._event_rules)

    # ------------------------------------------------------------------------------ state
    def group_fields(self) -> set[tuple[str, ...]]:
        """The distinct ``group_by`` field tuples of the rules (plus ``("user.name",)``)."""
        return set(self._groups)

    def state_keys(self, event: Any) -> list[str]:
        """Entity keys whose state processing ``event`` may read or write."""
        return sorted({entity_key(g, event) for g in self._groups})

    def has_state(self, key: str) -> bool:
        return key in self._states or key in self._dirty

    def load_state(self, key: str, state: Mapping[str, Any] | None) -> None:
        """Install a stored state (from the table) for ``key``."""
        if not isinstance(state, Mapping) or state.get("v") != STATE_VERSION:
            return
        self._remember(key, orjson.loads(orjson.dumps(state)))

    def get_state(self, key: str) -> dict | None:
        """A JSON-ready copy of ``key``'s state (None if unknown)."""
        st = self._dirty.get(key) or self._states.get(key)
        return None if st is None else orjson.loads(orjson.dumps(st))

    def drain_dirty(self) -> dict[str, dict]:
        """Copies of the states changed since the last drain (then forgets which)."""
        out = {k: orjson.loads(orjson.dumps(v)) for k, v in self._dirty.items()}
        self._dirty.clear()
        return out

    def _remember(self, key: str, st: dict) -> None:
        self._states[key] = st
        self._states.move_to_end(key)
        while len(self._states) > self.max_entities:
            self._states.popitem(last=False)

    def _state(self, key: str) -> dict:
        st = self._states.get(key)
        if st is None:
            st = self._dirty.get(key) or _new_state()
            self._remember(key, st)
        else:
            self._states.move_to_end(key)
        return st

    def _touch(self, key: str, st: dict) -> None:
        self._dirty[key] = st

    def entity_risk(self, key_or_user: str, ts: float | None = None) -> float:
        """Decayed risk (0–100) of an entity key or user name at event time ``ts``."""
        key = key_or_user if "=" in key_or_user else f"user.name={key_or_user}"
        st = self._states.get(key) or self._dirty.get(key)
        if not st or not st.get("risk"):
            return 0.0
        r = EntityRisk.from_state(st["risk"], self.risk_half_life_s)
        return r.at(ts if ts is not None else (r.t or 0.0))

    def risk_level(self, key_or_user: str, ts: float | None = None) -> str:
        """Masking risk level of an entity (see :func:`detectors.rules.scoring.risk_level`)."""
        return risk_level(self.entity_risk(key_or_user, ts))

    def process_with(self, event: dict, load: Callable[[str], Any],
                     store: Callable[[str, dict], None]) -> list[dict]:
        """:meth:`process` with state read by ``load(key)`` and written by ``store(key, st)``."""
        for key in self.state_keys(event):
            if not self.has_state(key):
                st = load(key)
                if st is not None:
                    self.load_state(key, st)
        alerts = self.process(event)
        for key, st in self.drain_dirty().items():
            store(key, st)
        return alerts

    # ------------------------------------------------------------------------------ events
    def process(self, event: dict) -> list[dict]:
        """Alerts (new, or updates of a suppressed window's alert) raised by one event."""
        ev = self.annotator(event)
        ts = event_time(ev)
        self.stats["events"] += 1
        if ts is None:
            self.stats["no_time"] += 1
            return []
        eid = get(ev, "event.id", None)
        eid = str(eid) if eid is not None else None
        out = []
        for rule, match in self._event_rules:
            if not match(ev):
                continue
            alert = self._run(rule, ev, ts, eid, is_alert=False)
            if alert is not None:
                out.append(alert)
        return out

    def observe_alert(self, alert: Mapping[str, Any]) -> list[dict]:
        """Feed an alert from elsewhere (UEBA anomaly alerts): it adds to the entity's risk and
        drives anomaly-score and correlation rules. This engine's own alerts are ignored."""
        rid = get(alert, "rule.id", None)
        if rid in self._own:
            return []
        ts = event_time(alert)
        if ts is None:
            return []
        self.stats["alerts_in"] += 1
        aid = str(get(alert, "alert.id", ""))
        ev = _synthetic(alert)
        user = get(alert, "user.name", None)
        score = get(alert, "risk.score", None)
        if user and isinstance(score, (int, float)):
            key = f"user.name={user}"
            st = self._state(key)
            if aid and aid not in st["seen"]:
                st["seen"] = (st["seen"] + [aid])[-_SEEN_ALERTS:]
                self._add_risk(st, float(score), ts)
                self._touch(key, st)
        out = []
        for rule, match in self._alert_rules:
            if not match(ev):
                continue
            a = self._run(rule, ev, ts, aid or None, is_alert=True)
            if a is not None:
                out.append(a)
        return out

    def _add_risk(self, st: dict, score: float, ts: float) -> float:
        r = EntityRisk.from_state(st.get("risk"), self.risk_half_life_s).add(score, ts)
        st["risk"] = r.to_state()
        return r.at(ts)

    def _run(self, rule: Rule, ev: dict, ts: float, eid: str | None, is_alert: bool
             ) -> dict | None:
        key = entity_key(rule.group_by, ev)
        hit: Hit | None
        if rule.type == "match":
            hit = Hit(ts, ts, (eid,) if eid else ())
        elif rule.type == "anomaly":
            s = get(ev, "parasol.anomaly.score", None)
            det = get(ev, "parasol.anomaly.detector", None)
            spec = rule.anomaly
            if not isinstance(s, (int, float)) or spec is None or s < spec.min_score or (
                    spec.detectors and det not in spec.detectors):
                return None
            hit = Hit(ts, ts, (eid,) if eid else (), {"score": round(float(s), 1),
                                                       "detector": det})
        else:
            st = self._state(key)
            rst = st["r"].setdefault(rule.id, {})
            if rule.type == "threshold":
                hit = threshold(rule.threshold, rst, ts, eid, ev)  # type: ignore[arg-type]
            elif rule.type == "new_terms":
                hit = new_terms(rule.new_terms, rst, ts, eid, ev)  # type: ignore[arg-type]
            else:
                hit = sequence(rule.sequence, rst, ts, eid, ev, is_alert)  # type: ignore
            st["last"] = ts if st["last"] is None else max(st["last"], ts)
            self._touch(key, st)
        if hit is None:
            return None
        return self._emit(rule, key, ev, ts, eid, hit)

    def _emit(self, rule: Rule, key: str, ev: dict, ts: float, eid: str | None, hit: Hit
              ) -> dict | None:
        for x in self.exceptions:
            if x.applies(rule.id, ev, ts):
                self.stats["excepted"] += 1
                return None
        st = self._state(key)
        st["last"] = ts if st["last"] is None else max(st["last"], ts)
        windows = st["s"]
        for k in [k for k, w in windows.items()
                  if ts >= w["start"] + self._suppress_s(k) and k != rule.id]:
            del windows[k]
        outcome = open_or_fold(windows, rule.id, ts, eid, rule.suppress_s, hit.event_ids)
        self._touch(key, st)
        if outcome.duplicate:
            self.stats["duplicates"] += 1
            return None
        level = get(ev, "parasol.sensitive.level", None)
        anomaly = get(ev, "parasol.anomaly.score", None)
        score = alert_score(rule.risk_score, level if isinstance(level, str) else None,
                            anomaly if isinstance(anomaly, (int, float)) else None,
                            anomaly_rule=rule.type == "anomaly")
        severity = severity_for(score, rule.severity)
        w = outcome.window
        if outcome.new or w.get("alert") is None:
            user = get(ev, "user.name", None)
            risk_key = f"user.name={user}" if user else key
            rst = self._state(risk_key)
            entity_risk = self._add_risk(rst, score, ts)
            self._touch(risk_key, rst)
            alert = build_alert(rule, ev, ts, hit, key, w["start"], score, severity, entity_risk)
            w["alert"] = alert
            self.stats["alerts"] += 1
            return alert
        self.stats["updates"] += 1
        updated = fold_update(w["alert"], w, ts, score, severity)
        w["alert"] = updated
        return updated

    def _suppress_s(self, rule_id: str) -> float:
        return self._suppress.get(rule_id, 3600.0)


def _filter(rule: Rule, source: str) -> Callable[[Any], bool]:
    """The rule's event filter for ``source`` (events or alerts)."""
    if rule.type != "sequence" or rule.sequence is None:
        return rule.when.match
    steps = [s.when for s in rule.sequence.steps if s.input == source]
    if not steps:
        return lambda e: False
    cond = All((rule.when, AnyOf(tuple(steps)))) if len(steps) > 1 else All((rule.when,
                                                                             steps[0]))
    return cond.match


def _synthetic(alert: Mapping[str, Any]) -> dict:
    """An alert as an event for rules with ``input: alerts``."""
    ev: dict[str, Any] = {
        "@timestamp": alert.get("@timestamp"),
        "event": {"kind": "alert", "dataset": "parasol.alerts",
                  "id": get(alert, "alert.id", None)},
        "rule": dict(alert.get("rule") or {}),
        "risk": dict(alert.get("risk") or {}),
        "tags": list(alert.get("tags") or []),
    }
    for f in ("user", "source", "service", "session", "db", "threat"):
        if isinstance(alert.get(f), Mapping):
            ev[f] = dict(alert[f])
    for f in ("user.name", "source.ip", "service.name", "session.id", "db.instance", "db.name"):
        if f in alert and f.split(".")[0] not in ev:
            ev[f] = alert[f]
    score = get(alert, "risk.score", None)
    if get(alert, "rule.kind", None) == "anomaly" and isinstance(score, (int, float)):
        ev["parasol"] = {"anomaly": {"score": float(score), "detector": get(alert, "rule.id", None),
                                     "name": get(alert, "rule.name", None),
                                     "explanation": alert.get("explanation")}}
    if "@timestamp" in ev and isinstance(ev["@timestamp"], (int, float)):
        ev["@timestamp"] = iso(ev["@timestamp"] / 1000.0)
    return ev
