"""The fast scanning API used on the stream: values, records and columns.

* :func:`scan_value` — findings in one value (a column value, a statement, a response body).
* :func:`scan_record` — per column of a result row: entities, counts, the highest grade.
* :func:`classify_column` — a column's classification from its name and a sample of values.

The hot path: a value is classified once by the character classes it contains (digits, CJK,
``@``, letters) and by literal triggers; recognizers whose prerequisites are missing are never
run, so ``"pending"`` or ``"2026-11-27"`` cost a few hundred nanoseconds. Findings below
``min_score`` (0.5) are dropped, then overlapping findings keep the highest score.

>>> [(f.entity, f.value) for f in scan_value("客户王梅，身份证号110101199003074514，手机13812345678")]
[('PERSON_NAME', '王梅'), ('CN_RESIDENT_ID', '110101199003074514'), ('CN_MOBILE', '13812345678')]
>>> r = scan_record({"xm": "王梅", "sjhm": "13812345678", "status": "ok"}, table="crm.customer")
>>> sorted(r.columns), r.max_level
(['sjhm', 'xm'], 'general-2')
>>> c = classify_column("remark", ["无", "身份证110101199003074514", "ok"])
>>> c.entity, c.confidence > 0.5
('CN_RESIDENT_ID', True)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from detectors.sensitive.base import CJK_CLASS, NON_SENSITIVE_HINT, Finding, Recognizer
from detectors.sensitive.hints import ColumnHints, HintMatch, value_has_shape
from detectors.sensitive.loader import load_all
from detectors.sensitive.recognizers import CLASS_RECOGNIZERS
from detectors.sensitive.taxonomy import Grade, Taxonomy

__all__ = [
    "DEFAULT_MIN_SCORE",
    "ColumnClassification",
    "ColumnFindings",
    "RecordFindings",
    "Scanner",
    "classify_column",
    "default_scanner",
    "scan_record",
    "scan_value",
]

DEFAULT_MIN_SCORE = 0.5
#: Hints below this prior neither boost values nor grade a column on their own.
HINT_MIN_PRIOR = 0.5
_MAX_CHARS = 65_536

_DIGIT, _CJK, _AT, _ALPHA = 1, 2, 4, 8
_CLASS_BITS = {"digit": _DIGIT, "cjk": _CJK, "at": _AT, "alpha": _ALPHA}
_HAS_DIGIT = re.compile(r"[0-9]").search
_HAS_ALPHA = re.compile(r"[A-Za-z]").search
_HAS_CJK = re.compile(f"[{CJK_CLASS}]").search


def _classes(text: str) -> int:
    bits = 0
    if _HAS_DIGIT(text):
        bits |= _DIGIT
    if "@" in text:
        bits |= _AT
    if _HAS_ALPHA(text):
        bits |= _ALPHA
    if not text.isascii() and _HAS_CJK(text):
        bits |= _CJK
    return bits


def _resolve(findings: list[Finding], priority: Mapping[str, int]) -> list[Finding]:
    """One finding per span. A finding inside a longer one of the same entity is absorbed (the
    longer keeps the higher score: ``+1 415-555-2671`` over ``415-555-2671``); between
    entities the highest score wins, then the longest, then the recognizer listed first."""
    if len(findings) < 2:
        return findings
    findings.sort(key=lambda f: (f.start, f.start - f.end))
    merged: list[Finding] = []
    for f in findings:
        outer = next(
            (k for k in merged if k.entity == f.entity and k.start <= f.start and f.end <= k.end),
            None,
        )
        if outer is None:
            merged.append(f)
        elif f.score > outer.score:
            outer.score = f.score
            outer.notes = outer.notes + (f"contains {f.recognizer} {f.pattern} {f.score:.2f}",)
    merged.sort(key=lambda f: (-f.score, f.start - f.end, priority.get(f.recognizer, 99)))
    kept: list[Finding] = []
    for f in merged:
        if all(f.end <= k.start or f.start >= k.end for k in kept):
            kept.append(f)
    kept.sort(key=lambda f: f.start)
    return kept


@dataclass
class ColumnFindings:
    """What one column of a record holds."""

    column: str
    findings: list[Finding] = field(default_factory=list)
    hint: HintMatch | None = None
    grade: Grade | None = None

    @property
    def entities(self) -> Counter:
        """Entity → number of findings."""
        return Counter(f.entity for f in self.findings)

    @property
    def max_level(self) -> str | None:
        return self.grade.gb_43697 if self.grade else None

    def to_dict(self) -> dict:
        return {
            "column": self.column,
            "entities": dict(self.entities),
            "hint": self.hint.entity if self.hint else None,
            "grade": self.grade.to_dict() if self.grade else None,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass
class RecordFindings:
    """Per-column findings of one record (only columns with findings or a sensitive name)."""

    table: str | None
    columns: dict[str, ColumnFindings] = field(default_factory=dict)

    @property
    def entities(self) -> Counter:
        total: Counter = Counter()
        for c in self.columns.values():
            total.update(c.entities)
        return total

    @property
    def grade(self) -> Grade | None:
        grades = [c.grade for c in self.columns.values() if c.grade is not None]
        return max(grades, key=lambda g: g.rank) if grades else None

    @property
    def max_level(self) -> str | None:
        g = self.grade
        return g.gb_43697 if g else None

    @property
    def sensitive(self) -> bool:
        return bool(self.columns)

    def to_dict(self) -> dict:
        g = self.grade
        return {
            "table": self.table,
            "entities": dict(self.entities),
            "level": g.gb_43697 if g else None,
            "jr_0197": g.jr_0197 if g else None,
            "columns": {k: v.to_dict() for k, v in self.columns.items()},
        }


@dataclass
class ColumnClassification:
    """A column's classification: the most likely entity, how sure, why, and its grade."""

    column: str
    entity: str | None
    confidence: float
    grade: Grade | None
    explanation: str
    candidates: dict[str, float] = field(default_factory=dict)
    hint: HintMatch | None = None
    values_scanned: int = 0
    value_hits: int = 0  #: values in which any entity was recognised

    @property
    def category(self) -> str | None:
        return self.grade.category if self.grade else None

    @property
    def level(self) -> str | None:
        return self.grade.gb_43697 if self.grade else None

    def to_dict(self) -> dict:
        return {
            "column": self.column,
            "entity": self.entity,
            "confidence": round(self.confidence, 3),
            "category": self.category,
            "level": self.level,
            "jr_0197": self.grade.jr_0197 if self.grade else None,
            "candidates": {k: round(v, 3) for k, v in self.candidates.items()},
            "explanation": self.explanation,
        }


class Scanner:
    """Runs recognizers over values with prefilters, thresholds and overlap resolution."""

    def __init__(
        self,
        recognizers: Sequence[Recognizer] | None = None,
        hints: ColumnHints | None = None,
        taxonomy: Taxonomy | None = None,
        min_score: float = DEFAULT_MIN_SCORE,
        max_chars: int = _MAX_CHARS,
    ):
        self.recognizers = recognizers
        self.hints = hints
        self.taxonomy = taxonomy
        self.min_score = min_score
        self.max_chars = max_chars
        if recognizers is None or hints is None or taxonomy is None:
            data = load_all(extra_entities=tuple(c.ENTITY for c in CLASS_RECOGNIZERS))
            if recognizers is None:
                recognizers = [cls() for cls in CLASS_RECOGNIZERS] + list(data.recognizers)
            hints = hints if hints is not None else data.hints
            taxonomy = taxonomy if taxonomy is not None else data.taxonomy
        self._recognizers = tuple(recognizers)
        self._hints = hints
        self._taxonomy = taxonomy
        # What was actually loaded, not the constructor's None defaults.
        self.recognizers, self.hints, self.taxonomy = self._recognizers, hints, taxonomy
        self._priority = {r.recognizer_name: i for i, r in enumerate(self._recognizers)}
        self._need = tuple(
            sum(_CLASS_BITS[c] for c in r.required_classes) for r in self._recognizers
        )
        # bits of a value → the recognizers that can run on it, with their literal and quick checks
        self._plans: dict[int, tuple] = {}
        self.value_entities = frozenset(r.entity_name for r in self._recognizers)

    # -- values -----------------------------------------------------------------------------------

    def hint_for(self, column: str | None) -> HintMatch | None:
        if not column:
            return None
        m = self._hints.match(column)
        return m if m is not None and m.prior >= HINT_MIN_PRIOR else None

    def scan_value(
        self, value: Any, column_hint: str | None = None, _hint: HintMatch | None = None
    ) -> list[Finding]:
        """Findings in ``value`` (str, or a number rendered as text), best per span.

        ``column_hint`` is the column (or JSON key) name the value came from: entities that
        name suggests get the hint boost; identifier names such as ``order_no`` penalise
        look-alikes.
        """
        if isinstance(value, str):
            text = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            text = str(value)
        else:
            return []
        if not text:
            return []
        if len(text) > self.max_chars:
            text = text[: self.max_chars]
        bits = _classes(text)
        if not bits:
            return []
        hint = _hint if _hint is not None else self.hint_for(column_hint)
        hints = frozenset(hint.entities) if hint is not None else frozenset()
        plan = self._plans.get(bits)
        if plan is None:
            plan = self._plans[bits] = tuple(
                (
                    r,
                    r.trigger_rx.search if r.trigger_rx is not None else None,
                    r.quick_rx.search if r.quick_rx is not None else None,
                )
                for r, need in zip(self._recognizers, self._need)
                if need & bits == need
            )
        found: list[Finding] = []
        min_score = self.min_score
        for r, trigger, quick in plan:
            if trigger is not None and trigger(text) is None:
                continue
            if quick is not None and quick(text) is None:
                continue
            for f in r.analyze(text, hints):
                if f.score >= min_score:
                    found.append(f)
        return _resolve(found, self._priority)

    # -- records ----------------------------------------------------------------------------------

    def scan_record(self, record: Mapping[str, Any], table: str | None = None) -> RecordFindings:
        """Scan every column of a row (nested objects flattened to dotted keys, list items
        scanned under their parent key). A column appears in the result when a value holds a
        finding or its name alone is a sensitive hint (``salary``)."""
        out = RecordFindings(table)
        for column, value in _flatten(record):
            hint = self.hint_for(column)
            findings = (
                self.scan_value(value, _hint=hint) if hint is not None else self.scan_value(value)
            )
            sensitive_hint = hint is not None and hint.entity != NON_SENSITIVE_HINT
            if not findings and not sensitive_hint:
                continue
            col = out.columns.get(column)
            if col is None:
                col = out.columns[column] = ColumnFindings(
                    column, [], hint if sensitive_hint else None
                )
            col.findings.extend(findings)
        for col in out.columns.values():
            entities = {f.entity for f in col.findings}
            if col.hint is not None and value_absent_or_agrees(col, self.value_entities):
                entities.add(col.hint.entity)
            col.grade = self._taxonomy.max_grade(entities)
        return out

    # -- columns ----------------------------------------------------------------------------------

    def classify_column(
        self, name: str, values: Iterable[Any], sample: int = 200
    ) -> ColumnClassification:
        """Combine name evidence (a hint's prior) with value evidence (the share of sampled
        values holding each entity, and their scores) into one classification."""
        scan_hint = self.hint_for(name)  # order_no still penalises look-alikes in the values
        hint = (
            None if scan_hint is not None and scan_hint.entity == NON_SENSITIVE_HINT else scan_hint
        )
        vals = []
        for v in values:
            if v is None or (isinstance(v, str) and not v.strip()):
                continue
            vals.append(v)
            if len(vals) >= sample:
                break
        n = len(vals)
        hits: Counter = Counter()
        scores: dict[str, float] = {}
        value_hits = 0
        for v in vals:
            best: dict[str, float] = {}
            for f in self.scan_value(v, _hint=scan_hint):
                best[f.entity] = max(best.get(f.entity, 0.0), f.score)
            value_hits += bool(best)
            for e, s in best.items():
                hits[e] += 1
                scores[e] = scores.get(e, 0.0) + s
        candidates: dict[str, float] = {}
        reasons: dict[str, str] = {}
        weight = min(1.0, n / 5)  # a few values say little against the name
        for e in set(hits) | (set(hint.entities) if hint else set()):
            frac = hits[e] / n if n else 0.0
            mean = scores[e] / hits[e] if hits[e] else 0.0
            value_conf = mean * (0.6 + 0.4 * min(1.0, frac / 0.5)) if hits[e] else 0.0
            why = f"values {hits[e]}/{n}" + (f" (mean score {mean:.2f})" if hits[e] else "")
            conf = value_conf
            if hint is not None and e in hint.entities:
                prior = hint.prior * (1.0 if e == hint.entity else 0.9)
                if e in self.value_entities:
                    agree = frac
                else:
                    agree = (sum(value_has_shape(v, hint.shape) for v in vals) / n) if n else 1.0
                    why = f"values {round(agree * n)}/{n} look like {hint.shape}"
                prior_eff = prior * (1.0 - weight * 0.5 * (1.0 - agree))
                conf = 1.0 - (1.0 - prior_eff) * (1.0 - value_conf)
                why = f"name {hint.hint!r} ({hint.how}) prior {prior:.2f}; {why}"
            candidates[e] = round(conf, 4)
            reasons[e] = why
        if not candidates:
            return ColumnClassification(
                name, None, 0.0, None, f"no evidence in name or {n} values", {}, hint, n, value_hits
            )
        ranked = sorted(candidates.items(), key=lambda kv: (-kv[1], kv[0]))
        entity, conf = ranked[0]
        strong = [e for e, c in ranked if c >= DEFAULT_MIN_SCORE] or [entity]
        grade = self._taxonomy.max_grade(strong)
        return ColumnClassification(
            name,
            entity,
            conf,
            grade,
            f"{entity} {conf:.2f}: {reasons[entity]}",
            dict(ranked),
            hint,
            n,
            value_hits,
        )


def value_absent_or_agrees(col: ColumnFindings, value_entities: frozenset[str]) -> bool:
    """A name-only hint grades the column unless values contradict it: a recognizable entity
    (``mobile``) whose values were scanned and produced other findings only."""
    if col.hint.entity not in value_entities:
        return True
    return not col.findings or any(f.entity in col.hint.entities for f in col.findings)


def _flatten(record: Mapping[str, Any], prefix: str = ""):
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{name}.")
        elif isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, Mapping):
                    yield from _flatten(item, f"{name}.")
                else:
                    yield name, item
        else:
            yield name, value


@lru_cache(maxsize=1)
def default_scanner() -> Scanner:
    """The scanner over the packaged data (and ``PARASOL_TAXONOMY_OVERRIDE``), built once."""
    return Scanner()


def scan_value(text: Any, column_hint: str | None = None) -> list[Finding]:
    """:meth:`Scanner.scan_value` of the default scanner."""
    return default_scanner().scan_value(text, column_hint)


def scan_record(record: Mapping[str, Any], table: str | None = None) -> RecordFindings:
    """:meth:`Scanner.scan_record` of the default scanner."""
    return default_scanner().scan_record(record, table)


def classify_column(name: str, values: Iterable[Any]) -> ColumnClassification:
    """:meth:`Scanner.classify_column` of the default scanner."""
    return default_scanner().classify_column(name, values)
