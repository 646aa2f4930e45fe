"""Source connectors: parse speed per log format, and delivery speed to a real broker.

    python benchmarks/sources.py [--lines 200000] [--runs 3] [--formats pgaudit,nginx,...]
                                 [--deliver pgaudit,nginx] [--skip-delivery]

For every format a log of ``--lines`` lines is generated once (realistic shapes: the line layouts
are those the real servers wrote in the tests, with varying users, statements, addresses and
ids), then, median of ``--runs``:

parse
    ``parser``: the format's parser over every line (framing by :class:`Follower` included) —
    lines/s and events/s. ``baseline``: the same file through the follower plus the cheapest
    decoding of the format that a parser cannot avoid (``orjson.loads`` per line for JSON
    formats, ``bytes.split(b",")`` for the CSV-like ones, ``re.match`` of the combined layout for
    nginx combined). The ratio says what the mapping to the contract costs beyond decoding.
deliver (on the embedded stack, noida-db, started here on free ports)
    ``tailer``: ``connectors.sources.tail.Tailer`` end to end — read, parse, validate, produce
    idempotently, wait for every acknowledgement, checkpoint — in events/s. ``baseline``: a bare
    confluent-kafka producer sending the file's raw lines to a topic and flushing, in lines/s.

Figures are printed and written to ``benchmarks/results/sources-<time>.json`` (git-ignored).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from confluent_kafka import Producer  # noqa: E402

from connectors.kafka_admin import contract_topics, ensure_topics  # noqa: E402
from connectors.local import LocalStack, free_port  # noqa: E402
from connectors.settings import Settings  # noqa: E402
from connectors.sources.base import SourceOptions  # noqa: E402
from connectors.sources.follow import Follower  # noqa: E402
from connectors.sources.formats import make_parser  # noqa: E402
from connectors.sources.tail import Tailer  # noqa: E402

USERS = ["alice", "bob", "carol", "dave", "erin", "svc_etl", "svc_report", "frank"]
APPS = ["crm-web", "psql", "hr-portal", "etl-nightly", "DBeaver 23.1"]
TABLES = ["public.customers", "public.orders", "hr.employees", "finance.payments", "public.products"]
STATEMENTS = [
    ("READ", "SELECT", "select id, name, mobile from {t} where id = {n}"),
    ("READ", "SELECT", "select count(*) from {t} where created_at > now() - interval '1 day'"),
    ("WRITE", "INSERT", "insert into {t} (id, note) values ({n}, 'note, \"quoted\" {n}')"),
    ("WRITE", "UPDATE", "update {t} set note = 'x' where id = {n}"),
    ("WRITE", "DELETE", "delete from {t} where id = {n}"),
    ("READ", "SELECT", "select c.id, o.total\n  from public.customers c\n  join public.orders o on o.customer_id = c.id\n where c.id = {n}"),
]
PATHS = ["/customers/{n}", "/orders/{n}", "/api/v1/accounts/{n}/statements", "/health", "/search"]


def _ips(rng: random.Random) -> str:
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _times(n: int, start=datetime(2026, 11, 27, 8, 0, tzinfo=UTC)):
    t = start
    for _ in range(n):
        t += timedelta(microseconds=2500)
        yield t


def gen_pgaudit_jsonlog(n: int, rng: random.Random) -> bytes:
    """PostgreSQL 15 jsonlog records with pgaudit SESSION lines (keys as the server writes them)."""
    out = io.BytesIO()
    sessions = [(f"6763b1c2.{i:x}", 4000 + i, rng.choice(USERS), rng.choice(APPS), _ips(rng)) for i in range(40)]
    stmt_ids = dict.fromkeys((s[0] for s in sessions), 0)
    line_nums = dict.fromkeys((s[0] for s in sessions), 0)
    for t in _times(n):
        sid, pid, user, app, ip = rng.choice(sessions)
        stmt_ids[sid] += 1
        line_nums[sid] += 1
        cls, cmd, sql = rng.choice(STATEMENTS)
        sql = sql.format(t=rng.choice(TABLES), n=rng.randrange(10**6))
        msg = "AUDIT: SESSION,%d,1,%s,%s,,,%s,<not logged>" % (
            stmt_ids[sid], cls, cmd, '"' + sql.replace('"', '""') + '"')
        rec = {
            "timestamp": t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d} UTC",
            "user": user, "dbname": "crm", "pid": pid, "remote_host": ip, "remote_port": 50000 + pid % 1000,
            "session_id": sid, "line_num": line_nums[sid], "ps": cmd,
            "session_start": "2026-11-27 07:59:00 UTC", "vxid": f"3/{stmt_ids[sid]}", "txid": 0,
            "error_severity": "LOG", "message": msg, "application_name": app,
            "backend_type": "client backend", "query_id": 0,
        }
        out.write(orjson.dumps(rec) + b"\n")
    return out.getvalue()


def gen_pgaudit_csvlog(n: int, rng: random.Random) -> bytes:
    """The same records as PostgreSQL's csvlog (26 columns in PG 15: … message, detail, hint,
    internal_query, internal_query_pos, context, query, query_pos, location, application_name,
    backend_type, leader_pid, query_id; quoted newlines inside)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for line in gen_pgaudit_jsonlog(n, rng).splitlines():
        r = orjson.loads(line)
        w.writerow([r["timestamp"], r["user"], r["dbname"], r["pid"], f"{r['remote_host']}:{r['remote_port']}",
                    r["session_id"], r["line_num"], r["ps"], r["session_start"], r["vxid"], r["txid"],
                    r["error_severity"], "00000", r["message"], "", "", "", "", "", "", "", "",
                    r["application_name"], r["backend_type"], "", r["query_id"]])
    return buf.getvalue().encode()


def gen_mariadb(n: int, rng: random.Random) -> bytes:
    """server_audit: TABLE records then the QUERY of the same query id (one line each)."""
    out = io.BytesIO()
    qid = 0
    for t in _times(n // 2):
        qid += 1
        user, conn, ip = rng.choice(USERS), rng.randrange(1, 500), _ips(rng)
        ts = t.strftime("%Y%m%d %H:%M:%S")
        table = rng.choice(TABLES).split(".")[1]
        _, cmd, sql = rng.choice(STATEMENTS)
        sql = sql.format(t="hr." + table, n=rng.randrange(10**6))
        esc = sql.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
        out.write(f"{ts},db1,{user},{ip},{conn},{qid},{'READ' if cmd == 'SELECT' else 'WRITE'},hr,{table},\n".encode())
        out.write(f"{ts},db1,{user},{ip},{conn},{qid},QUERY,hr,'{esc}',0\n".encode())
    return out.getvalue()


def gen_mysql_json(n: int, rng: random.Random) -> bytes:
    """MySQL Enterprise Audit JSON: one record per line inside a JSON array."""
    out = io.BytesIO(b"[\n")
    for i, t in enumerate(_times(n)):
        _, cmd, sql = rng.choice(STATEMENTS)
        rec = {
            "timestamp": t.strftime("%Y-%m-%d %H:%M:%S"), "id": i, "class": "general", "event": "status",
            "connection_id": rng.randrange(1, 500),
            "account": {"user": rng.choice(USERS), "host": "localhost"},
            "login": {"user": rng.choice(USERS), "os": "", "ip": _ips(rng), "proxy": ""},
            "general_data": {"command": "Query", "sql_command": cmd.lower(),
                             "query": sql.format(t="hr.employees", n=i), "status": 0},
        }
        out.write((b"," if i else b"") + orjson.dumps(rec) + b"\n")
    return out.getvalue() + b"]\n"


def _b64(obj) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def gen_nginx_json(n: int, rng: random.Random) -> bytes:
    """The recommended ``log_format parasol escape=json`` (connectors/sources/access_logs.py)."""
    out = io.BytesIO()
    payloads = [_b64({"sub": u, "scope": "read"}) for u in USERS]
    for t in _times(n):
        status = rng.choice([200] * 8 + [404, 500])
        rec = {
            "msec": f"{t.timestamp():.3f}", "request_id": f"{rng.getrandbits(128):032x}", "server_name": "crm-api",
            "remote_addr": "10.0.0.2", "x_forwarded_for": _ips(rng), "remote_user": "",
            "jwt_payload": rng.choice(payloads), "method": rng.choice(["GET", "GET", "POST"]),
            "request_uri": rng.choice(PATHS).format(n=rng.randrange(10**5)) + "?page=1", "status": str(status),
            "body_bytes_sent": str(rng.randrange(100, 5000)), "request_time": f"{rng.random() / 10:.3f}",
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
        }
        out.write(orjson.dumps(rec) + b"\n")
    return out.getvalue()


def gen_nginx_combined(n: int, rng: random.Random) -> bytes:
    out = io.BytesIO()
    for t in _times(n):
        path = rng.choice(PATHS).format(n=rng.randrange(10**5))
        out.write(
            f'{_ips(rng)} - {rng.choice(["-", "bob"])} [{t.strftime("%d/%b/%Y:%H:%M:%S +0000")}] '
            f'"GET {path}?page=1 HTTP/1.1" {rng.choice([200, 200, 404])} {rng.randrange(100, 5000)} '
            f'"-" "Mozilla/5.0 (X11; Linux x86_64)"\n'.encode()
        )
    return out.getvalue()


def gen_envoy(n: int, rng: random.Random) -> bytes:
    """Envoy's default text format."""
    out = io.BytesIO()
    for t in _times(n):
        path = rng.choice(PATHS).format(n=rng.randrange(10**5))
        out.write(
            f'[{t.strftime("%Y-%m-%dT%H:%M:%S.")}{t.microsecond // 1000:03d}Z] "GET {path} HTTP/1.1" 200 - 0 '
            f'{rng.randrange(100, 5000)} {rng.randrange(1, 90)} {rng.randrange(1, 80)} "{_ips(rng)}" '
            f'"curl/8.5.0" "{rng.getrandbits(64):016x}-4e1c-9f3b" "crm.example.com" "10.0.3.7:8080"\n'.encode()
        )
    return out.getvalue()


def gen_kong(n: int, rng: random.Random) -> bytes:
    out = io.BytesIO()
    for t in _times(n):
        path = rng.choice(PATHS).format(n=rng.randrange(10**5))
        rec = {
            "request": {"method": "GET", "uri": path + "?page=1", "url": "http://crm.example.com:8000" + path,
                        "size": 110, "querystring": {"page": "1"},
                        "headers": {"host": "crm.example.com", "user-agent": "curl/8.5.0",
                                    "x-forwarded-for": _ips(rng), "authorization": "REDACTED"}},
            "response": {"status": 200, "size": 934, "headers": {"content-length": "412"}},
            "latencies": {"request": rng.randrange(1, 90), "kong": 3, "proxy": 20},
            "client_ip": "10.0.0.2", "started_at": int(t.timestamp() * 1000),
            "service": {"name": "crm-service", "host": "crm.internal", "port": 80},
            "route": {"name": "customers", "paths": ["/customers"]},
            "consumer": {"username": rng.choice(USERS), "id": "8f0c"},
        }
        out.write(orjson.dumps(rec) + b"\n")
    return out.getvalue()


#: format → (CLI format, variant, generator, baseline decoder)
_COMBINED = re.compile(rb'(\S+) \S+ (\S+) \[([^]]+)\] "([^"]*)" (\d{3}) (\d+|-)')
FORMATS = {
    "pgaudit-jsonlog": ("pgaudit", "jsonlog", gen_pgaudit_jsonlog, orjson.loads),
    "pgaudit-csvlog": ("pgaudit", "csvlog", gen_pgaudit_csvlog, lambda b: b.split(b",")),
    "mariadb": ("mariadb", None, gen_mariadb, lambda b: b.split(b",")),
    "mysql-json": ("mysql-json", None, gen_mysql_json, lambda b: orjson.loads(b.strip(b",[]")) if len(b) > 2 else None),
    "nginx-json": ("nginx", None, gen_nginx_json, orjson.loads),
    "nginx-combined": ("nginx", None, gen_nginx_combined, _COMBINED.match),
    "envoy": ("envoy", None, gen_envoy, lambda b: b.split(b'"')),
    "kong": ("kong", None, gen_kong, orjson.loads),
}


def _lines(path: Path):
    f = Follower(path, read_size=4 << 20)
    while batch := f.read():
        yield from batch
    f.close()


def bench_parse(path: Path, fmt: str) -> dict:
    cli, variant, _, decode = FORMATS[fmt]
    t0 = time.perf_counter()
    n = 0
    for line in _lines(path):
        decode(line.data)
        n += 1
    base_s = time.perf_counter() - t0

    parser = make_parser(cli, SourceOptions(tz="UTC", routes=("/customers/{id}",)), variant)
    t0 = time.perf_counter()
    lines = events = dead = 0
    for line in _lines(path):
        lines += 1
        for out in parser.feed(line):
            if hasattr(out, "event"):
                events += 1
            else:
                dead += 1
    for out in parser.flush():
        events += hasattr(out, "event")
    parse_s = time.perf_counter() - t0
    return {
        "lines": lines, "events": events, "dead": dead,
        "parser_lines_per_s": lines / parse_s, "parser_events_per_s": events / parse_s,
        "baseline_lines_per_s": n / base_s, "parser_vs_baseline": base_s / parse_s,
    }


def bench_deliver(stack: Settings, path: Path, fmt: str, run: int) -> dict:
    cli, variant, _, _ = FORMATS[fmt]
    s = stack.model_copy(update={"topic_prefix": f"bench{run}-{fmt}.", "partitions": 4})
    ensure_topics(s.confluent_config(), contract_topics(s), s.partitions)
    tailer = Tailer(s, make_parser(cli, SourceOptions(tz="UTC"), variant), str(path),
                    checkpoint=path.parent / f"cp-{fmt}-{run}.json")
    t0 = time.perf_counter()
    stats = tailer.run()
    tail_s = time.perf_counter() - t0

    raw_topic = f"bench{run}-{fmt}-raw"
    ensure_topics(s.confluent_config(), [raw_topic], 4)
    p = Producer({**s.confluent_config(), "linger.ms": 20, "batch.num.messages": 10000,
                  "queue.buffering.max.messages": 200000})
    t0 = time.perf_counter()
    n = 0
    for line in _lines(path):
        while True:
            try:
                p.produce(raw_topic, line.data)
                break
            except BufferError:
                p.poll(0.05)
        n += 1
    p.flush(120)
    raw_s = time.perf_counter() - t0
    return {
        "events": stats.acked, "dead": sum(stats.dead.values()),
        "tailer_events_per_s": stats.acked / tail_s, "tailer_lines_per_s": stats.lines / tail_s,
        "baseline_raw_lines_per_s": n / raw_s, "tailer_vs_baseline": raw_s / tail_s,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--deliver", default="pgaudit-jsonlog,nginx-json")
    ap.add_argument("--skip-delivery", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="parasol-bench-sources-"))
    rng = random.Random(7)
    files = {}
    for fmt in args.formats.split(","):
        files[fmt] = work / f"{fmt}.log"
        files[fmt].write_bytes(FORMATS[fmt][2](args.lines, rng))
    results: dict = {"lines": args.lines, "runs": args.runs, "parse": {}, "deliver": {}}

    print(f"parse, median of {args.runs} (lines/s; baseline = framing + bare decoding)")
    print(f"{'format':16} {'lines':>8} {'events':>8} {'dead':>5} {'parser l/s':>11} {'events/s':>10} {'baseline l/s':>13} {'ratio':>6}")
    for fmt, path in files.items():
        runs = [bench_parse(path, fmt) for _ in range(args.runs)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        results["parse"][fmt] = med
        print(f"{fmt:16} {med['lines']:>8,.0f} {med['events']:>8,.0f} {med['dead']:>5,.0f} "
              f"{med['parser_lines_per_s']:>11,.0f} {med['parser_events_per_s']:>10,.0f} "
              f"{med['baseline_lines_per_s']:>13,.0f} {med['parser_vs_baseline']:>6.2f}")

    if not args.skip_delivery:
        stack = Settings(kafka=f"127.0.0.1:{free_port()}", es=f"http://127.0.0.1:{free_port()}",
                         data_dir=work / "stack")
        local = LocalStack(stack)
        local.up()
        try:
            print(f"\ndeliver to the embedded broker (noida-db), median of {args.runs}")
            print(f"{'format':16} {'events':>8} {'tailer ev/s':>12} {'raw producer l/s':>17} {'ratio':>6}")
            for fmt in args.deliver.split(","):
                runs = [bench_deliver(stack, files[fmt], fmt, i) for i in range(args.runs)]
                med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                results["deliver"][fmt] = med
                print(f"{fmt:16} {med['events']:>8,.0f} {med['tailer_events_per_s']:>12,.0f} "
                      f"{med['baseline_raw_lines_per_s']:>17,.0f} {med['tailer_vs_baseline']:>6.2f}")
        finally:
            local.down()
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    target = out / f"sources-{time.strftime('%Y%m%d-%H%M%S')}.json"
    target.write_text(json.dumps(results, indent=2))
    print(f"\nwritten {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
