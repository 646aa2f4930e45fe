"""Integration fixtures: one real embedded stack (noida-db) per test session, real worker processes.

Tests share the broker and the store but isolate themselves with their own topic prefix, index
prefix and consumer group (:func:`scoped`), so one session-wide stack serves them all.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Callable

import orjson
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from connectors.kafka_admin import contract_topics, ensure_topics
from connectors.local import LocalStack, free_port
from connectors.settings import Settings
from connectors.tansu import TansuBroker


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.25, what: str = ""):
    """Poll until ``predicate()`` is truthy; return its value or fail with the last value seen."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}; last={last!r}")


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Settings:
    """The embedded stack on free loopback ports, started once per session."""
    data = tmp_path_factory.mktemp("stack")
    s = Settings(
        kafka=f"127.0.0.1:{free_port()}",
        es=f"http://127.0.0.1:{free_port()}",
        data_dir=data,
        partitions=3,
    )
    local = LocalStack(s)
    local.up()
    yield s
    local.down()


@pytest.fixture
def tansu(tmp_path):
    """A Tansu broker (the second Kafka implementation) for one test; it keeps data in memory."""
    broker = TansuBroker(free_port(), tmp_path / "tansu.log")
    broker.start()
    yield broker
    broker.stop()


def scoped(base: Settings, name: str, **overrides) -> Settings:
    """Settings with this test's own topics, indices and consumer group; topics created."""
    tag = f"{name}-{uuid.uuid4().hex[:6]}"
    s = base.model_copy(
        update={
            "topic_prefix": f"{tag}.",
            "index_prefix": f"{tag}-",
            "group": f"{tag}-workers",
            "kafka_session_timeout_s": 6.0,
            "batch_within_s": 0.2,
            **overrides,
        }
    )
    ensure_topics(s.confluent_config(), contract_topics(s), s.partitions)
    return s


def settings_env(s: Settings) -> dict[str, str]:
    """The environment a worker process needs to run with these settings."""
    return s.to_env(dict(os.environ))


class WorkerProcess:
    """A real ``parasol worker`` process with its own log file and web port."""

    def __init__(self, settings: Settings, log_dir: Path, name: str = "worker"):
        self.settings = settings
        self.port = free_port()
        self.log_path = log_dir / f"{name}-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> "WorkerProcess":
        env = settings_env(self.settings)
        env["PARASOL_WEB_PORT"] = str(self.port)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker", "--loglevel", "info"],
            env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for(self._healthy, timeout, 0.3, f"worker health ({self.log_path})")
        return self

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"worker exited {self.proc.returncode}:\n{self.log_tail()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/parasol/health", timeout=1):
                return True
        except OSError:
            return False

    def stats(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/parasol/stats", timeout=2) as r:
            return orjson.loads(r.read())

    def log_tail(self, n: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(30)

    def stop(self, timeout: float = 20) -> bool:
        """SIGTERM, as an orchestrator stops a worker; False if it had to be killed instead."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return False
        return True


@pytest.fixture
def workers(tmp_path):
    """Factory for worker processes; every one is stopped at teardown."""
    started: list[WorkerProcess] = []

    def start(settings: Settings, name: str = "worker", timeout: float = 60) -> WorkerProcess:
        w = WorkerProcess(settings, tmp_path, name)
        started.append(w)
        return w.start(timeout)

    yield start
    stalled = [w.log_path.name for w in started if not w.stop()]
    assert not stalled, f"workers did not stop on SIGTERM: {stalled}"


def produce(s: Settings, kind: str, messages: list[tuple[str | None, bytes]]) -> None:
    """Produce (key, value) pairs to an input topic and wait for every delivery."""
    topic = s.topic({"db": "db_audit", "api": "api_access"}[kind])
    p = Producer({**s.confluent_config(), "message.max.bytes": 16 * 1024 * 1024, "linger.ms": 5})
    errors = []
    for key, value in messages:
        p.produce(topic, value=value, key=key, on_delivery=lambda e, m: e and errors.append(e))
        p.poll(0)
    assert p.flush(30) == 0
    assert not errors, errors


def es_get(s: Settings, path: str, body: dict | None = None) -> dict:
    url = s.es_hosts[0].rstrip("/") + path
    data = orjson.dumps(body) if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return orjson.loads(r.read())


def es_count(s: Settings, family: str = "audit") -> int:
    try:
        es_get(s, f"/{s.index_pattern(family)}/_refresh", {})
        return es_get(s, f"/{s.index_pattern(family)}/_count")["count"]
    except OSError:
        return -1


def es_ids(s: Settings, family: str = "audit") -> list[str]:
    """Every document ``_id`` in the family's indices (duplicates would show twice)."""
    es_get(s, f"/{s.index_pattern(family)}/_refresh", {})
    hits = es_get(s, f"/{s.index_pattern(family)}/_search", {"size": 10000, "_source": False})
    return [h["_id"] for h in hits["hits"]["hits"]]


def read_topic(s: Settings, name: str, n: int, timeout: float = 60) -> list[dict]:
    """Read ``n`` JSON records from a topic by ``assign()`` (no group join), from the beginning."""
    return drain_topic(s, name, n, timeout=timeout, settle=0)


def drain_topic(s: Settings, name: str, expect: int, timeout: float = 60, settle: float = 2.0) -> list[dict]:
    """Every JSON record of a topic: wait for ``expect`` of them, then ``settle`` seconds more
    so that extra (duplicate) records show up too."""
    topic = s.topic(name)
    c = Consumer({**s.confluent_config(), "group.id": "reader", "enable.auto.commit": False})
    try:
        parts = c.list_topics(topic, timeout=10).topics[topic].partitions
        c.assign([TopicPartition(topic, p, 0) for p in parts])
        out: list[dict] = []
        deadline = time.monotonic() + timeout
        quiet_until = None
        while time.monotonic() < deadline:
            msg = c.poll(0.2)
            if msg is not None and not msg.error():
                out.append(orjson.loads(msg.value()))
            if len(out) >= expect:
                quiet_until = quiet_until or time.monotonic() + settle
                if time.monotonic() >= quiet_until:
                    break
        return out
    finally:
        c.close()


def raw_of(record: dict) -> bytes:
    return base64.b64decode(record["raw_base64"])
