"""One alert document per (rule, entity, window), stable ids, exceptions as data."""

from __future__ import annotations

import pytest

from detectors.rules.engine import RuleEngine
from detectors.rules.fields import iso
from detectors.rules.suppression import (
    EVIDENCE_CAP,
    RuleException,
    exception_from_verdict,
    load_exceptions,
)

from .test_stateful_rules import T0, ev, rule

MATCH = rule("match", None, when={"field": "db.rows", "gte": 100}, suppress="1h")


def big(t, user="alice", n=0):
    e = ev(t, user=user, db={"rows": 500})
    e["event"]["id"] = f"e{t}-{n}"
    return e


def test_first_hit_alerts_later_hits_update_the_same_alert():
    eng = RuleEngine([MATCH], exceptions=())
    first = eng.process(big(0))[0]
    updates = [eng.process(big(t))[0] for t in (60, 120, 3000)]
    assert first["parasol"]["alert"]["suppressed"] == 0
    assert {u["alert"]["id"] for u in updates} == {first["alert"]["id"]}
    assert [u["alert"]["suppressed_count"] for u in updates] == [1, 2, 3]
    assert [u["parasol"]["alert"]["suppressed"] for u in updates] == [1, 2, 3]
    assert updates[-1]["event"]["end"] == iso(T0 + 3000)
    assert updates[-1]["event"]["start"] == first["event"]["start"]
    assert updates[-1]["related"]["event_ids"] == ["e0-0", "e60-0", "e120-0", "e3000-0"]
    nxt = eng.process(big(3700))[0]  # after the hour: a new window, a new alert
    assert nxt["alert"]["id"] != first["alert"]["id"] and nxt["parasol"]["alert"]["revision"] == 0
    other = eng.process(big(61, user="bob"))[0]  # another entity: its own window
    assert other["alert"]["id"] not in (first["alert"]["id"], nxt["alert"]["id"])


def test_redelivery_changes_nothing_and_ids_are_stable_across_replays():
    eng = RuleEngine([MATCH], exceptions=())
    a = eng.process(big(0))
    assert eng.process(big(0)) == []  # the same event again
    replay = RuleEngine([MATCH], exceptions=()).process(big(0))
    assert a[0]["alert"]["id"] == replay[0]["alert"]["id"]
    assert eng.stats["duplicates"] == 1


def test_evidence_is_capped_but_the_count_goes_on():
    eng = RuleEngine([MATCH], exceptions=())
    last = None
    for i in range(EVIDENCE_CAP + 30):
        last = eng.process(big(i))[0]
    assert last["alert"]["suppressed_count"] == EVIDENCE_CAP + 29
    assert len(last["related"]["event_ids"]) == EVIDENCE_CAP


def test_exceptions_scope_and_expiry():
    until = iso(T0 + 600)
    exc = RuleException.from_dict({"id": "x1", "rule_id": MATCH.id, "expires": until,
                                   "when": {"field": "user.name", "equals": "etl"}})
    other_rule = RuleException.from_dict({"id": "x2", "rule_id": "some-other-rule",
                                          "when": {"field": "user.name", "equals": "alice"}})
    eng = RuleEngine([MATCH], exceptions=[exc, other_rule])
    assert eng.process(big(0, user="etl")) == []  # excepted
    assert eng.process(big(1, user="alice")) != []  # not this user; other rule's exception
    assert eng.process(big(700, user="etl")) != []  # the exception has expired
    assert eng.stats["excepted"] == 1


def test_exception_from_a_false_positive_verdict():
    eng = RuleEngine([MATCH], exceptions=())
    (alert,) = eng.process(big(0, user="report_bot"))
    exc = exception_from_verdict(alert, analyst="ana", reason="known report", ttl_s=86400)
    assert exc.rule_id == MATCH.id and exc.created_by == "ana"
    d = exc.to_dict()
    assert d["when"] == {"field": "user.name", "equals": "report_bot"}
    assert d["expires"] == iso(T0 + 86400)
    eng2 = RuleEngine([MATCH], exceptions=[RuleException.from_dict(d)])
    assert eng2.process(big(10, user="report_bot")) == []
    assert eng2.process(big(11, user="alice")) != []
    assert eng2.process(big(90000, user="report_bot")) != []
    with pytest.raises(ValueError, match="rule-wide"):
        exception_from_verdict({"rule": {"id": "r"}, "@timestamp": iso(T0)})


def test_packaged_exceptions_load_and_bad_ones_are_reported(tmp_path):
    assert load_exceptions() == ()
    p = tmp_path / "x.yaml"
    p.write_text("- {id: a, rule_id: r, when: {field: u, bogus: 1}}\n- {id: b}\n"
                 "- {id: c, rule_id: r, when: {field: u, equals: 1}, expires: never}\n")
    with pytest.raises(ValueError) as e:
        load_exceptions(p)
    msg = str(e.value)
    assert "unknown op 'bogus'" in msg and "missing rule_id, when" in msg and "never" in msg
