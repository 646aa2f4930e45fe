"""Validate and normalise contract events (CONTRACT.md) into one canonical nested form.

Producers may send nested or dotted keys, RFC 3339 or epoch-millisecond timestamps, numbers as
strings. Whatever arrives, a valid event leaves here nested, typed, bounded in size, with
``@timestamp`` as RFC 3339 UTC with milliseconds and a deterministic ``event.id``; an invalid one
raises :class:`InvalidEvent` with a reason code for the dead-letter topic.

>>> e = normalize_db({"@timestamp": 1767225600000, "user.name": "alice", "db.statement": "select 1"})
>>> e["@timestamp"], e["user"]["name"], e["event"]["outcome"], len(e["event"]["id"])
('2026-01-01T00:00:00.000Z', 'alice', 'success', 32)
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Callable

import orjson

from schemas.codec import OPAQUE_FIELDS

__all__ = [
    "DATASETS",
    "InvalidEvent",
    "normalize",
    "normalize_db",
    "normalize_api",
    "parse_timestamp",
    "derive_event_id",
    "Limits",
]


#: Input kind → ``event.dataset`` of its documents.
DATASETS = {"db": "db.audit", "api": "api.access"}


class InvalidEvent(ValueError):
    """A decoded message that breaks the contract. ``reason`` is a short code for the DLQ."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class Limits:
    """Size bounds; the statement limit comes from settings."""

    statement_chars = 65536
    text_chars = 8192  # error texts, user agents, query strings
    keyword_chars = 1024  # names, ids, paths
    sample_rows = 20
    objects = 256  # db.objects, db.audit.class
    parameters = 256
    roles = 64


_CANONICAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
_MIN_MS = 631152000000  # 1990-01-01: earlier is a unit mistake (seconds sent as ms), not a log
_MAX_MS = 4102444800000  # 2100-01-01


def parse_timestamp(value: Any) -> str:
    """RFC 3339 string or epoch milliseconds → ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (UTC).

    >>> parse_timestamp("2026-11-26T10:00:00+08:00")
    '2026-11-26T02:00:00.000Z'
    >>> parse_timestamp("1767225600123")
    '2026-01-01T00:00:00.123Z'
    """
    if isinstance(value, bool):
        raise InvalidEvent("invalid_field", "@timestamp: a boolean is not a time")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or not _MIN_MS <= value < _MAX_MS:
            raise InvalidEvent("invalid_field", f"@timestamp: {value!r} is not epoch milliseconds")
        dt = datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    elif isinstance(value, str) and _CANONICAL.fullmatch(value):
        # Already canonical (most producers, and every replay of our own output): check, keep.
        try:
            datetime.fromisoformat(value[:-1])
        except ValueError:
            raise InvalidEvent("invalid_field", f"@timestamp: {value!r} is not a valid time") from None
        if not "1990" <= value[:4] < "2100":
            raise InvalidEvent("invalid_field", f"@timestamp: {value!r} is out of range")
        return value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidEvent("invalid_field", f"@timestamp: {value[:64]!r} is not RFC 3339") from None
        if dt.tzinfo is None:
            raise InvalidEvent("invalid_field", "@timestamp: RFC 3339 needs a UTC offset or Z")
        dt = dt.astimezone(UTC)
        if not _MIN_MS <= dt.timestamp() * 1000 < _MAX_MS:
            raise InvalidEvent("invalid_field", f"@timestamp: {value[:64]!r} is out of range")
    else:
        raise InvalidEvent("invalid_field", f"@timestamp: {type(value).__name__} is not a time")
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


# --- field coercions: each takes (path, value) and returns the clean value or raises -------------


def _str(limit: int) -> Callable[[str, Any], str]:
    def coerce(path: str, v: Any) -> str:
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise InvalidEvent("invalid_field", f"{path}: expected a string, got {type(v).__name__}")
        s = str(v)
        if len(s) > limit:
            raise InvalidEvent("invalid_field", f"{path}: longer than {limit} characters")
        return s

    return coerce


def _int(lo: int, hi: int) -> Callable[[str, Any], int]:
    def coerce(path: str, v: Any) -> int:
        if isinstance(v, str) and v.strip().lstrip("-").isdigit():
            v = int(v)
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int):
            raise InvalidEvent("invalid_field", f"{path}: expected an integer, got {v!r:.40}")
        if not lo <= v <= hi:
            raise InvalidEvent("invalid_field", f"{path}: {v} outside [{lo}, {hi}]")
        return v

    return coerce


def _float(path: str, v: Any) -> float:
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            pass
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise InvalidEvent("invalid_field", f"{path}: expected a non-negative number, got {v!r:.40}")
    return float(v)


@lru_cache(maxsize=65536)
def _canonical_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip().strip("[]")))
    except ValueError:
        return None


def _ip(path: str, v: Any) -> str:
    ip = _canonical_ip(v) if isinstance(v, str) else None
    if ip is None:
        raise InvalidEvent("invalid_field", f"{path}: {str(v)[:64]!r} is not an IP address")
    return ip


def _roles(path: str, v: Any) -> list[str]:
    if isinstance(v, str):
        v = [r for r in v.split(",") if r.strip()]
    if not isinstance(v, list) or len(v) > Limits.roles:
        raise InvalidEvent("invalid_field", f"{path}: expected a list of at most {Limits.roles} names")
    return [_str(Limits.keyword_chars)(path, r).strip() for r in v]


def _outcome(path: str, v: Any) -> str:
    s = _str(16)(path, v).lower()
    if s not in ("success", "failure", "unknown"):
        raise InvalidEvent("invalid_field", f"{path}: {s!r} is not success, failure or unknown")
    return s


def _lower_keyword(path: str, v: Any) -> str:
    return _str(64)(path, v).strip().lower()


def _method(path: str, v: Any) -> str:
    s = _str(16)(path, v).strip().upper()
    if not s.isalpha():
        raise InvalidEvent("invalid_field", f"{path}: {s!r} is not an HTTP method")
    return s


def _rows_sample(path: str, v: Any) -> list[dict]:
    if isinstance(v, dict):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(r, dict) for r in v):
        raise InvalidEvent("invalid_field", f"{path}: expected a list of {{column: value}} rows")
    return v[: Limits.sample_rows]


def _json_sample(path: str, v: Any) -> Any:
    if not isinstance(v, (dict, list)):
        raise InvalidEvent("invalid_field", f"{path}: expected a JSON object or list")
    return v[: Limits.sample_rows] if isinstance(v, list) else v


_KEYWORD = _str(Limits.keyword_chars)
_TEXT = _str(Limits.text_chars)


def _keywords(limit: int) -> Callable[[str, Any], list[str]]:
    def coerce(path: str, v: Any) -> list[str]:
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list):
            raise InvalidEvent("invalid_field", f"{path}: expected a list of strings")
        return [_KEYWORD(path, x) for x in v[:limit]]

    return coerce


def _parameters(path: str, v: Any) -> list[str]:
    """Bind parameters: any scalars, kept as strings (they may hold personal data)."""
    if not isinstance(v, list):
        v = [v]
    return [x if isinstance(x, str) else orjson.dumps(x).decode() for x in v[: Limits.parameters]]

_COMMON: dict[str, Callable[[str, Any], Any]] = {
    "event.id": _str(256),
    "event.outcome": _outcome,
    "user.name": _KEYWORD,
    "user.roles": _roles,
    "source.ip": _ip,
    "service.name": _KEYWORD,
    # Where a source connector read the event (ECS event.module, log.file.path, log.offset)
    "event.module": _lower_keyword,
    "event.reason": _TEXT,
    "log.file.path": _TEXT,
    "log.offset": _int(0, 2**63 - 1),
}

_DB_FIELDS: dict[str, Callable[[str, Any], Any]] = {
    **_COMMON,
    "event.action": _lower_keyword,
    "session.id": _KEYWORD,
    "db.system": _lower_keyword,
    "db.instance": _KEYWORD,
    "db.name": _KEYWORD,
    "db.statement": _str(1 << 30),  # bounded (truncated) below, not rejected
    "db.rows": _int(0, 2**63 - 1),
    "db.duration_ms": _float,
    "db.error": _TEXT,
    "db.result_sample": _rows_sample,
    # What the audit source itself says about the statement (pgaudit, server_audit)
    "db.operation": _str(64),
    "db.objects": _keywords(Limits.objects),
    "db.audit.class": _keywords(Limits.objects),
    "db.audit.statement_id": _int(0, 2**63 - 1),
    "db.parameters": _parameters,
}

_API_FIELDS: dict[str, Callable[[str, Any], Any]] = {
    **_COMMON,
    "user_agent.original": _TEXT,
    "http.request.method": _method,
    "http.request.id": _KEYWORD,
    "url.path": _str(Limits.text_chars),
    "http.route": _KEYWORD,
    "url.query": _TEXT,
    "http.response.status_code": _int(100, 599),
    "http.response.bytes": _int(0, 2**63 - 1),
    "event.duration_ms": _float,
    "http.response.sample": _json_sample,
}


_ALL_PATHS = {*_DB_FIELDS, *_API_FIELDS, "parasol.unmapped", "parasol.truncated"}
_SPLIT = {p: p.split(".") for p in _ALL_PATHS}
#: Object positions of the contract (``user``, ``http.response``…): a plain value there conflicts.
_PARENTS = frozenset(".".join(parts[:i]) for parts in _SPLIT.values() for i in range(1, len(parts)))


def _put(out: dict, path: str, value: Any) -> None:
    *parents, leaf = _SPLIT.get(path) or path.split(".")
    node = out
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value


def _flatten(d: dict, flat: dict, prefix: str = "") -> dict:
    """One walk: nested and dotted keys alike become dotted paths to leaves.

    Samples (``OPAQUE_FIELDS``) and ``@`` keys stay whole. The same path given twice (nested and
    dotted) with different values is a conflict, not a silent choice.
    """
    for k, v in d.items():
        path = prefix + k
        if type(v) is dict and path not in OPAQUE_FIELDS and not k.startswith("@"):
            _flatten(v, flat, path + ".")  # an empty object adds nothing
        elif path in flat and flat[path] != v:
            raise InvalidEvent("invalid_field", f"{path}: given twice with different values")
        else:
            flat[path] = v
    return flat


def derive_event_id(dataset: str, event: dict) -> str:
    """A stable id from the normalised content: re-delivery and re-encoding give the same id."""
    body = orjson.dumps(event, option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(dataset.encode() + b"\0" + body, digest_size=16).hexdigest()


def _normalize(
    raw: dict,
    fields: dict[str, Callable[[str, Any], Any]],
    required: Callable[[dict], tuple[str, ...]],
    dataset: str,
    max_statement_chars: int,
) -> dict:
    if not isinstance(raw, dict):
        raise InvalidEvent("not_an_object", "an event must be a JSON object")
    flat = _flatten(raw, {})
    conflicts = _PARENTS.intersection(flat)
    if conflicts:
        raise InvalidEvent("invalid_field", f"{min(conflicts)}: must be an object")

    for path in flat:
        if path not in fields and "." in path:
            parts = path.split(".")
            for i in range(1, len(parts)):
                if ".".join(parts[:i]) in fields:
                    raise InvalidEvent("invalid_field", f"{'.'.join(parts[:i])}: expected a value, got an object")

    timestamp = flat.pop("@timestamp", None)
    if timestamp is None or timestamp == "":
        raise InvalidEvent("missing_field", "@timestamp is required")
    out: dict[str, Any] = {"@timestamp": parse_timestamp(timestamp)}
    for path in required(flat):
        if flat.get(path) in (None, ""):
            raise InvalidEvent("missing_field", f"{path} is required")

    extra = {}
    for path, value in flat.items():
        coerce = fields.get(path)
        if coerce is None:
            if value is not None:
                extra[path] = value
        elif value is not None:
            _put(out, path, coerce(path, value))
    if extra:
        # Kept, not dropped: an unknown field is evidence too; as one JSON string it cannot
        # break the index mapping.
        _put(out, "parasol.unmapped", orjson.dumps(extra).decode()[: Limits.text_chars])

    db = out.get("db")
    if db and len(db.get("statement", "")) > max_statement_chars:
        db["statement"] = db["statement"][:max_statement_chars]
        _put(out, "parasol.truncated", ["db.statement"])

    ev = out.setdefault("event", {})
    ev.setdefault("outcome", "success")
    ev["dataset"] = dataset
    if "id" not in ev:
        ev["id"] = derive_event_id(dataset, out)
    return out


def normalize_db(raw: dict, max_statement_chars: int = Limits.statement_chars) -> dict:
    """Validate a DB audit event (``parasol.db.audit``)."""

    def required(event: dict) -> tuple[str, ...]:
        if str(event.get("event.action")).lower() in ("login", "logout", "reveal"):
            return ("user.name",)
        return ("user.name", "db.statement")

    out = _normalize(raw, _DB_FIELDS, required, DATASETS["db"], max_statement_chars)
    out["event"].setdefault("action", "query")
    return out


def normalize_api(raw: dict, max_statement_chars: int = Limits.statement_chars) -> dict:
    """Validate an API access event (``parasol.api.access``); ``user.name`` ``-`` is anonymous."""
    fields = ("service.name", "http.request.method", "url.path", "http.response.status_code")
    out = _normalize(raw, _API_FIELDS, lambda _: fields, DATASETS["api"], max_statement_chars)
    out["event"].setdefault("action", "request")
    return out


def normalize(kind: str, raw: dict, max_statement_chars: int = Limits.statement_chars) -> dict:
    """Dispatch on the input kind: ``db`` or ``api``."""
    return (normalize_db if kind == "db" else normalize_api)(raw, max_statement_chars)
