"""Ship a log file to Kafka: follow it, parse it, produce contract events, checkpoint safely.

Delivery is at-least-once and loses nothing:

* the producer is idempotent (``enable.idempotence``, ``acks=all``), so its own retries do not
  duplicate;
* the checkpoint's offset only advances past an event once Kafka has acknowledged it (delivery
  callbacks), and never past a line a parser still holds (multi-line records, pgaudit
  statements being aggregated);
* every event has a deterministic ``event.id`` (the source's own ids, or file fingerprint +
  byte offset), so what a restart re-sends is deduplicated downstream;
* a line that cannot become an event goes to the dead-letter topic with its reason, counted.

Memory is bounded: the follower reads at most ``read_size`` per call and the producer's queue is
bounded (a full queue makes the tailer wait for deliveries instead of buffering more).
"""

from __future__ import annotations

import heapq
import logging
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from confluent_kafka import KafkaError, Producer

from connectors.settings import Settings
from connectors.sources.base import Emitted, Parser, Unparseable, stable_id
from connectors.sources.checkpoint import Checkpoint, CheckpointStore
from connectors.sources.follow import Follower
from schemas.dead_letter import dead_letter_record
from schemas.normalize import InvalidEvent, normalize

__all__ = ["Tailer", "TailStats", "AckTracker", "default_checkpoint_path", "TailError"]

log = logging.getLogger("parasol.tail")

#: Delivery errors that retrying cannot fix: the event goes to the dead-letter topic instead.
_PERMANENT = {
    KafkaError.MSG_SIZE_TOO_LARGE,
    KafkaError.INVALID_MSG_SIZE,
    KafkaError.INVALID_MSG,
}


class TailError(RuntimeError):
    """The tailer cannot go on without losing data (e.g. the dead-letter topic refuses writes)."""


class AckTracker:
    """Offsets of events sent and not yet acknowledged; ``low()`` is the smallest.

    >>> t = AckTracker(); t.add(10); t.add(4); t.add(4); t.done(4); t.low()
    4
    >>> t.done(4); t.low()
    10
    """

    def __init__(self) -> None:
        self._count: Counter[int] = Counter()
        self._heap: list[int] = []

    def add(self, offset: int) -> None:
        if not self._count[offset]:
            heapq.heappush(self._heap, offset)
        self._count[offset] += 1

    def done(self, offset: int) -> None:
        self._count[offset] -= 1
        if self._count[offset] <= 0:
            del self._count[offset]

    def low(self) -> int | None:
        while self._heap and self._heap[0] not in self._count:
            heapq.heappop(self._heap)
        return self._heap[0] if self._heap else None

    def __len__(self) -> int:
        return sum(self._count.values())


@dataclass
class TailStats:
    lines: int = 0
    events: int = 0  # produced
    acked: int = 0
    dead: Counter[str] = field(default_factory=Counter)
    skipped: int = 0  # lines that are not audit records (checkpoints, startup messages)
    rotations: int = 0
    started: float = field(default_factory=time.monotonic)

    def as_dict(self) -> dict:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return {
            "lines": self.lines,
            "events": self.events,
            "acked": self.acked,
            "dead_letters": dict(self.dead),
            "rotations": self.rotations,
            "seconds": round(elapsed, 3),
            "lines_per_s": round(self.lines / elapsed),
            "events_per_s": round(self.acked / elapsed),
        }


def default_checkpoint_path(settings: Settings, log_format: str, path: str) -> Path:
    """``<data_dir>/checkpoints/<format>-<hash of the absolute path>.json``."""
    key = stable_id(str(Path(path).absolute()))[:16]
    return Path(settings.data_dir).expanduser() / "checkpoints" / f"{log_format}-{key}.json"


class Tailer:
    """Follow ``path`` with ``parser`` and produce to the contract topics."""

    def __init__(
        self,
        settings: Settings,
        parser: Parser,
        path: str,
        *,
        checkpoint: str | Path | None = None,
        follow: bool = False,
        producer_config: dict | None = None,
        progress: Callable[[TailStats, int], None] | None = None,
        progress_every_s: float = 1.0,
        idle_flush_s: float = 1.0,
        checkpoint_every_s: float = 1.0,
        validate: bool | None = None,
    ):
        self.settings = settings
        self.parser = parser
        self.path = str(path)
        self.follow = follow
        self.store = CheckpointStore(checkpoint or default_checkpoint_path(settings, parser.name, self.path))
        self.follower = Follower(self.path)
        self.stats = TailStats()
        self.progress = progress
        self.progress_every_s = progress_every_s
        self.idle_flush_s = idle_flush_s
        self.checkpoint_every_s = checkpoint_every_s
        # Contract JSON lines come from outside: check them here, where a dead letter can name
        # the file and offset. The format parsers build contract events by construction (their
        # tests run every output through the validator), and the worker validates again anyway,
        # so checking them here would only double the tailer's CPU per event.
        self.validate = parser.name == "jsonl" if validate is None else validate
        self.topics = {"db": settings.topic("db_audit"), "api": settings.topic("api_access")}
        self.dlq_topic = settings.topic("dlq")
        self.acks = AckTracker()
        self._stop = threading.Event()
        self._fatal: str | None = None
        self._saved: Checkpoint | None = None
        self._fp = ""  # fingerprint of the file the current lines come from
        conf = {
            **settings.confluent_config(),
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 20,
            "batch.num.messages": 10000,
            "queue.buffering.max.messages": 100000,
            "queue.buffering.max.kbytes": 256 * 1024,
            # Never give up on an event while Kafka is away: the tailer waits instead (the
            # checkpoint holds still), which is the only way to lose nothing.
            "message.timeout.ms": 0,
            "message.max.bytes": max(2 * settings.max_event_bytes, 1_000_000),
            **(producer_config or {}),
        }
        self.producer = Producer(conf)

    # -- lifecycle -------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stop())

    def run(self) -> TailStats:
        """Tail until the end of the file (or, with ``follow``, until :meth:`stop`)."""
        cp = self.store.load()
        if cp is not None and cp.fingerprint:
            if self.follower.resume(cp.fingerprint, cp.offset):
                log.info("resuming %s at offset %d", cp.path, cp.offset)
            else:
                log.warning("checkpointed file %s (%s) is gone; starting at the live file", cp.path, cp.fingerprint)
        self._saved = cp
        last_progress = last_checkpoint = last_data = time.monotonic()
        try:
            while not self._stop.is_set():
                lines = self.follower.read()
                self._fp = self.follower.batch_fingerprint
                for line in lines:
                    self._ship(self.parser.feed(line))
                self.stats.lines += len(lines)
                while self.follower.too_long:
                    cut = self.follower.too_long.pop(0)
                    self._ship([Unparseable(cut.data, "line_too_long", f"line of {cut.end - cut.offset} bytes", cut.offset)])
                if self.follower.switched:
                    self._finish_file()
                self.producer.poll(0)
                self._check_fatal()
                now = time.monotonic()
                if lines:
                    last_data = now
                elif self.follower.at_end():
                    if not self.follow:
                        break
                    if self.parser.pending_offset() is not None and now - last_data >= self.idle_flush_s:
                        self._ship(self.parser.flush())
                    self.producer.poll(0.05)  # wait for data without spinning
                if now - last_checkpoint >= self.checkpoint_every_s:
                    self._checkpoint()
                    last_checkpoint = now
                if self.progress and now - last_progress >= self.progress_every_s:
                    self.progress(self.stats, self.follower.lag_bytes())
                    last_progress = now
            if not self._stop.is_set():
                self._ship(self.parser.flush())  # end of input: nothing more will complete them
            self._drain()
            self._checkpoint()
        finally:
            self.follower.close()
        if self.progress:
            self.progress(self.stats, self.follower.lag_bytes())
        self._check_fatal()
        return self.stats

    # -- producing -------------------------------------------------------------------------
    def _ship(self, outputs: list) -> None:
        for out in outputs:
            if isinstance(out, Emitted):
                self._send_event(out)
            elif isinstance(out, Unparseable):
                self._send_dead(out.raw, out.reason, "Unparseable", out.message, out.offset)
            else:
                self.stats.skipped += 1

    def _send_event(self, out: Emitted) -> None:
        ev = out.event
        if self.validate:
            try:
                normalize(out.kind, ev, self.settings.max_statement_chars)  # the worker's own check
            except InvalidEvent as exc:
                self._send_dead(orjson.dumps(ev), exc.reason, "InvalidEvent", str(exc), out.offset)
                return
        if not _has(ev, "event", "id"):
            _set(ev, ("event", "id"), stable_id("file", self._fp, out.offset))
        _set(ev, ("log", "file", "path"), self.follower.position.path)
        _set(ev, ("log", "offset"), out.offset)
        statement = _get(ev, "db", "statement")
        if isinstance(statement, str) and len(statement) > self.settings.max_statement_chars:
            # Cut here as the worker would, so a huge statement still fits a Kafka message.
            _set(ev, ("db", "statement"), statement[: self.settings.max_statement_chars])
            _set(ev, ("parasol", "truncated"), ["db.statement"])
        value = orjson.dumps(ev)
        if len(value) > self.settings.max_event_bytes:
            self._send_dead(value, "too_large", "InvalidEvent", f"event of {len(value)} bytes", out.offset)
            return
        user = _get(ev, "user", "name")
        key = user.encode() if isinstance(user, str) else None
        self._produce(self.topics[out.kind], key, value, out.offset, dead=False)
        self.stats.events += 1

    def _send_dead(self, raw: bytes, reason: str, error_type: str, message: str, offset: int) -> None:
        record = dead_letter_record(
            raw,
            reason,
            error_type,
            message,
            offset=offset,
            file=self.follower.position.path,
            file_id=self._fp,
            log_format=self.parser.name,
        )
        self.stats.dead[reason] += 1
        self._produce(self.dlq_topic, None, orjson.dumps(record), offset, dead=True)

    def _produce(self, topic: str, key: bytes | None, value: bytes, offset: int, dead: bool) -> None:
        self.acks.add(offset)

        def delivered(err, msg, offset=offset, topic=topic, key=key, value=value):
            if err is None:
                self.acks.done(offset)
                if not dead:
                    self.stats.acked += 1
            elif err.code() in _PERMANENT and not dead:
                self.acks.done(offset)
                self._send_dead(value, "kafka_refused", "KafkaError", err.str(), offset)
            else:
                self._fatal = f"delivery to {topic} failed: {err.str()}"

        while True:
            try:
                self.producer.produce(topic, value=value, key=key, on_delivery=delivered)
                return
            except BufferError:
                self.producer.poll(0.1)  # bounded queue: wait for deliveries
                self._check_fatal()

    def _check_fatal(self) -> None:
        if self._fatal:
            raise TailError(self._fatal)

    def _drain(self) -> None:
        while len(self.producer) or len(self.acks):
            self.producer.poll(0.1)
            self._check_fatal()
            if self._stop.is_set() and not len(self.producer):
                break

    # -- checkpoints -----------------------------------------------------------------------
    def _commit_point(self) -> int:
        candidates = [self.follower.position.offset]
        for low in (self.acks.low(), self.parser.pending_offset()):
            if low is not None:
                candidates.append(low)
        return min(candidates)

    def _checkpoint(self) -> None:
        pos = self.follower.position
        if not pos.fingerprint:
            return
        cp = Checkpoint(pos.fingerprint, pos.path, self._commit_point(), self.parser.name)
        if self._saved is None or (cp.fingerprint, cp.offset, cp.path) != (
            self._saved.fingerprint,
            self._saved.offset,
            self._saved.path,
        ):
            self.store.save(cp)
            self._saved = cp

    def _finish_file(self) -> None:
        """The follower moved to another file: complete the old one before reading the new."""
        self._ship(self.parser.flush())
        self._drain()
        self.stats.rotations += 1
        self._checkpoint()


def _has(ev: dict, *path: str) -> bool:
    return _get(ev, *path) is not None


def _get(ev: dict, *path: str):
    dotted = ".".join(path)
    if dotted in ev:
        return ev[dotted]
    node = ev
    for p in path:
        if not isinstance(node, dict) or p not in node:
            return None
        node = node[p]
    return node


def _set(ev: dict, path: tuple[str, ...], value) -> None:
    if ".".join(path) in ev:
        ev[".".join(path)] = value
        return
    node = ev
    for p in path[:-1]:
        nxt = node.get(p)
        if not isinstance(nxt, dict):
            nxt = node[p] = {}
        node = nxt
    node[path[-1]] = value


def print_progress(stats: TailStats, lag: int, stream=sys.stderr) -> None:
    d = stats.as_dict()
    dead = sum(stats.dead.values())
    stream.write(
        f"\r{d['lines']:,} lines ({d['lines_per_s']:,}/s)  {d['acked']:,} events acked ({d['events_per_s']:,}/s)"
        f"  {dead:,} dead letters  lag {lag:,} bytes   "
    )
    stream.flush()
