"""Schema ids <-> Avro schemas, from a local JSON file or a Confluent Schema Registry.

The Confluent wire format names the writer schema by an integer id. A registry maps ids to parsed
schemas (``fastavro.parse_schema``) and names (``db_audit_event``, ``alert``, ...). Several ids may
share a name (versions of one schema); the newest one is the *reader* schema that decoding resolves
older records into, so old-id records decode with the fields of the current schema.

>>> reg = SchemaRegistry.load(None)
>>> reg.id_for("db_audit_event"), reg.name_of(7)
(1, 'dead_letter')
>>> reg.schema("alert")["name"]
'parasol.alert'
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import to_parsing_canonical_form

__all__ = [
    "DEFAULT_REGISTRY_FILE",
    "SUBJECT_TOPICS",
    "SchemaRegistry",
    "UnknownSchemaId",
    "load_schema",
]

_HERE = Path(__file__).parent
DEFAULT_REGISTRY_FILE = _HERE / "registry.json"

#: Schema name -> contract topic (without prefix), for Confluent subjects ``<topic>-value``.
SUBJECT_TOPICS = {
    "db_audit_event": "db.audit",
    "api_access_event": "api.access",
    "masking_request": "masking.requests",
    "masking_decision": "masking.decisions",
    "alert": "alerts",
    "action": "actions",
    "dead_letter": "dlq",
}

Schema = dict[str, Any]


class UnknownSchemaId(LookupError):
    """No schema is registered under this id."""


@cache
def load_schema(name: str) -> Schema:
    """The packaged ``schemas/<name>.avsc``, parsed (cached).

    >>> load_schema("action")["name"]
    'parasol.action'
    """
    return _parse(json.loads(_packaged_text(name)))


def _packaged_text(name: str) -> str:
    path = _HERE / f"{name}.avsc"
    if not name.isidentifier() or not path.is_file():
        raise KeyError(f"no packaged schema named {name!r}")
    return path.read_text()


def _canonical(schema: Any) -> str:
    return to_parsing_canonical_form(schema)


def _parse(schema: Any) -> Schema:
    return fastavro.parse_schema(schema)


def _name_of(schema: Any) -> str | None:
    """``parasol.alert`` -> ``alert``; other namespaces keep their full name (no packaged reader)."""
    full = schema.get("name") if isinstance(schema, dict) else None
    return full.removeprefix("parasol.") if full else None


class SchemaRegistry:
    """Schema ids <-> parsed schemas and names; build with :meth:`load`, :meth:`from_file` or
    :meth:`from_url`."""

    def __init__(self, entries: Iterable[tuple[int, str, Schema]] = ()) -> None:
        self._by_id: dict[int, tuple[str, Schema]] = {}
        self._newest: dict[str, int] = {}
        for schema_id, name, schema in entries:
            self.add(schema_id, name, schema)

    def add(self, schema_id: int, name: str, schema: Schema | str) -> None:
        """Register ``schema`` (raw JSON text, dict or parsed) under ``schema_id`` and ``name``."""
        if isinstance(schema, str):
            schema = json.loads(schema)
        parsed = schema if schema.get("__fastavro_parsed") else _parse(schema)
        self._by_id[schema_id] = (name, parsed)
        if schema_id >= self._newest.get(name, schema_id):
            self._newest[name] = schema_id

    # --- look-ups -----------------------------------------------------------------------------
    def get(self, schema_id: int) -> Schema:
        """The parsed schema with this id; raises :class:`UnknownSchemaId`."""
        try:
            return self._by_id[schema_id][1]
        except KeyError:
            raise UnknownSchemaId(f"unknown schema id {schema_id}") from None

    def name_of(self, schema_id: int) -> str:
        self.get(schema_id)
        return self._by_id[schema_id][0]

    def id_for(self, name: str) -> int:
        """Id of the newest schema called ``name`` (what encoders write)."""
        try:
            return self._newest[name]
        except KeyError:
            raise KeyError(f"no schema named {name!r} in the registry") from None

    def schema(self, name: str) -> Schema:
        """The newest parsed schema called ``name``."""
        return self.get(self.id_for(name))

    def reader_for(self, schema_id: int) -> Schema | None:
        """Reader schema for records written with ``schema_id``: the newest schema of the same name,
        or ``None`` when that is the writer schema itself (no resolution needed)."""
        writer = self.get(schema_id)
        try:
            reader = self.schema(self.name_of(schema_id))
        except KeyError:
            return None
        return None if reader is writer else reader

    # --- constructors -------------------------------------------------------------------------
    @classmethod
    def from_file(cls, path: str | Path | None = None) -> SchemaRegistry:
        """Read ``{"schemas": [{"id": 1, "name": "...", "file": "x.avsc"}, ...]}``; files are
        relative to the JSON file. Default: the packaged ``schemas/registry.json``."""
        path = Path(path) if path else DEFAULT_REGISTRY_FILE
        spec = json.loads(path.read_text())
        reg = cls()
        for entry in spec["schemas"]:
            schema = json.loads((path.parent / entry["file"]).read_text())
            reg.add(int(entry["id"]), entry["name"], schema)
        return reg

    @classmethod
    def from_url(
        cls, url: str, topic_prefix: str = "parasol.", timeout: float = 10.0
    ) -> SchemaRegistry:
        """A Confluent Schema Registry at ``url`` (ids fetched on demand and cached)."""
        return _HttpSchemaRegistry(url, topic_prefix, timeout)

    @classmethod
    def load(cls, spec: str | Path | None = None, **kwargs: Any) -> SchemaRegistry:
        """A registry URL (``http(s)://...``), a registry JSON file, or ``None``: the packaged one."""
        if isinstance(spec, str) and spec.startswith(("http://", "https://")):
            return cls.from_url(spec, **kwargs)
        return cls.from_file(spec or None)


class _HttpSchemaRegistry(SchemaRegistry):
    """Confluent Schema Registry client: ``GET /schemas/ids/{id}`` to read, ``POST
    /subjects/<topic>-value/versions`` (idempotent) to get the id of a packaged schema. Reader
    schemas are the packaged ones. Network failures raise ``OSError`` (not ``UnknownSchemaId``),
    so a registry outage is never mistaken for bad data. Calls block, once per id (then cached)."""

    _MAX_MISSES = 10_000

    def __init__(self, url: str, topic_prefix: str, timeout: float) -> None:
        super().__init__()
        self.url = url.rstrip("/")
        self.topic_prefix = topic_prefix
        self.timeout = timeout
        self._misses: set[int] = set()

    def _request(self, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path,
            data=data,
            headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
            method="POST" if data is not None else "GET",
        )
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            return json.loads(resp.read())

    def get(self, schema_id: int) -> Schema:
        if schema_id not in self._by_id:
            if schema_id in self._misses:
                raise UnknownSchemaId(f"unknown schema id {schema_id}")
            try:
                resp = self._request(f"/schemas/ids/{int(schema_id)}")
                if resp.get("schemaType", "AVRO") != "AVRO":
                    raise ValueError(f"a {resp['schemaType']} schema")
                schema = _parse(json.loads(resp["schema"]))
            except urllib.error.HTTPError as e:
                if e.code != 404:
                    raise
                self._miss(schema_id)
                raise UnknownSchemaId(f"unknown schema id {schema_id}") from None
            except OSError:
                raise
            except Exception as e:  # noqa: BLE001 - not a usable Avro schema
                self._miss(schema_id)
                raise UnknownSchemaId(f"schema id {schema_id} is not usable: {e}") from None
            name = _name_of(schema) or str(schema_id)
            try:  # the packaged schema itself? then share the object: no resolution when reading
                if _canonical(schema) == _canonical(load_schema(name)):
                    schema = load_schema(name)
            except KeyError:
                pass
            # a fetched id is a writer version, not the newest: _newest is left untouched
            self._by_id[schema_id] = (name, schema)
        return self._by_id[schema_id][1]

    def _miss(self, schema_id: int) -> None:
        if len(self._misses) >= self._MAX_MISSES:
            self._misses.clear()
        self._misses.add(schema_id)

    def id_for(self, name: str) -> int:
        if name not in self._newest:
            schema = load_schema(name)
            subject = f"{self.topic_prefix}{SUBJECT_TOPICS.get(name, name)}-value"
            body = {"schema": _packaged_text(name)}
            schema_id = int(self._request(f"/subjects/{subject}/versions", body)["id"])
            self._by_id[schema_id] = (name, schema)
            self._newest[name] = schema_id
        return self._newest[name]

    def schema(self, name: str) -> Schema:
        return load_schema(name)
