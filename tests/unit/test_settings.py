"""Typed settings: environment names, derived names, secrets never in plain text."""

from __future__ import annotations

import logging

from connectors.settings import TOPICS, Settings


def test_contract_defaults(monkeypatch):
    for k in list(__import__("os").environ):
        if k.startswith("PARASOL_"):
            monkeypatch.delenv(k)
    s = Settings()
    assert s.kafka == "127.0.0.1:9092" and s.es == "http://127.0.0.1:9200"
    assert {s.topic(k) for k in TOPICS} == {
        "parasol.db.audit", "parasol.api.access", "parasol.masking.requests",
        "parasol.masking.decisions", "parasol.alerts", "parasol.actions", "parasol.dlq",
        "parasol.assets.observations",  # internal: the asset catalogue's partitioning
        "parasol.risk.levels",
    }
    assert s.index_pattern("audit") == "parasol-audit*"


def test_environment_prefix(monkeypatch):
    monkeypatch.setenv("PARASOL_KAFKA", "k1:9093,k2:9093")
    monkeypatch.setenv("PARASOL_ES", "https://es1:9200, https://es2:9200")
    monkeypatch.setenv("PARASOL_TOPIC_PREFIX", "acme.")
    monkeypatch.setenv("PARASOL_PARTITIONS", "12")
    s = Settings()
    assert s.kafka_host_port == ("k1", 9093)
    assert s.es_hosts == ["https://es1:9200", "https://es2:9200"]
    assert s.topic("dlq") == "acme.dlq" and s.partitions == 12


def test_secrets_never_in_repr_or_logs(monkeypatch, caplog):
    monkeypatch.setenv("PARASOL_ES_PASSWORD", "es-s3cret")
    monkeypatch.setenv("PARASOL_KAFKA_SASL_PASSWORD", "kafka-s3cret")
    monkeypatch.setenv("PARASOL_ES_API_KEY", "api-s3cret")
    s = Settings(es_username="parasol", kafka_sasl_mechanism="SCRAM-SHA-256",
                 kafka_security_protocol="SASL_SSL", kafka_sasl_username="u")
    with caplog.at_level(logging.INFO):
        logging.getLogger("t").info("settings: %s / %r / %s", s, s, s.model_dump())
    text = repr(s) + str(s) + caplog.text + str(s.model_dump())
    for secret in ("es-s3cret", "kafka-s3cret", "api-s3cret"):
        assert secret not in text
    # ...but the clients get them.
    assert s.confluent_config()["sasl.password"] == "kafka-s3cret"
    assert s.es_client_kwargs()["api_key"] == "api-s3cret"


def test_to_env_round_trips(monkeypatch):
    s = Settings(kafka="k:1", es_password="pw", partitions=7, topic_prefix="x.")
    env = s.to_env({"PATH": "/bin", "PARASOL_GROUP": "stale"})
    assert env["PATH"] == "/bin" and env["PARASOL_ES_PASSWORD"] == "pw"
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert Settings() == s
