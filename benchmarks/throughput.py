"""Consume-side throughput of one parasol worker against two baselines, on the embedded stack.

    python benchmarks/throughput.py [--events 200000] [--runs 3] [--empty-fetch-backoff MS]

Contenders (each reads the same N pre-produced contract events, JSON, keyed by ``user.name``):

``pipeline``
    One real ``parasol worker`` process (``python -m streams.cli worker``): decode, normalise,
    enrich, document, bulk-index into Elasticsearch. Done when Elasticsearch has acknowledged N
    documents (checked afterwards with ``_refresh`` + ``_count`` of ``<prefix>audit*``).
``faust``
    The baseline: a trivial Faust agent per input topic in its own worker process, the plainest
    idiomatic form ``async for value in stream: orjson.loads(value)``. It runs on the pipeline's
    very ``faust.App`` object (``streams.app.app``, built by ``build_app`` from the same settings:
    raw serializers, ``consumer_auto_offset_reset="earliest"``, same broker/session settings,
    web enabled), so the only difference to the pipeline is what the agents do.
``faust_take``
    Extra, for diagnosis: the same trivial agent batching like the pipeline does
    (``stream.take_events(batch_size, within=batch_within_s)``).
``plain``
    The ceiling: an in-process confluent-kafka loop, ``consume(num_messages=1000, timeout=0.5)``
    plus ``orjson.loads`` per value, until N.

Method (the same for every contender, so the figures compare):

* The embedded stack (noida-db: Kafka + Elasticsearch APIs) runs on free loopback ports with a
  temporary data directory, and is stopped at the end, on errors and on Ctrl-C.
* N events are generated once (``connectors.sources.simulator``, seed 7, attacks on) and
  JSON-encoded with ``schemas.codec.encode_json``.
* Every (run, contender) gets fresh topics, indices and consumer group (a unique prefix), and
  all N events are produced and flushed **before** its consumer starts: the figure is
  consume-side throughput, never producer-bound. Then the benchmark waits until noida-db is
  idle (it rewrites its whole Kafka state to disk after writes, ~4x the message bytes) so that
  rewrite does not land in the next timed window. Topics and indices are deleted afterwards.
* Startup (interpreter, Faust boot, group join, partition assignment) is excluded by timing from
  the **first events handed to user code** (t_first) to the last one done (t_last), counting only
  the events handled after the first observation: ``events/s = (N - k) / (t_last - t_first)``,
  where k is what was already handed over at t_first (1 event, or the first batch).
  ``faust``/``faust_take``/``plain`` stamp both ends themselves. ``pipeline`` is timed from
  outside by polling its ``/parasol/stats``: t_first when ``received > 0`` (every 50 ms; k is that
  count, the first ``take_events`` batch), t_last when ``indexed`` -- documents whose bulk request
  Elasticsearch acknowledged -- reaches N (every 100 ms), so its interval is exact to about
  ±0.1 s; one ``_refresh`` + ``_count`` afterwards checks that all N are searchable. ES ``_count``
  is deliberately not polled during the run: on noida-db, a refresh + count every 0.5 s halved
  bulk ingest (5.5k -> 2.8k docs/s over 60k docs) and a bare ``_count`` did as much. The startup
  time (process spawn to first event) is reported apart.
* The contenders' order rotates from run to run; the median over ``--runs`` is reported, with the
  ratios pipeline/faust and pipeline/plain, each worker's peak RSS (``VmHWM``) and, for the
  pipeline, its ``/parasol/stats`` (per-stage CPU time) at the end.

Results are printed and written to ``benchmarks/results/throughput-<timestamp>.json``.

Know the stack: noida-db answers a fetch on a caught-up partition at once (empty) instead of
holding it for ``fetch_max_wait_ms`` like Kafka, so aiokafka -- hence every Faust worker --
re-fetches in a tight loop whenever one of its partitions has no backlog (an idle worker burns
~0.9 core). That loop slows both Faust contenders, the pipeline most (its small api topic drains
early). Workers therefore pause ``PARASOL_KAFKA_EMPTY_FETCH_BACKOFF_MS`` (default 10) after an
empty fetch (streams/fetch_backoff.py); ``--empty-fetch-backoff 0`` measures without it.
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
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Callable

import orjson
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from connectors.kafka_admin import contract_topics, ensure_topics
from connectors.local import LocalStack, free_port
from connectors.settings import Settings
from connectors.sources.simulator import DEFAULT_START, Simulator
from schemas.codec import encode_json

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"
CONTENDERS = ("pipeline", "faust", "faust_take", "plain")
KIND_TOPIC = {"db": "db_audit", "api": "api_access"}

#: The trivial Faust worker, run as ``python -c TRIVIAL_FAUST`` with the settings in the
#: environment. It uses the pipeline's own app object (streams.app), only the agents differ.
TRIVIAL_FAUST = r"""
import os, time
import faust, orjson
from streams.app import app, settings

EXPECTED = int(os.environ["BENCH_EXPECTED"])
MODE = os.environ["BENCH_MODE"]  # "iter" (async for value in stream) or "take" (take_events)
progress = {"count": 0, "first": None, "first_count": 0, "last": None}

def seen(n):
    now = time.time()
    if progress["first"] is None:
        progress["first"], progress["first_count"] = now, n
    progress["count"] += n
    if progress["last"] is None and progress["count"] >= EXPECTED:
        progress["last"] = now

def make_agent(name):
    topic = app.topic(settings.topic(name), key_type=bytes, value_type=bytes)
    if MODE == "take":
        async def count(stream):
            batches = stream.take_events(settings.batch_size, within=settings.batch_within_s)
            async for events in batches:
                for event in events:
                    orjson.loads(event.message.value)
                seen(len(events))
    else:
        async def count(stream):
            async for value in stream:
                orjson.loads(value)
                seen(1)
    count.__name__ = count.__qualname__ = "count_" + name
    return app.agent(topic, name="bench." + name)(count)

agents = [make_agent(n) for n in ("db_audit", "api_access")]

@app.page("/bench/progress")
async def progress_page(web, request):
    return web.json(progress)

(settings.data_dir / "faust").mkdir(parents=True, exist_ok=True)
faust.Worker(app, loglevel="info").execute_from_commandline()
"""


# --- small helpers -------------------------------------------------------------------------------


def http_json(url: str, body: dict | None = None, method: str | None = None, timeout: float = 10):
    data = orjson.dumps(body) if body is not None else None
    req = urllib.request.Request(
        url, data=data, method=method, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return orjson.loads(r.read())


def try_http_json(url: str, timeout: float = 2) -> dict | None:
    """The JSON at ``url``, or None while nothing answers there (yet)."""
    try:
        return http_json(url, timeout=timeout)
    except (OSError, ValueError):
        return None


def proc_status_kb(pid: int | None, field: str) -> int | None:
    """A ``kB`` field of /proc/<pid>/status (``VmHWM`` = peak RSS, ``VmRSS``), or None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of a process (all its threads) from /proc/<pid>/stat, or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def cpu_snapshot(pids: dict[str, int | None]) -> dict[str, float | None]:
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


def cpu_used(before: dict, after: dict, events: int, wall: float) -> dict:
    """Per process: CPU µs per event and utilisation (1.0 = one core busy) between snapshots."""
    out = {}
    for name, t0 in before.items():
        t1 = after.get(name)
        if t0 is not None and t1 is not None:
            out[name] = {"us_per_event": round(1e6 * (t1 - t0) / events, 1),
                         "cores": round((t1 - t0) / wall, 2)}
    return out


def wait_idle(pid: int | None, cores: float = 0.05, window: float = 0.5, timeout: float = 60):
    """Wait until ``pid`` uses less than ``cores`` CPU over ``window`` s; return the seconds waited.

    noida-db rewrites its whole Kafka state to disk (JSON) after writes: without this, that
    rewrite would land in the timed window of whichever consumer starts right after producing.
    """
    t0 = time.monotonic()
    last = cpu_seconds(pid)
    while last is not None and time.monotonic() - t0 < timeout:
        time.sleep(window)
        now = cpu_seconds(pid)
        if now is None or now - last < cores * window:
            break
        last = now
    return time.monotonic() - t0


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


class Timeout(RuntimeError):
    """A contender did not finish within its deadline."""


def poll_until(fetch: Callable[[], object], done: Callable[[object], bool], deadline: float,
               interval: float, what: str):
    """Call ``fetch()`` until ``done(value)``; return that value."""
    value = None
    while time.monotonic() < deadline:
        value = fetch()
        if done(value):
            return value
        time.sleep(interval)
    raise Timeout(f"timed out waiting for {what}; last={value!r}")


# --- the embedded stack and per-run scoping -------------------------------------------------------


def stack_settings(data_dir: Path, partitions: int, batch_size: int = 1000,
                   empty_fetch_backoff_ms: float | None = None) -> Settings:
    extra = {} if empty_fetch_backoff_ms is None else {
        "kafka_empty_fetch_backoff_ms": empty_fetch_backoff_ms}
    return Settings(
        _env_file=None,
        **extra,
        kafka=f"127.0.0.1:{free_port()}",
        es=f"http://127.0.0.1:{free_port()}",
        data_dir=data_dir,
        partitions=partitions,
        batch_size=batch_size,
    )


def scoped(base: Settings, contender: str, run: int) -> Settings:
    """Settings with fresh topics (created here), indices and consumer group."""
    tag = f"bench-{contender.replace('_', '-')}-r{run}-{uuid.uuid4().hex[:6]}"
    s = base.model_copy(
        update={"topic_prefix": f"{tag}.", "index_prefix": f"{tag}-", "group": f"{tag}-group"}
    )
    ensure_topics(s.confluent_config(), contract_topics(s), s.partitions)
    return s


def cleanup(s: Settings) -> list[str]:
    """Delete the run's indices and topics; return what could not be deleted.

    This matters on noida-db: it rewrites all its Kafka data to one JSON file after changes (about
    4x the message bytes), so every topic left behind slows the broker down for the next runs.
    """
    problems = []
    es = s.es_hosts[0].rstrip("/")
    try:
        for row in http_json(f"{es}/_cat/indices/{s.index_prefix}*?format=json", timeout=60):
            http_json(f"{es}/{row['index']}", method="DELETE", timeout=60)
    except (OSError, ValueError) as exc:
        problems.append(f"indices {s.index_prefix}*: {exc}")
    admin = AdminClient(s.confluent_config())  # keep a reference until the futures are done
    existing = admin.list_topics(timeout=10).topics
    names = contract_topics(s) + [f"{s.group}-__assignor-__leader"]  # Faust's own topic
    names = [n for n in names if n in existing]
    if names:
        for name, future in admin.delete_topics(names, operation_timeout=30).items():
            try:
                future.result(60)
            except Exception as exc:  # noqa: BLE001 - reported, the benchmark goes on
                problems.append(f"topic {name}: {exc}")
    return problems


def settings_env(s: Settings, **extra: str) -> dict[str, str]:
    """The environment a worker process needs to run with these settings (as the tests do)."""
    env = s.to_env(dict(os.environ))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


# --- events ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    kind: str
    key: bytes
    value: bytes


def generate(n: int, seed: int) -> list[Event]:
    sim = Simulator(seed=seed, start=DEFAULT_START, attacks=True)
    return [Event(e.kind, e.key.encode(), encode_json(e.value)) for e in sim.events(n)]


def produce(s: Settings, events: list[Event]) -> float:
    """Produce every event to its input topic, wait for all deliveries; return the seconds taken."""
    topics = {kind: s.topic(name) for kind, name in KIND_TOPIC.items()}
    errors: list = []

    def on_delivery(err, _msg):
        if err:
            errors.append(err)

    p = Producer({**s.confluent_config(), "linger.ms": 20, "batch.num.messages": 10000})
    t0 = time.perf_counter()
    for e in events:
        while True:
            try:
                p.produce(topics[e.kind], e.value, e.key, on_delivery=on_delivery)
                break
            except BufferError:  # local queue full: let deliveries drain
                p.poll(0.05)
        p.poll(0)
    if p.flush(120) or errors:
        raise RuntimeError(f"produce failed: {len(p)} undelivered, errors {errors[:3]}")
    return time.perf_counter() - t0


@dataclass
class Bench:
    """What every contender needs: the stack's settings, the events, where logs go."""

    base: Settings
    events: list[Event]
    log_dir: Path
    timeout: float
    noida_pid: int | None


# --- worker subprocesses --------------------------------------------------------------------------


class WorkerProc:
    """A Faust worker subprocess (own session, own log, own web port)."""

    def __init__(self, cmd: list[str], env: dict[str, str], log_path: Path, port: int):
        self.port = port
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.spawned = time.time()
        self.proc = subprocess.Popen(
            cmd, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.proc.pid

    def get(self, path: str) -> dict | None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker exited with {self.proc.returncode}:\n{self.log_tail()}")
        return try_http_json(f"http://127.0.0.1:{self.port}{path}")

    def peak_rss_mb(self) -> float | None:
        kb = proc_status_kb(self.pid, "VmHWM")
        return round(kb / 1024, 1) if kb else None

    def log_tail(self, n: int = 30) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()


@contextlib.contextmanager
def worker(cmd: list[str], s: Settings, b: Bench, **env: str):
    port = free_port()
    w = WorkerProc(cmd, settings_env(s, PARASOL_WEB_PORT=str(port), **env),
                   b.log_dir / f"{s.group}.log", port)
    try:
        yield w
    except Timeout as exc:
        raise Timeout(f"{exc}\n--- worker log tail ---\n{w.log_tail()}") from None
    finally:
        w.stop()


def timing(n: int, at_first: int, t_first: float, t_last: float, spawned: float) -> dict:
    """Rate over the events handled after the first observation: (N - at_first) / interval."""
    return {
        "events_per_s": round((n - at_first) / (t_last - t_first)),
        "seconds": round(t_last - t_first, 3),
        "events_timed": n - at_first,
        "startup_s": round(t_first - spawned, 3),
    }


# --- contenders -----------------------------------------------------------------------------------


def es_count(s: Settings) -> int:
    es, pattern = s.es_hosts[0].rstrip("/"), s.index_pattern("audit")
    http_json(f"{es}/{pattern}/_refresh", {}, timeout=120)
    return http_json(f"{es}/{pattern}/_count", timeout=120)["count"]


def indexed(stats: dict | None) -> int:
    """Documents the worker has had acknowledged by Elasticsearch (its own counter)."""
    return sum(stats["indexed"].values()) if stats else 0


def run_pipeline(s: Settings, b: Bench) -> dict:
    n, deadline = len(b.events), time.monotonic() + b.timeout
    cmd = [sys.executable, "-m", "streams.cli", "worker", "--loglevel", "info"]
    with worker(cmd, s, b) as w:
        pids = {"worker": w.pid, "noida": b.noida_pid}
        first = poll_until(lambda: w.get("/parasol/stats"),
                           lambda st: bool(st and sum(st["received"].values())),
                           deadline, 0.05, "the first event")
        t_first, cpu0 = time.time(), cpu_snapshot(pids)
        # Not ES _count: polling it during the run halves the embedded store's ingest rate.
        stats = poll_until(lambda: w.get("/parasol/stats"), lambda st: indexed(st) >= n,
                           deadline, 0.1, f"{n} documents acknowledged by Elasticsearch")
        t_last, cpu1 = time.time(), cpu_snapshot(pids)
        r = timing(n, sum(first["received"].values()), t_first, t_last, w.spawned)
        r["cpu"] = cpu_used(cpu0, cpu1, r["events_timed"], t_last - t_first)
        r["peak_rss_mb"] = w.peak_rss_mb()
    r["worker_stats"] = stats
    r["es_count"] = es_count(s)  # after the clock: one refresh, every document searchable?
    if r["es_count"] != n:
        r["error"] = f"ES _count is {r['es_count']}, expected {n}"
    return r


def run_faust(s: Settings, b: Bench, mode: str) -> dict:
    n, deadline = len(b.events), time.monotonic() + b.timeout
    cmd = [sys.executable, "-c", TRIVIAL_FAUST]
    with worker(cmd, s, b, BENCH_EXPECTED=str(n), BENCH_MODE=mode) as w:
        pids = {"worker": w.pid, "noida": b.noida_pid}
        poll_until(lambda: w.get("/bench/progress"), lambda p: bool(p and p["first"]),
                   deadline, 0.05, "the first event")
        cpu0 = cpu_snapshot(pids)
        p = poll_until(lambda: w.get("/bench/progress"), lambda p: bool(p and p["last"]),
                       deadline, 0.1, f"{n} events")
        cpu1 = cpu_snapshot(pids)
        r = timing(n, p["first_count"], p["first"], p["last"], w.spawned)
        r["cpu"] = cpu_used(cpu0, cpu1, r["events_timed"], r["seconds"])
        r["peak_rss_mb"] = w.peak_rss_mb()
    r["count"] = p["count"]
    return r


def run_plain(s: Settings, b: Bench) -> dict:
    n, deadline = len(b.events), time.monotonic() + b.timeout
    pids = {"consumer": os.getpid(), "noida": b.noida_pid}
    c = Consumer({**s.confluent_config(), "group.id": s.group, "auto.offset.reset": "earliest"})
    spawned = time.time()
    c.subscribe([s.topic(name) for name in KIND_TOPIC.values()])
    count, at_first, t_first = 0, 0, None
    try:
        while count < n:
            if time.monotonic() > deadline:
                raise Timeout(f"plain loop read {count} of {n}")
            msgs = c.consume(num_messages=1000, timeout=0.5)
            if msgs and t_first is None:
                t_first, at_first, cpu0 = time.time(), len(msgs), cpu_snapshot(pids)
            for m in msgs:
                if m.error():
                    continue
                orjson.loads(m.value())
                count += 1
        t_last, cpu1 = time.time(), cpu_snapshot(pids)
    finally:
        c.close()
    r = timing(n, at_first, t_first, t_last, spawned)
    r["cpu"] = cpu_used(cpu0, cpu1, r["events_timed"], r["seconds"])
    r["peak_rss_mb"] = None  # in-process: the benchmark's own memory is not the loop's
    r["count"] = count
    return r


RUNNERS = {
    "pipeline": run_pipeline,
    "faust": lambda s, b: run_faust(s, b, mode="iter"),
    "faust_take": lambda s, b: run_faust(s, b, mode="take"),
    "plain": run_plain,
}


def run_one(b: Bench, contender: str, run: int) -> dict:
    """Fresh scope, produce everything, then start and time the consumer; clean up."""
    s = scoped(b.base, contender, run)
    r: dict = {}
    try:
        r["produce_s"] = round(produce(s, b.events), 3)
        r["settle_s"] = round(wait_idle(b.noida_pid), 2)
        r.update(RUNNERS[contender](s, b))
    except (Timeout, RuntimeError, OSError) as exc:  # this contender failed; the others still run
        r["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        if problems := cleanup(s):
            r["cleanup_problems"] = problems
    return r


# --- reporting ------------------------------------------------------------------------------------


def summarize(per_run: list[dict[str, dict]], contenders: list[str]) -> dict:
    medians = {}
    for c in contenders:
        ok = [r[c] for r in per_run if "events_per_s" in r[c] and "error" not in r[c]]
        rss = [x["peak_rss_mb"] for x in ok if x.get("peak_rss_mb")]
        medians[c] = {
            "events_per_s": median([x["events_per_s"] for x in ok]),
            "peak_rss_mb": max(rss) if rss else None,
            "cpu_us_per_event": {
                proc: median([x["cpu"][proc]["us_per_event"] for x in ok if proc in x["cpu"]])
                for proc in ("worker", "consumer", "noida")
                if any(proc in x["cpu"] for x in ok)
            },
            "runs_ok": len(ok),
        }
    ratios = {}
    pipe = medians.get("pipeline", {}).get("events_per_s")
    for c in ("faust", "faust_take", "plain"):
        other = medians.get(c, {}).get("events_per_s")
        if pipe and other:
            ratios[f"pipeline/{c}"] = round(pipe / other, 3)
    return {"median": medians, "ratios": ratios}


def stage_lines(stats: dict) -> list[str]:
    """The pipeline's per-stage time from its /parasol/stats, in µs per event."""
    lines = []
    for stage, st in stats.get("stages", {}).items():
        us = 1e6 * (st.get("seconds") or 0.0) / st["events"] if st.get("events") else 0.0
        note = "  (wall time per _bulk, summed over concurrent writes)" if stage == "index" else ""
        lines.append(f"      {stage:<10} {us:8.1f} µs/event{note}")
    dead = sum(stats.get("dead_letters", {}).values())
    lines.append(f"      bulk requests {stats.get('es_bulk_requests')}, "
                 f"retries {stats.get('es_retries')}, dead letters {dead}")
    return lines


def fmt_rate(v) -> str:
    return f"{v:>9,.0f}" if isinstance(v, (int, float)) else f"{'—':>9}"


def fmt_cpu(cpu: dict) -> str:
    return ", ".join(
        f"{p} {c['us_per_event']:.0f} µs/ev ({c['cores']:.2f} cores)" for p, c in cpu.items()
    )


def print_run(run: int, results: dict[str, dict]) -> None:
    print(f"\nrun {run}")
    for c, r in results.items():
        if "events_per_s" not in r:
            print(f"  {c:<11} ERROR {r.get('error')}")
            continue
        rss = f"{r['peak_rss_mb']:.0f} MB" if r.get("peak_rss_mb") else "n/a"
        print(f"  {c:<11} {fmt_rate(r['events_per_s'])} ev/s  {r['seconds']:7.2f} s timed"
              f"  (startup {r['startup_s']:.2f} s, produce {r['produce_s']:.2f} s"
              f" + settle {r['settle_s']:.1f} s, peak RSS {rss})")
        print(f"              CPU while timed: {fmt_cpu(r.get('cpu', {}))}")
        if r.get("error"):
            print(f"              ERROR {r['error']}")
        if r.get("worker_stats"):
            print("    worker /parasol/stats (CPU per stage; index = waiting for Elasticsearch):")
            print("\n".join(stage_lines(r["worker_stats"])))
        for problem in r.get("cleanup_problems", []):
            print(f"              cleanup: {problem}")


def print_summary(summary: dict, runs: int) -> None:
    print(f"\nmedian of {runs} run(s)")
    for c, m in summary["median"].items():
        rss = f"peak RSS {m['peak_rss_mb']:.0f} MB" if m["peak_rss_mb"] else "peak RSS n/a"
        cpu = ", ".join(f"{p} {v:.0f}" for p, v in m["cpu_us_per_event"].items() if v is not None)
        print(f"  {c:<11} {fmt_rate(m['events_per_s'])} ev/s   {rss:<26} CPU µs/event: {cpu}")
    for name, ratio in summary["ratios"].items():
        print(f"  {name:<22} {ratio:.2f}")


def write_json(doc: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"throughput-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    return path


# --- main -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=200_000, help="events per contender and run")
    p.add_argument("--runs", type=int, default=3, help="runs; the median is reported")
    p.add_argument("--seed", type=int, default=7, help="simulator seed")
    p.add_argument("--partitions", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=1000, help="PARASOL_BATCH_SIZE of the workers")
    p.add_argument("--contenders", default=",".join(CONTENDERS),
                   help=f"comma-separated subset of {','.join(CONTENDERS)}")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds per contender and run (default: 120 + events/200)")
    p.add_argument("--empty-fetch-backoff", type=float, default=None, metavar="MS",
                   help="PARASOL_KAFKA_EMPTY_FETCH_BACKOFF_MS of the Faust workers (0: off; "
                        "default: the setting's default)")
    args = p.parse_args(argv)
    args.contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    unknown = set(args.contenders) - set(CONTENDERS)
    if unknown or not args.contenders:
        p.error(f"--contenders: choose from {','.join(CONTENDERS)}")
    args.timeout = args.timeout or 120 + args.events / 200
    return args


def environment(args: argparse.Namespace, base: Settings) -> dict:
    import faust

    return {
        "events": args.events, "runs": args.runs, "seed": args.seed,
        "partitions": base.partitions, "batch_size": base.batch_size,
        "batch_within_s": base.batch_within_s, "contenders": args.contenders,
        "empty_fetch_backoff_ms": base.kafka_empty_fetch_backoff_ms,
        "python": platform.python_version(), "faust": faust.__version__,
        "cpus": os.cpu_count(), "machine": platform.machine(),
        "method": "N produced before the consumer starts; events/s = (N - k) / (t_last - t_first), "
                  "k = events already handed to user code at t_first",
    }  # fmt: skip


def benchmark(args: argparse.Namespace, b: Bench) -> dict:
    per_run = []
    for run in range(1, args.runs + 1):
        k = (run - 1) % len(args.contenders)
        order = args.contenders[k:] + args.contenders[:k]  # rotate to spread order effects
        results = {c: run_one(b, c, run) for c in order}
        results = {c: results[c] for c in args.contenders}
        print_run(run, results)
        per_run.append(results)
    return {"per_run": per_run, **summarize(per_run, args.contenders)}


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM behaves like Ctrl-C so that the finally blocks stop the workers and the stack.
    signal.signal(signal.SIGTERM, _interrupt)
    data_dir = Path(tempfile.mkdtemp(prefix="parasol-bench-"))
    base = stack_settings(data_dir, args.partitions, args.batch_size, args.empty_fetch_backoff)
    stack = LocalStack(base)
    try:
        t0 = time.perf_counter()
        events = generate(args.events, args.seed)
        kinds = {k: sum(e.kind == k for e in events) for k in KIND_TOPIC}
        avg = sum(len(e.value) for e in events) / len(events)
        print(f"generated {len(events):,} events in {time.perf_counter() - t0:.1f} s "
              f"({kinds}, {avg:.0f} B average)")
        stack.up()
        print(f"embedded stack up: kafka {base.kafka}  es {base.es}  data {data_dir}")
        print(f"Faust workers pause {base.kafka_empty_fetch_backoff_ms:g} ms after an empty fetch")
        b = Bench(base, events, data_dir, args.timeout, stack.details()["pid"])
        doc = {"environment": environment(args, base)} | benchmark(args, b)
        doc["noida_rss_mb_at_end"] = round((proc_status_kb(b.noida_pid, "VmRSS") or 0) / 1024, 1)
        print_summary(doc, args.runs)
        print(f"  noida-db RSS at the end: {doc['noida_rss_mb_at_end']:.0f} MB")
        print(f"\nresults: {write_json(doc)}")
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted; stopping", file=sys.stderr)
        return 130
    finally:
        stack.down()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
