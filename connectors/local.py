"""The embedded single-machine stack behind ``parasol local up|down|status``.

One noida-db process serves the Kafka protocol and the Elasticsearch REST API on the loopback
ports of ``PARASOL_KAFKA`` / ``PARASOL_ES``; its data persists under ``<data_dir>/noida``.
The process runs detached (own session), so it outlives the ``parasol local up`` that started it;
``<data_dir>/noida.pid`` lets a later ``down`` or ``status`` find it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from connectors.kafka_admin import contract_topics, ensure_topics, wait_for_kafka
from connectors.settings import Settings

__all__ = ["LocalStack", "LocalStackError", "is_local", "running_stack", "noida_binary", "free_port"]

#: Python package that ships the noida-db binary (a module constant so tests can break it).
NOIDA_PACKAGE = "noida_db"


class LocalStackError(RuntimeError):
    """The embedded stack cannot be started or stopped; the message says why and what to do."""


# --- helpers shared with connectors.tansu -------------------------------------------------------


def _is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_local(settings: Settings) -> bool:
    """True when both the Kafka and the Elasticsearch endpoint are on loopback."""
    return _is_loopback(settings.kafka_host_port[0]) and _is_loopback(settings.es_host_port[0])


def free_port() -> int:
    """A loopback port nobody listens on right now (for tests, benchmarks and the demo's worker)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something already listens on (or holds) ``host:port``."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        # SO_REUSEADDR as servers set it: TIME_WAIT leftovers of a stack that
        # was just stopped must not count as "taken"; a listening socket still does.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def spawn(cmd: list[str], log_path: Path) -> tuple[subprocess.Popen, int]:
    """Start ``cmd`` detached (own session) with output appended to ``log_path``.

    Returns the process and the log offset where this run's output starts.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        offset = log.tell()
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    return proc, offset


def log_tail(log_path: Path, offset: int = 0, lines: int = 20) -> str:
    """The last ``lines`` of a log from ``offset``, without noida-db's harmless glibc warning."""
    try:
        with open(log_path, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    kept = [ln for ln in text.splitlines() if "weak version `GLIBC" not in ln]
    return "\n".join(kept[-lines:])


def pid_alive(pid: int, proc: subprocess.Popen | None = None) -> bool:
    """True when ``pid`` runs (a zombie does not count)."""
    if proc is not None and proc.pid == pid:
        return proc.poll() is None  # our child: poll() also reaps it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc (macOS): kill(0) is all we know


def stop_process(pid: int, proc: subprocess.Popen | None = None, timeout: float = 15) -> None:
    """SIGTERM the process group of ``pid``, wait ``timeout`` s, then SIGKILL it."""

    def signal_group(sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)

    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        if not pid_alive(pid, proc):
            return
        signal_group(sig)
        deadline = time.monotonic() + wait
        while pid_alive(pid, proc) and time.monotonic() < deadline:
            time.sleep(0.02)
    if pid_alive(pid, proc):
        raise LocalStackError(f"process {pid} did not stop even after SIGKILL")


# --- noida-db ------------------------------------------------------------------------------------


def noida_binary() -> Path:
    """Path of the binary in the ``noida-db`` wheel, found as its console script finds it."""
    name = "noida-db.exe" if os.name == "nt" else "noida-db"
    try:
        path = Path(str(resources.files(NOIDA_PACKAGE).joinpath(name)))
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise LocalStackError(
            "the noida-db binary was not found (it ships in the noida-db wheel); "
            "install it with `pip install noida-db` (or `pip install parasol`)"
        )
    if not os.access(path, os.X_OK):
        path.chmod(0o755)  # wheels don't always keep the mode bit; the console script does this too
    return path


def _es_answers(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/", timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


class LocalStack:
    """noida-db serving Kafka and Elasticsearch on the loopback ports of ``settings``.

    ``up()`` is idempotent; ``started`` tells whether the last ``up()`` started the process.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.data_dir = Path(settings.data_dir).expanduser()
        self.pid_file = self.data_dir / "noida.pid"
        self.log_file = self.data_dir / "noida.log"
        self.started = False
        self._proc: subprocess.Popen | None = None

    # --- state ---------------------------------------------------------------------------------
    def _pid(self) -> int | None:
        """Pid from the pid file if that process is alive and is noida-db, else None."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if not pid_alive(pid, self._proc):
            return None
        try:  # a recycled pid belongs to some other program
            if b"noida-db" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                return None
        except OSError:
            pass
        return pid

    def _answers(self, kafka_timeout: float = 2.0) -> bool:
        if not _es_answers(self.settings.es_hosts[0]):
            return False
        try:
            wait_for_kafka(self.settings.confluent_config(), timeout=kafka_timeout)
        except TimeoutError:
            return False
        return True

    def status(self) -> dict:
        """``{"kafka": ..., "es": ..., "running": bool}`` exactly (the contract's status JSON)."""
        running = self._pid() is not None and self._answers()
        return {"kafka": self.settings.kafka, "es": self.settings.es, "running": running}

    def details(self) -> dict:
        """Operator details that are not part of the contract's status JSON."""
        return {
            "pid": self._pid(),
            "data_dir": str(self.data_dir),
            "log": str(self.log_file),
            "pid_file": str(self.pid_file),
        }

    # --- lifecycle -----------------------------------------------------------------------------
    def up(self, timeout: float = 30) -> dict:
        """Start noida-db unless it runs, wait until both APIs answer, create contract topics."""
        s = self.settings
        hosts = {"PARASOL_KAFKA": s.kafka_host_port[0], "PARASOL_ES": s.es_host_port[0]}
        for var, host in hosts.items():
            if not _is_loopback(host):
                raise LocalStackError(f"{var} points elsewhere ({host}); nothing to start")
        deadline = time.monotonic() + timeout
        pid = self._pid()
        self.started = pid is None
        if pid is None:
            self._start(deadline)
        else:
            self._wait_ready(pid, deadline, log_offset=None)
        ensure_topics(
            s.confluent_config(),
            contract_topics(s),
            s.partitions,
            replication=1,  # one embedded broker
            timeout=max(deadline - time.monotonic(), 5),
        )
        return {"kafka": s.kafka, "es": s.es, "running": True}

    def _start(self, deadline: float) -> None:
        s = self.settings
        kafka_port, es_port = s.kafka_host_port[1], s.es_host_port[1]
        for var, port in (("PARASOL_KAFKA", kafka_port), ("PARASOL_ES", es_port)):
            if port_in_use(port):
                raise LocalStackError(
                    f"port {port} ({var}) is already taken by another program; stop it, or choose "
                    f"other ports with PARASOL_KAFKA / PARASOL_ES"
                )
        binary = noida_binary()
        (self.data_dir / "noida").mkdir(parents=True, exist_ok=True)
        cmd = [
            str(binary), "start",
            "--only", "kafka,elasticsearch",
            "--kafka-port", str(kafka_port),
            "--elasticsearch-port", str(es_port),
            "--data-dir", str(self.data_dir / "noida"),
        ]  # fmt: skip
        self._proc, offset = spawn(cmd, self.log_file)
        self.pid_file.write_text(f"{self._proc.pid}\n")
        try:
            self._wait_ready(self._proc.pid, deadline, log_offset=offset)
        except LocalStackError:
            self.down()  # don't leave a half-started process behind
            raise

    def _wait_ready(self, pid: int, deadline: float, log_offset: int | None) -> None:
        s = self.settings
        while True:
            if not pid_alive(pid, self._proc):
                self.pid_file.unlink(missing_ok=True)
                tail = log_tail(self.log_file, log_offset or 0)
                raise LocalStackError(f"noida-db (pid {pid}) exited while starting; log:\n{tail}")
            # ES answering means noida-db is serving; Kafka gets its own metadata probe below.
            if _es_answers(s.es_hosts[0], timeout=0.5):
                break
            if time.monotonic() >= deadline:
                raise LocalStackError(
                    f"noida-db (pid {pid}) runs but {s.es} did not answer in time; "
                    f"see {self.log_file}, or `parasol local down` and retry"
                )
            time.sleep(0.02)
        try:
            wait_for_kafka(s.confluent_config(), timeout=max(deadline - time.monotonic(), 1))
        except TimeoutError as exc:
            raise LocalStackError(f"noida-db (pid {pid}) runs; no Kafka answer: {exc}") from exc

    def down(self, timeout: float = 15) -> bool:
        """Stop noida-db (SIGTERM, then SIGKILL after ``timeout`` s); True if it was running.

        SIGTERM lets noida-db save its data; a SIGKILL loses roughly the last second of writes.
        """
        pid = self._pid()
        if pid is not None:
            stop_process(pid, self._proc, timeout)
        self.pid_file.unlink(missing_ok=True)
        self._proc = None
        return pid is not None


@contextlib.contextmanager
def running_stack(settings: Settings, timeout: float = 30) -> Iterator[LocalStack]:
    """``up()`` on enter, ``down()`` on exit — unless the stack was already running before."""
    stack = LocalStack(settings)
    stack.up(timeout)
    try:
        yield stack
    finally:
        if stack.started:
            stack.down()
