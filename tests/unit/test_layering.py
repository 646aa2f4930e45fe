"""Dependencies point one way (DESIGN.md §3): detectors import no Kafka, Faust or Elasticsearch
client, connectors and schemas never import streams, nothing imports the agents module."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INFRA = {"faust", "mode", "aiokafka", "confluent_kafka", "elasticsearch", "elastic_transport"}


def imports(package: str) -> dict[str, set[str]]:
    """Top-level module names imported by each file of a package."""
    found = {}
    for path in (ROOT / package).rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


def offenders(package: str, banned: set[str]) -> list[str]:
    return sorted(
        f"{file}: {name}"
        for file, names in imports(package).items()
        for name in names
        if name.split(".")[0] in banned or name in banned
    )


def test_detectors_are_pure():
    assert offenders("detectors", INFRA | {"streams", "connectors"}) == []


def test_schemas_and_connectors_do_not_import_streams():
    assert offenders("schemas", {"streams", "connectors", "detectors"} | INFRA) == []
    assert offenders("connectors", {"streams", "detectors"}) == []


def test_nothing_imports_the_agents():
    users = [f for pkg in ("streams", "connectors", "schemas", "detectors")
             for f, names in imports(pkg).items() if "streams.agents" in names]
    assert users == ["streams/cli.py"]
