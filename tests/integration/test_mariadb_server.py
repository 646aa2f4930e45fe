"""A real MariaDB with server_audit: what clients run comes out of the parser once per statement."""

from __future__ import annotations

import collections
import re
import time
from datetime import datetime

import pytest

from connectors.sources.base import Emitted, Line, SourceOptions, Unparseable
from connectors.sources.mariadb_audit import MariaDbAuditParser
from schemas.normalize import normalize_db
from tests.realservers.mariadb import MariaDbServer, skip_unless_available

pytestmark = pytest.mark.integration

PASSWORDS = {"alice": "alice-pw-1", "bob": "bob-pw-2"}
LOAD_N = 400

# Each list runs in one client session: root, alice, bob (those succeed, then the failures, each
# alone since the client stops at an error), root again; then a failed login and the load.
SETUP = [
    "create database hr",
    "create table hr.employees (id int primary key, name varchar(100), note text)",
    "create user 'alice'@'%' identified by 'alice-pw-1'",
    "create user 'bob'@'%' identified by 'bob-pw-2'",
    "grant select, insert, update, delete, create on hr.* to 'alice'@'%'",
    "grant select on hr.* to 'bob'@'%'",
]
ALICE = [
    "insert into employees values (1, 'Ann', 'first')",
    "insert into employees values (2, 'O''Brien, Pat',\n"
    "  'line one\nline two, \"quoted\" it''s; done')",
    "select id, name from employees where name like '%,%'",
    "update employees set note = 'moved' where id = 1",
    "delete from employees where id = 1",
    "create table projects (id int, title varchar(50))",
]
BOB_OK = ["select count(*) from employees"]
BOB_FAIL = [  # (statement, MariaDB error code)
    ("insert into employees values (9, 'x', 'y')", 1142),  # no INSERT privilege
    ("select * from missing_table", 1146),
]
ROOT_LATER = ["grant insert on hr.* to 'bob'@'%'"]


def logged(sql: str) -> str:
    """server_audit masks passwords itself: ``identified by '…'`` → ``identified by *****``."""
    return re.sub(r"identified by '[^']*'", "identified by *****", sql)


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    """Run the whole workload once; yield (server, parser outputs, raw lines, start time)."""
    skip_unless_available()
    started = time.time()
    srv = MariaDbServer(tmp_path_factory.mktemp("mdb")).start()
    try:
        srv.sql(";\n".join(SETUP))
        srv.sql(";\n".join(ALICE), user="alice", password=PASSWORDS["alice"], db="hr")
        srv.sql(";\n".join(BOB_OK), user="bob", password=PASSWORDS["bob"], db="hr")
        for stmt, _ in BOB_FAIL:
            res = srv.sql(stmt, user="bob", password=PASSWORDS["bob"], db="hr", check=False)
            assert res.returncode != 0
        srv.sql(";\n".join(ROOT_LATER))
        bad = srv.sql("select 1", user="bob", password="wrong", db="hr", check=False)
        assert "Access denied" in bad.stderr
        load = [f"select id, name from employees where id = {i}" for i in range(LOAD_N)]
        assert srv.load(load, user="alice", password=PASSWORDS["alice"], db="hr") == LOAD_N
        # The server writes DISCONNECT after the client is gone: wait until every session ended.
        def all_ended(ls: list[bytes]) -> bool:
            began = sum(b",CONNECT," in ln or b",FAILED_CONNECT," in ln for ln in ls)
            return began == sum(b",DISCONNECT," in ln for ln in ls) >= 8

        lines = srv.wait_audit(all_ended)
        # No tz: the server writes this machine's local time, which is the parser's default zone.
        parser = MariaDbAuditParser(SourceOptions())
        outs, offset = [], 0
        for data in lines:
            outs += parser.feed(Line(data, offset, offset + len(data) + 1))
            offset += len(data) + 1
        outs += parser.flush()
        assert parser.pending_offset() is None
        yield srv, outs, lines, started
    finally:
        srv.stop()


def test_every_output_is_a_valid_event(audited):
    _, outs, _, _ = audited
    assert [o for o in outs if isinstance(o, Unparseable)] == []
    evs = [o.event for o in outs]
    for e in evs:
        normalize_db(e)
    ids = [e["event"]["id"] for e in evs]
    assert len(set(ids)) == len(ids)
    # Local wall-clock seconds without a zone, read back in the machine's zone: the real time.
    _, _, _, started = audited
    for e in evs:
        t = datetime.fromisoformat(e["@timestamp"].replace("Z", "+00:00")).timestamp()
        assert started - 2 <= t <= time.time() + 1
    text = repr(evs)
    assert "None" not in text  # unknown values are left out, never null
    assert PASSWORDS["alice"] not in text and PASSWORDS["bob"] not in text  # masked by the server


def test_every_statement_once_with_user_database_and_outcome(audited):
    _, outs, _, _ = audited
    queries = [o.event for o in outs
               if isinstance(o, Emitted) and o.event["event"]["action"] == "query"]
    seen = collections.Counter((e["user"]["name"], e["db"]["statement"]) for e in queries)
    expected = ([("root", logged(s)) for s in SETUP + ROOT_LATER] + [("alice", s) for s in ALICE]
                + [("bob", s) for s in BOB_OK] + [("bob", s) for s, _ in BOB_FAIL])
    for key in expected:
        assert seen[key] == 1, f"{key} seen {seen[key]} times"
    by_stmt = {e["db"]["statement"]: e for e in queries}
    for stmt in ALICE + BOB_OK:
        e = by_stmt[stmt]
        assert e["event"]["outcome"] == "success" and e["db"]["name"] == "hr"
        assert e["source"] == {"ip": "127.0.0.1"} and e["db"]["system"] == "mariadb"
    for stmt, code in BOB_FAIL:
        e = by_stmt[stmt]
        assert e["event"]["outcome"] == "failure" and e["db"]["error"] == f"error code {code}"
    # The statement with a newline, quotes and commas comes back byte for byte.
    assert ALICE[1] in by_stmt and "\n" in by_stmt[ALICE[1]]["db"]["statement"]
    assert by_stmt[ALICE[0]]["db"]["objects"] == ["hr.employees"]
    assert by_stmt[ALICE[5]]["db"]["objects"] == ["hr.projects"]
    assert by_stmt[ALICE[0]]["db"]["operation"] == "INSERT"
    # Only the fixture's readiness probe is extra.
    extra = set(seen) - set(expected) - {("alice", f"select id, name from employees where id = {i}")
                                         for i in range(LOAD_N)}
    assert extra == {("root", "select 1")}


def test_load_count_matches(audited):
    _, outs, _, _ = audited
    prefix = "select id, name from employees where id = "
    load = [o.event for o in outs if o.event["db"].get("statement", "").startswith(prefix)]
    assert len(load) == LOAD_N
    assert {e["user"]["name"] for e in load} == {"alice"}
    assert len({e["session"]["id"] for e in load}) == 1


def test_logins_logouts_and_the_failed_login(audited):
    _, outs, lines, _ = audited
    evs = [o.event for o in outs]
    logins = [e for e in evs if e["event"]["action"] == "login"]
    failed = [e for e in logins if e["event"]["outcome"] == "failure"]
    assert len(failed) == 1
    assert failed[0]["user"] == {"name": "bob"} and failed[0]["db"]["error"] == "error code 1045"
    ok = [e for e in logins if e["event"]["outcome"] == "success"]
    logouts = [e for e in evs if e["event"]["action"] == "logout"]
    assert len(ok) == len(logouts) == sum(b",CONNECT," in ln for ln in lines)
    assert {e["session"]["id"] for e in ok} == {e["session"]["id"] for e in logouts}


def test_rereading_gives_the_same_events(audited):
    _, outs, lines, _ = audited
    parser = MariaDbAuditParser(SourceOptions())
    again, offset = [], 0
    for data in lines:
        again += parser.feed(Line(data, offset, offset + len(data) + 1))
        offset += len(data) + 1
    again += parser.flush()
    assert [(o.event, o.offset) for o in again] == [(o.event, o.offset) for o in outs]
