"""Scores, severities, decaying entity risk, and playbooks → response actions."""

from __future__ import annotations

import pytest

from detectors.masking.model import RISK_LEVELS
from detectors.rules.actions import ACTION_TYPES, Playbook, Playbooks, action_id
from detectors.rules.engine import RuleEngine
from detectors.rules.scoring import (
    EntityRisk,
    alert_score,
    risk_level,
    severity_for,
    severity_of,
)

from .test_stateful_rules import T0, ev


@pytest.mark.parametrize("score, sev", [(0, "low"), (21, "low"), (22, "medium"), (47, "medium"),
                                        (48, "high"), (73, "high"), (74, "critical"),
                                        (100, "critical")])
def test_severity_cutoffs(score, sev):
    assert severity_of(score) == sev == risk_level(score)


def test_risk_levels_are_the_masking_engines():
    assert {risk_level(s) for s in range(101)} == set(RISK_LEVELS)


def test_alert_score_boosts():
    assert alert_score(47) == 47
    assert alert_score(47, level="general-3") == 52
    assert alert_score(47, level="core") == 67
    assert alert_score(47, anomaly=50) == 57
    assert alert_score(60, anomaly=95, anomaly_rule=True) == 95
    assert alert_score(95, level="core", anomaly=100) == 100
    assert severity_for(30, "high") == "high" and severity_for(80, "low") == "critical"


def test_entity_risk_decays_by_half_life_and_is_order_independent():
    h = 3600.0
    r = EntityRisk(half_life_s=h).add(80, 0)
    assert r.at(0) == 80 and r.at(h) == pytest.approx(40) and r.at(2 * h) == pytest.approx(20)
    a = EntityRisk(half_life_s=h).add(30, 0).add(30, h)
    b = EntityRisk(half_life_s=h).add(30, h).add(30, 0)  # out of order
    assert a.at(2 * h) == pytest.approx(b.at(2 * h)) == pytest.approx(22.5)
    many = EntityRisk(half_life_s=h)
    for i in range(100):
        many = many.add(90, i)
    assert many.at(100) == 100 and many.value <= 200  # capped
    back = EntityRisk.from_state(many.to_state(), h)
    assert back.at(5000) == pytest.approx(many.at(5000), rel=1e-6)


def test_engine_entity_risk_decays_over_event_time(by_name):
    eng = RuleEngine([by_name["Honeytoken table or column touched"]], exceptions=())
    e = ev(0, user="mallory", db={"system": "postgresql",
                                  "statement": "SELECT * FROM vip_credit_cards"},
           parasol={"tables": ["vip_credit_cards"]})
    (a,) = eng.process(e)
    assert a["parasol"]["alert"]["entity_risk"] == 95
    assert eng.risk_level("mallory", T0) == "critical"
    assert eng.entity_risk("mallory", T0 + 86400) == pytest.approx(47.5)
    assert eng.risk_level("mallory", T0 + 3 * 86400) == "low"


def alert(**over):
    a = {"@timestamp": "2026-11-20T10:00:00.000Z", "alert": {"id": "a1"},
         "rule": {"id": "r", "name": "Rule"}, "tags": [], "explanation": "why",
         "risk": {"score": 50, "severity": "high"}, "user": {"name": "alice"},
         "session": {"id": "s1"}, "parasol": {"alert": {"revision": 0}}}
    a.update(over)
    return a


def test_playbooks_map_alerts_to_actions():
    pb = Playbooks.load()
    crit = alert(tags=["exfiltration"], risk={"score": 90, "severity": "critical"})
    acts = pb.plan(crit)
    assert [a["action"]["type"] for a in acts] == ["block_user", "require_approval", "notify"]
    block = acts[0]
    assert block["action"]["id"] == action_id("a1", "block_user") and block["ttl_s"] == 3600
    assert block["user"]["name"] == "alice" and block["alert"]["id"] == "a1"
    assert block["@timestamp"] == crit["@timestamp"] and "Rule" in block["reason"]
    sqli = alert(tags=["sqli"], user={"name": "svc_crm"})
    assert [a["action"]["type"] for a in pb.plan(sqli)][:1] == ["block_session"]
    assert pb.plan(alert(tags=["sqli"], user={"name": "alice"}))[0]["action"]["type"] != \
        "block_session"  # a person, not an application account
    assert [a["action"]["type"] for a in pb.plan(alert(risk={"score": 10, "severity": "low"}))
            ] == []
    assert pb.plan(alert(parasol={"alert": {"revision": 3}})) == []  # updates do not act again
    assert {a["action"]["type"] for a in acts} <= set(ACTION_TYPES)


def test_playbook_validation():
    with pytest.raises(ValueError, match="not one of"):
        Playbook.from_dict({"id": "x", "when": {"field": "a", "equals": 1}, "action": "nuke"})
    with pytest.raises(ValueError, match="missing 'when'"):
        Playbook.from_dict({"id": "x", "action": "notify"})
    with pytest.raises(ValueError, match="duplicate"):
        p = Playbook.from_dict({"id": "x", "when": {"field": "a", "equals": 1},
                                "action": "notify"})
        Playbooks([p, p])
