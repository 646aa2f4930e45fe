"""One raw Kafka message in, an index document or a dead letter out. No Faust in here.

The agents call :meth:`Processor.process` per message: decode → normalise → enrich → document.
Keeping this free of Faust makes the hot path testable and benchmarkable on its own.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from connectors.settings import Settings
from detectors.pipeline import Enricher, enrich
from schemas.codec import DecodeError, decode
from schemas.dead_letter import dead_letter_record, rfc3339_now
from schemas.normalize import InvalidEvent, normalize
from schemas.registry import SchemaRegistry

__all__ = ["Processor", "Rejected", "Stats", "KINDS", "dead_letter_record"]

#: Input kind → its contract topic (a key of ``connectors.settings.TOPICS``)
KINDS = {"db": "db_audit", "api": "api_access"}

STAGES = ("decode", "normalize", "enrich", "document")


class Rejected(Exception):
    """A message that goes to the dead-letter topic; ``reason`` is the short code counted."""

    def __init__(self, reason: str, error_type: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.error_type = error_type
        self.message = message


class Stats:
    """Counters and per-stage CPU time of one worker (read by ``/parasol/stats`` and the demo)."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.indexed: Counter[str] = Counter()
        self.dead: Counter[str] = Counter()
        self.stage_seconds: defaultdict[str, float] = defaultdict(float)
        self.stage_events: Counter[str] = Counter()
        self.es_retries = 0
        self.es_bulk_requests = 0
        self.assets_indexed = 0
        self.masking_decisions = 0
        self.alerts = 0
        self.actions = 0
        self.verdicts = 0
        self.batch_refits = 0
        self.outputs_indexed = 0
        self.baseline_feedback = 0
        self.late_events = 0  # (entity, window) folds missed: later than the allowed lateness
        self.redelivered_folds = 0  # (entity, event) folds skipped: delivered again, counted before
        self.event_time: dict[str, dict] = {}  # per partition: watermark, sources, late folds
        self.started = time.time()

    def snapshot(self) -> dict:
        stages = {
            s: {
                "events": self.stage_events[s],
                "seconds": round(self.stage_seconds[s], 6),
                "events_per_s": round(self.stage_events[s] / self.stage_seconds[s])
                if self.stage_seconds[s]
                else None,
            }
            for s in (*STAGES, "detect", "index")
        }
        return {
            "received": dict(self.received),
            "indexed": dict(self.indexed),
            "dead_letters": dict(self.dead),
            "stages": stages,
            "es_retries": self.es_retries,
            "es_bulk_requests": self.es_bulk_requests,
            "assets_indexed": self.assets_indexed,
            "masking_decisions": self.masking_decisions,
            "alerts": self.alerts,
            "actions": self.actions,
            "verdicts": self.verdicts,
            "batch_refits": self.batch_refits,
            "outputs_indexed": self.outputs_indexed,
            "baseline_feedback": self.baseline_feedback,
            "late_events": self.late_events,
            "redelivered_folds": self.redelivered_folds,
            "event_time": self.event_time,
            "uptime_s": round(time.time() - self.started, 1),
        }


@dataclass
class Processor:
    """Decode, validate, enrich and shape one message of an input kind (``db`` or ``api``)."""

    settings: Settings
    registry: SchemaRegistry | None = None
    enricher: Enricher = enrich
    stats: Stats | None = None
    #: Asset evidence of the events processed since the caller last took it (catalogue input).
    observations: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stats = self.stats or Stats()
        self._clock = time.perf_counter

    def take_observations(self) -> list[dict]:
        out, self.observations = self.observations, []
        return out

    def process(self, kind: str, raw: bytes | None) -> tuple[str, str, dict]:
        """Return ``(index, doc_id, document)`` or raise :class:`Rejected`."""
        stats, clock = self.stats, self._clock
        stats.received[kind] += 1
        if raw is None or len(raw) > self.settings.max_event_bytes:
            size = 0 if raw is None else len(raw)
            if raw is None:
                raise Rejected("empty", "DecodeError", "the message has no value (tombstone)")
            raise Rejected(
                "too_large", "SizeLimit", f"{size} bytes > max_event_bytes {self.settings.max_event_bytes}"
            )
        t0 = clock()
        try:
            obj = decode(raw, self.registry)
        except DecodeError as exc:
            raise Rejected(exc.reason, "DecodeError", str(exc)) from None
        except OSError as exc:
            # The schema registry is unreachable: the bytes are fine, keep them replayable.
            raise Rejected("schema_registry_unavailable", type(exc).__name__, str(exc)) from None
        t1 = clock()
        try:
            event = normalize(kind, obj, self.settings.max_statement_chars)
        except InvalidEvent as exc:
            raise Rejected(exc.reason, "InvalidEvent", str(exc)) from None
        t2 = clock()
        event = self.enricher(event)
        assets = event.pop("_assets", None)
        if assets:
            self.observations.extend(assets)
        t3 = clock()
        event["event"]["kind"] = "event"
        event["event"]["ingested"] = rfc3339_now()
        ts = event["@timestamp"]
        index = self.settings.index("audit", f"{ts[:4]}.{ts[5:7]}.{ts[8:10]}")
        t4 = clock()
        for stage, seconds in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            stats.stage_seconds[stage] += seconds
            stats.stage_events[stage] += 1
        return index, event["event"]["id"], event
