"""Who an event is about: the entity keys a behavioural baseline is kept for.

One event feeds several entities, because an attack shows on different axes: the person
(``user:alice``), the person on one database (``user_db:alice@pg1/crm``), a machine account
(``service_account:etl_nightly`` — replaces ``user:`` for accounts matching the configured name
patterns or roles), a client address (``ip:10.1.2.3``) and an API caller on one service
(``api_client:bob@crm-api``; anonymous callers are keyed by address, ``api_client:anon/1.2.3.4@…``).

Each entity also names its peer groups, most specific first: the population it is compared with
when it has no history of its own (a new analyst is judged by analysts on that database, then by
analysts, then by everyone of its kind; an address by its /16 network, then all addresses). The
primary role is the first of ``user.roles``.

>>> rules = EntityRules()
>>> [r.key for r in rules.refs({"user": {"name": "alice", "roles": ["analyst"]},
...     "source": {"ip": "10.1.2.3"}, "db": {"instance": "pg1", "name": "crm"}})]
['user:alice', 'user_db:alice@pg1/crm', 'ip:10.1.2.3']
>>> rules.refs({"user": {"name": "etl_nightly"}, "db": {"name": "dw"}})[0].kind
'service_account'
>>> rules.refs({"user": {"name": "-"}, "source": {"ip": "1.2.3.4"}, "service": {"name": "shop"},
...             "http": {"request": {"method": "GET"}}})[0].key
'api_client:anon/1.2.3.4@shop'
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

__all__ = ["ENTITY_KINDS", "EntityRef", "EntityRules"]

ENTITY_KINDS = ("user", "service_account", "user_db", "ip", "api_client")


class EntityRef(NamedTuple):
    key: str
    kind: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class EntityRules:
    """How entity keys are derived. ``service_patterns`` are shell globs on ``user.name``
    (case-insensitive); ``service_roles`` mark an account as a service account whatever its name."""

    service_patterns: tuple[str, ...] = ("svc_*", "svc-*", "app_*", "etl_*", "sa_*")
    service_roles: frozenset[str] = frozenset({"service"})
    anonymous: frozenset[str] = frozenset({"-", "", "anonymous"})
    kinds: frozenset[str] = frozenset(ENTITY_KINDS)
    _service_re: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        globs = "|".join(fnmatch.translate(p) for p in self.service_patterns) or r"(?!)"
        object.__setattr__(self, "_service_re", re.compile(globs, re.IGNORECASE))
        object.__setattr__(self, "_cached", lru_cache(maxsize=65536)(self._refs))

    def is_service(self, name: str, roles: tuple[str, ...] = ()) -> bool:
        return bool(self._service_re.match(name)) or any(r in self.service_roles for r in roles)

    def refs(self, event: dict) -> tuple[EntityRef, ...]:
        """The entities of a (normalised) event; cached on the few fields that decide them."""
        user = event.get("user") or {}
        db = event.get("db")
        src = event.get("source") or {}
        svc = event.get("service") or {}
        return self._cached(
            user.get("name") or "",
            tuple(user.get("roles") or ()),
            db is not None,
            (db or {}).get("instance"),
            (db or {}).get("name"),
            src.get("ip"),
            svc.get("name"),
            "http" in event,
        )

    def _refs(self, name, roles, is_db, instance, dbname, ip, service, is_api) -> tuple[EntityRef, ...]:
        out: list[EntityRef] = []
        named = name not in self.anonymous
        primary = next((r for r in roles if r not in self.service_roles), None)
        if named:
            if self.is_service(name, roles):
                out.append(EntityRef(f"service_account:{name}", "service_account",
                                     ("service_account:*",)))
            else:
                role = primary or "none"
                out.append(EntityRef(f"user:{name}", "user", (f"user:role={role}", "user:*")))
        if named and is_db and (instance or dbname):
            where = f"{instance or '-'}/{dbname or '-'}"
            role = primary or ("service" if self.is_service(name, roles) else "none")
            out.append(EntityRef(f"user_db:{name}@{where}", "user_db",
                                 (f"user_db:role={role}@{where}", f"user_db:*@{where}", "user_db:*")))
        if is_api and service:
            client = name if named else (f"anon/{ip}" if ip else None)
            if client:
                role = primary or ("service" if named and self.is_service(name, roles) else "none")
                out.append(EntityRef(f"api_client:{client}@{service}", "api_client",
                                     (f"api_client:role={role}@{service}", f"api_client:*@{service}",
                                      "api_client:*")))
        if ip:
            net = ".".join(ip.split(".")[:2]) if "." in ip else ip.split(":")[0]
            out.append(EntityRef(f"ip:{ip}", "ip", (f"ip:net={net}", "ip:*")))
        return tuple(r for r in out if r.kind in self.kinds)
