"""UEBA evaluation through the real pipeline: scenarios → Kafka → one ``parasol worker`` → alerts.

    python benchmarks/ueba_eval.py                          # eval seeds 4,5,6 (~10 min on 2 cores)
    python benchmarks/ueba_eval.py --seeds 4 --scale 0.5    # smoke run

For every seed, :func:`benchmarks.ueba_scenarios.generate` makes 14 days of labelled raw events
(50 users across roles, service accounts, night ETL, on-call DBAs, new joiners; injected bulk
exfiltration, slow drip, credential use from a new address at night, dormant account
reactivation, service account used interactively, API enumeration, privilege abuse). They are
produced in event-time order to the contract topics of a fresh embedded stack (noida-db on free
ports) — accelerated event time: 14 days replay in a minute or two — and one real worker runs
the whole pipeline (normalise, understand, mask, rules, baselines). When every event is indexed,
the anomaly alerts (``rule.kind = anomaly``) are read back from ``parasol-alerts*`` and scored
with :func:`benchmarks.ueba_offline.evaluate` against the labels; the rule alerts are scored too
(any alert for the labelled user in the span), for what the rule pack adds.

The comparison in the same run: the same seed's events, normalised and enriched in process, go
through a plain per-feature z-score detector (``UebaConfig(scorer="zscore")``, same windows and
protection; its threshold tuned on ``--tune-seeds`` by :mod:`benchmarks.ueba_offline`'s grid) —
and, for reference, the offline replay of the pipeline's own detector with its packaged defaults.

The defaults of :class:`detectors.baseline.UebaConfig` were tuned on seeds 1–3 (see
``benchmarks/ueba_offline.py``); this script reports on seeds the detector was not tuned on.
Results go to ``benchmarks/results/ueba-eval-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import orjson
from confluent_kafka import Producer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import Bench, cleanup, http_json, scoped, stack_settings, worker  # noqa: E402
from ueba_offline import (  # noqa: E402
    THRESHOLDS,
    alerts_at,
    benign_user_days,
    evaluate,
    run_seed,
)
from ueba_scenarios import generate  # noqa: E402

from connectors.local import LocalStack  # noqa: E402
from detectors.baseline import UebaConfig  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def produce(s, raw: list[dict]) -> float:
    """Produce the raw events (JSON, key = user.name) in order; seconds taken."""
    p = Producer({**s.confluent_config(), "linger.ms": 20, "enable.idempotence": True})
    t0 = time.perf_counter()
    for i, ev in enumerate(raw):
        topic = s.topic("api_access" if "http" in ev else "db_audit")
        value, key = orjson.dumps(ev), ((ev.get("user") or {}).get("name") or "-").encode()
        while True:
            try:
                p.produce(topic, value, key)
                break
            except BufferError:  # librdkafka's queue is full: let it drain
                p.poll(0.05)
        if i % 5000 == 0:
            p.poll(0)
    assert p.flush(60) == 0, "events not delivered"
    return time.perf_counter() - t0


def _count(s, family: str, query: dict | None = None) -> int:
    es = s.es_hosts[0].rstrip("/")
    try:
        http_json(f"{es}/{s.index_pattern(family)}/_refresh", {})
        return http_json(f"{es}/{s.index_pattern(family)}/_count", {"query": query or {"match_all": {}}})["count"]
    except OSError:
        return -1


def _alerts(s) -> list[dict]:
    es = s.es_hosts[0].rstrip("/")
    http_json(f"{es}/{s.index_pattern('alerts')}/_refresh", {})
    out, after = [], None
    while True:
        body: dict = {"size": 5000, "sort": [{"alert.id": "asc"}]}
        if after:
            body["search_after"] = after
        hits = http_json(f"{es}/{s.index_pattern('alerts')}/_search", body)["hits"]["hits"]
        out += [h["_source"] for h in hits]
        if len(hits) < 5000:
            return out
        after = hits[-1]["sort"]


def is_ueba(alert: dict) -> bool:
    """An alert of the baseline detector itself (the rule pack's anomaly rules, e.g. "Critical
    behavioural anomaly score", also have ``rule.kind = anomaly`` but re-raise the detector's
    alerts: counting them too would count one anomalous window twice)."""
    return "anomaly" in (alert.get("parasol") or {})


def rule_detection(alerts: list[dict], labels: list[dict]) -> dict:
    """Which labels some rule alert hits: same user, evidence in the span + 1 h."""
    from detectors.baseline.timebase import parse_ts

    hit = {}
    for lab in labels:
        lo, hi = parse_ts(lab["start"]), parse_ts(lab["end"]) + 3600
        for a in alerts:
            if is_ueba(a) or (a.get("user") or {}).get("name") != lab["entity"]:
                continue
            ev = a.get("event") or {}
            if parse_ts(ev.get("start") or a["@timestamp"]) <= hi and parse_ts(ev.get("end") or a["@timestamp"]) >= lo:
                hit[lab["scenario"]] = a["rule"]["name"]
                break
    return hit


def _spread(event_time: dict) -> float:
    """Seconds of event time between the partitions furthest apart (their watermarks)."""
    from detectors.baseline.timebase import parse_ts

    marks = [parse_ts(p["watermark"]) for p in event_time.values() if p.get("watermark")]
    return max(marks) - min(marks) if len(marks) > 1 else 0.0


def run_pipeline(stack_base, seed: int, raw: list[dict], labels: list[dict], log_dir: Path, timeout: float,
                 refit_s: float = 20.0) -> dict:
    s = scoped(stack_base, "ueba", seed)
    b = Bench(base=stack_base, events=[], log_dir=log_dir, timeout=timeout, noida_pid=None)
    try:
        with worker([sys.executable, "-m", "streams.cli", "worker", "--loglevel", "info"], s, b,
                    PARASOL_BATCH_REFIT_S=f"{refit_s:g}", PARASOL_ENTITY_INDEX_EVERY_S="300") as w:
            deadline = time.monotonic() + 120
            while w.get("/parasol/ready") is None and time.monotonic() < deadline:
                time.sleep(0.5)
            t0 = time.perf_counter()
            produce_s = produce(s, raw)
            n = len(raw)
            deadline = time.monotonic() + timeout
            done, spread = 0, 0.0
            while time.monotonic() < deadline:
                # The worker's own count while it runs: refreshing a growing index every few
                # seconds costs the embedded store more and more (it stalled a run).
                st = w.get("/parasol/stats") or {}
                spread = max(spread, _spread(st.get("event_time") or {}))
                done = sum((st.get("indexed") or {}).values()) + sum((st.get("dead_letters") or {}).values())
                print(f"\r  seed {seed}: indexed {done:,}/{n:,}", end="", flush=True)
                if done >= n:
                    break
                time.sleep(2)
            elapsed = time.perf_counter() - t0
            done = _count(s, "audit")
            time.sleep(3)  # the last batch's alerts follow its documents
            stats = w.get("/parasol/stats") or {}
            alerts = _alerts(s)
        print()
        late = {}
        for part in (stats.get("event_time") or {}).values():
            for src, k in part["late_folds"].items():
                late[src] = late.get(src, 0) + k
        return {"indexed": done, "events": n, "elapsed_s": round(elapsed, 1), "produce_s": round(produce_s, 1),
                "events_per_s": round(n / elapsed), "alerts": alerts, "stats": stats,
                "partition_spread_h": round(spread / 3600, 1), "late_folds": late}
    finally:
        cleanup(s)


def offline(seed_events: list[dict], z_threshold: float) -> dict[str, list[dict]]:
    """The same events in process: the z-score comparison, and the pipeline's detector offline."""
    ueba_cfg, z_cfg = UebaConfig(), replace(UebaConfig(), scorer="zscore", hst=False)
    run = run_seed(seed_events, ueba_cfg, z_cfg)
    return {"zscore": alerts_at(run["kept"]["zscore"], z_threshold, 0.0),
            "ueba_offline": alerts_at(run["kept"]["ueba"], ueba_cfg.threshold, 0.4)}


def tune_zscore(seeds: list[int], args) -> float:
    """The z-score baseline's threshold, tuned on its own tuning seeds (fair comparison)."""
    from ueba_offline import prepare

    best = (-1e9, 0.9)
    kept = []
    for seed in seeds:
        events, labels, days = prepare(seed, args.days, args.users, args.scale)
        run = run_seed(events, UebaConfig(), replace(UebaConfig(), scorer="zscore", hst=False))
        kept.append((run["kept"]["zscore"], labels, days))
    for t in THRESHOLDS:
        gain = 0.0
        for k, labels, days in kept:
            r = evaluate(alerts_at(k, t, 0.0), labels, days)
            gain += r["detected"] - args.false_cost * r["false_alerts"]
        if gain > best[0]:
            best = (gain, t)
    return best[1]


def _fmt_ttd(s) -> str:
    if s is None:
        return "-"
    return f"{s / 60:.0f} min" if s < 7200 else f"{s / 3600:.1f} h"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="4,5,6", help="evaluation seeds (not tuned on)")
    ap.add_argument("--tune-seeds", default="1,2,3", help="seeds the z-score threshold is tuned on")
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--false-cost", type=float, default=0.2, help="detections lost per false alert when tuning")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds to wait for one seed to be indexed")
    ap.add_argument("--batch-refit-s", type=float, default=20.0,
                    help="the worker's PARASOL_BATCH_REFIT_S (wall clock; a replay runs 14 days in minutes)")
    args = ap.parse_args(argv)
    seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    tune_seeds = [int(x) for x in args.tune_seeds.split(",") if x.strip()]
    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))

    print(f"tuning the z-score baseline's threshold on seeds {tune_seeds} …")
    z_threshold = tune_zscore(tune_seeds, args)
    print(f"  z-score threshold {z_threshold}")

    data_dir = Path(tempfile.mkdtemp(prefix="parasol-ueba-"))
    base = stack_settings(data_dir, partitions=4)
    stack = LocalStack(base)
    results = []
    try:
        stack.up()
        for seed in seeds:
            from detectors.pipeline import enrich
            from schemas.normalize import normalize

            raw, labels = generate(seed, days=args.days, users=args.users, scale=args.scale)
            events = []
            for r in raw:
                e = enrich(normalize("api" if "http" in r else "db", r))
                e.pop("_assets", None)
                events.append(e)
            days = benign_user_days(events, labels)
            print(f"seed {seed}: {len(raw):,} events, {len(labels)} labelled behaviours, {days} benign user-days")
            pipe = run_pipeline(base, seed, raw, labels, data_dir, args.timeout, args.batch_refit_s)
            anomaly = [a for a in pipe["alerts"] if is_ueba(a)]
            off = offline(events, z_threshold)
            results.append({
                "seed": seed, "events": len(raw), "benign_user_days": days, "labels": labels,
                "pipeline": {k: v for k, v in pipe.items() if k != "alerts"},
                "ueba_pipeline": evaluate(anomaly, labels, days),
                "rules_pipeline": rule_detection(pipe["alerts"], labels),
                "rule_alerts": sum(1 for a in pipe["alerts"] if not is_ueba(a)),
                "ueba_offline": evaluate(off["ueba_offline"], labels, days),
                "zscore": evaluate(off["zscore"], labels, days),
            })
    finally:
        stack.down()
        shutil.rmtree(data_dir, ignore_errors=True)

    print("\nper scenario (seeds " + ",".join(map(str, seeds)) + "): detected by / time to detect (event time)")
    scenarios = sorted({lab["scenario"] for r in results for lab in r["labels"]})
    print(f"  {'scenario':<30} {'UEBA (pipeline)':<20} {'z-score':<20} {'rules (pipeline)'}")
    for sc in scenarios:
        cells = []
        total = sum(1 for r in results for lab in r["labels"] if lab["scenario"] == sc)
        for key in ("ueba_pipeline", "zscore"):
            hits = [h for r in results for h in r[key]["per_label"] if h["scenario"] == sc]
            ttd = sorted(h["ttd_s"] for h in hits if h["detected"] and h["ttd_s"] is not None)
            n = sum(1 for h in hits if h["detected"])
            cells.append(f"{n}/{total} {_fmt_ttd(ttd[len(ttd) // 2] if ttd else None)}")
        rules = sum(1 for r in results if sc in r["rules_pipeline"])
        print(f"  {sc:<30} {cells[0]:<20} {cells[1]:<20} {rules}/{len(results)} seeds")
    for key, name in (("ueba_pipeline", "UEBA through the pipeline"), ("ueba_offline", "UEBA offline (same code)"),
                      ("zscore", "z-score baseline (offline)")):
        det = sum(r[key]["detected"] for r in results)
        lab = sum(r[key]["labels"] for r in results)
        false = sum(r[key]["false_alerts"] for r in results)
        days = sum(r["benign_user_days"] for r in results)
        print(f"  {name:<28} detected {det}/{lab}, false alerts {false} = {100 * false / max(days, 1):.2f} per 100 benign user-days")
    for r in results:
        p = r["pipeline"]
        print(f"  seed {r['seed']}: {p['events']:,} events in {p['elapsed_s']} s through the pipeline "
              f"({p['events_per_s']:,}/s), {r['rule_alerts']} rule alerts, batch refits {p['stats'].get('batch_refits')}, "
              f"partitions up to {p['partition_spread_h']} h of event time apart, late window folds {p['late_folds']}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"ueba-eval-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps({"machine": platform.platform(), "args": vars(args), "z_threshold": z_threshold,
                               "results": results}, indent=1, default=str))
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
