"""Masking engine: SQL-aware decisions through real SqlInfo, probing, bulk, risk, cache,
row and sample masking (no plaintext of a recognised entity survives), reveal."""

from __future__ import annotations

import copy
import datetime as dt
import doctest
import importlib
import json
from urllib.parse import quote

import pytest
from faker import Faker

from detectors.masking import (
    Keyring,
    MaskingEngine,
    NotAuthorized,
    Resource,
    Subject,
    default_policy,
    parse_policy,
)
from detectors.masking.methods import REDACTED
from detectors.sensitive.scanner import scan_value
from detectors.sensitive.validators import gb11643
from detectors.sql.analyzer import SqlAnalyzer

RING = Keyring({"k1": b"0123456789abcdef-one"})
# Asia/Shanghai (the default policy's zone) is UTC+8: 03:00Z is 11:00 local, 14:00Z is 22:00.
OFFICE = dt.datetime(2026, 11, 27, 3, 0, tzinfo=dt.UTC)  # a Friday
NIGHT = dt.datetime(2026, 11, 27, 14, 0, tzinfo=dt.UTC)

CATALOGUE = {
    "customers.id": None,
    "customers.name": "PERSON_NAME",
    "customers.phone": "CN_MOBILE",
    "customers.mobile": "CN_MOBILE",
    "customers.id_card": "CN_RESIDENT_ID",
    "customers.email": "EMAIL",
    "customers.city": None,
    "products.id": None,
    "products.name": None,  # same name as customers.name, not personal
    "products.price": None,
    "orders.id": None,
    "orders.customer_id": None,
    "orders.amount": None,
    "orders.status": None,
    "accounts.balance": "ACCOUNT_BALANCE",
}
COLUMNS = {}
for key in CATALOGUE:
    table, column = key.split(".")
    COLUMNS.setdefault(table, []).append(column)


def catalogue(instance, db, column):
    entity = CATALOGUE.get(column) or CATALOGUE.get(column.split(".", 1)[-1])
    if entity is None:
        return None
    table, _, name = column.rpartition(".")
    return Resource(instance, db, table, name, entity)


@pytest.fixture()
def engine():
    return MaskingEngine(default_policy(), RING, catalogue)


@pytest.fixture(scope="module")
def analyzer():
    return SqlAnalyzer(columns_of=COLUMNS.get)


SUPPORT = Subject("li.na", ["support", "crm_rw"])
SOC = Subject("soc", ["soc_analyst"])


def decide(engine, analyzer, subject, sql, at=OFFICE, system="postgresql"):
    return engine.decide_statement(subject, analyzer.analyze(sql, system), "pg-crm-01", "crm", at)


def by_name(sd):
    return {d.name: (d.table, d.column, d.action, d.method) for d in sd.columns}


@pytest.mark.parametrize("name", ["detectors.masking", "detectors.masking.engine"])
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted and result.failed == 0


# -- statements ----------------------------------------------------------------------------------


def test_functions_and_aliases_are_masked_like_their_base_column(engine, analyzer):
    sd = decide(
        engine,
        analyzer,
        SUPPORT,
        "SELECT lower(phone) AS p, upper(c.name) n, c.city FROM customers c WHERE c.id = 7",
    )
    assert by_name(sd) == {
        "p": ("customers", "phone", "mask", "partial"),
        "n": ("customers", "name", "allow", None),
        "city": ("customers", "city", "allow", None),
    }
    d = sd.by_name["p"]
    assert d.classification == {"category": "personal.contact", "level": "general-2"}
    assert d.entity == "CN_MOBILE" and d.rule_id == "support-phones-partial"
    rows, summary = engine.mask_rows(sd, [{"p": "13812345678", "n": "王梅", "city": "杭州"}])
    assert rows == [{"p": "138****5678", "n": "王梅", "city": "杭州"}] and summary == {
        "p": "partial"
    }


UNION = (
    "SELECT name AS v FROM customers WHERE id = 1 UNION SELECT id_card FROM customers WHERE id = 2"
)


def test_cte_subquery_and_union(engine, analyzer):
    cte = decide(
        engine,
        analyzer,
        SOC,
        "WITH x AS (SELECT mobile AS m FROM customers WHERE id > 0) "
        "SELECT upper(m) AS q FROM x LIMIT 5",
    )
    assert by_name(cte) == {"q": ("customers", "mobile", "mask", "partial")}
    sub = decide(
        engine, analyzer, SOC, "SELECT t.k FROM (SELECT id_card AS k FROM customers WHERE id = 1) t"
    )
    assert by_name(sub) == {"k": ("customers", "id_card", "mask", "hash")}
    # a UNION column derives from both branches: the strictest decision, the most sensitive base
    union = decide(
        engine,
        analyzer,
        SOC,
        UNION,
    )
    assert "union" in analyzer.analyze(UNION).flags
    assert by_name(union) == {"v": ("customers", "id_card", "mask", "hash")}
    # concat of an allowed and a masked column: masked (strictest), reported on the sensitive one
    mixed = decide(
        engine,
        analyzer,
        SUPPORT,
        "SELECT concat(name, ' ', id_card) AS who FROM customers WHERE id = 1",
    )
    who = mixed.by_name["who"]
    assert (who.column, who.action, who.method) == ("id_card", "mask", "partial")
    assert who.classification["level"] == "general-4"


def test_select_star_with_a_catalogue(engine, analyzer):
    sd = decide(engine, analyzer, SOC, "SELECT * FROM customers WHERE id = 3")
    got = by_name(sd)
    assert set(got) == set(COLUMNS["customers"])
    assert got["phone"][2:] == ("mask", "partial") and got["id_card"][2:] == ("mask", "hash")
    assert got["email"][2:] == ("mask", "hash") and got["city"][2:] == ("allow", None)


def test_select_star_without_a_catalogue_is_decided_per_row_key(engine):
    sd = engine.decide_statement(
        SOC,
        SqlAnalyzer().analyze("SELECT * FROM customers WHERE id = 3"),
        "pg-crm-01",
        "crm",
        OFFICE,
    )
    assert [d.name for d in sd.columns] == ["*"] and sd.star_tables == ("customers",)
    rows, summary = engine.mask_rows(
        sd, [{"id": 3, "phone": "13812345678", "id_card": "110101199003074514", "city": "杭州"}]
    )
    assert rows[0]["id"] == 3 and rows[0]["city"] == "杭州"
    assert rows[0]["phone"] == "138****5678" and rows[0]["id_card"] != "110101199003074514"
    assert summary == {"phone": "partial", "id_card": "hash"}


def test_join_with_same_named_columns(engine, analyzer):
    sql = (
        "SELECT c.name AS customer, p.name AS product, p.price FROM customers c "
        "JOIN orders o ON o.customer_id = c.id JOIN products p ON p.id = o.id WHERE o.id = 5"
    )
    sd = decide(engine, analyzer, SOC, sql)
    assert by_name(sd) == {
        "customer": ("customers", "name", "mask", "partial"),
        "product": ("products", "name", "allow", None),
        "price": ("products", "price", "allow", None),
    }
    rows, _ = engine.mask_rows(sd, [{"customer": "王小梅", "product": "无线耳机", "price": 199}])
    assert rows == [{"customer": "王**", "product": "无线耳机", "price": 199}]
    # without aliases both outputs are called "name": rows cannot tell them apart, both masked
    sd2 = decide(
        engine,
        analyzer,
        SOC,
        "SELECT c.name, p.name FROM customers c JOIN products p ON p.id = c.id WHERE c.id = 1",
    )
    assert [d.action for d in sd2.columns] == ["mask", "allow"]
    assert engine.mask_rows(sd2, [{"name": "王小梅"}])[0] == [{"name": "王**"}]


def test_unknown_columns_get_the_unclassified_default(engine, analyzer):
    sd = decide(
        engine,
        analyzer,
        SOC,
        "SELECT widget_code, count(*) AS n, 1 AS one FROM gadgets WHERE id = 1",
    )
    assert {d.name: (d.action, d.rule_id) for d in sd.columns} == {
        "widget_code": ("allow", "default:unclassified"),
        "n": ("allow", "default:unclassified"),
        "one": ("allow", "default:unclassified"),
    }


def test_probing_predicates_are_flagged(engine, analyzer):
    sd = decide(
        engine,
        analyzer,
        SUPPORT,
        "SELECT id, city FROM customers WHERE id_card LIKE '3301%' AND status = 'x'",
    )
    assert [(d.name, d.column, d.classification["level"]) for d in sd.probing] == [
        ("customers.id_card", "id_card", "general-4")
    ]
    assert all(d.action == "allow" for d in sd.columns)
    sd = decide(
        engine,
        analyzer,
        SUPPORT,
        "SELECT c.id FROM customers c JOIN orders o ON o.customer_id = c.id WHERE o.status = 'x'",
    )
    assert sd.probing == ()


def test_bulk_reads_and_deny_bulk(analyzer):
    def graded(instance, db, column):
        r = catalogue(instance, db, column)
        if r is not None and r.entity == "CN_RESIDENT_ID":
            return Resource(
                instance, db, r.table, r.column, r.entity, "personal.identity", "important"
            )
        return r

    engine = MaskingEngine(default_policy(), RING, graded)
    hr = Subject("h", ["support"])
    bulk = decide(engine, analyzer, hr, "SELECT id, id_card, city FROM customers")
    assert bulk.bulk and bulk.denied
    assert by_name(bulk)["id_card"][2] == "deny" and by_name(bulk)["city"][2] == "allow"
    one = decide(engine, analyzer, hr, "SELECT id, id_card FROM customers WHERE id = 1")
    assert not one.bulk and not one.denied
    limited = decide(engine, analyzer, hr, "SELECT id, id_card FROM customers LIMIT 10")
    assert not limited.bulk and not limited.denied
    assert decide(engine, analyzer, hr, "SELECT count(*) FROM customers").bulk
    assert not decide(engine, analyzer, hr, "UPDATE customers SET city = 'x'").bulk


def test_risk_adaptive_decisions_get_stricter(engine, analyzer):
    sql = "SELECT name, mobile, id_card FROM customers WHERE id = 7"
    calm = by_name(decide(engine, analyzer, SUPPORT, sql))
    assert calm == {
        "name": ("customers", "name", "allow", None),
        "mobile": ("customers", "mobile", "mask", "partial"),
        "id_card": ("customers", "id_card", "mask", "partial"),
    }
    assert by_name(decide(engine, analyzer, SUPPORT.with_risk("low"), sql)) == calm
    high = decide(engine, analyzer, SUPPORT.with_risk("high"), sql)
    assert {n: v[2:] for n, v in by_name(high).items()} == {
        "name": ("mask", "redact"),
        "mobile": ("mask", "redact"),
        "id_card": ("mask", "redact"),
    }
    assert all(d.rule_id == "risk:risk-high-redact" for d in high.columns)
    critical = decide(engine, analyzer, SUPPORT.with_risk("critical"), sql)
    assert critical.denied and by_name(critical)["id_card"][2] == "deny"
    # medium risk: the same statement is fine, its bulk form is not
    assert not decide(engine, analyzer, SUPPORT.with_risk("medium"), sql).denied
    dump = decide(
        engine, analyzer, SUPPORT.with_risk("medium"), "SELECT name, id_card FROM customers"
    )
    assert dump.bulk and dump.denied and by_name(dump)["name"][2] == "allow"
    assert not decide(engine, analyzer, SUPPORT, "SELECT name, id_card FROM customers").denied


def test_time_rules_reach_statement_decisions(engine, analyzer):
    sql = "SELECT id_card FROM customers WHERE id = 1"
    assert by_name(decide(engine, analyzer, SUPPORT, sql, OFFICE))["id_card"][2:] == (
        "mask",
        "partial",
    )
    night = decide(engine, analyzer, SUPPORT, sql, NIGHT)
    assert night.denied and by_name(night)["id_card"][2] == "deny"
    assert (
        by_name(decide(engine, analyzer, SUPPORT, sql, OFFICE))["id_card"][2] == "mask"
    )  # cached, still right


# -- cache ---------------------------------------------------------------------------------


def test_cache_hits_are_correct(engine, analyzer):
    sql = "SELECT name, mobile FROM customers WHERE id = 1"
    first = decide(engine, analyzer, SUPPORT, sql)
    hits = engine.hits
    again = engine.decide_statement(
        SUPPORT,
        analyzer.analyze("select name, mobile from customers where id = 99", "postgresql"),
        "pg-crm-01",
        "crm",
        OFFICE + dt.timedelta(minutes=5),
    )
    assert again is first and engine.hits == hits + 1  # other literals, same window: a hit
    # everything the decision depends on is in the key
    variants = [
        decide(engine, analyzer, Subject("li.na", ["sales"]), sql),
        decide(engine, analyzer, SUPPORT.with_risk("high"), sql),
        decide(engine, analyzer, Subject("li.na", ["support"], purpose="x"), sql),
        engine.decide_statement(
            SUPPORT, analyzer.analyze(sql, "postgresql"), "pg-crm-01", "other", OFFICE
        ),
        decide(engine, analyzer, SUPPORT, "SELECT name, id_card FROM customers WHERE id = 1"),
    ]
    assert all(v is not first for v in variants)
    assert len({v.cache_key for v in variants} | {first.cache_key}) == len(variants) + 1
    assert [d.method for d in variants[0].columns] == [None, "partial"]
    assert [d.method for d in variants[1].columns] == ["redact", "redact"]
    # a cached answer equals a cold one
    cold = MaskingEngine(default_policy(), RING, catalogue)
    for v, subject in ((first, SUPPORT), (variants[1], SUPPORT.with_risk("high"))):
        fresh = decide(cold, analyzer, subject, sql)
        assert fresh.columns == v.columns and fresh.cache_key == v.cache_key
    # a new policy or key clears / changes the key
    engine.policy = parse_policy("version: other\nrules: []\n")
    assert [d.method for d in decide(engine, analyzer, SUPPORT, sql).columns] == [
        "redact",
        "redact",
    ]
    assert decide(engine, analyzer, SUPPORT, sql).policy_version == "other"


def test_clear_after_the_catalogue_learns(analyzer):
    known: dict[str, str] = {}

    def learning(instance, db, column):
        e = known.get(column)
        return Resource(instance, db, None, None, e) if e else None

    engine = MaskingEngine(default_policy(), RING, learning)
    sql = "SELECT remark FROM tickets WHERE id = 1"
    assert decide(engine, analyzer, SOC, sql).columns[0].action == "allow"
    known["tickets.remark"] = "CN_RESIDENT_ID"
    assert decide(engine, analyzer, SOC, sql).columns[0].action == "allow"  # cached
    engine.clear()
    d = decide(engine, analyzer, SOC, sql).columns[0]
    assert (d.action, d.method, d.table, d.column) == ("mask", "hash", "tickets", "remark")


# -- keys, reveal, requests ------------------------------------------------------------------------


def test_reveal_only_for_the_authorised_role(analyzer):
    old = Keyring({"2025": b"old-key-0123456789"})
    engine = MaskingEngine(default_policy(), old, catalogue)
    auditor = Subject("au", ["auditor"])
    sd = decide(engine, analyzer, auditor, "SELECT mobile, id_card FROM customers WHERE id = 1")
    assert [(d.method, d.key_id) for d in sd.columns] == [
        ("tokenize", "2025"),
        ("tokenize", "2025"),
    ]
    rows, _ = engine.mask_rows(sd, [{"mobile": "13812345678", "id_card": "110101199003074514"}])
    token = rows[0]["id_card"]
    assert token != "110101199003074514" and gb11643(token)
    # the key rotates; the decision remembers which key made the token
    engine.keyring = Keyring(
        {"2025": b"old-key-0123456789", "2026": b"new-key-0123456789"}, current="2026"
    )
    d = sd.by_name["id_card"]
    assert engine.reveal(token, auditor, decision=d) == "110101199003074514"
    assert engine.reveal(rows[0]["mobile"], auditor, key_id="2025") == "13812345678"
    for who in (SUPPORT, Subject("d", ["dba"]), Subject("x", [])):
        with pytest.raises(NotAuthorized):
            engine.reveal(token, who, decision=d)
    hashed = decide(
        engine, analyzer, Subject("d", ["dba"]), "SELECT id_card FROM customers WHERE id = 2"
    ).columns[0]
    assert hashed.method == "hash" and hashed.key_id == "2026"
    with pytest.raises(ValueError):
        engine.reveal("abc", auditor, decision=hashed)


def test_decide_request_follows_the_contract(engine):
    out = engine.decide_request(
        {
            "request_id": "r-1",
            "@timestamp": "2026-11-27T03:00:00Z",
            "user": {"name": "li.na", "roles": ["support"]},
            "db.system": "postgresql",
            "db.instance": "pg-crm-01",
            "db.name": "crm",
            "db.statement": "SELECT name, mobile FROM customers WHERE id = 7",
        }
    )
    assert out["request_id"] == "r-1" and out["policy"]["version"] == default_policy().version
    assert [(c["table"], c["column"], c["action"], c["method"]) for c in out["columns"]] == [
        ("customers", "name", "allow", None),
        ("customers", "mobile", "mask", "partial"),
    ]
    assert out["columns"][1]["classification"]["level"] == "general-2"
    json.dumps(out)
    listed = engine.decide_request(
        {
            "request_id": "r-2",
            "user": {"name": "d", "roles": ["dba"]},
            "db": {"instance": "pg-crm-01", "name": "crm"},
            "columns": [
                {"table": "customers", "column": "id_card"},
                {"table": "orders", "column": "status"},
            ],
        }
    )
    assert [(c["action"], c["method"]) for c in listed["columns"]] == [
        ("mask", "hash"),
        ("allow", None),
    ]


# -- samples never leak ----------------------------------------------------------------------------


def _leaves(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _leaves(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _leaves(v)
    else:
        yield obj


def _people(n):
    zh, en = Faker("zh_CN"), Faker("en_US")
    zh.seed_instance(5)
    en.seed_instance(5)
    for i in range(n):
        f = zh if i % 2 == 0 else en
        yield f, zh


@pytest.mark.parametrize("classify", ["hints", "catalogue"])
def test_document_samples_keep_no_plaintext_of_recognised_entities(classify):
    engine = MaskingEngine(default_policy(), RING, catalogue if classify == "catalogue" else None)
    checked = 0
    for f, zh in _people(30):
        row = {
            "name": f.name(),
            "mobile": f.phone_number(),
            "id_card": f.ssn(),
            "email": f.email(),
            "address": f.address(),
            "card_no": f.credit_card_number(),
            "birthday": str(f.date_of_birth()),
            "ip": f.ipv4(),
            "remark": f"客户{zh.name()}，身份证号{zh.ssn()}，手机{zh.phone_number()}",
            "col7": zh.phone_number(),
            "x": f.email(),
            "salary": f.random_int(3000, 90000),
            "status": "active",
        }
        query_mobile, query_email = zh.phone_number(), f.email()
        body = {
            "data": {
                "customer": {
                    "full_name": f.name(),
                    "contact": {"phone": f.phone_number(), "mail": f.email()},
                },
                "items": [{"note": "请回电 " + zh.phone_number()}, {"sku": "A-100"}],
            }
        }
        event = {
            "@timestamp": "2026-11-27T03:00:00Z",
            "db": {
                "system": "postgresql",
                "instance": "pg-crm-01",
                "name": "crm",
                "statement": "SELECT " + ", ".join(row) + " FROM customers WHERE id = 1",
                "result_sample": [row, dict(row)],
                "parameters": [zh.ssn(), 7],
            },
            "http": {"route": "/customers/{id}", "response": {"sample": body}},
            "url": {
                "path": "/customers/5",
                "query": f"mobile={query_mobile}&e={quote(query_email)}&page=2",
            },
            "service": {"name": "customer-api"},
        }
        original = copy.deepcopy(event)
        out = engine.mask_document_samples(event, SOC)
        # Everything but the statement, whose literals the understand stage cuts.
        dump = json.dumps({**out, "db": {**out["db"], "statement": None}}, ensure_ascii=False)
        values = [
            *row.values(),
            *_leaves(body),
            *original["db"]["parameters"],
            query_mobile,
            query_email,
        ]
        for value in values:
            for finding in scan_value(value):
                checked += 1
                assert finding.value not in dump, (finding.entity, finding.value)
        sample = out["db"]["result_sample"][0]
        assert sample["status"] == "active"  # nothing personal: untouched
        assert sample["mobile"] != row["mobile"] and "*" in sample["mobile"]
        assert out["http"]["response"]["sample"]["data"]["items"][1] == {"sku": "A-100"}
        fields = out["parasol"]["masking"]["fields"]
        assert out["parasol"]["masking"]["policy_version"] == default_policy().version
        assert fields["db.result_sample.mobile"] == "partial"
        assert fields["db.result_sample.remark"] in ("hash", "partial")
        if classify == "hints":  # the test catalogue knows no API paths: only scanning there
            assert fields["http.response.sample.data.customer.contact.phone"] == "partial"
        assert "db.result_sample.status" not in fields
        assert fields["url.query"] == "hash" and out["url"]["query"].endswith("&page=2")
    assert checked > 300


def test_document_samples_without_sql_and_odd_shapes(engine):
    event = {
        "db": {
            "result_sample": [
                {"phone": "13812345678", "n": 3},
                ["110101199003074514", None],
                "13912345678",
            ]
        },
        "http": {"response": {"sample": "客户手机13812345678"}},
        "url": {"path": "/x/12"},
    }
    out = engine.mask_document_samples(event, SOC)
    rows = out["db"]["result_sample"]
    assert rows[0] == {"phone": "138****5678", "n": 3}
    assert rows[1][0] != "110101199003074514" and rows[1][1] is None
    assert rows[2] == "139****5678"
    assert out["http"]["response"]["sample"] == "客户手机138****5678"
    assert out["parasol"]["masking"]["fields"]["http.response.sample"] == "partial"


def test_denied_values_in_samples_are_redacted(engine):
    event = {
        "@timestamp": "2026-11-27T14:00:00Z",
        "db": {
            "system": "postgresql",
            "instance": "pg-crm-01",
            "name": "crm",
            "statement": "SELECT id_card FROM customers WHERE id = 1",
            "result_sample": [{"id_card": "110101199003074514"}],
        },
    }
    out = engine.mask_document_samples(
        event, SUPPORT
    )  # support at night: identity documents denied
    assert out["db"]["result_sample"] == [{"id_card": REDACTED}]
    assert out["parasol"]["masking"]["fields"] == {"db.result_sample.id_card": "deny"}
