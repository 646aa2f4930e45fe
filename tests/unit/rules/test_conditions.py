"""The condition language: ops, list semantics, nested and dotted fields, errors."""

from __future__ import annotations

import pytest

from detectors.rules.conditions import ConditionError, parse_condition
from detectors.rules.fields import event_time, get, parse_duration

EV = {"@timestamp": "2026-11-20T10:00:00.000Z", "user": {"name": "Alice", "roles": ["dba", "ops"]},
      "source.ip": "10.1.2.3", "db": {"rows": 1500, "statement": "SELECT * FROM t"},
      "parasol": {"tables": ["crm.customers", "crm.orders"], "sql": {"has_where": False}}}


@pytest.mark.parametrize("spec, expected", [
    ({"field": "user.name", "equals": "Alice"}, True),
    ({"field": "user.name", "equals": "alice"}, False),
    ({"field": "user.name", "equals": "alice", "ignore_case": True}, True),
    ({"field": "user.roles", "equals": "ops"}, True),
    ({"field": "user.roles", "in": ["x", "dba"]}, True),
    ({"field": "parasol.tables", "contains": "custom"}, True),
    ({"field": "parasol.tables", "startswith": "crm."}, True),
    ({"field": "parasol.tables", "endswith": ".orders"}, True),
    ({"field": "parasol.tables", "wildcard": "crm.?rders"}, True),
    ({"field": "parasol.tables", "wildcard": "*.cust"}, False),
    ({"field": "db.statement", "regex": "(?i)from\\s+t$"}, True),
    ({"field": "db.rows", "gte": 1500}, True),
    ({"field": "db.rows", "gt": 1500}, False),
    ({"field": "db.rows", "lt": 2000, "gt": 1000}, True),
    ({"field": "db.rows", "lte": 1499}, False),
    ({"field": "source.ip", "cidr": "10.0.0.0/8"}, True),
    ({"field": "source.ip", "cidr": ["192.168.0.0/16", "172.16.0.0/12"]}, False),
    ({"field": "source.ip", "exists": True}, True),
    ({"field": "db.error", "exists": False}, True),
    ({"field": "parasol.sql.has_where", "equals": False}, True),
    ({"field": "parasol.sql.has_where", "equals": 0}, False),
    ({"field": "parasol.tables", "count_gte": 2}, True),
    ({"field": "parasol.tables", "count_gte": 3}, False),
    ({"field": "user.name", "equals_field": "user.name"}, True),
    ({"not": {"field": "db.error", "equals": "x"}}, True),
    ({"any": [{"field": "user.name", "equals": "bob"}, {"field": "db.rows", "gte": 1}]}, True),
    ({"all": [{"field": "user.name", "equals": "bob"}, {"field": "db.rows", "gte": 1}]}, False),
    ([{"field": "user.name", "equals": "Alice"}, {"field": "db.rows", "gte": 1}], True),
    ({"field": "@timestamp", "outside_hours": {"start": 8, "end": 20, "tz": "Asia/Shanghai"}},
     False),  # 18:00 on a Friday in Shanghai
    ({"field": "@timestamp", "outside_hours": {"start": 8, "end": 17, "tz": "Asia/Shanghai"}},
     True),
    ({"field": "@timestamp", "outside_hours": {"start": 22, "end": 6, "tz": "UTC"}}, True),
    (None, True),
])
def test_ops(spec, expected):
    assert parse_condition(spec).match(EV) is expected


def test_missing_fields_never_match_a_positive_op():
    for op, v in [("equals", None), ("in", [None]), ("contains", ""), ("gte", 0),
                  ("regex", ".*"), ("cidr", "0.0.0.0/0")]:
        assert parse_condition({"field": "nope.nothing", op: v}).match(EV) is False


@pytest.mark.parametrize("spec, message", [
    ({"field": "a", "frobnicate": 1}, "unknown op 'frobnicate'"),
    ({"field": "a", "regex": "("}, "bad regex"),
    ({"field": "a", "gte": "many"}, "needs a number"),
    ({"field": "a", "in": "x"}, "needs a list"),
    ({"field": "a"}, "has no op"),
    ({"all": []}, "non-empty list"),
    ({"all": [{"field": "a", "equals": 1}], "field": "b"}, "must be alone"),
    ({"equals": 1}, "needs 'field'"),
    ({"field": "a", "cidr": "10.0.0.300/8"}, "cidr"),
    ({"field": "@timestamp", "outside_hours": {"tz": "Mars/Olympus"}}, "outside_hours"),
])
def test_errors_name_the_problem(spec, message):
    with pytest.raises(ConditionError, match=message.replace("(", r"\(")):
        parse_condition(spec)


def test_dotted_and_nested_keys_and_time():
    assert get({"user.name": "a"}, "user.name") == "a"
    assert get({"parasol": {"sql.command": "SELECT"}}, "parasol.sql.command") == "SELECT"
    assert event_time({"@timestamp": "2026-11-20T18:00:00+08:00"}) == event_time(EV)
    assert event_time({"@timestamp": 1795168800000}) == event_time(EV)
    assert event_time({}) is None and event_time({"@timestamp": "garbage"}) is None
    assert parse_duration("2d") == 172800 and parse_duration("500ms") == 0.5
    with pytest.raises(ValueError):
        parse_duration("soon")
