"""The CLI contract: `parasol local up|status --json|down` as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from connectors.settings import Settings
from tests.integration.conftest import free_port, settings_env

pytestmark = pytest.mark.integration


def parasol(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_local_up_status_down(tmp_path):
    s = Settings(kafka=f"127.0.0.1:{free_port()}", es=f"http://127.0.0.1:{free_port()}",
                 data_dir=tmp_path)
    env = settings_env(s)
    try:
        up = parasol(env, "local", "up")
        assert up.returncode == 0, up.stderr
        status = json.loads(parasol(env, "local", "status", "--json").stdout)
        assert status == {"kafka": s.kafka, "es": s.es, "running": True}
    finally:
        down = parasol(env, "local", "down")
    assert down.returncode == 0, down.stderr
    after = parasol(env, "local", "status", "--json")
    assert json.loads(after.stdout)["running"] is False


def test_local_up_reports_a_taken_port(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        s = Settings(kafka=f"127.0.0.1:{port}", es=f"http://127.0.0.1:{free_port()}", data_dir=tmp_path)
        up = parasol(settings_env(s), "local", "up")
    assert up.returncode == 2
    assert str(port) in up.stderr and "PARASOL_KAFKA" in up.stderr
