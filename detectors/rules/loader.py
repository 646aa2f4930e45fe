"""Load the rule pack from data files, rejecting duplicates, and reporting every offender at once.

A broken pack must be fixed in one pass: the loader reads every file, collects each file's
problems (YAML errors, schema errors, duplicate ids or names across files) and raises one
:class:`RuleLoadError` that lists them all with file names.

>>> rules = load_rules()
>>> len(rules) >= 20 and len({r.id for r in rules}) == len(rules)
True
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from detectors.rules.model import Rule, RuleError, rule_from_dict

__all__ = [
    "DATA",
    "RULES_DIR",
    "SIGMA_DIR",
    "RuleLoadError",
    "check_unique",
    "load_rules",
    "read_yaml",
]

DATA = Path(__file__).resolve().parent / "data"
RULES_DIR = DATA / "rules"
SIGMA_DIR = DATA / "sigma"


class RuleLoadError(ValueError):
    """Every problem of a rule pack, one ``file: problem`` per line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the rule pack:\n" + "\n".join(problems))


def read_yaml(path: Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _files(paths: Iterable[Path | str]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out += sorted(x for x in p.iterdir() if x.suffix in (".yaml", ".yml"))
        else:
            out.append(p)
    return out


def check_unique(rules: Iterable[Rule]) -> list[str]:
    """Problems for ids or names used by more than one rule (naming every file)."""
    by_id: dict[str, list[str]] = defaultdict(list)
    by_name: dict[str, list[str]] = defaultdict(list)
    for r in rules:
        by_id[r.id].append(r.source or r.name)
        by_name[r.name.strip().lower()].append(r.source or r.id)
    problems = [f"{', '.join(files)}: duplicate id {rid}"
                for rid, files in by_id.items() if len(files) > 1]
    problems += [f"{', '.join(files)}: duplicate name {name!r}"
                 for name, files in by_name.items() if len(files) > 1]
    return problems


def load_rules(*paths: Path | str, include_disabled: bool = False) -> tuple[Rule, ...]:
    """Rules from files or directories (default: the packaged pack), validated together."""
    files = _files(paths or (RULES_DIR,))
    problems: list[str] = []
    rules: list[Rule] = []
    for f in files:
        try:
            doc = read_yaml(f)
        except (OSError, yaml.YAMLError) as e:
            problems.append(f"{f.name}: cannot read: {e}")
            continue
        try:
            rules.append(rule_from_dict(doc, source=f.name))
        except RuleError as e:
            problems += [f"{f.name}: {p}" for p in e.problems]
    problems += check_unique(rules)
    if problems:
        raise RuleLoadError(problems)
    return tuple(r for r in rules if r.enabled or include_disabled)
