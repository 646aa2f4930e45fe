"""Masking decisions: in-process speed of the engine, and request → decision latency through Kafka.

    python benchmarks/masking.py [--rates 500,1000,2000] [--seconds 10] [--runs 1]
                                 [--backoffs 10,1,0] [--contenders echo,worker]
                                 [--receiver live|after] [--skip-kafka]

Requests are realistic: the DB events of the traffic simulator (``connectors.sources.simulator``,
seed 7, attacks on) that carry a statement and come from one of its employees (roles analyst, hr,
finance, support, developer, dba, sales; ``user.roles`` as the event has them: role + database
grants), turned into contract masking requests as :class:`connectors.masking_client.MaskingClient`
builds them (``request_id``, ``@timestamp`` = the event's time, ``user``, ``db.system/instance/
name/statement``). PostgreSQL and MySQL statements, literals rendered.

1. In process (no stack), median of ``--runs``
    ``decide_request`` of :class:`detectors.masking.engine.MaskingEngine` (packaged policy,
    hint classifier, as the worker builds it minus the catalogue table):

    * ``cold``: the engine's decision cache and its analyzer's shape cache are cleared before
      every call, so every request parses its statement and evaluates the policy per column
      (what a structurally new statement costs);
    * ``stream``: a fresh engine over the requests in order, caches as they fill (the natural
      hit rate of this traffic is printed: decisions are cached per subject and statement shape);
    * ``cached``: the same requests again (every decision a cache hit);
    * ``agent body``: what the worker's agent does per request around it, cached —
      ``orjson.loads`` + ``decide_request`` + ``orjson.dumps``.

    Baseline on the same statements: ``SqlAnalyzer.analyze`` alone, cold (cache cleared before
    every call) and cached.

2. Through Kafka, on the embedded stack (noida-db on free loopback ports, temporary data
   directory; stopped at the end, on errors and on Ctrl-C), for each contender, ``--runs`` times:

    ``worker``
        one real ``parasol worker`` process (``python -m streams.cli worker --loglevel info``,
        as ``throughput.py`` starts it; info is the default level, and at ``warning`` Faust's
        progress spinner sets the root logger to DEBUG, so every aiokafka/Faust ``log.debug``
        builds a record: ~8% of the worker's CPU here) whose masking server thread reads
        ``parasol.masking.requests``
        and answers on ``parasol.masking.decisions`` keyed by ``request_id``; once per value of
        ``--backoffs`` (``PARASOL_KAFKA_EMPTY_FETCH_BACKOFF_MS``, the worker's pause after an
        empty fetch: noida-db answers a fetch on a caught-up partition at once, so this pause
        is added to the latency of a request that arrives while the worker sleeps).
    ``echo`` (baseline)
        a plain confluent-kafka loop in a subprocess (consumer group on the requests topic,
        ``poll()``; every request copied to the decisions topic with the same key by a
        ``linger.ms=0`` producer): Kafka + client overhead without the worker.

   Every (contender, run) gets fresh topics, indices and consumer group, deleted afterwards.
   The load generator is a separate process (one producer, ``linger.ms=0``, idempotent like the
   client) sending **open loop**: request i of a phase is due at ``t0 + i / rate`` whatever the
   answers do; it sleeps until a request is due and, if it falls behind, sends the overdue ones
   at once (its lag behind the schedule is reported). Request bodies cycle through a pool of
   ``--pool`` simulator requests; each gets a fresh ``request_id``. The receiver is this process:
   one consumer ``assign()``-ed to every partition of the decisions topic at its high watermark,
   ``poll(0.01)`` in a loop, matching decisions by key. Latency = ``perf_counter()`` when the
   decision comes out of ``poll()`` minus ``perf_counter()`` just before ``produce()`` of the
   request (two processes, one clock: CLOCK_MONOTONIC). Phases: a warm-up sending the pool once
   at 750 req/s (fills the worker's caches), then each rate of ``--rates`` for ``--seconds``,
   with a 1.5 s pause between phases so one rate's backlog does not spill into the next.
   Reported per rate: requests sent, achieved rate, p50/p95/p99/max over the decisions that
   arrived within ``--late-ms`` (1 s), *late* (answered after more than 1 s) and *none* (``lost``
   in the JSON: no answer seen by the end, which is at least ``--late-ms`` after the generator
   finished, i.e. >= 2.5 s after the phase's last request) counts, the generator's lag,
   and the CPU of the worker / echo, noida-db, the generator, the receiver and everything else on
   the machine in that window (from /proc; 1.0 = one core; "others" should be ~0: if another
   job ran meanwhile, the figures are not the worker's, and the summary warns). The contender's
   readiness is probed before the warm-up (requests until one is answered), so startup and group
   join are not in any figure. The generator's idempotent producer gets its producer id before
   its clock starts (its first send waits ~0.5 s for it on noida-db).

   Extra, per contender, after the phases (the receiver closed; the worker's backlog from the
   last phase worked off first): ``--client-calls`` sequential
   ``MaskingClient.decide()`` calls (the client library, one thread, closed loop), p50/p99: what a
   proxy using the library sees at low load, client overhead included (its first call after
   construction is reported apart). Then, for the worker, its **ceiling**: ``--capacity``
   requests produced at once, decisions/s while it works off that backlog (from its
   ``/parasol/stats`` counter) and its CPU per request.

   ``--receiver after`` takes the receiver's own cost out: on noida-db an idle librdkafka
   consumer re-fetches in a tight loop (~0.5 core, plus ~0.4 core of noida-db answering it,
   whatever ``fetch.wait.max.ms`` says), which on 2 cores takes CPU from the worker. With it, no
   consumer of ours runs during the load; the decisions are read afterwards and the latency is
   the decision's CreateTime (stamped by the worker's producer, ms, floor: ±1 ms) minus the
   request's wall-clock send time, so it leaves out the decision's way back to the client.

Results are printed and written to ``benchmarks/results/masking-<timestamp>.json`` (git-ignored).

Know the machine: the broker, the worker, the generator and the receiver share its cores (2 on
the reference machine), so at high rates they compete; the CPU columns show how much.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition

from connectors.local import LocalStack, free_port
from connectors.settings import Settings
from connectors.sources.simulator import DEFAULT_START, Simulator
from detectors.masking.engine import MaskingEngine
from detectors.masking.keys import Keyring
from detectors.masking.policy import load_policy
from detectors.sql.analyzer import SqlAnalyzer

# The helpers the throughput benchmark already has (this directory is on sys.path when the
# script runs): worker subprocesses, /proc readings, per-run cleanup.
from throughput import (  # noqa: E402
    WorkerProc,
    cleanup,
    cpu_seconds,
    proc_status_kb,
    scoped,
    settings_env,
    stack_settings,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"
CONTENDERS = ("echo", "worker")
RID = b"@@RID@@"  # placeholder for the request id in the pooled request bodies
PHASE_GAP_S = 1.5
WARMUP_RATE = 750

#: The open-loop load generator, run as ``python -c GENERATOR config.json out.json``.
GENERATOR = r"""
import sys, time, orjson
from confluent_kafka import Producer

cfg = orjson.loads(open(sys.argv[1], "rb").read())
bodies = [b.encode() for b in cfg["bodies"]]
topic, tag, placeholder = cfg["topic"], cfg["tag"], cfg["placeholder"].encode()
errors = [0]

def on_delivery(err, msg):
    if err is not None:
        errors[0] += 1

p = Producer({**cfg["conf"], "linger.ms": 0, "enable.idempotence": True})
perf, sleep, now = time.perf_counter, time.sleep, time.time
# The idempotent producer's first send waits for its producer id (~0.5 s on noida-db): do it
# before the clock starts, with one request keyed so that nobody counts its answer.
p.produce(topic, bodies[0].replace(placeholder, b"gen-init-" + tag.encode(), 1), b"gen-init")
p.flush(30)
out = {"phases": []}
for k, ph in enumerate(cfg["phases"]):
    n, interval = int(ph["n"]), 1.0 / ph["rate"]
    sends, walls, lags = [0.0] * n, [0.0] * n, [0.0] * n
    prefix = f"{tag}-{k:02d}-"
    t0 = perf() + 0.005
    for i in range(n):
        due = t0 + i * interval
        wait = due - perf()
        if wait > 0:
            sleep(wait)
        rid = (prefix + f"{i:07d}").encode()
        body = bodies[i % len(bodies)].replace(placeholder, rid, 1)
        while True:
            t, wall = perf(), now()
            try:
                p.produce(topic, body, rid, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.001)
        sends[i], walls[i], lags[i] = t, wall, t - due
        p.poll(0)
    t_end = perf()
    out["phases"].append({"name": ph["name"], "rate": ph["rate"], "prefix": prefix, "t0": t0,
                          "t_end": t_end, "sends": sends, "walls": walls, "lags": lags})
    gap_end = perf() + cfg["gap_s"]
    while perf() < gap_end:
        p.poll(0.05)
out["undelivered"] = p.flush(30)
out["delivery_errors"] = errors[0]
open(sys.argv[2], "wb").write(orjson.dumps(out))
"""

#: The baseline: requests copied to the decisions topic by a plain confluent-kafka loop.
ECHO = r"""
import os, signal, sys, orjson
from confluent_kafka import Consumer, Producer

cfg = orjson.loads(open(sys.argv[1], "rb").read())
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
c = Consumer({**cfg["conf"], "group.id": cfg["group"], "auto.offset.reset": "earliest",
              "enable.auto.commit": True, "fetch.wait.max.ms": 5})
p = Producer({**cfg["conf"], "linger.ms": 0, "enable.idempotence": True})
c.subscribe([cfg["requests"]])
out = cfg["decisions"]
while not stop:
    m = c.poll(0.05)
    if m is None or m.error():
        p.poll(0)
        continue
    p.produce(out, m.value(), m.key())
    p.poll(0)
p.flush(5)
c.close()
"""


# --- requests -------------------------------------------------------------------------------------


def _field(v: dict, dotted: str):
    """A field of a contract event by dotted or nested key (the simulator emits both)."""
    if dotted in v:
        return v[dotted]
    cur = v
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _iso(ts) -> str:
    if isinstance(ts, (int, float)):  # ~10% of simulator events carry epoch milliseconds
        ts = datetime.fromtimestamp(ts / 1000, UTC).isoformat(timespec="milliseconds")
        return ts.replace("+00:00", "Z")
    return str(ts)


def build_requests(n: int, seed: int) -> list[dict]:
    """``n`` masking requests from the simulator's DB events of employees (module doc)."""
    sim = Simulator(seed=seed, start=DEFAULT_START, attacks=True)
    roles = sim.company.roles
    out: list[dict] = []
    for e in sim.events(n * 20):
        if e.kind != "db":
            continue
        v = e.value
        user, statement = _field(v, "user.name"), _field(v, "db.statement")
        if not statement or roles.get(user) in (None, "service"):
            continue
        out.append({
            "request_id": uuid.uuid4().hex,
            "@timestamp": _iso(v.get("@timestamp")),
            "user": {"name": user, "roles": list(_field(v, "user.roles") or [roles[user]])},
            "db": {"system": _field(v, "db.system"), "instance": _field(v, "db.instance"),
                   "name": _field(v, "db.name"), "statement": statement},
        })  # fmt: skip
        if len(out) >= n:
            break
    return out


# --- 1. in process --------------------------------------------------------------------------------


def new_engine() -> MaskingEngine:
    return MaskingEngine(load_policy(None), Keyring({"bench": b"0123456789abcdef"}))


def warm_engine(reqs: list[dict]) -> MaskingEngine:
    """An engine that has loaded what it loads once per process (the scanner behind the hint
    classifier, sqlglot dialects, the policy's per-subject memo), with empty caches."""
    eng = new_engine()
    for r in reqs[:200]:
        eng.decide_request(r)
    eng.clear()
    eng.analyzer.clear()
    eng.hits = eng.misses = eng.analyzer.hits = eng.analyzer.misses = 0
    return eng


def _timed(fn, items) -> float:
    t0 = time.perf_counter()
    for x in items:
        fn(x)
    return time.perf_counter() - t0


def bench_inprocess(reqs: list[dict], cold_n: int, runs: int) -> dict:
    cold = reqs[:cold_n]
    stmts = [(r["db"]["statement"], r["db"]["system"]) for r in reqs]
    bodies = [orjson.dumps(r) for r in reqs]
    times: dict[str, list[float]] = {}
    counts = {"engine_cold": len(cold), "engine_stream": len(reqs), "engine_cached": len(reqs),
              "agent_body_cached": len(reqs), "analyze_cold": len(cold),
              "analyze_cached": len(reqs)}  # fmt: skip
    stream_stats = {}
    for _ in range(runs):
        eng = warm_engine(reqs)

        def cold_decide(r, eng=eng):
            eng.clear()
            eng.analyzer.clear()
            return eng.decide_request(r)

        times.setdefault("engine_cold", []).append(_timed(cold_decide, cold))
        eng = warm_engine(reqs)
        times.setdefault("engine_stream", []).append(_timed(eng.decide_request, reqs))
        stream_stats = {"decision_hits": eng.hits, "decision_misses": eng.misses,
                        "shape_hits": eng.analyzer.hits, "shape_misses": eng.analyzer.misses}
        times.setdefault("engine_cached", []).append(_timed(eng.decide_request, reqs))

        def agent_body(b, eng=eng):
            return orjson.dumps(eng.decide_request(orjson.loads(b)))

        times.setdefault("agent_body_cached", []).append(_timed(agent_body, bodies))
        a = SqlAnalyzer()
        for st in stmts[:200]:
            a.analyze(*st)

        def cold_analyze(st, a=a):
            a.clear()
            return a.analyze(*st)

        times.setdefault("analyze_cold", []).append(_timed(cold_analyze, stmts[:cold_n]))
        a = SqlAnalyzer()
        for st in stmts:
            a.analyze(*st)
        times.setdefault("analyze_cached", []).append(_timed(lambda st, a=a: a.analyze(*st),
                                                             stmts))
    out = {}
    for name, ts in times.items():
        med = statistics.median(ts)
        out[name] = {"n": counts[name], "per_s": round(counts[name] / med),
                     "us_each": round(1e6 * med / counts[name], 1)}
    out["stream_cache"] = stream_stats
    out["shapes"] = len({(s[1], s[0]) for s in stmts})
    out["decision_bytes"] = round(statistics.mean(
        len(orjson.dumps(new_engine().decide_request(r))) for r in reqs[:200]))
    out["request_bytes"] = round(statistics.mean(len(b) for b in bodies))
    return out


def print_inprocess(r: dict) -> None:
    sc = r["stream_cache"]
    n = sc["decision_hits"] + sc["decision_misses"]
    rows = [
        ("decide_request cold (caches cleared before each)", "engine_cold"),
        (f"decide_request stream (fresh engine; {sc['decision_hits'] / n:.0%} decision hits, "
         f"{sc['shape_hits'] / n:.0%} shape hits)", "engine_stream"),
        ("decide_request cached (every decision a hit)", "engine_cached"),
        ("agent body cached (loads + decide_request + dumps)", "agent_body_cached"),
        ("baseline SqlAnalyzer.analyze cold", "analyze_cold"),
        ("baseline SqlAnalyzer.analyze cached", "analyze_cached"),
    ]
    print(f"\nin process ({r['engine_stream']['n']:,} requests, {r['engine_cold']['n']:,} cold; "
          f"request {r['request_bytes']} B, decision {r['decision_bytes']} B)")
    print(f"  {'':<76} {'decisions/s':>11} {'µs each':>9}")
    for label, key in rows:
        print(f"  {label:<76} {r[key]['per_s']:>11,} {r[key]['us_each']:>9.1f}")


# --- 2. through Kafka -----------------------------------------------------------------------------


class Receiver:
    """One consumer on the decisions topic, assigned at the high watermarks (module doc), or at
    ``offsets`` ({partition: offset}). ``seen``: key → (perf_counter at arrival, the decision's
    Kafka timestamp in ms: CreateTime, set by the producer that wrote it)."""

    def __init__(self, s: Settings, offsets: dict[int, int] | None = None):
        self.topic = s.topic("masking_decisions")
        self.c = Consumer({**s.confluent_config(), "group.id": f"bench-recv-{uuid.uuid4().hex}",
                           "enable.auto.commit": False, "fetch.wait.max.ms": 5,
                           "fetch.error.backoff.ms": 5})  # fmt: skip
        if offsets is None:
            offsets = self.high_watermarks()
        self.c.assign([TopicPartition(self.topic, p, o) for p, o in offsets.items()])
        self.seen: dict[bytes, tuple[float, int]] = {}
        self.errors = 0

    def high_watermarks(self) -> dict[int, int]:
        parts = self.c.list_topics(self.topic, timeout=10).topics[self.topic].partitions
        return {p: self.c.get_watermark_offsets(TopicPartition(self.topic, p), timeout=10)[1]
                for p in parts}

    def poll(self, timeout: float = 0.01) -> bytes | None:
        m = self.c.poll(timeout)
        if m is None or m.error():
            return None
        t = time.perf_counter()
        key = m.key()
        if key not in self.seen:
            self.seen[key] = (t, m.timestamp()[1])
            if b'"error":' in m.value():
                self.errors += 1
        return key

    def close(self) -> None:
        self.c.close()


def probe_body(i: int) -> tuple[bytes, bytes]:
    rid = f"probe-{i}-{uuid.uuid4().hex[:8]}"
    req = {"request_id": rid, "@timestamp": "2026-11-27T03:00:00.000Z",
           "user": {"name": "bench", "roles": ["support"]},
           "db": {"system": "postgresql", "instance": "pg-crm-01", "name": "crm",
                  "statement": "SELECT name, mobile FROM customers WHERE id = 1"}}  # fmt: skip
    return rid.encode(), orjson.dumps(req)


def wait_answering(s: Settings, recv: Receiver, alive, timeout: float) -> float:
    """Send probe requests every 0.2 s until one is answered; return the seconds it took."""
    p = Producer({**s.confluent_config(), "linger.ms": 0})
    topic = s.topic("masking_requests")
    t0 = time.monotonic()
    sent: set[bytes] = set()
    i = 0
    next_at = t0
    try:
        while time.monotonic() - t0 < timeout:
            alive()
            if time.monotonic() >= next_at:
                key, body = probe_body(i)
                p.produce(topic, body, key)
                p.poll(0)
                sent.add(key)
                i += 1
                next_at += 0.2
            key = recv.poll(0.02)
            if key in sent:
                return time.monotonic() - t0
        raise TimeoutError(f"no answer to {i} probe requests within {timeout:.0f} s")
    finally:
        p.flush(5)


def machine_busy_seconds() -> float | None:
    """CPU seconds the whole machine spent busy (all cores; /proc/stat minus idle and iowait)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


class CpuSampler:
    """CPU seconds of named processes and of the whole machine (``machine``), sampled with
    perf_counter timestamps; ``others`` in a window = machine - the named processes: whatever
    else ran on the box (another test run on a shared machine shows up there)."""

    def __init__(self, pids: dict[str, int | None], every: float = 0.25):
        self.pids, self.every, self.samples, self._next = pids, every, [], 0.0

    def maybe(self) -> None:
        now = time.perf_counter()
        if now >= self._next:
            self._next = now + self.every
            cpu = {k: cpu_seconds(p) for k, p in self.pids.items()}
            cpu["machine"] = machine_busy_seconds()
            self.samples.append((now, cpu))

    def window(self, t0: float, t1: float, n: int) -> dict:
        inside = [s for s in self.samples if t0 <= s[0] <= t1]
        if len(inside) < 2:
            return {}
        (a, ca), (b, cb) = inside[0], inside[-1]
        out = {}
        for k in ca:
            if ca[k] is not None and cb.get(k) is not None:
                used = cb[k] - ca[k]
                out[k] = {"cores": round(used / (b - a), 2),
                          "us_per_request": round(1e6 * used / ((b - a) / (t1 - t0) * n), 1)}
        if "machine" in out:
            ours = sum(v["cores"] for k, v in out.items() if k != "machine")
            out["others"] = {"cores": round(max(0.0, out["machine"]["cores"] - ours), 2)}
        return out


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def phase_result(ph: dict, seen: dict, late_s: float, cpu: dict, live: bool) -> dict:
    """Latency figures of one phase. ``live``: arrival at the receiver (perf_counter); else the
    decision's CreateTime (ms, floor) minus the request's wall-clock send time."""
    n = len(ph["sends"])
    lat, created, late, lost = [], [], 0, 0
    for i, (t, wall) in enumerate(zip(ph["sends"], ph["walls"])):
        got = seen.get((ph["prefix"] + f"{i:07d}").encode())
        if got is None:
            lost += 1
            continue
        c = got[1] / 1000 - wall
        x = got[0] - t if live else c
        if x > late_s:
            late += 1
        else:
            lat.append(x)
            created.append(c)
    lat.sort()
    created.sort()
    lags = sorted(ph["lags"])
    ms = lambda x: round(1000 * x, 2)  # noqa: E731
    # Percentiles over every request sent, a lost or late one counting as +inf: a percentile
    # that falls on one is reported as None ("> late").
    every = lat + [float("inf")] * (late + lost)
    pct = {f"p{q}": (ms(v) if v != float("inf") else None)
           for q in (50, 95, 99) for v in [percentile(every, q)]}
    span = ph["sends"][-1] - ph["sends"][0] if n > 1 else 0
    return {
        "rate": ph["rate"], "sent": n, "achieved_rate": round((n - 1) / span) if span else None,
        **pct, "max": ms(lat[-1]) if lat else None,
        "mean": ms(statistics.fmean(lat)) if lat else None,
        "answered": len(lat), "late": late, "lost": lost,
        # send -> the decision's CreateTime (when its producer took it): the contender's part
        "created_p50": ms(percentile(created, 50)) if created else None,
        "created_p99": ms(percentile(created, 99)) if created else None,
        "gen_lag_p99_ms": ms(percentile(lags, 99)),
        "gen_lag_max_ms": ms(lags[-1]) if lags else None,
        "cpu": cpu,
    }  # fmt: skip


@contextlib.contextmanager
def echo_proc(s: Settings, log_dir: Path):
    cfg = log_dir / f"{s.group}-echo.json"
    cfg.write_bytes(orjson.dumps({
        "conf": s.confluent_config(), "group": s.group,
        "requests": s.topic("masking_requests"), "decisions": s.topic("masking_decisions"),
    }))  # fmt: skip
    w = WorkerProc([sys.executable, "-c", ECHO, str(cfg)], settings_env(s),
                   log_dir / f"{s.group}.log", 0)
    try:
        yield w
    finally:
        w.stop()


@contextlib.contextmanager
def worker_proc(s: Settings, log_dir: Path, backoff_ms: float):
    port = free_port()
    env = settings_env(s, PARASOL_WEB_PORT=str(port),
                       PARASOL_KAFKA_EMPTY_FETCH_BACKOFF_MS=f"{backoff_ms:g}")
    cmd = [sys.executable, "-m", "streams.cli", "worker", "--loglevel", "info"]
    w = WorkerProc(cmd, env, log_dir / f"{s.group}.log", port)
    try:
        yield w
    finally:
        w.stop()


def client_calls(s: Settings, bodies: list[dict], n: int) -> dict:
    """``n`` sequential ``MaskingClient.decide()`` calls: the library's own view (module doc)."""
    from connectors.masking_client import MaskingClient

    if n <= 0:
        return {}
    lat, fallbacks = [], 0
    with MaskingClient(s, timeout_s=2.0) as client:
        first = time.perf_counter()
        client.decide(user="bench", roles=["support"], statement="SELECT 1", db_system="postgresql")
        first = time.perf_counter() - first  # metadata, idempotent producer id, offsets
        for i in range(n):
            r = bodies[i % len(bodies)]
            t0 = time.perf_counter()
            d = client.decide(user=r["user"]["name"], roles=r["user"]["roles"],
                              statement=r["db"]["statement"], db_system=r["db"]["system"],
                              db_instance=r["db"]["instance"], db_name=r["db"]["name"])
            lat.append(time.perf_counter() - t0)
            fallbacks += "fallback" in d
    lat.sort()
    return {"calls": n, "p50": round(1000 * percentile(lat, 50), 2),
            "p99": round(1000 * percentile(lat, 99), 2), "max": round(1000 * lat[-1], 2),
            "fallbacks": fallbacks, "first_call": round(1000 * first, 2)}  # fmt: skip


def drain(w: WorkerProc, timeout: float = 60) -> float:
    """Wait until the worker's decision counter has stood still for 1 s; return the seconds."""
    t0 = time.monotonic()
    last, since = None, t0
    while time.monotonic() - t0 < timeout:
        n = (w.get("/parasol/stats") or {}).get("masking_decisions")
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= 1:
            break
        time.sleep(0.1)
    return time.monotonic() - t0


def capacity(s: Settings, w: WorkerProc, bodies: list[str], n: int, noida_pid: int | None,
             timeout: float = 120) -> dict:
    """The worker's ceiling: ``n`` requests produced at once (a backlog), decisions/s while it
    works them off, from its ``/parasol/stats`` counter (first 500 excluded: the clock starts
    when the backlog is there), and its CPU per request."""
    p = Producer({**s.confluent_config(), "linger.ms": 5, "batch.num.messages": 10000})
    topic = s.topic("masking_requests")
    count = lambda: (w.get("/parasol/stats") or {}).get("masking_decisions", 0)  # noqa: E731
    base = count()
    for i in range(n):
        body = bodies[i % len(bodies)].encode().replace(RID, f"cap-{i}".encode(), 1)
        while True:
            try:
                p.produce(topic, body, f"cap-{i}".encode())
                break
            except BufferError:
                p.poll(0.01)
        if i % 1000 == 0:
            p.poll(0)
    p.flush(30)
    deadline = time.monotonic() + timeout
    start = None
    while time.monotonic() < deadline:
        done = count() - base
        if start is None and done >= 500:
            start = (time.perf_counter(), done, cpu_seconds(w.pid), cpu_seconds(noida_pid),
                     machine_busy_seconds())
        if done >= n:
            break
        time.sleep(0.05)
    if start is None or done < n:
        return {"error": f"{done} of {n} decisions within {timeout:.0f} s"}
    t, c, nc = time.perf_counter(), cpu_seconds(w.pid), cpu_seconds(noida_pid)
    mc = machine_busy_seconds()
    k, wall = n - start[1], t - start[0]
    others = (mc - start[4]) - (c - start[2]) - (nc - start[3]) if mc and start[4] else None
    return {"requests": n, "decisions_per_s": round(k / wall),
            "worker_us_per_request": round(1e6 * (c - start[2]) / k),
            "worker_cores": round((c - start[2]) / wall, 2),
            "noida_cores": round((nc - start[3]) / wall, 2),
            "others_cores": round(max(0.0, others) / wall, 2) if others is not None else None,
            }  # fmt: skip


def run_latency(base: Settings, name: str, run: int, args, pool: list[dict], log_dir: Path,
                noida_pid: int | None, backoff_ms: float | None) -> dict:
    """One contender: fresh scope, start it, probe it, drive the phases, collect (module doc)."""
    s = scoped(base, f"mask-{name}", run)
    tag = uuid.uuid4().hex[:6]
    phases = [{"name": "warmup", "rate": WARMUP_RATE, "n": len(pool)}] + [
        {"name": f"{rate}/s", "rate": rate, "n": int(rate * args.seconds)} for rate in args.rates
    ]
    bodies = [orjson.dumps({**r, "request_id": RID.decode()}).decode() for r in pool]
    cfg_path, out_path = log_dir / f"{s.group}-gen.json", log_dir / f"{s.group}-gen-out.json"
    cfg_path.write_bytes(orjson.dumps({
        "conf": s.confluent_config(), "topic": s.topic("masking_requests"), "tag": tag,
        "placeholder": RID.decode(), "bodies": bodies, "phases": phases, "gap_s": PHASE_GAP_S,
    }))  # fmt: skip
    result: dict = {"contender": name, "empty_fetch_backoff_ms": backoff_ms,
                    "receiver": args.receiver}
    recv: Receiver | None = Receiver(s)
    cm = echo_proc(s, log_dir) if name == "echo" else worker_proc(s, log_dir, backoff_ms)
    try:
        with cm as w:
            def alive():
                if w.proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {w.proc.returncode}:\n{w.log_tail()}")

            t_spawn = time.monotonic()
            waited = wait_answering(s, recv, alive, timeout=120)
            result["ready_s"] = round(time.monotonic() - t_spawn, 2)
            result["probe_s"] = round(waited, 2)
            quiet = time.monotonic() + 0.5  # late answers to the probes
            while time.monotonic() < quiet:
                recv.poll(0.01)
            gen_log = open(log_dir / f"{s.group}-gen.log", "wb")
            gen = subprocess.Popen([sys.executable, "-c", GENERATOR, str(cfg_path), str(out_path)],
                                   cwd=ROOT, stdin=subprocess.DEVNULL, stdout=gen_log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
            live = args.receiver == "live"
            if not live:  # no consumer during the load; read the decisions afterwards
                offsets = recv.high_watermarks()
                recv.close()
                recv = None
            try:
                cpu = CpuSampler({"contender": w.pid, "noida": noida_pid, "generator": gen.pid,
                                  "receiver": os.getpid()})
                idle_until = None
                while True:
                    alive()
                    if live:
                        recv.poll(0.01)
                    else:
                        time.sleep(0.01)
                    cpu.maybe()
                    if gen.poll() is not None:  # wait for stragglers, up to the late limit
                        idle_until = idle_until or time.perf_counter() + args.late_ms / 1000
                        if time.perf_counter() >= idle_until:
                            break
                if not live:
                    recv = Receiver(s, offsets)
                    expected = sum(p["n"] for p in phases) + 1  # + the generator's init
                    quiet_until = time.monotonic() + 3
                    while len(recv.seen) < expected and time.monotonic() < quiet_until:
                        if recv.poll(0.05) is not None:
                            quiet_until = time.monotonic() + 3
            finally:
                if gen.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(gen.pid, signal.SIGTERM)
                    gen.wait(10)
                gen_log.close()
            if gen.returncode != 0:
                tail = (log_dir / f"{s.group}-gen.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"generator exited with {gen.returncode}:\n{tail}")
            out = orjson.loads(out_path.read_bytes())
            result["undelivered"] = out["undelivered"]
            result["delivery_errors"] = out["delivery_errors"]
            result["error_decisions"] = recv.errors
            result["phases"] = {}
            for ph in out["phases"]:
                window = cpu.window(ph["t0"], ph["t_end"], len(ph["sends"]))
                r = phase_result(ph, recv.seen, args.late_ms / 1000, window, live)
                result["phases"][ph["name"]] = r
            if recv is not None:
                recv.close()  # no consumer of ours spinning from here on
                recv = None
            if name == "worker":  # let it work off what is left of the last phase first
                result["drain_s"] = round(drain(w), 1)
            result["client"] = client_calls(s, pool, args.client_calls)
            if name == "worker" and args.capacity > 0:
                result["capacity"] = capacity(s, w, bodies, args.capacity, noida_pid)
            result["peak_rss_mb"] = round((proc_status_kb(w.pid, "VmHWM") or 0) / 1024, 1)
    except (RuntimeError, TimeoutError, OSError) as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        if recv is not None:
            recv.close()
        if problems := cleanup(s):
            result["cleanup_problems"] = problems
    return result


def label(r: dict) -> str:
    if r["contender"] == "echo":
        return "echo (baseline)"
    return f"worker, backoff {r['empty_fetch_backoff_ms']:g} ms"


def fmt_ms(v) -> str:
    return f"{v:>7.2f}" if isinstance(v, (int, float)) else f"{'> late':>7}"


def print_latency(r: dict) -> None:
    print(f"\n{label(r)}")
    if r.get("error"):
        print(f"  ERROR {r['error']}")
    if "phases" not in r:
        return
    print(f"  ready after {r['ready_s']:.1f} s (probes {r['probe_s']:.1f} s); peak RSS "
          f"{r['peak_rss_mb']:.0f} MB; undelivered {r['undelivered']}, delivery errors "
          f"{r['delivery_errors']}, error decisions {r['error_decisions']}")
    what = ("arrival at the receiver" if r.get("receiver") == "live"
            else "the decision's CreateTime (ms, no consumer during the load)")
    print(f"  latency = {what} - produce; 'created' = decision CreateTime - produce (ms, floor)")
    print(f"  {'rate':>8} {'sent':>7} {'achieved':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
          f"{'max ms':>7} {'late':>5} {'none':>5} {'created p50/p99':>16} {'gen lag p99/max':>16}"
          f"   CPU cores (contender / noida / generator / receiver / others)")
    for name, p in r["phases"].items():
        cpu = p["cpu"]
        cores = " / ".join(f"{cpu[k]['cores']:.2f}" if k in cpu else "—"
                           for k in ("contender", "noida", "generator", "receiver", "others"))
        lag = f"{p['gen_lag_p99_ms']:.2f} / {p['gen_lag_max_ms']:.2f}"
        created = (f"{p['created_p50']:.0f} / {p['created_p99']:.0f}"
                   if p.get("created_p99") is not None else "—")
        print(f"  {name:>8} {p['sent']:>7,} {p['achieved_rate'] or 0:>8,} {fmt_ms(p['p50'])} "
              f"{fmt_ms(p['p95'])} {fmt_ms(p['p99'])} {fmt_ms(p['max'])} {p['late']:>5} "
              f"{p['lost']:>5} {created:>16} {lag:>16}   {cores}")
    c = r.get("client") or {}
    if c:
        print(f"  MaskingClient.decide() x{c['calls']} sequential: p50 {c['p50']:.2f} ms, "
              f"p99 {c['p99']:.2f} ms, max {c['max']:.2f} ms, fallbacks {c['fallbacks']} "
              f"(first call after construction, not counted: {c['first_call']:.0f} ms)")
    cap = r.get("capacity") or {}
    if cap.get("error"):
        print(f"  capacity: ERROR {cap['error']}")
    elif cap:
        print(f"  capacity (backlog of {cap['requests']:,}, no other consumer): "
              f"{cap['decisions_per_s']:,} decisions/s, worker {cap['worker_cores']:.2f} cores = "
              f"{cap['worker_us_per_request']} µs CPU/request, noida {cap['noida_cores']:.2f} "
              f"cores, others {cap.get('others_cores')}")


def summarize(results: list[dict], rates: list[int], target_ms: float, target_rate: int) -> dict:
    """Median over runs of each (contender, backoff, rate); whether the target is met."""
    groups: dict[str, list[dict]] = {}
    for r in results:
        groups.setdefault(label(r), []).append(r)
    table = {}
    for name, rs in groups.items():
        rows = {}
        for rate in rates:
            ps = [r["phases"][f"{rate}/s"] for r in rs if f"{rate}/s" in r.get("phases", {})]
            if not ps:
                continue

            def med(key):
                vals = [p[key] for p in ps]
                if any(v is None for v in vals):
                    return None
                return round(statistics.median(vals), 2)

            rows[rate] = {k: med(k) for k in ("achieved_rate", "p50", "p95", "p99", "max")}
            rows[rate]["late"] = sum(p["late"] for p in ps)
            rows[rate]["lost"] = sum(p["lost"] for p in ps)
            rows[rate]["contender_cores"] = round(statistics.median(
                [p["cpu"].get("contender", {}).get("cores", 0) for p in ps]), 2)
            rows[rate]["noida_cores"] = round(statistics.median(
                [p["cpu"].get("noida", {}).get("cores", 0) for p in ps]), 2)
            rows[rate]["others_cores"] = round(statistics.median(
                [p["cpu"].get("others", {}).get("cores", 0) for p in ps]), 2)
        table[name] = rows
    target = {}
    for name, rows in table.items():
        if name.startswith("worker") and target_rate in rows:
            p99 = rows[target_rate]["p99"]
            target[name] = p99 is not None and p99 < target_ms and rows[target_rate]["lost"] == 0
    ceiling = {}
    for name, rs in groups.items():
        caps = [r["capacity"] for r in rs if "decisions_per_s" in (r.get("capacity") or {})]
        if caps:
            ceiling[name] = {k: statistics.median(c[k] for c in caps)
                             for k in ("decisions_per_s", "worker_us_per_request")}
    return {"median": table, "capacity": ceiling,
            "target": {"p99_ms": target_ms, "rate": target_rate, "met": target}}


def print_summary(summary: dict, runs: int) -> None:
    print(f"\nrequest → decision latency, median of {runs} run(s) (ms)")
    print(f"  {'':<26} {'rate':>6} {'achieved':>8} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} "
          f"{'> 1 s':>9} {'cores':>5} {'noida':>5} {'other':>5}")
    for name, rows in summary["median"].items():
        for rate, m in rows.items():
            print(f"  {name:<26} {rate:>6} {m['achieved_rate'] or 0:>8,} {fmt_ms(m['p50'])} "
                  f"{fmt_ms(m['p95'])} {fmt_ms(m['p99'])} {fmt_ms(m['max'])} "
                  f"{m['late'] + m['lost']:>9} {m['contender_cores']:>5.2f} "
                  f"{m['noida_cores']:>5.2f} {m['others_cores']:>5.2f}")
    for name, c in summary.get("capacity", {}).items():
        print(f"  ceiling of one {name} (backlog): {c['decisions_per_s']:,.0f} decisions/s, "
              f"{c['worker_us_per_request']:.0f} µs CPU per request")
    busy = [(name, rate) for name, rows in summary["median"].items()
            for rate, m in rows.items() if m["others_cores"] > 0.1]
    if busy:
        print(f"  WARNING: other processes used > 0.1 core during {len(busy)} of these windows "
              f"({', '.join(f'{n} @ {r}' for n, r in busy)}): those figures are disturbed")
    t = summary["target"]
    for name, ok in t["met"].items():
        print(f"  target p99 < {t['p99_ms']:g} ms at {t['rate']:,} req/s, {name}: "
              f"{'met' if ok else 'NOT met'}")


def write_json(doc: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"masking-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    return path


# --- main -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rates", default="500,1000,2000", help="requests/s, comma-separated")
    p.add_argument("--seconds", type=float, default=10, help="seconds per rate")
    p.add_argument("--runs", type=int, default=1, help="runs; the median is reported")
    p.add_argument("--backoffs", default="10,1,0",
                   help="PARASOL_KAFKA_EMPTY_FETCH_BACKOFF_MS values, one worker each")
    p.add_argument("--contenders", default=",".join(CONTENDERS),
                   help=f"comma-separated subset of {','.join(CONTENDERS)}")
    p.add_argument("--requests", type=int, default=5000, help="in-process requests (stream)")
    p.add_argument("--cold", type=int, default=1000, help="in-process cold requests")
    p.add_argument("--pool", type=int, default=1500, help="distinct request bodies sent to Kafka")
    p.add_argument("--late-ms", type=float, default=1000, help="a decision later than this is late")
    p.add_argument("--client-calls", type=int, default=200,
                   help="sequential MaskingClient.decide() calls per contender (0: skip)")
    p.add_argument("--capacity", type=int, default=15000,
                   help="requests of the worker's backlog ceiling test (0: skip)")
    p.add_argument("--target-ms", type=float, default=20, help="p99 target (the issue's)")
    p.add_argument("--target-rate", type=int, default=2000, help="rate of the target")
    p.add_argument("--partitions", type=int, default=4)
    p.add_argument("--seed", type=int, default=7, help="simulator seed")
    p.add_argument("--receiver", choices=("live", "after"), default="live",
                   help="live: a consumer times arrivals during the load (default); after: no "
                        "consumer during the load, latency from the decisions' CreateTime (ms)")
    p.add_argument("--skip-kafka", action="store_true", help="in-process figures only")
    args = p.parse_args(argv)
    args.rates = [int(x) for x in args.rates.split(",") if x.strip()]
    args.backoffs = [float(x) for x in args.backoffs.split(",") if x.strip()]
    args.contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    if set(args.contenders) - set(CONTENDERS) or not args.contenders:
        p.error(f"--contenders: choose from {','.join(CONTENDERS)}")
    return args


def environment(args: argparse.Namespace) -> dict:
    import confluent_kafka
    import faust

    return {
        "rates": args.rates, "seconds": args.seconds, "runs": args.runs,
        "backoffs_ms": args.backoffs, "contenders": args.contenders, "pool": args.pool,
        "partitions": args.partitions, "late_ms": args.late_ms, "seed": args.seed,
        "receiver": args.receiver, "warmup_rate": WARMUP_RATE, "phase_gap_s": PHASE_GAP_S,
        "python": platform.python_version(), "faust": faust.__version__,
        "confluent_kafka": confluent_kafka.version(),
        "librdkafka": confluent_kafka.libversion()[0],
        "cpus": os.cpu_count(), "machine": platform.machine(), "loadavg_at_start": os.getloadavg(),
    }  # fmt: skip


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # like Ctrl-C: the finally blocks stop everything
    t_start = time.perf_counter()
    reqs = build_requests(max(args.requests, args.pool, args.cold), args.seed)
    roles = sorted({r["user"]["roles"][0] for r in reqs})
    print(f"built {len(reqs):,} requests in {time.perf_counter() - t_start:.1f} s "
          f"(roles {', '.join(roles)}; "
          f"{sum(r['db']['system'] == 'mysql' for r in reqs) / len(reqs):.0%} MySQL)")
    doc: dict = {"environment": environment(args)}
    doc["in_process"] = bench_inprocess(reqs[: args.requests], args.cold, args.runs)
    print_inprocess(doc["in_process"])
    if args.skip_kafka:
        print(f"\nresults: {write_json(doc)}")
        return 0

    data_dir = Path(tempfile.mkdtemp(prefix="parasol-bench-"))
    base = stack_settings(data_dir, args.partitions)
    stack = LocalStack(base)
    try:
        stack.up()
        noida_pid = stack.details()["pid"]
        print(f"\nembedded stack up: kafka {base.kafka}  es {base.es}  data {data_dir}")
        plan = [(c, b) for c in args.contenders
                for b in (args.backoffs if c == "worker" else [None])]
        results = []
        for run in range(1, args.runs + 1):
            for name, backoff in plan:
                r = run_latency(base, name, run, args, reqs[: args.pool], data_dir, noida_pid,
                                backoff)
                r["run"] = run
                print_latency(r)
                results.append(r)
        doc["latency"] = results
        doc["summary"] = summarize(results, args.rates, args.target_ms, args.target_rate)
        print_summary(doc["summary"], args.runs)
        doc["noida_rss_mb_at_end"] = round((proc_status_kb(noida_pid, "VmRSS") or 0) / 1024, 1)
        doc["wall_s"] = round(time.perf_counter() - t_start, 1)
        print(f"\nwhole run {doc['wall_s']:.0f} s; results: {write_json(doc)}")
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted; stopping", file=sys.stderr)
        return 130
    finally:
        stack.down()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
