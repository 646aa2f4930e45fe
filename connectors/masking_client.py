"""A small client for DB proxies and API gateways: ask parasol what a user may see, get the answer.

The request goes to ``parasol.masking.requests`` keyed by ``request_id``; the decision comes back
on ``parasol.masking.decisions`` with the same key (CONTRACT.md). One client serves many
concurrent requests: a background thread reads the decisions topic (``assign()`` to its end, no
consumer group, so every proxy instance sees every decision and picks its own) and completes the
waiting futures.

When no decision arrives in time the client fails *closed* (every column ``deny``) or *open*
(every column ``allow``), as configured — closed is the default: a masking gateway that lets
data through when the brain is away is not one.

Example (a proxy about to run a statement)::

    from connectors.masking_client import MaskingClient
    from connectors.settings import Settings

    with MaskingClient(Settings(), timeout_s=0.2, fail="closed") as client:
        d = client.decide(user="alice", roles=["support"], statement="select name, mobile from crm.customers",
                          db_system="postgresql", db_instance="pg-crm-01", db_name="crm")
        for col in d["columns"]:
            ...  # allow: pass through; mask: apply col["method"]; deny: drop or refuse
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime
from typing import Literal

import orjson
from confluent_kafka import OFFSET_END, Consumer, Producer, TopicPartition

from connectors.settings import Settings

__all__ = ["MaskingClient", "fallback_decision"]


def fallback_decision(request: dict, fail: Literal["closed", "open"], reason: str) -> dict:
    """The decision a client uses when parasol does not answer: deny (closed) or allow (open)."""
    action = "deny" if fail == "closed" else "allow"
    cols = request.get("columns") or [{"table": None, "column": "*"}]
    return {
        "request_id": request["request_id"],
        "policy": {"version": None},
        "columns": [{"table": c.get("table"), "column": c.get("column"), "action": action, "method": None,
                     "classification": {"category": None, "level": None}} for c in cols],
        "fallback": {"fail": fail, "reason": reason},
    }


class MaskingClient:
    """Request/reply over Kafka with a timeout. Thread-safe; use one per process."""

    def __init__(self, settings: Settings, timeout_s: float = 0.5, fail: Literal["closed", "open"] = "closed"):
        if fail not in ("closed", "open"):
            raise ValueError("fail must be 'closed' or 'open'")
        self.settings = settings
        self.timeout_s = timeout_s
        self.fail = fail
        self.requests_topic = settings.topic("masking_requests")
        self.decisions_topic = settings.topic("masking_decisions")
        conf = settings.confluent_config()
        # Not idempotent: a duplicated request only yields a duplicated decision, which the
        # client ignores, and an idempotent producer waits for a producer id before its first
        # send (~0.5 s), which would fail the first request of a short timeout.
        self._producer = Producer({**conf, "linger.ms": 0})
        self._consumer = Consumer({
            **conf,
            "group.id": f"parasol-masking-client-{uuid.uuid4().hex[:8]}",  # never joins: assign() only
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 5,
            "fetch.error.backoff.ms": 5,
        })
        parts = self._consumer.list_topics(self.decisions_topic, timeout=10).topics[self.decisions_topic].partitions
        # From the end: only decisions for requests this client sends from now on.
        self._consumer.assign([TopicPartition(self.decisions_topic, p, OFFSET_END) for p in parts])
        self._waiting: dict[str, Future] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._read, name="masking-decisions", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        self.answered = self.timed_out = 0

    def _read(self) -> None:
        first = True
        while not self._stop.is_set():
            msg = self._consumer.poll(0.05)
            if first:
                self._ready.set()  # the assignment is live: requests sent now will be seen
                first = False
            if msg is None or msg.error():
                continue
            key = msg.key().decode() if msg.key() else None
            with self._lock:
                fut = self._waiting.pop(key, None) if key else None
            if fut is not None and not fut.done():
                fut.set_result(orjson.loads(msg.value()))

    def request(
        self,
        *,
        user: str,
        roles: list[str] | None = None,
        statement: str | None = None,
        columns: list[dict] | None = None,
        purpose: str | None = None,
        db_system: str | None = None,
        db_instance: str | None = None,
        db_name: str | None = None,
    ) -> dict:
        """A contract masking request (not sent)."""
        req = {
            "request_id": uuid.uuid4().hex,
            "@timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "user": {"name": user, "roles": list(roles or [])},
            "db": {"system": db_system, "instance": db_instance, "name": db_name},
        }
        if purpose:
            req["purpose"] = purpose
        if statement is not None:
            req["db"]["statement"] = statement
        if columns is not None:
            req["columns"] = columns
        return req

    def send(self, request: dict) -> Future:
        """Send a request; the future completes with the decision (or never: see :meth:`decide`)."""
        fut: Future = Future()
        with self._lock:
            self._waiting[request["request_id"]] = fut
        self._producer.produce(self.requests_topic, key=request["request_id"].encode(), value=orjson.dumps(request))
        self._producer.poll(0)  # serve delivery callbacks; never block the caller on other requests
        return fut

    def decide(self, timeout_s: float | None = None, **request_fields) -> dict:
        """Send and wait; on timeout the configured fallback decision (marked ``fallback``)."""
        req = self.request(**request_fields)
        t0 = time.perf_counter()
        fut = self.send(req)
        timeout = self.timeout_s if timeout_s is None else timeout_s
        try:
            decision = fut.result(timeout=max(0.0, timeout - (time.perf_counter() - t0)))
            self.answered += 1
            return decision
        except FutureTimeout:
            with self._lock:
                self._waiting.pop(req["request_id"], None)
            self.timed_out += 1
            return fallback_decision(req, self.fail, f"no decision within {timeout:.3f}s")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._consumer.close()
        self._producer.flush(5)

    def __enter__(self) -> MaskingClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
