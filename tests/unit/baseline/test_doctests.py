"""The examples in the docstrings of detectors.baseline (and of the UEBA benchmark helpers) run."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import sys
from pathlib import Path

import pytest

import detectors.baseline

MODULES = ["detectors.baseline"] + [
    f"detectors.baseline.{m.name}" for m in pkgutil.iter_modules(detectors.baseline.__path__)]
BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.parametrize("name", ["ueba_scenarios", "ueba_offline"])
def test_benchmark_doctests(name, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    module = importlib.import_module(name)
    try:
        result = doctest.testmod(module)
    finally:
        sys.modules.pop(name, None)
    assert result.attempted > 0 and result.failed == 0
