"""Security of the wires, for real: TLS and SASL to Kafka, TLS to Elasticsearch, from settings.

Real processes on loopback: Tansu as the broker, reached through a TLS/SASL front that serves real
TLS handshakes (stdlib ssl) and real SASL exchanges (PLAIN, SCRAM-SHA-256/512) because this Tansu
build cannot (connectors/secure_front.py says why; noida-db has no TLS or SASL at all). The
clients under test are the real ones parasol uses: librdkafka (confluent-kafka), aiokafka and
Faust inside a real ``parasol worker``. A throw-away CA and server certificate are made with the
``openssl`` CLI at test time; no key is ever written outside the test's temporary directory.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from pydantic import SecretStr

from connectors.kafka_admin import (
    KafkaAuthenticationError,
    KafkaTLSError,
    check_kafka,
    ensure_topics,
)
from connectors.local import free_port
from connectors.secure_front import SecureFront
from connectors.settings import Settings
from connectors.tansu import TansuBroker
from tests.integration.conftest import es_count, produce, scoped, settings_env, wait_for

pytestmark = pytest.mark.integration

PASSWORD = f"pw-{uuid.uuid4().hex}"  # distinctive, so that a leak into any log is found
WRONG = f"bad-{uuid.uuid4().hex}"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _make_ca(d: Path, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
             "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=d)


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> dict[str, Path]:
    """A CA, a server certificate it signed for 127.0.0.1/localhost, and an unrelated CA."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl CLI is needed to make the test certificates (apt-get install openssl)")
    d = tmp_path_factory.mktemp("tls")
    _make_ca(d, "ca")
    _make_ca(d, "other-ca")
    (d / "ext.cnf").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
             "-keyout", "server.key", "-out", "server.csr", cwd=d)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-extfile", "ext.cnf", "-out", "server.pem", cwd=d)
    for key in d.glob("*.key"):
        key.chmod(0o600)
    return {"ca": d / "ca.pem", "other_ca": d / "other-ca.pem", "cert": d / "server.pem", "key": d / "server.key"}


def _broker(tmp_path_factory, name: str, **security) -> TansuBroker:
    return TansuBroker(free_port(), tmp_path_factory.mktemp(name) / "tansu.log", **security)


@pytest.fixture(scope="module")
def tls_tansu(certs, tmp_path_factory):
    b = _broker(tmp_path_factory, "tls", certfile=certs["cert"], keyfile=certs["key"])
    b.start()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def sasl_tansu(tmp_path_factory):
    b = _broker(tmp_path_factory, "sasl", users={"alice": PASSWORD})
    b.start()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def sasl_ssl_tansu(certs, tmp_path_factory):
    b = _broker(tmp_path_factory, "sasl-ssl", certfile=certs["cert"], keyfile=certs["key"],
                users={"alice": PASSWORD, "parasol": PASSWORD})
    b.start()
    yield b
    b.stop()


def _settings(broker: TansuBroker, certs, **kw) -> Settings:
    base: dict = {"kafka": broker.bootstrap, "kafka_security_protocol": broker.security_protocol}
    if broker.security_protocol.endswith("SSL"):
        base["kafka_ssl_cafile"] = certs["ca"]
    if broker.security_protocol.startswith("SASL"):
        base |= {"kafka_sasl_username": "alice", "kafka_sasl_password": PASSWORD}
    return Settings(**(base | kw))


def _librdkafka_round_trip(s: Settings, n: int = 20) -> list[bytes]:
    topic = f"wire-{uuid.uuid4().hex[:8]}"
    ensure_topics(s.confluent_config(), [topic], 1)
    p = Producer({**s.confluent_config(), "linger.ms": 5})
    for i in range(n):
        p.produce(topic, key=b"k", value=f"m{i}".encode())
    assert p.flush(15) == 0
    c = Consumer({**s.confluent_config(), "group.id": "wire", "enable.auto.commit": False,
                  "fetch.wait.max.ms": 50})
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        got: list[bytes] = []
        deadline = time.monotonic() + 20
        while len(got) < n and time.monotonic() < deadline:
            msg = c.poll(0.2)
            if msg is not None and not msg.error():
                got.append(msg.value())
        return got
    finally:
        c.close()


async def _aiokafka_round_trip(s: Settings, n: int = 20) -> list[bytes]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.structs import TopicPartition as TP

    topic = f"wire-aio-{uuid.uuid4().hex[:8]}"
    ensure_topics(s.confluent_config(), [topic], 1)
    producer = AIOKafkaProducer(**s.aiokafka_config())
    await producer.start()
    try:
        for i in range(n):
            await producer.send(topic, key=b"k", value=f"a{i}".encode())
        await producer.flush()
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(**s.aiokafka_config(), enable_auto_commit=False,
                                auto_offset_reset="earliest", fetch_max_wait_ms=50)
    await consumer.start()
    try:
        consumer.assign([TP(topic, 0)])
        got: list[bytes] = []
        deadline = time.monotonic() + 20
        while len(got) < n and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                got.extend(r.value for r in records)
        return got
    finally:
        await consumer.stop()


# --- 1. TLS -----------------------------------------------------------------------------------


def test_tls_round_trip_librdkafka_and_aiokafka(tls_tansu, certs):
    s = _settings(tls_tansu, certs)
    assert s.confluent_config()["ssl.endpoint.identification.algorithm"] == "https"
    assert _librdkafka_round_trip(s) == [f"m{i}".encode() for i in range(20)]
    assert asyncio.run(_aiokafka_round_trip(s)) == [f"a{i}".encode() for i in range(20)]
    assert tls_tansu.front.stats["tls"] > 0


def test_tls_untrusted_certificate_is_a_clear_error(tls_tansu, certs):
    # The clear error comes before the deadline: a client that retried would raise TimeoutError.
    with pytest.raises(KafkaTLSError, match="certificate verify failed.*PARASOL_KAFKA_SSL_CAFILE"):
        check_kafka(_settings(tls_tansu, certs, kafka_ssl_cafile=certs["other_ca"]), timeout=5)
    # A plaintext client gets no answer from a TLS-only listener: a timeout that says so.
    with pytest.raises(TimeoutError, match="PLAINTEXT"):
        check_kafka(Settings(kafka=tls_tansu.bootstrap), timeout=2)


# --- 2. SASL ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"])
def test_sasl_round_trip(sasl_tansu, certs, mechanism):
    s = _settings(sasl_tansu, certs, kafka_sasl_mechanism=mechanism)
    before = sasl_tansu.front.stats[f"authenticated:{mechanism}"]
    assert _librdkafka_round_trip(s, 5) == [f"m{i}".encode() for i in range(5)]
    assert asyncio.run(_aiokafka_round_trip(s, 5)) == [f"a{i}".encode() for i in range(5)]
    assert sasl_tansu.front.stats[f"authenticated:{mechanism}"] > before


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "PLAIN"])
def test_sasl_ssl_round_trip(sasl_ssl_tansu, certs, mechanism):
    s = _settings(sasl_ssl_tansu, certs, kafka_sasl_mechanism=mechanism)
    assert _librdkafka_round_trip(s, 5) == [f"m{i}".encode() for i in range(5)]
    assert asyncio.run(_aiokafka_round_trip(s, 5)) == [f"a{i}".encode() for i in range(5)]
    assert sasl_ssl_tansu.front.stats[f"authenticated:{mechanism}"] > 0


def test_sasl_without_credentials_is_refused(sasl_tansu):
    # A client that does not speak SASL is dropped before any request reaches the broker.
    with pytest.raises(TimeoutError):
        check_kafka(Settings(kafka=sasl_tansu.bootstrap), timeout=2)
    assert sasl_tansu.front.stats["illegal_state"] > 0


# --- 3. wrong password: a clear error, fast ----------------------------------------------------


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "PLAIN"])
def test_wrong_password_is_a_clear_error(sasl_ssl_tansu, certs, mechanism):
    s = _settings(sasl_ssl_tansu, certs, kafka_sasl_mechanism=mechanism, kafka_sasl_password=WRONG)
    with pytest.raises(KafkaAuthenticationError) as err:  # not TimeoutError: it does not retry
        check_kafka(s, timeout=5)
    text = str(err.value)
    assert "'alice'" in text and mechanism in text and "PARASOL_KAFKA_SASL_PASSWORD" in text
    assert WRONG not in text


def test_wrong_password_aiokafka_fails_instead_of_hanging(sasl_ssl_tansu, certs):
    from aiokafka import AIOKafkaProducer
    from aiokafka.errors import KafkaConnectionError

    s = _settings(sasl_ssl_tansu, certs, kafka_sasl_mechanism="SCRAM-SHA-256", kafka_sasl_password=WRONG)

    async def start():
        producer = AIOKafkaProducer(**s.aiokafka_config())
        try:
            await asyncio.wait_for(producer.start(), 30)
        finally:
            await producer.stop()

    with pytest.raises(KafkaConnectionError):
        asyncio.run(start())


def test_worker_with_wrong_password_exits_with_the_reason(sasl_ssl_tansu, certs, stack, tmp_path):
    s = scoped(Settings(**{**stack.model_dump(), "kafka": sasl_ssl_tansu.bootstrap,
                           "kafka_security_protocol": "SASL_SSL", "kafka_ssl_cafile": certs["ca"],
                           "kafka_sasl_mechanism": "SCRAM-SHA-512", "kafka_sasl_username": "parasol",
                           "kafka_sasl_password": PASSWORD}), "wrongpw")
    bad = s.model_copy(update={"kafka_sasl_password": SecretStr(WRONG)})
    env = settings_env(bad) | {"PARASOL_WEB_PORT": str(free_port())}
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.run([sys.executable, "-m", "streams.cli", "worker"], env=env, stdout=out,
                              stderr=subprocess.STDOUT, timeout=60, check=False)
    text = log.read_text(errors="replace")
    assert proc.returncode != 0, text
    assert "rejected SASL user 'parasol' (SCRAM-SHA-512)" in text, text
    assert WRONG not in text


# --- 4 and 5. a real worker over SASL_SSL, Elasticsearch over TLS; no secret in any log --------


def _audit_events(n: int) -> list[tuple[str, bytes]]:
    return [
        ("alice", orjson.dumps({
            "@timestamp": f"2026-11-02T09:{i // 60:02d}:{i % 60:02d}Z",
            "user": {"name": "alice", "roles": ["analyst"]},
            "source": {"ip": "10.0.0.7"},
            "db": {"system": "postgresql", "instance": "pg-crm-01", "name": "crm",
                   "statement": f"SELECT name, phone FROM customers WHERE id = {i}", "rows": 1},
        }))
        for i in range(n)
    ]


def test_worker_end_to_end_over_sasl_ssl_and_es_tls(sasl_ssl_tansu, certs, stack, workers, tmp_path):
    # Elasticsearch (the embedded store) behind a TLS-only front: https with our CA.
    es_host, es_port = stack.es_host_port
    es_front = SecureFront(free_port(), (es_host, es_port), certfile=certs["cert"], keyfile=certs["key"])
    es_front.start()
    try:
        secret_dir = tmp_path / "secrets"
        secret_dir.mkdir(mode=0o700)
        (secret_dir / "kafka").write_text(PASSWORD + "\n")
        (secret_dir / "es").write_text(PASSWORD + "\n")
        s = scoped(Settings(**{
            **stack.model_dump(),
            "kafka": sasl_ssl_tansu.bootstrap, "kafka_security_protocol": "SASL_SSL",
            "kafka_ssl_cafile": certs["ca"], "kafka_sasl_mechanism": "SCRAM-SHA-512",
            "kafka_sasl_username": "parasol", "kafka_sasl_password_file": secret_dir / "kafka",
            "es": f"https://127.0.0.1:{es_front.port}", "es_ca_file": certs["ca"],
            "es_username": "parasol", "es_password_file": secret_dir / "es",
        }), "secure")
        assert s.kafka_sasl_password.get_secret_value() == PASSWORD
        # 5. the secret stays out of the settings' text forms and out of the worker's environment.
        for text in (repr(s), str(s), s.model_dump_json(), str(s.model_dump())):
            assert PASSWORD not in text
        env = settings_env(s)
        assert PASSWORD not in "".join(env.values())
        assert env["PARASOL_KAFKA_SASL_PASSWORD_FILE"] == str(secret_dir / "kafka")

        front_before = sasl_ssl_tansu.front.stats["authenticated:SCRAM-SHA-512"]
        worker = workers(s, timeout=90)
        events = _audit_events(30)
        produce(s, "db", events)
        plain_view = s.model_copy(update={"es": stack.es})  # the same indices, read over http
        wait_for(lambda: es_count(plain_view) >= len(events), 90, what="events indexed through TLS")
        assert es_count(plain_view) == len(events)
        assert sum(worker.stats()["indexed"].values()) >= len(events)
        # Every Kafka client in the worker (Faust/aiokafka, librdkafka) authenticated with SCRAM;
        # the store was reached through TLS only.
        assert sasl_ssl_tansu.front.stats["authenticated:SCRAM-SHA-512"] >= front_before + 3
        assert es_front.stats["tls"] > 0
        assert PASSWORD not in worker.log_path.read_text(errors="replace")
    finally:
        es_front.stop()


# --- Elasticsearch over TLS with the client parasol uses ----------------------------------------


def test_es_tls_with_ca_file(stack, certs):
    from elastic_transport import TlsError
    from elasticsearch import Elasticsearch

    es_host, es_port = stack.es_host_port
    front = SecureFront(free_port(), (es_host, es_port), certfile=certs["cert"], keyfile=certs["key"])
    front.start()
    try:
        url = f"https://127.0.0.1:{front.port}"
        trusted = Settings(es=url, es_ca_file=certs["ca"], es_username="parasol", es_password=PASSWORD)
        with Elasticsearch(**trusted.es_client_kwargs()) as es:
            assert es.info()["version"]["number"]
        untrusted = Settings(es=url, es_ca_file=certs["other_ca"])
        with Elasticsearch(**untrusted.es_client_kwargs()) as es, pytest.raises(TlsError, match="CERTIFICATE_VERIFY_FAILED"):
            es.info()
        with Elasticsearch(**Settings(es=url, es_verify_certs=False).es_client_kwargs()) as es:
            assert es.info()["version"]["number"]
    finally:
        front.stop()
