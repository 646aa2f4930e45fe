"""MySQL audit logs in JSON → DB audit events.

Two shapes, told apart per record:

* MySQL Enterprise Audit ``audit_log_format=JSON`` (same shape: Percona's ``audit_log_filter``
  component): ``{"timestamp", "id", "class", "event", "connection_id", "account", "login",
  "connection_data" | "general_data" | "table_access_data", ...}``. The file is one JSON array:
  ``[`` first, records separated by commas, ``]`` only once the file is closed. MySQL writes a
  record per line; Percona's component pretty-prints a record over many lines; both are handled
  (leading ``[``/``,``, trailing ``,``/``]``, multi-line records assembled by bracket depth).
  ``timestamp`` is UTC. ``table_access`` records come before the ``general``/``status`` record of
  their statement and are folded into it as ``db.objects``.
* Percona Server ``audit_log`` plugin ``audit_log_format=JSON``: one
  ``{"audit_record": {"name", "record", "timestamp": "... UTC", "connection_id", "status",
  "sqltext", "user": "priv[user] @ host [ip]", ...}}`` per line.

Records that are no DB activity (audit start/stop, command/query-phase duplicates, pings) are
skipped; what is not JSON becomes ``bad_json``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from connectors.sources.base import (
    Emitted,
    Line,
    Output,
    SourceOptions,
    Unparseable,
    guarded,
    rfc3339,
    stable_id,
)
from connectors.sources.mariadb_audit import sql_operation

__all__ = ["MySqlAuditJsonParser"]

_ENTERPRISE = "mysql_enterprise_audit"
_PERCONA = "percona_audit_log"
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_TS = re.compile(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?\s*(Z|UTC|[+-]\d\d:?\d\d)?")
#: ``priv_user[user] @ host [ip]`` as the Percona plugin (and component) write accounts.
_ACCOUNT = re.compile(r"([^\[\s]*)\[([^\]]*)\]\s*@\s*(\S*)\s*\[([^\]]*)\]")
_USE = re.compile(r"\s*use\s+`?([^`;\s]+)", re.I)

_PERCONA_QUERIES = frozenset(("Query", "Execute"))
_PERCONA_LOGINS = {"Connect": "CONNECT", "Change user": "CHANGE_USER"}
_MAX_HELD = 10_000
_MAX_RECORD_LINES = 10_000
_MAX_RECORD_BYTES = 8 << 20
_MAX_CONNS = 65_536


def _depth(data: bytes) -> int:
    """Net bracket depth of a line; strings cannot span lines in JSON, so they are cut out first."""
    if b'"' in data:
        data = _STRINGS.sub(b"", data)
    return data.count(b"{") + data.count(b"[") - data.count(b"}") - data.count(b"]")


def _trim(s: bytes) -> bytes:
    """Drop the array punctuation around a record: ``[``/``,`` before, ``,``/``]`` after."""
    s = s.strip()
    while s[:1] in (b"[", b","):
        s = s[1:].lstrip()
    while s[-1:] in (b",", b"]") and not s.startswith(b"["):
        s = s[:-1].rstrip()
    return s


def _account(text: str) -> tuple[str, str]:
    """(user, ip) from ``priv[user] @ host [ip]``; a plain name is returned as is."""
    m = _ACCOUNT.match(text)
    if m is None:
        return text, ""
    return m.group(1) or m.group(2), m.group(4)


@dataclass(slots=True)
class _Conn:
    user: str | None = None
    ip: str | None = None
    db: str | None = None


@dataclass(slots=True)
class _Group:
    """``table_access`` records of one connection's running statement."""

    offset: int
    raw: list[bytes]
    objects: list[str]
    query: str | None
    base: dict  # event skeleton built from the first record (time, id, user)


@dataclass
class MySqlAuditJsonParser:
    """MySQL Enterprise / Percona audit JSON parser (``parasol tail mysql-json``)."""

    options: SourceOptions = field(default_factory=SourceOptions)
    name = "mysql-json"
    kind = "db"

    def __post_init__(self) -> None:
        self._buf: list[bytes] | None = None
        self._buf_offset = 0
        self._buf_depth = 0
        self._buf_size = 0
        self._held: dict[str, _Group] = {}  # by connection id; insertion order = offset order
        # conn → (query, event id, objects) of groups emitted before their general record
        self._flushed: dict[str, tuple[str | None, str, list[str]]] = {}
        self._conns: dict[str, _Conn] = {}
        self._ts: dict[str, str] = {}
        self._ips: dict[str, str | None] = {}

    # --- Parser protocol -------------------------------------------------------------------------

    def feed(self, line: Line) -> list[Output]:
        return guarded(self._feed, line)

    def _feed(self, line: Line) -> list[Output]:
        data = line.data
        out: list[Output] = []
        if self._buf is not None:
            head = data.lstrip()
            if head[:1] == b"{" or head[:2] == b",{":  # a new record: the open one is broken
                out.append(self._broken())
            else:
                self._buf.append(data)
                self._buf_size += len(data) + 1
                self._buf_depth += _depth(data)
                if self._buf_depth <= 0:
                    raw, offset, self._buf = b"\n".join(self._buf), self._buf_offset, None
                    self._parse(raw, offset, out)
                elif len(self._buf) > _MAX_RECORD_LINES or self._buf_size > _MAX_RECORD_BYTES:
                    out.append(self._broken())
                return out
        s = _trim(data)
        if not s:
            return out  # blank, "[", "]" or a lone ","
        if s[:1] != b"{":
            out.append(Unparseable(data, "bad_json", "not a JSON object", line.offset))
            return out
        try:
            record = orjson.loads(s)
        except orjson.JSONDecodeError as exc:
            depth = _depth(s)
            if depth > 0:  # the first line of a pretty-printed record
                self._buf, self._buf_offset = [data], line.offset
                self._buf_depth, self._buf_size = depth, len(data)
            else:
                out.append(Unparseable(data, "bad_json", str(exc)[:200], line.offset))
            return out
        self._record(record, data, line.offset, out)
        return out

    def flush(self) -> list[Output]:
        out: list[Output] = []
        if self._buf is not None:
            out.append(self._broken())
        for conn in list(self._held):
            self._release(conn, out, remember=True)
        return out

    def pending_offset(self) -> int | None:
        held = next(iter(self._held.values()), None)  # insertion order: the oldest comes first
        if self._buf is None:
            return held.offset if held else None
        return min(self._buf_offset, held.offset) if held else self._buf_offset

    # --- records ---------------------------------------------------------------------------------

    def _parse(self, raw: bytes, offset: int, out: list[Output]) -> None:
        try:
            record = orjson.loads(_trim(raw))
        except orjson.JSONDecodeError as exc:
            out.append(Unparseable(raw, "bad_json", str(exc)[:200], offset))
            return
        self._record(record, raw, offset, out)

    def _record(self, record: object, raw: bytes, offset: int, out: list[Output]) -> None:
        if not isinstance(record, dict):
            out.append(Unparseable(raw, "bad_json", "not a JSON object", offset))
            return
        try:
            ar = record.get("audit_record")
            if isinstance(ar, dict):
                self._percona(ar, raw, offset, out)
            elif "class" in record:
                self._enterprise(record, raw, offset, out)
            else:
                out.append(Unparseable(raw, "unparseable_line", "not a MySQL audit record", offset))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            msg = f"{type(exc).__name__}: {exc}"[:200]
            out.append(Unparseable(raw, "unparseable_line", msg, offset))

    def _enterprise(self, r: dict, raw: bytes, offset: int, out: list[Output]) -> None:
        cls, ev = r["class"], r.get("event")
        conn = str(r.get("connection_id", ""))
        if cls == "connection":
            cd = r.get("connection_data") or {}
            status = int(cd.get("status") or 0)
            user, ip = self._who(r, conn)
            if ev == "disconnect":
                if conn in self._held:
                    self._release(conn, out)
                self._conns.pop(conn, None)
                action, op = "logout", "DISCONNECT"
            elif ev in ("connect", "change_user"):
                action, op = "login", "CONNECT" if ev == "connect" else "CHANGE_USER"
                if not status:
                    self._remember_conn(conn, _Conn(user, ip, cd.get("db") or None))
            else:
                return
            base = self._base(self._enterprise_id(r), self._timestamp(r), _ENTERPRISE, conn,
                              user, ip)
            db = {"operation": op}
            if cd.get("db"):
                db["name"] = cd["db"]
            out.append(self._finish(base, action, status, db, offset))
        elif cls == "general" and ev == "status":
            gd = r.get("general_data") or {}
            status = int(gd.get("status") or 0)
            query = gd.get("query") or ""
            command = gd.get("command")
            if command == "Init DB":  # COM_INIT_DB: a database switch, not a statement
                state = self._conns.get(conn)
                if state is not None and query and not status:
                    state.db = query
                return
            if not query:
                return  # ping, quit, statistics…: no statement
            ts = self._timestamp(r)  # the statement's end; before any state changes (may raise)
            group = self._held.get(conn)
            if group is not None and group.query not in (None, query):
                self._release(conn, out)  # an earlier statement whose general record was filtered
                group = None
            if group is not None:
                del self._held[conn]
                base, objects, offset = group.base, group.objects, group.offset
            else:
                flushed = self._flushed.pop(conn, None) if self._flushed else None
                user, ip = self._who(r, conn)
                base = self._base(self._enterprise_id(r), ts, _ENTERPRISE, conn, user, ip)
                objects = None
                if flushed is not None and flushed[0] in (None, query):
                    # the event emitted at flush, now complete: same id, one document in the store
                    base["event"]["id"], objects = flushed[1], flushed[2]
            base["@timestamp"] = ts
            sql_command = gd.get("sql_command")
            out.append(self._query(base, conn, query, sql_command, status, objects, offset))
        elif cls == "table_access":
            td = r.get("table_access_data") or {}
            name = f"{td['db']}.{td['table']}" if td.get("db") else str(td.get("table", ""))
            query = td.get("query") or None
            group = self._held.get(conn)
            if group is not None and None not in (group.query, query) and group.query != query:
                self._release(conn, out)
                group = None
            if group is None:
                if len(self._held) >= _MAX_HELD:
                    self._release(next(iter(self._held)), out, remember=True)
                user, ip = self._who(r, conn)
                base = self._base(self._enterprise_id(r), self._timestamp(r), _ENTERPRISE, conn,
                                  user, ip)
                group = self._held[conn] = _Group(offset, [], [], query, base)
            group.raw.append(raw)
            group.query = group.query or query
            if name and name not in group.objects:
                group.objects.append(name)
        # audit startup/shutdown, general/log, query/*, command/*, global_variable…: not activity

    def _percona(self, ar: dict, raw: bytes, offset: int, out: list[Output]) -> None:
        name = ar.get("name")
        conn = str(ar.get("connection_id", ""))
        status = int(ar.get("status") or 0)
        rid = ar.get("record")
        eid = stable_id("percona_audit", self.options.instance, rid) if rid else stable_id(
            "percona_audit", self.options.instance, raw)
        ts = self._timestamp(ar)
        if name in _PERCONA_QUERIES:
            query = ar.get("sqltext") or ""
            if not query:
                return
            user, ip = _account(ar.get("user") or "")
            base = self._base(eid, ts, _PERCONA, conn, user or None, self._ip(ar.get("ip") or ip))
            state = self._conns.get(conn)
            db_name = ar.get("db") or (state.db if state else None)
            event = self._query(base, conn, query, ar.get("command_class"), status, None, offset)
            if db_name:
                event.event["db"]["name"] = db_name
            out.append(event)
            return
        login = _PERCONA_LOGINS.get(name)
        if login is None and name != "Quit":
            return  # Audit/NoAudit, Prepare, Init DB, Ping…
        user = ar.get("priv_user") or _account(ar.get("user") or "")[0] or None
        ip = self._ip(ar.get("ip") or "")
        base = self._base(eid, ts, _PERCONA, conn, user, ip)
        db = {"operation": login or "DISCONNECT"}
        if ar.get("db"):
            db["name"] = ar["db"]
        if login is None:
            self._conns.pop(conn, None)
        elif not status:
            self._remember_conn(conn, _Conn(user, ip, ar.get("db") or None))
        out.append(self._finish(base, "login" if login else "logout", status, db, offset))

    # --- event building --------------------------------------------------------------------------

    def _base(self, eid: str, ts: str, module: str, conn: str, user: str | None,
              ip: str | None) -> dict:
        event: dict = {"@timestamp": ts, "event": {"id": eid, "module": module}}
        if user:
            event["user"] = {"name": user}
        if ip:
            event["source"] = {"ip": ip}
        if conn:
            event["session"] = {"id": conn}
        return event

    def _finish(self, event: dict, action: str, status: int, db: dict, offset: int) -> Emitted:
        event["event"]["action"] = action
        event["event"]["outcome"] = "failure" if status else "success"
        db["system"] = "mysql"
        if self.options.instance:
            db["instance"] = self.options.instance
        if status:
            db["error"] = f"error code {status}"
        event["db"] = db
        return Emitted(self.kind, event, offset)

    def _query(self, base: dict, conn: str, query: str, sql_command: str | None, status: int,
               objects: list[str] | None, offset: int) -> Emitted:
        db: dict = {"statement": query}
        op = sql_operation(query) or (str(sql_command).upper() if sql_command else None)
        if op:
            db["operation"] = op
        if objects:
            db["objects"] = objects
        state = self._conns.get(conn)
        if state is not None:
            if sql_command == "change_db" and not status:
                m = _USE.match(query)
                if m:
                    state.db = m.group(1)
            if state.db:
                db["name"] = state.db
        return self._finish(base, "query", status, db, offset)

    def _release(self, conn: str, out: list[Output], remember: bool = False) -> None:
        """Emit a held ``table_access`` group on its own: its statement's general record is not
        (yet) in the log. With its query text it is a complete event; without, it is dead-lettered.
        ``remember``: the general record may still come (flush during a long statement) and will
        then re-send the same event id, complete with its outcome."""
        group = self._held.pop(conn)
        if remember:
            if len(self._flushed) >= 4096:
                del self._flushed[next(iter(self._flushed))]
            self._flushed[conn] = (group.query, group.base["event"]["id"], group.objects)
        if group.query is None:
            msg = f"table_access records of connection {conn} without a statement"
            out.append(Unparseable(b"\n".join(group.raw), "orphan_table_record", msg, group.offset))
            return
        out.append(self._query(group.base, conn, group.query, None, 0, group.objects, group.offset))

    def _broken(self) -> Unparseable:
        raw, offset, self._buf = b"\n".join(self._buf or ()), self._buf_offset, None
        return Unparseable(raw, "bad_json", "JSON record that never closes", offset)

    # --- field helpers ---------------------------------------------------------------------------

    def _enterprise_id(self, r: dict) -> str:
        # The (timestamp, id) pair is unique within a server's audit log (a documented bookmark).
        return stable_id("mysql_audit", self.options.instance, r.get("timestamp"), r.get("id"),
                         r.get("connection_id"), r.get("class"), r.get("event"))

    def _who(self, r: dict, conn: str) -> tuple[str | None, str | None]:
        """Account user (privileges were checked against it), else the login name; login IP."""
        account = r.get("account") or {}
        login = r.get("login") or {}
        user = _account(account.get("user") or "")[0] or _account(login.get("user") or "")[0]
        ip = self._ip(login.get("ip") or "")
        if not user or not ip:
            state = self._conns.get(conn)  # table_access records of some writers carry neither
            if state is not None:
                user, ip = user or state.user, ip or state.ip
        return user or None, ip

    def _remember_conn(self, conn: str, state: _Conn) -> None:
        if len(self._conns) >= _MAX_CONNS:
            del self._conns[next(iter(self._conns))]
        self._conns[conn] = state

    def _timestamp(self, r: dict) -> str:
        raw = r.get("timestamp")
        if not raw:
            if isinstance(r.get("time"), (int, float)):
                return rfc3339(datetime.fromtimestamp(r["time"], UTC))
            raise ValueError("record without a timestamp")
        ts = self._ts.get(raw)
        if ts is None:
            m = _TS.fullmatch(raw.strip())
            if m is None:
                raise ValueError(f"timestamp {raw[:40]!r}")
            day, clock, frac, zone = m.groups()
            datetime.fromisoformat(f"{day}T{clock}")  # validates the calendar
            if zone in (None, "Z", "UTC"):  # both vendors document UTC
                ts = f"{day}T{clock}.{((frac or '') + '000')[:3]}Z"
            else:
                ts = rfc3339(datetime.fromisoformat(f"{day}T{clock}.{frac or '0'}{zone}"))
            if len(self._ts) > 4096:
                self._ts.clear()
            self._ts[raw] = ts
        return ts

    def _ip(self, text: str) -> str | None:
        if not text:
            return None
        try:
            return self._ips[text]
        except KeyError:
            if len(self._ips) > 4096:
                self._ips.clear()
            try:
                ip: str | None = str(ipaddress.ip_address(text.strip().strip("[]")))
            except ValueError:
                ip = None
            self._ips[text] = ip
            return ip
