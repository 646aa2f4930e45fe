"""Typed settings: environment names, derived names, secrets never in plain text."""

from __future__ import annotations

import base64
import logging
import ssl

import pytest
from pydantic import ValidationError

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
        "parasol.alerts.feedback", "parasol.rules.by-address",  # internal: analyst feedback, rule state
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


# --- security of the wires: TLS / SASL for Kafka, TLS / credentials for Elasticsearch -----------

@pytest.fixture
def clean_env(monkeypatch):
    for k in list(__import__("os").environ):
        if k.startswith("PARASOL_"):
            monkeypatch.delenv(k)
    return monkeypatch


def test_secret_files_are_read_and_stay_out_of_child_environments(clean_env, tmp_path, caplog):
    (tmp_path / "kafka").write_text("kafka-from-file\n")
    (tmp_path / "es").write_text("es-from-file")
    clean_env.setenv("PARASOL_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    clean_env.setenv("PARASOL_KAFKA_SASL_USERNAME", "svc")
    clean_env.setenv("PARASOL_KAFKA_SASL_PASSWORD_FILE", str(tmp_path / "kafka"))
    clean_env.setenv("PARASOL_ES_API_KEY_FILE", str(tmp_path / "es"))
    s = Settings()
    assert s.kafka_sasl_password.get_secret_value() == "kafka-from-file"  # trailing newline dropped
    assert s.confluent_config()["sasl.password"] == "kafka-from-file"
    assert s.es_client_kwargs()["api_key"] == "es-from-file"
    with caplog.at_level(logging.INFO):
        logging.getLogger("t").info("%s %r %s", s, s, s.model_dump_json())
    assert "from-file" not in caplog.text + repr(s) + s.model_dump_json()
    env = s.to_env({})
    assert "from-file" not in "".join(env.values())
    assert env["PARASOL_KAFKA_SASL_PASSWORD_FILE"] == str(tmp_path / "kafka")
    assert "PARASOL_KAFKA_SASL_PASSWORD" not in env and "PARASOL_ES_API_KEY" not in env
    for k, v in env.items():
        clean_env.setenv(k, v)
    assert Settings() == s


def test_secret_file_errors_are_clear_and_never_show_content(clean_env, tmp_path):
    (tmp_path / "pw").write_text("s3cret")
    with pytest.raises(ValidationError, match="set PARASOL_ES_PASSWORD or PARASOL_ES_PASSWORD_FILE, not both"):
        Settings(es_username="u", es_password="x", es_password_file=tmp_path / "pw")
    with pytest.raises(ValidationError, match="PARASOL_ES_API_KEY_FILE: cannot read .*missing"):
        Settings(es_api_key_file=tmp_path / "missing")
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ValidationError, match="PARASOL_KAFKA_SASL_PASSWORD_FILE: .* is empty"):
        Settings(kafka_sasl_password_file=tmp_path / "empty")
    try:
        Settings(es_username="u", es_password="x", es_password_file=tmp_path / "pw")
    except ValidationError as exc:
        assert "s3cret" not in str(exc)


def test_settings_that_would_silently_not_secure_anything_are_refused(clean_env):
    with pytest.raises(ValidationError, match="SASL_SSL needs PARASOL_KAFKA_SASL_USERNAME"):
        Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="u")
    with pytest.raises(ValidationError, match="would never be sent"):
        Settings(kafka_sasl_username="u", kafka_sasl_password="p")  # PLAINTEXT
    with pytest.raises(ValidationError, match="PARASOL_KAFKA_SSL_CAFILE set but .*PLAINTEXT"):
        Settings(kafka_ssl_cafile="/ca.pem")
    with pytest.raises(ValidationError, match="KEYFILE needs PARASOL_KAFKA_SSL_CERTFILE"):
        Settings(kafka_security_protocol="SSL", kafka_ssl_keyfile="/k.pem")
    with pytest.raises(ValidationError, match="non-https hosts"):
        Settings(es="http://es:9200", es_ca_file="/ca.pem")


def test_librdkafka_config_for_each_protocol(clean_env):
    assert Settings().confluent_config() == {"bootstrap.servers": "127.0.0.1:9092", "security.protocol": "PLAINTEXT"}
    s = Settings(kafka="k:9093", kafka_security_protocol="SASL_SSL", kafka_sasl_username="u",
                 kafka_sasl_password="p", kafka_ssl_cafile="/etc/ca.pem")
    assert s.kafka_sasl_mechanism == "PLAIN"  # not librdkafka's GSSAPI default
    assert s.confluent_config() == {
        "bootstrap.servers": "k:9093", "security.protocol": "SASL_SSL",
        "sasl.mechanism": "PLAIN", "sasl.username": "u", "sasl.password": "p",
        "ssl.ca.location": "/etc/ca.pem", "ssl.endpoint.identification.algorithm": "https",
    }
    s = Settings(kafka_security_protocol="SSL", kafka_ssl_check_hostname=False,
                 kafka_ssl_certfile="/c.pem", kafka_ssl_keyfile="/k.pem", kafka_ssl_key_password="kp")
    conf = s.confluent_config()
    assert conf["ssl.ca.location"] == "probe"  # the system CA store
    assert conf["ssl.endpoint.identification.algorithm"] == "none"
    assert (conf["ssl.certificate.location"], conf["ssl.key.location"], conf["ssl.key.password"]) == (
        "/c.pem", "/k.pem", "kp")
    assert "sasl.mechanism" not in conf
    s = Settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_mechanism="SCRAM-SHA-512",
                 kafka_sasl_username="u", kafka_sasl_password="p")
    assert s.confluent_config()["sasl.mechanism"] == "SCRAM-SHA-512"
    assert not any(k.startswith("ssl.") for k in s.confluent_config())
    assert s.ssl_context() is None


def test_python_clients_get_the_same_security(clean_env):
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    from streams.app import _credentials

    s = Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-256",
                 kafka_sasl_username="u", kafka_sasl_password="faust-s3cret", kafka_ssl_check_hostname=False)
    kw = s.aiokafka_config()
    assert kw["security_protocol"] == "SASL_SSL" and kw["sasl_mechanism"] == "SCRAM-SHA-256"
    assert (kw["sasl_plain_username"], kw["sasl_plain_password"]) == ("u", "faust-s3cret")
    ctx = kw["ssl_context"]
    assert isinstance(ctx, ssl.SSLContext) and ctx.verify_mode == ssl.CERT_REQUIRED and not ctx.check_hostname
    faust_kw = credentials_to_aiokafka_auth(_credentials(s))
    assert faust_kw["security_protocol"] == "SASL_SSL" and faust_kw["sasl_mechanism"] == "SCRAM-SHA-256"
    assert faust_kw["sasl_plain_password"] == "faust-s3cret"
    assert faust_kw["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    assert "faust-s3cret" not in repr(_credentials(s))
    assert credentials_to_aiokafka_auth(_credentials(Settings(kafka_security_protocol="SSL")))["security_protocol"] == "SSL"
    assert _credentials(Settings()) is None


def test_elasticsearch_kwargs_work_with_the_8x_client(clean_env):
    from elasticsearch import Elasticsearch

    encoded = base64.b64encode(b"key-id:key-secret").decode()
    s = Settings(es="https://es1:9200,https://es2:9200", es_api_key=encoded, es_ca_file="/etc/es-ca.pem")
    kw = s.es_client_kwargs()
    assert kw == {"hosts": ["https://es1:9200", "https://es2:9200"], "request_timeout": 30,
                  "api_key": encoded, "ca_certs": "/etc/es-ca.pem"}
    es = Elasticsearch(**kw)
    assert es._headers["authorization"] == f"ApiKey {encoded}"
    nodes = es.transport.node_pool.all()
    assert {n.config.ca_certs for n in nodes} == {"/etc/es-ca.pem"} and all(n.config.verify_certs for n in nodes)

    # "id:api_key" as Kibana shows it: the client encodes the pair itself, to the same header.
    raw = Settings(es="https://es:9200", es_api_key="key-id:key-secret").es_client_kwargs()
    assert raw["api_key"] == ("key-id", "key-secret")
    assert Elasticsearch(**raw)._headers["authorization"] == f"ApiKey {encoded}"

    basic = Settings(es="https://es:9200", es_username="parasol", es_password="pw", es_verify_certs=False,
                     es_client_cert="/c.pem", es_client_key="/k.pem").es_client_kwargs()
    assert basic["basic_auth"] == ("parasol", "pw")
    es = Elasticsearch(**basic)
    assert es._headers["authorization"] == "Basic " + base64.b64encode(b"parasol:pw").decode()
    node = es.transport.node_pool.all()[0].config
    assert (node.verify_certs, node.client_cert, node.client_key) == (False, "/c.pem", "/k.pem")
    # The API key wins over basic credentials when both are set.
    both = Settings(es_api_key=encoded, es_username="u", es_password="p").es_client_kwargs()
    assert "basic_auth" not in both and both["api_key"] == encoded
