"""Per-event facts and per-window features."""

from __future__ import annotations

from detectors.baseline.entities import EntityRules
from detectors.baseline.features import FEATURES, LEVEL_WEIGHTS, NO_NEW, Facts, WindowAccumulator
from detectors.baseline.timebase import format_ts, hour_of_week, parse_ts

from .helpers import api_event, db_event, ts


def fold(events, size=60):
    facts = [Facts.of(e) for e in events]
    w = WindowAccumulator(facts[0].ts - facts[0].ts % size, size)
    for f in facts:
        w.fold(f, NO_NEW, 0.0, 0.0, 20)
    return w


def test_timebase_round_trip_and_hour_of_week():
    t = parse_ts("2026-11-20T10:00:00.123Z")
    assert format_ts(t) == "2026-11-20T10:00:00.123Z"
    assert parse_ts(1795168800123) == t                    # epoch milliseconds
    assert hour_of_week(parse_ts("2026-11-16T00:30:00Z")) == 0      # Monday 00:xx
    assert hour_of_week(parse_ts("2026-11-22T23:59:00Z")) == 167    # Sunday 23:xx


def test_db_read_rows_and_sensitivity_weighted_by_level():
    f = Facts.of(db_event(ts(), rows=120, level="general-4", tables=("customers",),
                          columns=("customers.phone", "customers.id_card")))
    assert (f.rows, f.sensitive, f.level_w) == (120, 120 * 8, 8)
    assert f.tables == ("crm/customers",)
    assert f.columns == ("crm/customers.phone", "crm/customers.id_card")
    # rows unknown: weight × 1; core data weighs 32
    assert Facts.of(db_event(ts(), rows=None, level="core")).sensitive == 32
    # writes and failed reads read nothing
    assert Facts.of(db_event(ts(), rows=50, level="general-4", operation="write")).sensitive == 0
    assert Facts.of(db_event(ts(), rows=50, outcome="failure")).rows == 0
    assert LEVEL_WEIGHTS == {"general-1": 1, "general-2": 2, "general-3": 4, "general-4": 8,
                             "important": 16, "core": 32}


def test_api_facts_route_ids_and_status():
    f = Facts.of(api_event(ts(), path="/customers/123/orders/9f1c2a3b-1111-2222-3333-444455556666",
                           route="/customers/{id}/orders/{oid}", status=404, nbytes=99))
    assert f.ids == ("123", "9f1c2a3b-1111-2222-3333-444455556666")
    assert f.route == "crm-api GET /customers/{id}/orders/{oid}"
    assert (f.is_4xx, f.bytes, f.is_api) == (True, 99, True)
    # no route template: ids are folded out of the path
    assert Facts.of(api_event(ts(), path="/orders/77", route=None)).route == "crm-api GET /orders/{id}"


def test_window_features():
    w = fold([
        db_event(ts(0, 9, 1), rows=10, tables=("orders",), columns=("orders.amount",)),
        db_event(ts(0, 9, 2), rows=5, tables=("orders", "products"),
                 columns=("orders.amount", "products.name"), level="general-2"),
        db_event(ts(0, 9, 3), rows=None, outcome="failure"),
        db_event(ts(0, 9, 4), rows=0, operation="ddl", command="CREATE INDEX"),
        db_event(ts(0, 9, 5), rows=0, operation="dcl", command="GRANT"),
    ])
    x = w.features()
    assert list(x) == list(FEATURES)
    assert (x["events"], x["rows_read"], x["sensitive_read"]) == (5, 15, 10)
    assert (x["tables"], x["columns"], x["failures"], x["ddl_dcl"]) == (2, 2, 1, 2)
    assert x["error_rate"] == 1 / 9                     # shrunk: failures / (events + 4)
    assert w.details()["commands"] == ["CREATE INDEX", "GRANT"]
    assert w.details()["max_level"] == "general-2"


def test_api_window_enumeration_and_4xx():
    evs = [api_event(ts(0, 10, i), path=f"/customers/{1000 + i}", status=404 if i % 4 == 0 else 200,
                     nbytes=100) for i in range(40)]
    evs.append(api_event(ts(0, 10, 50), path="/customers/1000"))       # repeated id
    x = fold(evs).features()
    assert x["ids_enumerated"] == 40
    assert x["bytes_out"] == 41 * 512 - 40 * 412
    assert x["http_4xx_ratio"] == 10 / 45
    assert x["events"] == 41


def test_evidence_is_capped_and_context_kept():
    w = fold([db_event(ts(0, 9, i), eid=f"e{i}", ip="10.9.9.9") for i in range(30)])
    assert w.evidence == [f"e{i}" for i in range(20)]
    assert w.context["source.ip"] == "10.9.9.9"
    assert w.context["user.roles"] == ["analyst"]
    assert w.context["db.name"] == "crm"


def test_window_accumulator_state_round_trip():
    w = fold([api_event(ts(0, 10, i), path=f"/customers/{i}") for i in range(5)]
             + [db_event(ts(0, 10, 9), operation="dcl", command="GRANT")])
    again = WindowAccumulator.from_state(w.to_state())
    assert again.features() == w.features()
    assert again.to_state() == w.to_state()


def test_entity_keys_and_groups():
    rules = EntityRules()
    refs = rules.refs(db_event(ts(), user="alice", roles=("analyst", "reader")))
    assert [(r.key, r.kind) for r in refs] == [
        ("user:alice", "user"), ("user_db:alice@pg1/crm", "user_db"), ("ip:10.1.0.1", "ip")]
    assert refs[0].groups == ("user:role=analyst", "user:*")
    assert refs[1].groups == ("user_db:role=analyst@pg1/crm", "user_db:*@pg1/crm", "user_db:*")
    assert refs[2].groups == ("ip:net=10.1", "ip:*")
    # service accounts: by name pattern or by role
    assert rules.refs(db_event(ts(), user="ETL_nightly", ip=None))[0].key == "service_account:ETL_nightly"
    assert rules.refs(db_event(ts(), user="robot", roles=("service",), ip=None))[0].kind == "service_account"
    assert EntityRules(service_patterns=()).refs(db_event(ts(), user="etl_x", roles=()))[0].kind == "user"
    # API: the client on the service; anonymous callers by address
    api = rules.refs(api_event(ts(), user="bob"))
    assert [r.key for r in api] == ["user:bob", "api_client:bob@crm-api", "ip:10.2.0.1"]
    anon = rules.refs(api_event(ts(), user="-", ip="1.2.3.4"))
    assert [r.key for r in anon] == ["api_client:anon/1.2.3.4@crm-api", "ip:1.2.3.4"]
    # kinds can be switched off
    only = EntityRules(kinds=frozenset({"user"})).refs(db_event(ts()))
    assert [r.key for r in only] == ["user:alice"]
