"""Canary test: personal data planted in realistic traffic must not reach any ``parasol-*`` index.

Canary values (a resident ID, a mobile, a bank card, an e-mail, a US SSN), valid by their
checksums, are planted where real traffic carries personal data: result samples under known and
unknown column names, nested API response bodies, statement literals, URL paths and query
strings, and a database error text. After the worker indexed everything, every document of every
``parasol-*`` index is read back and searched for each canary's plaintext — in ``_source`` (what
an investigator can read) and through the search API (what an investigator can find).
"""

from __future__ import annotations

import orjson
from faker import Faker

from connectors.sources.simulator import Simulator
from schemas.codec import encode_json
from tests.integration.conftest import es_count, es_get, produce, scoped, wait_for


def _canaries() -> dict[str, str]:
    zh, en = Faker("zh_CN"), Faker("en_US")
    zh.seed_instance(4242)
    en.seed_instance(4242)
    return {
        "resident_id": zh.ssn(),
        "mobile": "13912345678" if not zh.phone_number().startswith("1") else zh.phone_number(),
        "card": en.credit_card_number(card_type="visa16"),
        "email": "canary.wang@example.cn",
        "ssn": "536-22-8471",
    }


def _planted(c: dict[str, str]) -> list[tuple[str, bytes, bytes]]:
    ts = "2026-11-27T02:00:00.000Z"
    db = {"system": "postgresql", "instance": "pg-crm-01", "name": "crm"}
    events = [
        ("db", {"@timestamp": ts, "user": {"name": "mallory"}, "db": {**db,
            "statement": f"select name, mobile, bank_card from customers where id_card = '{c['resident_id']}'",
            "result_sample": [{"name": "王芳", "mobile": c["mobile"], "bank_card": c["card"]}]}}),
        ("db", {"@timestamp": ts, "user": {"name": "mallory"}, "db": {**db,
            "statement": "select c1, c2, c3 from t_x",
            "result_sample": [{"c1": c["resident_id"], "c2": f"call me at {c['mobile']} or {c['email']}",
                               "c3": c["ssn"]}]}}),
        ("db", {"@timestamp": ts, "user": {"name": "mallory"}, "event": {"outcome": "failure"}, "db": {**db,
            "statement": f"insert into customers (id_card, email) values ('{c['resident_id']}', '{c['email']}')",
            "error": f"duplicate key value violates unique constraint \"customers_id_card_key\" "
                     f"DETAIL: Key (id_card)=({c['resident_id']}) already exists."}}),
        ("api", {"@timestamp": ts, "user": {"name": "mallory"}, "service": {"name": "crm-api"},
                 "http": {"request": {"method": "GET"}, "response": {"status_code": 200, "sample": {
                     "customer": {"contact": {"email": c["email"], "phone": c["mobile"]}},
                     "cards": [{"number": c["card"]}], "ssn": c["ssn"]}}},
                 "url": {"path": f"/customers/by-id/{c['resident_id']}", "query": f"mobile={c['mobile']}&page=1"}}),
    ]
    return [(k, b"mallory", encode_json(v)) for k, v in events]


def test_no_canary_reaches_any_index(stack, workers):
    s = scoped(stack, "canary")
    canaries = _canaries()
    traffic = list(Simulator(seed=77).events(1500))
    by_kind: dict[str, list] = {"db": [], "api": []}
    for ev in traffic:
        by_kind[ev.kind].append((ev.key, encode_json(ev.value)))
    for kind, key, value in _planted(canaries):
        by_kind[kind].append((key, value))
    worker = workers(s)
    for kind, msgs in by_kind.items():
        produce(s, kind, msgs)
    total = sum(len(v) for v in by_kind.values())
    try:
        wait_for(lambda: es_count(s) >= total, 120, what=f"{total} audit documents")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{worker.stats()}\n{worker.log_tail(40)}") from None
    wait_for(lambda: es_count(s, "assets") > 0, 60, what="the asset catalogue")

    es_get(s, f"/{s.index_prefix}*/_refresh", {})
    leaks: dict[str, list[str]] = {}
    docs = es_get(s, f"/{s.index_prefix}*/_search", {"size": 10000, "query": {"match_all": {}}})["hits"]["hits"]
    assert len(docs) >= total
    for name, value in canaries.items():
        for hit in docs:
            if value in orjson.dumps(hit["_source"]).decode():
                leaks.setdefault(name, []).append(f"{hit['_index']}/{hit['_id']}")
        found = es_get(s, f"/{s.index_prefix}*/_search",
                       {"query": {"multi_match": {"query": value, "type": "phrase", "fields": ["*"],
                                                  "lenient": True}}})["hits"]["hits"]
        if found:
            leaks.setdefault(name, []).extend(f"search:{h['_index']}/{h['_id']}" for h in found)
    assert leaks == {}, leaks
    # The search used above does find what is there (else "no hits" would prove nothing).
    probe = es_get(s, f"/{s.index_prefix}*/_search",
                   {"query": {"multi_match": {"query": "mallory", "type": "phrase", "fields": ["*"],
                                              "lenient": True}}})["hits"]["hits"]
    assert probe
    # And the planted events were indexed (the test would pass vacuously otherwise).
    planted = es_get(s, f"/{s.index_pattern('audit')}/_search",
                     {"size": 10, "query": {"term": {"user.name": "mallory"}}})["hits"]["hits"]
    assert len(planted) == 4
    masked = {f for h in planted for f in h["_source"].get("parasol", {}).get("masked", [])}
    assert {"db.statement", "db.error", "url.path", "url.query"} <= masked, masked
