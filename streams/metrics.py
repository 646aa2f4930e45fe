"""Prometheus metrics of one worker, served at ``/metrics`` on the worker's web port.

Counters that the hot path already keeps (:class:`streams.processing.Stats`) are read at scrape
time by a collector, so no per-event work is added; histograms are observed per batch (stage
latencies, ES bulk) or per decision (masking, from the masking thread: prometheus_client is
thread-safe). Consumer lag comes from Faust's monitor (end offset − committed offset per
partition).
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

__all__ = ["Metrics", "CONTENT_TYPE"]

CONTENT_TYPE = "text/plain; version=0.0.4"  # aiohttp adds no charset to bytes; the text is ASCII

#: Per-batch stage seconds: a batch is up to PARASOL_BATCH_SIZE events.
_BATCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Masking decisions take tens of microseconds cached, a few milliseconds cold.
_DECISION_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)


def _epoch(ts: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


class _StatsCollector:
    def __init__(self, snapshot: Callable[[], dict], lag: Callable[[], dict]):
        self.snapshot = snapshot
        self.lag = lag

    def collect(self):
        s = self.snapshot()
        received = CounterMetricFamily("parasol_events_received", "Messages taken from an input topic", labels=["kind"])
        for kind, n in s.get("received", {}).items():
            received.add_metric([kind], n)
        indexed = CounterMetricFamily("parasol_events_indexed", "Events acknowledged by Elasticsearch", labels=["kind"])
        for kind, n in s.get("indexed", {}).items():
            indexed.add_metric([kind], n)
        dead = CounterMetricFamily("parasol_dead_letters", "Messages sent to the dead-letter topic", labels=["reason"])
        for reason, n in s.get("dead_letters", {}).items():
            dead.add_metric([reason], n)
        yield from (received, indexed, dead)
        for name, key, text in (
            ("parasol_es_bulk_requests", "es_bulk_requests", "Elasticsearch bulk requests"),
            ("parasol_es_retries", "es_retries", "Elasticsearch bulk retries (429, 5xx, outages)"),
            ("parasol_assets_indexed", "assets_indexed", "Asset catalogue documents written"),
            ("parasol_masking_decisions", "masking_decisions", "Masking decisions answered"),
            ("parasol_alerts", "alerts", "Alerts and alert updates sent"),
            ("parasol_actions", "actions", "Response actions sent"),
            ("parasol_verdicts", "verdicts", "Analyst verdicts taken"),
            ("parasol_batch_refits", "batch_refits", "Batch (PyOD) model refits"),
            ("parasol_late_window_folds", "late_events", "Window folds missed: events later than the allowed lateness (still indexed)"),
            ("parasol_redelivered_window_folds", "redelivered_folds", "Window folds skipped: events delivered again that an entity had already counted"),
        ):
            c = CounterMetricFamily(name, text)
            c.add_metric([], s.get(key, 0))
            yield c
        wm = GaugeMetricFamily("parasol_event_time_watermark_seconds",
                               "A partition's event-time watermark (epoch seconds): how far the baselines have got",
                               labels=["partition"])
        late = CounterMetricFamily("parasol_late_window_folds_by_source",
                                   "Window folds missed per partition and source (event.dataset)",
                                   labels=["partition", "source"])
        for pid, p in sorted((s.get("event_time") or {}).items()):
            if p.get("watermark"):
                wm.add_metric([pid], _epoch(p["watermark"]))
            for src, n in sorted((p.get("late_folds") or {}).items()):
                late.add_metric([pid, src], n)
        yield from (wm, late)
        lag = GaugeMetricFamily("parasol_consumer_lag", "End offset minus committed offset",
                                labels=["topic", "partition"])
        for (topic, partition), n in sorted(self.lag().items()):
            lag.add_metric([topic, str(partition)], n)
        yield lag
        up = GaugeMetricFamily("parasol_uptime_seconds", "Seconds since the worker started")
        up.add_metric([], s.get("uptime_s", 0))
        yield up


class Metrics:
    """The worker's registry: collectors over ``snapshot()`` / ``lag()`` plus histograms."""

    def __init__(self, snapshot: Callable[[], dict], lag: Callable[[], dict] = dict):
        self.registry = CollectorRegistry()
        self.registry.register(_StatsCollector(snapshot, lag))
        self.stage_seconds = Histogram("parasol_stage_batch_seconds", "Seconds a stage spent on one batch",
                                       ["stage"], registry=self.registry, buckets=_BATCH_BUCKETS)
        self.bulk_seconds = Histogram("parasol_es_bulk_seconds", "Seconds until Elasticsearch acknowledged a batch",
                                      registry=self.registry, buckets=_BATCH_BUCKETS)
        self.decision_seconds = Histogram("parasol_masking_decision_seconds", "Seconds to decide one masking request",
                                          registry=self.registry, buckets=_DECISION_BUCKETS)
        self.alerts_by_rule = Counter("parasol_alerts_raised", "New alerts (not updates) by rule and severity",
                                      ["rule", "severity"], registry=self.registry)
        self.actions_by_type = Counter("parasol_actions_sent", "Response actions by type", ["type"],
                                       registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
