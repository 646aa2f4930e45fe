"""Shared helpers for the rule-stage tests."""

from __future__ import annotations

import pytest

from detectors.rules.casebook import expand_case
from detectors.rules.loader import load_rules


@pytest.fixture(scope="session")
def pack():
    return load_rules()


@pytest.fixture(scope="session")
def by_name(pack):
    return {r.name: r for r in pack}


def feed(engine, case):
    """Run a casebook-style case through ``engine``; all alerts raised, in order."""
    out = []
    for is_alert, ev in expand_case(case):
        out += engine.observe_alert(ev) if is_alert else engine.process(ev)
    return out
