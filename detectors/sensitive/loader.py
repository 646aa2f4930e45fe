"""Load and validate every data file of the sensitive-data detectors.

Each loader collects every problem it finds and raises one :class:`DataError` listing them all
(file, entry, what is wrong), rather than stopping at the first. :func:`load_all` loads every
file and also checks them against each other (every entity a recognizer or a hint names must be
graded in the taxonomy).

>>> data = load_all()
>>> len(data.recognizers) > 10, len(data.hints) >= 60, "CN_MOBILE" in data.taxonomy
(True, True, True)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from detectors.sensitive.base import (
    CHAR_CLASSES,
    NON_SENSITIVE_HINT,
    Pattern,
    PatternError,
    PatternRecognizer,
)
from detectors.sensitive.hints import ColumnHints, parse_hints
from detectors.sensitive.taxonomy import Taxonomy, merge_taxonomy, parse_taxonomy
from detectors.sensitive.validators import VALIDATORS

__all__ = [
    "DATA_DIR",
    "TAXONOMY_OVERRIDE_ENV",
    "DataError",
    "Divisions",
    "SensitiveData",
    "load_all",
    "load_divisions",
    "load_hints",
    "load_recognizers",
    "load_surnames",
    "load_taxonomy",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
RECOGNIZERS_FILE = "recognizers.yaml"
HINTS_FILE = "column_hints.yaml"
TAXONOMY_FILE = "taxonomy.yaml"
SURNAMES_FILE = "cn_surnames.yaml"
DIVISIONS_FILE = "cn_divisions.yaml"

#: Environment variable naming a deployment's taxonomy override file.
TAXONOMY_OVERRIDE_ENV = "PARASOL_TAXONOMY_OVERRIDE"

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DataError(ValueError):
    """One or more data files are invalid; ``offenders`` lists every problem."""

    def __init__(self, offenders: list[str]):
        self.offenders = list(offenders)
        super().__init__(
            f"{len(self.offenders)} problem(s) in sensitive-data files:\n  "
            + "\n  ".join(self.offenders)
        )


def _read(path: Path, offenders: list[str]) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_Loader)
    except FileNotFoundError:
        offenders.append(f"{path.name}: file not found ({path})")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        offenders.append(f"{path.name}:{where} invalid YAML: {getattr(exc, 'problem', exc)}")
    return None


def _raise_if(offenders: list[str]) -> None:
    if offenders:
        raise DataError(offenders)


# --- recognizers ------------------------------------------------------------------------------

_RECOGNIZER_FIELDS = {
    "name",
    "entity",
    "patterns",
    "context",
    "negative_context",
    "validator",
    "requires",
    "triggers",
    "triggers_ignore_case",
    "note",
}
_PATTERN_FIELDS = {"name", "regex", "score", "group", "flags"}


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def parse_recognizers(doc: Any, where: str, offenders: list[str]) -> list[PatternRecognizer]:
    """Recognizers from a YAML document; every bad entry is reported, good ones are built."""
    if not isinstance(doc, dict) or not isinstance(doc.get("recognizers"), list):
        offenders.append(f"{where}: expected a mapping with a 'recognizers' list")
        return []
    unknown = sorted(
        k for k in doc if k not in ("version", "recognizers") and not str(k).startswith("x-")
    )
    if unknown:
        offenders.append(f"{where}: unknown top-level keys {unknown} (anchors go under 'x-…' keys)")
    out, names = [], set()
    for i, spec in enumerate(doc["recognizers"]):
        label = f"{where}: recognizers[{i}]"
        if not isinstance(spec, dict):
            offenders.append(f"{label}: expected a mapping")
            continue
        name = spec.get("name")
        label = f"{where}: recognizer {name or f'#{i}'}"
        problems = []
        if not isinstance(name, str) or not name:
            problems.append("missing name")
        elif name in names:
            problems.append("duplicate name")
        names.add(name)
        bad = sorted(set(spec) - _RECOGNIZER_FIELDS)
        if bad:
            problems.append(f"unknown fields {bad}")
        if not isinstance(spec.get("entity"), str) or not spec.get("entity"):
            problems.append("missing entity")
        validator = spec.get("validator")
        if validator is not None and validator not in VALIDATORS:
            problems.append(
                f"unknown validator {validator!r} (known: {', '.join(sorted(VALIDATORS))})"
            )
        for key in ("context", "negative_context", "triggers", "requires"):
            if key in spec and not _str_list(spec[key]):
                problems.append(f"{key} must be a list of non-empty strings")
        if _str_list(spec.get("requires", [])):
            unknown_cls = [r for r in spec.get("requires", []) if r not in CHAR_CLASSES]
            if unknown_cls:
                problems.append(
                    f"requires {unknown_cls}: known classes are {', '.join(CHAR_CLASSES)}"
                )
        if "triggers_ignore_case" in spec and not isinstance(spec["triggers_ignore_case"], bool):
            problems.append("triggers_ignore_case must be true/false")
        patterns = []
        raw_patterns = spec.get("patterns")
        if not isinstance(raw_patterns, list) or not raw_patterns:
            problems.append("patterns must be a non-empty list")
            raw_patterns = []
        for j, p in enumerate(raw_patterns):
            if not isinstance(p, dict):
                problems.append(f"patterns[{j}]: expected a mapping")
                continue
            extra = sorted(set(p) - _PATTERN_FIELDS)
            if extra:
                problems.append(f"patterns[{j}]: unknown fields {extra}")
            try:
                patterns.append(
                    Pattern(
                        p.get("name", f"#{j}"),
                        p.get("regex"),
                        p.get("score"),
                        p.get("group", 0),
                        p.get("flags", ""),
                    )
                )
            except PatternError as exc:
                problems.append(f"patterns[{j}]: {exc}")
            except TypeError as exc:  # e.g. a score given as a string that cannot compare
                problems.append(f"patterns[{j}]: {exc}")
        if problems:
            offenders.extend(f"{label}: {p}" for p in problems)
            continue
        out.append(
            PatternRecognizer(
                name=name,
                entity=spec["entity"],
                patterns=patterns,
                context=spec.get("context", []),
                negative_context=spec.get("negative_context", []),
                validator=validator,
                requires=spec.get("requires", []),
                triggers=spec.get("triggers", []),
                triggers_ignore_case=spec.get("triggers_ignore_case", False),
                source=where,
            )
        )
    return out


def load_recognizers(path: str | os.PathLike | None = None) -> list[PatternRecognizer]:
    """The YAML-declared recognizers (default: the packaged ``recognizers.yaml``)."""
    path = Path(path) if path else DATA_DIR / RECOGNIZERS_FILE
    offenders: list[str] = []
    doc = _read(path, offenders)
    out = parse_recognizers(doc, path.name, offenders) if doc is not None else []
    _raise_if(offenders)
    return out


# --- hints, taxonomy -----------------------------------------------------------------------------


def load_hints(path: str | os.PathLike | None = None) -> ColumnHints:
    path = Path(path) if path else DATA_DIR / HINTS_FILE
    offenders: list[str] = []
    doc = _read(path, offenders)
    hints = parse_hints(doc, path.name, offenders) if doc is not None else None
    _raise_if(offenders)
    return hints


def _taxonomy(path: Path, override: Path | None, offenders: list[str]) -> Taxonomy | None:
    doc = _read(path, offenders)
    where, sources = path.name, (str(path),)
    if override is not None:
        extra = _read(override, offenders)
        if extra is not None and not isinstance(extra, dict):
            offenders.append(f"{override.name}: expected a mapping at the top level")
            extra = None
        if doc is not None and extra:
            doc = merge_taxonomy(doc, extra)
            where, sources = f"{path.name} + override {override.name}", sources + (str(override),)
    return parse_taxonomy(doc, where, offenders, sources) if doc is not None else None


def load_taxonomy(
    path: str | os.PathLike | None = None, override: str | os.PathLike | None = None
) -> Taxonomy:
    """The default taxonomy, with a deployment override merged onto it field by field.

    ``override`` defaults to the file named by ``PARASOL_TAXONOMY_OVERRIDE`` when set."""
    path = Path(path) if path else DATA_DIR / TAXONOMY_FILE
    if override is None and os.environ.get(TAXONOMY_OVERRIDE_ENV):
        override = os.environ[TAXONOMY_OVERRIDE_ENV]
    offenders: list[str] = []
    tax = _taxonomy(path, Path(override) if override else None, offenders)
    _raise_if(offenders)
    return tax


# --- dictionaries --------------------------------------------------------------------------------


def _surnames(path: Path, offenders: list[str]) -> dict[str, float]:
    doc = _read(path, offenders)
    if doc is None:
        return {}
    table = doc.get("surnames") if isinstance(doc, dict) else None
    if not isinstance(table, dict) or not table:
        offenders.append(f"{path.name}: expected 'surnames: {{姓: frequency, …}}'")
        return {}
    out = {}
    for k, v in table.items():
        if (
            not isinstance(k, str)
            or not 1 <= len(k) <= 2
            or not all("\u4e00" <= c <= "\u9fff" for c in k)
        ):
            offenders.append(f"{path.name}: surname {k!r} is not one or two Chinese characters")
        elif not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0:
            offenders.append(f"{path.name}: surname {k}: frequency {v!r} is not a positive number")
        else:
            out[k] = float(v)
    return out


@lru_cache(maxsize=4)
def load_surnames(path: str | None = None) -> dict[str, float]:
    """Surname → frequency (percent)."""
    offenders: list[str] = []
    out = _surnames(Path(path) if path else DATA_DIR / SURNAMES_FILE, offenders)
    _raise_if(offenders)
    return out


@dataclass(frozen=True)
class Divisions:
    """Province-level divisions (code → short name, full name) and prefecture-level names."""

    provinces: dict[str, tuple[str, str]]
    cities: dict[str, str]  # short name → province code

    @property
    def names(self) -> list[str]:
        """Every short and full name, longest first (for an alternation)."""
        names = {n for pair in self.provinces.values() for n in pair} | set(self.cities)
        return sorted(names, key=len, reverse=True)


def _divisions(path: Path, offenders: list[str]) -> Divisions | None:
    doc = _read(path, offenders)
    if doc is None:
        return None
    provs = doc.get("provinces") if isinstance(doc, dict) else None
    if not isinstance(provs, list) or not provs:
        offenders.append(f"{path.name}: expected a 'provinces' list")
        return None
    provinces, cities, before = {}, {}, len(offenders)
    for i, p in enumerate(provs):
        if not isinstance(p, dict) or not all(
            isinstance(p.get(k), str) for k in ("code", "name", "full")
        ):
            offenders.append(f"{path.name}: provinces[{i}]: needs string code, name and full")
            continue
        if p["code"] in provinces:
            offenders.append(f"{path.name}: provinces[{i}]: duplicate code {p['code']}")
        provinces[p["code"]] = (p["name"], p["full"])
        cs = p.get("cities", [])
        if not _str_list(cs) and cs != []:
            offenders.append(
                f"{path.name}: provinces[{i}] ({p['name']}): cities must be a list of names"
            )
            continue
        for c in cs:
            cities.setdefault(c, p["code"])
    return Divisions(provinces, cities) if len(offenders) == before else None


@lru_cache(maxsize=4)
def load_divisions(path: str | None = None) -> Divisions:
    offenders: list[str] = []
    out = _divisions(Path(path) if path else DATA_DIR / DIVISIONS_FILE, offenders)
    _raise_if(offenders)
    return out


# --- everything at once --------------------------------------------------------------------------


@dataclass(frozen=True)
class SensitiveData:
    recognizers: list[PatternRecognizer]
    hints: ColumnHints
    taxonomy: Taxonomy
    surnames: dict[str, float]
    divisions: Divisions


def load_all(
    data_dir: str | os.PathLike | None = None,
    taxonomy_override: str | os.PathLike | None = None,
    extra_entities: tuple[str, ...] = (),
) -> SensitiveData:
    """Load every data file; raise one :class:`DataError` listing all offenders of all files.

    ``extra_entities`` are entities produced by class-based recognizers, checked against the
    taxonomy like the YAML ones.
    """
    d = Path(data_dir) if data_dir else DATA_DIR
    if taxonomy_override is None and os.environ.get(TAXONOMY_OVERRIDE_ENV):
        taxonomy_override = os.environ[TAXONOMY_OVERRIDE_ENV]
    offenders: list[str] = []
    doc = _read(d / RECOGNIZERS_FILE, offenders)
    recognizers = parse_recognizers(doc, RECOGNIZERS_FILE, offenders) if doc is not None else []
    doc = _read(d / HINTS_FILE, offenders)
    hints = parse_hints(doc, HINTS_FILE, offenders) if doc is not None else None
    taxonomy = _taxonomy(
        d / TAXONOMY_FILE, Path(taxonomy_override) if taxonomy_override else None, offenders
    )
    surnames = _surnames(d / SURNAMES_FILE, offenders)
    divisions = _divisions(d / DIVISIONS_FILE, offenders)
    if taxonomy is not None:
        for r in recognizers:
            if r.entity_name not in taxonomy:
                offenders.append(
                    f"{RECOGNIZERS_FILE}: recognizer {r.recognizer_name}: entity "
                    f"{r.entity_name} is not graded in {TAXONOMY_FILE}"
                )
        for e in extra_entities:
            if e not in taxonomy:
                offenders.append(f"recognizer classes: entity {e} is not graded in {TAXONOMY_FILE}")
        if hints is not None:
            for e in sorted(hints.entities - {NON_SENSITIVE_HINT}):
                if e not in taxonomy:
                    offenders.append(f"{HINTS_FILE}: entity {e} is not graded in {TAXONOMY_FILE}")
    _raise_if(offenders)
    return SensitiveData(recognizers, hints, taxonomy, surnames, divisions)
