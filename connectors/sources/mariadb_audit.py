"""MariaDB ``server_audit`` plugin file log → DB audit events.

One record is ``timestamp,serverhost,username,host,connectionid,queryid,operation,database,object,
retcode`` (timestamp ``YYYYMMDD HH:MM:SS`` in the server's local zone, no offset). What the plugin
really writes (checked against MariaDB 10.11's server_audit 1.4.14):

* ``QUERY`` carries the SQL in single quotes; ``'`` ``\\`` and the control characters
  ``\\n \\r \\t \\b \\f`` are backslash-escaped, so a record is one line. Old plugin versions
  escaped only ``'`` and ``\\`` and wrote newlines raw; such a record spans several lines and is
  assembled here until its quoted field closes. Passwords are already masked (``*****``).
* ``READ``/``WRITE``/``CREATE``/``ALTER``/``DROP`` name ``database,table,`` (``RENAME``:
  ``db,old|newdb.new,``) and are written *before* the ``QUERY`` record with the same connection
  and query id. They are folded into that statement's event as ``db.objects``: one event per
  statement. Statements of stored programs and triggers get their own (larger) query ids and are
  logged, each with its own ``QUERY`` record, *inside* the caller's span.
* ``CONNECT``/``DISCONNECT``/``FAILED_CONNECT`` (retcode = error number, e.g. 1045); a failed
  connect is followed by a ``DISCONNECT`` of the same connection id, which is not a logout.
* The ``database`` field of a ``QUERY`` is the plugin's idea of the current database; it sticks
  to a table's database after some TABLE events, so it can differ from ``DATABASE()``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import datetime

from connectors.sources.base import (
    Emitted,
    Line,
    Output,
    SourceOptions,
    Unparseable,
    guarded,
    resolve_tz,
    rfc3339,
    stable_id,
)

__all__ = ["MariaDbAuditParser", "sql_operation"]

_MODULE = "mariadb_audit"
_TABLE_OPS = frozenset((b"READ", b"WRITE", b"CREATE", b"ALTER", b"DROP", b"RENAME"))
_LOGIN_OPS = {b"CONNECT": "CONNECT", b"FAILED_CONNECT": "CONNECT", b"CHANGEUSER": "CHANGE_USER"}
_IGNORED_OPS = frozenset((b"AUDIT_CONFIG",))  # plugin bookkeeping, not database activity
#: Engine-independent statistics tables the optimizer reads and DDL rewrites for nearly every
#: statement: noise in ``db.objects`` (and a false "system schema access") unless the SQL names
#: them.
_STATS_TABLES = {"mysql.table_stats": "table_stats", "mysql.column_stats": "column_stats",
                 "mysql.index_stats": "index_stats"}

_UNESCAPE = re.compile(rb"\\(.)", re.S)
_UNESCAPED = {b"n": b"\n", b"t": b"\t", b"r": b"\r", b"b": b"\b", b"f": b"\f"}
_HEADER = re.compile(rb"\d{8} \d\d:\d\d:\d\d,")
#: First SQL keyword after blanks, comments and parentheses (``/*!50001 SELECT`` → SELECT).
#: One character per loop turn for blanks: ``\s+`` inside ``(...)*`` backtracks exponentially.
_FIRST_WORD = re.compile(
    r"(?:\s|\(|/\*!\d*|/\*.*?\*/|--[^\n]*(?:\n|$)|#[^\n]*(?:\n|$))*([A-Za-z_]+)", re.S
)

_MAX_HELD = 10_000  # statement groups waiting for their QUERY record (memory bound)
_MAX_RECORD_LINES = 10_000  # raw-newline QUERY records of old plugin versions
_MAX_RECORD_BYTES = 8 << 20


def sql_operation(sql: str) -> str | None:
    """The statement's leading keyword, upper-cased: ``db.operation``.

    >>> sql_operation("/* app */ (select 1)"), sql_operation("/*!40101 SET x=1 */")
    ('SELECT', 'SET')
    >>> sql_operation("") is None
    True
    """
    m = _FIRST_WORD.match(sql)
    return m.group(1).upper() if m else None


def _unescape(sql: bytes) -> str:
    if b"\\" in sql:
        sql = _UNESCAPE.sub(lambda m: _UNESCAPED.get(m.group(1), m.group(1)), sql)
    return sql.decode("utf-8", "replace")  # the plugin writes the client's bytes unconverted


def _closes(rest: bytes) -> int:
    """Index of the closing quote of a QUERY's ``'sql',retcode`` tail, or -1 while it is open."""
    j = rest.rfind(b"',")
    if j < 1 or rest[0] != 39 or not rest[j + 2 :].isdigit():
        return -1
    k = j - 1
    while rest[k] == 92:  # an odd run of backslashes escapes the quote
        k -= 1
    return j if (j - 1 - k) % 2 == 0 else -1


@dataclass(slots=True)
class _Group:
    """TABLE records of one (connection, query id), held until their QUERY record arrives."""

    offset: int
    lines: list[bytes]
    objects: list[str]


@dataclass
class MariaDbAuditParser:
    """``server_audit`` file log parser (``parasol tail mariadb``)."""

    options: SourceOptions = field(default_factory=SourceOptions)
    name = "mariadb"
    kind = "db"

    def __post_init__(self) -> None:
        self._tz = resolve_tz(self.options.tz)
        self._ts: dict[bytes, str] = {}
        self._ips: dict[bytes, str | None] = {}
        self._texts: dict[bytes, str] = {}  # host, user and database names repeat on every line
        self._held: dict[tuple[bytes, int], _Group] = {}  # insertion order = offset order
        self._by_conn: dict[bytes, list[int]] = {}
        self._released: dict[tuple[bytes, int], list[str]] = {}  # objects of groups flushed early
        self._failed: set[bytes] = set()  # failed logins: their DISCONNECT is no logout
        self._partial: list[bytes] | None = None
        self._partial_offset = 0
        self._partial_size = 0

    # --- Parser protocol -------------------------------------------------------------------------

    def feed(self, line: Line) -> list[Output]:
        return guarded(self._feed, line)

    def _feed(self, line: Line) -> list[Output]:
        data = line.data
        out: list[Output] = []
        if self._partial is not None:
            if _HEADER.match(data):  # a new record: the open one will never close
                out.append(self._broken_partial())
            else:
                self._partial.append(data)
                self._partial_size += len(data) + 1
                record = b"\n".join(self._partial)
                if _closes(record.split(b",", 8)[8]) >= 0:
                    offset, self._partial = self._partial_offset, None
                    return self._record(record, offset, out)
                if len(self._partial) > _MAX_RECORD_LINES or self._partial_size > _MAX_RECORD_BYTES:
                    out.append(self._broken_partial())
                return out
        if not data.strip():
            return out
        return self._record(data, line.offset, out)

    def flush(self) -> list[Output]:
        out: list[Output] = []
        if self._partial is not None:
            out.append(self._broken_partial())
        for key in list(self._held):
            out.append(self._orphan(key, remember=True))
        self._by_conn.clear()
        return out

    def pending_offset(self) -> int | None:
        held = next(iter(self._held.values()), None)  # insertion order: the oldest comes first
        if self._partial is None:
            return held.offset if held else None
        return min(self._partial_offset, held.offset) if held else self._partial_offset

    # --- records ---------------------------------------------------------------------------------

    def _record(self, data: bytes, offset: int, out: list[Output]) -> list[Output]:
        f = data.split(b",", 8)  # ts, host, user, client, conn, qid, op, db, rest
        if len(f) != 9 or not _HEADER.match(data) or not f[4].isdigit() or not f[5].isdigit():
            out.append(Unparseable(data, "unparseable_line", "not a server_audit record", offset))
            return out
        try:
            ts = self._timestamp(f[0])
        except ValueError as exc:
            out.append(Unparseable(data, "unparseable_line", f"bad timestamp: {exc}", offset))
            return out
        op = f[6]
        if op == b"QUERY":
            self._query(f, ts, data, offset, out)
        elif op in _TABLE_OPS:
            self._table(f, data, offset, out)
        elif op in _LOGIN_OPS or op == b"DISCONNECT":
            self._connection(f, ts, offset, out)
        elif op not in _IGNORED_OPS:
            msg = f"unknown server_audit operation {op[:32]!r}"
            out.append(Unparseable(data, "unparseable_line", msg, offset))
        return out

    def _query(self, f: list[bytes], ts: str, data: bytes, offset: int, out: list[Output]) -> None:
        rest = f[8]
        j = _closes(rest)
        if j < 0:
            if rest[:1] != b"'":
                msg = "QUERY without a quoted statement"
                out.append(Unparseable(data, "unparseable_line", msg, offset))
            else:  # an old plugin's raw newline: the record continues on the next line
                self._partial, self._partial_offset = [data], offset
                self._partial_size = len(data)
            return
        sql = _unescape(rest[1:j])
        retcode = int(rest[j + 2 :])
        conn, qid = f[4], int(f[5])
        group = self._held.pop((conn, qid), None)
        self._settle(conn, qid, out)
        if group is not None:
            objects, offset = group.objects, group.offset
        else:
            objects = self._released.pop((conn, qid), None) if self._released else None
        db = self._db(f)
        db["statement"] = sql
        verb = sql_operation(sql)
        if verb:
            db["operation"] = verb
        if objects:
            objects = _drop_stats_noise(objects, sql)
            if objects:
                db["objects"] = objects
        out.append(self._emit(f, ts, "query", retcode, db, offset))

    def _table(self, f: list[bytes], data: bytes, offset: int, out: list[Output]) -> None:
        obj = f[8].rpartition(b",")[0].decode("utf-8", "replace")  # "table," (retcode empty)
        schema = f[7].decode("utf-8", "replace")
        if f[6] == b"RENAME" and "|" in obj:  # old|newdb.new
            old, new = obj.split("|", 1)
            names = [f"{schema}.{old}", new]
        else:
            names = [f"{schema}.{obj}" if schema else obj]
        conn, qid = f[4], int(f[5])
        group = self._held.get((conn, qid))
        if group is None:
            if len(self._held) >= _MAX_HELD:
                out.append(self._orphan(next(iter(self._held)), remember=True))
            group = self._held[(conn, qid)] = _Group(offset, [], [])
            self._by_conn.setdefault(conn, []).append(qid)
        group.lines.append(data)
        for n in names:
            if n not in group.objects:
                group.objects.append(n)

    def _connection(self, f: list[bytes], ts: str, offset: int, out: list[Output]) -> None:
        op, conn = f[6], f[4]
        tail = f[8].split(b",", 2)  # object (empty), retcode[, connection type in newer versions]
        retcode = int(tail[1]) if len(tail) > 1 and tail[1].isdigit() else 0
        if op == b"FAILED_CONNECT":
            retcode = retcode or 1  # a failed connect is a failure even without its number
            if len(self._failed) > 10_000:
                self._failed.clear()
            self._failed.add(conn)
        elif op == b"DISCONNECT":
            self._release_connection(conn, out)
            if conn in self._failed:  # the end of a session that never began
                self._failed.discard(conn)
                return
        login = _LOGIN_OPS.get(op)
        db = self._db(f)
        db["operation"] = login or "DISCONNECT"
        out.append(self._emit(f, ts, "logout" if login is None else "login", retcode, db, offset))

    def _db(self, f: list[bytes]) -> dict:
        db = {"system": "mariadb", "instance": self.options.instance or self._text(f[1])}
        if f[7]:
            db["name"] = self._text(f[7])
        return db

    def _emit(self, f: list[bytes], ts: str, action: str, retcode: int, db: dict,
              offset: int) -> Emitted:
        sid = f[4].decode()
        if retcode:
            db["error"] = f"error code {retcode}"
        eid = stable_id("server_audit", self.options.instance, self._text(f[1]), sid, f[5].decode(),
                        f[6].decode(), f[0].decode())
        event: dict = {
            "@timestamp": ts,
            "event": {"id": eid, "action": action, "outcome": "failure" if retcode else "success",
                      "module": _MODULE},
            "session": {"id": sid},
            "db": db,
        }
        if f[2]:
            event["user"] = {"name": self._text(f[2])}
        ip = self._ip(f[3])
        if ip:
            event["source"] = {"ip": ip}
        return Emitted(self.kind, event, offset)

    # --- held TABLE records ----------------------------------------------------------------------

    def _settle(self, conn: bytes, qid: int, out: list[Output]) -> None:
        """QUERY ``qid`` ended: groups of later query ids on this connection ran inside it, so
        their QUERY records were due before this one and will never come."""
        qids = self._by_conn.get(conn)
        if not qids:
            return
        keep = []
        for q in qids:
            if q > qid:
                out.append(self._orphan((conn, q)))
            elif q < qid and (conn, q) in self._held:
                keep.append(q)
        if keep:
            self._by_conn[conn] = keep
        else:
            del self._by_conn[conn]

    def _release_connection(self, conn: bytes, out: list[Output]) -> None:
        for q in self._by_conn.pop(conn, ()):
            if (conn, q) in self._held:
                out.append(self._orphan((conn, q)))

    def _orphan(self, key: tuple[bytes, int], remember: bool = False) -> Unparseable:
        """TABLE records whose QUERY record is missing: dead-lettered whole, never dropped.

        There is no statement to build a contract event from (``db.statement`` is required).
        ``remember``: the QUERY may still come (flush while a statement runs, memory bound), so
        its objects are kept to fold in then.
        """
        group = self._held.pop(key)
        if remember:
            if len(self._released) >= 4096:
                del self._released[next(iter(self._released))]
            self._released[key] = group.objects
        return Unparseable(
            b"\n".join(group.lines),
            "orphan_table_record",
            f"server_audit TABLE records of connection {key[0].decode()} query {key[1]} without a "
            "QUERY record (QUERY events not audited, a server-internal statement, or still "
            "running)",
            group.offset,
        )

    def _broken_partial(self) -> Unparseable:
        raw, offset, self._partial = b"\n".join(self._partial or ()), self._partial_offset, None
        msg = "QUERY record whose quoted statement never closes"
        return Unparseable(raw, "unparseable_line", msg, offset)

    # --- field helpers ---------------------------------------------------------------------------

    def _timestamp(self, raw: bytes) -> str:
        ts = self._ts.get(raw)
        if ts is None:
            if len(self._ts) > 4096:
                self._ts.clear()
            dt = datetime(int(raw[0:4]), int(raw[4:6]), int(raw[6:8]), int(raw[9:11]),
                          int(raw[12:14]), int(raw[15:17]), tzinfo=self._tz)
            ts = self._ts[raw] = rfc3339(dt)
        return ts

    def _text(self, raw: bytes) -> str:
        text = self._texts.get(raw)
        if text is None:
            if len(self._texts) > 4096:
                self._texts.clear()
            text = self._texts[raw] = raw.decode("utf-8", "replace")
        return text

    def _ip(self, raw: bytes) -> str | None:
        """The host field is an address when the server skips name resolution, else a name."""
        try:
            return self._ips[raw]
        except KeyError:
            if len(self._ips) > 4096:
                self._ips.clear()
            try:
                ip = str(ipaddress.ip_address(raw.decode("ascii")))
            except (ValueError, UnicodeDecodeError):
                ip = None
            self._ips[raw] = ip
            return ip


def _drop_stats_noise(objects: list[str], sql: str) -> list[str]:
    if not any(o in _STATS_TABLES for o in objects):
        return objects
    low = sql.lower()
    return [o for o in objects if o not in _STATS_TABLES or _STATS_TABLES[o] in low]
