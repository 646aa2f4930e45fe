"""Threshold, new-terms, sequence and anomaly rules on event time, with state that round-trips
through JSON and stays bounded."""

from __future__ import annotations

import json
import time

from detectors.rules.engine import RuleEngine
from detectors.rules.fields import iso
from detectors.rules.model import rule_from_dict

from .conftest import feed

T0 = 1795168800.0  # 2026-11-20T10:00:00Z


def rule(rtype, block, when=None, group_by=("user.name",), suppress="1h", **extra):
    d = {"id": "0b0e0a8e-1111-4222-8333-444455556666", "name": f"test {rtype}",
         "description": "d", "type": rtype, "severity": "medium", "risk_score": 40,
         "threat": {"technique": {"id": "T1078", "name": "Valid Accounts"}}, "tags": ["t"],
         "when": when, "group_by": list(group_by), "suppress": suppress, rtype: block,
         "tests": {"positive": [{}], "negative": [{}]}, **extra}
    return rule_from_dict(d)


def ev(t, **fields):
    e = {"@timestamp": iso(T0 + t), "event": {"id": f"e{t}-{fields.get('n', 0)}"},
         "user": {"name": fields.pop("user", "alice")}}
    e.update(fields)
    return e


def run(engine, events):
    out = []
    for e in events:
        out += engine.process(e)
    return out


def test_sliding_threshold_counts_on_event_time_not_arrival_or_wall_clock(monkeypatch):
    r = rule("threshold", {"count": 3, "window": "1m"})
    monkeypatch.setattr(time, "time", lambda: 0.0)  # the wall clock must not matter
    eng = RuleEngine([r], exceptions=())
    # out of order arrival: 0, 50, 30 are within 1 minute → fires at the third
    assert run(eng, [ev(0), ev(50)]) == []
    (a,) = run(eng, [ev(30)])
    assert a["event"]["start"] == iso(T0) and a["event"]["end"] == iso(T0 + 50)
    eng2 = RuleEngine([r], exceptions=())
    assert run(eng2, [ev(0), ev(45), ev(90), ev(135)]) == []  # never 3 within 60 s


def test_tumbling_threshold_resets_per_window_and_ignores_late_events():
    r = rule("threshold", {"count": 3, "window": "1m", "mode": "tumbling"})
    eng = RuleEngine([r], exceptions=())
    assert run(eng, [ev(50), ev(55), ev(61), ev(62)]) == []  # 2 in [0,60), 2 in [60,120)
    assert run(eng, [ev(58)]) == []  # late for the closed window
    (a,) = run(eng, [ev(100)])
    assert a["parasol"]["alert"]["context"]["window_start"] == iso(T0 + 60)


def test_distinct_threshold_and_redelivery():
    r = rule("threshold", {"count": 3, "window": "10m", "distinct": "user.name"},
             group_by=("source.ip",))
    eng = RuleEngine([r], exceptions=())
    same = ev(0, user="u1", source={"ip": "1.2.3.4"})
    assert run(eng, [same, same, ev(1, user="u1", source={"ip": "1.2.3.4"}),
                     ev(2, user="u2", source={"ip": "1.2.3.4"})]) == []
    (a,) = run(eng, [ev(3, user="u3", source={"ip": "1.2.3.4"})])
    assert a["parasol"]["alert"]["entity"] == "source.ip=1.2.3.4"
    assert a["parasol"]["alert"]["context"]["count"] == 3


def test_new_terms_learns_then_alerts_then_forgets_after_history():
    r = rule("new_terms", {"fields": ["source.ip"], "history": "30d", "learning": "7d"})
    eng = RuleEngine([r], exceptions=())
    day = 86400
    assert run(eng, [ev(0, source={"ip": "a"}), ev(3 * day, source={"ip": "b"})]) == []
    assert run(eng, [ev(8 * day, source={"ip": "b"})]) == []  # learned during learning
    (a,) = run(eng, [ev(9 * day, source={"ip": "c"})])
    assert a["parasol"]["alert"]["context"]["terms"] == "c"
    assert run(eng, [ev(10 * day, source={"ip": "c"})]) == []  # now known
    (b,) = run(eng, [ev(50 * day, source={"ip": "a"})])  # unseen for 50 d > 30 d history
    assert b["parasol"]["alert"]["context"]["gap_days"] == 50.0


def test_new_terms_state_is_capped():
    r = rule("new_terms", {"fields": ["source.ip"], "history": "30d", "learning": "0s",
                           "max_terms": 50})
    eng = RuleEngine([r], exceptions=())
    run(eng, [ev(i, source={"ip": f"10.0.{i // 256}.{i % 256}"}) for i in range(2000)])
    st = eng.get_state("user.name=alice")
    assert len(st["r"][r.id]["terms"]) == 50
    assert len(json.dumps(st)) < 20_000


def test_sequence_in_order_within_time():
    r = rule("sequence", {"within": "10m", "steps": [
        {"when": {"field": "event.outcome", "equals": "failure"}, "count": 3},
        {"when": {"field": "event.outcome", "equals": "success"}}]})
    fail = {"outcome": "failure"}
    ok = {"outcome": "success"}

    def e(t, outcome):
        x = ev(t)
        x["event"]["outcome"] = outcome["outcome"]
        return x

    eng = RuleEngine([r], exceptions=())
    assert run(eng, [e(0, ok), e(10, fail), e(20, fail)]) == []  # success came first
    assert run(eng, [e(30, ok)]) == []  # only 2 failures before it
    assert run(eng, [e(40, fail)]) == []
    (a,) = run(eng, [e(50, ok)])
    assert a["event"]["start"] == iso(T0 + 10) and len(a["related"]["event_ids"]) == 4
    eng2 = RuleEngine([r], exceptions=())
    assert run(eng2, [e(0, fail), e(1, fail), e(2, fail), e(700, ok)]) == []  # > 10 minutes


def test_anomaly_rules_take_ueba_alerts_and_ignore_their_own():
    r = rule("anomaly", {"min_score": 70})
    eng = RuleEngine([r], exceptions=())
    ueba = {"@timestamp": iso(T0), "alert": {"id": "u1"}, "user": {"name": "alice"},
            "rule": {"id": "ueba-x", "name": "x", "kind": "anomaly"},
            "risk": {"score": 82, "severity": "critical"}}
    (a,) = eng.observe_alert(ueba)
    assert a["rule"]["kind"] == "anomaly" and a["risk"]["score"] == 82
    assert eng.observe_alert(a) == []  # its own alert, fed back, is ignored
    assert eng.observe_alert({**ueba, "alert": {"id": "u2"},
                              "risk": {"score": 30, "severity": "medium"}}) == []
    assert eng.entity_risk("alice", T0) > 82  # both UEBA alerts and the rule's alert count


def test_state_round_trips_through_json_with_the_same_result():
    """Storing every state in a dict "table" after each event (as Faust does) and starting a
    fresh engine each time gives the alerts of one long-lived engine."""
    r = rule("threshold", {"count": 4, "window": "5m"})
    events = [ev(i * 20) for i in range(12)]
    continuous = run(RuleEngine([r], exceptions=()), events)
    table: dict = {}
    restarted = []
    for e in events:
        eng = RuleEngine([r], exceptions=())
        restarted += eng.process_with(e, table.get,
                                      lambda k, s: table.__setitem__(k, json.loads(json.dumps(s))))
    assert [a["alert"]["id"] for a in restarted] == [a["alert"]["id"] for a in continuous]
    assert [a["alert"]["suppressed_count"] for a in restarted] == \
        [a["alert"]["suppressed_count"] for a in continuous]
    assert continuous and set(table) == {"user.name=alice"}


def test_casebook_cases_can_drive_a_full_engine(by_name):
    eng = RuleEngine(exceptions=())
    r = by_name["Repeated failed logins for one account"]
    alerts = feed(eng, r.tests["positive"][0])
    assert any(a["rule"]["id"] == r.id for a in alerts)
