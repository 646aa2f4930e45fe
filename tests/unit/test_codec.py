"""schemas.codec and schemas.registry: JSON and Confluent-Avro round trips, dotted keys, schema
evolution, every DecodeError reason, and a random-bytes fuzz."""

from __future__ import annotations

import base64
import copy
import io
import json
import pickle
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import fastavro
import pytest

from schemas.codec import (
    OPAQUE_FIELDS,
    REASONS,
    DecodeError,
    FieldConflict,
    decode,
    encode_avro,
    encode_json,
    unflatten,
)
from schemas.registry import DEFAULT_REGISTRY_FILE, SchemaRegistry, UnknownSchemaId, load_schema

T0 = 1_764_151_200_123  # 2025-11-26T10:00:00.123Z

SAMPLES: dict[str, dict] = {
    "db_audit_event": {
        "@timestamp": T0,
        "event": {
            "id": "pg-1-778",
            "outcome": "success",
            "action": "query",
            "kind": "event",
            "ingested": T0 + 40,
        },
        "user": {"name": "alice", "roles": ["analyst", "crm_read"]},
        "source": {"ip": "10.20.0.15"},
        "service": {"name": "billing-report"},
        "session": {"id": "6740f1a2.3c1"},
        "db": {
            "system": "postgresql",
            "instance": "pg-prod-1",
            "name": "crm",
            "statement": "SELECT name, id_card, balance FROM customers WHERE city = 'Hangzhou'",
            "rows": 2,
            "duration_ms": 3.25,
            "result_sample": [
                {"name": "张三", "id_card": "11010519491231002X", "balance": 12.5, "vip": True},
                {"name": "李四", "id_card": None, "balance": 0, "vip": False},
            ],
        },
        "parasol": {"sql": {"tables": ["customers"], "fingerprint": "a1b2"}, "risk": 12},
    },
    "api_access_event": {
        "@timestamp": T0,
        "event": {"id": "gw-9f3", "outcome": "success", "duration_ms": 41.0},
        "user": {"name": "svc-portal"},
        "source": {"ip": "203.0.113.9"},
        "user_agent": {"original": "Mozilla/5.0 (X11; Linux x86_64)"},
        "service": {"name": "customer-api"},
        "http": {
            "request": {"method": "GET"},
            "route": "/customers/{id}",
            "response": {
                "status_code": 200,
                "bytes": 512,
                "sample": {"id": 7, "phone": "13800138000", "tags": ["vip"], "a.b": None},
            },
        },
        "url": {"path": "/customers/7", "query": "fields=phone,email"},
    },
    "masking_request": {
        "request_id": "req-5521",
        "@timestamp": T0,
        "user": {"name": "carol", "roles": ["support"]},
        "purpose": "ticket-8812",
        "db": {"system": "mysql", "instance": "my-shop-2", "name": "shop"},
        "columns": [{"table": "customers", "column": "phone"}, {"column": "email"}],
    },
    "masking_decision": {
        "request_id": "req-5521",
        "policy": {"version": 3},
        "columns": [
            {
                "table": "customers",
                "column": "phone",
                "action": "mask",
                "method": "partial",
                "classification": {"category": "person.phone", "level": "L3"},
            },
            {"table": "customers", "column": "email", "action": "allow"},
            {
                "table": "customers",
                "column": "id_card",
                "action": "deny",
                "classification": {"category": "person.id_card", "level": 4},
            },
        ],
    },
    "alert": {
        "@timestamp": T0,
        "event": {"start": T0 - 300_000, "end": T0, "created": T0 + 1_500},
        "alert": {"id": "c0ffee-bulk-alice", "suppressed_count": 2},
        "rule": {
            "id": "parasol.anomaly.rows_per_min",
            "name": "Unusual read volume",
            "kind": "anomaly",
        },
        "risk": {"score": 87.5, "severity": "high"},
        "user": {"name": "alice"},
        "source": {"ip": "10.20.0.15"},
        "service": {"name": "billing-report"},
        "db": {"instance": "pg-prod-1", "name": "crm"},
        "related": {"event_ids": ["pg-1-778", "pg-1-779"]},
        "threat": {"technique": {"id": "T1530"}},
        "explanation": "rows/min 4200 vs baseline 35 (p99 120)",
        "parasol": {"features": {"rows_per_min": 4200}},
    },
    "action": {
        "action": {"id": "act-77", "type": "block_user"},
        "@timestamp": T0,
        "alert": {"id": "c0ffee-bulk-alice"},
        "user": {"name": "alice"},
        "session": {"id": "6740f1a2.3c1"},
        "ttl_s": 900,
        "reason": "bulk export of personal data",
    },
    "dead_letter": {
        "@timestamp": T0,
        "event": {"id": "5f1c0e0b9d7a4c2e8f6a1b3c5d7e9f01", "kind": "pipeline_error"},
        "error": {"type": "DecodeError", "message": "invalid JSON: unexpected end of data"},
        "reason": "invalid_json",
        "source": {"topic": "parasol.db.audit", "partition": 3, "offset": 120_443, "key": "alice"},
        "raw_base64": base64.b64encode(b'{"user": {"na').decode(),
    },
}

NAMES = list(SAMPLES)


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return SchemaRegistry.load(None)


def flatten(d: dict, prefix: str = "") -> dict:
    """Every nested key dotted, except inside the opaque (free-form) fields."""
    out = {}
    for k, v in d.items():
        path = prefix + k
        if isinstance(v, dict) and path not in OPAQUE_FIELDS:
            out.update(flatten(v, path + "."))
        else:
            out[path] = v
    return out


# --- registry ------------------------------------------------------------------------------------
def test_packaged_registry_covers_every_schema(registry):
    spec = json.loads(DEFAULT_REGISTRY_FILE.read_text())
    ids = [e["id"] for e in spec["schemas"]]
    assert len(ids) == len(set(ids))
    assert sorted(e["name"] for e in spec["schemas"]) == sorted(NAMES)
    for name in NAMES:
        schema = registry.schema(name)
        assert schema is registry.get(registry.id_for(name))
        assert schema["name"] == f"parasol.{name}"
        assert registry.name_of(registry.id_for(name)) == name
        assert load_schema(name)["name"] == schema["name"]
    with pytest.raises(UnknownSchemaId):
        registry.get(424242)
    with pytest.raises(KeyError):
        registry.id_for("no_such_schema")
    with pytest.raises(KeyError):
        load_schema("../registry")


def test_optional_fields_default_to_null():
    for name in NAMES:
        for field in _all_fields(load_schema(name)):
            if isinstance(field["type"], list):
                assert field["type"][0] == "null" and field["default"] is None, (
                    name,
                    field["name"],
                )


def _all_fields(schema):
    stack = [schema]
    while stack:
        s = stack.pop()
        if isinstance(s, list):
            stack.extend(s)
        elif isinstance(s, dict):
            if s.get("type") == "record":
                for f in s["fields"]:
                    yield f
                    stack.append(f["type"])
            elif s.get("type") == "array":
                stack.append(s["items"])


# --- round trips ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_json_round_trip(name):
    record = SAMPLES[name]
    assert decode(encode_json(record)) == record


@pytest.mark.parametrize("name", NAMES)
def test_avro_round_trip(name, registry):
    record = SAMPLES[name]
    raw = encode_avro(record, name, registry)
    assert raw[0] == 0 and int.from_bytes(raw[1:5], "big") == registry.id_for(name)
    assert decode(raw, registry) == record


@pytest.mark.parametrize("name", NAMES)
def test_avro_accepts_dotted_and_mixed_keys(name, registry):
    record = SAMPLES[name]
    flat = flatten(record)
    mixed = {k: v for k, v in flat.items() if not k.startswith(("user.", "db."))}
    mixed.update({k: v for k, v in record.items() if k in ("user", "db")})
    nested = encode_avro(record, name, registry)
    assert encode_avro(flat, name, registry) == nested
    assert encode_avro(mixed, name, registry) == nested


def test_avro_timestamps_from_rfc3339_and_datetime(registry):
    from datetime import UTC, datetime

    alert = copy.deepcopy(SAMPLES["alert"])
    alert["@timestamp"] = "2025-11-26T10:00:00.123Z"
    alert["event"] = {
        "start": "2025-11-26T17:55:00.123+08:00",
        "end": datetime(2025, 11, 26, 10, 0, 0, 123000, tzinfo=UTC),
        "created": "2025-11-26T10:00:01.623",  # no offset: UTC
    }
    out = decode(encode_avro(alert, "alert", registry), registry)
    assert out["@timestamp"] == T0
    assert out["event"] == SAMPLES["alert"]["event"]


def test_avro_drops_unknown_keys_and_rejects_misfits(registry):
    record = {**SAMPLES["action"], "not_in_schema": 1}
    assert decode(encode_avro(record, "action", registry), registry) == SAMPLES["action"]
    with pytest.raises(ValueError, match="does not fit"):
        encode_avro({"@timestamp": T0}, "db_audit_event", registry)  # user.name is required
    with pytest.raises(ValueError, match="does not fit"):
        encode_avro({"@timestamp": "yesterday", "user.name": "a"}, "db_audit_event", registry)


def test_login_event_without_statement(registry):
    login = {
        "@timestamp": T0,
        "event": {"action": "login", "outcome": "failure"},
        "user": {"name": "mallory"},
        "db": {"system": "mariadb", "error": "Access denied for user 'mallory'@'10.0.0.9'"},
    }
    assert decode(encode_avro(login, "db_audit_event", registry), registry) == login


# --- dotted vs nested ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_dotted_json_unflattens_to_nested(name):
    record = SAMPLES[name]
    assert unflatten(decode(encode_json(flatten(record)))) == record
    assert unflatten(record) == record


def test_unflatten_merges_and_keeps_opaque_and_at_keys():
    src = {
        "@timestamp": T0,
        "@metadata.beat": "x",
        "user": {"name": "a"},
        "user.roles": ["r"],
        "http.response.sample": {"a.b": 1},
        "http": {"response.status_code": 200},
        "db.name": "crm",
        "db": {"name": "crm"},  # an equal duplicate is fine
    }
    before = copy.deepcopy(src)
    assert unflatten(src) == {
        "@timestamp": T0,
        "@metadata.beat": "x",
        "user": {"name": "a", "roles": ["r"]},
        "http": {"response": {"sample": {"a.b": 1}, "status_code": 200}},
        "db": {"name": "crm"},
    }
    assert src == before


@pytest.mark.parametrize(
    "src",
    [
        {"user": "x", "user.name": "y"},
        {"user.name": "y", "user": "x"},
        {"user": {"name": "a"}, "user.name": "b"},
        {"user.name": "a", "user.name.first": "b"},
    ],
)
def test_unflatten_conflicts(src):
    with pytest.raises(FieldConflict) as e:
        unflatten(src)
    assert isinstance(e.value, ValueError) and e.value.field.startswith("user")
    assert e.value.reason == "field_conflict"


# --- schema evolution ----------------------------------------------------------------------------
def _evolution_registry(tmp_path: Path) -> tuple[SchemaRegistry, dict]:
    v2 = json.loads(Path(DEFAULT_REGISTRY_FILE.parent, "db_audit_event.avsc").read_text())
    v1 = copy.deepcopy(v2)
    v1["fields"] = [f for f in v1["fields"] if f["name"] not in ("parasol", "session")]
    v2["fields"].append({"name": "tenant", "type": "string", "default": "default"})
    (tmp_path / "audit_v1.avsc").write_text(json.dumps(v1))
    (tmp_path / "audit_v2.avsc").write_text(json.dumps(v2))
    (tmp_path / "registry.json").write_text(
        json.dumps(
            {
                "schemas": [
                    {"id": 12, "name": "db_audit_event", "file": "audit_v2.avsc"},
                    {"id": 11, "name": "db_audit_event", "file": "audit_v1.avsc"},
                    {
                        "id": 5,
                        "name": "alert",
                        "file": str(DEFAULT_REGISTRY_FILE.parent / "alert.avsc"),
                    },
                ]
            }
        )
    )
    return SchemaRegistry.load(str(tmp_path / "registry.json")), v1


def test_old_schema_id_decodes_with_newest_reader(tmp_path):
    registry, v1 = _evolution_registry(tmp_path)
    assert registry.id_for("db_audit_event") == 12
    assert registry.reader_for(11) is registry.schema("db_audit_event")
    assert registry.reader_for(12) is None

    # an old producer: v1 schema (no session, no parasol), id 11
    old = {k: v for k, v in SAMPLES["db_audit_event"].items() if k not in ("session", "parasol")}
    datum = copy.deepcopy(old)
    datum["timestamp"] = datum.pop("@timestamp")
    datum["db"]["result_sample"] = json.dumps(datum["db"]["result_sample"])
    buf = io.BytesIO(b"\x00" + (11).to_bytes(4, "big"))
    buf.seek(5)
    fastavro.schemaless_writer(buf, fastavro.parse_schema(v1), datum)

    assert decode(buf.getvalue(), registry) == {**old, "tenant": "default"}

    # a current producer writes id 12, and its records read back unchanged
    new = {**SAMPLES["db_audit_event"], "tenant": "acme"}
    raw = encode_avro(new, "db_audit_event", registry)
    assert int.from_bytes(raw[1:5], "big") == 12
    assert decode(raw, registry) == new
    # ids of other names are untouched
    assert decode(encode_avro(SAMPLES["alert"], "alert", registry), registry) == SAMPLES["alert"]


# --- Confluent Schema Registry over HTTP -------------------------------------------------------
@pytest.fixture
def confluent():
    """A tiny in-process stand-in for Confluent Schema Registry (GET ids, POST versions)."""
    state = {"schemas": {}, "subjects": {}, "gets": 0}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _reply(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            state["gets"] += 1
            sid = int(self.path.rsplit("/", 1)[-1])
            if sid in state["schemas"]:
                body = state["schemas"][sid]
                self._reply(200, body if isinstance(body, dict) else {"schema": body})
            else:
                self._reply(404, {"error_code": 40403, "message": "Schema not found"})

        def do_POST(self):
            subject = self.path.split("/")[2]
            text = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["schema"]
            for sid, known in state["schemas"].items():
                if known == text:
                    break
            else:
                sid = 100 + len(state["schemas"])
                state["schemas"][sid] = text
            state["subjects"][subject] = sid
            self._reply(200, {"id": sid})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", state
    server.shutdown()
    server.server_close()


def test_confluent_registry(confluent):
    url, state = confluent
    registry = SchemaRegistry.load(url)
    raw = encode_avro(SAMPLES["alert"], "alert", registry)
    sid = int.from_bytes(raw[1:5], "big")
    assert state["subjects"] == {"parasol.alerts-value": sid}
    assert encode_avro(SAMPLES["alert"], "alert", registry) == raw  # id cached: one POST

    # another process (fresh client) reads it: one GET, then cached
    reader = SchemaRegistry.from_url(url)
    assert decode(raw, reader) == SAMPLES["alert"]
    assert decode(raw, reader) == SAMPLES["alert"]
    assert state["gets"] == 1
    assert reader.reader_for(sid) is None  # same schema as the packaged one: no resolution

    # an older writer version registered by someone else still decodes into the packaged reader
    v1 = json.loads(Path(DEFAULT_REGISTRY_FILE.parent, "action.avsc").read_text())
    v1["fields"] = [f for f in v1["fields"] if f["name"] != "ttl_s"]
    state["schemas"][7] = json.dumps(v1)
    old = {k: v for k, v in SAMPLES["action"].items() if k != "ttl_s"}
    datum = {**old, "timestamp": T0}
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(v1), datum)
    assert decode(b"\x00" + (7).to_bytes(4, "big") + buf.getvalue(), reader) == old

    # a schema of another namespace is read with its writer schema
    foreign = {"type": "record", "name": "acme.ping", "fields": [{"name": "n", "type": "long"}]}
    state["schemas"][8] = json.dumps(foreign)
    assert decode(b"\x00\x00\x00\x00\x08\x54", reader) == {"n": 42}

    # unknown ids and non-Avro schemas are bad data, not errors of the reader
    state["schemas"][9] = {"schemaType": "PROTOBUF", "schema": "syntax = 'proto3';"}
    for sid in (999, 9, 999):
        with pytest.raises(DecodeError) as e:
            decode(b"\x00" + sid.to_bytes(4, "big") + buf.getvalue(), reader)
        assert e.value.reason == "unknown_schema_id"
    assert state["gets"] == 5  # 999 is not asked twice


def test_unreachable_registry_is_not_bad_data():
    registry = SchemaRegistry.from_url("http://127.0.0.1:9", timeout=1)
    with pytest.raises(OSError):
        decode(b"\x00\x00\x00\x00\x01\x02", registry)


# --- errors --------------------------------------------------------------------------------------
def _avro(registry, name="action"):
    return encode_avro(SAMPLES[name], name, registry)


@pytest.mark.parametrize(
    "reason, raw",
    [
        ("invalid_json", b'{"@timestamp": 1764151200123, "user": {"name": "al'),
        ("invalid_json", b'{"user.name": alice}'),
        ("invalid_utf8", b'{"a":"\xff"}'),
        ("invalid_utf8", '{"user.name": "张三"}'.encode("gbk")),
        ("not_an_object", b'[{"@timestamp": 1764151200123, "user.name": "alice"}]'),
        ("not_an_object", b'"alice"'),
        ("not_an_object", b"null"),
        ("empty", b""),
        ("empty", b"  \r\n"),
        ("empty", None),
        ("invalid_avro", b"\x00\x00\x00"),
    ],
)
def test_decode_error_reasons(reason, raw, registry):
    with pytest.raises(DecodeError) as e:
        decode(raw, registry)
    assert e.value.reason == reason and e.value.message


def test_avro_error_reasons(registry):
    raw = _avro(registry)
    unknown = raw[:1] + (999).to_bytes(4, "big") + raw[5:]
    for bad, reason in [
        (unknown, "unknown_schema_id"),
        (raw[:-3], "invalid_avro"),  # truncated body
        (raw[:5], "invalid_avro"),  # header only
        (raw + b"\x00", "invalid_avro"),  # trailing bytes
    ]:
        with pytest.raises(DecodeError) as e:
            decode(bad, registry)
        assert e.value.reason == reason, bad


def test_decode_error_is_a_value_error_and_pickles():
    err = DecodeError("invalid_json", "invalid JSON: unexpected end of data")
    assert isinstance(err, ValueError) and str(err) == err.message
    copy_ = pickle.loads(pickle.dumps(err))
    assert (copy_.reason, copy_.message) == (err.reason, err.message)
    assert set(REASONS) == {
        "invalid_utf8",
        "invalid_json",
        "not_an_object",
        "unknown_schema_id",
        "invalid_avro",
        "empty",
    }


def test_fuzz_random_bytes_raise_only_decode_error(registry):
    rnd = random.Random(20251126)
    valid = [_avro(registry, name) for name in NAMES] + [encode_json(s) for s in SAMPLES.values()]
    seen = set()
    for i in range(3000):
        kind = i % 4
        if kind == 0:  # random bytes
            raw = rnd.randbytes(rnd.randrange(0, 64))
        elif kind == 1:  # random Avro-looking: magic + random id / body
            raw = b"\x00" + rnd.randbytes(rnd.randrange(0, 64))
        elif kind == 2:  # known id, random body
            raw = (
                b"\x00\x00\x00\x00"
                + bytes([rnd.randrange(1, 8)])
                + rnd.randbytes(rnd.randrange(0, 64))
            )
        else:  # a valid message with a few bytes flipped or cut
            raw = bytearray(rnd.choice(valid))
            for _ in range(rnd.randrange(1, 4)):
                raw[rnd.randrange(len(raw))] = rnd.randrange(256)
            raw = bytes(raw[: rnd.randrange(1, len(raw) + 1)])
        try:
            out = decode(raw, registry)
        except DecodeError as e:
            assert e.reason in REASONS
            seen.add(e.reason)
        else:
            assert isinstance(out, dict)
    assert {"invalid_utf8", "invalid_avro", "unknown_schema_id", "invalid_json"} <= seen
