"""Per-event facts and per-window features of behaviour.

An enriched event is read once into :class:`Facts` (what it touched, how much, how sensitive);
the facts are then folded into every open window of every entity the event is about
(:class:`WindowAccumulator`), so the per-event cost is a few additions per window.

Features of a window (all "higher = more suspicious", all ≥ 0):

==================  =============================================================================
``events``          statements / requests / logins
``rows_read``       Σ ``db.rows`` of read statements
``sensitive_read``  Σ level weight × rows (× 1 when ``db.rows`` is unknown, and per API request)
                    over reads that touched classified data; weights in :data:`LEVEL_WEIGHTS`
``tables``          distinct tables (``db/table``) touched
``columns``         distinct columns (``db/table.column``) touched
``new_tables``      tables / columns / source addresses / applications (``service.name``) /
``new_columns``     API routes / SQL statement shapes (fingerprints) this entity had never used
``new_ips``         before (see :mod:`detectors.baseline.memory`: bounded sets; an entity in its
``new_apps``        novelty warm-up counts only what its peer group never used either, and no
``new_routes``      new addresses)
``new_statements``
``hour_rarity``     1 − smoothed share of the entity's activity in this hour-of-week (168 buckets);
                    0 = a usual hour, 1 = never active near it; ``None`` (unknown: neither
                    learned nor scored) during warm-up without peers
``failures``        events with ``event.outcome = failure`` (failed statements and logins)
``error_rate``      failures / (events + 4): shrunk towards 0 so one failed event is not 100%
``ddl_dcl``         DDL and DCL statements (``parasol.sql.operation`` ddl / dcl)
``bytes_out``       Σ ``http.response.bytes``
``ids_enumerated``  most distinct object ids (numeric / UUID path segments) requested on one route
``http_4xx_ratio``  4xx responses / (API requests + 4)
``idle_days``       the longest gap before an event of the window since the entity's previous
                    event, in days (a dormant account coming back)
==================  =============================================================================

>>> f = Facts.of({"@timestamp": "2026-11-20T10:00:00.000Z", "db": {"name": "crm", "rows": 120},
...     "event": {"id": "e1", "outcome": "success"},
...     "parasol": {"sql": {"operation": "read", "fingerprint": "ee89"}, "tables": ["customers"],
...                 "columns": ["customers.phone"], "sensitive": {"level": "general-4"}}})
>>> w = WindowAccumulator(f.ts - f.ts % 60, 60)
>>> w.fold(f, NO_NEW, 0.0, 0.0, 20)
>>> {k: v for k, v in w.features().items() if v}
{'events': 1, 'rows_read': 120, 'sensitive_read': 960, 'tables': 1, 'columns': 1}
"""

from __future__ import annotations

import math
import re
from typing import Any

from detectors.baseline.timebase import parse_ts

__all__ = [
    "FEATURES",
    "LEVEL_WEIGHTS",
    "NOVELTY",
    "NO_NEW",
    "UNITS",
    "Facts",
    "WindowAccumulator",
    "transform",
    "untransform",
]

FEATURES: tuple[str, ...] = (
    "events", "rows_read", "sensitive_read", "tables", "columns",
    "new_tables", "new_columns", "new_ips", "new_apps", "new_routes", "new_statements",
    "hour_rarity", "failures", "error_rate", "ddl_dcl", "bytes_out", "ids_enumerated",
    "http_4xx_ratio", "idle_days",
)

#: The novelty sets, in the order of the ``novel`` tuple passed to :meth:`WindowAccumulator.fold`.
NOVELTY: tuple[str, ...] = ("tables", "columns", "ips", "apps", "routes", "statements")
#: The ``novel`` tuple of an event that brought nothing new (compared by identity in ``fold``).
NO_NEW = (0, 0, 0, 0, 0, 0)

#: Weight of one row by classification level (GB/T 43697 general levels 1–4 double per level;
#: important and core data double again). A row of ID numbers (level 4) weighs 8 rows of level-1.
LEVEL_WEIGHTS: dict[str, int] = {
    "general-1": 1, "general-2": 2, "general-3": 4, "general-4": 8, "important": 16, "core": 32,
}

#: Scale of each feature for the log transform ``t = log1p(x / unit)`` the baselines work on:
#: counts in ones, ratios in 5-point steps, bytes in KiB, idleness in half days (rarity: see
#: :func:`transform`; its unit is the z-score baseline's floor).
UNITS: dict[str, float] = {f: 1.0 for f in FEATURES} | {
    "error_rate": 0.05, "http_4xx_ratio": 0.05, "hour_rarity": 0.1, "bytes_out": 1024.0,
    "idle_days": 0.5,
}

_ID_SEGMENT = re.compile(r"/(\d+|[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                         r"[0-9a-fA-F]{12})(?=/|$)")
_MAX_IDS_PER_ROUTE = 10_000
#: (database, tables, columns) → the qualified names: built once per distinct access shape.
_QUALIFIED: dict[tuple, tuple[tuple[str, ...], tuple[str, ...]]] = {}
_MAX_NOTES = 5


#: Hour rarity is a share's complement: its scale is the surprisal ``−log(share + ε)`` (shifted to
#: 0 at rarity 0), so 0.8 → 1.5 and 1.0 → 3.9: the top of the range, where "never at this hour"
#: lives, is spread out instead of squeezed as log1p would.
RARITY_EPS = 0.02
_RARITY_TOP = 1.0 + RARITY_EPS


def transform(feature: str, x: float) -> float:
    """The scale baselines compare on: ``log1p(x / unit)``; hour rarity: its surprisal."""
    if not x or x <= 0:
        return 0.0
    if feature == "hour_rarity":
        return math.log(_RARITY_TOP / (_RARITY_TOP - min(x, 1.0)))
    return math.log1p(x / UNITS[feature])


def untransform(feature: str, t: float) -> float:
    if t <= 0:
        return 0.0
    if feature == "hour_rarity":
        return _RARITY_TOP - _RARITY_TOP * math.exp(-t)
    return math.expm1(t) * UNITS[feature]


class Facts:
    """What one enriched event contributes to windows, read from the event once."""

    __slots__ = (
        "app",
        "bytes",
        "columns",
        "command",
        "ddl",
        "eid",
        "event",
        "failed",
        "ids",
        "ip",
        "is_4xx",
        "is_api",
        "level_w",
        "route",
        "rows",
        "sensitive",
        "stmt",
        "tables",
        "ts",
    )

    @classmethod
    def of(cls, event: dict) -> Facts:
        f = cls()
        f.event = event
        f.ts = parse_ts(event["@timestamp"])
        ev = event.get("event") or {}
        f.eid = ev.get("id")
        f.failed = ev.get("outcome") == "failure"
        src = event.get("source")
        f.ip = src.get("ip") if src else None
        svc = event.get("service")
        f.app = svc.get("name") if svc else None
        p = event.get("parasol") or {}
        sens = p.get("sensitive") or {}
        f.level_w = LEVEL_WEIGHTS.get(sens.get("level"), 0)
        http = event.get("http")
        f.is_api = http is not None
        f.rows = 0
        f.sensitive = 0
        f.ddl = False
        f.command = None
        f.stmt = None
        f.tables = ()
        f.columns = ()
        f.route = None
        f.bytes = 0
        f.is_4xx = False
        f.ids = ()
        if http is not None:
            req = http.get("request") or {}
            resp = http.get("response") or {}
            status = resp.get("status_code") or 0
            f.is_4xx = 400 <= status < 500
            f.bytes = resp.get("bytes") or 0
            path = (event.get("url") or {}).get("path") or ""
            route = http.get("route") or _ID_SEGMENT.sub("/{id}", path)
            f.route = f"{f.app or '-'} {req.get('method') or '-'} {route}"
            f.ids = tuple(_ID_SEGMENT.findall(path)) if path else ()
            if f.level_w and req.get("method") == "GET" and status < 400:
                f.sensitive = f.level_w
        else:
            db = event.get("db") or {}
            sql = p.get("sql")
            where = db.get("name") or db.get("instance") or "-"
            tables, columns = p.get("tables") or (), p.get("columns") or ()
            key = (where, tuple(tables), tuple(columns))
            hit = _QUALIFIED.get(key)
            if hit is None:
                if len(_QUALIFIED) > 50_000:
                    _QUALIFIED.clear()
                hit = _QUALIFIED[key] = (tuple(f"{where}/{t}" for t in tables),
                                         tuple(f"{where}/{c}" for c in columns))
            f.tables, f.columns = hit
            if sql:
                op = sql.get("operation")
                f.stmt = sql.get("fingerprint")
                f.ddl = op == "ddl" or op == "dcl"
                if f.ddl:
                    f.command = sql.get("command")
                if op == "read" and not f.failed:
                    rows = db.get("rows")
                    f.rows = rows or 0
                    if f.level_w:
                        f.sensitive = f.level_w * (rows if rows is not None else 1)
        return f


class WindowAccumulator:
    """One open tumbling window of one entity: running sums, distinct sets, evidence."""

    __slots__ = (
        "api",
        "bytes",
        "columns",
        "commands",
        "context",
        "ddl",
        "events",
        "evidence",
        "failures",
        "first_ts",
        "idle",
        "ids",
        "last_ts",
        "level_w",
        "n4xx",
        "notes",
        "novel",
        "rarity",
        "rows",
        "sensitive",
        "size",
        "start",
        "tables",
    )

    def __init__(self, start: float, size: int):
        self.start = start
        self.size = size
        self.events = self.rows = self.sensitive = self.failures = self.ddl = 0
        self.bytes = self.api = self.n4xx = self.level_w = 0
        self.tables: set[str] = set()
        self.columns: set[str] = set()
        self.novel = [0, 0, 0, 0, 0, 0]
        self.rarity = -1.0                 # < 0: unknown (warm-up)
        self.idle = 0.0
        self.ids: dict[str, set[str]] = {}
        self.evidence: list[str] = []
        self.context: dict[str, Any] = {}
        self.first_ts = self.last_ts = None
        self.commands: list[str] = []
        self.notes: dict[str, list[str]] = {}

    def fold(self, f: Facts, novel: tuple, rarity: float | None, idle_days: float, max_evidence: int,
             examples: dict[str, list[str]] | None = None) -> None:
        ts = f.ts
        if self.events == 0:
            self.context = context_of(f.event)
            self.first_ts = self.last_ts = ts
        elif ts < self.first_ts:
            self.first_ts = ts
        elif ts > self.last_ts:
            self.last_ts = ts
        self.events += 1
        if f.eid and len(self.evidence) < max_evidence:
            self.evidence.append(f.eid)
        if f.is_api:
            self.api += 1
            self.bytes += f.bytes
            if f.is_4xx:
                self.n4xx += 1
            if f.ids:
                s = self.ids.get(f.route)
                if s is None:
                    s = self.ids[f.route] = set()
                if len(s) < _MAX_IDS_PER_ROUTE:
                    s.update(f.ids)
        else:
            if f.tables:
                self.tables.update(f.tables)
            if f.columns:
                self.columns.update(f.columns)
            if f.rows:
                self.rows += f.rows
            if f.ddl:
                self.ddl += 1
                if f.command and len(self.commands) < _MAX_NOTES and f.command not in self.commands:
                    self.commands.append(f.command)
        if f.level_w:
            if f.sensitive:
                self.sensitive += f.sensitive
            self.level_w = max(self.level_w, f.level_w)
        if f.failed:
            self.failures += 1
        if novel is not NO_NEW:
            n = self.novel
            for i, v in enumerate(novel):
                if v:
                    n[i] += v
            if examples:
                for k, items in examples.items():
                    have = self.notes.setdefault(k, [])
                    for it in items:
                        if len(have) < _MAX_NOTES and it not in have:
                            have.append(it)
        if rarity is not None and rarity > self.rarity:
            self.rarity = rarity
        self.idle = max(self.idle, idle_days)

    def features(self) -> dict[str, float]:
        n = self.novel
        return {
            "events": self.events,
            "rows_read": self.rows,
            "sensitive_read": self.sensitive,
            "tables": len(self.tables),
            "columns": len(self.columns),
            "new_tables": n[0], "new_columns": n[1], "new_ips": n[2], "new_apps": n[3],
            "new_routes": n[4], "new_statements": n[5],
            "hour_rarity": self.rarity if self.rarity >= 0 else None,
            "failures": self.failures,
            "error_rate": self.failures / (self.events + 4) if self.failures else 0.0,
            "ddl_dcl": self.ddl,
            "bytes_out": self.bytes,
            "ids_enumerated": max(map(len, self.ids.values())) if self.ids else 0,
            "http_4xx_ratio": self.n4xx / (self.api + 4) if self.n4xx else 0.0,
            "idle_days": self.idle,
        }

    def details(self) -> dict[str, Any]:
        """What explanations need beyond the features (kept small)."""
        level = next((k for k, v in LEVEL_WEIGHTS.items() if v == self.level_w), None)
        top_route = max(self.ids, key=lambda r: len(self.ids[r])) if self.ids else None
        return {"first_ts": self.first_ts, "last_ts": self.last_ts, "max_level": level,
                "commands": list(self.commands), "novel": {k: list(v) for k, v in self.notes.items()},
                "top_route": top_route}

    # -- state ---------------------------------------------------------------------------------
    def to_state(self) -> dict:
        return {
            "start": self.start, "size": self.size, "events": self.events, "rows": self.rows,
            "sensitive": self.sensitive, "tables": sorted(self.tables),
            "columns": sorted(self.columns), "novel": list(self.novel), "rarity": self.rarity,
            "failures": self.failures, "ddl": self.ddl, "bytes": self.bytes, "api": self.api,
            "n4xx": self.n4xx, "ids": {r: sorted(s) for r, s in self.ids.items()},
            "idle": self.idle, "evidence": list(self.evidence), "context": self.context,
            "first_ts": self.first_ts, "last_ts": self.last_ts, "level_w": self.level_w,
            "commands": list(self.commands), "notes": {k: list(v) for k, v in self.notes.items()},
        }

    @classmethod
    def from_state(cls, d: dict) -> WindowAccumulator:
        w = cls(d["start"], d["size"])
        for k in ("events", "rows", "sensitive", "rarity", "failures", "ddl", "bytes", "api",
                  "n4xx", "idle", "context", "first_ts", "last_ts", "level_w"):
            setattr(w, k, d[k])
        w.tables = set(d["tables"])
        w.columns = set(d["columns"])
        w.novel = list(d["novel"])
        w.ids = {r: set(s) for r, s in d["ids"].items()}
        w.evidence = list(d["evidence"])
        w.commands = list(d["commands"])
        w.notes = {k: list(v) for k, v in d["notes"].items()}
        return w


def context_of(event: dict) -> dict[str, Any]:
    """The alert's "where": user, address, application, database, roles of the window's first event."""
    user = event.get("user") or {}
    db = event.get("db") or {}
    return {
        "user.name": user.get("name"),
        "user.roles": list(user.get("roles") or ()),
        "source.ip": (event.get("source") or {}).get("ip"),
        "service.name": (event.get("service") or {}).get("name"),
        "db.instance": db.get("instance"),
        "db.name": db.get("name"),
    }
