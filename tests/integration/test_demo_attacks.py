"""The demo's traffic (the simulator, attacks on) through a real worker: every attack kind raises
its alerts, each once per rule, entity and window, with the repeats counted right."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from connectors.sources.simulator import ATTACK_KINDS, Simulator
from schemas.normalize import normalize
from tests.integration.conftest import es_count, es_get, produce, scoped, wait_for

#: What each attack kind must raise (one of these rule names at least).
EXPECTED = {
    "sqli": {"SQL injection in a statement", "Stacked-query or file-access SQL injection"},
    "brute_force": {"Repeated failed logins for one account", "Successful login after repeated failures"},
    "bulk_export": {"Bulk read of level 3+ data"},
    "destructive_ddl": {"DROP or TRUNCATE on a production database"},
    "audit_tampering": {"Database audit logging disabled or changed"},
    "api_enumeration": {"API object enumeration on one route"},
}


def _search(s, family: str, body: dict) -> list[dict]:
    es_get(s, f"/{s.index_pattern(family)}/_refresh", {})
    return [h["_source"] for h in es_get(s, f"/{s.index_pattern(family)}/_search", body)["hits"]["hits"]]


def test_simulated_attacks_raise_their_alerts_once_with_counts(stack, workers):
    assert set(EXPECTED) == set(ATTACK_KINDS)
    s = scoped(stack, "demo-attacks", site_timezone="UTC")  # the simulated company keeps UTC hours
    sim = Simulator(seed=11, start=datetime(2026, 11, 23, 8, tzinfo=UTC), attacks=True)
    msgs, by_kind = [], {}
    for ev in sim.events(4000):
        value = orjson.dumps(ev.value)
        msgs.append((ev.kind, ev.key, value))
        if ev.label:
            by_kind.setdefault(ev.label, set()).add(normalize(ev.kind, ev.value)["event"]["id"])
    assert set(by_kind) == set(ATTACK_KINDS)
    workers(s)
    for kind in ("db", "api"):
        produce(s, kind, [(k, v) for kd, k, v in msgs if kd == kind])
    wait_for(lambda: es_count(s) == len(msgs), 120, 1.0, f"{len(msgs)} audit documents")

    def complete():
        alerts = _search(s, "alerts", {"size": 2000})
        found = {kind: {a["rule"]["name"] for a in alerts if ids & set(a["related"]["event_ids"])}
                 for kind, ids in by_kind.items()}
        return (alerts, found) if all(found[k] & EXPECTED[k] for k in EXPECTED) else None

    try:
        alerts, found = wait_for(complete, 60, 1.0, "an expected alert for every attack kind")
    except AssertionError:
        alerts = _search(s, "alerts", {"size": 2000})
        raise AssertionError({k: sorted({a["rule"]["name"] for a in alerts if ids & set(a["related"]["event_ids"])})
                              for k, ids in by_kind.items()}) from None
    # Once per rule, entity and suppression window: no two alerts of one rule for one user overlap.
    spans: dict[tuple, list] = {}
    for a in alerts:
        key = (a["rule"]["id"], (a.get("user") or {}).get("name"), (a.get("source") or {}).get("ip"))
        spans.setdefault(key, []).append((a["event"]["start"], a["event"]["end"]))
    for key, ss in spans.items():
        ss.sort()
        assert all(prev[1] < nxt[0] for prev, nxt in zip(ss, ss[1:])), (key, ss)
    # The repeats are counted: the injection alert folds every injection its user ran in its window.
    sqli = next(a for a in alerts if a["rule"]["name"] == "SQL injection in a statement"
                and by_kind["sqli"] & set(a["related"]["event_ids"]))
    user, start, end = sqli["user"]["name"], sqli["event"]["start"], sqli["event"]["end"]
    es_get(s, f"/{s.index_pattern('audit')}/_refresh", {})
    n = es_get(s, f"/{s.index_pattern('audit')}/_count", {"query": {"bool": {"filter": [
        {"term": {"user.name": user}}, {"exists": {"field": "parasol.sqli"}},
        {"range": {"@timestamp": {"gte": start, "lte": end}}}]}}})["count"]
    assert n >= 2
    assert sqli["parasol"]["alert"]["suppressed"] == n - 1, (n, sqli["parasol"]["alert"])
