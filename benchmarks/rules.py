"""Events/s through the rule and baseline stages: in process, and through one worker.

    python benchmarks/rules.py [--inprocess-events 20000] [--events 50000] [--runs 3]
                               [--worker-runs 1] [--skip-worker] [--profile 0]

**In process** (no stack). ``--inprocess-events`` simulated events (seed 7, attacks on) are
normalised (``schemas.normalize``) and enriched (``detectors.pipeline.enrich``) once, untimed.
Each contender then runs over a deep copy of them (copied before the clock starts; every
contender gets fresh objects and the process-wide SQL-injection text cache is cleared, so each
run starts as cold as a new worker), median of ``--runs``, contenders rotated from run to run:

``touch`` (baseline)
    a loop that only reads ``event.get("@timestamp")``: the cost of the loop itself.
``annotator`` (baseline)
    ``detectors.rules.Annotator()`` alone: SQL-injection signals and API object ids, the
    annotation every rule engine applies to an event before its rules.
``rules``
    ``RuleEngine().process(event)``: the packaged rule pack (a fresh engine per run).
``rules+sigma``
    the same plus the packaged Sigma examples (``detectors/rules/data/sigma/*.yml``).
``ueba``
    ``detectors.baseline.UebaDetector().process(event)``: windows, baselines, scores.
``judge``
    ``streams.judge.Judge({}, forward=AddressJudge({}).wants).on_event(event, "0")``: everything
    the worker's ``detect`` stage does per event (user-keyed rules, the address-rule probe and
    slim copy, UEBA, anomaly alerts into the rules, playbooks, risk levels).
``judge+take``
    ``judge`` plus ``Judge.take()`` every ``--batch-size`` events, as the worker calls it once per
    batch (state of changed entities serialised for the table, entity documents): not part of the
    worker's ``detect`` stage, but per-batch work the detection adds.

Printed: events/s, µs/event, alerts (anomalous windows for ``ueba``), the SQL-injection
structure-cache hit rate where there is one (``SqliDetector.hits/misses``), and the CPU of other
processes on the machine while each contender ran (``others``, from /proc/stat).
``--profile N`` adds a cProfile of ``Judge.on_event`` over the same events (top N functions by
cumulative time).

**Through a worker** (embedded noida-db stack, as ``throughput.py``, whose helpers this imports):
``--events`` simulated events (seed 7, JSON, keyed by ``user.name``) are produced to the input
topics, then one real ``parasol worker`` consumes them until all are indexed, once with
``PARASOL_DETECTION=true`` (rules and baselines, the default) and once with
``PARASOL_DETECTION=false`` (the baseline: index only), per run; every (run, mode) gets fresh
topics, indices and consumer group, everything is produced before the worker starts, and the
order alternates from run to run. Timing is throughput.py's (t_first = first ``received > 0``
in ``/parasol/stats``, events/s = (N - k) / (t_last - t_first)), except for t_last: the worker's
``indexed`` counter also counts the alert and entity documents it upserts in the same bulk
requests, so it cannot say when the N audit documents are in. t_last is therefore the first poll
(every 0.1 s) at which ``indexed`` reached its final value, once every event was received and
the counter stayed unchanged for ``--settle`` s; a refreshed ``_count`` of the run's audit
indices afterwards checks that all N are there. Reported: events/s, CPU µs/event of the worker
and of noida-db, the cores used by everything else (``others``), alerts indexed (refreshed
``_count`` of the run's ``alerts*`` indices), and the worker's stage ``detect`` events/s.

Results are printed and written to ``benchmarks/results/rules-<timestamp>.json`` (git-ignored).
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import io
import os
import platform
import pstats
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from glob import glob
from pathlib import Path
from typing import Callable

import orjson
from confluent_kafka.admin import AdminClient

from connectors.local import LocalStack
from connectors.settings import Settings
from connectors.sources.simulator import Simulator
from detectors.baseline import UebaDetector
from detectors.pipeline import enrich
from detectors.rules import Annotator, RuleEngine, load_rules, load_sigma
from detectors.rules import sqli as sqli_module
from schemas.normalize import normalize
from streams.judge import AddressJudge, Judge

# The helpers of the throughput and masking benchmarks (this directory is on sys.path when the
# script runs): stack settings and per-run scoping, producing, worker subprocesses, /proc.
from masking import machine_busy_seconds  # noqa: E402
from throughput import (  # noqa: E402
    KIND_TOPIC,
    Bench,
    Timeout,
    cleanup,
    cpu_seconds,
    generate,
    http_json,
    indexed,
    poll_until,
    produce,
    proc_status_kb,
    scoped,
    stack_settings,
    stage_lines,
    timing,
    wait_idle,
    worker,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"
SIGMA_DIR = ROOT / "detectors" / "rules" / "data" / "sigma"
INPROCESS = ("touch", "annotator", "rules", "rules+sigma", "ueba", "judge", "judge+take")
MODES = ("detection", "index_only")


# --- in process -----------------------------------------------------------------------------------


def prepare_events(n: int, seed: int) -> list[dict]:
    """Simulated events, normalised and enriched as the worker does before its detect stage."""
    sim = Simulator(seed=seed, attacks=True)
    return [enrich(normalize(e.kind, e.value)) for e in sim.events(n)]


def sigma_paths() -> list[str]:
    return sorted(glob(str(SIGMA_DIR / "*.yml")))


def hit_rate(detector) -> dict | None:
    hits, misses = getattr(detector, "hits", None), getattr(detector, "misses", None)
    if hits is None or misses is None:
        return None
    total = hits + misses
    return {"hits": hits, "misses": misses, "rate": round(hits / total, 4) if total else None}


def build(name: str, batch_size: int) -> tuple[Callable[[list[dict]], None], Callable[[], dict]]:
    """A fresh contender: ``(run(events), report())``; construction is not timed."""
    state: dict = {"alerts": 0}

    if name == "touch":
        def run(events):
            n = 0
            for event in events:
                if event.get("@timestamp") is not None:
                    n += 1
            state["touched"] = n
        return run, lambda: {"alerts": None}

    if name == "annotator":
        ann = Annotator()

        def run(events):
            for event in events:
                ann(event)
        return run, lambda: {"alerts": None, "sqli_cache": hit_rate(ann.detector)}

    if name in ("rules", "rules+sigma"):
        engine = RuleEngine() if name == "rules" else RuleEngine(
            list(load_rules()) + list(load_sigma(*sigma_paths())))

        def run(events):
            n = 0
            for event in events:
                n += len(engine.process(event))
            state["alerts"] = n
        return run, lambda: {"alerts": state["alerts"], "rules": len(engine.rules),
                             "sqli_cache": hit_rate(getattr(engine.annotator, "detector", None))}

    if name == "ueba":
        ueba = UebaDetector()

        def run(events):
            n = 0
            for event in events:
                for sw in ueba.process(event):
                    n += sw.is_anomaly
            state["alerts"] = n
        return run, lambda: {"alerts": state["alerts"], "stats": dict(ueba.stats)}

    if name in ("judge", "judge+take"):
        judge = Judge({}, forward=AddressJudge({}).wants)
        take = name == "judge+take"

        def run(events):
            alerts = forwarded = writes = 0
            for i, event in enumerate(events, 1):
                judge.on_event(event, "0")
                if take and i % batch_size == 0:
                    out = judge.take()
                    alerts += len(out.alerts)
                    forwarded += len(out.forward)
                    writes += len(out.writes)
            out = judge.take() if take else judge.out
            state.update(alerts=alerts + len(out.alerts), forwarded=forwarded + len(out.forward),
                         writes=writes + len(out.writes))

        def report():
            p = judge.partitions.get("0")
            det = getattr(p.rules.annotator, "detector", None) if p else None
            return {"alerts": state["alerts"], "forwarded": state["forwarded"],
                    "state_writes": state["writes"] if take else None, "sqli_cache": hit_rate(det)}
        return run, report

    raise ValueError(name)


def time_inprocess(name: str, docs: list[dict], batch_size: int) -> dict:
    events = copy.deepcopy(docs)
    sqli_module._cached.cache_clear()  # process-wide text cache: every run starts cold
    run, report = build(name, batch_size)
    me = os.getpid()
    c0, m0, t0 = cpu_seconds(me), machine_busy_seconds(), time.perf_counter()
    run(events)
    t1, c1, m1 = time.perf_counter(), cpu_seconds(me), machine_busy_seconds()
    wall = t1 - t0
    r = {"events_per_s": round(len(events) / wall),
         "us_per_event": round(1e6 * wall / len(events), 2), "seconds": round(wall, 3), **report()}
    if None not in (c0, c1, m0, m1) and wall >= 0.5:  # /proc/stat ticks are 10 ms
        r["others_cores"] = round(max(0.0, (m1 - m0) - (c1 - c0)) / wall, 2)
    return r


def inprocess(args: argparse.Namespace) -> dict:
    t0 = time.perf_counter()
    docs = prepare_events(args.inprocess_events, args.seed)
    print(f"in process: {len(docs):,} events generated, normalised and enriched in "
          f"{time.perf_counter() - t0:.1f} s (not timed)")
    per_run, others_by_run = [], []
    for run in range(1, args.runs + 1):
        k = (run - 1) % len(INPROCESS)
        order = INPROCESS[k:] + INPROCESS[:k]
        c0, m0, t0 = cpu_seconds(os.getpid()), machine_busy_seconds(), time.perf_counter()
        results = {name: time_inprocess(name, docs, args.batch_size) for name in order}
        t1, c1, m1 = time.perf_counter(), cpu_seconds(os.getpid()), machine_busy_seconds()
        per_run.append({name: results[name] for name in INPROCESS})
        others = (round(max(0.0, (m1 - m0) - (c1 - c0)) / (t1 - t0), 2)
                  if None not in (c0, c1, m0, m1) else None)
        others_by_run.append(others)
        print(f"  run {run} (others {others} cores over the run): "
              + ", ".join(f"{n} {per_run[-1][n]['events_per_s']:,}/s" for n in INPROCESS))
    summary = {}
    for name in INPROCESS:
        rs = [r[name] for r in per_run]
        mid = sorted(rs, key=lambda r: r["events_per_s"])[(len(rs) - 1) // 2]  # the median run
        summary[name] = {
            **mid,
            "events_per_s": round(statistics.median(r["events_per_s"] for r in rs)),
            "us_per_event": round(statistics.median(r["us_per_event"] for r in rs), 2),
            "others_cores_max": max((r.get("others_cores") or 0) for r in rs),
        }
    doc = {"events": len(docs), "per_run": per_run, "median": summary,
           "others_cores_by_run": others_by_run}
    if args.profile:
        doc["profile"] = profile_judge(docs, args.profile)
    return doc


def profile_judge(docs: list[dict], top: int) -> str:
    events = copy.deepcopy(docs)
    sqli_module._cached.cache_clear()
    judge = Judge({}, forward=AddressJudge({}).wants)
    judge.partition("0")  # loading the rule pack is not per-event work
    prof = cProfile.Profile()
    prof.enable()
    for event in events:
        judge.on_event(event, "0")
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("cumulative").print_stats(top + 3)
    return buf.getvalue()


def print_inprocess(doc: dict, runs: int) -> None:
    m = doc["median"]
    base = m["touch"]["us_per_event"]
    print(f"\nin process, {doc['events']:,} enriched events, median of {runs} run(s); others "
          f"(cores used by other processes over each run): {doc['others_cores_by_run']}")
    print(f"  {'contender':<12} {'events/s':>11} {'µs/event':>9} {'- touch':>8} {'alerts':>7}"
          f"  {'sqli cache hits':<22} others")
    for name, r in m.items():
        cache = r.get("sqli_cache")
        cache_s = "—"
        if cache and cache["rate"] is not None:
            cache_s = f"{cache['rate']:.1%} ({cache['misses']:,} misses)"
        alerts = "—" if r.get("alerts") is None else f"{r['alerts']:,}"
        print(f"  {name:<12} {r['events_per_s']:>11,} {r['us_per_event']:>9.2f} "
              f"{r['us_per_event'] - base:>8.2f} {alerts:>7}  {cache_s:<22} "
              f"≤{r['others_cores_max']:.2f} cores (runs ≥ 0.5 s)")
    j = m.get("judge", {})
    if j:
        print(f"  judge: {j.get('forwarded', 0):,} events forwarded to the address rules;"
              f" judge+take: {m.get('judge+take', {}).get('state_writes')} state writes")
    if doc.get("profile"):
        print("\ncProfile of Judge.on_event (cumulative):")
        print(doc["profile"])


# --- through a worker -----------------------------------------------------------------------------


def es_count(s: Settings, family: str) -> int:
    es, pattern = s.es_hosts[0].rstrip("/"), s.index_pattern(family)
    http_json(f"{es}/{pattern}/_refresh", {}, timeout=120)
    return http_json(f"{es}/{pattern}/_count?allow_no_indices=true", timeout=120)["count"]


def cleanup_all(s: Settings) -> list[str]:
    """throughput.cleanup, then every other topic of this run (Faust's table changelogs and the
    like, which the worker creates with the group's name): noida-db rewrites all its topics to
    disk after writes, so leftovers would slow the next runs."""
    problems = cleanup(s)
    tag = s.topic_prefix.rstrip(".")
    admin = AdminClient(s.confluent_config())
    names = [n for n in admin.list_topics(timeout=10).topics if n.startswith(tag)]
    if names:
        for name, future in admin.delete_topics(names, operation_timeout=30).items():
            try:
                future.result(60)
            except Exception as exc:  # noqa: BLE001 - reported, the benchmark goes on
                problems.append(f"topic {name}: {exc}")
    return problems


def run_worker(s: Settings, b: Bench, detection: bool, settle: float) -> dict:
    n, deadline = len(b.events), time.monotonic() + b.timeout
    cmd = [sys.executable, "-m", "streams.cli", "worker", "--loglevel", "info"]
    with worker(cmd, s, b, PARASOL_DETECTION="true" if detection else "false") as w:
        pids = {"worker": w.pid, "noida": b.noida_pid, "bench": os.getpid()}

        def snap() -> tuple[float, dict, float | None]:
            return time.time(), {k: cpu_seconds(p) for k, p in pids.items()}, machine_busy_seconds()

        first = poll_until(lambda: w.get("/parasol/stats"),
                           lambda st: bool(st and sum(st["received"].values())),
                           deadline, 0.05, "the first event")
        start = snap()
        last_value, last_change, stats = -1, start, first
        while True:  # see the module doc: t_last = when `indexed` reached its final value
            if time.monotonic() > deadline:
                raise Timeout(f"timed out: {indexed(stats)} indexed, last={stats!r}")
            time.sleep(0.1)
            st = w.get("/parasol/stats")
            now = snap()
            if st is None:
                continue
            stats, value = st, indexed(st)
            if value != last_value:
                last_value, last_change = value, now
            elif (sum(st["received"].values()) >= n and value >= n
                  and now[0] - last_change[0] >= settle):
                break
        t_first, cpu0, m0 = start
        t_last, cpu1, m1 = last_change
        r = timing(n, sum(first["received"].values()), t_first, t_last, w.spawned)
        wall = t_last - t_first
        cpu = {}
        for k in pids:
            if cpu0[k] is not None and cpu1[k] is not None:
                cpu[k] = {"us_per_event": round(1e6 * (cpu1[k] - cpu0[k]) / r["events_timed"], 1),
                          "cores": round((cpu1[k] - cpu0[k]) / wall, 2)}
        if m0 is not None and m1 is not None:
            ours = sum(c["cores"] for c in cpu.values())
            cpu["machine"] = {"cores": round((m1 - m0) / wall, 2)}
            cpu["others"] = {"cores": round(max(0.0, (m1 - m0) / wall - ours), 2)}
        r["cpu"] = cpu
        r["peak_rss_mb"] = w.peak_rss_mb()
    r["worker_stats"] = stats
    detect = stats.get("stages", {}).get("detect", {})
    r["detect_events_per_s"] = detect.get("events_per_s")
    r["detect_us_per_event"] = (round(1e6 * detect["seconds"] / detect["events"], 1)
                                if detect.get("events") else None)
    r["audit_count"] = es_count(s, "audit")  # after the clock
    r["alerts_indexed"] = es_count(s, "alerts")
    r["alerts_sent"] = stats.get("alerts")
    r["actions_sent"] = stats.get("actions")
    if r["audit_count"] != n:
        r["error"] = f"ES _count of audit is {r['audit_count']}, expected {n}"
    return r


def run_mode(b: Bench, mode: str, run: int, settle: float) -> dict:
    s = scoped(b.base, mode.replace("_", "-"), run)
    r: dict = {}
    try:
        r["produce_s"] = round(produce(s, b.events), 3)
        r["settle_s"] = round(wait_idle(b.noida_pid), 2)
        r.update(run_worker(s, b, detection=mode == "detection", settle=settle))
    except (Timeout, RuntimeError, OSError) as exc:
        r["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        if problems := cleanup_all(s):
            r["cleanup_problems"] = problems
    return r


def print_mode(mode: str, r: dict) -> None:
    if "events_per_s" not in r:
        print(f"  {mode:<11} ERROR {r.get('error')}")
        return
    wk, nd, ot = (r["cpu"].get(k, {}) for k in ("worker", "noida", "others"))
    print(f"  {mode:<11} {r['events_per_s']:>7,} ev/s  {r['seconds']:6.2f} s timed "
          f"(startup {r['startup_s']:.1f} s)  worker {wk.get('us_per_event', 0):.0f} µs/ev "
          f"({wk.get('cores', 0):.2f} cores), noida {nd.get('us_per_event', 0):.0f} µs/ev, "
          f"others {ot.get('cores', 0):.2f} cores")
    print(f"              alerts indexed {r['alerts_indexed']:,} (sent {r['alerts_sent']:,}, "
          f"actions {r['actions_sent']:,}); detect stage {r['detect_events_per_s'] or '—'} ev/s; "
          f"peak RSS {r['peak_rss_mb']} MB")
    print("\n".join(stage_lines(r["worker_stats"])))
    if r.get("error"):
        print(f"              ERROR {r['error']}")
    for problem in r.get("cleanup_problems", []):
        print(f"              cleanup: {problem}")


def through_worker(args: argparse.Namespace) -> dict:
    data_dir = Path(tempfile.mkdtemp(prefix="parasol-bench-rules-"))
    base = stack_settings(data_dir, args.partitions, args.batch_size)
    stack = LocalStack(base)
    try:
        t0 = time.perf_counter()
        events = generate(args.events, args.seed)
        kinds = {k: sum(e.kind == k for e in events) for k in KIND_TOPIC}
        print(f"\nthrough a worker: generated {len(events):,} events in "
              f"{time.perf_counter() - t0:.1f} s ({kinds})")
        stack.up()
        print(f"embedded stack up: kafka {base.kafka}  es {base.es}")
        b = Bench(base, events, data_dir, args.timeout, stack.details()["pid"])
        per_run = []
        for run in range(1, args.worker_runs + 1):
            order = MODES if run % 2 else MODES[::-1]
            results = {m: run_mode(b, m, run, args.settle) for m in order}
            print(f"\nworker run {run} ({', '.join(order)})")
            for m in MODES:
                print_mode(m, results[m])
            per_run.append({m: results[m] for m in MODES})
        summary = {}
        for m in MODES:
            ok = [r[m] for r in per_run if "events_per_s" in r[m] and "error" not in r[m]]

            def med(f, ok=ok):
                vals = [v for v in map(f, ok) if v is not None]
                return statistics.median(vals) if vals else None

            def cpu_of(proc):
                return lambda r: r["cpu"].get(proc, {}).get("us_per_event")

            summary[m] = {
                "events_per_s": med(lambda r: r["events_per_s"]),
                "worker_us_per_event": med(cpu_of("worker")),
                "noida_us_per_event": med(cpu_of("noida")),
                "others_cores_max": max((r["cpu"].get("others", {}).get("cores", 0) for r in ok),
                                        default=None),
                "alerts_indexed": med(lambda r: r["alerts_indexed"]),
                "detect_events_per_s": med(lambda r: r["detect_events_per_s"]),
                "detect_us_per_event": med(lambda r: r["detect_us_per_event"]),
                "runs_ok": len(ok),
            }
        noida_rss = round((proc_status_kb(b.noida_pid, "VmRSS") or 0) / 1024, 1)
        return {"events": len(events), "per_run": per_run, "median": summary,
                "noida_rss_mb_at_end": noida_rss}
    finally:
        stack.down()
        shutil.rmtree(data_dir, ignore_errors=True)


def print_worker(doc: dict, runs: int) -> None:
    print(f"\nthrough one worker, {doc['events']:,} events, median of {runs} run(s)")
    print(f"  {'mode':<11} {'events/s':>9} {'worker µs/ev':>13} {'noida µs/ev':>12} {'alerts':>7} "
          f"{'detect ev/s':>12} {'detect µs/ev':>13} others")
    for m, r in doc["median"].items():
        def f(v, fmt="{:,.0f}"):
            return fmt.format(v) if v is not None else "—"
        print(f"  {m:<11} {f(r['events_per_s']):>9} {f(r['worker_us_per_event']):>13} "
              f"{f(r['noida_us_per_event']):>12} {f(r['alerts_indexed']):>7} "
              f"{f(r['detect_events_per_s']):>12} {f(r['detect_us_per_event'], '{:.1f}'):>13} "
              f"≤{f(r['others_cores_max'], '{:.2f}')} cores")
    d, i = doc["median"]["detection"], doc["median"]["index_only"]
    if d["events_per_s"] and i["events_per_s"]:
        print(f"  detection/index_only events/s: {d['events_per_s'] / i['events_per_s']:.2f}; "
              f"worker CPU added by detection: "
              f"{(d['worker_us_per_event'] or 0) - (i['worker_us_per_event'] or 0):.0f} µs/event")


# --- main -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--inprocess-events", type=int, default=20_000,
                   help="events for the in-process part")
    p.add_argument("--events", type=int, default=50_000, help="events per worker run and mode")
    p.add_argument("--runs", type=int, default=3, help="in-process runs; the median is reported")
    p.add_argument("--worker-runs", type=int, default=1,
                   help="worker runs (each: detection on and off); the median is reported")
    p.add_argument("--skip-worker", action="store_true", help="in-process figures only")
    p.add_argument("--skip-inprocess", action="store_true", help="worker figures only")
    p.add_argument("--profile", type=int, default=0, metavar="N",
                   help="cProfile Judge.on_event in process; print the top N functions")
    p.add_argument("--seed", type=int, default=7, help="simulator seed")
    p.add_argument("--partitions", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=1000,
                   help="PARASOL_BATCH_SIZE of the worker, and the judge+take batch")
    p.add_argument("--settle", type=float, default=2.0,
                   help="s the worker's indexed counter must stay unchanged to be final")
    p.add_argument("--timeout", type=float, default=None,
                   help="s per worker run and mode (default: 120 + events/100)")
    args = p.parse_args(argv)
    args.timeout = args.timeout or 120 + args.events / 100
    return args


def environment(args: argparse.Namespace) -> dict:
    import faust

    return {
        "inprocess_events": args.inprocess_events, "events": args.events, "runs": args.runs,
        "worker_runs": args.worker_runs, "seed": args.seed, "partitions": args.partitions,
        "batch_size": args.batch_size, "rules": len(load_rules()),
        "sigma_files": len(sigma_paths()),
        "python": platform.python_version(), "faust": faust.__version__,
        "cpus": os.cpu_count(), "machine": platform.machine(),
    }  # fmt: skip


def write_json(doc: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"rules-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    return path


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # like Ctrl-C: the finally blocks stop the stack
    doc: dict = {"environment": environment(args)}
    try:
        if not args.skip_inprocess:
            doc["inprocess"] = inprocess(args)
            print_inprocess(doc["inprocess"], args.runs)
        if not args.skip_worker:
            doc["worker"] = through_worker(args)
            print_worker(doc["worker"], args.worker_runs)
        print(f"\nresults: {write_json(doc)}")
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted; stopping", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
