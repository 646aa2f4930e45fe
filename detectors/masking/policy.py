"""Masking policy as data: a versioned YAML file, validated on load, evaluated per column.

File format (``data/default_policy.yaml`` is a complete example)::

    version: "2026.11-1"           # required: decisions and caches carry it
    timezone: Asia/Shanghai        # of time windows (default UTC)
    defaults:
      unclassified: allow          # data no classifier recognised
      classified: {action: mask, method: redact}   # classified data no rule matched
    reveal: {roles: [auditor]}     # who may turn a token back into plaintext
    deny_bulk: {levels: [core, important]}         # bulk reads of these levels are denied
    risk:                          # stricter when the subject's risk rises
      - id: high-risk
        when: {risk_level: ">= high"}
        then: {mask_levels: ">= general-3", method: redact}
    rules:
      - id: support-phones
        description: support calls customers back but needs only to recognise the number
        subject: {roles: [support]}            # users, roles, groups: globs, "!x" excludes
        resource: {db: crm, entity: [CN_MOBILE, PHONE_NUMBER]}
        # resource keys: instance, db, table, column, entity, category (globs), level
        # (a level, a list, or a comparison such as ">= general-3")
        purpose: [customer_service]            # globs; a rule with a purpose needs one
        environment: [prod]
        time: {weekdays: [mon-fri], hours: "08:00-20:00", outside: false, timezone: UTC}
        action: mask                           # allow | mask | deny
        method: partial                        # partial generalize tokenize hash nullify redact
        params: {keep_first: 3, keep_last: 4}

Precedence
    Among the rules that match, the strongest action wins: **deny > mask > allow** (a rule can
    never grant what another rule masks or denies, so grant plaintext by *not* masking, e.g.
    through ``defaults``). Among rules of that action the **most specific** wins; specificity is
    ``(number of constrained fields, number of them constrained exactly)`` compared in that
    order, where the fields are users, roles, groups, instance, db, table, column, entity,
    category, level, purpose, environment and time, and "exactly" means patterns without glob
    characters or exclusions (a single ``level`` for levels; a time window is never exact).
    Remaining ties go to the stricter masking method, then to the rule written first. No rule
    matching: ``defaults.unclassified`` for unclassified data, ``defaults.classified`` otherwise.
    Then the ``risk`` section may only make the decision stricter (mask a level, deny a level,
    deny bulk reads of a level), and ``deny_bulk`` denies the listed levels in bulk reads.

Matching
    Globs (``fnmatch``) are case-insensitive. A list matches when any pattern matches and no
    ``!pattern`` does; for roles and groups, when any of the subject's roles matches and none of
    them is excluded. ``table`` patterns match the table as written (``crm.customers``) or its
    last part (``customers``). A rule constraining a field the request does not have (a purpose
    when none is given, a level for unclassified data) does not match. Time windows use the
    weekday and time of the local time; ``hours: "22:00-06:00"`` wraps midnight;
    ``outside: true`` matches when the time is *not* in the window.

Errors
    :func:`parse_policy` collects every problem (YAML syntax, unknown keys, bad values, duplicate
    ids or keys, unknown methods or parameters, unknown entities or categories) with its line and
    raises one :class:`PolicyError`.

>>> p = parse_policy('''
... version: 1
... rules:
...   - id: hr-names
...     subject: {roles: [hr]}
...     resource: {entity: PERSON_NAME}
...     action: allow
... ''')
>>> from detectors.masking.model import Subject, Resource
>>> name = Resource("hr1", "hr", "employees", "name", "PERSON_NAME", "personal.basic", "general-2")
>>> p.evaluate(Subject("bob", ["hr"]), name).action, p.evaluate(Subject("eve", ["x"]), name).method
('allow', 'redact')
>>> try:
...     parse_policy("version: 1\\nrules:\\n  - id: x\\n    action: maybe\\n    colour: red\\n")
... except PolicyError as e:
...     print(e.errors)
[(4, "action 'maybe' is not one of allow, mask, deny"), (5, "unknown key 'colour' in rule x")]
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import hashlib
import re
import zoneinfo
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from detectors.masking.methods import METHODS, method_strictness
from detectors.masking.model import (
    ACTION_RANK,
    ACTIONS,
    RISK_LEVELS,
    Decision,
    Resource,
    Subject,
    as_datetime,
)
from detectors.sensitive.taxonomy import GB_LEVELS

__all__ = [
    "DEFAULT_POLICY_PATH",
    "Explanation",
    "LevelSet",
    "Outcome",
    "Patterns",
    "Policy",
    "PolicyError",
    "RiskRule",
    "Rule",
    "TimeWindow",
    "Trace",
    "default_policy",
    "load_policy",
    "parse_policy",
]

DEFAULT_POLICY_PATH = Path(__file__).resolve().parent / "data" / "default_policy.yaml"

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_ID_RX = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]*")
_GLOB_CHARS = frozenset("*?[")
_WEEKDAYS = {
    name: i
    for i, names in enumerate(
        (
            ("mon", "monday"),
            ("tue", "tuesday"),
            ("wed", "wednesday"),
            ("thu", "thursday"),
            ("fri", "friday"),
            ("sat", "saturday"),
            ("sun", "sunday"),
        )
    )
    for name in names
}
_HOURS_RX = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")
_LEVEL_RX = re.compile(r"\s*(>=|<=|==|=|>|<)?\s*([A-Za-z0-9_\-]+)\s*")

_TOP_KEYS = (
    "version",
    "description",
    "timezone",
    "defaults",
    "reveal",
    "deny_bulk",
    "risk",
    "rules",
)
_RULE_KEYS = (
    "id",
    "description",
    "subject",
    "resource",
    "purpose",
    "environment",
    "time",
    "action",
    "method",
    "params",
)
_SUBJECT_KEYS = ("users", "roles", "groups")
_RESOURCE_KEYS = ("instance", "db", "table", "column", "entity", "category", "level")
_TIME_KEYS = ("weekdays", "hours", "timezone", "outside")
_OUTCOME_KEYS = ("action", "method", "params")
_RISK_KEYS = ("id", "description", "when", "then")
_RISK_WHEN_KEYS = ("risk_level", "users", "roles", "groups")
_RISK_THEN_KEYS = ("mask_levels", "method", "params", "deny_levels", "deny_bulk")


class PolicyError(ValueError):
    """A policy that cannot be used; ``errors`` lists every problem as ``(line, message)``
    (line 1-based, 0 when the problem has no place in the file)."""

    def __init__(self, errors: list[tuple[int, str]], source: str = "<policy>"):
        self.errors = sorted(errors, key=lambda e: e[0])
        self.source = source
        lines = "\n  ".join(f"{source}:{line}: {msg}" for line, msg in self.errors)
        super().__init__(f"{len(self.errors)} problem(s) in masking policy:\n  {lines}")


# ---------------------------------------------------------------------------------------------
# YAML with line numbers: compose the node graph, keep each key's and item's start line
# ---------------------------------------------------------------------------------------------


class _Map(dict):
    line: int
    lines: dict[str, int]


class _Seq(list):
    line: int
    lines: list[int]


def _build(node: yaml.Node, errors: list[tuple[int, str]], constructor: Any) -> Any:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        m = _Map()
        m.line, m.lines = line, {}
        for knode, vnode in node.value:
            key = _build(knode, errors, constructor)
            kline = knode.start_mark.line + 1
            if isinstance(key, (dict, list)) or key is None:
                errors.append((kline, "mapping keys must be plain names"))
                continue
            key = str(key)
            if key in m:
                errors.append((kline, f"duplicate key {key!r}"))
                continue
            m[key] = _build(vnode, errors, constructor)
            m.lines[key] = kline
        return m
    if isinstance(node, yaml.SequenceNode):
        s = _Seq()
        s.line, s.lines = line, []
        for item in node.value:
            s.append(_build(item, errors, constructor))
            s.lines.append(item.start_mark.line + 1)
        return s
    try:
        return constructor.construct_object(node, deep=True)
    except yaml.YAMLError as e:
        errors.append((line, f"cannot read value: {getattr(e, 'problem', None) or e}"))
        return None


def _compose(text: str, errors: list[tuple[int, str]]) -> Any:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        context = getattr(e, "context", None)
        msg = f"YAML syntax: {problem}" + (f" ({context})" if context else "")
        errors.append((mark.line + 1 if mark is not None else 0, msg))
        return None
    if node is None:
        errors.append((1, "the policy file is empty"))
        return None
    return _build(node, errors, yaml.constructor.SafeConstructor())


# ---------------------------------------------------------------------------------------------
# Compiled matchers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Patterns:
    """Case-insensitive globs; ``!pattern`` excludes. ``exact``: plain names only."""

    include: tuple[str, ...]
    exclude: tuple[str, ...]
    _inc: re.Pattern[str] | None = field(repr=False, compare=False, default=None)
    _exc: re.Pattern[str] | None = field(repr=False, compare=False, default=None)

    @classmethod
    def of(cls, patterns: Iterable[str]) -> Patterns:
        patterns = list(patterns)
        inc = tuple(p for p in patterns if not p.startswith("!"))
        exc = tuple(p[1:] for p in patterns if p.startswith("!"))

        def rx(ps: tuple[str, ...]) -> re.Pattern[str] | None:
            if not ps:
                return None
            return re.compile("|".join(f"(?:{fnmatch.translate(p.casefold())})" for p in ps))

        return cls(inc, exc, rx(inc), rx(exc))

    @property
    def exact(self) -> bool:
        return not self.exclude and all(not (_GLOB_CHARS & set(p)) for p in self.include)

    @property
    def text(self) -> str:
        return ", ".join([*self.include, *(f"!{p}" for p in self.exclude)])

    def match(self, value: str | None) -> bool:
        if value is None:
            return self._inc is None
        v = value.casefold()
        if self._exc is not None and self._exc.match(v):
            return False
        return self._inc is None or self._inc.match(v) is not None

    def match_any(self, values: Iterable[str]) -> bool:
        vs = [v.casefold() for v in values]
        if self._exc is not None and any(self._exc.match(v) for v in vs):
            return False
        return self._inc is None or any(self._inc.match(v) for v in vs)


@dataclass(frozen=True)
class LevelSet:
    """A set of GB/T 43697 (or risk) levels, from a level, a list or a comparison."""

    levels: frozenset[str]
    text: str
    exact: bool

    def __contains__(self, level: object) -> bool:
        return level in self.levels


@dataclass(frozen=True)
class TimeWindow:
    """Weekdays and hour ranges in a time zone; ``outside`` inverts."""

    weekdays: frozenset[int] | None
    hours: tuple[tuple[int, int], ...] | None  #: minutes since midnight, [start, end)
    tz: _dt.tzinfo
    outside: bool
    text: str

    def contains(self, at: _dt.datetime) -> bool:
        local = at.astimezone(self.tz)
        inside = self.weekdays is None or local.weekday() in self.weekdays
        if inside and self.hours is not None:
            m = local.hour * 60 + local.minute
            inside = any((s <= m < e) if s <= e else (m >= s or m < e) for s, e in self.hours)
        return inside != self.outside


@dataclass(frozen=True)
class Outcome:
    """An action with its masking method and parameters."""

    action: str
    method: str | None = None
    params: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True)
class Rule:
    """One policy rule (see the module doc); ``None`` fields are unconstrained."""

    id: str
    line: int
    index: int
    action: str
    method: str | None = None
    params: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    description: str = ""
    users: Patterns | None = None
    roles: Patterns | None = None
    groups: Patterns | None = None
    instance: Patterns | None = None
    db: Patterns | None = None
    table: Patterns | None = None
    column: Patterns | None = None
    entity: Patterns | None = None
    category: Patterns | None = None
    level: LevelSet | None = None
    purpose: Patterns | None = None
    environment: Patterns | None = None
    time: TimeWindow | None = None
    lines: Mapping[str, int] = field(
        default_factory=lambda: _EMPTY
    )  #: line of each field, for explanations

    FIELDS = (
        "users",
        "roles",
        "groups",
        "instance",
        "db",
        "table",
        "column",
        "entity",
        "category",
        "level",
        "purpose",
        "environment",
        "time",
    )

    @cached_property
    def specificity(self) -> tuple[int, int]:
        constrained = exact = 0
        for name in self.FIELDS:
            f = getattr(self, name)
            if f is None:
                continue
            constrained += 1
            if isinstance(f, (Patterns, LevelSet)) and f.exact:
                exact += 1
        return constrained, exact

    def reject(self, subject: Subject, resource: Resource, at: _dt.datetime | None) -> str | None:
        """The first field that does not match, or ``None`` when the rule applies. Cheap on
        purpose (a constant string): explanations describe the field afterwards."""
        return self.reject_subject(subject) or self.reject_resource(resource, at)

    def reject_subject(self, subject: Subject) -> str | None:
        if self.users is not None and not self.users.match(subject.user):
            return "users"
        if self.roles is not None and not self.roles.match_any(subject.roles):
            return "roles"
        if self.groups is not None and not self.groups.match_any(subject.groups):
            return "groups"
        if self.purpose is not None and not self.purpose.match(subject.purpose):
            return "purpose"
        if self.environment is not None and not self.environment.match(subject.environment):
            return "environment"
        return None

    def reject_resource(self, resource: Resource, at: _dt.datetime | None) -> str | None:
        if self.level is not None and resource.level not in self.level:
            return "level"
        if self.category is not None and not self.category.match(resource.category):
            return "category"
        if self.entity is not None and not self.entity.match(resource.entity):
            return "entity"
        if self.column is not None and not self.column.match(resource.column):
            return "column"
        if self.table is not None:
            t = resource.table
            if t is None:
                if not self.table.match(None):
                    return "table"
            elif not self.table.match_any((t, t.rsplit(".", 1)[-1]) if "." in t else (t,)):
                return "table"
        if self.db is not None and not self.db.match(resource.db):
            return "db"
        if self.instance is not None and not self.instance.match(resource.instance):
            return "instance"
        if self.time is not None and not self.time.contains(as_datetime(at)):
            return "time"
        return None

    def describe(self, fld: str, subject: Subject, resource: Resource, at: Any) -> str:
        """Why ``fld`` did not match, in words."""
        want = getattr(self, fld)
        text = want.text if want is not None else "?"
        have: Any
        if fld in ("users",):
            have = subject.user
        elif fld in ("roles", "groups"):
            have = list(getattr(subject, fld)) or "none"
        elif fld in ("purpose", "environment"):
            have = getattr(subject, fld) or "none"
        elif fld == "time":
            have = as_datetime(at).astimezone(want.tz).strftime("%a %H:%M %Z")
        else:
            have = getattr(resource, fld) or (
                "unclassified" if fld in ("level", "entity", "category") else "none"
            )
        return f"{fld} {have} does not match {text}"

    def matched_text(self) -> str:
        parts = [
            f"{n} {getattr(self, n).text}" for n in self.FIELDS if getattr(self, n) is not None
        ]
        return ", ".join(parts) if parts else "everything"


@dataclass(frozen=True)
class RiskRule:
    """Stricter decisions for subjects whose risk level is in ``risk``."""

    id: str
    line: int
    risk: LevelSet
    users: Patterns | None = None
    roles: Patterns | None = None
    groups: Patterns | None = None
    mask_levels: LevelSet | None = None
    method: str | None = None
    params: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    deny_levels: LevelSet | None = None
    deny_bulk: LevelSet | None = None
    description: str = ""

    def applies(self, subject: Subject) -> bool:
        if subject.risk_level is None or subject.risk_level not in self.risk:
            return False
        if self.users is not None and not self.users.match(subject.user):
            return False
        if self.roles is not None and not self.roles.match_any(subject.roles):
            return False
        return self.groups is None or self.groups.match_any(subject.groups)


@dataclass(frozen=True)
class Trace:
    """How one rule fared in an evaluation."""

    rule_id: str
    line: int
    status: str  #: rejected | matched | overridden | won | applied
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "line": self.line,
            "status": self.status,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Explanation:
    """The decision, the rule that made it and every rule considered (for ``parasol policy
    explain``)."""

    decision: Decision
    traces: tuple[Trace, ...]
    policy_version: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy_version": self.policy_version,
            "decision": self.decision.to_dict(),
            "rules": [t.to_dict() for t in self.traces],
        }

    def text(self) -> str:
        d = self.decision
        head = f"{d.action}" + (f" ({d.method})" if d.method else "")
        lines = [f"decision: {head} by {d.rule_id}", f"why: {d.reason}", "rules considered:"]
        for t in self.traces:
            lines.append(f"  [{t.status:>10}] {t.rule_id} (line {t.line}): {t.reason}")
        return "\n".join(lines)

    __str__ = text


# ---------------------------------------------------------------------------------------------
# The policy
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """A validated policy. Build with :func:`parse_policy` / :func:`load_policy`."""

    version: str
    digest: str
    rules: tuple[Rule, ...]
    unclassified: Outcome
    classified: Outcome
    risk: tuple[RiskRule, ...] = ()
    deny_bulk: LevelSet | None = None
    reveal_roles: Patterns | None = None
    reveal_users: Patterns | None = None
    timezone: str = "UTC"
    description: str = ""
    source: str = "<string>"

    @cached_property
    def time_rules(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.time is not None)

    def window_state(self, at: Any) -> tuple[bool, ...]:
        """Which time windows contain ``at``: decisions are equal for equal states (the
        decision cache's time bucket, exact to the minute unlike an hour bucket)."""
        rules = self.time_rules
        if not rules:
            return ()
        t = as_datetime(at)
        return tuple(r.time.contains(t) for r in rules)  # type: ignore[union-attr]

    def may_reveal(self, subject: Subject) -> bool:
        if self.reveal_roles is None and self.reveal_users is None:
            return False
        if self.reveal_users is not None and self.reveal_users.match(subject.user):
            return True
        return (
            self.reveal_roles is not None
            and bool(subject.roles)
            and self.reveal_roles.match_any(subject.roles)
        )

    # -- evaluation -----------------------------------------------------------------------------

    def _subject_rules(self, subject: Subject) -> tuple[Rule, ...]:
        """The rules whose subject fields (users, roles, groups, purpose, environment) match,
        memoised per subject: a statement asks once per column, a stream has few subjects."""
        memo: dict[Subject, tuple[Rule, ...]] = self.__dict__.setdefault("_by_subject", {})
        rules = memo.get(subject)
        if rules is None:
            if len(memo) >= 10_000:
                memo.clear()
            rules = memo[subject] = tuple(
                r for r in self.rules if r.reject_subject(subject) is None
            )
        return rules

    def evaluate(
        self,
        subject: Subject,
        resource: Resource,
        at: Any = None,
        *,
        bulk: bool = False,
        key_id: str | None = None,
        name: str | None = None,
    ) -> Decision:
        """The decision for one column (see "Precedence" in the module doc). ``key_id``: the
        keyring's current id, recorded for keyed methods; ``name``: the output name."""
        return self._evaluate(subject, resource, at, bulk, key_id, name, None)

    def explain(
        self,
        subject: Subject,
        resource: Resource,
        at: Any = None,
        *,
        bulk: bool = False,
        key_id: str | None = None,
    ) -> Explanation:
        """:meth:`evaluate` with the fate of every rule (matched, rejected and why, overridden)."""
        traces: list[Trace] = []
        d = self._evaluate(subject, resource, at, bulk, key_id, None, traces)
        return Explanation(d, tuple(traces), self.version)

    def _evaluate(
        self,
        subject: Subject,
        resource: Resource,
        at: Any,
        bulk: bool,
        key_id: str | None,
        name: str | None,
        traces: list[Trace] | None,
    ) -> Decision:
        if self.time_rules and not isinstance(at, _dt.datetime):
            at = as_datetime(at)  # once, not per time rule
        matched: list[Rule] = []
        if traces is None:
            for rule in self._subject_rules(subject):
                if rule.reject_resource(resource, at) is None:
                    matched.append(rule)
        else:
            for rule in self.rules:
                why = rule.reject(subject, resource, at)
                if why is None:
                    matched.append(rule)
                else:
                    traces.append(
                        Trace(
                            rule.id,
                            rule.line,
                            "rejected",
                            rule.describe(why, subject, resource, at),
                        )
                    )
        if matched:
            top = max(ACTION_RANK[r.action] for r in matched)
            best = max(
                (r for r in matched if ACTION_RANK[r.action] == top),
                key=lambda r: (
                    r.specificity,
                    method_strictness(r.method) if r.action == "mask" else (0, 0),
                    -r.index,
                ),
            )
            outcome = Outcome(best.action, best.method, best.params)
            rule_id = best.id
            reason = f"rule {best.id} (line {best.line}): {best.matched_text()}"
            if len(matched) > 1:
                reason += (
                    f"; chosen among {len(matched)} matching rules "
                    f"(deny > mask > allow, then specificity {best.specificity})"
                )
            if traces is not None:
                for r in matched:
                    if r is best:
                        status, why = (
                            "won",
                            f"{r.action} {r.method or ''}".strip()
                            + f", specificity {r.specificity}",
                        )
                    elif ACTION_RANK[r.action] < top:
                        status, why = "overridden", f"{r.action} is weaker than {best.action}"
                    else:
                        status, why = (
                            "overridden",
                            (
                                f"specificity {r.specificity} vs {best.specificity}"
                                + (
                                    f", method {r.method} vs {best.method}"
                                    if r.action == "mask"
                                    else ""
                                )
                            ),
                        )
                    traces.append(Trace(r.id, r.line, status, why))
        elif resource.classified:
            outcome, rule_id = self.classified, "default:classified"
            reason = "no rule matched: the default for classified data"
        else:
            outcome, rule_id = self.unclassified, "default:unclassified"
            reason = "no rule matched: the default for unclassified data"
        action, method, params = outcome.action, outcome.method, outcome.params

        # Risk and bulk may only make the decision stricter.
        level = resource.level
        if level is not None and (subject.risk_level is not None or bulk):
            for rr in self.risk:
                if not rr.applies(subject):
                    continue
                applied = None
                if rr.deny_levels is not None and level in rr.deny_levels and action != "deny":
                    action, method, params = "deny", None, _EMPTY
                    applied = f"risk {subject.risk_level}: {level} denied"
                elif (
                    bulk and rr.deny_bulk is not None and level in rr.deny_bulk and action != "deny"
                ):
                    action, method, params = "deny", None, _EMPTY
                    applied = f"risk {subject.risk_level}: bulk read of {level} denied"
                elif (
                    rr.mask_levels is not None
                    and level in rr.mask_levels
                    and action != "deny"
                    and (
                        action == "allow"
                        or method_strictness(rr.method) > method_strictness(method)
                    )
                ):
                    action, method, params = "mask", rr.method, rr.params
                    applied = f"risk {subject.risk_level}: {level} masked with {rr.method}"
                if applied:
                    rule_id = f"risk:{rr.id}"
                    reason += f"; {applied} (risk rule {rr.id}, line {rr.line})"
                if traces is not None:
                    traces.append(
                        Trace(
                            f"risk:{rr.id}",
                            rr.line,
                            "applied" if applied else "matched",
                            applied or "no stricter outcome for this column",
                        )
                    )
            if bulk and self.deny_bulk is not None and level in self.deny_bulk and action != "deny":
                action, method, params, rule_id = "deny", None, _EMPTY, "deny_bulk"
                reason += f"; bulk read of {level} data denied (deny_bulk)"
                if traces is not None:
                    traces.append(Trace("deny_bulk", 0, "applied", f"bulk read of {level}"))
        kid = None
        if action == "mask" and method is not None and METHODS[method].keyed:
            kid = params.get("key_id") or key_id
        return Decision(
            resource.table,
            resource.column,
            action,
            method if action == "mask" else None,
            params if action == "mask" else _EMPTY,
            MappingProxyType({"category": resource.category, "level": level}),
            rule_id,
            reason,
            name if name is not None else resource.column,
            resource.entity,
            kid,
        )


# ---------------------------------------------------------------------------------------------
# Parsing and validation
# ---------------------------------------------------------------------------------------------


class _Checker:
    """Collects (line, message) pairs while turning the located YAML into models."""

    def __init__(
        self, known_entities: Collection[str] | None, known_categories: Collection[str] | None
    ):
        self.errors: list[tuple[int, str]] = []
        self.entities = known_entities
        self.categories = known_categories

    def err(self, line: int, msg: str) -> None:
        self.errors.append((line, msg))

    def mapping(self, value: Any, line: int, what: str, keys: tuple[str, ...]) -> _Map | None:
        if not isinstance(value, _Map):
            self.err(line, f"{what} must be a mapping")
            return None
        for k in value:
            if k not in keys:
                self.err(value.lines[k], f"unknown key {k!r} in {what}")
        return value

    def names(self, value: Any, line: int, what: str) -> list[tuple[str, int]] | None:
        """A string or a list of strings, each with its line."""
        if isinstance(value, str):
            items = [(value, line)]
        elif isinstance(value, _Seq):
            items = list(zip(value, value.lines))
        else:
            self.err(line, f"{what} must be a name or a list of names")
            return None
        if not items:
            self.err(line, f"{what} is empty")
            return None
        out, bad = [], False
        for v, ln in items:
            if isinstance(v, bool) or v is None or isinstance(v, (dict, list)):
                self.err(ln, f"{what}: {v!r} is not a name")
                bad = True
                continue
            v = str(v).strip()
            if not v or v == "!":
                self.err(ln, f"{what}: empty name")
                bad = True
                continue
            out.append((v, ln))
        return None if bad else out

    def patterns(
        self,
        value: Any,
        line: int,
        what: str,
        vocabulary: Collection[str] | None = None,
        vocabulary_name: str = "",
    ) -> Patterns | None:
        items = self.names(value, line, what)
        if items is None:
            return None
        if vocabulary is not None:
            for v, ln in items:
                name = v.lstrip("!")
                if not (_GLOB_CHARS & set(name)) and name not in vocabulary:
                    self.err(ln, f"{what}: unknown {vocabulary_name} {name!r}")
        return Patterns.of(v for v, _ in items)

    def levels(self, value: Any, line: int, what: str, scale: tuple[str, ...]) -> LevelSet | None:
        rank = {lv: i for i, lv in enumerate(scale)}
        if isinstance(value, _Seq):
            items = self.names(value, line, what)
            if items is None:
                return None
            bad = [(v, ln) for v, ln in items if v not in rank]
            for v, ln in bad:
                self.err(ln, f"{what}: {v!r} is not one of {', '.join(scale)}")
            if bad:
                return None
            vals = [v for v, _ in items]
            return LevelSet(frozenset(vals), ", ".join(vals), len(vals) == 1)
        if not isinstance(value, str):
            self.err(
                line,
                f"{what} must be a level, a list of levels or a comparison such as '>= {scale[2]}'",
            )
            return None
        m = _LEVEL_RX.fullmatch(value)
        if not m or m.group(2) not in rank:
            self.err(
                line,
                f"{what}: {value!r} is not a level of {', '.join(scale)} "
                "(optionally after >=, >, <=, <)",
            )
            return None
        op, lv = m.group(1) or "==", m.group(2)
        r = rank[lv]
        test = {
            ">=": lambda i: i >= r,
            ">": lambda i: i > r,
            "<=": lambda i: i <= r,
            "<": lambda i: i < r,
            "==": lambda i: i == r,
            "=": lambda i: i == r,
        }[op]
        chosen = frozenset(x for x, i in rank.items() if test(i))
        if not chosen:
            self.err(line, f"{what}: {value!r} selects no level")
            return None
        return LevelSet(chosen, value.strip(), op in ("==", "="))

    def timezone(self, value: Any, line: int) -> _dt.tzinfo | None:
        if not isinstance(value, str) or not value.strip():
            self.err(line, "timezone must be an IANA name such as Asia/Shanghai")
            return None
        try:
            return zoneinfo.ZoneInfo(value.strip())
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.err(line, f"unknown timezone {value!r}")
            return None

    def time(self, value: Any, line: int, default_tz: _dt.tzinfo) -> TimeWindow | None:
        m = self.mapping(value, line, "time", _TIME_KEYS)
        if m is None:
            return None
        before = len(self.errors)
        weekdays = hours = None
        if "weekdays" in m:
            items = self.names(m["weekdays"], m.lines["weekdays"], "weekdays")
            days: set[int] = set()
            for v, ln in items or ():
                lo, _, hi = v.lower().partition("-")
                if lo not in _WEEKDAYS or (hi and hi not in _WEEKDAYS):
                    self.err(
                        ln, f"weekdays: {v!r} is not a weekday (mon … sun) or a range (mon-fri)"
                    )
                    continue
                a, b = _WEEKDAYS[lo], _WEEKDAYS[hi or lo]
                days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
            weekdays = frozenset(days)
        if "hours" in m:
            hl = m.lines["hours"]
            raw = m["hours"]
            if isinstance(raw, int) and not isinstance(raw, bool):
                self.err(hl, 'hours: quote the window ("08:00-20:00"): YAML reads 8:00 as a number')
            items = self.names(raw, hl, "hours") if not isinstance(raw, int) else None
            spans = []
            for v, ln in items or ():
                hm = _HOURS_RX.fullmatch(v)
                if not hm:
                    self.err(ln, f'hours: {v!r} is not a window such as "08:00-20:00"')
                    continue
                h1, m1, h2, m2 = (int(g) for g in hm.groups())
                if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
                    self.err(ln, f"hours: {v!r} has an impossible time")
                    continue
                spans.append((h1 * 60 + m1, h2 * 60 + m2))
            hours = tuple(spans)
        tz = default_tz
        if "timezone" in m:
            tz = self.timezone(m["timezone"], m.lines["timezone"]) or default_tz
        outside = m.get("outside", False)
        if not isinstance(outside, bool):
            self.err(m.lines["outside"], "outside must be true or false")
        if weekdays is None and hours is None:
            self.err(line, "time needs weekdays, hours or both")
        if len(self.errors) > before:
            return None
        text = " ".join(
            p
            for p in (
                "outside" if outside else "",
                ",".join(str(x) for x in (items_text(m.get("weekdays"))))
                if "weekdays" in m
                else "",
                ",".join(items_text(m.get("hours"))) if "hours" in m else "",
                getattr(tz, "key", str(tz)),
            )
            if p
        )
        return TimeWindow(weekdays, hours, tz, bool(outside), text)

    def outcome(self, value: Any, line: int, what: str) -> Outcome | None:
        if isinstance(value, str):
            value_map = _Map({"action": value})
            value_map.line, value_map.lines = line, {"action": line}
            value = value_map
        m = self.mapping(value, line, what, _OUTCOME_KEYS)
        if m is None:
            return None
        if "action" not in m:
            self.err(line, f"{what} needs an action")
            return None
        return self.action(m, what)

    def action(self, m: _Map, what: str) -> Outcome | None:
        """``action``/``method``/``params`` of a rule or default."""
        before = len(self.errors)
        action = m.get("action")
        al = m.lines.get("action", m.line)
        if action not in ACTIONS:
            self.err(al, f"action {action!r} is not one of {', '.join(ACTIONS)}")
            return None
        method = m.get("method")
        params = m.get("params")
        if action == "mask":
            method = self.method(m, what, required=True)
        elif "method" in m:
            self.err(m.lines["method"], f"method is only for action mask ({what} is {action})")
        if params is not None and action != "mask":
            self.err(m.lines["params"], f"params are only for action mask ({what} is {action})")
        elif params is not None:
            params = self.params(params, m.lines["params"], method)
        if len(self.errors) > before:
            return None
        return Outcome(action, method, MappingProxyType(dict(params or {})))

    def method(self, m: _Map, what: str, required: bool) -> str | None:
        method = m.get("method")
        if method is None:
            if required:
                self.err(
                    m.lines.get("action", m.line),
                    f"{what}: action mask needs a method ({', '.join(METHODS)})",
                )
            return None
        if method not in METHODS:
            self.err(m.lines["method"], f"method {method!r} is not one of {', '.join(METHODS)}")
            return None
        return method

    def params(self, value: Any, line: int, method: str | None) -> dict[str, Any] | None:
        if not isinstance(value, _Map):
            self.err(line, "params must be a mapping")
            return None
        if method is None:
            return None
        out = {}
        for k, v in value.items():
            errs = METHODS[method].check_params({k: v})
            for e in errs:
                self.err(value.lines[k], e)
            if not errs:
                out[k] = v
        return out


def items_text(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)] if value is not None else []


def _subject_fields(
    c: _Checker, value: Any, line: int, what: str, keys: tuple[str, ...]
) -> dict[str, Patterns | None]:
    out: dict[str, Patterns | None] = {}
    m = c.mapping(value, line, what, keys)
    if m is None:
        return out
    for k in ("users", "roles", "groups"):
        if k in m:
            out[k] = c.patterns(m[k], m.lines[k], f"{what}.{k}")
    return out


def _rule(
    c: _Checker, value: Any, line: int, index: int, seen: dict[str, int], tz: _dt.tzinfo
) -> Rule | None:
    if not isinstance(value, _Map):
        c.err(line, "a rule must be a mapping")
        return None
    before = len(c.errors)
    rid = value.get("id")
    label = f"rule {rid}" if isinstance(rid, str) else f"rule #{index + 1}"
    for k in value:
        if k not in _RULE_KEYS:
            c.err(value.lines[k], f"unknown key {k!r} in {label}")
    if "id" not in value:
        c.err(line, f"{label} needs an id")
    elif not isinstance(rid, str) or not _ID_RX.fullmatch(rid):
        c.err(value.lines["id"], f"rule id {rid!r} must be letters, digits, '_', '.', ':' or '-'")
    elif rid in seen:
        c.err(value.lines["id"], f"duplicate rule id {rid!r} (first on line {seen[rid]})")
    else:
        seen[rid] = value.lines["id"]
    desc = value.get("description", "")
    if not isinstance(desc, str):
        c.err(value.lines["description"], "description must be text")
    fields: dict[str, Any] = {}
    if "subject" in value:
        fields.update(
            _subject_fields(c, value["subject"], value.lines["subject"], "subject", _SUBJECT_KEYS)
        )
    if "resource" in value:
        rm = c.mapping(value["resource"], value.lines["resource"], "resource", _RESOURCE_KEYS)
        if rm is not None:
            for k in ("instance", "db", "table", "column"):
                if k in rm:
                    fields[k] = c.patterns(rm[k], rm.lines[k], f"resource.{k}")
            if "entity" in rm:
                fields["entity"] = c.patterns(
                    rm["entity"], rm.lines["entity"], "resource.entity", c.entities, "entity"
                )
            if "category" in rm:
                fields["category"] = c.patterns(
                    rm["category"],
                    rm.lines["category"],
                    "resource.category",
                    c.categories,
                    "category",
                )
            if "level" in rm:
                fields["level"] = c.levels(
                    rm["level"], rm.lines["level"], "resource.level", GB_LEVELS
                )
    for k in ("purpose", "environment"):
        if k in value:
            fields[k] = c.patterns(value[k], value.lines[k], k)
    if "time" in value:
        fields["time"] = c.time(value["time"], value.lines["time"], tz)
    if "action" not in value:
        c.err(line, f"{label} needs an action ({', '.join(ACTIONS)})")
        outcome = None
    else:
        outcome = c.action(value, label)
    if len(c.errors) > before or outcome is None:
        return None
    lines = {k: value.lines[k] for k in value.lines}
    return Rule(
        id=rid,
        line=value.lines.get("id", line),
        index=index,
        action=outcome.action,
        method=outcome.method,
        params=outcome.params,
        description=desc,
        lines=MappingProxyType(lines),
        **fields,
    )


def _risk_rule(c: _Checker, value: Any, line: int, index: int, seen: set[str]) -> RiskRule | None:
    m = c.mapping(value, line, "a risk rule", _RISK_KEYS)
    if m is None:
        return None
    before = len(c.errors)
    rid = m.get("id", f"risk-{index + 1}")
    if not isinstance(rid, str) or not _ID_RX.fullmatch(rid):
        c.err(
            m.lines.get("id", line),
            f"risk rule id {rid!r} must be letters, digits, '_', '.', ':' or '-'",
        )
    elif rid in seen:
        c.err(m.lines.get("id", line), f"duplicate risk rule id {rid!r}")
    seen.add(str(rid))
    kwargs: dict[str, Any] = {}
    when = (
        c.mapping(m.get("when"), m.lines.get("when", line), "risk when", _RISK_WHEN_KEYS)
        if "when" in m
        else None
    )
    if "when" not in m:
        c.err(line, "a risk rule needs when: {risk_level: ...}")
    elif when is not None:
        if "risk_level" not in when:
            c.err(when.line, "risk when needs a risk_level")
        else:
            kwargs["risk"] = c.levels(
                when["risk_level"], when.lines["risk_level"], "risk_level", RISK_LEVELS
            )
        for k in ("users", "roles", "groups"):
            if k in when:
                kwargs[k] = c.patterns(when[k], when.lines[k], f"when.{k}")
    then = (
        c.mapping(m.get("then"), m.lines.get("then", line), "risk then", _RISK_THEN_KEYS)
        if "then" in m
        else None
    )
    if "then" not in m:
        c.err(line, "a risk rule needs then: {mask_levels, method} / {deny_levels} / {deny_bulk}")
    elif then is not None:
        if not any(k in then for k in ("mask_levels", "deny_levels", "deny_bulk")):
            c.err(then.line, "risk then needs mask_levels (with method), deny_levels or deny_bulk")
        if "mask_levels" in then:
            kwargs["mask_levels"] = c.levels(
                then["mask_levels"], then.lines["mask_levels"], "mask_levels", GB_LEVELS
            )
            kwargs["method"] = c.method(then, "risk then", required=False)
            if "method" not in then:
                c.err(then.lines["mask_levels"], "mask_levels needs a method")
            if "params" in then:
                kwargs["params"] = MappingProxyType(
                    c.params(then["params"], then.lines["params"], kwargs["method"]) or {}
                )
        elif "method" in then or "params" in then:
            c.err(
                then.lines.get("method", then.lines.get("params", then.line)),
                "method and params go with mask_levels",
            )
        if "deny_levels" in then:
            kwargs["deny_levels"] = c.levels(
                then["deny_levels"], then.lines["deny_levels"], "deny_levels", GB_LEVELS
            )
        if "deny_bulk" in then:
            kwargs["deny_bulk"] = _bulk(c, then["deny_bulk"], then.lines["deny_bulk"])
    if len(c.errors) > before or kwargs.get("risk") is None:
        return None
    return RiskRule(
        id=str(rid),
        line=m.lines.get("id", line),
        description=str(m.get("description", "")),
        **kwargs,
    )


def _bulk(c: _Checker, value: Any, line: int) -> LevelSet | None:
    m = c.mapping(value, line, "deny_bulk", ("levels",))
    if m is None:
        return None
    if "levels" not in m:
        c.err(line, "deny_bulk needs levels")
        return None
    return c.levels(m["levels"], m.lines["levels"], "deny_bulk.levels", GB_LEVELS)


@lru_cache(maxsize=1)
def _taxonomy_vocabulary() -> tuple[frozenset[str], frozenset[str]]:
    from detectors.sensitive.loader import load_taxonomy

    t = load_taxonomy()
    return frozenset(t.grades), frozenset(t.categories)


_DEFAULT_UNCLASSIFIED = Outcome("allow")
_DEFAULT_CLASSIFIED = Outcome("mask", "redact")


def parse_policy(
    text: str,
    source: str = "<string>",
    *,
    known_entities: Collection[str] | None | bool = True,
    known_categories: Collection[str] | None | bool = True,
) -> Policy:
    """Validate policy text; raises :class:`PolicyError` listing every problem with its line.

    ``known_entities`` / ``known_categories``: the vocabulary non-glob ``entity`` / ``category``
    names must come from (``True``: the sensitive-data taxonomy; ``None``: not checked).
    """
    ents: Collection[str] | None = known_entities or None  # type: ignore[assignment]
    cats: Collection[str] | None = known_categories or None  # type: ignore[assignment]
    if known_entities is True or known_categories is True:
        te, tc = _taxonomy_vocabulary()
        ents = te if known_entities is True else ents
        cats = tc if known_categories is True else cats
    c = _Checker(ents, cats)
    doc = _compose(text, c.errors)
    if doc is None:
        raise PolicyError(c.errors, source)
    if not isinstance(doc, _Map):
        raise PolicyError(
            [(getattr(doc, "line", 1), "the policy must be a mapping at the top level")], source
        )
    for k in doc:
        if k not in _TOP_KEYS:
            c.err(doc.lines[k], f"unknown top-level key {k!r} (known: {', '.join(_TOP_KEYS)})")
    version = doc.get("version")
    if "version" not in doc:
        c.err(1, "the policy needs a version")
    elif isinstance(version, (bool, dict, list)) or version is None or str(version).strip() == "":
        c.err(doc.lines["version"], "version must be a non-empty string or number")
    desc = doc.get("description", "")
    tz: _dt.tzinfo = _dt.UTC
    tzname = "UTC"
    if "timezone" in doc:
        tz = c.timezone(doc["timezone"], doc.lines["timezone"]) or _dt.UTC
        tzname = str(doc["timezone"])
    unclassified, classified = _DEFAULT_UNCLASSIFIED, _DEFAULT_CLASSIFIED
    if "defaults" in doc:
        dm = c.mapping(
            doc["defaults"], doc.lines["defaults"], "defaults", ("unclassified", "classified")
        )
        if dm is not None:
            if "unclassified" in dm:
                unclassified = (
                    c.outcome(dm["unclassified"], dm.lines["unclassified"], "defaults.unclassified")
                    or unclassified
                )
            if "classified" in dm:
                classified = (
                    c.outcome(dm["classified"], dm.lines["classified"], "defaults.classified")
                    or classified
                )
    reveal_roles = reveal_users = None
    if "reveal" in doc:
        rv = _subject_fields(c, doc["reveal"], doc.lines["reveal"], "reveal", ("roles", "users"))
        reveal_roles, reveal_users = rv.get("roles"), rv.get("users")
    deny_bulk = _bulk(c, doc["deny_bulk"], doc.lines["deny_bulk"]) if "deny_bulk" in doc else None
    risk: list[RiskRule] = []
    if "risk" in doc:
        rs = doc["risk"]
        if not isinstance(rs, _Seq):
            c.err(doc.lines["risk"], "risk must be a list of {when, then} rules")
        else:
            seen_risk: set[str] = set()
            for i, (item, ln) in enumerate(zip(rs, rs.lines)):
                rr = _risk_rule(c, item, ln, i, seen_risk)
                if rr is not None:
                    risk.append(rr)
    rules: list[Rule] = []
    if "rules" not in doc:
        c.err(1, "the policy needs rules (an empty list is allowed)")
    elif doc["rules"] is not None and not isinstance(doc["rules"], _Seq):
        c.err(doc.lines["rules"], "rules must be a list")
    else:
        seen: dict[str, int] = {}
        rs = doc["rules"] or _Seq()
        for i, (item, ln) in enumerate(zip(rs, getattr(rs, "lines", []))):
            r = _rule(c, item, ln, i, seen, tz)
            if r is not None:
                rules.append(r)
    if c.errors:
        raise PolicyError(c.errors, source)
    return Policy(
        version=str(version).strip(),
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest()[:12],
        rules=tuple(rules),
        unclassified=unclassified,
        classified=classified,
        risk=tuple(risk),
        deny_bulk=deny_bulk,
        reveal_roles=reveal_roles,
        reveal_users=reveal_users,
        timezone=tzname,
        description=desc if isinstance(desc, str) else "",
        source=source,
    )


def load_policy(path: str | Path | None = None, **kwargs: Any) -> Policy:
    """Read and validate a policy file (default: the packaged ``data/default_policy.yaml``)."""
    p = Path(path) if path is not None else DEFAULT_POLICY_PATH
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise PolicyError([(0, f"cannot read the policy: {e.strerror or e}")], str(p)) from e
    return parse_policy(text, str(p), **kwargs)


@lru_cache(maxsize=1)
def default_policy() -> Policy:
    """The packaged default policy, loaded once."""
    return load_policy()
