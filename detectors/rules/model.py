"""Rules as frozen data: what a rule file says, validated once, never mutated.

A rule file (YAML, one rule per file, as in elastic/detection-rules) carries a stable UUID
``id``, a unique ``name``, ``description``, ``severity`` (low/medium/high/critical),
``risk_score`` 0–100, ``threat`` (ATT&CK technique id + name, tactic optional), ``tags``,
``maturity`` (production/experimental), ``type`` and the type's own block, an optional ``when``
(the event filter, see :mod:`detectors.rules.conditions`), ``group_by`` (the entity whose state
and suppression window the rule keys on; default ``[user.name]``), ``suppress`` (a duration,
default 1 h of event time), an ``explanation`` template (``{field.path}`` or a type's context
key such as ``{count}``) and ``tests: {positive: […], negative: […]}``.

Types: ``match`` (one event), ``threshold`` (``{count, window, mode: sliding|tumbling,
distinct: FIELD}``), ``new_terms`` (``{fields, history, learning, max_terms}``), ``sequence``
(``{within, steps: [{when, count, input}]}``) and ``anomaly`` (``{min_score}`` on UEBA alerts).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from detectors.rules.conditions import Always, Condition, ConditionError, parse_condition
from detectors.rules.fields import parse_duration

__all__ = [
    "RULE_TYPES",
    "SEVERITIES",
    "SEVERITY_RANK",
    "AnomalySpec",
    "NewTermsSpec",
    "Rule",
    "RuleError",
    "SequenceSpec",
    "SequenceStep",
    "Threat",
    "ThresholdSpec",
    "rule_from_dict",
]

SEVERITIES = ("low", "medium", "high", "critical")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
RULE_TYPES = ("match", "threshold", "new_terms", "sequence", "anomaly")
_TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")
_TACTIC = re.compile(r"^TA\d{4}$")


class RuleError(ValueError):
    """One rule file's problems (all of them, one per line)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Threat:
    technique_id: str
    technique_name: str
    tactic_id: str | None = None
    tactic_name: str | None = None

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"framework": "MITRE ATT&CK",
                             "technique": {"id": self.technique_id, "name": self.technique_name}}
        if self.tactic_id or self.tactic_name:
            d["tactic"] = {"id": self.tactic_id, "name": self.tactic_name}
        return d


@dataclass(frozen=True)
class ThresholdSpec:
    count: int
    window_s: float
    mode: str = "sliding"  # or tumbling (windows aligned to the epoch)
    distinct: str | None = None  # count distinct values of this field instead of events


@dataclass(frozen=True)
class NewTermsSpec:
    fields: tuple[str, ...]
    history_s: float  # a term unseen for longer than this is new again (dormancy)
    learning_s: float  # after an entity is first seen, learn without alerting for this long
    max_terms: int = 500


@dataclass(frozen=True)
class SequenceStep:
    when: Condition
    count: int = 1
    input: str = "events"  # events | alerts


@dataclass(frozen=True)
class SequenceSpec:
    within_s: float
    steps: tuple[SequenceStep, ...]


@dataclass(frozen=True)
class AnomalySpec:
    min_score: float
    detectors: tuple[str, ...] = ()  # rule ids of UEBA detectors to accept (empty = any)


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    description: str
    type: str
    severity: str
    risk_score: int
    threat: Threat | None
    tags: tuple[str, ...]
    maturity: str
    when: Condition = field(default_factory=Always)
    group_by: tuple[str, ...] = ("user.name",)
    suppress_s: float = 3600.0
    kind: str = "rule"  # rule | correlation | anomaly (rule.kind in alerts)
    input: str = "events"  # events | alerts | both
    explanation: str = ""
    threshold: ThresholdSpec | None = None
    new_terms: NewTermsSpec | None = None
    sequence: SequenceSpec | None = None
    anomaly: AnomalySpec | None = None
    tests: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    source: str = field(default="", compare=False)
    references: tuple[str, ...] = ()
    enabled: bool = True
    origin: str = "native"  # native | sigma

    @property
    def stateful(self) -> bool:
        return self.type in ("threshold", "new_terms", "sequence")


def _req(d: Mapping, key: str, problems: list[str], types: type | tuple = str) -> Any:
    if key not in d or d[key] is None or d[key] == "":
        problems.append(f"missing '{key}'")
        return None
    if not isinstance(d[key], types):
        problems.append(f"'{key}' must be {getattr(types, '__name__', types)}")
        return None
    return d[key]


def _duration(v: Any, what: str, problems: list[str], default: float | None = None) -> float:
    if v is None:
        if default is None:
            problems.append(f"missing '{what}'")
            return 0.0
        return default
    try:
        return parse_duration(v)
    except (ValueError, TypeError) as e:
        problems.append(f"{what}: {e}")
        return 0.0


def _cond(spec: Any, where: str, problems: list[str]) -> Condition:
    try:
        return parse_condition(spec, where)
    except ConditionError as e:
        problems.append(str(e))
        return Always()


def _fields(v: Any, what: str, problems: list[str], default: tuple[str, ...] = ()) -> tuple:
    if v is None:
        return default
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        problems.append(f"'{what}' must be a list of field names")
        return default
    return tuple(v)


def rule_from_dict(d: Any, source: str = "") -> Rule:
    """Validate one rule mapping; raises :class:`RuleError` listing every problem."""
    problems: list[str] = []
    if not isinstance(d, Mapping):
        raise RuleError([f"a rule is a mapping, not {type(d).__name__}"])
    rid = _req(d, "id", problems)
    if rid is not None:
        try:
            uuid.UUID(str(rid))
        except ValueError:
            problems.append(f"id {rid!r} is not a UUID")
    name = _req(d, "name", problems)
    description = _req(d, "description", problems) or ""
    rtype = _req(d, "type", problems)
    if rtype is not None and rtype not in RULE_TYPES:
        problems.append(f"type {rtype!r} is not one of {RULE_TYPES}")
    severity = _req(d, "severity", problems)
    if severity is not None and severity not in SEVERITIES:
        problems.append(f"severity {severity!r} is not one of {SEVERITIES}")
    score = _req(d, "risk_score", problems, int)
    if isinstance(score, bool) or (score is not None and not 0 <= score <= 100):
        problems.append(f"risk_score {score!r} is not an integer 0-100")
    maturity = d.get("maturity", "production")
    if maturity not in ("production", "experimental"):
        problems.append(f"maturity {maturity!r} is not production or experimental")
    threat = None
    t = d.get("threat")
    if not isinstance(t, Mapping):
        problems.append("missing 'threat' {technique: {id, name}, tactic: {id, name}}")
    else:
        tech = t.get("technique") or {}
        tac = t.get("tactic") or {}
        tid, tname = tech.get("id"), tech.get("name")
        if not (isinstance(tid, str) and _TECHNIQUE.match(tid)) or not tname:
            problems.append(f"threat.technique needs an ATT&CK id (T1234[.001]) and a name, "
                            f"got {tech!r}")
        if tac and tac.get("id") and not _TACTIC.match(str(tac.get("id"))):
            problems.append(f"threat.tactic.id {tac.get('id')!r} is not TA0000-style")
        threat = Threat(str(tid), str(tname), tac.get("id"), tac.get("name"))
    tags = d.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(x, str) for x in tags):
        problems.append("'tags' must be a list of strings")
        tags = []
    when = _cond(d.get("when"), "when", problems)
    group_by = _fields(d.get("group_by"), "group_by", problems, ("user.name",))
    suppress_s = _duration(d.get("suppress"), "suppress", problems, 3600.0)
    kind = d.get("kind") or ("anomaly" if rtype == "anomaly" else "rule")
    if kind not in ("rule", "correlation", "anomaly"):
        problems.append(f"kind {kind!r} is not rule, correlation or anomaly")
    rinput = d.get("input") or ("alerts" if rtype == "anomaly" else "events")
    if rinput not in ("events", "alerts", "both"):
        problems.append(f"input {rinput!r} is not events, alerts or both")
    spec: dict[str, Any] = {}
    body = d.get(rtype) if isinstance(rtype, str) else None
    if rtype in ("threshold", "new_terms", "sequence", "anomaly") and not isinstance(body,
                                                                                  Mapping):
        problems.append(f"type {rtype} needs a '{rtype}' block")
        body = {}
    if rtype == "threshold":
        count = body.get("count")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            problems.append("threshold.count must be an integer >= 1")
            count = 1
        mode = body.get("mode", "sliding")
        if mode not in ("sliding", "tumbling"):
            problems.append(f"threshold.mode {mode!r} is not sliding or tumbling")
        distinct = body.get("distinct")
        if distinct is not None and not isinstance(distinct, str):
            problems.append("threshold.distinct must be a field name")
            distinct = None
        spec["threshold"] = ThresholdSpec(count, _duration(body.get("window"), "threshold.window",
                                                           problems), mode, distinct)
    elif rtype == "new_terms":
        fields = _fields(body.get("fields"), "new_terms.fields", problems)
        if not fields:
            problems.append("new_terms.fields must name at least one field")
        max_terms = body.get("max_terms", 500)
        if not isinstance(max_terms, int) or max_terms < 1:
            problems.append("new_terms.max_terms must be a positive integer")
            max_terms = 500
        spec["new_terms"] = NewTermsSpec(
            fields, _duration(body.get("history"), "new_terms.history", problems),
            _duration(body.get("learning"), "new_terms.learning", problems, 0.0), max_terms)
    elif rtype == "sequence":
        steps = []
        raw_steps = body.get("steps")
        if not isinstance(raw_steps, list) or len(raw_steps) < 2:
            problems.append("sequence.steps must list at least two steps")
            raw_steps = []
        for i, s in enumerate(raw_steps):
            if not isinstance(s, Mapping) or "when" not in s:
                problems.append(f"sequence.steps[{i}] needs 'when'")
                continue
            cnt = s.get("count", 1)
            if not isinstance(cnt, int) or cnt < 1:
                problems.append(f"sequence.steps[{i}].count must be an integer >= 1")
                cnt = 1
            sin = s.get("input", "events")
            if sin not in ("events", "alerts"):
                problems.append(f"sequence.steps[{i}].input must be events or alerts")
            steps.append(SequenceStep(_cond(s["when"], f"sequence.steps[{i}].when", problems),
                                      cnt, sin))
        spec["sequence"] = SequenceSpec(_duration(body.get("within"), "sequence.within",
                                                  problems), tuple(steps))
        if any(s.input == "alerts" for s in steps):
            rinput = "both" if any(s.input == "events" for s in steps) else "alerts"
            if "kind" not in d:
                kind = "correlation"
    elif rtype == "anomaly":
        ms = body.get("min_score")
        if not isinstance(ms, (int, float)) or isinstance(ms, bool) or not 0 <= ms <= 100:
            problems.append("anomaly.min_score must be a number 0-100")
            ms = 100
        spec["anomaly"] = AnomalySpec(float(ms), _fields(body.get("detectors"),
                                                         "anomaly.detectors", problems))
    tests = d.get("tests")
    if not isinstance(tests, Mapping) or not tests.get("positive") or not tests.get("negative"):
        problems.append("missing 'tests: {positive: [...], negative: [...]}' (both non-empty)")
        tests = {}
    explanation = d.get("explanation") or d.get("name") or ""
    if problems:
        raise RuleError(problems)
    return Rule(
        id=str(rid), name=str(name), description=str(description), type=str(rtype),
        severity=str(severity), risk_score=int(score), threat=threat, tags=tuple(tags),
        maturity=str(maturity), when=when, group_by=group_by, suppress_s=suppress_s,
        kind=str(kind), input=str(rinput), explanation=str(explanation), tests=tests,
        source=source, references=tuple(d.get("references") or ()),
        enabled=bool(d.get("enabled", True)), origin=str(d.get("origin", "native")), **spec)
