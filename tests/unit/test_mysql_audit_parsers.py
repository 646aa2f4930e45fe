"""MariaDB server_audit and MySQL/Percona audit JSON parsers on real and documented records.

The server_audit excerpts were captured from MariaDB 10.11.19 (Debian 12, server_audit 1.4.14)
run privately by tests/realservers/mariadb.py; the JSON samples are the vendors' documented ones.
"""

from __future__ import annotations

import orjson
import pytest

from connectors.sources.base import Emitted, Line, SourceOptions, Unparseable
from connectors.sources.mariadb_audit import MariaDbAuditParser, sql_operation
from connectors.sources.mysql_audit_json import MySqlAuditJsonParser
from schemas.normalize import normalize_db


def feed_all(parser, lines: list[bytes], flush: bool = True) -> list:
    out, offset = [], 0
    for data in lines:
        out += parser.feed(Line(data, offset, offset + len(data) + 1))
        offset += len(data) + 1
    return out + (parser.flush() if flush else [])


def events(outputs: list) -> list[dict]:
    evs = [o.event for o in outputs if isinstance(o, Emitted)]
    for e in evs:
        normalize_db(e)  # the contract validator must accept every event
    return evs


def lines(text: bytes) -> list[bytes]:
    return [ln for ln in text.strip(b"\n").split(b"\n")]


# --- MariaDB server_audit ------------------------------------------------------------------------

# Captured: root over the socket (name resolution on, so host = localhost), one session.
SESSION = lines(rb"""
20261127 00:13:18,vm,root,localhost,4,0,CONNECT,,,0
20261127 00:13:18,vm,root,localhost,4,3,QUERY,,'create database hr',0
20261127 00:13:18,vm,root,localhost,4,4,CREATE,hr,employees,
20261127 00:13:18,vm,root,localhost,4,4,QUERY,hr,'create table hr.employees (id int primary key, name varchar(100), note text)',0
20261127 00:13:18,vm,root,localhost,4,7,WRITE,mysql,db,
20261127 00:13:18,vm,root,localhost,4,7,WRITE,mysql,global_priv,
20261127 00:13:18,vm,root,localhost,4,7,QUERY,hr,'grant select, insert, update, delete on hr.* to \'alice\'@\'%\'',0
20261127 00:13:18,vm,root,localhost,4,8,WRITE,hr,employees,
20261127 00:13:18,vm,root,localhost,4,8,READ,mysql,table_stats,
20261127 00:13:18,vm,root,localhost,4,8,READ,mysql,column_stats,
20261127 00:13:18,vm,root,localhost,4,8,READ,mysql,index_stats,
20261127 00:13:18,vm,root,localhost,4,8,QUERY,hr,'insert into hr.employees values (1, \'O\'\'Brien, Pat\', \'line1\nline2\ttab "dq" \\\\ backslash\')',0
20261127 00:13:18,vm,root,localhost,4,9,READ,hr,employees,
20261127 00:13:18,vm,root,localhost,4,9,READ,mysql,global_priv,
20261127 00:13:18,vm,root,localhost,4,9,READ,mysql,table_stats,
20261127 00:13:18,vm,root,localhost,4,9,READ,mysql,column_stats,
20261127 00:13:18,vm,root,localhost,4,9,READ,mysql,index_stats,
20261127 00:13:18,vm,root,localhost,4,9,QUERY,hr,'select * from hr.employees e join mysql.user u on 1=0 where e.name like \'%,%\'',0
20261127 00:13:18,vm,root,localhost,4,10,QUERY,hr,'select * from nosuch.table1',1146
20261127 00:13:18,vm,root,localhost,4,0,DISCONNECT,,,0
""")

# Captured with --skip-name-resolve: a TCP login with a default database, a wrong password.
LOGINS = lines(rb"""
20261127 00:13:58,vm,alice,127.0.0.1,3,0,CONNECT,hr,,0
20261127 00:13:58,vm,alice,127.0.0.1,3,1,QUERY,hr,'select 1',0
20261127 00:13:58,vm,alice,127.0.0.1,3,0,DISCONNECT,hr,,0
20261127 00:13:49,vm,alice,127.0.0.1,9,0,FAILED_CONNECT,,,1045
20261127 00:13:49,vm,alice,127.0.0.1,9,0,DISCONNECT,,,0
""")

# Captured: CALL of a procedure (its statements get larger query ids and are logged inside the
# CALL's span), a prepared statement (EXECUTE logs the prepared text), a trigger (its insert is
# logged as a QUERY of its own; its table is a TABLE record of the outer insert).
NESTED = lines(rb"""
20261127 00:14:25,vm,root,127.0.0.1,7,18,READ,mysql,proc,
20261127 00:14:25,vm,root,127.0.0.1,7,19,READ,hr,employees,
20261127 00:14:25,vm,root,127.0.0.1,7,19,QUERY,mysql,'select * from hr.employees',0
20261127 00:14:25,vm,root,127.0.0.1,7,20,WRITE,hr,employees,
20261127 00:14:25,vm,root,127.0.0.1,7,20,QUERY,mysql,'update hr.employees set name=name where id=99',0
20261127 00:14:25,vm,root,127.0.0.1,7,18,QUERY,mysql,'call hr.p()',0
20261127 00:14:25,vm,root,127.0.0.1,7,21,QUERY,mysql,'prepare s from \'select * from hr.employees where id=?\'',0
20261127 00:14:25,vm,root,127.0.0.1,7,23,READ,hr,employees,
20261127 00:14:25,vm,root,127.0.0.1,7,23,QUERY,mysql,'select * from hr.employees where id=?',0
20261127 00:14:25,vm,root,127.0.0.1,7,27,WRITE,hr,employees,
20261127 00:14:25,vm,root,127.0.0.1,7,27,WRITE,hr,audit_t,
20261127 00:14:25,vm,root,127.0.0.1,7,27,READ,mysql,table_stats,
20261127 00:14:25,vm,root,127.0.0.1,7,28,QUERY,mysql,'insert into hr.audit_t values (new.id)',0
20261127 00:14:25,vm,root,127.0.0.1,7,27,QUERY,mysql,'insert into hr.employees (id,name) values (5,\'t\')',0
""")


def test_one_event_per_statement_with_table_records_folded():
    evs = events(feed_all(MariaDbAuditParser(SourceOptions(tz="UTC")), SESSION))
    assert [e["event"]["action"] for e in evs] == ["login"] + ["query"] * 6 + ["logout"]
    by_sql = {e["db"].get("statement"): e for e in evs}
    create = by_sql["create table hr.employees (id int primary key, name varchar(100), note text)"]
    assert create["db"]["objects"] == ["hr.employees"] and create["db"]["operation"] == "CREATE"
    grant = by_sql["grant select, insert, update, delete on hr.* to 'alice'@'%'"]
    assert grant["db"]["objects"] == ["mysql.db", "mysql.global_priv"]
    # The optimizer's statistics-table reads are not the statement's objects…
    insert = next(e for e in evs if e["db"].get("operation") == "INSERT")
    assert insert["db"]["objects"] == ["hr.employees"]
    # …but mysql.user (a view over global_priv since 10.4) is what the server reports.
    select = by_sql["select * from hr.employees e join mysql.user u on 1=0 where e.name like '%,%'"]
    assert select["db"]["objects"] == ["hr.employees", "mysql.global_priv"]
    e = evs[1]
    assert e["@timestamp"] == "2026-11-27T00:13:18.000Z"
    assert e["event"]["module"] == "mariadb_audit" and e["event"]["outcome"] == "success"
    assert e["user"] == {"name": "root"} and e["session"] == {"id": "4"}
    assert e["db"]["system"] == "mariadb" and e["db"]["instance"] == "vm"
    assert "source" not in e  # "localhost" is a name, not an address
    assert "name" not in e["db"]  # no current database: the key is omitted, never None


def test_statement_unescaped_exactly():
    evs = events(feed_all(MariaDbAuditParser(SourceOptions(tz="UTC")), SESSION))
    insert = next(e for e in evs if e["db"].get("operation") == "INSERT")
    assert insert["db"]["statement"] == (
        "insert into hr.employees values (1, 'O''Brien, Pat', 'line1\nline2\ttab \"dq\" \\\\ backslash')"
    )
    # Captured: \b \f \r are escaped too; other bytes (0x01, invalid UTF-8 0xff) are written raw.
    raw = (b"20261127 00:14:35,vm,root,127.0.0.1,8,31,QUERY,,'select 1 /* \\b \\f \x01 caf\xc3\xa9 \xff "
           b"\\r\\n x */',0")
    (e,) = events(feed_all(MariaDbAuditParser(SourceOptions(tz="UTC")), [raw]))
    assert e["db"]["statement"] == "select 1 /* \b \f \x01 café \ufffd \r\n x */"
    # Captured: 'abc\\' and 'x\'y' typed in SQL (backslash escapes inside the literal).
    quoted = lines(rb"""
20261127 00:14:35,vm,root,127.0.0.1,11,39,QUERY,,'select \'abc\\\\\'',0
20261127 00:14:35,vm,root,127.0.0.1,11,40,QUERY,,'select \'x\\\'y\'',0
""")
    a, b = events(feed_all(MariaDbAuditParser(SourceOptions(tz="UTC")), quoted))
    assert a["db"]["statement"] == "select 'abc\\\\'"
    assert b["db"]["statement"] == "select 'x\\'y'"


def test_failed_statement_and_failed_login():
    p = MariaDbAuditParser(SourceOptions(tz="UTC"))
    evs = events(feed_all(p, SESSION + LOGINS))
    failed = next(e for e in evs if e["db"].get("statement") == "select * from nosuch.table1")
    assert failed["event"]["outcome"] == "failure" and failed["db"]["error"] == "error code 1146"
    logins = [e for e in evs if e["user"]["name"] == "alice"]
    assert [(e["event"]["action"], e["event"]["outcome"]) for e in logins] == [
        ("login", "success"), ("query", "success"), ("logout", "success"), ("login", "failure"),
    ]  # the DISCONNECT that follows a failed connect is not a logout
    assert logins[0]["db"]["name"] == "hr" and logins[0]["source"] == {"ip": "127.0.0.1"}
    assert logins[3]["db"]["error"] == "error code 1045" and logins[3]["db"]["operation"] == "CONNECT"


def test_nested_statements_keep_their_own_objects():
    outs = feed_all(MariaDbAuditParser(SourceOptions(tz="UTC")), NESTED)
    assert not [o for o in outs if isinstance(o, Unparseable)]
    got = {e["db"]["statement"]: e["db"].get("objects") for e in events(outs)}
    assert got == {
        "select * from hr.employees": ["hr.employees"],
        "update hr.employees set name=name where id=99": ["hr.employees"],
        "call hr.p()": ["mysql.proc"],
        "prepare s from 'select * from hr.employees where id=?'": None,
        "select * from hr.employees where id=?": ["hr.employees"],
        "insert into hr.audit_t values (new.id)": None,
        "insert into hr.employees (id,name) values (5,'t')": ["hr.employees", "hr.audit_t"],
    }


def test_pending_offset_reports_the_oldest_held_table_record():
    p = MariaDbAuditParser(SourceOptions(tz="UTC"))
    off = 0
    seen = []
    for data in NESTED:
        p.feed(Line(data, off, off + len(data) + 1))
        seen.append((off, p.pending_offset()))
        off += len(data) + 1
    first = seen[0][0]
    assert seen[0][1] == first  # READ mysql.proc of the CALL (query 18) is held…
    assert all(pending == first for _, pending in seen[:5])  # …through the procedure's statements
    assert seen[5][1] is None  # the CALL's QUERY releases it
    assert seen[9][1] == seen[9][0] and seen[12][1] == seen[9][0]  # the trigger insert's records
    assert seen[-1][1] is None and p.flush() == []


def test_event_ids_deterministic_and_distinct():
    a = events(feed_all(MariaDbAuditParser(SourceOptions(tz="UTC")), SESSION + LOGINS + NESTED))
    b = events(feed_all(MariaDbAuditParser(SourceOptions(tz="UTC")), SESSION + LOGINS + NESTED))
    ids = [e["event"]["id"] for e in a]
    assert ids == [e["event"]["id"] for e in b]
    assert len(set(ids)) == len(ids)
    other = events(feed_all(MariaDbAuditParser(SourceOptions(tz="UTC", instance="db-2")), SESSION))
    assert other[0]["event"]["id"] not in ids and other[0]["db"]["instance"] == "db-2"


def test_local_timestamps_use_the_configured_zone():
    (e,) = events(feed_all(MariaDbAuditParser(SourceOptions(tz="+08:00")), [LOGINS[1]]))
    assert e["@timestamp"] == "2026-11-26T16:13:58.000Z"
    (e,) = events(feed_all(MariaDbAuditParser(SourceOptions(tz="Europe/Paris")), [LOGINS[1]]))
    assert e["@timestamp"] == "2026-11-26T23:13:58.000Z"


def test_garbage_lines_are_unparseable():
    garbage = [b"hello world", b"20261127 00:13:18,vm,root", b"20261399 00:13:18,vm,root,h,4,1,QUERY,,'x',0",
               b"20261127 00:13:18,vm,root,h,x,1,QUERY,,'x',0", b"20261127 00:13:18,vm,root,h,4,1,BOGUS,,,0",
               b"20261127 00:13:18,vm,root,h,4,1,QUERY,,x,0"]
    outs = feed_all(MariaDbAuditParser(SourceOptions(tz="UTC")), [b"", b"   "] + garbage)
    assert [type(o) for o in outs] == [Unparseable] * len(garbage)
    assert {o.reason for o in outs} == {"unparseable_line"}
    assert [o.raw for o in outs] == garbage


def test_orphan_table_records_are_dead_lettered_not_dropped():
    p = MariaDbAuditParser(SourceOptions(tz="UTC"))
    read = b"20261127 00:20:00,vm,app,10.0.0.5,12,500,READ,hr,salaries,"
    out = feed_all(p, [read], flush=False)
    assert out == [] and p.pending_offset() == 0
    (orphan,) = p.flush()  # idle / shutdown: nothing may stay unaccounted for
    assert isinstance(orphan, Unparseable) and orphan.reason == "orphan_table_record"
    assert orphan.raw == read and orphan.offset == 0 and p.pending_offset() is None
    # A statement still running at flush: its QUERY still gets the objects.
    (late,) = events(p.feed(Line(b"20261127 00:20:09,vm,app,10.0.0.5,12,500,QUERY,hr,'select * from salaries',0",
                                 100, 180)))
    assert late["db"]["objects"] == ["hr.salaries"]
    # Records of a query id nested in a finished statement, and at disconnect, are orphans at once.
    p2 = MariaDbAuditParser(SourceOptions(tz="UTC"))
    outs = feed_all(p2, [
        b"20261127 00:20:00,vm,app,10.0.0.5,12,31,READ,hr,a,",
        b"20261127 00:20:00,vm,app,10.0.0.5,12,30,QUERY,hr,'call p()',0",
        b"20261127 00:20:00,vm,app,10.0.0.5,12,33,WRITE,hr,b,",
        b"20261127 00:20:00,vm,app,10.0.0.5,12,0,DISCONNECT,hr,,0",
    ], flush=False)
    assert [getattr(o, "reason", "event") for o in outs] == ["orphan_table_record", "event", "orphan_table_record",
                                                             "event"]
    assert p2.pending_offset() is None


def test_rename_and_newer_connect_fields():
    outs = feed_all(MariaDbAuditParser(SourceOptions(tz="UTC")), lines(rb"""
20261127 00:13:58,vm,root,127.0.0.1,4,5,RENAME,hr2,x|hr2.y,
20261127 00:13:58,vm,root,127.0.0.1,4,5,WRITE,mysql,table_stats,
20261127 00:13:58,vm,root,127.0.0.1,4,5,QUERY,hr2,'rename table hr2.x to hr2.y',0
20261127 00:13:58,vm,root,127.0.0.1,4,0,CONNECT,hr,,0,TCP/IP
20261127 00:13:58,vm,root,127.0.0.1,4,0,AUDIT_CONFIG,,file_path=x,0
"""))
    rename, login = events(outs)
    assert rename["db"]["objects"] == ["hr2.x", "hr2.y"] and rename["db"]["operation"] == "RENAME"
    assert login["event"]["action"] == "login" and login["db"]["name"] == "hr"


def test_old_plugin_raw_newlines_are_assembled():
    # server_audit before 1.4 escaped only ' and \ and wrote newlines raw (not from a live server).
    record = [b"20150101 10:00:00,db1,bob,10.1.1.1,5,77,QUERY,shop,'select a,", b"", b"  b from t where c = \\'x,",
              b"y\\''", b"   and d = 1',0"]
    p = MariaDbAuditParser(SourceOptions(tz="UTC"))
    off, outs, pend = 0, [], []
    for data in record + [b"20150101 10:00:01,db1,bob,10.1.1.1,5,0,DISCONNECT,shop,,0"]:
        outs += p.feed(Line(data, off, off + len(data) + 1))
        pend.append(p.pending_offset())
        off += len(data) + 1
    assert pend[:4] == [0, 0, 0, 0] and pend[4] is None
    q, bye = events(outs)
    assert q["db"]["statement"] == "select a,\n\n  b from t where c = 'x,\ny''\n   and d = 1"
    assert bye["event"]["action"] == "logout"
    # Held TABLE records before an open record: the checkpoint stays at the older of the two.
    p = MariaDbAuditParser(SourceOptions(tz="UTC"))
    table = b"20150101 10:00:00,db1,bob,10.1.1.1,5,77,READ,shop,t,"
    feed_all(p, [table] + record[:2], flush=False)
    assert p.pending_offset() == 0
    (q,) = events(feed_all(p, record[2:]))
    assert q["db"]["objects"] == ["shop.t"] and p.pending_offset() is None
    # A record that never closes is dead-lettered whole when the next record starts.
    outs = feed_all(MariaDbAuditParser(SourceOptions(tz="UTC")), record[:2] + [LOGINS[1]])
    assert isinstance(outs[0], Unparseable) and outs[0].raw == b"\n".join(record[:2])
    assert events(outs[1:])[0]["db"]["statement"] == "select 1"


def test_sql_operation():
    assert sql_operation("  -- note\n  # other\n (SELECT 1)") == "SELECT"
    assert sql_operation("with x as (select 1) select * from x") == "WITH"
    assert sql_operation("   ") is None
    assert sql_operation(" " * 5000 + "1") is None  # no catastrophic backtracking


# --- MySQL Enterprise Audit JSON ----------------------------------------------------------------

# Documented samples, https://dev.mysql.com/doc/refman/8.4/en/audit-log-file-formats.html
# ("JSON Audit Log File Format"), each put on one line as the plugin writes them (the page
# reformats them for reading and elides some connection attributes with "...", left out here).
# MYSQL_GENERAL_INSERT is the query sample rewritten for the table_access sample's statement.
MYSQL_CONNECT = (b'{ "timestamp": "2019-10-03 14:23:18", "id": 1, "class": "connection", "event": "connect", '
                 b'"connection_id": 5, "account": { "user": "root", "host": "localhost" }, "login": { "user": '
                 b'"root", "os": "", "ip": "::1", "proxy": "" }, "connection_data": { "connection_type": "ssl", '
                 b'"status": 0, "db": "test", "connection_attributes": { "_pid": "43236", "program_name": '
                 b'"mysqladmin" } } }')
MYSQL_QUERY = (b'{ "timestamp": "2019-10-03 14:23:35", "id": 2, "class": "general", "event": "status", '
               b'"connection_id": 5, "account": { "user": "root", "host": "localhost" }, "login": { "user": '
               b'"root", "os": "", "ip": "::1", "proxy": "" }, "general_data": { "command": "Query", '
               b'"sql_command": "show_variables", "query": "SHOW VARIABLES", "status": 0 } }')
MYSQL_TABLE = (b'{ "timestamp": "2019-10-03 14:23:41", "id": 0, "class": "table_access", "event": "insert", '
               b'"connection_id": 5, "account": { "user": "root", "host": "localhost" }, "login": { "user": '
               b'"root", "os": "", "ip": "127.0.0.1", "proxy": "" }, "table_access_data": { "db": "test", '
               b'"table": "t1", "query": "INSERT INTO t1 (i) VALUES(1),(2),(3)", "sql_command": "insert" } }')
MYSQL_DISCONNECT = (b'{ "timestamp": "2019-10-03 14:24:45", "id": 3, "class": "connection", "event": '
                    b'"disconnect", "connection_id": 5, "account": { "user": "root", "host": "localhost" }, '
                    b'"login": { "user": "root", "os": "", "ip": "::1", "proxy": "" }, "connection_data": { '
                    b'"connection_type": "ssl" } }')
MYSQL_STARTUP = (b'{ "timestamp": "2019-10-03 14:21:56", "id": 0, "class": "audit", "event": "startup", '
                 b'"connection_id": 0, "startup_data": { "server_id": 1, "os_version": "i686-Linux", '
                 b'"mysql_version": "5.7.21-log", "args": ["/usr/local/mysql/bin/mysqld", '
                 b'"--loose-audit-log-format=JSON", "--log-error=log.err", "--pid-file=mysqld.pid", '
                 b'"--port=3306" ] } }')
# The same page's "query event with optional query statistics" sample, verbatim: it has typographic
# quotes and a missing comma, so it is not JSON.
MYSQL_BROKEN = (b'{ "timestamp": "2022-01-28 13:09:30", "id": 0, "class": "general", "event": "status", '
                b'"connection_id": 46, "login": { "user": "user", \xe2\x80\x9cos": "", \xe2\x80\x9cip": '
                b'"127.0.0.1", \xe2\x80\x9cproxy": "" }, "general_data": { "command": "Query", "query": '
                b'"INSERT INTO audit_table VALUES(4)", "status": 1146 } "query_statistics": { "rows_sent": 3 } }')
MYSQL_GENERAL_INSERT = (b'{ "timestamp": "2019-10-03 14:23:41", "id": 1, "class": "general", "event": "status", '
                        b'"connection_id": 5, "account": { "user": "root", "host": "localhost" }, "login": { '
                        b'"user": "root", "os": "", "ip": "127.0.0.1", "proxy": "" }, "general_data": { '
                        b'"command": "Query", "sql_command": "insert", "query": "INSERT INTO t1 (i) '
                        b'VALUES(1),(2),(3)", "status": 0 } }')


def test_mysql_enterprise_documented_records_in_the_array_file():
    file_lines = [b"[", MYSQL_STARTUP + b",", MYSQL_CONNECT + b",", MYSQL_QUERY + b",", MYSQL_TABLE + b",",
                  MYSQL_GENERAL_INSERT, b"," + MYSQL_DISCONNECT, b"]"]
    outs = feed_all(MySqlAuditJsonParser(), file_lines)
    evs = events(outs)
    assert len(outs) == len(evs) == 4  # startup is skipped, not dead-lettered
    login, show, insert, logout = evs
    assert login["event"] == {"id": login["event"]["id"], "module": "mysql_enterprise_audit", "action": "login",
                              "outcome": "success"}
    assert login["@timestamp"] == "2019-10-03T14:23:18.000Z"  # documented as UTC
    assert login["user"] == {"name": "root"} and login["source"] == {"ip": "::1"}
    assert login["session"] == {"id": "5"}
    assert login["db"] == {"operation": "CONNECT", "name": "test", "system": "mysql"}
    assert show["db"]["statement"] == "SHOW VARIABLES" and show["db"]["operation"] == "SHOW"
    assert show["db"]["name"] == "test"  # the session's default database, from its connect record
    # table_access folded into its statement: one event, with the table.
    assert insert["db"]["statement"] == "INSERT INTO t1 (i) VALUES(1),(2),(3)"
    assert insert["db"]["objects"] == ["test.t1"] and insert["source"] == {"ip": "127.0.0.1"}
    assert logout["event"]["action"] == "logout" and logout["db"]["operation"] == "DISCONNECT"


def test_mysql_enterprise_failed_login_and_failed_statement():
    failed_login = MYSQL_CONNECT.replace(b'"status": 0', b'"status": 1045').replace(
        b'"account": { "user": "root", "host": "localhost" }', b'"account": { "user": "", "host": "" }')
    failed_query = MYSQL_QUERY.replace(b'"status": 0', b'"status": 1146')
    login, query = events(feed_all(MySqlAuditJsonParser(), [failed_login, failed_query]))
    assert login["event"]["outcome"] == "failure" and login["db"]["error"] == "error code 1045"
    assert login["user"] == {"name": "root"}  # the login name when no account was authenticated
    assert query["event"]["outcome"] == "failure" and query["db"]["error"] == "error code 1146"
    assert "name" not in query["db"]  # a failed login opened no session with a database


def test_mysql_json_bad_and_pretty_printed_records():
    outs = feed_all(MySqlAuditJsonParser(), [MYSQL_BROKEN, b"{not json}", b"garbage", b'"a string"'])
    assert [o.reason for o in outs] == ["bad_json"] * 4
    # The documentation's own layout (a record over several lines) parses the same.
    pretty = b"""{ "timestamp": "2019-10-03 14:23:35",
  "id": 2,
  "class": "general",
  "event": "status",
  "connection_id": 5,
  "account": { "user": "root", "host": "localhost" },
  "login": { "user": "root", "os": "", "ip": "::1", "proxy": "" },
  "general_data": { "command": "Query",
                    "sql_command": "show_variables",
                    "query": "SHOW VARIABLES",
                    "status": 0 } }""".split(b"\n")
    p = MySqlAuditJsonParser()
    assert feed_all(p, pretty[:3], flush=False) == [] and p.pending_offset() == 0
    (e,) = events(feed_all(MySqlAuditJsonParser(), pretty))
    (same,) = events(feed_all(MySqlAuditJsonParser(), [MYSQL_QUERY]))
    assert e == same


# Percona Server audit_log_filter JSON sample (pretty-printed array, Enterprise-like records),
# https://docs.percona.com/percona-server/8.0/audit-log-filter-json.html
PERCONA_FILTER = b"""[
  {
    "timestamp": "2023-03-29 11:17:03",
    "id": 0,
    "class": "audit",
    "server_id": 1
  },
  {
    "timestamp": "2023-03-29 11:17:05",
    "id": 2,
    "class": "general",
    "event": "log",
    "connection_id": 11,
    "account": { "user": "root[root] @ localhost []", "host": "localhost" },
    "login": { "user": "root[root] @ localhost []", "os": "", "ip": "", "proxy": "" },
    "general_data": {
      "command": "Query",
      "sql_command": "create_table",
      "query": "CREATE TABLE t1 (c1 INT)",
      "status": 0}
  },
  {
    "timestamp": "2023-03-29 11:17:05",
    "id": 3,
    "class": "query",
    "event": "query_start",
    "connection_id": 11,
    "query_data": {
      "query": "CREATE TABLE t1 (c1 INT)",
      "status": 0,
      "sql_command": "create_table"}
  },
  {
    "timestamp": "2023-03-29 11:17:05",
    "id": 5,
    "class": "general",
    "event": "status",
    "connection_id": 11,
    "account": { "user": "root[root] @ localhost []", "host": "localhost" },
    "login": { "user": "root[root] @ localhost []", "os": "", "ip": "", "proxy": "" },
    "general_data": {
      "command": "Query",
      "sql_command": "create_table",
      "query": "CREATE TABLE t1 (c1 INT)",
      "status": 0}
  }
]"""


def test_percona_filter_pretty_printed_array():
    outs = feed_all(MySqlAuditJsonParser(), PERCONA_FILTER.split(b"\n"))
    (e,) = events(outs)  # general/log and query/* repeat the statement: only general/status counts
    assert len(outs) == 1
    assert e["user"] == {"name": "root"} and e["db"]["statement"] == "CREATE TABLE t1 (c1 INT)"
    assert e["@timestamp"] == "2023-03-29T11:17:05.000Z" and "source" not in e


# Percona Server audit_log plugin, audit_log_format=JSON, documented samples:
# https://docs.percona.com/percona-server/8.0/audit-log-plugin.html (8.0) and the 5.6 docs' one.
PERCONA_QUERY = (b'{"audit_record":{"name":"Query","record":"13149_2021-06-30T15:03:11","timestamp":"2021-06-30T'
                 b'15:07:58 UTC","command_class":"show_databases","connection_id":"2","status":0,"sqltext":"show '
                 b'databases","user":"root[root] @ localhost []","host":"localhost","os_user":"","ip":"","db":""}}')
PERCONA_QUERY_56 = (b'{"audit_record":{"name":"Query","record":"4707_2014-08-27T10:43:52","timestamp":"2014-08-27T'
                    b'10:44:19 UTC","command_class":"show_databases","connection_id":"37","status":0,"sqltext":'
                    b'"show databases","user":"root[root] @ localhost []","host":"localhost","os_user":"","ip":""}}')
# Connect/Quit records in the plugin's JSON layout (fields as its connection record formatter
# writes them; the docs show these events in XML only).
PERCONA_CONNECT = (b'{"audit_record":{"name":"Connect","record":"2_2021-06-30T11:56:53","timestamp":"2021-06-30T'
                   b'11:56:53 UTC","connection_id":"6","status":0,"user":"user1","priv_user":"user1","os_login":"",'
                   b'"proxy_user":"","host":"localhost","ip":"10.0.0.7","db":"shop"}}')
PERCONA_FAILED = (b'{"audit_record":{"name":"Connect","record":"3_2021-06-30T11:56:53","timestamp":"2021-06-30T'
                  b'11:56:54 UTC","connection_id":"7","status":1045,"user":"user1","priv_user":"","os_login":"",'
                  b'"proxy_user":"","host":"localhost","ip":"10.0.0.7","db":""}}')
PERCONA_QUIT = (b'{"audit_record":{"name":"Quit","record":"5_2021-06-29T19:33:03","timestamp":"2021-06-29T19:34:'
                b'38Z","connection_id":"6","status":0,"user":"user1","priv_user":"user1","os_login":"",'
                b'"proxy_user":"","host":"localhost","ip":"10.0.0.7","db":""}}')
PERCONA_AUDIT = (b'{"audit_record":{"name":"Audit","record":"1_2021-06-30T15:03:11","timestamp":"2021-06-30T15:'
                 b'03:11 UTC","mysql_version":"8.0.25-15","startup_options":"--port=3306","os_version":'
                 b'"x86_64-debian-linux-gnu"}}')


def test_percona_audit_log_plugin_json():
    outs = feed_all(MySqlAuditJsonParser(), [PERCONA_AUDIT, PERCONA_CONNECT, PERCONA_QUERY.replace(
        b'"connection_id":"2"', b'"connection_id":"6"'), PERCONA_FAILED, PERCONA_QUIT, PERCONA_QUERY_56])
    evs = events(outs)
    assert len(outs) == len(evs) == 5
    login, query, failed, quit_, query56 = evs
    assert login["event"]["action"] == "login" and login["event"]["module"] == "percona_audit_log"
    assert login["user"] == {"name": "user1"} and login["source"] == {"ip": "10.0.0.7"}
    assert login["db"]["name"] == "shop"
    assert query["@timestamp"] == "2021-06-30T15:07:58.000Z" and query["user"] == {"name": "root"}
    assert query["db"]["statement"] == "show databases" and query["db"]["operation"] == "SHOW"
    assert query["db"]["name"] == "shop"  # "db" is empty in the record: the session's database
    assert failed["event"]["outcome"] == "failure" and failed["user"] == {"name": "user1"}
    assert failed["db"]["error"] == "error code 1045"
    assert quit_["event"]["action"] == "logout" and quit_["@timestamp"] == "2021-06-29T19:34:38.000Z"
    assert query56["session"] == {"id": "37"} and query56["db"]["system"] == "mysql"


def test_json_ids_deterministic_and_distinct():
    recs = [MYSQL_CONNECT, MYSQL_QUERY, MYSQL_TABLE, MYSQL_GENERAL_INSERT, PERCONA_QUERY, PERCONA_QUERY_56,
            PERCONA_CONNECT, PERCONA_QUIT]
    a = [e["event"]["id"] for e in events(feed_all(MySqlAuditJsonParser(), recs))]
    b = [e["event"]["id"] for e in events(feed_all(MySqlAuditJsonParser(), recs))]
    assert a == b and len(set(a)) == len(a) == 7


def test_table_access_held_and_flushed_keeps_one_id():
    p = MySqlAuditJsonParser()
    assert feed_all(p, [b"[", MYSQL_TABLE + b","], flush=False) == []
    assert p.pending_offset() == 2  # the table_access record's line, after "[\n"
    (early,) = events(p.flush())  # idle: the statement is emitted from the table_access record
    assert early["db"]["statement"] == "INSERT INTO t1 (i) VALUES(1),(2),(3)" and p.pending_offset() is None
    (late,) = events(p.feed(Line(MYSQL_GENERAL_INSERT, 500, 900)))
    assert late["event"]["id"] == early["event"]["id"]  # the store keeps one document
    assert late["db"]["objects"] == ["test.t1"]
    # Without the general record and with a later statement on the connection: its own event.
    other = MYSQL_TABLE.replace(b"INSERT INTO t1 (i) VALUES(1),(2),(3)", b"DELETE FROM t1").replace(
        b'"id": 0', b'"id": 9')
    evs = events(feed_all(MySqlAuditJsonParser(), [MYSQL_TABLE, other, MYSQL_DISCONNECT]))
    assert [e["db"].get("statement") for e in evs] == ["INSERT INTO t1 (i) VALUES(1),(2),(3)", "DELETE FROM t1",
                                                       None]


@pytest.mark.parametrize("raw", [MYSQL_QUERY, PERCONA_QUERY])
def test_json_records_survive_orjson_round_trip(raw):
    (e,) = events(feed_all(MySqlAuditJsonParser(), [raw]))
    assert orjson.loads(orjson.dumps(e)) == e
