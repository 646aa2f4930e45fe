"""Bytes <-> contract records: JSON (orjson) or Avro in the Confluent wire format (fastavro).

JSON is the contract's form (CONTRACT.md). Avro cannot name a field ``@timestamp`` or ``user.name``,
so the Avro schemas (``schemas/*.avsc``) nest the ECS objects as records and mark fields with two
extra attributes that this codec honours in both directions:

* ``"json_key": "@timestamp"`` -- the field's key in the JSON form;
* ``"json_encoded": true`` -- a string holding JSON, for free-form values Avro cannot type
  (``db.result_sample``, ``http.response.sample``, ``parasol``).

``timestamp-millis`` fields are written from RFC 3339 strings, datetimes or epoch ms and read back
as epoch ms. Optional fields that are null are dropped when decoding, so a decoded Avro record looks
like what a JSON producer would have sent. Avro records written with an older schema id are read
into the newest schema of the same name (see :meth:`SchemaRegistry.reader_for`).

>>> decode(b'{"@timestamp": 1000, "user.name": "alice"}')
{'@timestamp': 1000, 'user.name': 'alice'}
>>> raw = encode_avro({"@timestamp": "1970-01-01T00:00:01Z", "user.name": "alice"},
...                  "db_audit_event")
>>> raw[:5], decode(raw)
(b'\\x00\\x00\\x00\\x00\\x01', {'@timestamp': 1000, 'user': {'name': 'alice'}})
>>> decode(b"[1, 2]")
Traceback (most recent call last):
...
schemas.codec.DecodeError: top level is a JSON array, not an object
"""

from __future__ import annotations

import io
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import fastavro
import orjson

from schemas.registry import SchemaRegistry, UnknownSchemaId

__all__ = [
    "OPAQUE_FIELDS",
    "REASONS",
    "DecodeError",
    "FieldConflict",
    "decode",
    "default_registry",
    "encode_avro",
    "encode_json",
    "unflatten",
]

#: Every ``DecodeError.reason`` (the dead-letter ``reason`` code).
REASONS = (
    "empty",
    "invalid_utf8",
    "invalid_json",
    "not_an_object",
    "unknown_schema_id",
    "invalid_avro",
)

#: Dotted paths whose values are free-form JSON: :func:`unflatten` never splits keys inside them.
OPAQUE_FIELDS = frozenset({"db.result_sample", "http.response.sample", "parasol"})

_MAGIC = b"\x00"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


class DecodeError(ValueError):
    """Bytes that are not a contract record: ``reason`` is one of :data:`REASONS`, ``message`` the
    detail (never the payload, which may hold personal data)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(reason, message)
        self.reason = reason
        self.message = message

    def __str__(self) -> str:
        return self.message


class FieldConflict(ValueError):
    """Dotted and nested keys disagree, e.g. ``{"user": "x", "user.name": "y"}``; ``field`` is the
    dotted path. ``reason`` is ``field_conflict`` for dead-lettering."""

    reason = "field_conflict"

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field

    def __str__(self) -> str:
        return f"conflicting values for field {self.field!r}"


@cache
def default_registry() -> SchemaRegistry:
    """The packaged registry (``schemas/registry.json``), loaded once."""
    return SchemaRegistry.from_file()


# --- decoding ------------------------------------------------------------------------------------
def decode(raw: bytes, registry: SchemaRegistry | None = None) -> dict[str, Any]:
    """One Kafka value -> a dict, or :class:`DecodeError` (whatever the bytes, nothing else).

    A leading ``0x00`` byte means Confluent Avro (magic, 4-byte big-endian schema id, schemaless
    body), read with ``registry`` (default: the packaged one); anything else must be a JSON object.
    JSON is returned as sent (dotted keys stay dotted: see :func:`unflatten`); Avro comes back
    nested.
    A Schema Registry that cannot be reached raises ``OSError``: an outage is not bad data.
    """
    if not isinstance(raw, bytes):
        raw = b"" if raw is None else bytes(raw)
    if raw[:1] == _MAGIC:
        return _decode_avro(raw, registry or default_registry())
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise _json_error(raw, e) from None
    if not isinstance(obj, dict):
        kind = _JSON_TYPES.get(type(obj), "null")
        raise DecodeError("not_an_object", f"top level is a JSON {kind}, not an object")
    return obj


def _json_error(raw: bytes, error: Exception) -> DecodeError:
    if not raw.strip():
        return DecodeError("empty", "empty message")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return DecodeError("invalid_utf8", f"invalid UTF-8 at byte {e.start}")
    return DecodeError("invalid_json", f"invalid JSON: {error}")


def _decode_avro(raw: bytes, registry: SchemaRegistry) -> dict[str, Any]:
    if len(raw) < 5:
        raise DecodeError("invalid_avro", f"truncated Confluent header ({len(raw)} of 5 bytes)")
    schema_id = int.from_bytes(raw[1:5], "big")
    try:
        writer = registry.get(schema_id)
        reader = registry.reader_for(schema_id)
    except UnknownSchemaId:
        raise DecodeError("unknown_schema_id", f"unknown Avro schema id {schema_id}") from None
    body = io.BytesIO(raw[5:])
    try:
        datum = fastavro.schemaless_reader(body, writer, reader)
        if body.tell() != len(raw) - 5:
            raise ValueError(f"{len(raw) - 5 - body.tell()} trailing bytes")
        obj = _from_avro(reader or writer)(datum)
    except Exception as e:  # noqa: BLE001 - fastavro raises many types (EOFError, IndexError, ...)
        msg = f"bad Avro body for schema id {schema_id}: {type(e).__name__}: {e}"
        raise DecodeError("invalid_avro", msg) from None
    if not isinstance(obj, dict):
        raise DecodeError("not_an_object", f"Avro schema id {schema_id} is not a record")
    return obj


# --- encoding ------------------------------------------------------------------------------------
def encode_json(obj: Mapping[str, Any]) -> bytes:
    """A record as compact JSON bytes (datetimes as RFC 3339).

    >>> encode_json({"user": {"name": "alice"}, "db": {"rows": 3}})
    b'{"user":{"name":"alice"},"db":{"rows":3}}'
    """
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


def encode_avro(
    obj: Mapping[str, Any], schema_name: str, registry: SchemaRegistry | None = None
) -> bytes:
    """A record (nested, dotted or mixed keys) as Confluent Avro with the registry's newest id for
    ``schema_name``. Keys the schema does not know are dropped; a record that does not fit (missing
    required field, wrong type) raises ``ValueError`` (:class:`FieldConflict` for key conflicts)."""
    registry = registry or default_registry()
    schema_id = registry.id_for(schema_name)
    schema = registry.get(schema_id)
    buf = io.BytesIO()
    buf.write(_MAGIC + schema_id.to_bytes(4, "big"))
    datum = unflatten(obj)
    try:
        fastavro.schemaless_writer(buf, schema, _to_avro(schema)(datum))
    except Exception as e:
        detail = str(e)[:200]  # fastavro may quote the whole datum: keep logs short
        raise ValueError(f"record does not fit Avro schema {schema_name!r}: {detail}") from e
    return buf.getvalue()


def _epoch_ms(value: Any) -> int:
    """RFC 3339 string, datetime (naive = UTC) or epoch ms -> epoch ms."""
    if isinstance(value, str):
        value = int(value) if value.isdigit() else datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return (value - _EPOCH) // _MS
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    raise TypeError(f"not a timestamp: {type(value).__name__}")


def _integral(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _dumps_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


# --- unflatten -----------------------------------------------------------------------------------
def unflatten(d: Mapping[str, Any], opaque: Collection[str] = OPAQUE_FIELDS) -> dict[str, Any]:
    """Expand dotted keys into nested dicts, merged with nested objects already there.

    Keys starting with ``@`` are never split, nor keys inside the ``opaque`` paths (free-form
    values such as result samples). Equal duplicates are fine; different values for one field, or
    a scalar where an object is needed, raise :class:`FieldConflict`. The input is not modified.

    >>> unflatten({"@timestamp": 1, "user.name": "a", "user": {"roles": ["r"]}, "db": {"rows": 2}})
    {'@timestamp': 1, 'user': {'name': 'a', 'roles': ['r']}, 'db': {'rows': 2}}
    >>> unflatten({"user": "x", "user.name": "y"})
    Traceback (most recent call last):
    ...
    schemas.codec.FieldConflict: conflicting values for field 'user'
    """
    return _unflatten(d, opaque, "")


def _unflatten(d: Mapping[str, Any], opaque: Collection[str], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in d.items():
        key = str(key)
        parts = [key] if key.startswith("@") else key.split(".")
        node, path = out, prefix
        for part in parts[:-1]:
            path += part
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise FieldConflict(path)
            node, path = child, path + "."
        path += parts[-1]
        if isinstance(value, Mapping):
            value = dict(value) if path in opaque else _unflatten(value, opaque, path + ".")
        _merge(node, parts[-1], value, path)
    return out


def _merge(node: dict[str, Any], key: str, value: Any, path: str) -> None:
    if key not in node:
        node[key] = value
    elif isinstance(node[key], dict) and isinstance(value, dict):
        for k, v in value.items():
            _merge(node[key], k, v, f"{path}.{k}")
    elif node[key] != value:
        raise FieldConflict(path)


# --- schema-driven conversion between the JSON form and Avro datums ------------------------------
# Each schema compiles (once) into a function datum -> datum; ``None`` means "leave as is". The
# functions are only ever called with non-null values.

Conv = Callable[[Any], Any]
_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
_CACHE: dict[tuple[int, bool], tuple[Any, Conv]] = {}


def _from_avro(schema: Any) -> Conv:
    return _compiled(schema, to_avro=False)


def _to_avro(schema: Any) -> Conv:
    return _compiled(schema, to_avro=True)


def _compiled(schema: Any, to_avro: bool) -> Conv:
    key = (id(schema), to_avro)
    hit = _CACHE.get(key)
    if hit is None or hit[0] is not schema:
        named = schema.get("__named_schemas", {}) if isinstance(schema, dict) else {}
        conv = _compile(schema, to_avro, named, {}) or (lambda v: v)
        hit = _CACHE[key] = (schema, conv)  # keeps ``schema`` alive, so its id stays unique
    return hit[1]


def _compile(s: Any, to_avro: bool, named: dict, memo: dict[str, Conv]) -> Conv | None:
    if isinstance(s, str):
        if s in _PRIMITIVES:
            return _integral if to_avro and s in ("int", "long") else None
        if s in memo:  # a named type seen before (maybe recursive): look up at call time
            return lambda v: memo[s](v)
        return _compile(named[s], to_avro, named, memo)
    if isinstance(s, list):
        return _union(s, to_avro, named, memo)
    kind = s["type"]
    if s.get("logicalType") == "timestamp-millis":
        return _epoch_ms
    if kind == "record":
        return _record(s, to_avro, named, memo)
    if kind == "array":
        item = _compile(s["items"], to_avro, named, memo)
        return item and (lambda v: [None if x is None else item(x) for x in v])
    if kind == "map":
        val = _compile(s["values"], to_avro, named, memo)
        return val and (lambda v: {k: None if x is None else val(x) for k, x in v.items()})
    return _compile(kind, to_avro, named, memo) if kind in _PRIMITIVES else None


def _record(s: dict, to_avro: bool, named: dict, memo: dict[str, Conv]) -> Conv:
    plan: list[tuple[str, str, Conv | None]] = []

    def from_avro(datum: dict) -> dict:
        out = {}
        for name, key, conv in plan:
            value = datum.get(name)
            if value is not None:
                out[key] = conv(value) if conv else value
        return out

    def to_avro_(obj: Any) -> Any:
        if not isinstance(obj, Mapping):
            return obj  # the writer reports the mismatch
        out = {}
        for name, key, conv in plan:
            value = obj.get(key, obj.get(name))
            out[name] = conv(value) if conv and value is not None else value
        return out

    conv = to_avro_ if to_avro else from_avro
    memo[s["name"]] = conv
    for f in s["fields"]:
        if f.get("json_encoded"):
            field_conv = _dumps_json if to_avro else orjson.loads
        else:
            field_conv = _compile(f["type"], to_avro, named, memo)
        plan.append((f["name"], f.get("json_key", f["name"]), field_conv))
    return conv


def _union(branches: list, to_avro: bool, named: dict, memo: dict[str, Conv]) -> Conv | None:
    """Pick the branch by the Python type of the value."""
    real = [b for b in branches if b != "null"]
    convs = []
    for b in real:
        conv = _compile(b, to_avro, named, memo)
        if conv is not None:
            convs.append(
                (_python_types(named.get(b, b) if isinstance(b, str) else b, to_avro), conv)
            )
    if not convs:
        return None
    if len(real) == 1:
        return convs[0][1]

    def pick(value: Any) -> Any:
        for types, conv in convs:
            if isinstance(value, types):
                return conv(value)
        return value

    return pick


def _python_types(s: Any, to_avro: bool) -> tuple[type, ...]:
    """Python types of the values that a (non-null) union branch converts."""
    kind = s if isinstance(s, str) else s.get("logicalType") or s["type"]
    if kind == "timestamp-millis":
        return (str, int, float, datetime) if to_avro else (datetime,)
    if kind in ("record", "map"):
        return (Mapping,)
    return (list, tuple) if kind == "array" else (float,)  # int / long: integral floats -> int
