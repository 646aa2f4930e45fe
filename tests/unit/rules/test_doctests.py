"""The examples in the rule stage's docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["fields", "conditions", "sqli", "scoring", "suppression", "windows", "annotate",
           "alerts", "actions", "export", "loader"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    mod = importlib.import_module(f"detectors.rules.{name}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
