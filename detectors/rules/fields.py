"""Dotted field access and event time, shared by conditions, windows and alerts.

Events arrive nested (``{"user": {"name": "alice"}}``) or with dotted keys (``{"user.name":
"alice"}``, CONTRACT.md accepts both), so a path lookup tries both at every level. Lists in the
middle of a path fan out (``db.result_sample.phone`` on a list of rows gives every row's value).

>>> get({"user": {"name": "alice"}}, "user.name"), get({"user.name": "bob"}, "user.name")
('alice', 'bob')
>>> get({"a": [{"b": 1}, {"b": 2}]}, "a.b"), get({}, "x.y") is MISSING
([1, 2], True)
>>> event_time({"@timestamp": "2026-11-20T10:00:00.000Z"}), event_time({"@timestamp": 1795168800000})
(1795168800.0, 1795168800.0)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import lru_cache
from typing import Any

__all__ = ["MISSING", "event_time", "get", "getter", "iso", "parse_duration", "present", "values"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


#: What a lookup returns for an absent field (distinct from an explicit ``None``).
MISSING: Any = _Missing()


def _lookup(obj: Any, parts: tuple[str, ...], i: int) -> Any:
    n = len(parts)
    while i < n:
        if isinstance(obj, dict):
            p = parts[i]
            if p in obj:
                nxt = obj[p]
                if i + 1 == n:
                    return nxt
                found = _lookup(nxt, parts, i + 1)
                if found is not MISSING:
                    return found
            # dotted keys: "user.name" at this level, or "parasol.sql" then ".operation"
            for j in range(n, i + 1, -1):
                k = ".".join(parts[i:j])
                if k in obj:
                    return obj[k] if j == n else _lookup(obj[k], parts, j)
            return MISSING
        if isinstance(obj, list):
            out = []
            for item in obj:
                v = _lookup(item, parts, i)
                if v is MISSING:
                    continue
                if isinstance(v, list):
                    out.extend(v)
                else:
                    out.append(v)
            return out if out else MISSING
        return MISSING
    return obj


@lru_cache(maxsize=4096)
def getter(path: str) -> Callable[[Any], Any]:
    """A compiled lookup for ``path`` (cheaper than :func:`get` in a loop).

    It walks nested dicts; on a miss it tries the rest of the path as one dotted key
    (``{"user.name": …}``, ``{"parasol": {"sql.command": …}}``, precomputed), so an absent
    field — most fields of most events for most rules — costs a couple of dict lookups. Lists
    fan out as in :func:`get`. (:func:`get` also finds keys dotted in the middle of a path.)"""
    parts = tuple(path.split("."))
    n = len(parts)
    rests = tuple(".".join(parts[i:]) for i in range(n))
    _M = MISSING
    if n == 1:
        key = parts[0]

        def get1(obj: Any) -> Any:
            if type(obj) is dict:
                return obj.get(key, _M)
            return _lookup(obj, parts, 0) if isinstance(obj, (list, dict)) else _M

        return get1
    if n == 2:
        a, b = parts

        def get2(obj: Any) -> Any:
            if type(obj) is dict:
                inner = obj.get(a, _M)
                if type(inner) is dict:
                    return inner.get(b, _M)
                if inner is _M:
                    return obj.get(path, _M)
            return _lookup(obj, parts, 0) if isinstance(obj, (list, dict)) else _M

        return get2
    if n == 3:
        a, b, c = parts
        bc = rests[1]

        def get3(obj: Any) -> Any:
            if type(obj) is dict:
                x = obj.get(a, _M)
                if type(x) is dict:
                    y = x.get(b, _M)
                    if type(y) is dict:
                        return y.get(c, _M)
                    if y is _M:
                        return x.get(bc, _M)
                elif x is _M:
                    return obj.get(path, _M)
            return _lookup(obj, parts, 0) if isinstance(obj, (list, dict)) else _M

        return get3

    def get_fast(obj: Any) -> Any:
        cur = obj
        for i in range(n):
            if type(cur) is dict:
                nxt = cur.get(parts[i], MISSING)
                if nxt is MISSING:
                    if i + 1 < n:
                        v = cur.get(rests[i], MISSING)
                        if v is not MISSING:
                            return v
                    return MISSING
                cur = nxt
            else:
                return _lookup(cur, parts, i) if isinstance(cur, (list, dict)) else MISSING
        return cur

    return get_fast


def get(obj: Any, path: str, default: Any = MISSING) -> Any:
    """Value at a dotted ``path`` (``default`` when absent)."""
    v = getter(path)(obj)
    if v is MISSING:
        v = _lookup(obj, tuple(path.split(".")), 0)
    return default if v is MISSING else v


def present(value: Any) -> bool:
    """Set in the sense of a SOC query: not absent, not null, not an empty string or list."""
    return value is not MISSING and value is not None and value != "" and value != [] \
        and value != ()


def values(value: Any) -> list:
    """A field value as a list (ECS fields may hold one value or many)."""
    if value is MISSING or value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]


@lru_cache(maxsize=8192)
def _parse_iso(text: str) -> float:
    t = text.strip()
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    d = dt.datetime.fromisoformat(t)
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.UTC)
    return d.timestamp()


def event_time(event: Any, default: float | None = None) -> float | None:
    """The event's ``@timestamp`` as epoch seconds (RFC 3339 text or epoch milliseconds).

    Event time, never the wall clock: a replay must give the same answers as live traffic."""
    v = get(event, "@timestamp")
    if v is MISSING or v is None or v == "":
        return default
    try:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v) / 1000.0
        if isinstance(v, str):
            if v.isdigit():
                return float(v) / 1000.0
            return _parse_iso(v)
    except (ValueError, OverflowError):
        return default
    return default


def iso(ts: float) -> str:
    """Epoch seconds → RFC 3339 UTC with milliseconds (``2026-11-20T10:00:00.000Z``)."""
    d = dt.datetime.fromtimestamp(ts, dt.UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> float:
    """``"15m"``, ``"1h"``, ``"30d"``, ``"500ms"`` or a number of seconds → seconds.

    >>> parse_duration("15m"), parse_duration(90), parse_duration("1.5h")
    (900.0, 90.0, 5400.0)
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"negative duration {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise TypeError(f"not a duration: {value!r}")
    text = value.strip().lower()
    for unit in ("ms", "s", "m", "h", "d", "w"):
        if text.endswith(unit):
            number = text[: -len(unit)].strip()
            try:
                n = float(number)
            except ValueError:
                continue
            if n < 0:
                raise ValueError(f"negative duration {value!r}")
            return n * _UNITS[unit]
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"not a duration: {value!r} (use e.g. 30s, 15m, 1h, 7d)") from None
