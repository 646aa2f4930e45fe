"""Column-name hints: what a column probably holds, from its name (English, pinyin initials,
Chinese), as data (``data/column_hints.yaml``).

Names are normalised before matching: NFKC, camelCase split, lower case, separators dropped,
a ``table.`` qualifier dropped. A name matches a hint exactly, or after stripping common
prefixes/suffixes (``cust_mobile_no`` → ``mobile``), or through its longest sub-sequence of
tokens (``emergency_contact_phone`` → ``contact_phone``), or, for Chinese, through a hint it
contains (``联系人手机号码`` → ``手机号码``). Qualifier tokens (``type``, ``status``,
``verified``, ``product``) stop the looser matches: ``phone_type`` is not a phone.

>>> from detectors.sensitive.loader import load_hints
>>> h = load_hints()
>>> m = h.match("cust_mobile_no")
>>> m.entity, m.how, round(m.prior, 2)
('CN_MOBILE', 'affix', 0.85)
>>> h.match("客户身份证号码").entity, h.match("sfzh").entity, h.match("phone_type")
('CN_RESIDENT_ID', 'CN_RESIDENT_ID', None)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from detectors.sensitive.base import CJK_CLASS

__all__ = [
    "SHAPES",
    "ColumnHints",
    "HintEntry",
    "HintMatch",
    "normalise_tokens",
    "parse_hints",
    "value_has_shape",
]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_TOKENS = re.compile(rf"[a-z]+|[{CJK_CLASS}]+")
_CJK = re.compile(rf"[{CJK_CLASS}]")

# Weights of the looser matches relative to the hint's prior.
_AFFIX_WEIGHT = 0.95
_SPAN_WEIGHT = 0.85
_CJK_CONTAINS_WEIGHT = 0.9


def normalise_tokens(name: str) -> list[str]:
    """Tokens of a column name: camelCase split, lower case, digits and separators dropped.

    >>> normalise_tokens("t_user.custMobileNo2"), normalise_tokens("客户_手机号")
    (['cust', 'mobile', 'no'], ['客户', '手机号'])
    """
    name = unicodedata.normalize("NFKC", str(name)).strip().strip('`"[]')
    if "." in name:
        name = name.rsplit(".", 1)[1]
    return _TOKENS.findall(_CAMEL.sub("_", name).lower())


# --- value shapes for entities recognised by name only ------------------------------------------

_SHAPE_RX = {
    "date": re.compile(
        r"^\s*(?:(?:19|20)\d\d[-/.年]?(?:0?[1-9]|1[0-2])[-/.月]?(?:0?[1-9]|[12]\d|3[01])日?"
        r"|(?:0?[1-9]|[12]\d|3[01])[-/.](?:0?[1-9]|1[0-2])[-/.](?:19|20)\d\d)(?:[ T].*)?\s*$"
    ),
    "number": re.compile(r"^\s*[-+]?[¥$€£]?\s*\d[\d,]*(?:\.\d+)?\s*(?:元|万|k|K|%)?\s*$"),
    "gender": re.compile(
        r"^\s*(?:男|女|未知|[MFmfUu]|male|female|man|woman|[012])\s*$", re.IGNORECASE
    ),
    "any": re.compile(r"\S"),
}
SHAPES = tuple(_SHAPE_RX)


def value_has_shape(value: Any, shape: str) -> bool:
    """Whether a value looks like what a name-only entity holds (``date``, ``number``,
    ``gender``, ``any``).

    >>> value_has_shape("1990-03-07", "date"), value_has_shape("¥12,000.50", "number")
    (True, True)
    """
    if value is None:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return shape in ("number", "any", "gender")
    return bool(_SHAPE_RX[shape].search(str(value)))


@dataclass(frozen=True, slots=True)
class HintEntry:
    """One hint name (normalised key) → entities (first = primary) with a prior."""

    key: str
    name: str
    entities: tuple[str, ...]
    prior: float
    shape: str = "any"


@dataclass(frozen=True, slots=True)
class HintMatch:
    """The outcome of matching a column name: which hint, how, and the resulting prior."""

    column: str
    hint: str
    entities: tuple[str, ...]
    prior: float
    how: str  # exact | affix | span | contains
    shape: str = "any"

    @property
    def entity(self) -> str:
        return self.entities[0]

    @property
    def explanation(self) -> str:
        return (
            f"column {self.column!r} ~ {self.hint!r} ({self.how}) → {self.entity} "
            f"prior {self.prior:.2f}"
        )


class ColumnHints:
    """Index of hint names; :meth:`match` is memoised per column name."""

    def __init__(self, entries: list[HintEntry], prefixes=(), suffixes=(), qualifiers=()):
        self.entries = {e.key: e for e in entries}
        self.prefixes = frozenset(prefixes)
        self.suffixes = frozenset(suffixes)
        self.qualifiers = frozenset(q for q in qualifiers if q.isascii())
        self.cjk_qualifiers = tuple(q for q in qualifiers if not q.isascii())
        # Chinese hint names, longest first, for "the column name contains this hint".
        self._cjk_keys = sorted((k for k in self.entries if _CJK.search(k)), key=len, reverse=True)
        self._cache: dict[str, HintMatch | None] = {}

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def entities(self) -> set[str]:
        return {e for entry in self.entries.values() for e in entry.entities}

    def match(self, column: str) -> HintMatch | None:
        """The best hint for a column name, or None."""
        if column in self._cache:
            return self._cache[column]
        found = self._match(column)
        if len(self._cache) < 100_000:
            self._cache[column] = found
        return found

    def _hit(self, column: str, key: str, how: str, weight: float) -> HintMatch:
        e = self.entries[key]
        return HintMatch(column, e.name, e.entities, round(e.prior * weight, 4), how, e.shape)

    def _match(self, column: str) -> HintMatch | None:
        tokens = normalise_tokens(column)
        if not tokens:
            return None
        joined = "".join(tokens)
        if joined in self.entries:
            return self._hit(column, joined, "exact", 1.0)
        if any(t in self.qualifiers for t in tokens) or any(
            q in t for t in tokens if _CJK.search(t) for q in self.cjk_qualifiers
        ):
            return None
        # Strip known prefixes / suffixes (tokens, and Chinese prefixes/suffixes inside a token).
        core = list(tokens)
        while len(core) > 1 and core[0] in self.prefixes:
            core.pop(0)
        while len(core) > 1 and core[-1] in self.suffixes:
            core.pop()
        stripped = "".join(core)
        for cand in (stripped, *self._cjk_affix_variants(stripped)):
            if cand != joined and cand in self.entries:
                return self._hit(column, cand, "affix", _AFFIX_WEIGHT)
        # Longest contiguous run of tokens that is a hint.
        n = len(tokens)
        for size in range(n - 1, 0, -1):
            for i in range(n - size + 1):
                key = "".join(tokens[i : i + size])
                if key in self.entries:
                    return self._hit(column, key, "span", _SPAN_WEIGHT)
        # Chinese: the longest hint contained in the name.
        if _CJK.search(joined):
            for key in self._cjk_keys:
                if key in joined:
                    return self._hit(column, key, "contains", _CJK_CONTAINS_WEIGHT)
        return None

    def _cjk_affix_variants(self, s: str) -> list[str]:
        if not _CJK.search(s):
            return []
        out = []
        for p in self.prefixes:
            if not p.isascii() and s.startswith(p) and len(s) > len(p):
                out.append(s[len(p) :])
        for base in [s, *out]:
            for suf in self.suffixes:
                if not suf.isascii() and base.endswith(suf) and len(base) > len(suf):
                    out.append(base[: -len(suf)])
        return out


def parse_hints(doc: Any, where: str, offenders: list[str]) -> ColumnHints | None:
    """Build :class:`ColumnHints` from the YAML document; problems go to ``offenders``."""
    if not isinstance(doc, dict):
        offenders.append(f"{where}: expected a mapping at the top level")
        return None
    before = len(offenders)
    unknown = sorted(set(doc) - {"version", "prefixes", "suffixes", "qualifiers", "hints"})
    if unknown:
        offenders.append(f"{where}: unknown top-level keys {unknown}")
    lists = {}
    for key in ("prefixes", "suffixes", "qualifiers"):
        value = doc.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            offenders.append(f"{where}: {key} must be a list of non-empty strings")
            value = []
        lists[key] = [unicodedata.normalize("NFKC", v).lower() for v in value]
    hints = doc.get("hints")
    if not isinstance(hints, list) or not hints:
        offenders.append(f"{where}: hints must be a non-empty list")
        hints = []
    entries: dict[str, HintEntry] = {}
    for i, h in enumerate(hints):
        label = f"{where}: hints[{i}]"
        if not isinstance(h, dict):
            offenders.append(f"{label}: expected a mapping")
            continue
        bad = sorted(set(h) - {"entities", "prior", "names", "shape", "note"})
        if bad:
            offenders.append(f"{label}: unknown fields {bad}")
        ents = h.get("entities")
        if isinstance(ents, str):
            ents = [ents]
        if not isinstance(ents, list) or not ents or not all(isinstance(e, str) for e in ents):
            offenders.append(f"{label}: entities must be a non-empty list of entity names")
            continue
        label = f"{where}: hints[{i}] ({ents[0]})"
        prior = h.get("prior")
        if not isinstance(prior, (int, float)) or isinstance(prior, bool) or not 0 < prior <= 1:
            offenders.append(f"{label}: prior {prior!r} is not in (0, 1]")
            continue
        shape = h.get("shape", "any")
        if shape not in _SHAPE_RX:
            offenders.append(f"{label}: shape {shape!r} is not one of {', '.join(SHAPES)}")
            continue
        names = h.get("names")
        if not isinstance(names, list) or not names:
            offenders.append(f"{label}: names must be a non-empty list")
            continue
        for name in names:
            if not isinstance(name, (str, int)) or not str(name).strip():
                offenders.append(f"{label}: invalid name {name!r}")
                continue
            key = "".join(normalise_tokens(str(name)))
            if not key:
                offenders.append(f"{label}: name {name!r} normalises to nothing")
                continue
            if key in entries and (entries[key].entities, entries[key].prior) == (
                tuple(ents),
                float(prior),
            ):
                continue  # an alias spelled differently (id_card / idcard): harmless
            if key in entries:
                offenders.append(
                    f"{label}: name {name!r} duplicates {entries[key].name!r} "
                    f"({entries[key].entities[0]})"
                )
                continue
            entries[key] = HintEntry(key, str(name), tuple(ents), float(prior), shape)
    if len(offenders) > before:
        return None
    return ColumnHints(
        list(entries.values()), lists["prefixes"], lists["suffixes"], lists["qualifiers"]
    )
