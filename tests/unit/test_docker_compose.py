"""docker/compose.yml and docker/Dockerfile agree with the settings and the contract.

There is no Docker engine here: the compose file is checked statically, and with
``docker-compose config`` (Debian package ``docker-compose``) when that binary is installed.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from connectors.settings import TOPICS, Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker" / "compose.yml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"

# Variables compose itself interpolates that are not worker settings.
COMPOSE_ONLY = {"PARASOL_WORKERS"}  # deploy.replicas of the worker service

# Secrets compose demands (`${VAR:?...}`); dummies are enough for `config`.
SECRETS = {"ELASTIC_PASSWORD", "KIBANA_PASSWORD", "PARASOL_ES_PASSWORD"}

_INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")


@pytest.fixture(scope="module")
def text() -> str:
    return COMPOSE.read_text("utf-8")


@pytest.fixture(scope="module")
def compose(text) -> dict:
    return yaml.safe_load(text)


def _setting_env_names() -> set[str]:
    return {f"PARASOL_{name.upper()}" for name in Settings.model_fields}


def test_parasol_variables_are_settings_fields(compose, text):
    known = _setting_env_names()
    offenders = []
    for service_name, service in compose["services"].items():
        for var in service.get("environment") or {}:
            if var.startswith("PARASOL_") and var not in known:
                offenders.append(f"services.{service_name}.environment.{var}")
    for var in sorted(set(_INTERPOLATION.findall(text))):
        if var.startswith("PARASOL_") and var not in known | COMPOSE_ONLY:
            offenders.append(f"${{{var}}}")
    assert not offenders, f"not fields of connectors.settings.Settings: {offenders}"


def test_environment_is_a_mapping_everywhere(compose):
    # The checks above read `environment` as a mapping; a list form would slip past them.
    for name, service in compose["services"].items():
        assert isinstance(service.get("environment", {}), dict), name


def test_worker_service(compose):
    worker = compose["services"]["worker"]
    assert worker["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}
    assert worker["command"] == ["worker"]
    assert worker["deploy"]["replicas"] == "${PARASOL_WORKERS:-2}"
    env = worker["environment"]
    assert set(env) >= {
        "PARASOL_KAFKA",
        "PARASOL_ES",
        "PARASOL_ES_USERNAME",
        "PARASOL_ES_PASSWORD",
        "PARASOL_PARTITIONS",
        "PARASOL_WEB_PORT",
    }
    assert env["PARASOL_KAFKA"] == "kafka:9092"
    assert env["PARASOL_ES"] == "http://elasticsearch:9200"
    # The worker declares as many partitions as topic-init creates.
    init_env = compose["services"]["topic-init"]["environment"]
    assert env["PARASOL_PARTITIONS"] == init_env["PARTITIONS"]
    assert env["PARASOL_PARTITIONS"] == "${PARASOL_PARTITIONS:-6}"
    conditions = {k: v["condition"] for k, v in worker["depends_on"].items()}
    assert conditions == {
        "topic-init": "service_completed_successfully",
        "es-setup": "service_completed_successfully",
    }
    assert "healthcheck" in worker


def test_topic_init_creates_every_contract_topic(compose):
    init = compose["services"]["topic-init"]
    settings = Settings(_env_file=None)
    script = "\n".join(init["command"])
    compacted = [settings.topic("risk_levels")]  # created apart, with cleanup.policy=compact
    created = init["environment"]["TOPICS"].split() + [t for t in compacted if f"--topic {t} " in script]
    assert sorted(created) == sorted(settings.topic(key) for key in TOPICS)
    assert "cleanup.policy=compact" in script
    assert settings.topic_prefix == "parasol."
    script = "\n".join(init["command"])
    assert "--create" in script and "--if-not-exists" in script and "$$TOPICS" in script
    assert init["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert init["image"] == compose["services"]["kafka"]["image"]


def test_kafka_is_apache_kafka_3_in_kraft_mode(compose):
    kafka = compose["services"]["kafka"]
    image, _, tag = kafka["image"].partition(":")
    assert image == "apache/kafka"
    assert tag.split(".")[0] == "3", "aiokafka (Faust) has reported problems with Kafka 4"
    env = kafka["environment"]
    assert "broker" in env["KAFKA_PROCESS_ROLES"] and "controller" in env["KAFKA_PROCESS_ROLES"]
    assert "ZOOKEEPER" not in " ".join(env)
    assert "healthcheck" in kafka


def test_elastic_stack_versions_and_no_committed_secrets(compose, text):
    services = compose["services"]
    es_image = "docker.elastic.co/elasticsearch/elasticsearch:8.15.3"
    assert services["elasticsearch"]["image"] == es_image
    assert services["kibana"]["image"] == "docker.elastic.co/kibana/kibana:8.15.3"
    es_env = services["elasticsearch"]["environment"]
    assert es_env["xpack.security.enabled"] == "true"
    assert es_env["discovery.type"] == "single-node"
    assert es_env["ELASTIC_PASSWORD"] == "${ELASTIC_PASSWORD:?set ELASTIC_PASSWORD}"
    # Every password-like value is a required interpolation, never a literal.
    for name, service in services.items():
        for var, value in (service.get("environment") or {}).items():
            if "PASSWORD" in var:
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", str(value)), f"{name}.{var}"
    for service in ("elasticsearch", "kibana"):
        assert "healthcheck" in services[service]
    assert services["kibana"]["depends_on"]["es-setup"]["condition"] == (
        "service_completed_successfully"
    )


def test_dockerfile():
    lines = [
        ln.strip()
        for ln in DOCKERFILE.read_text("utf-8").splitlines()
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    assert lines[0] == "FROM python:3.11-slim"
    assert any(ln.startswith("RUN pip install .") for ln in lines)
    users = [ln.split()[1] for ln in lines if ln.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    assert 'ENTRYPOINT ["parasol"]' in lines
    assert lines[-1] == 'CMD ["worker"]'
    # Everything the Dockerfile copies exists (README.md is pyproject's `readme`).
    for ln in lines:
        if ln.startswith("COPY "):
            for src in shlex.split(ln)[1:-1]:
                assert (ROOT / src).exists() or src == "README.md", src


def test_dockerfile_copies_the_packages_pyproject_declares():
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {p.rstrip("*") for p in include}
    copied = {
        shlex.split(ln)[1]
        for ln in DOCKERFILE.read_text("utf-8").splitlines()
        if ln.startswith("COPY ") and not ln.startswith("COPY pyproject")
    }
    assert packages <= copied, packages - copied
    assert pyproject["project"]["scripts"]["parasol"]


def test_docker_compose_config_validates():
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip(
            "docker-compose binary not found: install the Debian package `docker-compose` "
            "(apt-get install -y docker-compose) to validate docker/compose.yml"
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARASOL_")}
    env.update({name: "not-a-real-secret" for name in SECRETS})
    result = subprocess.run(
        [binary, "-f", str(COMPOSE), "config"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rendered = yaml.safe_load(result.stdout)
    assert rendered["services"]["worker"]["deploy"]["replicas"] == 2
    assert rendered["services"]["worker"]["environment"]["PARASOL_PARTITIONS"] == "6"

    # And compose refuses to render without the Elasticsearch password.
    env.pop("ELASTIC_PASSWORD")
    result = subprocess.run(
        [binary, "-f", str(COMPOSE), "config"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "set ELASTIC_PASSWORD" in result.stderr


def test_kibana_setup_imports_the_saved_objects(compose):
    """The one-shot `kibana-setup` imports docker/kibana/*.ndjson once Kibana is healthy."""
    setup = compose["services"]["kibana-setup"]
    assert setup["depends_on"] == {"kibana": {"condition": "service_healthy"}}
    assert setup["restart"] == "no"
    assert setup["volumes"] == ["./kibana:/kibana:ro"]  # relative to docker/compose.yml
    assert setup["environment"]["ELASTIC_PASSWORD"] == "${ELASTIC_PASSWORD:?set ELASTIC_PASSWORD}"
    script = "\n".join(setup["command"])
    assert "for f in /kibana/*.ndjson" in script  # the glob runs in name order: data views first
    assert "http://kibana:5601/api/saved_objects/_import?overwrite=true" in script
    assert "-H 'kbn-xsrf: true'" in script and '--form "file=@$$f"' in script
    assert "grep -q '\"success\":true'" in script  # a partial import fails the service
    ndjson = sorted(p.name for p in (ROOT / "docker" / "kibana").glob("*.ndjson"))
    assert ndjson and ndjson[0].startswith("00-data-views")
