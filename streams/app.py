"""The one place that builds the Faust app from typed settings (faust's large-project layout)."""

from __future__ import annotations

import faust

from connectors.settings import Settings
from streams.fetch_backoff import install_empty_fetch_backoff

__all__ = ["build_app", "app", "settings"]


def _credentials(s: Settings) -> faust.auth.Credentials | None:
    context = s.ssl_context()
    if s.kafka_security_protocol.startswith("SASL"):
        return faust.SASLCredentials(
            username=s.kafka_sasl_username,
            password=s.kafka_sasl_password.get_secret_value() if s.kafka_sasl_password else None,
            mechanism=s.kafka_sasl_mechanism or "PLAIN",
            ssl_context=context,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def build_app(s: Settings) -> faust.App:
    """A Faust app whose consumer group is ``s.group``; values stay raw bytes (we decode)."""
    session = s.kafka_session_timeout_s
    install_empty_fetch_backoff(s.kafka_empty_fetch_backoff_ms)
    return faust.App(
        s.group,
        broker=[f"kafka://{h.strip()}" for h in s.kafka.split(",") if h.strip()],
        broker_credentials=_credentials(s),
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=s.partitions,
        topic_replication_factor=s.replication,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=s.commit_interval_s,
        broker_session_timeout=session,
        broker_heartbeat_interval=min(3.0, session / 4),
        broker_request_timeout=max(90.0, session + 10),
        producer_acks=-1,
        web_enabled=s.web_port > 0,
        web_port=s.web_port or 6066,
        web_bind=s.web_host,
        datadir=str(s.data_dir / "faust"),
        # Workers with the same id on one host share nothing on disk: tables live in changelogs.
        store="memory://",
    )


settings = Settings()
app = build_app(settings)
