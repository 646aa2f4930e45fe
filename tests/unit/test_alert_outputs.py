"""Alerts and actions from the rule stage fit the contract's Avro schemas (the Avro variant of
parasol.alerts / parasol.actions) and survive a round trip."""

from __future__ import annotations

from detectors.pipeline import enrich
from detectors.rules import Playbooks, RuleEngine
from schemas.codec import decode, encode_avro
from schemas.normalize import normalize


def _alerts() -> list[dict]:
    engine = RuleEngine()
    out = []
    for i in range(3):
        ev = normalize("db", {"@timestamp": f"2026-11-24T10:0{i}:00Z", "user": {"name": "crm_app"},
                              "session": {"id": "s1"}, "source": {"ip": "10.0.0.9"},
                              "db": {"system": "mysql", "instance": "my1", "name": "crm",
                                     "statement": f"SELECT * FROM users WHERE id = {i} OR 1=1"}})
        out += engine.process(enrich(ev))
    return out


def test_alerts_and_actions_encode_as_avro_and_back():
    alerts = _alerts()
    assert len(alerts) == 3 and len({a["alert"]["id"] for a in alerts}) == 1  # one alert, two updates
    for alert in alerts:
        back = decode(encode_avro(alert, "alert"))
        assert back["alert"]["id"] == alert["alert"]["id"]
        assert back["rule"]["name"] == alert["rule"]["name"] and back["risk"]["score"] == alert["risk"]["score"]
        assert back["related"]["event_ids"] == alert["related"]["event_ids"]
    assert alerts[-1]["parasol"]["alert"]["suppressed"] == 2
    actions = Playbooks.load().plan(alerts[0])
    assert {a["action"]["type"] for a in actions} >= {"block_session"}
    for action in actions:
        back = decode(encode_avro(action, "action"))
        assert back["action"]["id"] == action["action"]["id"] and back.get("ttl_s") == action.get("ttl_s")
    assert Playbooks.load().plan(alerts[1]) == []  # no actions for a suppression update
