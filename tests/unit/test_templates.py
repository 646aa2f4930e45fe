"""Index templates (connectors/sinks/templates.py and templates/*.json) pin CONTRACT.md's fields.

The unit tests read the JSON files; the one ``integration`` test installs the templates into a
real embedded store (noida-db, started for this module) and checks the mapping an index gets.
"""

from __future__ import annotations

import asyncio
import fnmatch
import inspect
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from importlib import resources
from pathlib import Path

import pytest

from connectors.local import free_port
from connectors.settings import INDICES
from connectors.sinks import templates
from connectors.sinks.templates import (
    FAMILIES,
    ensure_templates,
    ensure_templates_sync,
    load_template,
    put_kwargs,
    template_bodies,
)

TEMPLATE_DIR = Path(templates.__file__).with_name("templates")

# --- the contract, field by field (CONTRACT.md) ---------------------------------------------------
# "object" means an object field; the disabled ones are checked separately.

DB_AUDIT = {
    "@timestamp": "date",
    "event.id": "keyword",
    "event.outcome": "keyword",
    "event.action": "keyword",
    "user.name": "keyword",
    "user.roles": "keyword",
    "source.ip": "ip",
    "service.name": "keyword",
    "session.id": "keyword",
    "db.system": "keyword",
    "db.instance": "keyword",
    "db.name": "keyword",
    "db.statement": "text",
    "db.rows": "long",
    "db.duration_ms": "double",
    "db.error": "text",
    "db.result_sample": "object",
}

API_ACCESS = {
    "@timestamp": "date",
    "event.id": "keyword",
    "event.outcome": "keyword",
    "user.name": "keyword",
    "source.ip": "ip",
    "user_agent.original": "keyword",
    "service.name": "keyword",
    "http.request.method": "keyword",
    "url.path": "keyword",
    "http.route": "keyword",
    "url.query": "keyword",
    "http.response.status_code": "long",
    "http.response.bytes": "long",
    "event.duration_ms": "double",
    "http.response.sample": "object",
}

RISK_ALERT = {
    "@timestamp": "date",
    "event.start": "date",
    "event.end": "date",
    "event.created": "date",
    "alert.id": "keyword",
    "rule.id": "keyword",
    "rule.name": "keyword",
    "rule.kind": "keyword",
    "risk.score": "float",
    "risk.severity": "keyword",
    "user.name": "keyword",
    "source.ip": "ip",
    "service.name": "keyword",
    "db.instance": "keyword",
    "db.name": "keyword",
    "related.event_ids": "keyword",
    "threat.technique.id": "keyword",
    "explanation": "text",
}

# What the pipeline adds to an audit document (enrichment, risk, pipeline errors).
AUDIT_ENRICHMENT = {
    "event.kind": "keyword",
    "event.dataset": "keyword",
    "event.start": "date",
    "event.end": "date",
    "event.created": "date",
    "event.ingested": "date",
    "alert.id": "keyword",
    "rule.id": "keyword",
    "rule.kind": "keyword",
    "risk.score": "float",
    "risk.severity": "keyword",
    "related.event_ids": "keyword",
    "threat.technique.id": "keyword",
    "explanation": "text",
    "error.message": "text",
    "error.type": "keyword",
    "parasol": "object",
}

ASSETS = {
    "@timestamp": "date",
    "asset.id": "keyword",
    "db.instance": "keyword",
    "db.name": "keyword",
    "asset.table": "keyword",
    "asset.column": "keyword",
    "classification.category": "keyword",
    "classification.level": "keyword",
    "first_seen": "date",
    "last_seen": "date",
    "asset.readers": "keyword",
    "parasol": "object",
}

ENTITIES = {
    "@timestamp": "date",
    "entity.id": "keyword",
    "entity.type": "keyword",
    "user.name": "keyword",
    "source.ip": "ip",
    "risk.score": "float",
    "baseline": "object",
    "parasol": "object",
}

EXPECTED = {
    "audit": {**DB_AUDIT, **API_ACCESS, **AUDIT_ENRICHMENT},
    "alerts": {**RISK_ALERT, "parasol": "object"},
    "assets": ASSETS,
    "entities": ENTITIES,
}

# Multi-fields: (type, ignore_above or None).
SUBFIELDS = {
    "audit": {
        "db.statement.keyword": ("keyword", 8191),
        "url.query.text": ("match_only_text", None),
        "user_agent.original.text": ("match_only_text", None),
    },
    "alerts": {"db.statement.keyword": ("keyword", 8191)},
}

DISABLED = {"audit": {"db.result_sample", "http.response.sample"}}
DYNAMIC_OBJECTS = {f: {"parasol"} for f in INDICES} | {"entities": {"parasol", "baseline"}}


def flatten(properties: dict, prefix: str = "") -> dict[str, dict]:
    """``{"db": {"properties": {"statement": m}}}`` -> ``{"db.statement": m, ...}``.

    Object fields appear under their own path too (type ``object``); multi-fields appear as
    ``path.subfield``.
    """
    out: dict[str, dict] = {}
    for name, mapping in properties.items():
        path = f"{prefix}{name}"
        out[path] = {"type": "object", **mapping} if "type" not in mapping else mapping
        if "properties" in mapping:
            out.update(flatten(mapping["properties"], f"{path}."))
        for sub, sub_mapping in mapping.get("fields", {}).items():
            out[f"{path}.{sub}"] = sub_mapping
    return out


def fields_of(family: str) -> dict[str, dict]:
    return flatten(load_template(family)["template"]["mappings"]["properties"])


# --- the files ----------------------------------------------------------------------------------


def test_one_template_file_per_contract_index_family():
    files = {p.stem for p in TEMPLATE_DIR.glob("*.json")}
    assert files == set(INDICES) == set(FAMILIES)


def test_every_template_file_loads_and_is_shaped_like_an_index_template():
    offenders = []
    for path in sorted(TEMPLATE_DIR.glob("*.json")):
        try:
            body = json.loads(path.read_text("utf-8"))
        except ValueError as exc:
            offenders.append(f"{path.name}: {exc}")
            continue
        if "index_patterns" in body:
            offenders.append(f"{path.name}: index_patterns belong to the code (prefix)")
        if not isinstance(body.get("priority"), int):
            offenders.append(f"{path.name}: no integer priority")
        if "mappings" not in body.get("template", {}):
            offenders.append(f"{path.name}: no template.mappings")
    assert not offenders, "\n".join(offenders)


def test_template_files_are_package_data():
    # importlib.resources is how templates.py finds them (works editable and from a wheel).
    root = resources.files("connectors.sinks") / "templates"
    assert all((root / f"{f}.json").is_file() for f in FAMILIES)


@pytest.mark.parametrize("family", sorted(EXPECTED))
def test_contract_fields_have_the_right_types(family):
    fields = fields_of(family)
    offenders = [
        f"{path}: expected {want}, got {fields[path]['type'] if path in fields else 'no mapping'}"
        for path, want in EXPECTED[family].items()
        if path not in fields or fields[path]["type"] != want
    ]
    assert not offenders, f"{family}:\n" + "\n".join(offenders)


@pytest.mark.parametrize("family", sorted(SUBFIELDS))
def test_multi_fields(family):
    fields = fields_of(family)
    for path, (want_type, want_ignore_above) in SUBFIELDS[family].items():
        assert path in fields, path
        assert fields[path]["type"] == want_type, path
        assert fields[path].get("ignore_above") == want_ignore_above, path


def test_masked_samples_are_stored_but_not_indexed():
    for family, paths in DISABLED.items():
        fields = fields_of(family)
        for path in paths:
            assert fields[path] == {"type": "object", "enabled": False}, path


@pytest.mark.parametrize("family", FAMILIES)
def test_open_objects_and_dynamic_strings(family):
    mappings = load_template(family)["template"]["mappings"]
    fields = flatten(mappings["properties"])
    for path in DYNAMIC_OBJECTS[family]:
        assert fields[path]["type"] == "object" and fields[path]["dynamic"] is True, path
    assert mappings["date_detection"] is False
    string_templates = [
        t
        for entry in mappings["dynamic_templates"]
        for t in entry.values()
        if t.get("match_mapping_type") == "string"
    ]
    assert string_templates == [
        {"match_mapping_type": "string", "mapping": {"type": "keyword", "ignore_above": 1024}}
    ]


@pytest.mark.parametrize("family", FAMILIES)
def test_every_keyword_has_ignore_above_within_the_lucene_term_limit(family):
    # A keyword longer than 32766 bytes makes Elasticsearch reject the whole document;
    # 8191 characters of up to 4 UTF-8 bytes each stay below it.
    offenders = [
        path
        for path, m in fields_of(family).items()
        if m["type"] == "keyword" and not (0 < m.get("ignore_above", 0) <= 8191)
    ]
    assert not offenders, offenders


def test_a_field_has_the_same_type_in_every_family():
    # Kibana data views and cross-index searches (parasol-*) need one type per field name.
    seen: dict[str, tuple[str, str]] = {}
    offenders = []
    for family in FAMILIES:
        for path, m in fields_of(family).items():
            if path in seen and seen[path][1] != m["type"]:
                offenders.append(f"{path}: {seen[path][0]}={seen[path][1]}, {family}={m['type']}")
            seen.setdefault(path, (family, m["type"]))
    assert not offenders, "\n".join(offenders)


def test_no_shard_or_replica_counts_in_the_files():
    for family in FAMILIES:
        settings = json.dumps(load_template(family)["template"].get("settings", {}))
        assert "number_of_shards" not in settings and "number_of_replicas" not in settings


# --- template_bodies / ensure_templates ---------------------------------------------------------


@pytest.mark.parametrize("prefix", ["parasol-", "test-run-42-", ""])
def test_template_bodies_names_patterns_priority(prefix):
    bodies = template_bodies(prefix)
    assert set(bodies) == {f"{prefix}{f}" for f in FAMILIES}
    for family in FAMILIES:
        body = bodies[f"{prefix}{family}"]
        assert body["index_patterns"] == [f"{prefix}{family}*"]
        assert body["priority"] == 200
        assert body["template"]["mappings"] == load_template(family)["template"]["mappings"]
        assert "settings" not in body["template"]
        # No family's pattern captures another family's indices (overlapping composable
        # templates of equal priority are rejected by Elasticsearch).
        for other in FAMILIES:
            if other != family:
                assert not fnmatch.fnmatch(f"{prefix}{other}-2026.11.26", f"{prefix}{family}*")


def test_template_bodies_matches_settings_index_pattern():
    from connectors.settings import Settings

    s = Settings(_env_file=None)
    for body in template_bodies(s.index_prefix).values():
        family = body["_meta"]["family"]
        assert body["index_patterns"] == [s.index_pattern(family)]


def test_template_bodies_options():
    bodies = template_bodies("p-", number_of_shards=3, number_of_replicas=1, priority=500)
    for body in bodies.values():
        assert body["template"]["settings"] == {
            "index": {"number_of_shards": 3, "number_of_replicas": 1}
        }
        assert body["priority"] == 500
    only_replicas = template_bodies("p-", number_of_replicas=0)["p-audit"]["template"]["settings"]
    assert only_replicas == {"index": {"number_of_replicas": 0}}


def test_template_bodies_are_fresh_copies():
    template_bodies("a-")["a-audit"]["template"]["mappings"]["properties"].clear()
    assert template_bodies("a-")["a-audit"]["template"]["mappings"]["properties"]


def test_put_kwargs_match_the_elasticsearch_client_signature():
    from elasticsearch import AsyncElasticsearch, Elasticsearch

    for client in (Elasticsearch("http://127.0.0.1:9"), AsyncElasticsearch("http://127.0.0.1:9")):
        params = inspect.signature(client.indices.put_index_template).parameters
        for name, body in template_bodies(number_of_shards=1).items():
            kwargs = put_kwargs(name, body)
            assert set(kwargs) <= set(params), set(kwargs) - set(params)
            assert kwargs["meta"] == body["_meta"] and "body" not in kwargs


def test_put_kwargs_rejects_unknown_keys():
    with pytest.raises(ValueError, match="unexpected"):
        put_kwargs("x", {"index_patterns": ["x*"], "mappings": {}})


class _Recorder:
    def __init__(self, is_async: bool):
        self.calls: list[dict] = []

        def put(**kwargs):
            self.calls.append(kwargs)
            return {"acknowledged": True}

        async def aput(**kwargs):
            return put(**kwargs)

        self.indices = type("Indices", (), {})()
        self.indices.put_index_template = aput if is_async else put


def test_ensure_templates_sync_puts_every_family():
    es = _Recorder(is_async=False)
    names = ensure_templates_sync(es, "p-", number_of_shards=1, number_of_replicas=0)
    assert names == [f"p-{f}" for f in FAMILIES]
    assert [c["name"] for c in es.calls] == names
    assert all(c["template"]["settings"]["index"]["number_of_replicas"] == 0 for c in es.calls)


def test_ensure_templates_async_puts_every_family():
    es = _Recorder(is_async=True)
    names = asyncio.run(ensure_templates(es, "p-"))
    assert [c["name"] for c in es.calls] == names == [f"p-{f}" for f in FAMILIES]
    assert all(c["index_patterns"] == [f"{c['name']}*"] for c in es.calls)


# --- against the real embedded store ------------------------------------------------------------


def _noida_binary() -> list[str]:
    # The console script is a Python wrapper that does not forward signals to the server it
    # spawns: run the packaged binary itself so that teardown stops what setup started.
    try:
        binary = resources.files("noida_db") / "noida-db"
        if binary.is_file():
            return [str(binary)]
    except ModuleNotFoundError:
        pass
    script = shutil.which("noida-db")
    if script is None:
        pytest.fail("noida-db (a dependency of parasol) is not installed")
    return [script]


def _http(method: str, url: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"null")


@pytest.fixture(scope="module")
def es_url(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("noida-es")
    port = free_port()
    log = (data_dir / "noida.log").open("wb")
    cmd = _noida_binary() + [
        "start", "--only", "elasticsearch", "--elasticsearch-port", str(port),
        "--data-dir", str(data_dir / "data"),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"noida-db exited with {proc.returncode}: "
                            f"{(data_dir / 'noida.log').read_text(errors='replace')[-2000:]}")
            try:
                _http("GET", url + "/")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"noida-db did not answer on {url} within 60 s")
                time.sleep(0.2)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # the process group this fixture started
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)
        log.close()


def _field_type(mapping: dict, path: str) -> dict:
    node = {"properties": mapping}
    for part in path.split("."):
        node = node["properties"][part]
    return node


@pytest.mark.integration
def test_templates_install_and_shape_new_indices(es_url):
    from elasticsearch import AsyncElasticsearch, Elasticsearch

    es = Elasticsearch(es_url)
    try:
        names = ensure_templates_sync(es, "parasol-", number_of_shards=1, number_of_replicas=0)
        assert names == [f"parasol-{f}" for f in FAMILIES]
        got = es.indices.get_index_template(name="parasol-audit")["index_templates"][0]
        assert got["index_template"]["index_patterns"] == ["parasol-audit*"]
        assert got["index_template"]["_meta"]["family"] == "audit"

        # The async variant PUTs the same templates again (idempotent).
        async def _async_put():
            aes = AsyncElasticsearch(es_url)
            try:
                return await ensure_templates(aes, "parasol-")
            finally:
                await aes.close()

        assert asyncio.run(_async_put()) == names

        # A DB audit event, nested, with a masked sample and an enrichment; then an API access
        # event written with dotted keys (the contract accepts both shapes).
        db_event = {
            "@timestamp": "2026-11-26T10:00:00.123Z",
            "event": {"id": "e-1", "outcome": "success", "action": "query", "duration_ms": 3.5},
            "user": {"name": "alice", "roles": ["analyst", "reader"]},
            "source": {"ip": "10.1.2.3"},
            "service": {"name": "crm"},
            "session": {"id": "s-9"},
            "db": {
                "system": "postgresql", "instance": "pg-1", "name": "crm",
                "statement": "SELECT name, phone FROM customers WHERE id = 42",
                "rows": 1, "duration_ms": 1.25,
                "result_sample": [{"name": "张*", "phone": "138****5678"}],
            },
            "parasol": {
                "tables": ["customers"],
                "sensitive": {"categories": ["phone"], "score": 1},
            },
        }  # fmt: skip
        api_event = {
            "@timestamp": 1795687200000,
            "event.id": "e-2",
            "user.name": "bob",
            "source.ip": "2001:db8::7",
            "user_agent.original": "curl/8.5.0",
            "service.name": "orders-api",
            "http.request.method": "GET",
            "url.path": "/customers/42",
            "http.route": "/customers/{id}",
            "url.query": "fields=phone",
            "http.response.status_code": 200,
            "http.response.bytes": 512,
            "event.duration_ms": 12,
            "http.response.sample": {"phone": "138****5678"},
        }
        es.index(index="parasol-audit-x", id="e-1", document=db_event, refresh=True)
        es.index(index="parasol-audit-x", id="e-2", document=api_event, refresh=True)

        m = es.indices.get_mapping(index="parasol-audit-x")["parasol-audit-x"]["mappings"]
        props = m["properties"]
        assert _field_type(props, "source.ip")["type"] == "ip"
        statement = _field_type(props, "db.statement")
        assert statement["type"] == "text"
        assert statement["fields"]["keyword"] == {"type": "keyword", "ignore_above": 8191}
        assert _field_type(props, "db.rows")["type"] == "long"
        assert _field_type(props, "event.duration_ms")["type"] == "double"
        assert _field_type(props, "http.response.status_code")["type"] == "long"
        assert _field_type(props, "db.result_sample").get("enabled") is False
        assert "properties" not in _field_type(props, "db.result_sample")
        assert _field_type(props, "http.response.sample").get("enabled") is False
        # Enrichment under `parasol`: strings -> keyword, numbers -> double.
        assert _field_type(props, "parasol.tables")["type"] == "keyword"
        assert _field_type(props, "parasol.sensitive.score")["type"] == "double"
        # Dotted keys landed on the same fields, not on new literal "source.ip" fields.
        assert set(props) >= {"source", "user", "http", "url", "user_agent"}
        assert not any("." in name for name in props)

        # The other families get their own templates.
        es.index(
            index="parasol-alerts-x",
            id="a-1",
            document={"@timestamp": "2026-11-26T10:05:00Z", "alert": {"id": "a-1"},
                      "risk": {"score": 87.5, "severity": "high"}, "source": {"ip": "10.1.2.3"},
                      "explanation": "bulk read of phone numbers: 1200 rows vs baseline 12"},
            refresh=True,
        )  # fmt: skip
        es.index(
            index="parasol-entities-x",
            id="user:alice",
            document={"@timestamp": "2026-11-26T10:05:00Z", "entity": {"id": "user:alice",
                      "type": "user"}, "risk": {"score": 12}, "baseline": {"rows_p95": 40}},
            refresh=True,
        )  # fmt: skip
        alerts = es.indices.get_mapping(index="parasol-alerts-x")["parasol-alerts-x"]
        assert _field_type(alerts["mappings"]["properties"], "risk.score")["type"] == "float"
        assert _field_type(alerts["mappings"]["properties"], "explanation")["type"] == "text"
        entities = es.indices.get_mapping(index="parasol-entities-x")["parasol-entities-x"]
        baseline = _field_type(entities["mappings"]["properties"], "baseline.rows_p95")
        assert baseline["type"] == "double"
        settings = es.indices.get_settings(index="parasol-alerts-x")["parasol-alerts-x"]["settings"]
        assert str(settings["index"]["number_of_shards"]) == "1"
    finally:
        es.close()
