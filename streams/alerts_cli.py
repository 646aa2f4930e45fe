"""``parasol alerts list|show|ack|close``: the analyst's loop over ``parasol-alerts*``.

A verdict is written onto the alert document (``parasol.alert.status``, ``.verdict``,
``.history``), so it is indexed and searchable; workers update alerts with partial upserts and
never overwrite it. ``close --verdict false_positive`` also publishes the verdict on
``parasol.alerts.feedback`` (keyed by user, like the inputs), where the worker that holds that
user's state adds a scoped exception (this rule, this user, ``--exception-days``) and lets the
baselines learn the window the detector flagged.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime, timedelta

import orjson

__all__ = ["add_commands", "dig", "find_alert", "parse_since"]

VERDICTS = ("true_positive", "false_positive", "benign")
SEVERITIES = ("low", "medium", "high", "critical")


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_since(text: str, now: datetime | None = None) -> str:
    """``24h``, ``7d``, ``30m`` or an RFC 3339 time → RFC 3339 UTC.

    >>> parse_since("2h", datetime(2026, 11, 27, 12, tzinfo=UTC))
    '2026-11-27T10:00:00.000Z'
    """
    now = now or _now()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    if text and text[-1] in units and text[:-1].isdigit():
        return _iso(now - timedelta(seconds=int(text[:-1]) * units[text[-1]]))
    return _iso(datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC))


def _es(s):
    from elasticsearch import Elasticsearch

    return Elasticsearch(**s.es_client_kwargs())


def _settings():
    from connectors.settings import Settings

    return Settings()


def dig(d: dict, dotted: str, default=None):
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return default
        d = d[part]
    return d


def find_alert(es, s, alert_id: str) -> tuple[str, dict] | None:
    """(index, source) of an alert by ``alert.id`` (a unique prefix of 8+ characters also works)."""
    pattern = s.index_pattern("alerts")
    query = {"ids": {"values": [alert_id]}} if len(alert_id) >= 32 else {"prefix": {"alert.id": alert_id}}
    resp = es.search(index=pattern, query=query, size=2, ignore_unavailable=True, allow_no_indices=True)
    hits = resp["hits"]["hits"]
    if len(hits) != 1:
        return None
    return hits[0]["_index"], hits[0]["_source"]


def _the_alert(es, s, alert_id: str) -> tuple[str, dict] | None:
    """:func:`find_alert`, telling the user when no single alert matches."""
    found = find_alert(es, s, alert_id)
    if found is None:
        print(f"no single alert matches {alert_id!r}", file=sys.stderr)
    return found


def list_alerts(es, s, *, since: str | None, severity: str | None, rule: str | None, user: str | None,
                status: str | None, limit: int) -> list[dict]:
    filters: list[dict] = []
    if since:
        filters.append({"range": {"@timestamp": {"gte": since}}})
    if severity:
        at_least = SEVERITIES[SEVERITIES.index(severity):]
        filters.append({"terms": {"risk.severity": list(at_least)}})
    if rule:
        filters.append({"bool": {"should": [{"term": {"rule.id": rule}}, {"term": {"rule.name": rule}}]}})
    if user:
        filters.append({"term": {"user.name": user}})
    query: dict = {"bool": {"filter": filters}}
    if status == "open":
        query["bool"]["must_not"] = [{"exists": {"field": "parasol.alert.status"}}]
    elif status:
        filters.append({"term": {"parasol.alert.status": status}})
    es.indices.refresh(index=s.index_pattern("alerts"), ignore_unavailable=True, allow_no_indices=True)
    resp = es.search(index=s.index_pattern("alerts"), query=query, size=limit, ignore_unavailable=True,
                     allow_no_indices=True, sort=[{"@timestamp": {"order": "desc"}}])
    return [h["_source"] for h in resp["hits"]["hits"]]


def _row(a: dict) -> list[str]:
    return [
        (dig(a, "@timestamp") or "")[:19].replace("T", " "),
        dig(a, "risk.severity") or "",
        f"{dig(a, 'risk.score', 0):.0f}",
        dig(a, "rule.name") or dig(a, "rule.id") or "",
        dig(a, "user.name") or "-",
        str(dig(a, "parasol.alert.suppressed", 0) or 0),
        dig(a, "parasol.alert.status") or "open",
        (dig(a, "alert.id") or "")[:12],
    ]


def cmd_list(args: argparse.Namespace) -> int:
    s = _settings()
    with _es(s) as es:
        alerts = list_alerts(es, s, since=parse_since(args.since) if args.since else None,
                             severity=args.severity, rule=args.rule, user=args.user, status=args.status,
                             limit=args.limit)
    if args.json:
        sys.stdout.write(orjson.dumps(alerts).decode() + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(alerts)} alert(s)", show_lines=False)
    for col in ("time (UTC)", "severity", "score", "rule", "user", "suppressed", "status", "id"):
        table.add_column(col)
    colours = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "green"}
    for a in alerts:
        table.add_row(*_row(a), style=colours.get(dig(a, "risk.severity")))
    Console().print(table)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    s = _settings()
    with _es(s) as es:
        found = _the_alert(es, s, args.id)
        if found is None:
            return 1
        _, alert = found
        ids = (dig(alert, "related.event_ids") or [])[: args.events]
        events = []
        if ids:
            resp = es.search(index=s.index_pattern("audit"), query={"ids": {"values": ids}}, size=len(ids),
                             ignore_unavailable=True, sort=[{"@timestamp": {"order": "asc"}}])
            events = [h["_source"] for h in resp["hits"]["hits"]]
    if args.json:
        sys.stdout.write(orjson.dumps({"alert": alert, "events": events}).decode() + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    c = Console()
    c.print(f"[bold]{dig(alert, 'rule.name')}[/bold]  ({dig(alert, 'rule.kind')}, {dig(alert, 'rule.id')})")
    for label, path in (("alert", "alert.id"), ("severity", "risk.severity"), ("score", "risk.score"),
                        ("user", "user.name"), ("source", "source.ip"), ("service", "service.name"),
                        ("database", "db.name"), ("from", "event.start"), ("to", "event.end"),
                        ("technique", "threat.technique.id"), ("suppressed", "parasol.alert.suppressed"),
                        ("status", "parasol.alert.status"), ("verdict", "parasol.alert.verdict")):
        value = dig(alert, path)
        if value not in (None, "", []):
            c.print(f"  {label:<10} {value}")
    if alert.get("explanation"):
        c.print(f"\n{alert['explanation']}\n")
    if events:
        table = Table(title=f"evidence ({len(events)} of {len(dig(alert, 'related.event_ids') or [])} events)")
        for col in ("time", "user", "action", "what"):
            table.add_column(col)
        for e in events:
            what = dig(e, "db.statement") or f"{dig(e, 'http.request.method', '')} {dig(e, 'url.path', '')}"
            table.add_row((dig(e, "@timestamp") or "")[:19], dig(e, "user.name") or "-",
                          f"{dig(e, 'event.action')}/{dig(e, 'event.outcome')}", what[:100])
        c.print(table)
    return 0


def _update(es, index: str, alert: dict, changes: dict, entry: dict) -> dict:
    history = list(dig(alert, "parasol.alert.history") or []) + [entry]
    doc = {"parasol": {"alert": {**changes, "history": history}}}
    es.update(index=index, id=alert["alert"]["id"], doc=doc, refresh=True)
    return doc


def cmd_ack(args: argparse.Namespace) -> int:
    s = _settings()
    with _es(s) as es:
        found = _the_alert(es, s, args.id)
        if found is None:
            return 1
        index, alert = found
        entry = {"at": _iso(_now()), "by": args.by, "status": "acknowledged", "note": args.note}
        _update(es, index, alert, {"status": "acknowledged", "assignee": args.by}, entry)
    print(f"acknowledged {alert['alert']['id']}")
    return 0


def cmd_close(args: argparse.Namespace) -> int:
    s = _settings()
    with _es(s) as es:
        found = _the_alert(es, s, args.id)
        if found is None:
            return 1
        index, alert = found
        now = _now()
        entry = {"at": _iso(now), "by": args.by, "status": "closed", "verdict": args.verdict, "note": args.note}
        _update(es, index, alert, {"status": "closed", "verdict": args.verdict, "closed_by": args.by}, entry)
    if args.verdict == "false_positive" and args.exception_days > 0:
        feedback = {
            "@timestamp": _iso(now), "alert": alert.get("alert"), "rule": alert.get("rule"),
            "user": alert.get("user"), "source": alert.get("source"), "event": alert.get("event"),
            "parasol": {"anomaly": dig(alert, "parasol.anomaly")},
            "verdict": args.verdict, "by": args.by, "note": args.note,
            "exception": {"expires": _iso(now + timedelta(days=args.exception_days))},
        }
        err = _publish_feedback(s, (dig(alert, "user.name") or "").encode(), feedback)
        if err:
            print(f"verdict indexed, but the feedback was not published: {err}", file=sys.stderr)
            return 1
        print(f"closed {alert['alert']['id']} as {args.verdict}; exception for "
              f"{dig(alert, 'rule.name')} / {dig(alert, 'user.name')} for {args.exception_days} days")
        return 0
    print(f"closed {alert['alert']['id']} as {args.verdict}")
    return 0


def _publish_feedback(s, key: bytes, record: dict) -> str | None:
    from confluent_kafka import Producer

    from connectors.kafka_admin import ensure_topics

    topic = s.topic("alert_feedback")
    ensure_topics(s.confluent_config(), [topic], s.partitions)
    p = Producer({**s.confluent_config(), "enable.idempotence": True})
    errors: list = []
    p.produce(topic, key=key, value=orjson.dumps(record), on_delivery=lambda e, m: e and errors.append(e))
    p.flush(15)
    return str(errors[0]) if errors else None


def add_commands(sub) -> None:
    alerts = sub.add_parser("alerts", help="list, inspect and triage risk alerts (parasol-alerts*)")
    asub = alerts.add_subparsers(dest="action", required=True)
    ls = asub.add_parser("list", help="recent alerts, newest first")
    ls.add_argument("--since", default="24h", help="24h, 7d, … or an RFC 3339 time ('' for all)")
    ls.add_argument("--severity", choices=SEVERITIES, help="this severity or higher")
    ls.add_argument("--rule", help="rule id or name")
    ls.add_argument("--user")
    ls.add_argument("--status", choices=("open", "acknowledged", "closed"))
    ls.add_argument("--limit", type=int, default=50)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
    show = asub.add_parser("show", help="one alert with its explanation and evidence events")
    show.add_argument("id", help="alert.id (or a unique prefix)")
    show.add_argument("--events", type=int, default=20, help="evidence events to show")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)
    ack = asub.add_parser("ack", help="acknowledge an alert (someone is on it)")
    ack.add_argument("id")
    ack.add_argument("--by", default=getpass.getuser())
    ack.add_argument("--note")
    ack.set_defaults(func=cmd_ack)
    close = asub.add_parser("close", help="close an alert with a verdict")
    close.add_argument("id")
    close.add_argument("--verdict", required=True, choices=VERDICTS)
    close.add_argument("--by", default=getpass.getuser())
    close.add_argument("--note")
    close.add_argument("--exception-days", type=int, default=30,
                       help="false_positive: silence this rule for this user this long (0: no exception)")
    close.set_defaults(func=cmd_close)
