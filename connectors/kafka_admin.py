"""Kafka administration: wait for a broker, create the contract topics.

Works against Apache Kafka, the embedded noida-db broker and Tansu. Existence is always checked with
a metadata request for *all* topics: both embedded brokers auto-create a topic when asked for its
metadata by name (noida-db with 1 partition, Tansu with 4), which would silently defeat
``ensure_topics``.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from connectors.settings import TOPICS

if TYPE_CHECKING:
    from connectors.settings import Settings

__all__ = [
    "contract_topics",
    "ensure_topics",
    "wait_for_kafka",
    "check_kafka",
    "KafkaSecurityError",
    "KafkaAuthenticationError",
    "KafkaTLSError",
    "TOPIC_CONFIG",
]

log = logging.getLogger(__name__)


def contract_topics(settings: Settings) -> list[str]:
    """All CONTRACT.md topics with the configured prefix.

    >>> from connectors.settings import Settings
    >>> contract_topics(Settings(_env_file=None))[:2]
    ['parasol.db.audit', 'parasol.api.access']
    """
    return [settings.topic(name) for name in TOPICS.values()]


def _admin(conf: dict, quiet: bool = False) -> AdminClient:
    # While a broker is starting, librdkafka logs every refused connection to stderr; the probe
    # reports the last error itself, so it runs with logging down to emergencies only.
    return AdminClient({**conf, "log_level": 0} if quiet else dict(conf))


def wait_for_kafka(conf: dict, timeout: float = 15) -> None:
    """Block until a metadata request to the broker in ``conf`` succeeds.

    Raises ``TimeoutError`` naming the bootstrap servers and the last error after ``timeout`` s.
    """
    deadline = time.monotonic() + timeout
    admin = _admin(conf, quiet=True)
    last: object = "no answer"
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(
                f"Kafka at {conf.get('bootstrap.servers')} did not answer a metadata request "
                f"within {timeout:g}s (last error: {last})"
            )
        try:
            admin.list_topics(timeout=max(min(left, 1.0), 0.05))
            return
        except KafkaException as exc:
            last = exc.args[0] if exc.args else exc
            time.sleep(min(0.05, max(deadline - time.monotonic(), 0)))


class KafkaSecurityError(ConnectionError):
    """Kafka answered, but refused this client's TLS or SASL settings: retrying will not help."""


class KafkaAuthenticationError(KafkaSecurityError):
    """The broker rejected the SASL credentials."""


class KafkaTLSError(KafkaSecurityError):
    """The TLS handshake with the broker failed (certificate not trusted, wrong host, not TLS, …)."""


def check_kafka(settings: Settings, timeout: float = 15) -> int:
    """Connect to Kafka as ``settings`` say (security included) and return the number of brokers.

    Fails fast and clearly where a client library would retry forever: raises
    :class:`KafkaAuthenticationError` as soon as the broker rejects the SASL credentials and
    :class:`KafkaTLSError` as soon as a TLS handshake fails (the messages name the settings to
    check, never a secret), and ``TimeoutError`` when no broker answers within ``timeout`` s.
    """
    errors: list[KafkaError] = []
    conf = {**settings.confluent_config(), "log_level": 0, "error_cb": errors.append}
    servers = settings.kafka
    admin = AdminClient(conf)
    deadline = time.monotonic() + timeout
    last: object = "no answer"
    while True:
        try:
            return len(admin.list_topics(timeout=max(min(deadline - time.monotonic(), 0.5), 0.05)).brokers)
        except KafkaException as exc:
            last = exc.args[0] if exc.args else exc
        admin.poll(0)  # serves error_cb
        for err in errors:
            if err.code() == KafkaError._AUTHENTICATION:
                raise KafkaAuthenticationError(
                    f"Kafka at {servers} rejected SASL user {settings.kafka_sasl_username!r} "
                    f"({settings.kafka_sasl_mechanism}): {err.str()}. Check PARASOL_KAFKA_SASL_USERNAME, "
                    "PARASOL_KAFKA_SASL_PASSWORD (or PARASOL_KAFKA_SASL_PASSWORD_FILE) and "
                    "PARASOL_KAFKA_SASL_MECHANISM"
                )
            if err.code() == KafkaError._SSL:
                raise KafkaTLSError(
                    f"TLS handshake with Kafka at {servers} failed: {err.str()}. Check "
                    "PARASOL_KAFKA_SECURITY_PROTOCOL, PARASOL_KAFKA_SSL_CAFILE and the broker's certificate"
                )
        if errors:
            last = errors[-1].str()
        errors.clear()
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"Kafka at {servers} ({settings.kafka_security_protocol}) did not answer a metadata "
                f"request within {timeout:g}s (last error: {last})"
            )


#: Contract topics accept values up to 8 MiB at the broker, so that an oversized audit record
#: reaches the pipeline and is dead-lettered with its reason instead of failing at the producer.
TOPIC_CONFIG = {"max.message.bytes": str(8 * 1024 * 1024)}


def _config_for(name: str) -> dict[str, str]:
    # State topics keep the latest value per key forever (a risk level, like a table changelog).
    if name.endswith(TOPICS["risk_levels"]):
        return {**TOPIC_CONFIG, "cleanup.policy": "compact"}
    return TOPIC_CONFIG


def ensure_topics(
    conf: dict,
    names: list[str],
    partitions: int,
    replication: int = 1,
    timeout: float = 15,
    config: dict[str, str] | None = None,
) -> list[str]:
    """Create the missing topics among ``names``; return those created by this call.

    Idempotent: topics that exist (or that another client creates concurrently) are left as they
    are; an existing topic with fewer partitions than asked is logged, not altered, because adding
    partitions changes where keys land. Returns once every name shows in the broker's metadata.
    """
    deadline = time.monotonic() + timeout
    admin = _admin(conf)
    existing = admin.list_topics(timeout=timeout).topics
    for name in names:
        if name in existing and len(existing[name].partitions) < partitions:
            log.warning(
                "topic %s has %d partitions, fewer than the %d configured",
                name,
                len(existing[name].partitions),
                partitions,
            )
    missing = [n for n in dict.fromkeys(names) if n not in existing]
    created: list[str] = []
    if missing:
        futures = admin.create_topics(
            [NewTopic(n, partitions, replication, config=config or _config_for(n)) for n in missing],
            operation_timeout=timeout,
            request_timeout=timeout,
        )
        for name, future in futures.items():
            try:
                future.result()
                created.append(name)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
    # Creation is acknowledged by the controller; wait until metadata shows the topics too, so
    # that producers started right after this call don't hit UNKNOWN_TOPIC_OR_PART.
    while True:
        topics = admin.list_topics(timeout=max(deadline - time.monotonic(), 1)).topics
        absent = [n for n in names if n not in topics or topics[n].error is not None]
        if not absent:
            return created
        if time.monotonic() >= deadline:
            raise TimeoutError(f"topics not visible in metadata after {timeout:g}s: {absent}")
        time.sleep(0.05)
