"""The examples in the sensitive-data modules' docstrings run (``testpaths`` does not collect
doctests, so this test does)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import detectors.sensitive

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(detectors.sensitive.__path__, "detectors.sensitive.")
) + ["detectors.sensitive"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
