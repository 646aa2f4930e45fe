"""Normalisation edge cases: timestamps, ids, required fields, types, sizes."""

from __future__ import annotations

import pytest

from schemas.normalize import InvalidEvent, normalize_api, normalize_db, parse_timestamp

DB = {
    "@timestamp": "2026-11-26T08:30:00.250Z",
    "user": {"name": "alice", "roles": ["analyst"]},
    "source": {"ip": "10.1.2.3"},
    "db": {"system": "PostgreSQL", "instance": "pg-crm-01", "name": "crm", "statement": "SELECT 1"},
}


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-11-26T08:30:00Z", "2026-11-26T08:30:00.000Z"),
        ("2026-11-26T08:30:00.123456Z", "2026-11-26T08:30:00.123Z"),
        ("2026-11-26T16:30:00+08:00", "2026-11-26T08:30:00.000Z"),
        ("2026-11-26 08:30:00.5+00:00", "2026-11-26T08:30:00.500Z"),
        (1795681800000, "2026-11-26T08:30:00.000Z"),
        ("1795681800000", "2026-11-26T08:30:00.000Z"),
        (1795681800000.0, "2026-11-26T08:30:00.000Z"),
    ],
)
def test_timestamps_accepted(value, expected):
    assert parse_timestamp(value) == expected


@pytest.mark.parametrize(
    "value",
    ["yesterday", "2026-11-26T08:30:00", 1795681800, True, None, [], "", float("nan"), "9999-01-01T00:00:00Z"],
)
def test_timestamps_rejected(value):
    with pytest.raises(InvalidEvent) as err:
        parse_timestamp(value)
    assert err.value.reason == "invalid_field"


def test_nested_and_dotted_are_the_same_event():
    dotted = {
        "@timestamp": "2026-11-26T08:30:00.250Z",
        "user.name": "alice",
        "user.roles": ["analyst"],
        "source.ip": "10.1.2.3",
        "db.system": "PostgreSQL",
        "db.instance": "pg-crm-01",
        "db": {"name": "crm"},
        "db.statement": "SELECT 1",
    }
    a, b = normalize_db(DB), normalize_db(dotted)
    assert a == b
    assert a["event"]["id"] == b["event"]["id"]


def test_derived_id_is_deterministic_and_content_sensitive():
    a = normalize_db(DB)["event"]["id"]
    assert normalize_db(dict(DB))["event"]["id"] == a
    same_time_in_ms = {**DB, "@timestamp": 1795681800250}
    assert normalize_db(same_time_in_ms)["event"]["id"] == a
    other = {**DB, "db": {**DB["db"], "statement": "SELECT 2"}}
    assert normalize_db(other)["event"]["id"] != a


def test_given_event_id_is_kept():
    e = normalize_db({**DB, "event": {"id": "proxy-42"}})
    assert e["event"]["id"] == "proxy-42"


def test_defaults_and_coercions():
    e = normalize_db({**DB, "db": {**DB["db"], "rows": "42", "duration_ms": "1.5"}, "session": {"id": 991}})
    assert e["event"]["outcome"] == "success"
    assert e["event"]["action"] == "query"
    assert e["db"]["system"] == "postgresql"
    assert e["db"]["rows"] == 42 and e["db"]["duration_ms"] == 1.5
    assert e["session"]["id"] == "991"


@pytest.mark.parametrize(
    "patch, reason",
    [
        ({"user": {}}, "missing_field"),
        ({"db": {"system": "mysql"}}, "missing_field"),
        ({"@timestamp": None}, "missing_field"),
        ({"db": {**DB["db"], "rows": "many"}}, "invalid_field"),
        ({"db": {**DB["db"], "rows": -1}}, "invalid_field"),
        ({"db": {**DB["db"], "duration_ms": "slow"}}, "invalid_field"),
        ({"source": {"ip": "10.1.2.300"}}, "invalid_field"),
        ({"user": {"name": {"first": "a"}}}, "invalid_field"),
        ({"user": {"name": "a", "roles": [{"r": 1}]}}, "invalid_field"),
        ({"event": {"outcome": "maybe"}}, "invalid_field"),
        ({"user": {"name": "x" * 2000}}, "invalid_field"),
    ],
)
def test_db_rejections(patch, reason):
    with pytest.raises(InvalidEvent) as err:
        normalize_db({**DB, **patch})
    assert err.value.reason == reason


def test_login_needs_no_statement():
    e = normalize_db(
        {"@timestamp": "2026-11-26T08:30:00Z", "user.name": "bob", "event.action": "LOGIN",
         "event.outcome": "failure", "db.error": "password authentication failed"}
    )
    assert e["event"]["action"] == "login" and e["event"]["outcome"] == "failure"


def test_dotted_conflict_is_invalid():
    with pytest.raises(InvalidEvent) as err:
        normalize_db({**DB, "user": "alice", "user.name": "bob"})
    assert err.value.reason == "invalid_field"


def test_long_statement_is_truncated_not_rejected():
    e = normalize_db({**DB, "db": {**DB["db"], "statement": "x" * 100}}, max_statement_chars=10)
    assert e["db"]["statement"] == "x" * 10
    assert e["parasol"]["truncated"] == ["db.statement"]


def test_unknown_fields_are_kept_as_one_string():
    e = normalize_db({**DB, "custom": {"ticket": "T-1"}, "labels.env": "prod"})
    assert '"custom.ticket":"T-1"' in e["parasol"]["unmapped"]
    assert "custom" not in e


def test_ipv6_and_bracketed_addresses():
    assert normalize_db({**DB, "source": {"ip": "[2001:DB8::1]"}})["source"]["ip"] == "2001:db8::1"


API = {
    "@timestamp": 1795681800000,
    "service.name": "customer-api",
    "http.request.method": "get",
    "url.path": "/customers/42",
    "http.response.status_code": "200",
}


def test_api_event():
    e = normalize_api({**API, "user.name": "-", "http.response.sample": {"name": "张三"}})
    assert e["http"]["request"]["method"] == "GET"
    assert e["http"]["response"]["status_code"] == 200
    assert e["event"]["dataset"] == "api.access"


@pytest.mark.parametrize(
    "patch, reason",
    [
        ({"url.path": None}, "missing_field"),
        ({"http.response.status_code": 99}, "invalid_field"),
        ({"http.request.method": "G E T"}, "invalid_field"),
        ({"http.response.sample": "not json"}, "invalid_field"),
    ],
)
def test_api_rejections(patch, reason):
    ev = {k: v for k, v in {**API, **patch}.items() if v is not None}
    with pytest.raises(InvalidEvent) as err:
        normalize_api(ev)
    assert err.value.reason == reason
