"""Masking request/reply through a real worker on the embedded stack, the client library's
timeout behaviour, and risk-adaptive decisions after `parasol risk set`."""

from __future__ import annotations

import subprocess
import sys
import time

from connectors.masking_client import MaskingClient
from tests.integration.conftest import raw_of, read_topic, scoped, settings_env, wait_for

STATEMENT = "SELECT c.name, lower(c.mobile) AS m, c.level FROM crm.customers c WHERE c.id_card LIKE '3301%'"


def _ask(client: MaskingClient, user: str, roles: list[str], statement: str = STATEMENT) -> dict:
    return client.decide(user=user, roles=roles, statement=statement, db_system="postgresql",
                         db_instance="pg-crm-01", db_name="crm", timeout_s=15)


def test_request_reply_risk_adaptive_and_client_timeout(stack, workers, tmp_path):
    s = scoped(stack, "masking")
    workers(s)
    with MaskingClient(s, timeout_s=15) as client:
        d = _ask(client, "susan", ["support"])
        assert "fallback" not in d, d
        cols = {c.get("name", c["column"]): c for c in d["columns"]}  # by output name
        # the output column m derives from mobile through lower(): masked like mobile
        assert set(cols) >= {"name", "m", "level"}
        assert cols["m"]["action"] == "mask" and cols["m"]["column"] == "mobile"
        assert cols["m"]["classification"]["level"] == "general-2"
        assert cols["level"]["action"] == "allow"
        assert [p["column"] for p in d["probing"]] == ["id_card"]  # a probing predicate, flagged
        assert d["risk_level"] is None and d["policy"]["version"]

        # Raise susan's risk: the same request gets a stricter answer on the next ask.
        env = settings_env(s)
        subprocess.run([sys.executable, "-m", "streams.cli", "risk", "set", "susan", "critical",
                        "--reason", "test"], env=env, check=True, capture_output=True, timeout=60)

        def stricter():
            again = _ask(client, "susan", ["support"])
            return again if again.get("risk_level") == "critical" else None

        after = wait_for(stricter, 60, interval=0.5, what="a decision at risk level critical")
        strict = {c.get("name", c["column"]): c for c in after["columns"]}
        assert strict["m"]["action"] in ("deny", "mask")
        rank = {"allow": 0, "mask": 1, "deny": 2}
        assert any(rank[strict[k]["action"]] > rank[cols[k]["action"]] or
                   (strict[k]["action"] == "mask" and strict[k]["method"] != cols[k]["method"])
                   for k in cols), (cols, strict)
        # Another user is untouched by susan's level.
        other = _ask(client, "tom", ["support"])
        assert other["risk_level"] is None
        assert {c.get("name", c["column"]): c["action"] for c in other["columns"]} == {k: v["action"] for k, v in cols.items()}

    # Nobody answers on these topics: the client fails closed (or open, if so configured).
    silent = scoped(stack, "masking-silent")
    for fail, action in (("closed", "deny"), ("open", "allow")):
        with MaskingClient(silent, timeout_s=0.3, fail=fail) as client:
            t0 = time.perf_counter()
            d = client.decide(user="x", roles=[], columns=[{"table": "t", "column": "c"}])
            waited = time.perf_counter() - t0
        assert d["fallback"]["fail"] == fail and [c["action"] for c in d["columns"]] == [action]
        assert 0.25 <= waited < 2.0


def test_bad_request_is_answered_and_dead_lettered(stack, workers):
    """A request that is not JSON gets an error decision under its key, a dead letter, a count;
    the server keeps serving and the health endpoint says so."""
    import urllib.request

    import orjson
    from confluent_kafka import Producer

    s = scoped(stack, "masking-bad")
    w = workers(s)
    p = Producer(s.confluent_config())
    p.produce(s.topic("masking_requests"), b"{not json", b"bad-1")
    assert p.flush(30) == 0
    decisions = read_topic(s, "masking_decisions", 1)
    assert decisions[0]["request_id"] == "bad-1" and decisions[0]["columns"] == []
    assert decisions[0]["error"].startswith("JSONDecodeError")
    dead = read_topic(s, "dlq", 1)
    assert dead[0]["reason"] == "bad_masking_request" and raw_of(dead[0]) == b"{not json"
    wait_for(lambda: w.stats()["dead_letters"].get("bad_masking_request") == 1, 30, what="the dead-letter count")
    with MaskingClient(s, timeout_s=15) as client:
        assert "fallback" not in _ask(client, "susan", ["support"])
    with urllib.request.urlopen(f"http://127.0.0.1:{w.port}/parasol/health", timeout=2) as r:
        assert orjson.loads(r.read())["masking_server"] == "serving"
