"""Typed settings: one object, environment prefix ``PARASOL_`` (CONTRACT.md, DESIGN.md §9).

Secrets are ``SecretStr``: they print as ``**********`` in logs and ``repr``. Each secret can also
come from a file (``PARASOL_<NAME>_FILE``, e.g. a mounted Docker/Kubernetes secret), so that it
need not sit in the environment at all.

>>> s = Settings(_env_file=None, es_password="hunter2")
>>> "hunter2" in repr(s)
False
>>> s.topic("db.audit")
'parasol.db.audit'
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "TOPICS", "INDICES", "SECRET_FILES"]

#: Secrets that may be given as a file instead: secret field → field holding the file's path.
SECRET_FILES = {
    "kafka_sasl_password": "kafka_sasl_password_file",
    "kafka_ssl_key_password": "kafka_ssl_key_password_file",
    "es_api_key": "es_api_key_file",
    "es_password": "es_password_file",
}

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
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, description="SASL mechanism; PLAIN when a SASL protocol is chosen without one"
    )
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_sasl_password_file: Path | None = Field(None, description="file holding the SASL password")
    kafka_ssl_cafile: Path | None = Field(
        None, description="CA bundle (PEM) that signed the brokers' certificates (default: the system's)"
    )
    kafka_ssl_certfile: Path | None = Field(None, description="client certificate (PEM) for mutual TLS")
    kafka_ssl_keyfile: Path | None = Field(None, description="client private key (PEM) for mutual TLS")
    kafka_ssl_key_password: SecretStr | None = None
    kafka_ssl_key_password_file: Path | None = None
    kafka_ssl_check_hostname: bool = Field(
        True, description="verify that a broker's certificate names the host connected to"
    )
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
    es_api_key: SecretStr | None = Field(
        None, description="API key: the base64 'encoded' value, or 'id:api_key'"
    )
    es_api_key_file: Path | None = None
    es_username: str | None = None
    es_password: SecretStr | None = None
    es_password_file: Path | None = None
    es_ca_file: Path | None = Field(None, description="CA bundle (PEM) for https:// Elasticsearch")
    es_verify_certs: bool = Field(True, description="verify the server certificate (https only)")
    es_client_cert: Path | None = Field(None, description="client certificate (PEM) for mutual TLS")
    es_client_key: Path | None = Field(None, description="client private key (PEM) for mutual TLS")
    index_prefix: str = "parasol-"

    # --- pipeline ------------------------------------------------------------------------------
    batch_size: int = Field(1000, ge=1, description="events per Faust take() batch / ES bulk")
    batch_within_s: float = Field(0.5, gt=0, description="max wait to fill a batch")
    commit_interval_s: float = Field(
        2.8, gt=0, description="how often a worker commits the offsets of events it has written"
    )
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
    detection: bool = Field(
        True, description="run the rule and baseline stages (off: index only; for benchmarks and triage)"
    )
    ueba_windows_s: str = Field("60,3600", description="UEBA tumbling window lengths in seconds, comma-separated")
    ueba_lateness_s: float = Field(
        60.0, ge=0, description="events up to this much behind the watermark still fold into their window"
    )
    batch_refit_s: float = Field(
        900.0, gt=0, description="the PyOD batch model is refitted on recent windows this often"
    )
    retention_audit_days: int | None = Field(90, ge=1, description="ILM: delete audit indices after (none: keep)")
    retention_alerts_days: int | None = Field(365, ge=1, description="ILM: delete alert indices after (none: keep)")
    site_timezone: str = Field(
        "Asia/Shanghai", description="IANA zone of business hours for rules with tz: site (off-hours access)"
    )
    webhook_url: str | None = Field(None, description="POST new alerts here (SOAR / IM), with retries")
    webhook_token: SecretStr | None = Field(None, description="bearer token for the webhook")
    webhook_min_severity: Literal["low", "medium", "high", "critical"] = "high"

    # --- worker / local stack ------------------------------------------------------------------
    web_port: int = Field(6066, description="Faust web port of a worker (0 disables it)")
    web_host: str = Field("127.0.0.1", description="address the worker's web endpoints bind to")
    log_level: str = Field("info")
    log_format: Literal["text", "json"] = Field("text", description="json: one ECS-named JSON object per log line")
    shutdown_timeout_s: float = Field(15.0, gt=0, description="a worker stop taking longer ends the process")
    data_dir: Path = Field(Path.home() / ".parasol", description="embedded stack data and pid files")

    @field_validator("topic_prefix", "index_prefix")
    @classmethod
    def _no_spaces(cls, v: str) -> str:
        if any(c.isspace() for c in v):
            raise ValueError("prefixes may not contain whitespace")
        return v

    @model_validator(mode="after")
    def _security(self) -> Settings:
        """Read ``*_FILE`` secrets and refuse settings that would silently not secure anything."""
        for secret, file_field in SECRET_FILES.items():
            path = getattr(self, file_field)
            if path is None:
                continue
            env, env_file = f"PARASOL_{secret.upper()}", f"PARASOL_{file_field.upper()}"
            if getattr(self, secret) is not None:
                raise ValueError(f"set {env} or {env_file}, not both")
            try:
                value = Path(path).expanduser().read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise ValueError(f"{env_file}: cannot read {path}: {exc.strerror}") from None
            if not value:
                raise ValueError(f"{env_file}: {path} is empty")
            object.__setattr__(self, secret, SecretStr(value))

        protocol = self.kafka_security_protocol
        if protocol.startswith("SASL"):
            if not self.kafka_sasl_username or self.kafka_sasl_password is None:
                raise ValueError(
                    f"PARASOL_KAFKA_SECURITY_PROTOCOL={protocol} needs PARASOL_KAFKA_SASL_USERNAME and "
                    "PARASOL_KAFKA_SASL_PASSWORD (or PARASOL_KAFKA_SASL_PASSWORD_FILE)"
                )
            if self.kafka_sasl_mechanism is None:
                object.__setattr__(self, "kafka_sasl_mechanism", "PLAIN")
        elif self.kafka_sasl_username or self.kafka_sasl_password is not None:
            raise ValueError(
                f"Kafka SASL credentials are set but PARASOL_KAFKA_SECURITY_PROTOCOL={protocol}: they "
                "would never be sent; use SASL_SSL (or SASL_PLAINTEXT)"
            )
        ssl_files = [f for f in ("kafka_ssl_cafile", "kafka_ssl_certfile", "kafka_ssl_keyfile") if getattr(self, f)]
        if ssl_files and protocol not in ("SSL", "SASL_SSL"):
            raise ValueError(
                f"{', '.join('PARASOL_' + f.upper() for f in ssl_files)} set but "
                f"PARASOL_KAFKA_SECURITY_PROTOCOL={protocol} does not use TLS; use SSL or SASL_SSL"
            )
        if self.kafka_ssl_keyfile and not self.kafka_ssl_certfile:
            raise ValueError("PARASOL_KAFKA_SSL_KEYFILE needs PARASOL_KAFKA_SSL_CERTFILE")

        tls_files = [f for f in ("es_ca_file", "es_client_cert", "es_client_key") if getattr(self, f)]
        plain = [h for h in self.es_hosts if not h.lower().startswith("https://")]
        if tls_files and plain:
            raise ValueError(
                f"{', '.join('PARASOL_' + f.upper() for f in tls_files)} set but PARASOL_ES has "
                f"non-https hosts {plain}: TLS would not be used"
            )
        return self

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
        dumped = self.model_dump()
        for name, value in dumped.items():
            if value is None:
                continue
            if SECRET_FILES.get(name) and dumped.get(SECRET_FILES[name]) is not None:
                continue  # the child reads the file itself: the secret stays out of its environment
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[f"PARASOL_{name.upper()}"] = str(value)
        return env

    def confluent_config(self) -> dict[str, object]:
        """librdkafka client configuration (security included, secrets revealed only here)."""
        protocol = self.kafka_security_protocol
        conf: dict[str, object] = {"bootstrap.servers": self.kafka, "security.protocol": protocol}
        if protocol.startswith("SASL"):
            conf["sasl.mechanism"] = self.kafka_sasl_mechanism or "PLAIN"
            conf["sasl.username"] = self.kafka_sasl_username or ""
            if self.kafka_sasl_password is not None:
                conf["sasl.password"] = self.kafka_sasl_password.get_secret_value()
        if protocol in ("SSL", "SASL_SSL"):
            # "probe": the system CA store (librdkafka's bundled OpenSSL does not know where it is).
            conf["ssl.ca.location"] = str(self.kafka_ssl_cafile) if self.kafka_ssl_cafile else "probe"
            conf["ssl.endpoint.identification.algorithm"] = "https" if self.kafka_ssl_check_hostname else "none"
            if self.kafka_ssl_certfile:
                conf["ssl.certificate.location"] = str(self.kafka_ssl_certfile)
            if self.kafka_ssl_keyfile:
                conf["ssl.key.location"] = str(self.kafka_ssl_keyfile)
            if self.kafka_ssl_key_password is not None:
                conf["ssl.key.password"] = self.kafka_ssl_key_password.get_secret_value()
        return conf

    def retention_days(self) -> dict[str, int | None]:
        """ILM retention per index family (``ensure_templates``)."""
        return {"audit": self.retention_audit_days, "alerts": self.retention_alerts_days,
                "assets": None, "entities": None}

    def ssl_context(self):
        """TLS context for Python Kafka clients (aiokafka, Faust), or None without TLS."""
        if self.kafka_security_protocol not in ("SSL", "SASL_SSL"):
            return None
        import ssl

        context = ssl.create_default_context(cafile=str(self.kafka_ssl_cafile) if self.kafka_ssl_cafile else None)
        context.check_hostname = self.kafka_ssl_check_hostname
        if self.kafka_ssl_certfile:
            context.load_cert_chain(
                str(self.kafka_ssl_certfile),
                str(self.kafka_ssl_keyfile) if self.kafka_ssl_keyfile else None,
                password=self.kafka_ssl_key_password.get_secret_value() if self.kafka_ssl_key_password else None,
            )
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
        """Keyword arguments for ``elasticsearch.(Async)Elasticsearch`` 8.x (secrets revealed only here).

        An API key is passed as Elasticsearch shows it: the base64 ``encoded`` value as is, or
        ``id:api_key`` as the ``(id, api_key)`` pair the client encodes itself.
        """
        kw: dict[str, object] = {"hosts": self.es_hosts, "request_timeout": 30}
        if self.es_api_key is not None:
            key = self.es_api_key.get_secret_value()
            # The base64 alphabet has no ':', so a colon means the raw "id:api_key" form.
            kw["api_key"] = tuple(key.split(":", 1)) if ":" in key else key
        elif self.es_username:
            pw = self.es_password.get_secret_value() if self.es_password else ""
            kw["basic_auth"] = (self.es_username, pw)
        if self.es_ca_file:
            kw["ca_certs"] = str(self.es_ca_file)
        if not self.es_verify_certs:
            kw["verify_certs"] = False
            kw["ssl_show_warn"] = False
        if self.es_client_cert:
            kw["client_cert"] = str(self.es_client_cert)
        if self.es_client_key:
            kw["client_key"] = str(self.es_client_key)
        return kw
