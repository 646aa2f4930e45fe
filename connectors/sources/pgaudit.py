"""pgaudit output in PostgreSQL 15 server logs → one DB audit event per statement.

Reads the server log in any of its three forms (``log_destination``): ``jsonlog`` (one JSON
object per line), ``csvlog`` (one CSV record, several lines when a quoted field holds a newline)
or ``stderr`` with this ``log_line_prefix`` (any other prefix can be passed to the parser, as long
as it has ``%c`` and a time, ``%m``/``%t``/``%n``)::

    log_line_prefix = '%m [%p] %qsession=%c line=%l client=%h user=%u db=%d app=%a cmd=%i state=%e '

Server settings the parser is built and tested for (tests/realservers/postgres.py)::

    shared_preload_libraries = 'pgaudit'     # plus CREATE EXTENSION pgaudit: DDL lines name objects
    pgaudit.log = 'all'                      # any classes; pgaudit.log_catalog = off
    pgaudit.log_relation = on                # one line per relation: the source of db.objects
    pgaudit.log_rows = on                    # pgaudit 1.7 (PG 15) has it: a 10th field, ROWS
    log_connections = on                     # login events; failed logins are logged regardless
    log_disconnections = on                  # logout events with db.duration_ms
    lc_messages = 'C'                        # the parser matches English message texts
    log_timezone = 'UTC'                     # or numeric; otherwise set SourceOptions.tz to it

What pgaudit writes, and what the parser makes of it:

* ``LOG:  AUDIT: TYPE,STATEMENT_ID,SUBSTATEMENT_ID,CLASS,COMMAND,OBJECT_TYPE,OBJECT_NAME,
  STATEMENT,PARAMETER[,ROWS]`` — CSV, fields quoted when they hold a comma, quote or newline.
  One statement writes several lines: one per relation (log_relation), one per substatement
  (functions, DO blocks, CREATE TABLE AS), SESSION and OBJECT lines. They share
  (session, STATEMENT_ID) and become one event, emitted when the session logs its next statement,
  an error or its disconnection (or on :meth:`PgAuditParser.flush`).
* ``db.statement``/``db.operation``: the first line's statement text (the top-level statement:
  substatement ids grow in logging order) and the command of the most significant line carrying
  that text (DDL/ROLE > WRITE > READ > MISC > FUNCTION; pgaudit's ``???`` lines are ignored).
* ``db.rows``: the ROWS of the top-level statement (the largest value on lines carrying its
  text), not a sum: relation lines of one statement repeat the same count.
* ``db.objects``: every object named on any line (relations, views, functions, indexes…);
  ``db.audit.class``: every class logged; ``db.parameters``: PARAMETER when log_parameter is on.
* Failures. With ``log_rows = on`` pgaudit logs SELECT/DML at executor end, and utility commands
  after they ran, so a statement failing during execution usually has *no* AUDIT line: its
  ``ERROR`` record (message + statement text) becomes a failure event of its own (id from session
  and line number). Lines written *before* execution (function calls, DO blocks, and SELECT/DML
  when log_rows is off) followed by an ``ERROR`` with the same statement text mark that
  statement's event ``failure`` with ``db.error``.
* Logins: ``connection authorized`` → ``login`` success (held until the session's next record, so
  that a ``FATAL: database "x" does not exist`` right after turns it into a failure);
  ``FATAL`` authentication errors → ``login`` failure with the user named in the message;
  ``disconnection`` → ``logout`` with the session duration.
* Records of other processes (checkpointer, autovacuum, postmaster…) and other messages are
  skipped; lines that are not JSON / CSV / prefixed stderr become :class:`Unparseable`.

Event ids come from the server's own ids (``stable_id("pgaudit", instance, session, statement
id)``), so re-reading a file gives the same ids.
"""

from __future__ import annotations

import csv
import ipaddress
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache

import orjson

from connectors.sources.base import (
    Emitted,
    Line,
    Output,
    SourceOptions,
    Unparseable,
    guarded,
    resolve_tz,
    stable_id,
)

__all__ = ["LOG_FORMATS", "STDERR_PREFIX", "PgAuditParser", "compile_prefix"]

#: The documented ``log_line_prefix`` for ``log_destination = 'stderr'``.
STDERR_PREFIX = "%m [%p] %qsession=%c line=%l client=%h user=%u db=%d app=%a cmd=%i state=%e "
LOG_FORMATS = ("jsonlog", "csvlog", "stderr", "auto")

#: Processes that serve a client: statements, logins, logouts. (walsender: replication logins.)
_CLIENTS = frozenset(("client backend", "walsender"))
_ERROR_CHARS = 8192  # the contract's bound for db.error (longer is rejected, not truncated)
_MAX_OBJECTS = 256

# --- stderr prefix → regex ------------------------------------------------------------------------

_TS_M = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+"
_TS_T = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+"
_ESCAPES: dict[str, tuple[str | None, str]] = {
    # escape: (group name, pattern). Free-text fields are lazy: the literal after them anchors.
    "a": ("app", r".*?"),
    "u": ("user", r".*?"),
    "d": ("db", r".*?"),
    "h": ("host", r"\S*?"),
    "r": ("rhost", r"\S*?"),
    "b": ("backend", r".*?"),
    "p": ("pid", r"\d+"),
    "P": (None, r"\d*"),
    "m": ("ts", _TS_M),
    "t": ("ts", _TS_T),
    "n": ("ts", r"\d+(?:\.\d+)?"),
    "i": ("ps", r".*?"),
    "e": ("state", r"[0-9A-Z]{5}"),
    "c": ("session", r"[0-9a-f]+\.[0-9a-f]+"),
    "l": ("line", r"\d+"),
    "s": (None, _TS_T),
    "v": (None, r"\S*"),
    "x": (None, r"\d+"),
    "Q": (None, r"-?\d+"),
}
_SEVERITIES = "|".join(
    ("LOG", "ERROR", "FATAL", "PANIC", "WARNING", "NOTICE", "INFO", r"DEBUG[1-5]?")
    + ("DETAIL", "HINT", "CONTEXT", "STATEMENT", "QUERY", "LOCATION")
)
_SUBFIELDS = frozenset(("DETAIL", "HINT", "CONTEXT", "STATEMENT", "QUERY", "LOCATION"))


def compile_prefix(prefix: str) -> re.Pattern[str]:
    """A regex for log lines written with ``log_line_prefix = prefix`` (English messages).

    >>> m = compile_prefix(STDERR_PREFIX).match(
    ...     "2026-11-27 01:22:00.247 CET [13178] session=6b08cd28.337a line=6 client=127.0.0.1 "
    ...     "user=bob db=shop app=report tool cmd=SELECT state=42P01 ERROR:  relation ...")
    >>> m["session"], m["line"], m["app"], m["ps"], m["state"], m["sev"], m["msg"]
    ('6b08cd28.337a', '6', 'report tool', 'SELECT', '42P01', 'ERROR', 'relation ...')
    """
    out: list[str] = []
    seen: set[str] = set()
    optional = False
    i = 0
    for m in re.finditer(r"%(-?\d+)?(.)", prefix):
        out.append(re.escape(prefix[i : m.start()]))
        i = m.end()
        pad, esc = m.group(1), m.group(2)
        if esc == "%":
            out.append("%")
            continue
        if esc == "q":  # non-session processes stop here: the rest is optional
            out.append("(?:")
            optional = True
            continue
        name, pat = _ESCAPES.get(esc, (None, r".*?"))
        if name and name not in seen:
            seen.add(name)
            pat = f"(?P<{name}>{pat})"
        else:
            pat = f"(?:{pat})"
        out.append(rf"\s*{pat}\s*" if pad else pat)
    out.append(re.escape(prefix[i:]))
    if optional:
        out.append(")?")
    if "session" not in seen or "ts" not in seen:
        raise ValueError("log_line_prefix needs %c (session id) and a time (%m, %t or %n)")
    return re.compile("".join(out) + rf"(?P<sev>{_SEVERITIES}):  (?P<msg>.*)", re.DOTALL)


# --- small helpers -------------------------------------------------------------------------------

_CSV_START = re.compile(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? [^ ,]+,")
_AT_CHAR = re.compile(r" at character \d+$")
_SESSION_TIME = re.compile(r"session time: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_QUOTED_USER = re.compile(r'(?:user|role) "((?:[^"]|"")*)"')
_NUMERIC_ZONE = re.compile(r"([+-])(\d\d):?(\d\d)?")
_LOGIN_FAIL = re.compile(
    r"authentication failed for user|no pg_hba\.conf entry|pg_hba\.conf rejects|"
    r'^role ".*" does not exist|^database ".*" does not exist|too many connections|'
    r"too many clients|is not permitted to log in|permission denied for database"
)
_LOGIN_STATES = frozenset(("3D000", "53300", "42501"))
_NOT_LOGGED = frozenset(("<not logged>", "<previously logged>", "<none>"))
#: Commands pgaudit logs from the executor: before execution, or at its end when log_rows is on.
_EXECUTOR_COMMANDS = frozenset(("SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "???"))
#: Utility commands pgaudit logs *before* running them.
_LOGGED_BEFORE = frozenset(("DO", "CREATE EXTENSION", "ALTER EXTENSION"))
_CLASS_RANK = {"DDL": 5, "ROLE": 5, "WRITE": 4, "READ": 3, "MISC": 2, "MISC_SET": 2, "FUNCTION": 1}


@lru_cache(maxsize=4096)
def _client_ip(host: str | None) -> str | None:
    """``remote_host`` → canonical IP; ``[local]``, empty and host names → ``None``."""
    if not host or host == "[local]":
        return None
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def _clip(text: str, limit: int = _ERROR_CHARS) -> str:
    return text if len(text) <= limit else text[:limit]


@dataclass(slots=True)
class _Rec:
    """One server log record, whatever the log form (fields missing from it are ``None``)."""

    ts: str  # as written: "2026-11-27 01:17:20.193 CET", or epoch seconds (%n)
    session: str | None
    line: int | None  # line number within the session (%l, line_num)
    sev: str
    msg: str
    user: str | None = None
    db: str | None = None
    host: str | None = None
    app: str | None = None
    ps: str | None = None  # command tag / process status (%i, ps)
    state: str | None = None  # SQLSTATE
    detail: str | None = None
    stmt: str | None = None
    offset: int = 0
    raw: bytes = b""


class _Login:
    """A ``connection authorized`` held until the session's next record."""

    __slots__ = ("event", "offset")

    def __init__(self, event: dict, offset: int):
        self.event = event
        self.offset = offset


class _Stmt:
    """The AUDIT lines of one (session, statement id) so far."""

    __slots__ = (
        "classes",
        "completed",
        "error",
        "first_offset",
        "objects",
        "offset",
        "op",
        "op_rank",
        "params",
        "rec",
        "rows",
        "sid",
        "text",
    )

    def __init__(self, rec: _Rec, sid: int):
        self.rec = rec  # first line: time, user, client of the event
        self.sid = sid
        self.offset = rec.offset  # smallest offset still held (moves on when resumed)
        self.first_offset = rec.offset
        self.text: str | None = None
        self.op: str | None = None
        self.op_rank = -1
        self.rows: int | None = None
        self.classes: dict[str, None] = {}
        self.objects: dict[str, None] = {}
        self.params: list[str] | None = None
        self.completed = False
        self.error: str | None = None

    def add(self, cls: str, cmd: str, oname: str, text: str, params: str, rows: int | None) -> None:
        if text in _NOT_LOGGED:
            top = True  # log_statement_once / log_statement=off: nothing says otherwise
        elif self.text is None:
            self.text, top = text, True
        else:
            top = text == self.text
        if cmd != "???":  # pgaudit's relation line for a view: no command, class MISC
            self.classes[cls] = None
        if oname and len(self.objects) < _MAX_OBJECTS:
            self.objects[oname] = None
        if not top:
            return
        rank = _CLASS_RANK.get(cls, 0)
        if cmd != "???" and rank > self.op_rank:
            self.op, self.op_rank = cmd, rank
        if rows is not None and (self.rows is None or rows > self.rows):
            self.rows = rows
        if self.params is None and params not in _NOT_LOGGED:
            self.params = next(csv.reader((params,)), [])
        # Was this line written after the statement ran? Then a later error is not its own.
        if (
            cls != "FUNCTION"
            and cmd not in _LOGGED_BEFORE
            and (cmd not in _EXECUTOR_COMMANDS or rows is not None)
        ):
            self.completed = True

    def owns_error(self, text: str | None) -> bool:
        """Does an ERROR with statement ``text`` belong to this statement?"""
        if self.completed or self.error is not None:
            return False
        return text is None or self.text is None or text == self.text


# --- the parser ----------------------------------------------------------------------------------


class PgAuditParser:
    """PostgreSQL 15 server log with pgaudit → DB audit events (see the module docstring).

    ``log_format``: ``jsonlog``, ``csvlog``, ``stderr`` or ``auto`` (decided from the first line).
    ``max_sessions`` bounds the sessions holding a pending statement or login; beyond it the oldest
    is emitted as it stands.
    """

    name = "pgaudit"
    kind = "db"

    def __init__(
        self,
        options: SourceOptions | None = None,
        log_format: str = "auto",
        *,
        log_line_prefix: str = STDERR_PREFIX,
        max_sessions: int = 10_000,
        max_record_bytes: int = 4 << 20,
    ):
        if log_format not in LOG_FORMATS:
            raise ValueError(
                f"log_format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}"
            )
        self.options = options or SourceOptions()
        self.log_format = log_format
        self._prefix = compile_prefix(log_line_prefix)
        self._max_sessions = max(1, max_sessions)
        self._max_record_bytes = max_record_bytes
        self._instance = self.options.instance
        self._tz = resolve_tz(self.options.tz)
        self._ts_cache: dict[str, str] = {}
        self._feed_fn = {
            "jsonlog": self._feed_json,
            "csvlog": self._feed_csv,
            "stderr": self._feed_stderr,
            "auto": self._feed_auto,
        }[log_format]
        # session id → its one pending item, oldest first (offsets grow with feeding order, and an
        # item is re-inserted at the end whenever it changes, so the first one is the smallest).
        self._held: OrderedDict[str, _Stmt | _Login] = OrderedDict()
        # Statements emitted by flush()/eviction, kept so late lines can complete or fail them.
        self._flushed: OrderedDict[str, _Stmt] = OrderedDict()
        # csvlog: a record whose quoted field is still open; stderr: the record being assembled.
        self._part: list[bytes] | None = None
        self._part_off = 0
        self._part_quotes = 0
        self._part_bytes = 0
        self._cur: _Rec | None = None
        self._cur_field = "msg"

    # --- Parser protocol --------------------------------------------------------------------------

    def feed(self, line: Line) -> list[Output]:
        return guarded(self._feed_fn, line)

    def flush(self) -> list[Output]:
        """Emit every held statement and login (idle timeout, end of file, rotation)."""
        out: list[Output] = []
        if self._part is not None:
            # The server writes a record whole (its collector flushes line by line, at once): an
            # open quote at idle time or at the end of a file is a cut record, not one to wait for.
            raw, off, self._part = b"\n".join(self._part), self._part_off, None
            out.append(Unparseable(raw, "bad_csv", "unterminated quoted field", off))
        try:
            if self._cur is not None:
                rec, self._cur = self._cur, None
                out += self._on_record(rec)
        except Exception as exc:  # noqa: BLE001  # pragma: no cover - as in feed()
            out.append(Unparseable(b"", "parser_error", f"{type(exc).__name__}: {exc}", 0))
        while self._held:
            sid = next(iter(self._held))
            out.append(self._release(sid, keep=True))
        return out

    def pending_offset(self) -> int | None:
        best = None
        if self._held:
            best = next(iter(self._held.values())).offset
        if self._part is not None and (best is None or self._part_off < best):
            best = self._part_off
        if self._cur is not None and (best is None or self._cur.offset < best):
            best = self._cur.offset
        return best

    # --- framing: one method per log form ---------------------------------------------------------

    def _feed_auto(self, line: Line) -> list[Output]:
        data = line.data.lstrip()
        if not data:
            return []
        if data[:1] == b"{":
            self.log_format, self._feed_fn = "jsonlog", self._feed_json
        elif _CSV_START.match(data):
            self.log_format, self._feed_fn = "csvlog", self._feed_csv
        else:
            self.log_format, self._feed_fn = "stderr", self._feed_stderr
        return self._feed_fn(line)

    def _feed_json(self, line: Line) -> list[Output]:
        data = line.data
        try:
            d = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            if not data.strip():
                return []
            return [Unparseable(data, "bad_json", f"not JSON: {exc}", line.offset)]
        if type(d) is not dict or type(d.get("timestamp")) is not str:
            return [Unparseable(data, "bad_json", "not a PostgreSQL jsonlog record", line.offset)]
        # Only client backends run statements and log in: not postmaster, checkpointer,
        # autovacuum, nor "not initialized" (connection received).
        if d.get("backend_type") not in _CLIENTS:
            return []
        rec = _Rec(
            d["timestamp"],
            d.get("session_id"),
            d.get("line_num"),
            d.get("error_severity") or "",
            d.get("message") or "",
            user=d.get("user"),
            db=d.get("dbname"),
            host=d.get("remote_host"),
            app=d.get("application_name"),
            ps=d.get("ps"),
            state=d.get("state_code"),
            detail=d.get("detail"),
            stmt=d.get("statement"),
            offset=line.offset,
            raw=data,
        )
        return self._on_record(rec)

    def _feed_csv(self, line: Line) -> list[Output]:
        data = line.data
        if self._part is not None:
            # A quoted field is open: this line continues the record (even if it is empty).
            self._part.append(data)
            self._part_quotes += data.count(b'"')
            self._part_bytes += len(data) + 1
            if self._part_quotes % 2:
                if self._part_bytes > self._max_record_bytes:
                    raw, off = b"\n".join(self._part), self._part_off
                    self._part = None
                    return [Unparseable(raw, "bad_csv", "unterminated quoted field", off)]
                return []
            raw, offset = b"\n".join(self._part), self._part_off
            self._part = None
        else:
            if not data:
                return []
            quotes = data.count(b'"')
            if quotes % 2:  # a quoted field goes on over the next line(s)
                self._part, self._part_off = [data], line.offset
                self._part_quotes, self._part_bytes = quotes, len(data)
                return []
            raw, offset = data, line.offset
        return self._csv_record(raw, offset)

    def _csv_record(self, raw: bytes, offset: int) -> list[Output]:
        text = raw.decode("utf-8", "replace")
        try:
            row = next(csv.reader((text,)))
        except (csv.Error, StopIteration) as exc:
            return [Unparseable(raw, "bad_csv", f"not CSV: {exc}", offset)]
        # PG 15 writes 26 columns; 23 (up to application_name) is the oldest useful layout.
        if len(row) < 23 or row[0][4:5] != "-" or not row[6].isdigit():
            return [
                Unparseable(
                    raw, "bad_csv", f"not a PostgreSQL csvlog record ({len(row)} columns)", offset
                )
            ]
        if len(row) > 23 and row[23] not in _CLIENTS:
            return []
        host = row[4]
        if host and host[0] != "[":
            h, sep, port = host.rpartition(":")
            if sep and port.isdigit():
                host = h
        rec = _Rec(
            row[0],
            row[5],
            int(row[6]),
            row[11],
            row[13],
            user=row[1] or None,
            db=row[2] or None,
            host=host or None,
            app=row[22] or None,
            ps=row[7],
            state=row[12] or None,
            detail=row[14] or None,
            stmt=row[19] or None,
            offset=offset,
            raw=raw,
        )
        return self._on_record(rec)

    def _feed_stderr(self, line: Line) -> list[Output]:
        data = line.data
        if data[:1] == b"\t":
            # PostgreSQL writes each newline inside a message as newline + TAB.
            cur = self._cur
            if cur is None:
                return [
                    Unparseable(
                        data, "unparseable_line", "continuation line without a record", line.offset
                    )
                ]
            more = "\n" + data[1:].decode("utf-8", "replace")
            f = self._cur_field
            if f == "msg":
                cur.msg += more
            elif f == "stmt":
                cur.stmt += more
            elif f == "detail":
                cur.detail += more
            return []
        text = data.decode("utf-8", "replace")
        m = self._prefix.match(text)
        if m is None:
            if not text.strip():
                return []
            return [Unparseable(data, "unparseable_line", "no log_line_prefix", line.offset)]
        sev = m["sev"]
        if sev in _SUBFIELDS:
            # DETAIL/STATEMENT/… lines of the record just read (written with it in one piece).
            cur = self._cur
            if cur is not None:
                if sev == "STATEMENT":
                    cur.stmt, self._cur_field = m["msg"], "stmt"
                elif sev == "DETAIL":
                    cur.detail, self._cur_field = m["msg"], "detail"
                else:
                    self._cur_field = "other"
            return []
        out = []
        if self._cur is not None:
            rec, self._cur = self._cur, None
            out = self._on_record(rec)
        g = m.groupdict()
        host = g.get("host")
        if host is None and g.get("rhost"):
            host = g["rhost"].split("(", 1)[0]
        line_no = g.get("line")
        self._cur = _Rec(
            g["ts"],
            g["session"],
            int(line_no) if line_no else None,
            sev,
            m["msg"],
            user=_known(g.get("user")),
            db=_known(g.get("db")),
            host=host,
            app=_known(g.get("app")),
            ps=g.get("ps"),
            state=g.get("state"),
            offset=line.offset,
            raw=data,
        )
        self._cur_field = "msg"
        return out

    # --- records → events -------------------------------------------------------------------------

    def _on_record(self, r: _Rec) -> list[Output]:
        if not r.session:
            return []  # not a session process (stderr lines cut at %q)
        sev = r.sev
        if sev == "LOG":
            msg = r.msg
            if msg.startswith("AUDIT: "):
                return self._audit(r)
            if msg.startswith(("connection authorized: ", "replication connection authorized: ")):
                return self._login(r)
            if msg.startswith("disconnection: "):
                return self._logout(r)
            return []
        if sev == "ERROR":
            return self._error(r)
        if sev == "FATAL" or sev == "PANIC":
            return self._fatal(r)
        return []

    def _audit(self, r: _Rec) -> list[Output]:
        body = r.msg[7:]
        # Unquoted means no field holds a comma: a plain split is exact (and 5x faster).
        f = body.split(",") if '"' not in body else next(csv.reader((body,)), [])
        n = len(f)
        if (n != 9 and n != 10) or not f[1].isdigit() or not f[2].isdigit():
            return [Unparseable(r.raw, "unparseable_line", f"AUDIT line with {n} fields", r.offset)]
        sid = int(f[1])
        rows = int(f[9]) if n == 10 and f[9].isdigit() else None
        out: list[Output] = []
        key = r.session
        held = self._held.get(key)
        if not isinstance(held, _Stmt) or held.sid != sid:
            if held is not None:  # the session moved on: its previous statement is complete
                out.append(self._release(key))
            prev = self._flushed.pop(key, None)
            if prev is not None and prev.sid == sid:
                # More lines after an idle flush (or a rotation): complete the same event, which
                # now starts here as far as checkpoints go.
                prev.offset = prev.first_offset = r.offset
                held = prev
            else:
                held = _Stmt(r, sid)
            out += self._hold(key, held)
        held.add(f[3], f[4], f[6], f[7], f[8], rows)
        return out

    def _error(self, r: _Rec) -> list[Output]:
        key = r.session
        err = _clip(_AT_CHAR.sub("", r.msg) if "at character" in r.msg else r.msg)
        out: list[Output] = []
        held = self._held.get(key)
        if held is not None:
            if type(held) is _Stmt and held.owns_error(r.stmt):
                held.error = err
                out.append(self._release(key))
                return out
            out.append(self._release(key))
        else:
            prev = self._flushed.get(key)
            if prev is not None and prev.owns_error(r.stmt):
                # Emitted by an idle flush before its error arrived: same id, now a failure.
                del self._flushed[key]
                prev.error = err
                out.append(Emitted("db", self._stmt_event(prev), r.offset))
                return out
        if r.stmt:
            out.append(Emitted("db", self._failed_statement(r, err), r.offset))
        return out

    def _fatal(self, r: _Rec) -> list[Output]:
        key = r.session
        held = self._held.get(key)
        state = r.state
        if r.ps is not None:  # jsonlog/csvlog: the process status says whether it got in
            login_failed = r.ps in ("authentication", "startup", "")
        else:  # stderr: SQLSTATE (%e) when the prefix has it, else the message
            login_failed = (
                (state[:2] == "28" or state in _LOGIN_STATES)
                if state is not None
                else _LOGIN_FAIL.search(r.msg) is not None
            )
        if login_failed:
            if type(held) is _Login:
                self._held.pop(key)  # replaced by the failure, under the same id
                held = None
            out = [self._release(key)] if held is not None else []
            ev = self._login_failure(r)
            if "user" in ev:  # e.g. "sorry, too many clients already": nobody to name
                out.append(Emitted("db", ev, r.offset))
            return out
        # Terminated session (administrator, timeout, crash): what it held is over.
        out = []
        if held is not None:
            if type(held) is _Stmt and r.stmt and held.owns_error(r.stmt):
                held.error = _clip(r.msg)
            out.append(self._release(key))
        self._flushed.pop(key, None)
        return out

    def _login(self, r: _Rec) -> list[Output]:
        key = r.session
        out = [self._release(key)] if key in self._held else []
        ev = self._common(r, "login", "success", ("login",))
        msg = r.msg
        i = msg.find(" application_name=")
        if i >= 0:
            app = msg[i + 18 :]
            for cut in (" SSL enabled", " GSS ("):
                j = app.find(cut)
                if j >= 0:
                    app = app[:j]
            if app:
                ev["service"] = {"name": app}
        out += self._hold(key, _Login(ev, r.offset))
        return out

    def _logout(self, r: _Rec) -> list[Output]:
        key = r.session
        out = [self._release(key)] if key in self._held else []
        self._flushed.pop(key, None)
        ev = self._common(r, "logout", "success", ("logout",))
        m = _SESSION_TIME.search(r.msg)
        if m:
            h, mi, s = m.groups()
            ev["db"]["duration_ms"] = round((int(h) * 3600 + int(mi) * 60 + float(s)) * 1000, 3)
        out.append(Emitted("db", ev, r.offset))
        return out

    # --- holding ----------------------------------------------------------------------------------

    def _hold(self, key: str, item: _Stmt | _Login) -> list[Output]:
        self._held[key] = item
        self._held.move_to_end(key)
        if len(self._held) <= self._max_sessions:
            return []
        oldest = next(iter(self._held))  # bounded memory: the longest-held item goes out as is
        return [self._release(oldest, keep=True)]

    def _release(self, key: str, keep: bool = False) -> Emitted:
        """Emit what ``key`` holds. ``keep``: remember a statement in case more of it follows."""
        item = self._held.pop(key)
        if isinstance(item, _Login):
            return Emitted("db", item.event, item.offset)
        if keep:
            self._flushed[key] = item
            self._flushed.move_to_end(key)
            if len(self._flushed) > self._max_sessions:
                self._flushed.popitem(last=False)
        else:
            self._flushed.pop(key, None)
        return Emitted("db", self._stmt_event(item), item.first_offset)

    # --- event building ---------------------------------------------------------------------------

    def _common(self, r: _Rec, action: str, outcome: str, id_parts: tuple) -> dict:
        ev: dict = {
            "@timestamp": self._timestamp(r.ts),
            "event": {
                "id": stable_id("pgaudit", self._instance, r.session, *id_parts),
                "action": action,
                "outcome": outcome,
                "module": "pgaudit",
            },
        }
        if r.user:
            ev["user"] = {"name": r.user}
        ip = _client_ip(r.host)
        if ip:
            ev["source"] = {"ip": ip}
        if r.app:
            ev["service"] = {"name": r.app}
        ev["session"] = {"id": r.session}
        db: dict = {"system": "postgresql"}
        if self._instance:
            db["instance"] = self._instance
        if r.db:
            db["name"] = r.db
        ev["db"] = db
        return ev

    def _stmt_event(self, s: _Stmt) -> dict:
        failed = s.error is not None
        ev = self._common(s.rec, "query", "failure" if failed else "success", (s.sid,))
        db = ev["db"]
        db["statement"] = s.text if s.text is not None else "<not logged>"
        if s.op:
            db["operation"] = s.op
        if s.objects:
            db["objects"] = list(s.objects)
        audit: dict = {"statement_id": s.sid}
        if s.classes:
            audit["class"] = list(s.classes)
        db["audit"] = audit
        if s.rows is not None:
            db["rows"] = s.rows
        if s.params is not None:
            db["parameters"] = s.params
        if failed:
            db["error"] = s.error
        return ev

    def _failed_statement(self, r: _Rec, err: str) -> dict:
        """An ERROR that pgaudit never logged a line for (parse/plan/execution failure)."""
        ident = ("error", r.line) if r.line is not None else ("error@", r.offset)
        ev = self._common(r, "query", "failure", ident)
        db = ev["db"]
        db["statement"] = r.stmt
        ps = r.ps
        if ps and not ps.startswith("idle") and ps not in ("authentication", "startup"):
            db["operation"] = ps  # the command tag PostgreSQL was running
        db["error"] = err
        return ev

    def _login_failure(self, r: _Rec) -> dict:
        ev = self._common(r, "login", "failure", ("login",))
        m = _QUOTED_USER.search(r.msg)
        if m:
            ev["user"] = {"name": m.group(1).replace('""', '"')}
        err = r.msg
        if r.detail:
            # The DETAIL says why (e.g. 'Role "x" does not exist.'); the pg_hba line is noise.
            why = [d for d in r.detail.split("\n") if d and not d.startswith("Connection matched")]
            if why:
                err = f"{err}: {' '.join(why)}"
        ev["db"]["error"] = _clip(err)
        ev.pop("service", None)  # no application name is known before authentication
        return ev

    # --- time -------------------------------------------------------------------------------------

    def _timestamp(self, raw: str) -> str:
        """``2026-11-27 01:17:20.193 CET`` (%m, json, csv), ``… 01:17:20 CET`` (%t), epoch (%n)."""
        if raw[4:5] != "-":
            dt = datetime.fromtimestamp(float(raw), tz=UTC)
            return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
        rest = raw[19:]
        if rest[:1] == ".":
            sp = rest.find(" ")
            frac, zone = (rest[1:sp], rest[sp + 1 :]) if sp > 0 else (rest[1:], "")
            ms = (frac + "00")[:3]
        else:
            ms, zone = "000", rest.strip()
        key = raw[:19] + zone
        base = self._ts_cache.get(key)
        if base is None:
            if len(self._ts_cache) > 8192:
                self._ts_cache.clear()
            base = self._ts_cache[key] = self._utc_second(raw[:19], zone)
        return f"{base}.{ms}Z"

    def _utc_second(self, local: str, zone: str) -> str:
        naive = datetime.fromisoformat(local)
        if zone in ("UTC", "GMT", "Z", "UCT", "Etc/UTC"):
            aware = naive.replace(tzinfo=UTC)
        elif (m := _NUMERIC_ZONE.fullmatch(zone)) is not None:
            off = timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
            aware = naive.replace(tzinfo=timezone(-off if m.group(1) == "-" else off))
        else:
            # An abbreviation (CET, EST, IST…) is ambiguous on its own: it is read in the
            # configured zone; the abbreviation picks the side of a DST fold.
            aware = naive.replace(tzinfo=self._tz)
            if zone and aware.tzname() != zone:
                other = aware.replace(fold=1)
                if other.tzname() == zone:
                    aware = other
        return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _known(v: str | None) -> str | None:
    """stderr prints ``[unknown]`` for a user/db/app not known yet."""
    return None if not v or v == "[unknown]" else v
