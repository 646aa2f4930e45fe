"""Masking decisions per column and per statement, and the maskers the pipeline calls.

:class:`MaskingEngine` joins a :class:`~detectors.masking.policy.Policy`, a
:class:`~detectors.masking.keys.Keyring` and a classifier of columns:

* :meth:`~MaskingEngine.decide` — one column (a :class:`Resource`) for one :class:`Subject`;
* :meth:`~MaskingEngine.decide_statement` — every **output** column of a statement, from the
  column lineage of :class:`~detectors.sql.analyzer.SqlInfo`, plus the sensitive columns used in
  predicates (probing), whether the statement is denied and whether it is a bulk read; cached;
* :meth:`~MaskingEngine.mask_rows` / :meth:`~MaskingEngine.mask_document_samples` — apply the
  decisions to result rows and to the samples an event carries before it is indexed;
* :meth:`~MaskingEngine.reveal` — detokenize, for the roles the policy's ``reveal`` names.

Statement rules
    An output column derived from several base columns (``concat(a, b)``, a ``UNION``) takes the
    **strictest** of their decisions — deny > mask > allow, and among masks the stronger method:
    redact / nullify > hash / tokenize > generalize > partial (ties: redact over nullify, hash
    over tokenize) — and is reported with the table and column of its most sensitive base column
    (highest GB/T 43697 level). Base columns the classifier does not know get the policy's
    default for unclassified data; an output with no base column (``count(*)``, a literal) too.
    An unexpanded ``SELECT *`` is decided per row key by :meth:`MaskingEngine.mask_rows`.

Bulk
    A statement is a **bulk read** when it reads a table and its top-level query has neither a
    ``WHERE`` nor a ``LIMIT`` / ``TOP`` / ``FETCH`` (for a ``UNION``: not every branch has a
    ``WHERE``, and there is no overall limit): it can return whole tables. A ``WHERE`` that keeps
    most rows is not a bulk read here; the behavioural detectors see ``db.rows``.

Samples never leak
    Values a decision allows are still scanned with :mod:`detectors.sensitive` (unless
    ``scan=False``): a recognised entity (an ID number in a ``remark`` column, a phone in an
    unknown JSON field) is masked as the policy says for that entity in that place.

>>> from detectors.sql.analyzer import SqlAnalyzer
>>> eng = MaskingEngine(keyring=Keyring({"k1": b"0123456789abcdef"}))
>>> support = Subject("li.na", ["support", "crm_rw"])
>>> info = SqlAnalyzer().analyze("SELECT name, lower(mobile) AS m, level FROM customers WHERE id=7")
>>> sd = eng.decide_statement(support, info, "pg-crm-01", "crm", at="2026-11-27T03:00:00Z")
>>> [(d.name, d.column, d.action, d.method) for d in sd.columns]  # doctest: +NORMALIZE_WHITESPACE
[('name', 'name', 'allow', None), ('m', 'mobile', 'mask', 'partial'),
 ('level', 'level', 'allow', None)]
>>> eng.mask_rows(sd, [{"name": "王梅", "m": "13812345678", "level": "gold"}])
([{'name': '王梅', 'm': '138****5678', 'level': 'gold'}], {'m': 'partial'})
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from detectors.masking.keys import Keyring
from detectors.masking.methods import REDACTED, apply, detokenize, method_strictness
from detectors.masking.model import (
    ACTION_RANK,
    Decision,
    Resource,
    Subject,
    as_datetime,
)
from detectors.masking.policy import Explanation, Policy, default_policy
from detectors.sensitive.base import NON_SENSITIVE_HINT
from detectors.sensitive.taxonomy import GB_RANK

__all__ = [
    "Classify",
    "Decision",
    "MaskingEngine",
    "NotAuthorized",
    "Resource",
    "StatementDecision",
    "Subject",
    "hint_classifier",
    "is_bulk",
    "strictness",
]

#: ``classify(instance, db, "table.column")`` → the column's classification, or None (unknown).
Classify = Callable[[str | None, str | None, str], Resource | None]

_ROUTE_ID = re.compile(r"/(?:\d+|[0-9a-fA-F-]{32,36})(?=/|$)")
_MAX_MEMO = 50_000


class NotAuthorized(PermissionError):
    """The subject may not do this (reveal a token) under the current policy."""


def strictness(d: Decision) -> tuple[int, tuple[int, int]]:
    """Sort key of decisions, higher is stricter: deny > mask (by method) > allow."""
    return ACTION_RANK[d.action], method_strictness(d.method) if d.action == "mask" else (0, 0)


def _sensitivity(d: Decision) -> int:
    return GB_RANK.get(d.classification.get("level") or "", 0)


def is_bulk(sql_info: Any) -> bool:
    """A read of some table with neither WHERE nor LIMIT at the top level (module doc).

    >>> from detectors.sql.analyzer import analyze
    >>> [is_bulk(analyze(s)) for s in ("SELECT * FROM t", "SELECT * FROM t LIMIT 5",
    ...                                "SELECT * FROM t WHERE id = 1", "SELECT 1")]
    [True, False, False, False]
    """
    return (
        sql_info.operation == "read"
        and bool(sql_info.tables_read)
        and not sql_info.has_where
        and not sql_info.has_limit
    )


def hint_classifier(scanner: Any = None) -> Classify:
    """A classifier from column names alone (:mod:`detectors.sensitive.hints`), for when no asset
    catalogue is at hand: ``customers.mobile`` → CN_MOBILE, ``orders.status`` → unknown.

    >>> c = hint_classifier()
    >>> r = c("pg-crm-01", "crm", "customers.id_card")
    >>> r.table, r.column, r.entity, r.level
    ('customers', 'id_card', 'CN_RESIDENT_ID', 'general-4')
    >>> c(None, None, "orders.status") is None
    True
    """
    cache: dict[str, tuple[str, str, str] | None] = {}

    def classify(instance: str | None, db: str | None, column: str) -> Resource | None:
        nonlocal scanner
        table, _, name = column.rpartition(".")
        if name not in cache:
            if scanner is None:
                from detectors.sensitive.scanner import default_scanner

                scanner = default_scanner()
            h = scanner.hint_for(name) if name not in ("*", "?", "") else None
            if h is None or h.entity == NON_SENSITIVE_HINT:
                cache[name] = None
            else:
                g = scanner.taxonomy.grade(h.entity)
                cache[name] = (g.entity, g.category, g.gb_43697)
        found = cache[name]
        if found is None:
            return None
        return Resource(instance, db, table if table not in ("", "?") else None, name, *found)

    return classify


@dataclass(frozen=True)
class StatementDecision:
    """Decisions for one statement as one subject reads it (module doc).

    ``columns``: one :class:`Decision` per output column, ``name`` = the output name;
    ``probing``: decisions of the classified base columns in WHERE / JOIN ON / HAVING;
    ``denied``: some output column is denied; ``bulk``: :func:`is_bulk`;
    ``cache_key``: a short digest of what the decision depends on.
    """

    columns: tuple[Decision, ...]
    probing: tuple[Decision, ...]
    denied: bool
    bulk: bool
    policy_version: str
    cache_key: str
    # What mask_rows needs to decide row keys the statement did not name (SELECT *).
    subject: Subject | None = field(default=None, repr=False, compare=False)
    instance: str | None = field(default=None, repr=False, compare=False)
    db: str | None = field(default=None, repr=False, compare=False)
    tables: tuple[str, ...] = field(default=(), repr=False, compare=False)
    star_tables: tuple[str, ...] = field(default=(), repr=False, compare=False)
    at: Any = field(default=None, repr=False, compare=False)
    by_name: Mapping[str, Decision] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names: dict[str, Decision] = {}
        for d in self.columns:
            key = d.name or d.column or ""
            # Two outputs with one name (c.id, o.id): rows cannot tell them apart, so the
            # stricter decision masks both.
            if key not in names or strictness(d) > strictness(names[key]):
                names[key] = d
        object.__setattr__(self, "by_name", MappingProxyType(names))

    def get(self, name: str) -> Decision | None:
        d = self.by_name.get(name)
        if d is None:
            low = name.casefold()
            d = next((v for k, v in self.by_name.items() if k.casefold() == low), None)
        return d

    def to_dict(self, request_id: str | None = None) -> dict[str, Any]:
        """The contract's masking decision (``request_id``, ``policy.version``, ``columns``)
        plus ``denied``, ``bulk`` and ``probing``."""
        out: dict[str, Any] = {}
        if request_id is not None:
            out["request_id"] = request_id
        out["policy"] = {"version": self.policy_version}
        out["columns"] = [d.to_dict() for d in self.columns]
        out["denied"] = self.denied
        out["bulk"] = self.bulk
        out["probing"] = [d.to_dict() for d in self.probing]
        return out


def _stricter_label(a: str | None, b: str) -> str:
    if a is None:
        return b
    rank = {"deny": (9, 9)}
    ka = rank.get(a) or method_strictness(a)
    kb = rank.get(b) or method_strictness(b)
    return b if kb > ka else a


def _get(obj: Mapping[str, Any], dotted: str) -> Any:
    """A field by nested or dotted key (the contract accepts both)."""
    if dotted in obj:
        return obj[dotted]
    cur: Any = obj
    for part in dotted.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return None
        cur = cur[part]
    return cur


class MaskingEngine:
    """Policy + keyring + classifier → decisions, cached; and the maskers (module doc).

    ``classify(instance, db, "table.column")`` returns a :class:`Resource` with the column's
    entity / category / level, or ``None`` for an unknown column; without one, column names are
    judged by :func:`hint_classifier`. Its answers are cached with the decisions: call
    :meth:`clear` when the catalogue learns something. ``keyring`` defaults to an ephemeral
    random key (pseudonyms then change at every restart).
    """

    def __init__(
        self,
        policy: Policy | None = None,
        keyring: Keyring | None = None,
        classify: Classify | None = None,
        *,
        scanner: Any = None,
        analyzer: Any = None,
        cache_size: int = 10_000,
    ):
        self._policy = policy if policy is not None else default_policy()
        self.keyring = keyring if keyring is not None else Keyring.ephemeral()
        self.classify = classify if classify is not None else hint_classifier(scanner)
        self._scanner = scanner
        self._analyzer = analyzer
        self.cache_size = cache_size
        self.hits = 0
        self.misses = 0
        self._cache: OrderedDict[tuple, StatementDecision] = OrderedDict()
        self._resources: dict[tuple[str | None, str | None, str], Resource] = {}
        self._memo: dict[tuple, Decision] = {}

    # -- configuration ------------------------------------------------------------------------

    @property
    def policy(self) -> Policy:
        return self._policy

    @policy.setter
    def policy(self, policy: Policy) -> None:
        self._policy = policy
        self.clear()

    def clear(self) -> None:
        """Forget cached decisions and classifications (after a catalogue update)."""
        self._cache.clear()
        self._resources.clear()
        self._memo.clear()

    @property
    def scanner(self) -> Any:
        if self._scanner is None:
            from detectors.sensitive.scanner import default_scanner

            self._scanner = default_scanner()
        return self._scanner

    @property
    def analyzer(self) -> Any:
        if self._analyzer is None:
            from detectors.sql.analyzer import SqlAnalyzer

            self._analyzer = SqlAnalyzer()
        return self._analyzer

    # -- columns ------------------------------------------------------------------------------

    def resource_for(self, instance: str | None, db: str | None, column: str) -> Resource:
        """The classified resource of ``table.column`` (cached; unknown → unclassified)."""
        key = (instance, db, column)
        r = self._resources.get(key)
        if r is not None:
            return r
        table, _, name = column.rpartition(".")
        table_or_none = table if table not in ("", "?") else None
        try:
            found = self.classify(instance, db, column)
        except Exception:  # noqa: BLE001 — a broken catalogue must not unmask: treat as sensitive
            found = Resource(instance, db, table_or_none, name, None, None, "general-4")
        if found is None:
            r = Resource(instance, db, table_or_none, name)
        else:
            r = self._complete(
                Resource(
                    found.instance or instance,
                    found.db or db,
                    found.table or table_or_none,
                    found.column or name,
                    found.entity,
                    found.category,
                    found.level,
                )
            )
        if len(self._resources) >= _MAX_MEMO:
            self._resources.clear()
        self._resources[key] = r
        return r

    def _complete(self, r: Resource) -> Resource:
        """Fill category and level from the taxonomy when only the entity is known."""
        if r.entity is not None and (r.level is None or r.category is None):
            g = self.scanner.taxonomy.grade(r.entity)
            return replace(r, category=r.category or g.category, level=r.level or g.gb_43697)
        return r

    def decide(
        self, subject: Subject, resource: Resource, at: Any = None, *, bulk: bool = False
    ) -> Decision:
        """The decision for one column (``at``: when; default now)."""
        return self._policy.evaluate(
            subject, self._complete(resource), at, bulk=bulk, key_id=self.keyring.current
        )

    def explain(
        self, subject: Subject, resource: Resource, at: Any = None, *, bulk: bool = False
    ) -> Explanation:
        """Which rule decided and why, with every rule considered (``parasol policy explain``)."""
        return self._policy.explain(
            subject, self._complete(resource), at, bulk=bulk, key_id=self.keyring.current
        )

    # -- statements ---------------------------------------------------------------------------

    def decide_statement(
        self,
        subject: Subject,
        sql_info: Any,
        instance: str | None = None,
        db: str | None = None,
        at: Any = None,
    ) -> StatementDecision:
        """Decisions for every output column of a statement (module doc), cached by subject,
        statement structure, place, policy, key, and the state of the policy's time windows."""
        window = self._policy.window_state(at) if self._policy.time_rules else ()
        key = (
            subject,
            instance,
            db,
            sql_info.fingerprint,
            sql_info.dialect,
            sql_info.selected_columns,
            sql_info.columns_filtered,
            sql_info.operation,
            sql_info.has_where,
            sql_info.has_limit,
            bool(sql_info.tables_read),
            self._policy.version,
            self._policy.digest,
            self.keyring.current,
            window,
        )
        sd = self._cache.get(key)
        if sd is not None:
            self.hits += 1
            self._cache.move_to_end(key)
            return sd
        self.misses += 1
        sd = self._statement(subject, sql_info, instance, db, at, key)
        self._cache[key] = sd
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return sd

    def _statement(
        self, subject: Subject, info: Any, instance: str | None, db: str | None, at: Any, key: tuple
    ) -> StatementDecision:
        t = as_datetime(at)
        bulk = is_bulk(info)
        kid = self.keyring.current
        policy = self._policy
        columns: list[Decision] = []
        stars: list[str] = []
        for name, bases in info.selected_columns:
            decisions = []
            for base in sorted(bases):
                if base.endswith(".*"):
                    stars.append(base[:-2])
                    continue
                r = self.resource_for(instance, db, base)
                decisions.append(policy.evaluate(subject, r, t, bulk=bulk, key_id=kid, name=name))
            if not decisions:
                table = next((b[:-2] for b in sorted(bases) if b.endswith(".*")), None)
                r = Resource(instance, db, table, name)
                columns.append(policy.evaluate(subject, r, t, bulk=bulk, key_id=kid, name=name))
                continue
            strict = max(decisions, key=lambda d: (strictness(d), _sensitivity(d)))
            sensitive = max(decisions, key=lambda d: (_sensitivity(d), strictness(d)))
            if sensitive is not strict:
                strict = replace(
                    strict,
                    table=sensitive.table,
                    column=sensitive.column,
                    classification=sensitive.classification,
                    reason=f"{strict.reason}; strictest of {len(decisions)} base columns, "
                    f"from {strict.table or '?'}.{strict.column}",
                )
            columns.append(strict)
        probing = []
        for base in sorted(info.columns_filtered):
            if base.endswith(".*"):
                continue
            r = self.resource_for(instance, db, base)
            if r.classified:
                probing.append(policy.evaluate(subject, r, t, bulk=bulk, key_id=kid, name=base))
        digest = hashlib.blake2b(
            repr(key).encode("utf-8", "surrogatepass"), digest_size=8
        ).hexdigest()
        return StatementDecision(
            columns=tuple(columns),
            probing=tuple(probing),
            denied=any(d.action == "deny" for d in columns),
            bulk=bulk,
            policy_version=policy.version,
            cache_key=digest,
            subject=subject,
            instance=instance,
            db=db,
            tables=tuple(sorted(info.tables_read)),
            star_tables=tuple(dict.fromkeys(stars)),
            at=t,
        )

    def decide_columns(
        self,
        subject: Subject,
        columns: Iterable[tuple[str | None, str] | Mapping[str, Any]],
        instance: str | None = None,
        db: str | None = None,
        at: Any = None,
    ) -> StatementDecision:
        """Decisions for listed ``(table, column)`` pairs (a masking request without SQL)."""
        t = as_datetime(at)
        out = []
        for c in columns:
            table, col = (c.get("table"), c.get("column")) if isinstance(c, Mapping) else c
            r = self.resource_for(instance, db, f"{table or '?'}.{col}")
            out.append(self._policy.evaluate(subject, r, t, key_id=self.keyring.current, name=col))
        key = (
            subject,
            instance,
            db,
            tuple(d.name for d in out),
            self._policy.digest,
            self.keyring.current,
            self._policy.window_state(t),
        )
        return StatementDecision(
            columns=tuple(out),
            probing=(),
            denied=any(d.action == "deny" for d in out),
            bulk=False,
            policy_version=self._policy.version,
            cache_key=hashlib.blake2b(repr(key).encode(), digest_size=8).hexdigest(),
            subject=subject,
            instance=instance,
            db=db,
            at=t,
        )

    def decide_request(
        self, request: Mapping[str, Any], at: Any = None, risk_level: str | None = None
    ) -> dict[str, Any]:
        """A contract masking decision for a masking request (nested or dotted keys): SQL from
        ``db.statement`` or a ``columns`` list; the subject from ``user.*`` and ``purpose``, its
        current ``risk_level`` from the caller (the stream's risk table).

        >>> eng = MaskingEngine(keyring=Keyring({"k": b"k" * 16}))
        >>> d = eng.decide_request({"request_id": "r1", "user": {"name": "x", "roles": ["dba"]},
        ...     "db": {"system": "postgresql", "name": "crm",
        ...            "statement": "SELECT mobile FROM customers LIMIT 1"}})
        >>> d["request_id"], d["policy"]["version"] == eng.policy.version, d["columns"][0]["method"]
        ('r1', True, 'hash')
        """
        subject = Subject.from_event(request, risk_level=risk_level)
        instance, dbname = _get(request, "db.instance"), _get(request, "db.name")
        when = at if at is not None else request.get("@timestamp")
        statement = _get(request, "db.statement")
        if statement:
            info = self.analyzer.analyze(statement, _get(request, "db.system"))
            sd = self.decide_statement(subject, info, instance, dbname, when)
        else:
            sd = self.decide_columns(subject, request.get("columns") or (), instance, dbname, when)
        return sd.to_dict(request.get("request_id"))

    # -- masking ------------------------------------------------------------------------------

    def mask_value(self, decision: Decision, value: Any) -> Any:
        """One value as ``decision`` says (no scanning): allow → as is, deny → redacted."""
        if decision.action == "allow":
            return value
        if decision.action == "deny":
            return None if value is None else REDACTED
        return apply(
            decision.method or "redact",
            value,
            decision.params,
            entity=decision.entity,
            keyring=self.keyring,
            key_id=decision.key_id,
        )

    def _memo_put(self, key: tuple, d: Decision) -> Decision:
        if len(self._memo) >= _MAX_MEMO:
            self._memo.clear()
        self._memo[key] = d
        return d

    def _row_decision(self, sd: StatementDecision, name: str) -> Decision:
        d = sd.get(name)
        if d is not None:
            return d
        key = (sd.cache_key, "col", name)
        d = self._memo.get(key)
        if d is not None:
            return d
        # A row key the statement did not name: a column of SELECT *, or no SQL at all.
        candidates = [f"{t}.{name}" for t in sd.star_tables] or (
            [f"{sd.tables[0]}.{name}"] if len(sd.tables) == 1 else [f"?.{name}"]
        )
        resources = [self.resource_for(sd.instance, sd.db, c) for c in candidates]
        r = next((x for x in resources if x.classified), resources[0])
        subject = sd.subject or Subject("-")
        d = self._policy.evaluate(
            subject, r, sd.at, bulk=sd.bulk, key_id=self.keyring.current, name=name
        )
        return self._memo_put(key, d)

    def _entity_decision(
        self, sd: StatementDecision, table: str | None, column: str | None, entity: str
    ) -> Decision:
        key = (sd.cache_key, "entity", table, column, entity)
        d = self._memo.get(key)
        if d is None:
            g = self.scanner.taxonomy.grade(entity)
            r = Resource(sd.instance, sd.db, table, column, entity, g.category, g.gb_43697)
            subject = sd.subject or Subject("-")
            d = self._memo_put(
                key,
                self._policy.evaluate(
                    subject, r, sd.at, bulk=sd.bulk, key_id=self.keyring.current, name=column
                ),
            )
        return d

    def _scan_mask(
        self, sd: StatementDecision, table: str | None, column: str | None, value: Any
    ) -> tuple[Any, str | None]:
        """Mask the entities recognised in an allowed value, each as the policy says for it."""
        if value is None or isinstance(value, bool):
            return value, None
        if isinstance(value, Mapping):
            out, label = {}, None
            for k, v in value.items():
                out[k], m = self._scan_mask(sd, table, column, v)
                label = _stricter_label(label, m) if m else label
            return out, label
        if isinstance(value, (list, tuple)):
            items, label = [], None
            for v in value:
                nv, m = self._scan_mask(sd, table, column, v)
                items.append(nv)
                label = _stricter_label(label, m) if m else label
            return items, label
        if isinstance(value, (bytes, bytearray, memoryview)):
            value = bytes(value).decode("utf-8", "replace")
        if not isinstance(value, (str, int, float)):
            return value, None
        findings = self.scanner.scan_value(value, column)
        if not findings:
            return value, None
        text = value if isinstance(value, str) else str(value)
        label = None
        for f in sorted(findings, key=lambda f: f.start, reverse=True):
            d = self._entity_decision(sd, table, column, f.entity)
            if d.action == "allow":
                continue
            span = text[f.start : f.end]
            masked = self.mask_value(d, span)
            text = text[: f.start] + ("" if masked is None else str(masked)) + text[f.end :]
            label = _stricter_label(label, d.method if d.action == "mask" else "deny")
        if label is None:
            return value, None
        return text, label

    def _mask_cell(
        self, sd: StatementDecision, d: Decision, value: Any, scan: bool
    ) -> tuple[Any, str | None]:
        if d.action == "deny":
            return (None if value is None else REDACTED), "deny"
        if d.action == "mask":
            return self.mask_value(d, value), d.method
        if not scan:
            return value, None
        return self._scan_mask(sd, d.table, d.column, value)

    def mask_rows(
        self, statement_decision: StatementDecision, rows: Iterable[Any], *, scan: bool = True
    ) -> tuple[list[Any], dict[str, str]]:
        """Masked copies of result rows (``{output name: value}``) and ``{column: method}`` for
        the columns where something was masked (``deny`` for denied ones). Row keys the
        statement did not name are decided by their table (``SELECT *``) or their name; allowed
        values are scanned for recognised entities unless ``scan=False``. A row that is not a
        mapping is scanned value by value."""
        sd = statement_decision
        out: list[Any] = []
        summary: dict[str, str] = {}
        for row in rows:
            if isinstance(row, Mapping):
                new = {}
                for k, v in row.items():
                    name = str(k)
                    d = self._row_decision(sd, name)
                    new[k], method = self._mask_cell(sd, d, v, scan)
                    if method:
                        summary[name] = _stricter_label(summary.get(name), method)
                out.append(new)
            else:
                masked, method = self._scan_mask(sd, None, None, row)
                if method:
                    summary["*"] = _stricter_label(summary.get("*"), method)
                out.append(masked)
        return out, summary

    # -- event samples ------------------------------------------------------------------------

    def _sample_decision(
        self, subject: Subject, db: Mapping[str, Any], at: Any
    ) -> StatementDecision:
        statement = db.get("statement")
        if isinstance(statement, str) and statement.strip():
            info = self.analyzer.analyze(statement, db.get("system"))
            return self.decide_statement(subject, info, db.get("instance"), db.get("name"), at)
        key = (
            subject,
            db.get("instance"),
            db.get("name"),
            self._policy.digest,
            self.keyring.current,
            self._policy.window_state(at),
            "no-sql",
        )
        return StatementDecision(
            (),
            (),
            False,
            False,
            self._policy.version,
            hashlib.blake2b(repr(key).encode(), digest_size=8).hexdigest(),
            subject=subject,
            instance=db.get("instance"),
            db=db.get("name"),
            at=as_datetime(at),
        )

    def _mask_json(
        self,
        sd: StatementDecision,
        route: str,
        node: Any,
        path: str,
        fields: dict[str, str],
        decisions: dict[str, Decision],
    ) -> Any:
        if isinstance(node, Mapping):
            return {
                k: self._mask_json(
                    sd, route, v, f"{path}.{k}" if path else str(k), fields, decisions
                )
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [self._mask_json(sd, route, v, path, fields, decisions) for v in node]
        if node is None:
            return None
        if not path:  # a bare scalar body
            masked, method = self._scan_mask(sd, route, None, node)
        else:
            d = decisions.get(path)
            if d is None:
                r = self.resource_for(sd.instance, sd.db, f"{route}.{path}")
                d = decisions[path] = self._policy.evaluate(
                    sd.subject or Subject("-"), r, sd.at, key_id=self.keyring.current, name=path
                )
            masked, method = self._mask_cell(sd, d, node, True)
        if method:
            k = f"http.response.sample.{path}" if path else "http.response.sample"
            fields[k] = _stricter_label(fields.get(k), method)
        return masked

    def _mask_query(
        self,
        sd: StatementDecision,
        route: str,
        query: str,
        fields: dict[str, str],
        decisions: dict[str, Decision],
    ) -> str:
        """``url.query`` parameter by parameter, like JSON leaves named by the parameter
        (``mobile=138…`` is decided as the route's ``mobile``), values percent-decoded first so
        that ``a%40b.com`` is seen as an e-mail address."""
        parts = []
        label = None
        for part in query.split("&"):
            name, eq, raw = part.partition("=")
            if not eq or not raw:
                parts.append(part)
                continue
            value = unquote_plus(raw)
            key = unquote_plus(name)
            d = decisions.get(key)
            if d is None:
                r = self.resource_for(sd.instance, sd.db, f"{route}.{key}")
                d = decisions[key] = self._policy.evaluate(
                    sd.subject or Subject("-"), r, sd.at, key_id=self.keyring.current, name=key
                )
            masked, method = self._mask_cell(sd, d, value, True)
            if method:
                label = _stricter_label(label, method)
                raw = quote_plus("" if masked is None else str(masked), safe="*:/")
            parts.append(f"{name}={raw}")
        if label:
            fields["url.query"] = _stricter_label(fields.get("url.query"), label)
        return "&".join(parts)

    def mask_document_samples(self, event: dict, subject: Subject, at: Any = None) -> dict:
        """Mask the samples of a normalised event as ``subject`` may see them, in place.

        ``db.result_sample`` rows are decided through the statement's lineage (``db.statement``
        analysed here, cached) and the classifier, ``db.parameters`` and unexpected shapes by
        scanning; ``http.response.sample`` leaves by their JSON path under the route
        (``/customers/{id}.mobile``) and by scanning; ``url.query`` parameters likewise (by
        name under the route). ``db.statement`` is left alone: the understand stage cuts the
        recognised literals out of it. Adds ``parasol.masking``:
        ``{"policy_version", "fields": {"db.result_sample.mobile": "partial", ...}}``.

        >>> eng = MaskingEngine(keyring=Keyring({"k": b"k" * 16}))
        >>> e = eng.mask_document_samples({"db": {"statement": "select phone, note from t",
        ...     "result_sample": [{"phone": "13812345678", "note": "身份证110101199003074514"}]}},
        ...     Subject("soc", ["soc_analyst"]))
        >>> e["db"]["result_sample"][0]["phone"], "110101199003074514" in str(e)
        ('138****5678', False)
        >>> sorted(e["parasol"]["masking"]["fields"].items())
        [('db.result_sample.note', 'hash'), ('db.result_sample.phone', 'partial')]
        """
        when = at if at is not None else event.get("@timestamp")
        fields: dict[str, str] = {}
        db = event.get("db")
        if isinstance(db, dict):
            sample = db.get("result_sample")
            params = db.get("parameters")
            if sample is not None or params is not None:
                sd = self._sample_decision(subject, db, when)
                if sample is not None:
                    rows = sample if isinstance(sample, list) else [sample]
                    masked, summary = self.mask_rows(sd, rows)
                    db["result_sample"] = masked if isinstance(sample, list) else masked[0]
                    for k, m in summary.items():
                        fields[f"db.result_sample.{k}"] = m
                if params is not None:
                    db["parameters"], m = self._scan_mask(sd, None, None, params)
                    if m:
                        fields["db.parameters"] = m
        http = event.get("http")
        url = event.get("url")
        response = http.get("response") if isinstance(http, dict) else None
        sample = response.get("sample") if isinstance(response, dict) else None
        query = url.get("query") if isinstance(url, dict) else None
        if sample is not None or (isinstance(query, str) and query):
            path = str(url.get("path") or "") if isinstance(url, dict) else ""
            route = (http.get("route") if isinstance(http, dict) else None) or (
                _ROUTE_ID.sub("/{id}", path) or "/"
            )
            svc = event.get("service")
            service = svc.get("name") if isinstance(svc, dict) else None
            key = (
                subject,
                service,
                self._policy.digest,
                self.keyring.current,
                self._policy.window_state(when),
                "api",
            )
            sd = StatementDecision(
                (),
                (),
                False,
                False,
                self._policy.version,
                hashlib.blake2b(repr(key).encode(), digest_size=8).hexdigest(),
                subject=subject,
                instance=service,
                db="api",
                at=as_datetime(when),
            )
            decisions: dict[str, Decision] = {}
            if sample is not None:
                response["sample"] = self._mask_json(sd, route, sample, "", fields, decisions)
            if isinstance(query, str) and query:
                url["query"] = self._mask_query(sd, route, query, fields, decisions)
        p = event.setdefault("parasol", {})
        p["masking"] = {"policy_version": self._policy.version, "fields": fields}
        return event

    # -- reveal -------------------------------------------------------------------------------

    def reveal(
        self,
        token: Any,
        subject: Subject,
        keyring: Keyring | None = None,
        *,
        decision: Decision | None = None,
        key_id: str | None = None,
        entity: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> str:
        """The plaintext of a token, only for a subject the policy's ``reveal`` allows;
        otherwise :class:`NotAuthorized`. ``decision`` (the one that made the token) supplies
        the key id, entity and parameters; hashes and other methods cannot be revealed."""
        if not self._policy.may_reveal(subject):
            raise NotAuthorized(
                f"user {subject.user!r} (roles {list(subject.roles)}) may not reveal tokens "
                f"under policy {self._policy.version}"
            )
        if decision is not None:
            if decision.action != "mask" or decision.method != "tokenize":
                raise ValueError(f"a {decision.method or decision.action} value cannot be revealed")
            key_id = key_id or decision.key_id
            entity = entity or decision.entity
            params = params if params is not None else decision.params
        p = {k: v for k, v in (params or {}).items() if k in ("format", "keep_bin", "marker")}
        return detokenize(token, keyring or self.keyring, key_id, entity=entity, **p)
