"""Rules on the real pipeline: an attack sequence → alerts (once each, suppressed repeats counted),
response actions, risk levels for masking, entity documents; then the analyst loop — a
false-positive verdict silences that rule for that user."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import orjson

from tests.integration.conftest import (
    drain_topic,
    es_get,
    produce,
    scoped,
    settings_env,
    wait_for,
)

T0 = "2026-11-24T10:00:00.000Z"


def _db(i: int, minute: int, second: int, user: str, statement: str, **extra) -> tuple[str, bytes]:
    ev = {"@timestamp": f"2026-11-24T10:{minute:02d}:{second:02d}.000Z", "event": {"id": f"atk-{i:03d}"},
          "user": {"name": user, "roles": ["app"]}, "source": {"ip": "10.20.0.7"},
          "session": {"id": f"s-{user}"}, "service": {"name": "crm-web"},
          "db": {"system": "postgresql", "instance": "pg-crm-01", "name": "crm", "statement": statement},
          **extra}
    return user, orjson.dumps(ev)


SQLI = "SELECT id, name FROM products WHERE id = 7 OR 1=1 -- "


def attack() -> list[tuple[str, bytes]]:
    msgs = []
    # The same injection three times within the hour: one alert, two suppressed repeats.
    for i in range(3):
        msgs.append(_db(i, 1, i * 10, "crm_app", SQLI + str(i)))
    # A benign query by the same account: nothing.
    msgs.append(_db(3, 2, 0, "crm_app", "SELECT id, name FROM products WHERE id = 42"))
    # Twelve failed logins for alice within two minutes: brute force (threshold 10 in 5 min).
    for i in range(12):
        msgs.append(_db(10 + i, 3, i * 5, "alice", "", event={"id": f"atk-{10 + i:03d}", "action": "login",
                                                             "outcome": "failure"},
                        db={"system": "postgresql", "instance": "pg-crm-01", "name": "crm",
                            "error": "password authentication failed"}))
    # One address tries nine accounts (spread over partitions by user): password spraying.
    for i in range(9):
        user = f"emp{i:02d}"
        k, v = _db(60 + i, 4, i * 3, user, "", event={"id": f"atk-{60 + i:03d}", "action": "login",
                                                      "outcome": "failure"},
                   db={"system": "postgresql", "instance": "pg-crm-01", "name": "crm"})
        msgs.append((k, v.replace(b"10.20.0.7", b"203.0.113.50")))
    # A DELETE without WHERE on a large table.
    msgs.append(_db(30, 5, 0, "bob", "DELETE FROM orders", db={"system": "postgresql", "instance": "pg-crm-01",
                                                                "name": "crm", "statement": "DELETE FROM orders",
                                                                "rows": 48211}))
    # Events from later on move the watermark on, as live traffic would.
    msgs.append(_db(40, 59, 0, "carol", "SELECT 1"))
    return msgs


def _alerts_by_rule(s) -> dict[str, list[dict]]:
    es_get(s, f"/{s.index_pattern('alerts')}/_refresh", {})
    hits = es_get(s, f"/{s.index_pattern('alerts')}/_search", {"size": 1000})["hits"]["hits"]
    out: dict[str, list[dict]] = {}
    for h in hits:
        out.setdefault(h["_source"]["rule"]["name"], []).append(h["_source"])
    return out


class _Webhook:
    """A real HTTP endpoint on loopback that records what the worker POSTs (a SOAR stand-in)."""

    def __init__(self):
        import http.server
        import threading

        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.headers.get("Authorization"), orjson.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def alerts(self) -> list[dict]:
        out = []
        for _, body in self.received:
            out += body if isinstance(body, list) else [body]
        return out


def test_attack_sequence_alerts_actions_and_verdict(stack, workers):
    hook = _Webhook()
    s = scoped(stack, "alerts", log_format="json", webhook_url=hook.url, webhook_token="hook-secret",
               webhook_min_severity="high")
    w = workers(s)
    produce(s, "db", attack())

    def indexed():
        by_rule = _alerts_by_rule(s)
        return by_rule if {"SQL injection in a statement", "Repeated failed logins for one account",
                           "DELETE or UPDATE without WHERE on a large table"} <= set(by_rule) else None

    by_rule = wait_for(indexed, 90, 1.0, "the expected alerts in parasol-alerts*")
    spraying = wait_for(lambda: _alerts_by_rule(s).get("Failed logins for many accounts from one address"),
                        60, 1.0, "the password-spraying alert (events re-keyed by address)")
    assert len(spraying) == 1 and spraying[0]["source"]["ip"] == "203.0.113.50"
    assert len(set(spraying[0]["related"]["event_ids"])) >= 8
    sqli = by_rule["SQL injection in a statement"]
    assert len(sqli) == 1, sqli  # one document per (rule, user, window)
    assert sqli[0]["user"]["name"] == "crm_app"
    wait_for(lambda: _alerts_by_rule(s)["SQL injection in a statement"][0]["parasol"]["alert"]["suppressed"] == 2,
             30, 0.5, "two suppressed repeats counted on the alert")
    assert set(sqli[0]["related"]["event_ids"]) >= {"atk-000"}
    assert sqli[0]["risk"]["severity"] in ("high", "critical") and 0 < sqli[0]["risk"]["score"] <= 100
    assert sqli[0]["threat"]["technique"]["id"].startswith("T")
    assert sqli[0]["event"]["created"] and sqli[0]["@timestamp"].startswith("2026-11-24T10:01")
    brute = by_rule["Repeated failed logins for one account"]
    assert len(brute) == 1 and brute[0]["user"]["name"] == "alice"
    assert not any(a["user"]["name"] == "carol" for rule in by_rule.values() for a in rule)

    # The webhook got each new high/critical alert once, with the bearer token; no updates.
    hooked = wait_for(lambda: hook.alerts() or None, 30, 0.5, "alerts POSTed to the webhook")
    assert all(auth == "Bearer hook-secret" for auth, _ in hook.received)
    ids = [a["alert"]["id"] for a in hook.alerts()]
    assert len(ids) == len(set(ids)) and sqli[0]["alert"]["id"] in ids
    assert all(a["risk"]["severity"] in ("high", "critical") for a in hooked)
    assert brute[0]["alert"]["id"] not in ids  # medium: below PARASOL_WEBHOOK_MIN_SEVERITY

    # The audit documents carry the rule stage's computed fields.
    es_get(s, f"/{s.index_pattern('audit')}/_refresh", {})
    doc = es_get(s, f"/{s.index_pattern('audit')}/_search", {"query": {"ids": {"values": ["atk-000"]}}})
    assert doc["hits"]["hits"][0]["_source"]["parasol"]["sqli"]

    # On the alerts topic: every alert id, updates included; no id outside the index.
    topic_alerts = drain_topic(s, "alerts", 3, timeout=30)
    index_ids = {a["alert"]["id"] for rule in _alerts_by_rule(s).values() for a in rule}
    assert {a["alert"]["id"] for a in topic_alerts} == index_ids

    # Actions: SQL injection through an application account blocks its session, once.
    actions = drain_topic(s, "actions", 1, timeout=30)
    types = Counter((a["action"]["type"], a["user"]["name"]) for a in actions)
    assert types[("block_session", "crm_app")] == 1, actions
    block = next(a for a in actions if a["action"]["type"] == "block_session")
    assert block["session"]["id"] == "s-crm_app" and block["ttl_s"] > 0
    assert block["alert"]["id"] == sqli[0]["alert"]["id"]

    # Risk levels for masking: crm_app's level rose.
    levels = {r["user"]: r["level"] for r in drain_topic(s, "risk_levels", 1, timeout=30)}
    assert levels.get("crm_app") in ("medium", "high", "critical"), levels

    # Entities: baselines per user in parasol-entities*.
    def entity():
        es_get(s, f"/{s.index_pattern('entities')}/_refresh", {})
        hits = es_get(s, f"/{s.index_pattern('entities')}/_search",
                      {"query": {"term": {"user.name": "crm_app"}}})["hits"]["hits"]
        return hits or None

    assert wait_for(entity, 30, 0.5, "crm_app's entity document")[0]["_source"]["entity"]["kind"]

    # The analyst loop: list, close as a false positive → an exception for crm_app and this rule.
    env = settings_env(s)
    out = subprocess.run([sys.executable, "-m", "streams.cli", "alerts", "list", "--since", "", "--json"],
                         env=env, capture_output=True, timeout=60, check=True)
    listed = orjson.loads(out.stdout)
    assert {a["alert"]["id"] for a in listed} == index_ids
    aid = sqli[0]["alert"]["id"]
    subprocess.run([sys.executable, "-m", "streams.cli", "alerts", "close", aid[:12], "--verdict",
                    "false_positive", "--by", "analyst1", "--note", "scanner test"],
                   env=env, capture_output=True, timeout=60, check=True)
    closed = next(a for a in _alerts_by_rule(s)["SQL injection in a statement"] if a["alert"]["id"] == aid)
    assert closed["parasol"]["alert"]["verdict"] == "false_positive"
    assert closed["parasol"]["alert"]["history"][-1]["by"] == "analyst1"
    wait_for(lambda: w.stats()["verdicts"] >= 1, 30, 0.5, "the worker to take the verdict")

    # Two hours later (a new suppression window) the same injection by crm_app raises nothing;
    # by another app account it does.
    later = [_db(50, 0, 0, "crm_app", SQLI + "again"), _db(51, 0, 5, "shop_app", SQLI + "x")]
    later = [(k, v.replace(b"2026-11-24T10:", b"2026-11-24T12:")) for k, v in later]
    produce(s, "db", later)

    def shop_alert():
        return [a for a in _alerts_by_rule(s).get("SQL injection in a statement", [])
                if a["user"]["name"] == "shop_app"] or None

    wait_for(shop_alert, 60, 1.0, "shop_app's injection alert")
    crm = [a for a in _alerts_by_rule(s)["SQL injection in a statement"] if a["user"]["name"] == "crm_app"]
    assert [a["alert"]["id"] for a in crm] == [aid], crm

    # Every rule, native and Sigma, exported as ES queries runs on the store; the injection
    # queries find the indexed injections.
    out = subprocess.run([sys.executable, "-m", "streams.cli", "rules", "export", "--format", "es", "--run",
                          "--sigma", "detectors/rules/data/sigma"], env=env, capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    bodies = orjson.loads(out.stdout)
    assert len(bodies) >= 25
    for b in bodies:  # the embedded store has no script queries (real Elasticsearch has)
        uses_script = b'"script"' in orjson.dumps(b["query"])
        assert isinstance(b["matches"], int) or (uses_script and "script" in b["error"]), b
    by_name = {b["rule"]["name"]: b for b in bodies}
    assert by_name["SQL injection in a statement"]["matches"] >= 4
    sigma = [b for b in bodies if b["rule"]["origin"] == "sigma"]
    assert sigma and any(b["matches"] >= 1 for b in sigma)

    # Investigation without Kibana: one user, one table, from the indices the worker filled.
    out = subprocess.run([sys.executable, "-m", "streams.cli", "investigate", "user", "crm_app", "--since", "",
                          "--json"], env=env, capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    user = orjson.loads(out.stdout)
    assert user["events"] >= 5 and user["source_ips"] == {"10.20.0.7": user["events"]}
    assert {t["table"] for t in user["tables"]} >= {"products"}
    assert {a["rule"]["name"] for a in user["alerts"]} >= {"SQL injection in a statement"}
    assert any(e["entity"]["id"] == "user:crm_app" for e in user["entities"])
    out = subprocess.run([sys.executable, "-m", "streams.cli", "investigate", "table", "crm.orders", "--since", "",
                          "--json"], env=env, capture_output=True, timeout=60)
    table = orjson.loads(out.stdout)
    assert [(r["user"], r["rows"]) for r in table["readers"]] == [("bob", 48211)]
    human = subprocess.run([sys.executable, "-m", "streams.cli", "investigate", "user", "crm_app", "--since", ""],
                           env={**env, "COLUMNS": "250"}, capture_output=True, timeout=60)
    assert b"SQL injection in a statement" in human.stdout and b"products" in human.stdout

    # Metrics: the documented series, with the values this run must have produced.
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{w.port}/metrics", timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/plain")
        families = {f.name: f for f in text_string_to_metric_families(r.read().decode())}
    samples = {(s_.name, tuple(sorted(s_.labels.items()))): s_.value for f in families.values() for s_ in f.samples}
    sent = len(attack()) + 2
    # at least once: a rebalance at start-up may hand a batch over before its offsets committed
    assert samples[("parasol_events_received_total", (("kind", "db"),))] >= sent
    received = samples[("parasol_events_received_total", (("kind", "db"),))]
    assert sent <= samples[("parasol_events_indexed_total", (("kind", "db"),))] <= received  # not alert docs
    sqli_new = [v for (n, labels), v in samples.items()
                if n == "parasol_alerts_raised_total" and ("rule", "SQL injection in a statement") in labels]
    assert sum(sqli_new) == 2  # crm_app's, then shop_app's; updates are not new alerts
    assert samples[("parasol_actions_sent_total", (("type", "block_session"),))] >= 1
    assert samples[("parasol_stage_batch_seconds_count", (("stage", "detect"),))] >= 1
    assert samples[("parasol_es_bulk_seconds_count", ())] >= 1
    assert "parasol_consumer_lag" in families and "parasol_masking_decision_seconds" in families
    assert "parasol_event_time_watermark_seconds" in families
    assert all(v == 0 for (n, _), v in samples.items() if n == "parasol_dead_letters_total")
    with urllib.request.urlopen(f"http://127.0.0.1:{w.port}/parasol/ready", timeout=5) as r:
        assert orjson.loads(r.read())["ready"] is True

    # Structured logs: JSON lines with ECS names; an alert's line names the alert and its evidence.
    lines = [orjson.loads(line) for line in w.log_path.read_text().splitlines() if line.startswith("{")]
    assert lines and all({"@timestamp", "log.level", "log.logger", "message"} <= set(x) for x in lines)
    alert_lines = [x for x in lines if x.get("alert.id") == aid]
    assert alert_lines and alert_lines[0]["event.id"].startswith("atk-")
