"""``parasol investigate user NAME`` / ``parasol investigate table [DB.]TABLE``: the pivots an
analyst without Kibana needs, from the indices the workers fill (rich tables, or ``--json``)."""

from __future__ import annotations

import argparse
import sys

import orjson

from streams.alerts_cli import dig, parse_since

__all__ = ["add_commands", "investigate_table", "investigate_user"]


def _terms(field: str, size: int = 10, **sub) -> dict:
    agg: dict = {"terms": {"field": field, "size": size}}
    if sub:
        agg["aggs"] = sub
    return agg


def _buckets(aggs: dict, name: str) -> list[dict]:
    return (aggs.get(name) or {}).get("buckets") or []


def _search(es, index: str, body: dict) -> dict:
    es.indices.refresh(index=index, ignore_unavailable=True, allow_no_indices=True)
    return es.search(index=index, ignore_unavailable=True, allow_no_indices=True, **body).body


def investigate_user(es, s, user: str, since: str | None) -> dict:
    """Everything about one user since ``since`` (RFC 3339), as plain data."""
    flt = [{"term": {"user.name": user}}]
    if since:
        flt.append({"range": {"@timestamp": {"gte": since}}})
    audit = _search(es, s.index_pattern("audit"), {
        "size": 15, "query": {"bool": {"filter": flt}}, "sort": [{"@timestamp": {"order": "desc"}}],
        "aggs": {
            "tables": _terms("parasol.tables", 15, rows={"sum": {"field": "db.rows"}}),
            "sensitive": _terms("parasol.sensitive.columns", 15),
            "levels": _terms("parasol.sensitive.level", 6),
            "ips": _terms("source.ip", 10),
            "services": _terms("service.name", 10),
            "outcomes": _terms("event.outcome", 3),
            "operations": _terms("parasol.sql.operation", 8),
            "first": {"min": {"field": "@timestamp"}}, "last": {"max": {"field": "@timestamp"}},
        },
    })
    alerts = _search(es, s.index_pattern("alerts"), {
        "size": 20, "query": {"bool": {"filter": flt}}, "sort": [{"@timestamp": {"order": "desc"}}]})
    entities = _search(es, s.index_pattern("entities"), {
        "size": 20, "query": {"term": {"user.name": user}}})
    aggs = audit.get("aggregations") or {}
    return {
        "user": user, "since": since,
        "events": audit["hits"]["total"]["value"],
        "first": (aggs.get("first") or {}).get("value_as_string"),
        "last": (aggs.get("last") or {}).get("value_as_string"),
        "outcomes": {b["key"]: b["doc_count"] for b in _buckets(aggs, "outcomes")},
        "operations": {b["key"]: b["doc_count"] for b in _buckets(aggs, "operations")},
        "tables": [{"table": b["key"], "events": b["doc_count"], "rows": int((b.get("rows") or {}).get("value") or 0)}
                   for b in _buckets(aggs, "tables")],
        "sensitive_columns": {b["key"]: b["doc_count"] for b in _buckets(aggs, "sensitive")},
        "sensitive_levels": {b["key"]: b["doc_count"] for b in _buckets(aggs, "levels")},
        "source_ips": {b["key"]: b["doc_count"] for b in _buckets(aggs, "ips")},
        "services": {b["key"]: b["doc_count"] for b in _buckets(aggs, "services")},
        "recent": [h["_source"] for h in audit["hits"]["hits"]],
        "alerts": [h["_source"] for h in alerts["hits"]["hits"]],
        "entities": [h["_source"] for h in entities["hits"]["hits"]],
    }


def investigate_table(es, s, table: str, since: str | None) -> dict:
    """Who reads ``table`` (``db.table`` or ``table``) and how much, and what it holds."""
    db, _, name = table.rpartition(".")
    flt: list[dict] = [{"term": {"parasol.tables": name}}]
    if db:
        flt.append({"term": {"db.name": db}})
    if since:
        flt.append({"range": {"@timestamp": {"gte": since}}})
    audit = _search(es, s.index_pattern("audit"), {
        "size": 0, "query": {"bool": {"filter": flt}},
        "aggs": {"users": _terms("user.name", 20, rows={"sum": {"field": "db.rows"}},
                                 last={"max": {"field": "@timestamp"}},
                                 ops=_terms("parasol.sql.operation", 5)),
                 "rows": {"sum": {"field": "db.rows"}}},
    })
    assets_q: list[dict] = [{"term": {"asset.table": name}}]
    if db:
        assets_q.append({"term": {"db.name": db}})
    assets = _search(es, s.index_pattern("assets"), {"size": 200, "query": {"bool": {"filter": assets_q}}})
    aggs = audit.get("aggregations") or {}
    return {
        "table": table, "since": since, "events": audit["hits"]["total"]["value"],
        "rows": int((aggs.get("rows") or {}).get("value") or 0),
        "readers": [{"user": b["key"], "events": b["doc_count"], "rows": int((b.get("rows") or {}).get("value") or 0),
                     "last": (b.get("last") or {}).get("value_as_string"),
                     "operations": {o["key"]: o["doc_count"] for o in _buckets(b, "ops")}}
                    for b in _buckets(aggs, "users")],
        "columns": [h["_source"] for h in assets["hits"]["hits"]],
    }


def _print_user(r: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    c = Console()
    c.print(f"[bold]user {r['user']}[/bold]: {r['events']:,} events"
            + (f" from {r['first']} to {r['last']}" if r["first"] else "")
            + ("  outcomes " + ", ".join(f"{k} {v:,}" for k, v in r["outcomes"].items()) if r["outcomes"] else ""))
    for e in r["entities"]:
        risk = e.get("risk") or {}
        c.print(f"  {e['entity']['id']}: risk {risk.get('score', 0)}"
                + (f" ({risk['level']})" if risk.get("level") else "")
                + f", last window score {e.get('last_score')}, windows {e.get('windows_seen')}")
    t = Table(title="tables read")
    for col in ("table", "events", "rows"):
        t.add_column(col)
    for row in r["tables"]:
        t.add_row(row["table"], f"{row['events']:,}", f"{row['rows']:,}")
    c.print(t)
    if r["sensitive_columns"]:
        c.print("sensitive columns  " + ", ".join(f"{k} ({v:,})" for k, v in r["sensitive_columns"].items()))
        c.print("by level           " + ", ".join(f"{k} ({v:,})" for k, v in r["sensitive_levels"].items()))
    c.print("source addresses   " + (", ".join(f"{k} ({v:,})" for k, v in r["source_ips"].items()) or "-"))
    c.print("applications       " + (", ".join(f"{k} ({v:,})" for k, v in r["services"].items()) or "-"))
    if r["alerts"]:
        t = Table(title=f"alerts ({len(r['alerts'])})")
        for col in ("time", "severity", "rule", "explanation"):
            t.add_column(col)
        for a in r["alerts"]:
            t.add_row((a.get("@timestamp") or "")[:19], dig(a, "risk.severity", ""), dig(a, "rule.name", ""),
                      (a.get("explanation") or "")[:160])
        c.print(t)
    t = Table(title="latest events")
    for col in ("time", "action", "what"):
        t.add_column(col)
    for e in r["recent"]:
        what = dig(e, "db.statement") or f"{dig(e, 'http.request.method', '')} {dig(e, 'url.path', '')}"
        t.add_row((e.get("@timestamp") or "")[:19], f"{dig(e, 'event.action')}/{dig(e, 'event.outcome')}",
                  str(what)[:110])
    c.print(t)


def _print_table(r: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    c = Console()
    c.print(f"[bold]table {r['table']}[/bold]: {r['events']:,} events, {r['rows']:,} rows")
    t = Table(title="who reads it")
    for col in ("user", "events", "rows", "operations", "last"):
        t.add_column(col)
    for row in r["readers"]:
        t.add_row(row["user"], f"{row['events']:,}", f"{row['rows']:,}",
                  ", ".join(f"{k} {v}" for k, v in row["operations"].items()), (row["last"] or "")[:19])
    c.print(t)
    if r["columns"]:
        t = Table(title="columns in the catalogue")
        for col in ("column", "entity", "level", "readers"):
            t.add_column(col)
        for a in r["columns"]:
            t.add_row(dig(a, "asset.column", ""), str(dig(a, "classification.entity") or "-"),
                      str(dig(a, "classification.level") or "-"), ", ".join(dig(a, "asset.readers") or [])[:80])
        c.print(t)


def _run(args: argparse.Namespace, investigate, show, found) -> int:
    from elasticsearch import Elasticsearch

    from connectors.settings import Settings

    s = Settings()
    with Elasticsearch(**s.es_client_kwargs()) as es:
        r = investigate(es, s, args.name, parse_since(args.since) if args.since else None)
    if args.json:
        sys.stdout.write(orjson.dumps(r).decode() + "\n")
    else:
        show(r)
    return 0 if found(r) else 1


def cmd_user(args: argparse.Namespace) -> int:
    return _run(args, investigate_user, _print_user, lambda r: r["events"] or r["alerts"])


def cmd_table(args: argparse.Namespace) -> int:
    return _run(args, investigate_table, _print_table, lambda r: r["events"] or r["columns"])


def add_commands(sub) -> None:
    inv = sub.add_parser("investigate", help="an analyst's pivots: one user, or one table")
    isub = inv.add_subparsers(dest="what", required=True)
    for name, func, text in (("user", cmd_user, "timeline, tables, sensitive columns, sources, alerts, risk"),
                             ("table", cmd_table, "who reads a table ([DB.]TABLE), how much, what it holds")):
        p = isub.add_parser(name, help=text)
        p.add_argument("name")
        p.add_argument("--since", default="24h", help="24h, 7d, … or an RFC 3339 time ('' for all)")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=func)
