"""The values the masking policy reasons about: who asks (:class:`Subject`), about what
(:class:`Resource`), and the answer (:class:`Decision`). Frozen, cheap to build and to hash.

>>> s = Subject("alice", ["support", "crm_rw"], risk_level="HIGH")
>>> s.roles, s.risk_level, s.with_risk("low").risk_level
(('support', 'crm_rw'), 'high', 'low')
>>> r = Resource("pg1", "crm", "customers", "mobile", "CN_MOBILE", "personal.contact", "general-2")
>>> r.classified, Resource("pg-crm-01", "crm", "orders", "status").classified
(True, False)
>>> Decision("customers", "mobile", "mask", "partial", name="m").to_dict()["method"]
'partial'
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

__all__ = [
    "ACTIONS",
    "ACTION_RANK",
    "RISK_LEVELS",
    "RISK_RANK",
    "Decision",
    "Resource",
    "Subject",
    "as_datetime",
]

RISK_LEVELS = ("low", "medium", "high", "critical")
RISK_RANK = {r: i for i, r in enumerate(RISK_LEVELS)}
ACTIONS = ("allow", "mask", "deny")
ACTION_RANK = {a: i for i, a in enumerate(ACTIONS)}  #: deny > mask > allow

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _names(value: Iterable[str] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    return tuple(str(v) for v in value if v is not None and v != "")


@dataclass(frozen=True, slots=True)
class Subject:
    """Who reads: a user with roles and groups, why (``purpose``), from where (``environment``)
    and how risky they currently are (``risk_level``: low < medium < high < critical)."""

    user: str
    roles: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    purpose: str | None = None
    environment: str | None = None
    risk_level: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "user", "" if self.user is None else str(self.user))
        object.__setattr__(self, "roles", _names(self.roles))
        object.__setattr__(self, "groups", _names(self.groups))
        if self.risk_level is not None:
            level = str(self.risk_level).lower()
            if level not in RISK_RANK:
                raise ValueError(f"risk level {self.risk_level!r} is not one of {RISK_LEVELS}")
            object.__setattr__(self, "risk_level", level)

    def with_risk(self, risk_level: str | None) -> Subject:
        return replace(self, risk_level=risk_level)

    @classmethod
    def from_event(cls, event: Mapping[str, Any], **overrides: Any) -> Subject:
        """From a contract event or masking request (nested or dotted keys): ``user.name``,
        ``user.roles``, ``user.groups`` (ECS ``user.group.name`` too), ``purpose``,
        ``environment`` (or ``deployment.environment``).

        >>> s = Subject.from_event({"user.name": "bob", "user": {"roles": ["hr"]}, "purpose": "p"})
        >>> s.user, s.roles, s.purpose, s.risk_level
        ('bob', ('hr',), 'p', None)
        """
        user = event.get("user") if isinstance(event.get("user"), Mapping) else {}

        def get(key: str, nested: Any) -> Any:
            return nested if nested is not None else event.get(key)

        group = user.get("group") if isinstance(user.get("group"), Mapping) else {}
        deployment = event.get("deployment") if isinstance(event.get("deployment"), Mapping) else {}
        kwargs: dict[str, Any] = {
            "user": get("user.name", user.get("name")) or "-",
            "roles": get("user.roles", user.get("roles")) or (),
            "groups": get("user.groups", user.get("groups"))
            or get("user.group.name", group.get("name"))
            or (),
            "purpose": event.get("purpose"),
            "environment": event.get("environment")
            or get("deployment.environment", deployment.get("environment")),
        }
        kwargs.update(overrides)
        return cls(**kwargs)


@dataclass(frozen=True, slots=True)
class Resource:
    """What is read: a column (``table`` may be schema-qualified) and its classification (entity,
    category, GB/T 43697 level). All classification fields ``None``: unclassified."""

    instance: str | None
    db: str | None
    table: str | None
    column: str | None
    entity: str | None = None
    category: str | None = None
    level: str | None = None

    @property
    def classified(self) -> bool:
        return self.level is not None or self.entity is not None or self.category is not None

    @property
    def qualified(self) -> str:
        """``table.column`` (``?.column`` when the table is unknown)."""
        return f"{self.table or '?'}.{self.column or '?'}"


@dataclass(frozen=True, slots=True)
class Decision:
    """What a subject may see of one column: ``action`` allow / mask / deny, the masking
    ``method`` and ``params`` for ``mask``, the column's ``classification`` (category, level),
    the ``rule_id`` that decided and a human-readable ``reason``.

    ``name`` is the output name in a statement's result (``SELECT lower(phone) AS p`` → ``p``);
    ``table``/``column`` are the base column it derives from. ``key_id`` is the key a ``hash`` or
    ``tokenize`` uses (a rotated keyring still detokenizes old tokens with it).
    """

    table: str | None
    column: str | None
    action: str
    method: str | None = None
    params: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    classification: Mapping[str, str | None] = field(
        default_factory=lambda: MappingProxyType({"category": None, "level": None})
    )
    rule_id: str | None = None
    reason: str = ""
    name: str | None = None
    entity: str | None = None
    key_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The contract's decision column (``table``, ``column``, ``action``, ``method``,
        ``classification``) plus ``name``, ``entity``, ``rule``, ``reason`` and ``key_id``."""
        d: dict[str, Any] = {
            "table": self.table,
            "column": self.column,
            "action": self.action,
            "method": self.method,
            "classification": {
                "category": self.classification.get("category"),
                "level": self.classification.get("level"),
            },
        }
        if self.name is not None and self.name != self.column:
            d["name"] = self.name
        if self.entity is not None:
            d["classification"]["entity"] = self.entity
        if self.params:
            d["params"] = dict(self.params)
        if self.key_id is not None:
            d["key_id"] = self.key_id
        d["rule"] = self.rule_id
        d["reason"] = self.reason
        return d


def as_datetime(at: Any) -> _dt.datetime:
    """An aware datetime from ``None`` (now), a datetime (naive = UTC), epoch seconds or
    milliseconds, or RFC 3339 text; anything unreadable is now.

    >>> as_datetime("2026-11-27T08:00:00Z").isoformat(), as_datetime(0).year
    ('2026-11-27T08:00:00+00:00', 1970)
    """
    if isinstance(at, _dt.datetime):
        return at if at.tzinfo is not None else at.replace(tzinfo=_dt.UTC)
    if isinstance(at, (int, float)) and not isinstance(at, bool):
        seconds = at / 1000 if abs(at) >= 1e11 else at
        return _dt.datetime.fromtimestamp(seconds, _dt.UTC)
    if isinstance(at, str):
        try:
            return as_datetime(_dt.datetime.fromisoformat(at.strip().replace("z", "Z")))
        except ValueError:
            try:
                return as_datetime(float(at))
            except ValueError:
                pass
    return _dt.datetime.now(_dt.UTC)
