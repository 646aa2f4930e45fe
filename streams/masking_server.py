"""Masking request/reply served from a thread of the worker process, outside Faust's event loop.

Why not a Faust agent: a decision takes ~20 µs, but Faust's per-message path and ``send()`` cost
~250 µs of the worker's event loop per request (one worker topped out near 2k decisions/s), and an
ingest batch holding that loop for tens of milliseconds delays every request behind it. Here a
thread runs its own asyncio loop with a plain aiokafka consumer (batches from ``getmany``) and
hands decisions to a librdkafka producer, whose own thread sends them; Python's thread switching
(5 ms) bounds how long ingest can hold a request up. The consumer is aiokafka rather than
librdkafka because an idle librdkafka consumer re-fetches in a tight loop on brokers that answer
an empty fetch at once (noida-db: ~0.85 core), while aiokafka gets the worker's empty-fetch
backoff (streams/fetch_backoff.py).

Kafka still distributes the work: the thread is a member of consumer group ``<group>.masking`` on
``parasol.masking.requests``, so each worker serves its share of the partitions and a stopped
worker's share moves to the others.

Delivery: offsets are committed (auto-commit) after decisions were handed to the producer; a crash
can lose a decision in flight, and the requester then times out and falls back to its configured
fail-closed / fail-open answer (connectors/masking_client.py), as for any lost reply.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Callable

import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.abc import ConsumerRebalanceListener
from confluent_kafka import Producer

from connectors.settings import Settings
from schemas.dead_letter import dead_letter_record

__all__ = ["MaskingServer"]

log = logging.getLogger("parasol.masking")

Decide = Callable[[dict], dict]


class MaskingServer:
    """Consume requests, ``decide`` each, produce the decision keyed by ``request_id``.

    ``on_decision()`` / ``on_dead(reason)`` are called (in the server's thread) for counters;
    ``ready`` is set once the consumer has partitions.
    """

    def __init__(self, settings: Settings, decide: Decide, *, on_decision: Callable[[], None] = lambda: None,
                 on_dead: Callable[[str], None] = lambda reason: None, batch: int = 256):
        self.settings = settings
        self.decide = decide
        self.on_decision = on_decision
        self.on_dead = on_dead
        self.batch = batch
        self.ready = threading.Event()
        self.failed: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="parasol-masking", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # noqa: BLE001 - kept for the health endpoint, and logged
            self.failed = exc
            log.exception("masking server stopped")

    async def _serve(self) -> None:
        s = self.settings
        self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        listener = _ReadyListener(self.ready)
        consumer = AIOKafkaConsumer(
            **s.aiokafka_config(), group_id=f"{s.group}.masking", auto_offset_reset="earliest",
            enable_auto_commit=True, auto_commit_interval_ms=1000, fetch_max_wait_ms=100,
            session_timeout_ms=int(s.kafka_session_timeout_s * 1000),
            heartbeat_interval_ms=int(min(3.0, s.kafka_session_timeout_s / 4) * 1000),
        )
        consumer.subscribe([s.topic("masking_requests")], listener=listener)
        producer = Producer({**s.confluent_config(), "linger.ms": 0, "acks": "all"})
        decisions, dlq = s.topic("masking_decisions"), s.topic("dlq")
        await consumer.start()
        try:
            while not self._stopping.is_set():
                fetched = await consumer.getmany(timeout_ms=100, max_records=self.batch)
                for records in fetched.values():
                    for rec in records:
                        key, value = self._answer(rec, dlq, producer)
                        self._produce(producer, decisions, key, value)
                producer.poll(0)
        finally:
            await consumer.stop()
            producer.flush(5)

    def _answer(self, rec, dlq: str, producer: Producer) -> tuple[bytes, bytes]:
        try:
            decision = self.decide(orjson.loads(rec.value))
        except Exception as exc:  # noqa: BLE001 - a bad request is answered and dead-lettered
            self.on_dead("bad_masking_request")
            record = dead_letter_record(rec.value, "bad_masking_request", type(exc).__name__, str(exc),
                                        topic=rec.topic, partition=rec.partition, offset=rec.offset, key=rec.key)
            self._produce(producer, dlq, rec.key, orjson.dumps(record))
            rid = rec.key.decode("utf-8", "replace") if rec.key else None
            decision = {"request_id": rid, "error": f"{type(exc).__name__}: {exc}"[:500], "columns": []}
        self.on_decision()
        return (decision.get("request_id") or "").encode(), orjson.dumps(decision)

    def _produce(self, producer: Producer, topic: str, key: bytes | None, value: bytes) -> None:
        while True:
            try:
                producer.produce(topic, value, key, on_delivery=self._delivered)
                return
            except BufferError:  # librdkafka's queue is full: let it drain
                producer.poll(0.01)

    def _delivered(self, err, msg) -> None:
        if err is not None:
            self.on_dead("masking_decision_undelivered")
            log.warning("masking decision for %r not delivered: %s", msg.key(), err)


class _ReadyListener(ConsumerRebalanceListener):
    """aiokafka rebalance listener that marks the server ready once it has partitions."""

    def __init__(self, ready: threading.Event):
        self.ready = ready

    async def on_partitions_revoked(self, revoked) -> None:
        pass

    async def on_partitions_assigned(self, assigned) -> None:
        if assigned:
            self.ready.set()
