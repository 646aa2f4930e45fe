"""Private instances of real servers (PostgreSQL + pgaudit, MariaDB + server_audit, nginx) for tests.

Where a server is not installed its tests skip — except when ``PARASOL_REQUIRE_REAL_SERVERS`` is
set (``.ci/run`` sets it after installing them): then a missing server fails the run instead of
quietly skipping the tests that matter most.
"""

from __future__ import annotations

import os


def skip_or_fail(reason: str) -> None:
    import pytest

    if os.environ.get("PARASOL_REQUIRE_REAL_SERVERS"):
        pytest.fail(f"{reason} (PARASOL_REQUIRE_REAL_SERVERS is set)")
    pytest.skip(reason)
