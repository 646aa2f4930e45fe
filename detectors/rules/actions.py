"""Playbooks: alerts → response actions, as data (``data/playbooks.yaml``).

An action is CONTRACT.md's "Response action": ``action.id`` (stable: a hash of ``alert.id`` and
the action type, so a re-delivered alert never doubles an action), ``action.type``
(block_user, block_session, require_approval, rate_limit, notify), ``@timestamp`` (the alert's
event time), ``alert.id``, ``user.name``, ``session.id``, ``ttl_s``, ``reason``.

Only new alerts act: a suppression update (``parasol.alert.revision`` > 0) of an alert that has
already acted returns nothing.

>>> pb = Playbooks.load()
>>> alert = {"@timestamp": "2026-11-20T10:00:00.000Z", "alert": {"id": "a1"},
...          "rule": {"name": "Honeytoken table or column touched"}, "tags": ["honeytoken"],
...          "risk": {"score": 95, "severity": "critical"}, "user": {"name": "mallory"},
...          "explanation": "vip_credit_cards read", "parasol": {"alert": {"revision": 0}}}
>>> [a["action"]["type"] for a in pb.plan(alert)]
['block_user', 'require_approval', 'notify']
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detectors.rules.alerts import explain
from detectors.rules.conditions import Condition, ConditionError, parse_condition
from detectors.rules.fields import get

__all__ = ["ACTION_TYPES", "PLAYBOOKS_FILE", "Playbook", "Playbooks", "action_id"]

ACTION_TYPES = ("block_user", "block_session", "require_approval", "rate_limit", "notify")
PLAYBOOKS_FILE = Path(__file__).resolve().parent / "data" / "playbooks.yaml"


def action_id(alert_id: str, action_type: str) -> str:
    return hashlib.sha1(f"{alert_id}|{action_type}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Playbook:
    id: str
    name: str
    when: Condition
    action: str
    ttl_s: int | None = None
    reason: str = "{rule.name}: {explanation}"
    stop: bool = False

    @classmethod
    def from_dict(cls, d: Any, where: str = "playbook") -> Playbook:
        if not isinstance(d, Mapping):
            raise TypeError(f"{where}: a playbook is a mapping")
        problems = [f"{where}: missing '{k}'" for k in ("id", "when", "action") if not d.get(k)]
        if d.get("action") and d["action"] not in ACTION_TYPES:
            problems.append(f"{where}: action {d['action']!r} is not one of {ACTION_TYPES}")
        ttl = d.get("ttl_s")
        if ttl is not None and (not isinstance(ttl, int) or ttl <= 0):
            problems.append(f"{where}: ttl_s must be a positive integer")
        try:
            when = parse_condition(d.get("when"), f"{where}.when")
        except ConditionError as e:
            problems.append(str(e))
        if problems:
            raise ValueError("\n".join(problems))
        return cls(str(d["id"]), str(d.get("name") or d["id"]), when, str(d["action"]), ttl,
                   str(d.get("reason") or "{rule.name}: {explanation}"), bool(d.get("stop")))


class Playbooks:
    """An ordered list of playbooks; :meth:`plan` maps one alert to its actions."""

    def __init__(self, playbooks: Iterable[Playbook]):
        self.playbooks = tuple(playbooks)
        ids = [p.id for p in self.playbooks]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate playbook ids: {', '.join(dup)}")

    @classmethod
    def load(cls, path: Path | str | None = None) -> Playbooks:
        import yaml
        p = Path(path) if path else PLAYBOOKS_FILE
        with open(p, encoding="utf-8") as f:
            doc = yaml.safe_load(f) or []
        if not isinstance(doc, list):
            raise TypeError(f"{p.name}: playbooks are a YAML list")
        problems, out = [], []
        for i, d in enumerate(doc):
            try:
                out.append(Playbook.from_dict(d, f"{p.name}[{i}]"))
            except (ValueError, TypeError) as e:
                problems.append(str(e))
        if problems:
            raise ValueError("\n".join(problems))
        return cls(out)

    def plan(self, alert: Mapping[str, Any]) -> list[dict]:
        """Actions for a new alert (none for a suppression update)."""
        if (get(alert, "parasol.alert.revision", 0) or 0) > 0:
            return []
        aid = str(get(alert, "alert.id", ""))
        out: list[dict] = []
        done: set[str] = set()
        for pb in self.playbooks:
            if pb.action in done or not pb.when.match(alert):
                continue
            done.add(pb.action)
            act: dict[str, Any] = {
                "action": {"id": action_id(aid, pb.action), "type": pb.action},
                "@timestamp": alert.get("@timestamp"),
                "alert": {"id": aid},
                "user": {"name": get(alert, "user.name", None)},
                "session": {"id": get(alert, "session.id", None)},
                "ttl_s": pb.ttl_s,
                "reason": explain(pb.reason, alert)[:1000],
                "parasol": {"playbook": pb.id},
            }
            out.append(act)
            if pb.stop:
                break
        return out
