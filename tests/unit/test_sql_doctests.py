"""The docstring examples of detectors.sql are part of its contract: run them."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["detectors.sql", "detectors.sql.analyzer", "detectors.sql.commands",
           "detectors.sql.normalize", "detectors.sql.tree"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
