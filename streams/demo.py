"""``parasol demo``: the main job on the embedded default, start to summary in about a minute.

Starts the local stack (unless the settings point elsewhere), one worker process, and a company's
worth of realistic DB and API traffic with a few attacks and malformed messages; shows progress;
prints what arrived, what was indexed, what was dead-lettered and why; stops what it started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition

from connectors.kafka_admin import contract_topics, ensure_topics, wait_for_kafka
from connectors.local import LocalStack, free_port, is_local
from connectors.settings import Settings
from connectors.sources.simulator import Simulator
from schemas.codec import encode_avro, encode_json
from schemas.normalize import normalize
from schemas.registry import SchemaRegistry

__all__ = ["run_demo"]

AVRO_SHARE = 10  # every 10th valid event is sent Avro-encoded, the rest JSON
MALFORMED = 24
DEADLINE_S = 90


def _http_json(url: str, body: dict | None = None, timeout: float = 5) -> dict:
    data = orjson.dumps(body) if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return orjson.loads(r.read())


class _Run:
    """This run's documents: those the worker ingested since the run began (wall clock)."""

    def __init__(self, s: Settings, began: datetime):
        self.s = s
        self.es = s.es_hosts[0].rstrip("/")
        self.time_range = {"range": {"event.ingested": {"gte": began.isoformat()}}}

    def indexed(self) -> int:
        try:
            _http_json(f"{self.es}/{self.s.index_pattern('audit')}/_refresh", {})
            q = {"query": self.time_range}
            return _http_json(f"{self.es}/{self.s.index_pattern('audit')}/_count", q)["count"]
        except OSError:
            return -1

    def aggregations(self) -> dict:
        body = {
            "size": 0,
            "query": self.time_range,
            "aggs": {
                "dataset": {"terms": {"field": "event.dataset"}},
                "outcome": {"terms": {"field": "event.outcome"}},
                "users": {"terms": {"field": "user.name", "size": 5}},
                "instances": {"terms": {"field": "db.instance", "size": 5}},
                "masked": {"terms": {"field": "parasol.masked"}},
                "operations": {"terms": {"field": "parasol.sql.operation"}},
                "levels": {"terms": {"field": "parasol.sensitive.level"}},
                "entities": {"terms": {"field": "parasol.sensitive.entities", "size": 8}},
            },
        }
        try:
            aggs = _http_json(f"{self.es}/{self.s.index_pattern('audit')}/_search", body)["aggregations"]
        except (OSError, KeyError):
            return {}
        return {k: {b["key"]: b["doc_count"] for b in v["buckets"]} for k, v in aggs.items()}


    def alerts(self) -> list[dict]:
        """This run's alerts (raised since the run began, wall clock)."""
        since = self.time_range["range"]["event.ingested"]["gte"]
        body = {"size": 2000, "query": {"range": {"event.created": {"gte": since}}}}
        try:
            _http_json(f"{self.es}/{self.s.index_pattern('alerts')}/_refresh", {})
            hits = _http_json(f"{self.es}/{self.s.index_pattern('alerts')}/_search", body)["hits"]["hits"]
        except (OSError, KeyError):
            return []
        return [h["_source"] for h in hits]

    def assets(self) -> tuple[int, dict[str, list[str]]]:
        """Columns in the catalogue, and the sensitive ones by GB/T 43697 level."""
        body = {
            "size": 0,
            "aggs": {"levels": {"terms": {"field": "classification.level", "size": 10},
                                "aggs": {"cols": {"terms": {"field": "asset.key", "size": 6}}}}},
        }
        try:
            _http_json(f"{self.es}/{self.s.index_pattern('assets')}/_refresh", {})
            r = _http_json(f"{self.es}/{self.s.index_pattern('assets')}/_search", body)
        except (OSError, KeyError):
            return 0, {}
        by_level = {
            b["key"]: [c["key"].split("/", 1)[-1] for c in b["cols"]["buckets"]] + (
                [f"… {b['doc_count'] - len(b['cols']['buckets'])} more"] if b["doc_count"] > len(b["cols"]["buckets"]) else [])
            for b in r["aggregations"]["levels"]["buckets"]
        }
        return r["hits"]["total"]["value"], by_level


_LEVEL_ORDER = {"core": 0, "important": 1, "general-4": 2, "general-3": 3, "general-2": 4, "general-1": 5}


def _dlq_offsets(s: Settings) -> dict[int, int]:
    c = Consumer({**s.confluent_config(), "group.id": "parasol-demo-reader"})
    try:
        topic = s.topic("dlq")
        parts = c.list_topics(topic, timeout=10).topics[topic].partitions
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=5)[1] for p in parts}
    finally:
        c.close()


def _read_dlq(s: Settings, since: dict[int, int], want: int, timeout: float) -> Counter:
    """Reasons of the dead letters this run produced (read by assign(), no group join)."""
    c = Consumer({**s.confluent_config(), "group.id": "parasol-demo-reader", "enable.auto.commit": False})
    reasons: Counter = Counter()
    try:
        c.assign([TopicPartition(s.topic("dlq"), p, off) for p, off in since.items()])
        deadline = time.monotonic() + timeout
        while sum(reasons.values()) < want and time.monotonic() < deadline:
            msg = c.poll(0.3)
            if msg is not None and not msg.error():
                reasons[orjson.loads(msg.value()).get("reason", "?")] += 1
        return reasons
    finally:
        c.close()


def _start_worker(s: Settings, log_path: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    # The simulated company keeps office hours on UTC (connectors/sources/simulator.py).
    env = {"PARASOL_SITE_TIMEZONE": "UTC", **os.environ, "PARASOL_WEB_PORT": str(port)}
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "worker", "--loglevel", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    return proc, port


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def _worker_stats(port: int) -> dict:
    try:
        return _http_json(f"http://127.0.0.1:{port}/parasol/stats", timeout=2)
    except OSError:
        return {}


def _line(text: str) -> None:
    sys.stdout.write("\r\033[K" + text if sys.stdout.isatty() else text + "\n")
    sys.stdout.flush()


def run_demo(events: int = 20000, keep: bool = False, seed: int | None = None) -> int:
    s = Settings()
    seed = seed if seed is not None else int(time.time()) % 100000
    t_begin = time.monotonic()
    print(f"parasol demo — {events:,} events of a simulated company (seed {seed}), "
          f"{MALFORMED} malformed messages\n")

    stack = LocalStack(s)
    started_stack = False
    if is_local(s):
        if not stack.status()["running"]:
            print(f"• starting the embedded stack (Kafka {s.kafka}, Elasticsearch {s.es}) …")
            stack.up()
            started_stack = True
        else:
            print(f"• using the running embedded stack (Kafka {s.kafka}, Elasticsearch {s.es})")
    else:
        print(f"• using Kafka {s.kafka} and Elasticsearch {s.es} from the environment")
        wait_for_kafka(s.confluent_config(), 15)
    ensure_topics(s.confluent_config(), contract_topics(s), s.partitions)

    log_path = str(s.data_dir / "demo-worker.log")
    s.data_dir.mkdir(parents=True, exist_ok=True)
    proc, port = _start_worker(s, log_path)
    print(f"• worker started (pid {proc.pid}, log {log_path}, stats http://127.0.0.1:{port}/parasol/stats)")

    began = datetime.now(UTC) - timedelta(seconds=1)
    try:
        # Event time: the last weekday morning at 08:00 UTC at least six hours ago (the traffic
        # spans about six hours), as if the company's proxies had been connected then; the
        # simulated company keeps office hours on UTC, so its day looks like a working day.
        start = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
        while start > datetime.now(UTC) - timedelta(hours=6) or start.weekday() >= 5:
            start -= timedelta(days=1)
        sim = Simulator(seed=seed, start=start, attacks=True)
        registry = SchemaRegistry.load(s.schema_registry)
        producer = Producer({**s.confluent_config(), "linger.ms": 20, "message.max.bytes": 4 * 1024 * 1024,
                             "log.connection.close": False,
                             "enable.idempotence": True})
        dlq_start = _dlq_offsets(s)
        sent: Counter = Counter()
        labels: Counter = Counter()
        attack_ids: dict[str, set[str]] = {}
        t0 = time.monotonic()
        for i, ev in enumerate(sim.events(events)):
            topic = s.topic("db_audit" if ev.kind == "db" else "api_access")
            if i % AVRO_SHARE == 0:
                schema = "db_audit_event" if ev.kind == "db" else "api_access_event"
                value, fmt = encode_avro(ev.value, schema, registry), "avro"
            else:
                value, fmt = encode_json(ev.value), "json"
            producer.produce(topic, key=ev.key, value=value)
            sent[(ev.kind, fmt)] += 1
            if ev.label:
                labels[ev.label] += 1
                with contextlib.suppress(Exception):
                    attack_ids.setdefault(ev.label, set()).add(normalize(ev.kind, ev.value)["event"]["id"])
            if i % 5000 == 0:
                producer.poll(0)
        bad: Counter = Counter()
        for m in sim.malformed(MALFORMED):
            producer.produce(s.topic("db_audit" if m.kind == "db" else "api_access"), key=m.key, value=m.raw)
            bad[m.reason] += 1
        producer.flush(30)
        produce_s = time.monotonic() - t0
        print(f"• produced {events:,} events + {MALFORMED} malformed in {produce_s:.1f}s "
              f"({events / produce_s:,.0f}/s); JSON and Avro (Confluent wire format)")

        run = _Run(s, began)
        indexed, t_index = 0, time.monotonic()
        while time.monotonic() - t_begin < DEADLINE_S:
            indexed = run.indexed()
            st = _worker_stats(port)
            dead = sum(st.get("dead_letters", {}).values())
            rate = indexed / max(time.monotonic() - t_index, 1e-3)
            _line(f"  indexed {max(indexed, 0):>7,} / {events:,}   dead letters {dead:>3} / {MALFORMED}"
                  f"   {rate:,.0f} events/s")
            if indexed >= events and dead >= MALFORMED:
                break
            if proc.poll() is not None:
                print(f"\nworker exited ({proc.returncode}); see {log_path}")
                return 1
            time.sleep(1)
        print()
        elapsed = time.monotonic() - t_index
        stats = _worker_stats(port)
        reasons = _read_dlq(s, dlq_start, sum(bad.values()), timeout=10)
        aggs = run.aggregations()
        time.sleep(1.5)  # the catalogue indexes a batch behind the audit documents
        n_assets, assets_by_level = run.assets()
        alerts = run.alerts()
        stats = _worker_stats(port)
    finally:
        _stop(proc)
        if started_stack and not keep:
            stack.down()

    ok = indexed == events and reasons == bad
    print("\n=== summary " + "=" * 60)
    print(f"events in        {sum(sent.values()):,} valid "
          + ", ".join(f"{k}/{f}: {n:,}" for (k, f), n in sorted(sent.items()))
          + f"; {sum(bad.values())} malformed")
    print(f"indexed          {indexed:,} documents in {s.index_pattern('audit')} "
          f"({indexed / max(elapsed, 1e-3):,.0f} events/s end to end)")
    print("dead-lettered    " + ", ".join(f"{r}: {n}" for r, n in sorted(reasons.items()))
          + f"  → topic {s.topic('dlq')}")
    if bad != reasons:
        print(f"  expected        {dict(sorted(bad.items()))}")
    if aggs:
        print("by dataset       " + ", ".join(f"{k}: {v:,}" for k, v in aggs.get("dataset", {}).items()))
        print("by outcome       " + ", ".join(f"{k}: {v:,}" for k, v in aggs.get("outcome", {}).items()))
        print("top users        " + ", ".join(f"{k} ({v:,})" for k, v in aggs.get("users", {}).items()))
        print("db instances     " + ", ".join(f"{k} ({v:,})" for k, v in aggs.get("instances", {}).items()))
        masked = aggs.get("masked", {})
        print("SQL operations   " + ", ".join(f"{k}: {v:,}" for k, v in aggs.get("operations", {}).items()))
        print("sensitive reads  " + ", ".join(f"{k}: {v:,}" for k, v in sorted(aggs.get("levels", {}).items(), key=lambda kv: _LEVEL_ORDER.get(kv[0], 9)))
              + "   (events by the highest GB/T 43697 level of the data they touched)")
        print("entities seen    " + ", ".join(f"{k} ({v:,})" for k, v in aggs.get("entities", {}).items()))
    if n_assets:
        print(f"data assets      {n_assets:,} columns catalogued in {s.index_pattern('assets')}; sensitive by level:")
        for level in sorted(assets_by_level, key=_LEVEL_ORDER.get):
            print(f"  {level:<10}     " + ", ".join(assets_by_level[level]))
    if aggs:
        print("personal data    masked by the policy (as soc_analyst) or cut before indexing: "
              + (", ".join(f"{k}: {v:,}" for k, v in masked.items()) or "none"))
    if labels:
        print("attacks in traffic  " + ", ".join(f"{k}: {v} events" for k, v in sorted(labels.items()))
              + "  (labels from the simulator)")
    print(f"alerts           {len(alerts):,} in {s.index_pattern('alerts')}: "
          + ", ".join(f"{k} {v}" for k, v in Counter(a["risk"]["severity"] for a in alerts).most_common())
          + f"; {stats.get('actions', 0)} response actions on {s.topic('actions')}")
    all_attack_ids = set().union(*attack_ids.values()) if attack_ids else set()
    for kind in sorted(attack_ids):
        hit = sorted({a["rule"]["name"] for a in alerts if attack_ids[kind] & set(a.get("related", {}).get("event_ids") or [])})
        print(f"  {kind:<16} " + ("detected by: " + "; ".join(hit) if hit else "NOT detected"))
    benign = [a for a in alerts if not all_attack_ids & set(a.get("related", {}).get("event_ids") or [])]
    if benign:
        print(f"  on other traffic {len(benign)}: " + ", ".join(
            f"{n}× {k}" for k, n in Counter(a["rule"]["name"] for a in benign).most_common(6)))
    stages = stats.get("stages", {})
    if stages:
        print("worker stages    " + ", ".join(
            f"{name} {v['events_per_s']:,}/s" for name, v in stages.items()
            if v.get("events_per_s") and name != "index"))
        print(f"es bulk          {stats.get('es_bulk_requests', 0)} requests, {stats.get('es_retries', 0)} retries, "
              f"{stages.get('index', {}).get('seconds', 0):.1f}s awaiting acknowledgements (overlapped)")
    es = s.es_hosts[0].rstrip("/")
    print("\nwhere to look")
    print(f"  curl -s '{es}/{s.index_pattern('audit')}/_search?q=event.outcome:failure&size=3&pretty'")
    print(f"  curl -s '{es}/{s.index_pattern('audit')}/_search?q=user.name:svc_crm&size=3&pretty'")
    print(f"  dead letters: topic {s.topic('dlq')} (raw bytes base64 + reason + source offset)")
    print("  parasol alerts list --since ''      parasol alerts show ID      parasol rules list")
    if started_stack and not keep:
        print("  (the stack was stopped; run `parasol demo --keep` or `parasol local up` to explore)")
    print(f"\n{'OK' if ok else 'INCOMPLETE'} in {time.monotonic() - t_begin:.0f}s")
    return 0 if ok else 1
