"""Classification and grading: entity → category, GB/T 43697-2024 level, JR/T 0197-2020 level
and the GB/T 35273 personal-information flags, as data (``data/taxonomy.yaml``) that a
deployment overrides with its own file (merged field by field).

>>> from detectors.sensitive.loader import load_taxonomy
>>> t = load_taxonomy()
>>> g = t.grade("CN_RESIDENT_ID")
>>> g.gb_43697, g.jr_0197, g.sensitive_personal
('general-4', 3, True)
>>> t.max_grade(["EMAIL", "BANK_CARD"]).entity
'BANK_CARD'
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "GB_LEVELS",
    "GB_RANK",
    "Grade",
    "Taxonomy",
    "merge_taxonomy",
    "parse_taxonomy",
]

#: GB/T 43697-2024: core, important, and general data split into levels 1–4 (recalled: its
#: appendix puts sensitive personal information at general level 4, other personal at 2).
GB_LEVELS = ("general-1", "general-2", "general-3", "general-4", "important", "core")
GB_RANK = {level: i + 1 for i, level in enumerate(GB_LEVELS)}

_ENTITY_FIELDS = {
    "category",
    "gb_43697",
    "jr_0197",
    "personal",
    "sensitive_personal",
    "description",
}
_TOP_FIELDS = {"version", "categories", "default", "entities"}


@dataclass(frozen=True, slots=True)
class Grade:
    """The grade of one entity type (see module doc)."""

    entity: str
    category: str
    gb_43697: str
    jr_0197: int
    personal: bool
    sensitive_personal: bool
    description: str = ""

    @property
    def gb_rank(self) -> int:
        """1 (general-1) … 4 (general-4), 5 important, 6 core: for comparisons."""
        return GB_RANK[self.gb_43697]

    @property
    def rank(self) -> tuple[int, int]:
        return (self.gb_rank, self.jr_0197)

    def to_dict(self) -> dict:
        return {
            "entity": self.entity,
            "category": self.category,
            "level": self.gb_43697,
            "jr_0197": self.jr_0197,
            "personal": self.personal,
            "sensitive_personal": self.sensitive_personal,
        }


class Taxonomy:
    """Grades by entity; unknown entities get the ``default`` grade (graded high: when in doubt
    grade higher)."""

    def __init__(
        self,
        grades: Mapping[str, Grade],
        default: Grade,
        categories: Mapping[str, str],
        sources: tuple[str, ...] = (),
    ):
        self.grades = dict(grades)
        self.default = default
        self.categories = dict(categories)
        self.sources = sources

    def __contains__(self, entity: str) -> bool:
        return entity in self.grades

    @property
    def entities(self) -> list[str]:
        return sorted(self.grades)

    def grade(self, entity: str) -> Grade:
        g = self.grades.get(entity)
        if g is not None:
            return g
        d = self.default
        return Grade(
            entity,
            d.category,
            d.gb_43697,
            d.jr_0197,
            d.personal,
            d.sensitive_personal,
            "not in the taxonomy: default grade",
        )

    def max_grade(self, entities: Iterable[str]) -> Grade | None:
        """The highest grade among ``entities`` (GB level first, then JR/T level)."""
        best = None
        for e in entities:
            g = self.grade(e)
            if best is None or g.rank > best.rank:
                best = g
        return best


def merge_taxonomy(base: dict, override: dict) -> dict:
    """Deep-merge a deployment override onto the default document: mappings merge key by key
    (so ``{entities: {CN_MOBILE: {jr_0197: 4}}}`` changes one field), anything else replaces.

    >>> merge_taxonomy({"entities": {"A": {"x": 1, "y": 2}}}, {"entities": {"A": {"y": 3}}})
    {'entities': {'A': {'x': 1, 'y': 3}}}
    """
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_taxonomy(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _grade(
    entity: str, spec: Any, where: str, categories: Mapping[str, str], offenders: list[str]
) -> Grade | None:
    if not isinstance(spec, dict):
        offenders.append(f"{where}: entity {entity}: expected a mapping, got {type(spec).__name__}")
        return None
    bad = []
    unknown = sorted(set(spec) - _ENTITY_FIELDS)
    if unknown:
        bad.append(f"unknown fields {unknown}")
    missing = sorted(
        {"category", "gb_43697", "jr_0197", "personal", "sensitive_personal"} - set(spec)
    )
    if missing:
        bad.append(f"missing fields {missing}")
    gb, jr = spec.get("gb_43697"), spec.get("jr_0197")
    if "gb_43697" in spec and gb not in GB_RANK:
        bad.append(f"gb_43697 {gb!r} is not one of {', '.join(GB_LEVELS)}")
    if "jr_0197" in spec and (not isinstance(jr, int) or isinstance(jr, bool) or not 1 <= jr <= 5):
        bad.append(f"jr_0197 {jr!r} is not an integer 1..5")
    for flag in ("personal", "sensitive_personal"):
        if flag in spec and not isinstance(spec[flag], bool):
            bad.append(f"{flag} {spec[flag]!r} is not true/false")
    cat = spec.get("category")
    if "category" in spec and cat not in categories:
        bad.append(f"category {cat!r} is not declared under categories")
    if spec.get("sensitive_personal") is True and spec.get("personal") is False:
        bad.append("sensitive_personal requires personal")
    # GB/T 43697 appendix (recalled): sensitive personal information is general level 4 or above.
    if (
        spec.get("sensitive_personal") is True
        and gb in GB_RANK
        and GB_RANK[gb] < GB_RANK["general-4"]
    ):
        bad.append(f"sensitive personal information graded {gb}: must be general-4 or higher")
    if bad:
        offenders.extend(f"{where}: entity {entity}: {b}" for b in bad)
        return None
    return Grade(
        entity,
        cat,
        gb,
        jr,
        spec["personal"],
        spec["sensitive_personal"],
        str(spec.get("description", "")),
    )


def parse_taxonomy(
    doc: Any, where: str, offenders: list[str], sources: tuple[str, ...] = ()
) -> Taxonomy | None:
    """Validate a (merged) taxonomy document; every problem is appended to ``offenders``."""
    if not isinstance(doc, dict):
        offenders.append(f"{where}: expected a mapping at the top level")
        return None
    unknown = sorted(set(doc) - _TOP_FIELDS)
    if unknown:
        offenders.append(f"{where}: unknown top-level keys {unknown}")
    categories = doc.get("categories") or {}
    if not isinstance(categories, dict):
        offenders.append(f"{where}: categories must be a mapping of id → description")
        categories = {}
    categories = {str(k): str(v) for k, v in categories.items()}
    entities = doc.get("entities")
    if not isinstance(entities, dict) or not entities:
        offenders.append(f"{where}: entities must be a non-empty mapping")
        entities = {}
    before = len(offenders)
    grades = {}
    for entity, spec in entities.items():
        g = _grade(str(entity), spec, where, categories, offenders)
        if g is not None:
            grades[str(entity)] = g
    default = _grade("(default)", doc.get("default"), where, categories, offenders)
    if len(offenders) > before or default is None:
        return None
    return Taxonomy(grades, default, categories, sources)
