"""Conditions over event fields: one small language for rules, exceptions, playbooks and Sigma.

A condition is data (YAML) compiled once into a frozen tree whose nodes hold a closure, so a
rule costs a few function calls per event. The same tree exports to Elasticsearch query DSL
(:meth:`Condition.to_es`), so what fires in the stream can be searched in the index.

Syntax: ``{all: [...]}``, ``{any: [...]}``, ``{not: {...}}`` and field tests
``{field: PATH, OP: VALUE[, OP2: VALUE2…][, ignore_case: true]}`` (several ops on one field are
ANDed). On a list-valued field an op holds when any element satisfies it (as in Elasticsearch).

=================  ===========================================================================
op                 holds when
=================  ===========================================================================
equals             a value equals VALUE
in                 a value is one of VALUE (a list)
contains           a string value contains VALUE as a substring
startswith         a string value starts with VALUE (``endswith`` likewise)
wildcard           a string value matches the glob VALUE as a whole (``*`` any run, ``?`` one)
regex              a string value has a match of the Python regex VALUE (``re.search``)
gt gte lt lte      a numeric value compares so with VALUE
exists             the field is set (not absent, null, empty string or list) — or not, if false
cidr               an IP value lies in VALUE (a network or list of networks)
count_gte          the field holds at least VALUE values
equals_field       a value equals a value of the field named VALUE
outside_hours      ``@timestamp`` falls outside ``{start: 8, end: 19, tz: site, weekends: true}``
                   (local hours ``[start, end)``; weekends count as outside; ``tz`` an IANA
                   zone, or ``site``: :func:`set_site_timezone`, default Asia/Shanghai)
=================  ===========================================================================

>>> c = parse_condition({"all": [{"field": "db.rows", "gte": 1000},
...                              {"not": {"field": "user.name", "in": ["etl", "backup"]}}]})
>>> c.match({"db": {"rows": 5000}, "user": {"name": "alice"}}), c.match({"db": {"rows": 5}})
(True, False)
>>> c.to_es()["bool"]["filter"][0]
{'range': {'db.rows': {'gte': 1000}}}
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import ipaddress
import re
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from detectors.rules.fields import MISSING, getter, present

__all__ = [
    "ES_KEYWORD_SUBFIELD",
    "OPS",
    "All",
    "Always",
    "AnyOf",
    "Condition",
    "ConditionError",
    "FieldTest",
    "Not",
    "es_field",
    "parse_condition",
]

OPS = ("equals", "in", "contains", "startswith", "endswith", "wildcard", "regex", "gt", "gte",
       "lt", "lte", "exists", "cidr", "count_gte", "equals_field", "outside_hours")

#: Text fields whose exact value lives in a ``.keyword`` sub-field in parasol's index templates.
ES_KEYWORD_SUBFIELD = frozenset({"db.statement", "db.error", "error.message"})


def es_field(name: str, exact: bool = True) -> str:
    """Index field for a condition on ``name`` (``db.statement`` → ``db.statement.keyword``)."""
    return f"{name}.keyword" if exact and name in ES_KEYWORD_SUBFIELD else name


class ConditionError(ValueError):
    """A condition that cannot be compiled; the message names where it is."""


class Condition:
    """Base: ``match(event) -> bool``, ``to_es() -> dict``, ``fields() -> set``."""

    __slots__ = ()

    def match(self, event: Any) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_es(self, notes: list[str] | None = None) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def fields(self) -> set[str]:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Always(Condition):
    """Matches every event (a rule without a ``when``)."""

    def match(self, event: Any) -> bool:
        return True

    def to_es(self, notes: list[str] | None = None) -> dict:
        return {"match_all": {}}

    def fields(self) -> set[str]:
        return set()


def _compile(self: Condition, fn: Callable[[Any], bool]) -> None:
    """Install ``fn`` as the instance's ``match``: one closure call per node, no bound method."""
    object.__setattr__(self, "match", fn)


@dataclass(frozen=True)
class All(Condition):
    items: tuple[Condition, ...]

    def __post_init__(self) -> None:
        fns = tuple(c.match for c in self.items)
        if len(fns) == 2:
            f, g = fns
            _compile(self, lambda e: f(e) and g(e))
        elif len(fns) == 3:
            f, g, h = fns
            _compile(self, lambda e: f(e) and g(e) and h(e))
        else:
            _compile(self, lambda e: all(f(e) for f in fns))

    def match(self, event: Any) -> bool:
        for c in self.items:
            if not c.match(event):
                return False
        return True

    def to_es(self, notes: list[str] | None = None) -> dict:
        return {"bool": {"filter": [c.to_es(notes) for c in self.items]}}

    def fields(self) -> set[str]:
        return set().union(*(c.fields() for c in self.items))


@dataclass(frozen=True)
class AnyOf(Condition):
    items: tuple[Condition, ...]

    def __post_init__(self) -> None:
        fns = tuple(c.match for c in self.items)
        if len(fns) == 2:
            f, g = fns
            _compile(self, lambda e: f(e) or g(e))
        else:
            _compile(self, lambda e: any(f(e) for f in fns))

    def match(self, event: Any) -> bool:
        for c in self.items:
            if c.match(event):
                return True
        return False

    def to_es(self, notes: list[str] | None = None) -> dict:
        return {"bool": {"should": [c.to_es(notes) for c in self.items],
                         "minimum_should_match": 1}}

    def fields(self) -> set[str]:
        return set().union(*(c.fields() for c in self.items))


@dataclass(frozen=True)
class Not(Condition):
    item: Condition

    def __post_init__(self) -> None:
        f = self.item.match
        _compile(self, lambda e: not f(e))

    def match(self, event: Any) -> bool:
        return not self.item.match(event)

    def to_es(self, notes: list[str] | None = None) -> dict:
        return {"bool": {"must_not": [self.item.to_es(notes)]}}

    def fields(self) -> set[str]:
        return self.item.fields()


def _lower(v: Any) -> Any:
    return v.lower() if isinstance(v, str) else v


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def _networks(value: Any) -> tuple:
    items = value if isinstance(value, (list, tuple)) else [value]
    try:
        return tuple(ipaddress.ip_network(str(v), strict=False) for v in items)
    except ValueError as e:
        raise ConditionError(f"cidr: {e}") from None


#: The zone of ``tz: site`` (and of an ``outside_hours`` without ``tz``): where the business
#: hours are kept. Set once at start-up (the worker does, from ``PARASOL_SITE_TIMEZONE``),
#: before rules are loaded.
_site_tz = "Asia/Shanghai"


def set_site_timezone(name: str) -> None:
    """Zone for ``tz: site`` in rules loaded from now on (an IANA name such as ``Europe/Berlin``)."""
    global _site_tz
    zoneinfo.ZoneInfo(name)  # fail early on a typo
    _site_tz = name


def _hours(spec: Any) -> tuple[int, int, dt.tzinfo, bool]:
    if not isinstance(spec, Mapping):
        raise ConditionError("outside_hours needs {start, end, tz, weekends}")
    try:
        start, end = int(spec.get("start", 8)), int(spec.get("end", 19))
        name = str(spec.get("tz", "site"))
        tz: dt.tzinfo = zoneinfo.ZoneInfo(_site_tz if name == "site" else name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError) as e:
        raise ConditionError(f"outside_hours: {e}") from None
    if not (0 <= start <= 24 and 0 <= end <= 24):
        raise ConditionError("outside_hours: start and end are hours 0-24")
    return start, end, tz, bool(spec.get("weekends", True))


def _ts(v: Any) -> float | None:
    from detectors.rules.fields import event_time
    return event_time({"@timestamp": v})


def _test(op: str, value: Any, ic: bool, path: str) -> Callable[[Any], bool]:
    """A predicate on one value of the field (``any`` over list elements is applied outside)."""
    if op == "equals":
        want = _lower(value) if ic else value
        if ic:
            return lambda v: _lower(v) == want
        if isinstance(value, bool):
            return lambda v: v is value
        return lambda v: v == want and not (isinstance(v, bool) and not isinstance(want, bool))
    if op == "in":
        if not isinstance(value, (list, tuple)):
            raise ConditionError(f"{path}: 'in' needs a list")
        wants = frozenset(_lower(x) if ic else x for x in value if not isinstance(x, (dict, list)))
        if ic:
            return lambda v: not isinstance(v, (dict, list)) and _lower(v) in wants
        return lambda v: not isinstance(v, (dict, list)) and v in wants
    if op in ("contains", "startswith", "endswith"):
        if not isinstance(value, str):
            raise ConditionError(f"{path}: '{op}' needs a string")
        want = value.lower() if ic else value
        if op == "contains":
            if ic:
                return lambda v: isinstance(v, str) and want in v.lower()
            return lambda v: isinstance(v, str) and want in v
        if op == "startswith":
            return (lambda v: isinstance(v, str) and v.lower().startswith(want)) if ic else (
                lambda v: isinstance(v, str) and v.startswith(want))
        return (lambda v: isinstance(v, str) and v.lower().endswith(want)) if ic else (
            lambda v: isinstance(v, str) and v.endswith(want))
    if op == "wildcard":
        if not isinstance(value, str):
            raise ConditionError(f"{path}: 'wildcard' needs a string")
        rx = re.compile(fnmatch.translate(value), re.DOTALL | (re.IGNORECASE if ic else 0))
        return lambda v: isinstance(v, str) and rx.match(v) is not None
    if op == "regex":
        try:
            rx = re.compile(str(value), re.IGNORECASE if ic else 0)
        except re.error as e:
            raise ConditionError(f"{path}: bad regex {value!r}: {e}") from None
        return lambda v: isinstance(v, str) and rx.search(v) is not None
    if op in ("gt", "gte", "lt", "lte"):
        n = _num(value)
        if n is None:
            raise ConditionError(f"{path}: '{op}' needs a number")
        cmp = {"gt": lambda x: x > n, "gte": lambda x: x >= n, "lt": lambda x: x < n,
               "lte": lambda x: x <= n}[op]

        def compare(v: Any) -> bool:
            x = _num(v) if not isinstance(v, (int, float)) or isinstance(v, bool) else v
            return x is not None and cmp(x)

        return compare
    if op == "cidr":
        nets = _networks(value)

        def in_net(v: Any) -> bool:
            try:
                ip = ipaddress.ip_address(v)
            except (ValueError, TypeError):
                return False
            return any(ip in n for n in nets)

        return in_net
    if op == "outside_hours":
        start, end, tz, weekends = _hours(value)

        def outside(v: Any) -> bool:
            ts = _ts(v)
            if ts is None:
                return False
            local = dt.datetime.fromtimestamp(ts, tz)
            if weekends and local.weekday() >= 5:
                return True
            h = local.hour
            inside = start <= h < end if start <= end else (h >= start or h < end)
            return not inside

        return outside
    raise ConditionError(f"{path}: unknown op {op!r} (one of {', '.join(OPS)})")


@dataclass(frozen=True)
class FieldTest(Condition):
    """``field`` ``op`` ``value``; holds when any value of the field satisfies the op."""

    field: str
    op: str
    value: Any
    ignore_case: bool = False
    _fn: Callable[[Any], bool] = field(default=None, repr=False, compare=False)  # type: ignore

    def __post_init__(self) -> None:
        get = getter(self.field)
        op, value = self.op, self.value
        if op == "exists":
            want = bool(value)
            fn: Callable[[Any], bool] = lambda e: present(get(e)) is want
        elif op == "count_gte":
            n = _num(value)
            if n is None:
                raise ConditionError(f"{self.field}: 'count_gte' needs a number")

            def fn(e: Any) -> bool:
                v = get(e)
                if v is MISSING or v is None:
                    return n <= 0
                return (len(v) if isinstance(v, (list, tuple, set, frozenset)) else 1) >= n
        elif op == "equals_field":
            other = getter(str(value))

            def fn(e: Any) -> bool:
                a, b = get(e), other(e)
                if not present(a) or not present(b):
                    return False
                av = a if isinstance(a, list) else [a]
                bv = b if isinstance(b, list) else [b]
                if self.ignore_case:
                    av, bv = [_lower(x) for x in av], [_lower(x) for x in bv]
                return any(x in bv for x in av)
        else:
            test = _test(op, value, self.ignore_case, self.field)

            _seq = (list, tuple, set, frozenset)
            _M = MISSING

            def fn(e: Any) -> bool:
                v = get(e)
                if v is _M or v is None:
                    return False
                if type(v) in _seq:
                    for x in v:
                        if test(x):
                            return True
                    return False
                return test(v)
        object.__setattr__(self, "_fn", fn)
        _compile(self, fn)

    def match(self, event: Any) -> bool:
        return self._fn(event)

    def fields(self) -> set[str]:
        return {self.field, str(self.value)} if self.op == "equals_field" else {self.field}

    def to_es(self, notes: list[str] | None = None) -> dict:
        from detectors.rules.export import field_test_to_es
        return field_test_to_es(self, notes)


_COMBINATORS = ("all", "any", "not")


def parse_condition(spec: Any, where: str = "when") -> Condition:
    """Compile a condition spec (see module doc). ``None`` or ``{}`` → :class:`Always`."""
    if spec is None or spec == {}:
        return Always()
    if isinstance(spec, Condition):
        return spec
    if isinstance(spec, list):  # a bare list is an implicit "all"
        return _join(All, [parse_condition(s, f"{where}[{i}]") for i, s in enumerate(spec)])
    if not isinstance(spec, Mapping):
        raise ConditionError(f"{where}: a condition is a mapping, not {type(spec).__name__}")
    keys = set(spec)
    if keys & set(_COMBINATORS):
        if len(keys) != 1:
            raise ConditionError(f"{where}: '{'/'.join(sorted(keys & set(_COMBINATORS)))}' "
                                 f"must be alone in its mapping, found {sorted(keys)}")
        (key, body), = spec.items()
        if key == "not":
            return Not(parse_condition(body, f"{where}.not"))
        if not isinstance(body, list) or not body:
            raise ConditionError(f"{where}.{key}: needs a non-empty list")
        items = [parse_condition(s, f"{where}.{key}[{i}]") for i, s in enumerate(body)]
        return _join(All if key == "all" else AnyOf, items)
    if "field" not in spec:
        raise ConditionError(f"{where}: needs 'field' (or all/any/not), found {sorted(keys)}")
    path = spec["field"]
    if not isinstance(path, str) or not path:
        raise ConditionError(f"{where}: 'field' must be a non-empty string")
    ic = bool(spec.get("ignore_case", False))
    ops = [k for k in spec if k not in ("field", "ignore_case")]
    if not ops:
        raise ConditionError(f"{where}: field {path!r} has no op (one of {', '.join(OPS)})")
    tests = []
    for op in ops:
        if op not in OPS:
            raise ConditionError(f"{where}: unknown op {op!r} on {path!r} "
                                 f"(one of {', '.join(OPS)})")
        try:
            tests.append(FieldTest(path, op, _freeze(spec[op]), ic))
        except ConditionError as e:
            raise ConditionError(f"{where}: {e}") from None
    return _join(All, tests)


def _join(cls: type, items: list[Condition]) -> Condition:
    return items[0] if len(items) == 1 else cls(tuple(items))


def _freeze(v: Any) -> Any:
    """Lists → tuples and mappings → sorted item tuples' dicts stay dicts (hashable enough)."""
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    return v


def walk(cond: Condition) -> Iterable[Condition]:
    """Every node of a condition tree, depth first."""
    yield cond
    if isinstance(cond, (All, AnyOf)):
        for c in cond.items:
            yield from walk(c)
    elif isinstance(cond, Not):
        yield from walk(cond.item)
