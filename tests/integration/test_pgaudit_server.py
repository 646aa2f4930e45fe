"""The pgaudit parser against a real PostgreSQL 15 + pgaudit, in each of the three log forms.

One private cluster per log form runs a known workload (two users, two applications, DDL/DML,
GRANT, failures, failed logins, a multi-line quoted statement, a short pgbench run); its log is
fed line by line through :class:`PgAuditParser`, and every statement must come out exactly once,
with the right user, database, application, outcome and text, and valid under the contract.
"""

from __future__ import annotations

import calendar
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from connectors.sources.base import Emitted, Line, SourceOptions, Unparseable
from connectors.sources.pgaudit import PgAuditParser
from schemas.normalize import normalize_db
from tests.realservers.postgres import PgServer, skip_unless_available

pytestmark = pytest.mark.integration

DB = "shop"
INSTANCE = "pg-it"

# (statement, operation, outcome, error substring) per session; texts are unique on purpose.
ALICE = ("alice", "shop-app")
ALICE_SQL: list[tuple[str, str | None, str, str | None]] = [
    (
        "CREATE TABLE customers (id int PRIMARY KEY, name text, email text);",
        "CREATE TABLE",
        "success",
        None,
    ),
    (
        "INSERT INTO customers VALUES (1, 'Ann', 'ann@example.com'), (2, 'Bob', 'bob@example.com');",
        "INSERT",
        "success",
        None,
    ),
    (
        "INSERT INTO customers VALUES (3, 'O''Neil, \"Jr\"', 'jr@example.com');",
        "INSERT",
        "success",
        None,
    ),
    (
        "SELECT id, name\n  FROM customers\n WHERE name LIKE '%O''Neil, \"%';",
        "SELECT",
        "success",
        None,
    ),
    ("UPDATE customers SET email = 'ann@new.example' WHERE id = 1;", "UPDATE", "success", None),
    ("DELETE FROM customers WHERE id = 2;", "DELETE", "success", None),
    ("GRANT SELECT, INSERT ON customers TO bob;", "GRANT", "success", None),
    (
        (
            "CREATE FUNCTION risky(i int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO customers VALUES (i, 'r', 'r'); RETURN 1 / (i - i); END $$;"
        ),
        "CREATE FUNCTION",
        "success",
        None,
    ),
    # pgaudit logs the function call before running it: the ERROR then fails that very event.
    ("SELECT risky(42);", "EXECUTE", "failure", "division by zero"),
    # Fails during execution: with log_rows pgaudit writes no AUDIT line, only the ERROR.
    ("SELECT 1 / 0 AS boom;", "SELECT", "failure", "division by zero"),
]
BOB = ("bob", "report tool")
BOB_SQL: list[tuple[str, str | None, str, str | None]] = [
    ("SELECT count(*) FROM customers;", "SELECT", "success", None),
    (
        "INSERT INTO customers VALUES (10, 'Bob''s friend', 'f@example.com');",
        "INSERT",
        "success",
        None,
    ),
    (
        "SELECT * FROM missing_table;",
        "SELECT",
        "failure",
        'relation "missing_table" does not exist',
    ),
    (
        "DELETE FROM customers WHERE id = 1;",
        "DELETE",
        "failure",
        "permission denied for table customers",
    ),
    ("SELECC name FROM customers;", None, "failure", "syntax error"),
    ("SELECT name FROM customers WHERE id = 3;", "SELECT", "success", None),
]
TXNS = 20
CLIENTS = 2

# (log_destination, server log_timezone, SourceOptions.tz): the zones exercise UTC, a numeric
# zone (Etc/GMT-8 prints "+08") and an abbreviation that needs the configured zone (CET/CEST).
FORMATS = [
    ("jsonlog", "UTC", None),
    ("csvlog", "Etc/GMT-8", None),
    ("stderr", "Europe/Berlin", "Europe/Berlin"),
]


@dataclass
class Run:
    fmt: str
    tz: str | None
    raw: list[bytes]  # the log files' bytes (the cluster directory is gone after the fixture)
    outputs: list
    transactions: int
    t0: float
    t1: float
    events: list[dict] = field(default_factory=list)


def feed_files(files: list[Path], parser: PgAuditParser) -> list:
    """What the tailer does: complete lines with byte offsets in, outputs out, flush at the end."""
    out: list = []
    for path in files:
        offset = 0
        with open(path, "rb") as f:
            for raw in f:
                if not raw.endswith(b"\n"):
                    break  # a partial last line is not fed (the server was stopped: none expected)
                out += parser.feed(Line(raw[:-1], offset, offset + len(raw)))
                offset += len(raw)
    out += parser.flush()
    return out


def _sql(rows: list[tuple]) -> str:
    return "\n".join(r[0] for r in rows) + "\n"


@pytest.fixture(scope="module", params=FORMATS, ids=[f[0] for f in FORMATS])
def run(request) -> Run:
    skip_unless_available()
    fmt, log_tz, opt_tz = request.param
    pg = PgServer(fmt, log_timezone=log_tz)
    try:
        pg.start()
        t0 = time.time()
        pg.psql(_sql(ALICE_SQL), user=ALICE[0], app=ALICE[1], on_error_stop=False)
        pg.psql(_sql(BOB_SQL), user=BOB[0], app=BOB[1], on_error_stop=False)
        assert pg.psql("SELECT 1", user="bob", password="wrong", check=False).returncode != 0
        assert pg.psql("SELECT 1", user="mallory", password="whatever", check=False).returncode != 0
        pg.pgbench(init=True, user="alice", app="pgbench-init")
        done = pg.pgbench(
            "-n", "-t", str(TXNS), "-c", str(CLIENTS), user="alice", app="pgbench-run"
        )
        t1 = time.time()
        pg.stop()  # the logging collector has written everything once the server is down
        files = pg.log_files()
        assert files, f"no {fmt} log under {pg.log_dir}"
        outputs = feed_files(files, PgAuditParser(SourceOptions(instance=INSTANCE, tz=opt_tz), fmt))
        r = Run(fmt, opt_tz, [p.read_bytes() for p in files], outputs, done, t0, t1)
        r.events = [o.event for o in outputs if isinstance(o, Emitted)]
        yield r
    finally:
        pg.cleanup()


def _queries(run: Run, **match) -> list[dict]:
    out = []
    for e in run.events:
        if e["event"]["action"] != "query":
            continue
        if all(_get(e, k) == v for k, v in match.items()):
            out.append(e)
    return out


def _get(e: dict, dotted: str):
    node = e
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def test_every_output_is_a_valid_event(run: Run):
    bad = [o for o in run.outputs if isinstance(o, Unparseable)]
    assert bad == [], f"{run.fmt}: unparseable records: {bad[:3]}"
    assert run.events
    for e in run.events:
        normalize_db(e)  # the contract validator: must not raise
        assert e["db"]["system"] == "postgresql" and e["db"]["instance"] == INSTANCE
        assert e["event"]["module"] == "pgaudit"
    ids = Counter(e["event"]["id"] for e in run.events)
    assert [i for i, n in ids.items() if n > 1] == []


def test_timestamps_are_utc_and_in_the_run_window(run: Run):
    # Zone handling: a wrong offset would put events hours away from the wall clock.
    for e in _queries(run, **{"user.name": "bob"}):
        ts = e["@timestamp"]
        assert ts.endswith("Z")
        t = calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))
        assert run.t0 - 5 <= t <= run.t1 + 5, (ts, run.t0, run.t1)


@pytest.mark.parametrize("who, rows", [(ALICE, ALICE_SQL), (BOB, BOB_SQL)], ids=["alice", "bob"])
def test_every_statement_exactly_once(run: Run, who, rows):
    user, app = who
    sessions = set()
    for sql, op, outcome, error in rows:
        found = [e for e in run.events if _get(e, "db.statement") == sql]
        assert len(found) == 1, f"{run.fmt}: {sql!r} found {len(found)} times"
        e = found[0]
        assert e["event"]["action"] == "query"
        assert e["user"]["name"] == user
        assert e["service"]["name"] == app
        assert e["db"]["name"] == DB
        assert e["source"]["ip"] == "127.0.0.1"
        assert e["event"]["outcome"] == outcome, (sql, e)
        assert e["db"].get("operation") == op, (sql, e["db"])
        if error:
            assert error in e["db"]["error"], (sql, e["db"]["error"])
        else:
            assert "error" not in e["db"]
        sessions.add(e["session"]["id"])
    assert len(sessions) == 1  # one psql run = one server session
    # Nothing else ran in that session.
    assert len(
        [
            e
            for e in run.events
            if e["session"]["id"] in sessions and e["event"]["action"] == "query"
        ]
    ) == len(rows)


def test_aggregated_fields(run: Run):
    by_text = {e["db"]["statement"]: e for e in _queries(run, **{"service.name": ALICE[1]})}
    create = by_text[ALICE_SQL[0][0]]
    # CREATE TABLE with a primary key: two pgaudit lines (table, index), one event.
    assert create["db"]["objects"] == ["public.customers", "public.customers_pkey"]
    assert create["db"]["audit"]["class"] == ["DDL"]
    insert = by_text[ALICE_SQL[1][0]]
    assert insert["db"]["rows"] == 2 and insert["db"]["objects"] == ["public.customers"]
    assert insert["db"]["audit"]["class"] == ["WRITE"]
    select = by_text[ALICE_SQL[3][0]]
    assert select["db"]["rows"] == 1 and select["db"]["audit"]["class"] == ["READ"]
    risky = by_text["SELECT risky(42);"]
    assert risky["db"]["objects"] == ["public.risky", "public.customers"]
    assert risky["db"]["audit"]["class"] == ["FUNCTION", "WRITE"]
    ids = [e["db"]["audit"]["statement_id"] for e in by_text.values() if "audit" in e["db"]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_logins_and_logouts(run: Run):
    logins = [e for e in run.events if e["event"]["action"] == "login"]
    failed = {e["user"]["name"]: e for e in logins if e["event"]["outcome"] == "failure"}
    assert set(failed) == {"bob", "mallory"}
    assert 'password authentication failed for user "bob"' in failed["bob"]["db"]["error"]
    assert 'Role "mallory" does not exist' in failed["mallory"]["db"]["error"]
    ok = [e for e in logins if e["event"]["outcome"] == "success"]
    apps = Counter((e["user"]["name"], e.get("service", {}).get("name")) for e in ok)
    assert apps[ALICE] == 1 and apps[BOB] == 1
    # pgbench: one connection per client plus its set-up connection.
    assert apps[("alice", "pgbench-run")] == CLIENTS + 1
    logouts = [e for e in run.events if e["event"]["action"] == "logout"]
    assert len(logouts) == len(ok)  # every session that got in also left
    assert all(e["db"]["duration_ms"] >= 0 for e in logouts)


def test_pgbench_statements_counted_exactly(run: Run):
    assert run.transactions == TXNS * CLIENTS
    bench = _queries(run, **{"service.name": "pgbench-run"})
    ops = Counter(e["db"]["operation"] for e in bench)
    n = run.transactions
    # TPC-B: BEGIN; UPDATE accounts; SELECT abalance; UPDATE tellers; UPDATE branches;
    # INSERT history; END — pgaudit logs all seven (END as COMMIT, class MISC), plus pgbench's
    # one scale-detection SELECT count(*) on the set-up connection.
    assert ops == {"BEGIN": n, "UPDATE": 3 * n, "SELECT": n + 1, "INSERT": n, "COMMIT": n}
    texts = Counter(e["db"]["statement"].split(" SET ")[0].split(" WHERE ")[0] for e in bench)
    assert texts["UPDATE pgbench_accounts"] == n and texts["UPDATE pgbench_tellers"] == n
    assert texts["END;"] == n
    assert all(e["event"]["outcome"] == "success" and e["db"]["rows"] >= 0 for e in bench)


def test_rereading_gives_the_same_events(run: Run, tmp_path):
    # Same lines → same ids, whether the form is given or detected.
    paths = []
    for i, data in enumerate(run.raw):
        p = tmp_path / f"{i}.log"
        p.write_bytes(data)
        paths.append(p)
    again = feed_files(paths, PgAuditParser(SourceOptions(instance=INSTANCE, tz=run.tz), "auto"))
    assert [o.event for o in again if isinstance(o, Emitted)] == run.events
