"""Sigma rules: parsed by pySigma, evaluated by parasol; equivalent to the native rules."""

from __future__ import annotations

import pytest

pytest.importorskip("sigma", reason="pySigma is not installed (pip install pysigma)")

from detectors.rules.annotate import Annotator
from detectors.rules.casebook import expand_case
from detectors.rules.engine import RuleEngine
from detectors.rules.sigma import SigmaError, load_sigma, sigma_rules

from .benign_sql import benign_statements

PAIRS = {
    "SQL injection signals in a database statement (Sigma)": "SQL injection in a statement",
    "Database audit logging disabled or changed (Sigma)":
        "Database audit logging disabled or changed",
    "DELETE or UPDATE without WHERE on a large table (Sigma)":
        "DELETE or UPDATE without WHERE on a large table",
    "Honeytoken table or column touched (Sigma)": "Honeytoken table or column touched",
    "Data exported to a file by the database server (Sigma)":
        "Data exported to a file by the database server",
}
EXTRA = [
    "SELECT * FROM users WHERE id = 7 OR 'a'='a'", "DELETE FROM audit_log", "UPDATE t SET a = 1",
    "SET pgaudit.log_level = 'notice'", "ALTER SYSTEM SET log_statement = 'none'",
    "SELECT * FROM honey_accounts", "COPY (SELECT * FROM customers) TO PROGRAM 'curl x'",
    "copy customers to STDOUT", "SELECT lo_export(1234, '/tmp/x')", "UNINSTALL SONAME 'x'",
    "SELECT * FROM t WHERE a = 1 UNION ALL SELECT NULL,NULL,NULL-- c",
]


@pytest.fixture(scope="module")
def corpus(pack):
    """Every event of every native rule's cases, plus statements of many shapes."""
    events = []
    for r in pack:
        for pol in ("positive", "negative"):
            for case in r.tests[pol]:
                events += [e for is_alert, e in expand_case(case) if not is_alert]
    stmts = [(s, d) for s, d in benign_statements(300, seed=3)] + [(s, "postgresql")
                                                                     for s in EXTRA]
    for i, (s, d) in enumerate(stmts):
        for rows in (5, 5000):
            events += expand_case({"db": {"system": d, "statement": s, "rows": rows},
                                   "user": {"name": "u"}, "event": {"id": f"x{i}-{rows}"}})
            events[-1] = events[-1][1]
    ann = Annotator()
    out = []
    for e in events:
        e.setdefault("event", {}).setdefault("dataset", "db.audit")
        out.append(ann(e))
    return out


def test_packaged_sigma_rules_load():
    rules = load_sigma()
    assert len(rules) >= 4
    assert {r.name for r in rules} == set(PAIRS)
    assert all(r.origin == "sigma" and r.type == "match" and r.threat for r in rules)


@pytest.mark.parametrize("sigma_name", sorted(PAIRS))
def test_sigma_fires_exactly_where_the_native_rule_fires(sigma_name, by_name, corpus):
    sig = {r.name: r for r in load_sigma()}[sigma_name]
    native = by_name[PAIRS[sigma_name]]
    got = [sig.when.match(e) for e in corpus]
    want = [native.when.match(e) for e in corpus]
    diff = [corpus[i].get("db", {}).get("statement") for i, (a, b) in enumerate(zip(got, want))
            if a != b]
    assert diff == [], f"{sigma_name} differs from the native rule on: {diff[:5]}"
    assert sum(want) >= 2 and sum(want) < len(corpus)  # both fire, neither fires on everything


def test_sigma_rules_run_in_the_engine_with_native_alert_shape(corpus):
    eng = RuleEngine(load_sigma(), exceptions=())
    alerts = [a for e in corpus for a in eng.process(e)]
    assert {a["rule"]["name"] for a in alerts} == set(PAIRS)
    assert all(a["threat"]["technique"]["id"].startswith("T1") for a in alerts)


MODS = """
title: modifiers
id: 0d1f36f2-5a3c-4a33-9f3d-6b0c6a4a1b11
status: experimental
level: medium
tags: [attack.t1190, attack.initial-access]
logsource: {product: parasol, category: database}
detection:
  sel_text:
    statement|contains|all: ['union', 'select']
    user|startswith: 'svc_'
    service|endswith: '-api'
  sel_num:
    rows|gte: 1000
    src_ip|cidr: 10.0.0.0/8
  sel_re:
    statement|re|i: 'pg_sleep\\(\\d+\\)'
  sel_glob:
    table: 'crm.cust*'
  filter_error:
    error: null
  keywords: ['benchmark(']
  condition: (all of sel_t* or 1 of sel_n* or sel_re or sel_glob or keywords) and filter_error
"""


def _e(**kw):
    e = {"@timestamp": "2026-11-20T10:00:00.000Z", "event": {"dataset": "db.audit"},
         "user": {"name": "alice"}, "db": {"statement": "SELECT 1"}}
    for k, v in kw.items():
        cur = e
        *head, last = k.split("__")
        for h in head:
            cur = cur.setdefault(h, {})
        cur[last] = v
    return e


@pytest.mark.parametrize("event, expected", [
    (_e(db__statement="SELECT a UNION SELECT b", user__name="SVC_crm", service__name="crm-API"),
     True),  # case-insensitive as Sigma specifies
    (_e(db__statement="TABLE a UNION ALL TABLE b", user__name="svc_crm", service__name="crm-api"),
     False),  # contains|all needs both
    (_e(db__rows=5000, source__ip="10.2.3.4"), True),
    (_e(db__rows=5000, source__ip="192.168.1.1"), False),
    (_e(db__statement="select PG_SLEEP(10)"), True),
    (_e(parasol__tables=["crm.customers"]), True),
    (_e(parasol__tables=["crm.orders"]), False),
    (_e(db__statement="select BENCHMARK(1,1)"), True),  # keyword
    (_e(db__statement="select pg_sleep(1)", db__error="syntax"), False),  # filter: error null
    (_e(db__statement="select pg_sleep(1)", event__dataset="api.access"), False),  # logsource
])
def test_modifiers_and_conditions(event, expected):
    (rule,) = sigma_rules(MODS, "mods.yml")
    assert rule.when.match(event) is expected
    assert rule.threat.technique_id == "T1190" and rule.threat.tactic_id == "TA0001"
    assert rule.maturity == "experimental" and rule.severity == "medium"


def test_unsupported_sigma_is_rejected_with_the_rule_named():
    bad = MODS.replace("statement|re|i", "statement|base64").replace("modifiers", "b64 rule")
    with pytest.raises(SigmaError, match="b64 rule"):
        sigma_rules(bad, "bad.yml")
    with pytest.raises(SigmaError, match="product"):
        sigma_rules(MODS.replace("product: parasol", "product: windows"), "win.yml")
