"""Typed settings: one object, environment prefix ``PARASOL_`` (CONTRACT.md, DESIGN.md §9).

Secrets are ``SecretStr``: they print as ``**********`` in logs and ``repr``.

>>> s = Settings(_env_file=None, es_password="hunter2")
>>> "hunter2" in repr(s)
False
>>> s.topic("db.audit")
'parasol.db.audit'
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "TOPICS", "INDICES"]

#: Contract topics (CONTRACT.md), without the prefix.
TOPICS = {
    "db_audit": "db.audit",
    "api_access": "api.access",
    "masking_requests": "masking.requests",
    "masking_decisions": "masking.decisions",
    "alerts": "alerts",
    "actions": "actions",
    "dlq": "dlq",
    # Internal: per-batch asset evidence, keyed by asset so the catalogue table is partitioned by
    # asset (one message per asset per batch, not per event).
    "asset_observations": "assets.observations",
    # Subjects' current risk levels (compacted, keyed by user): read by every worker into a
    # global table; written by `parasol risk set` and, later, the baseline and rule stages.
    "risk_levels": "risk.levels",
    # Analysts' verdicts on alerts (`parasol alerts close`), keyed by user.name like the inputs,
    # so a verdict reaches the worker that holds that user's rule and baseline state.
    "alert_feedback": "alerts.feedback",
    # Events that rules keyed by address need (failed logins for password spraying), re-keyed by
    # source.ip: the inputs are keyed by user, so one partition sees only part of an address.
    "by_address": "rules.by-address",
}

#: Contract index families (CONTRACT.md), without the prefix.
INDICES = ("audit", "alerts", "assets", "entities")


class Settings(BaseSettings):
    """Everything a worker, the CLI and the embedded stack need to reach Kafka and Elasticsearch."""

    model_config = SettingsConfigDict(env_prefix="PARASOL_", env_file=None, extra="ignore")

    # --- Kafka -------------------------------------------------------------------------------
    kafka: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    kafka_empty_fetch_backoff_ms: float = Field(
        10.0, ge=0, description="pause after a fetch that returned nothing (0: off)"
    )
    topic_prefix: str = "parasol."
    partitions: int = Field(4, ge=1, description="partitions of each contract topic")
    replication: int = Field(1, ge=1)
    group: str = Field("parasol", description="consumer group (Faust app id) shared by workers")
    kafka_session_timeout_s: float = Field(
        30.0, ge=3, description="a worker that stops heartbeating loses its partitions after this"
    )

    # --- Elasticsearch -----------------------------------------------------------------------
    es: str = Field("http://127.0.0.1:9200", description="Elasticsearch URL(s), comma-separated")
    es_api_key: SecretStr | None = None
    es_username: str | None = None
    es_password: SecretStr | None = None
    es_ca_file: Path | None = None
    index_prefix: str = "parasol-"

    # --- pipeline ------------------------------------------------------------------------------
    batch_size: int = Field(1000, ge=1, description="events per Faust take() batch / ES bulk")
    batch_within_s: float = Field(0.5, gt=0, description="max wait to fill a batch")
    bulk_max_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    bulk_in_flight: int = Field(
        2, ge=1, description="batches being written to Elasticsearch while the next is prepared"
    )
    max_event_bytes: int = Field(1024 * 1024, ge=1024, description="larger values are dead-lettered")
    max_statement_chars: int = Field(65536, ge=256)
    es_retry_max_backoff_s: float = Field(30.0, gt=0)
    schema_registry: str | None = Field(
        None, description="Avro schema ids: a JSON registry file path or a Schema Registry URL"
    )
    output_format: Literal["json", "avro"] = "json"
    # --- masking ---------------------------------------------------------------------------------
    policy_file: Path | None = Field(None, description="masking policy YAML (default: the packaged one)")
    masking_keys: SecretStr | None = Field(
        None, description="masking keys 'id:base64,id2:base64' (HMAC/tokenize); default: a key file in data_dir"
    )
    masking_key_id: str | None = Field(None, description="id of the key new hashes/tokens use (default: the last)")
    index_view_role: str = Field(
        "soc_analyst", description="role as which result samples are masked before they are indexed"
    )
    catalogue_flush_s: float = Field(
        30.0, ge=0, description="repeat asset evidence (counts, last seen) is pooled this long per worker"
    )
    entity_index_every_s: float = Field(
        30.0, ge=0, description="an entity's parasol-entities document is refreshed at most this often"
    )
    webhook_url: str | None = Field(None, description="POST new alerts here (SOAR / IM), with retries")
    webhook_token: SecretStr | None = Field(None, description="bearer token for the webhook")
    webhook_min_severity: Literal["low", "medium", "high", "critical"] = "high"

    # --- worker / local stack ------------------------------------------------------------------
    web_port: int = Field(6066, description="Faust web port of a worker (0 disables it)")
    web_host: str = Field("127.0.0.1", description="address the worker's web endpoints bind to")
    log_level: str = Field("info")
    shutdown_timeout_s: float = Field(15.0, gt=0, description="a worker stop taking longer ends the process")
    data_dir: Path = Field(Path.home() / ".parasol", description="embedded stack data and pid files")

    @field_validator("topic_prefix", "index_prefix")
    @classmethod
    def _no_spaces(cls, v: str) -> str:
        if any(c.isspace() for c in v):
            raise ValueError("prefixes may not contain whitespace")
        return v

    # --- derived names -------------------------------------------------------------------------
    def topic(self, name: str) -> str:
        """Full topic name for a contract topic (``db.audit`` or its key ``db_audit``)."""
        return self.topic_prefix + TOPICS.get(name, name)

    def index(self, family: str, suffix: str = "") -> str:
        """Full index name, e.g. ``parasol-audit-2026.11.26``; ``suffix`` is appended after a dash."""
        base = f"{self.index_prefix}{family}"
        return f"{base}-{suffix}" if suffix else base

    def index_pattern(self, family: str) -> str:
        return f"{self.index_prefix}{family}*"

    @property
    def es_hosts(self) -> list[str]:
        return [h.strip() for h in self.es.split(",") if h.strip()]

    @property
    def kafka_host_port(self) -> tuple[str, int]:
        """The first bootstrap server as (host, port)."""
        first = self.kafka.split(",")[0].strip().removeprefix("kafka://")
        host, _, port = first.rpartition(":")
        return host or "127.0.0.1", int(port or 9092)

    @property
    def es_host_port(self) -> tuple[str, int]:
        from urllib.parse import urlsplit

        u = urlsplit(self.es_hosts[0])
        return u.hostname or "127.0.0.1", u.port or (443 if u.scheme == "https" else 9200)

    def to_env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """An environment (``base`` without its ``PARASOL_*`` keys) that recreates these settings
        in a child process, e.g. a ``parasol worker``. Secrets are revealed only into it."""
        env = {k: v for k, v in (base or {}).items() if not k.startswith("PARASOL_")}
        for name, value in self.model_dump().items():
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[f"PARASOL_{name.upper()}"] = str(value)
        return env

    def confluent_config(self) -> dict[str, object]:
        """librdkafka client configuration (security included, secrets revealed only here)."""
        conf: dict[str, object] = {
            "bootstrap.servers": self.kafka,
            "security.protocol": self.kafka_security_protocol,
        }
        if self.kafka_sasl_mechanism:
            conf["sasl.mechanism"] = self.kafka_sasl_mechanism
            conf["sasl.username"] = self.kafka_sasl_username or ""
            if self.kafka_sasl_password:
                conf["sasl.password"] = self.kafka_sasl_password.get_secret_value()
        if self.kafka_ssl_cafile:
            conf["ssl.ca.location"] = str(self.kafka_ssl_cafile)
        if self.kafka_ssl_certfile:
            conf["ssl.certificate.location"] = str(self.kafka_ssl_certfile)
        if self.kafka_ssl_keyfile:
            conf["ssl.key.location"] = str(self.kafka_ssl_keyfile)
        return conf

    def ssl_context(self):
        """TLS context for Python Kafka clients (aiokafka, Faust), or None without TLS."""
        if self.kafka_security_protocol not in ("SSL", "SASL_SSL"):
            return None
        import ssl

        context = ssl.create_default_context(cafile=str(self.kafka_ssl_cafile) if self.kafka_ssl_cafile else None)
        if self.kafka_ssl_certfile:
            context.load_cert_chain(str(self.kafka_ssl_certfile), str(self.kafka_ssl_keyfile or "") or None)
        return context

    def aiokafka_config(self) -> dict[str, object]:
        """aiokafka client keyword arguments (security included, secrets revealed only here)."""
        kw: dict[str, object] = {"bootstrap_servers": self.kafka, "security_protocol": self.kafka_security_protocol}
        if self.kafka_security_protocol in ("SSL", "SASL_SSL"):
            kw["ssl_context"] = self.ssl_context()
        if self.kafka_security_protocol.startswith("SASL"):
            kw["sasl_mechanism"] = self.kafka_sasl_mechanism or "PLAIN"
            kw["sasl_plain_username"] = self.kafka_sasl_username
            kw["sasl_plain_password"] = self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else None
        return kw

    def masking_key_material(self) -> tuple[dict[str, bytes], str]:
        """Masking keys by id and the id new hashes/tokens use.

        From ``PARASOL_MASKING_KEYS`` (``id:base64[,id:base64…]``; rotate by appending a new key
        and pointing ``PARASOL_MASKING_KEY_ID`` at it — old tokens still reveal with their key).
        Without it, a random key kept in ``<data_dir>/masking.key`` (mode 0600), so pseudonyms
        stay stable across restarts of a single-machine setup.
        """
        import base64
        import os

        keys: dict[str, bytes] = {}
        if self.masking_keys is not None:
            for part in self.masking_keys.get_secret_value().split(","):
                kid, _, b64 = part.strip().partition(":")
                if not kid or not b64:
                    raise ValueError("PARASOL_MASKING_KEYS: expected 'id:base64[,id:base64…]'")
                keys[kid] = base64.b64decode(b64)
        else:
            path = Path(self.data_dir).expanduser() / "masking.key"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(base64.b64encode(os.urandom(32)))
            keys["local"] = base64.b64decode(path.read_bytes())
        current = self.masking_key_id or list(keys)[-1]
        if current not in keys:
            raise ValueError(f"PARASOL_MASKING_KEY_ID {current!r} is not among the masking keys")
        return keys, current

    def es_client_kwargs(self) -> dict[str, object]:
        """Keyword arguments for ``elasticsearch.(Async)Elasticsearch`` (secrets revealed only here)."""
        kw: dict[str, object] = {"hosts": self.es_hosts, "request_timeout": 30}
        if self.es_api_key:
            kw["api_key"] = self.es_api_key.get_secret_value()
        elif self.es_username:
            pw = self.es_password.get_secret_value() if self.es_password else ""
            kw["basic_auth"] = (self.es_username, pw)
        if self.es_ca_file:
            kw["ca_certs"] = str(self.es_ca_file)
        return kw
