"""Real servers' logs, followed live by the tailer, arrive on Kafka once per statement/request;
one pgaudit log goes all the way into ``parasol-audit*``.

The servers are private instances started here (tests/realservers/); the broker and the store
are the session's embedded stack.
"""

from __future__ import annotations

import base64
import collections
import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from connectors.sources.base import SourceOptions
from connectors.sources.formats import make_parser
from connectors.sources.tail import Tailer
from tests.integration.conftest import drain_topic, scoped
from tests.realservers import mariadb as mdb
from tests.realservers import nginx as ngx


class LiveTail:
    """A tailer following a file in a thread, as ``parasol tail --follow`` does."""

    def __init__(self, settings, fmt, path, tmp_path, **options):
        self.tailer = Tailer(
            settings,
            make_parser(fmt, SourceOptions(**options)),
            str(path),
            checkpoint=tmp_path / f"{fmt}.cp.json",
            follow=True,
            idle_flush_s=0.3,
        )
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            self.tailer.run()
        except BaseException as exc:  # surfaced by stop()
            self.error = exc

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.tailer.stop()
        self.thread.join(20)
        assert not self.thread.is_alive(), "tailer did not stop"
        if self.error:
            raise self.error


def _ids_unique(records):
    ids = [r["event"]["id"] for r in records]
    return len(ids) == len(set(ids))


def test_mariadb_server_audit_statements_reach_kafka_once(stack, tmp_path):
    mdb.skip_unless_available()
    s = scoped(stack, "mariadb")
    srv = mdb.MariaDbServer(tmp_path / "mdb").start()
    try:
        srv.sql("create database shop; create table shop.orders (id int primary key, note text)")
        srv.sql("create user 'carol'@'%' identified by 'pw-carol'; grant all on shop.* to 'carol'@'%'")
        srv.sql("create user 'dave'@'%' identified by 'pw-dave'; grant select on shop.* to 'dave'@'%'")
        with LiveTail(s, "mariadb", srv.audit_log(), tmp_path, instance="mdb-shop-01"):
            carol = [
                "insert into orders values (1, 'a, \"b\"\nc''d')",
                "update orders set note = 'x' where id = 1",
                "select * from orders",
                "delete from orders where id = 1",
            ]
            srv.sql(";\n".join(carol), user="carol", password="pw-carol", db="shop")
            assert srv.sql("delete from orders", user="dave", password="pw-dave", db="shop", check=False).returncode
            srv.sql("select 1", user="dave", password="not-it", db="shop", check=False)
            n_load = 300
            srv.load([f"select note from orders where id = {i}" for i in range(n_load)],
                     user="dave", password="pw-dave", db="shop")
            expected = len(carol) + 1 + n_load
            records = drain_topic(s, "db_audit", expected + 3, timeout=60)  # + logins/logouts
    finally:
        srv.stop()
    queries = [r for r in records if r["event"]["action"] == "query" and r["user"]["name"] in ("carol", "dave")]
    assert _ids_unique(records)
    seen = collections.Counter((r["user"]["name"], r["db"]["statement"]) for r in queries)
    for stmt in carol:
        assert seen[("carol", stmt)] == 1, stmt
    assert sum(n for (u, st), n in seen.items() if u == "dave" and st.startswith("select note")) == n_load
    failed = [r for r in queries if r["event"]["outcome"] == "failure"]
    assert [(r["user"]["name"], r["db"]["statement"]) for r in failed] == [("dave", "delete from orders")]
    logins = [r for r in records if r["event"]["action"] == "login" and r["event"]["outcome"] == "failure"]
    assert [r["user"]["name"] for r in logins] == ["dave"]
    assert all(r["db"]["instance"] == "mdb-shop-01" and r["db"]["system"] == "mariadb" for r in records)
    # Kafka keys by user: one user's statements stay in order on one partition.
    assert {r["db"]["name"] for r in queries if r["user"]["name"] == "carol"} == {"shop"}


def _jwt(sub: str) -> str:
    def b64(o):
        return base64.urlsafe_b64encode(json.dumps(o).encode()).decode().rstrip("=")

    return f"{b64({'alg': 'HS256'})}.{b64({'sub': sub})}.sig"


def test_nginx_requests_reach_kafka_as_api_events(stack, tmp_path):
    ngx.skip_unless_available()
    s = scoped(stack, "nginx")
    srv = ngx.NginxServer().start()
    try:
        with LiveTail(s, "nginx", srv.json_log(), tmp_path, trusted_proxies=1, service="crm-api",
                      routes=("/customers/{id}",)):
            sent = []
            for i in range(40):
                headers = {"Authorization": f"Bearer {_jwt('alice')}"} if i % 2 else {"X-Forwarded-For": "198.51.100.7"}
                path = f"/customers/{1000 + i}" if i % 5 else "/no/such/thing"
                req = urllib.request.Request(srv.url(path + "?q=1"), headers=headers)
                try:
                    with urllib.request.urlopen(req, timeout=5) as r:
                        status = r.status
                except urllib.error.HTTPError as e:
                    status = e.code
                sent.append((path, status, "alice" if i % 2 else "-", "127.0.0.1" if i % 2 else "198.51.100.7"))
            records = drain_topic(s, "api_access", len(sent), timeout=60)
    finally:
        srv.cleanup()
    records = [r for r in records if r["url"]["path"] != "/__ready"]  # the fixture's readiness probe
    assert _ids_unique(records) and len(records) == len(sent)
    got = sorted((r["url"]["path"], r["http"]["response"]["status_code"], r["user"]["name"], r["source"]["ip"])
                 for r in records)
    assert got == sorted(sent)
    assert all(r["url"]["query"] == "q=1" for r in records)
    routed = [r for r in records if r["url"]["path"].startswith("/customers/")]
    assert routed and all(r["http"]["route"] == "/customers/{id}" for r in routed)
    assert {r["event"]["outcome"] for r in records if r["http"]["response"]["status_code"] == 404} == {"failure"}
    assert {r["service"]["name"] for r in records} == {srv.server_name}


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__])


def test_pgaudit_log_to_kafka_to_elasticsearch(stack, tmp_path, workers):
    """Real PostgreSQL + pgaudit (jsonlog) → live tail across a log rotation → Kafka → worker →
    ``parasol-audit*``: every statement once, pgbench's count exact, ids stable end to end."""
    from tests.integration.conftest import es_count, es_get, es_ids, wait_for
    from tests.realservers import postgres as pgs

    pgs.skip_unless_available()
    s = scoped(stack, "pgaudit")
    pg = pgs.PgServer("jsonlog").start()
    try:
        workload = [  # (user, app, statement, outcome)
            ("alice", "crm-web", "CREATE TABLE customers (id int PRIMARY KEY, name text, mobile text);", "success"),
            ("alice", "crm-web", "INSERT INTO customers VALUES (1, 'Ann', '13800138000'), (2, 'O''Neil, \"Jr\"', NULL);", "success"),
            ("alice", "crm-web", "SELECT id, name\n  FROM customers\n WHERE name LIKE '%Neil, \"%';", "success"),
            ("alice", "crm-web", "UPDATE customers SET mobile = '13900139000' WHERE id = 1;", "success"),
            ("alice", "crm-web", "GRANT SELECT ON customers TO bob;", "success"),
            ("bob", "report-tool", "SELECT count(*) FROM customers;", "success"),
            ("bob", "report-tool", "DELETE FROM customers WHERE id = 1;", "failure"),  # no privilege
        ]
        with LiveTail(s, "pgaudit", pg.log_dir / "postgresql-*.json", tmp_path, instance="pg-crm-01"):
            for user, app, sql, _ in workload:
                pg.psql(sql, user=user, app=app, check=False)
            assert pg.psql("select 1", user="bob", password="wrong", app="report-tool", check=False).returncode
            time.sleep(1.1)  # log_filename has one-second resolution: the rotation gets a new file
            pg.psql("select pg_rotate_logfile()", superuser=True)
            pg.pgbench(init=True, user="alice", app="pgbench-init")
            txns = pg.pgbench("-n", "-t", "20", "-c", "2", user="alice", app="pgbench-run")
            expected_bench = 7 * txns + 1  # TPC-B: 7 statements per transaction + the scale probe
            worker = workers(s)
            records = wait_for(
                lambda: (r := drain_topic(s, "db_audit", 0, settle=0.3))
                and sum(1 for x in r if x.get("service", {}).get("name") == "pgbench-run"
                        and x["event"]["action"] == "query") >= expected_bench
                and r,
                90,
                what="pgbench's statements on Kafka",
            )
        assert len(pg.log_files()) >= 2, "the log really rotated"
    finally:
        pg.stop()
        pg.cleanup()
    assert _ids_unique(records)
    queries = collections.Counter(
        (r["user"]["name"], r["service"]["name"], r["db"]["statement"], r["event"]["outcome"])
        for r in records if r["event"]["action"] == "query"
    )
    for user, app, sql, outcome in workload:
        assert queries[(user, app, sql, outcome)] == 1, (user, sql)
    bench = [r for r in records if r.get("service", {}).get("name") == "pgbench-run" and r["event"]["action"] == "query"]
    assert len(bench) == expected_bench
    failed_login = [r for r in records if r["event"]["action"] == "login" and r["event"]["outcome"] == "failure"]
    assert [r["user"]["name"] for r in failed_login] == ["bob"]
    assert {r["db"]["instance"] for r in records} == {"pg-crm-01"}
    assert {r["db"]["name"] for r in records if r["user"]["name"] in ("alice", "bob")} == {"shop"}
    # All of it indexed once, under the ids the tailer gave it.
    try:
        wait_for(lambda: es_count(s) >= len(records), 90, what=f"{len(records)} documents in parasol-audit*")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nworker: {worker.stats()}\n{worker.log_tail(30)}") from None
    ids = es_ids(s)
    assert sorted(ids) == sorted(r["event"]["id"] for r in records)
    hit = es_get(s, f"/{s.index_pattern('audit')}/_search", {
        "query": {"bool": {"filter": [{"term": {"user.name": "bob"}}, {"term": {"event.outcome": "failure"}},
                                      {"term": {"event.action": "query"}}]}}})["hits"]["hits"]
    assert [h["_source"]["db"]["statement"] for h in hit] == ["DELETE FROM customers WHERE id = 1;"]
    assert "permission denied" in hit[0]["_source"]["db"]["error"]
    assert worker.stats()["dead_letters"] == {}
