"""Small deterministic enriched events and streams for the baseline tests."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from detectors.baseline.timebase import format_ts

T0 = datetime(2026, 11, 2, tzinfo=UTC)          # a Monday


def ts(day: int = 0, hour: float = 9.0, second: float = 0.0) -> str:
    return format_ts((T0 + timedelta(days=day, hours=hour, seconds=second)).timestamp())


def db_event(when: str, user: str = "alice", roles=("analyst",), ip: str | None = "10.1.0.1",
             app: str | None = "metabase", instance: str = "pg1", db: str = "crm",
             tables=("orders",), columns=("orders.amount",), rows: int | None = 10,
             level: str | None = None, operation: str = "read", command: str = "SELECT",
             fingerprint: str = "fp-orders", outcome: str = "success", action: str = "query",
             eid: str | None = None) -> dict:
    ev = {
        "@timestamp": when,
        "user": {"name": user, "roles": list(roles)},
        "service": {"name": app} if app else {},
        "db": {"system": "postgresql", "instance": instance, "name": db, "statement": "…"},
        "event": {"outcome": outcome, "dataset": "db.audit", "action": action,
                  "id": eid or f"{user}-{when}-{fingerprint}"},
        "parasol": {
            "sql": {"operation": operation, "command": command, "fingerprint": fingerprint},
            "tables": list(tables), "columns": list(columns),
            "sensitive": {"level": level, "values": 0},
        },
    }
    if ip:
        ev["source"] = {"ip": ip}
    if rows is not None:
        ev["db"]["rows"] = rows
    return ev


def api_event(when: str, user: str = "bob", ip: str = "10.2.0.1", service: str = "crm-api",
              path: str = "/customers/1", route: str | None = "/customers/{id}", status: int = 200,
              nbytes: int = 512, method: str = "GET", eid: str | None = None) -> dict:
    ev = {
        "@timestamp": when, "user": {"name": user}, "source": {"ip": ip},
        "service": {"name": service},
        "http": {"request": {"method": method}, "response": {"status_code": status, "bytes": nbytes}},
        "url": {"path": path},
        "event": {"outcome": "success" if status < 400 else "failure", "dataset": "api.access",
                  "action": "request", "id": eid or f"{user}-{when}-{path}"},
        "parasol": {"tables": [route or path], "columns": [], "sensitive": {"level": None, "values": 0}},
    }
    if route:
        ev["http"]["route"] = route
    return ev


def office_stream(users=("alice",), days=10, seed=0, roles=("analyst",), per_hour=6,
                  start_day=0, **kw) -> list[dict]:
    """Weekday office hours (09–17 UTC), a few small reads of orders per hour per user."""
    rng = random.Random(seed)
    out = []
    for day in range(start_day, start_day + days):
        if (T0 + timedelta(days=day)).weekday() >= 5:
            continue
        for u_i, user in enumerate(users):
            for hour in range(9, 17):
                for k in range(per_hour):
                    sec = rng.uniform(0, 3599)
                    out.append(db_event(ts(day, hour, sec), user=user, roles=roles,
                                        ip=f"10.1.0.{u_i + 1}", rows=rng.randint(1, 20), **kw))
    out.sort(key=lambda e: e["@timestamp"])
    return out
