"""A private MariaDB server with the server_audit plugin, for tests that need its real log.

The server gets its own data directory (``mariadb-install-db --no-defaults``), listens on
127.0.0.1 at a free port (never the system server's 3306) and a socket of its own, and writes
the audit log to ``audit.log`` in its directory. Grants are on (no ``--skip-grant-tables``), so
password logins and failed logins are real.

Settings and why:

* ``--no-defaults`` everywhere: the machine's my.cnf (port 3306, its datadir) must not leak in.
* ``--server-audit-events=CONNECT,QUERY,TABLE``; ``--server-audit-query-log-limit`` raised from
  the default 1024 characters, which truncates longer statements.
* ``--skip-name-resolve``: the audit ``host`` field is then the client address (``127.0.0.1``),
  not ``localhost``, so events carry ``source.ip``.
* ``--query-cache-type=0``: with the query cache on, server_audit warns that cached reads hide
  TABLE records.
* Small InnoDB buffer pool, no binary log: startup in about a second.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from connectors.local import free_port
from tests.realservers import skip_or_fail

__all__ = ["MariaDbServer", "skip_unless_available", "available"]

_SBIN = ("/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin")


def _find(*names: str) -> str | None:
    for n in names:
        p = shutil.which(n)
        if p:
            return p
        for d in _SBIN:
            if os.access(f"{d}/{n}", os.X_OK):
                return f"{d}/{n}"
    return None


def _binaries() -> dict[str, str | None]:
    return {
        "server": _find("mariadbd", "mysqld"),
        "install": _find("mariadb-install-db", "mysql_install_db"),
        "client": _find("mariadb", "mysql"),
    }


def _plugin_dir(server: str) -> Path | None:
    try:
        out = subprocess.run([server, "--no-defaults", "--verbose", "--help"], capture_output=True,
                             text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"^plugin-dir\s+(\S+)", out, re.M)
    return Path(m.group(1)) if m else None


def _missing() -> str | None:
    """Why a MariaDbServer cannot run here, or ``None``."""
    bins = _binaries()
    for role, path in bins.items():
        if path is None:
            return f"no MariaDB {role} binary (apt-get install mariadb-server mariadb-client)"
    pdir = _plugin_dir(bins["server"])  # type: ignore[arg-type]
    if pdir is None or not (pdir / "server_audit.so").exists():
        return f"server_audit.so not found in the plugin dir {pdir} (it ships with mariadb-server)"
    return None


def available() -> bool:
    return _missing() is None


def skip_unless_available() -> None:
    """pytest.skip() with the reason when MariaDB with server_audit is not installed."""
    why = _missing()
    if why:
        skip_or_fail(f"MariaDB with server_audit not available: {why}")


class MariaDbServer:
    """A throw-away MariaDB server with server_audit logging CONNECT, QUERY and TABLE events.

    >>> srv = MariaDbServer().start()                              # doctest: +SKIP
    >>> srv.sql("create user alice identified by 'pw'")            # doctest: +SKIP
    >>> srv.sql("select 1", user="alice", password="pw")           # doctest: +SKIP
    >>> srv.audit_log().read_bytes()                               # doctest: +SKIP
    """

    def __init__(self, root: Path | None = None, *, query_log_limit: int = 1 << 20):
        self.root = Path(root) if root else None
        self._own_root = root is None  # a directory made here is removed by remove()
        self.query_log_limit = query_log_limit
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self._bins = _binaries()

    # --- paths -------------------------------------------------------------------------------

    @property
    def datadir(self) -> Path:
        assert self.root is not None, "start() first"
        return self.root / "data"

    @property
    def socket(self) -> Path:
        return self.root / "mariadb.sock"  # type: ignore[operator]

    def audit_log(self) -> Path:
        """The server_audit file log."""
        return self.root / "audit.log"  # type: ignore[operator]

    @property
    def error_log(self) -> Path:
        return self.root / "error.log"  # type: ignore[operator]

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 30) -> MariaDbServer:
        """Initialise the data directory (first time), start the server, wait until it answers."""
        why = _missing()
        if why:
            raise RuntimeError(why)
        if self.root is None:
            # A short path: the socket path must fit in sun_path (108 bytes).
            self.root = Path(tempfile.mkdtemp(prefix="parasol-mdb-"))
        root_user = ["--user=root"] if os.geteuid() == 0 else []
        if not (self.datadir / "mysql").exists():
            # normal root authentication (not unix_socket) and no test database / anonymous users
            res = subprocess.run(
                [self._bins["install"], "--no-defaults", f"--datadir={self.datadir}",
                 "--skip-test-db", "--auth-root-authentication-method=normal", *root_user],
                capture_output=True, text=True, timeout=120,
            )
            if res.returncode != 0:
                raise RuntimeError(f"mariadb-install-db failed ({res.returncode}):\n"
                                   f"{res.stdout}\n{res.stderr}")
        self.port = free_port()
        cmd = [
            self._bins["server"], "--no-defaults", f"--datadir={self.datadir}",
            f"--socket={self.socket}", f"--port={self.port}", "--bind-address=127.0.0.1",
            *root_user,
            f"--pid-file={self.root / 'mariadbd.pid'}", f"--log-error={self.error_log}",
            "--skip-name-resolve", "--skip-log-bin", "--query-cache-type=0", "--query-cache-size=0",
            "--innodb-buffer-pool-size=16M", "--max-connections=50",
            "--plugin-load-add=server_audit", "--server-audit-logging=ON",
            f"--server-audit-file-path={self.audit_log()}",
            "--server-audit-events=CONNECT,QUERY,TABLE",
            f"--server-audit-query-log-limit={self.query_log_limit}",
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mariadbd exited {self.proc.returncode}:\n{self._error_tail()}")
            ping = self._client("select 1", socket=True, check=False)
            if ping.returncode == 0:
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"mariadbd did not answer within {timeout}s:\n"
                                   f"{self._error_tail()}")
            time.sleep(0.1)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM (a clean shutdown), SIGKILL if it does not end in time."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def remove(self) -> None:
        """stop(), then delete the directory if this object created it."""
        self.stop()
        if self._own_root and self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> MariaDbServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.remove()

    def _error_tail(self) -> str:
        try:
            return self.error_log.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no error log)"

    # --- clients -----------------------------------------------------------------------------

    def _client(self, text: str | None, *, user: str = "root", password: str | None = None,
                db: str | None = None, socket: bool = False, stdin: str | None = None,
                check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        args = [self._bins["client"], "--no-defaults", "--batch", "--comments", f"--user={user}"]
        if socket:  # root's bootstrap path; everything else goes over TCP like a real client
            args.append(f"--socket={self.socket}")
        else:
            args += ["--protocol=tcp", "--host=127.0.0.1", f"--port={self.port}"]
        if text is not None:
            args += ["-e", text]
        if db:
            args.append(db)
        env = dict(os.environ)
        env.pop("MYSQL_PWD", None)
        if password is not None:
            env["MYSQL_PWD"] = password  # not on the command line (no warning, not in ps)
        res = subprocess.run(args, input=stdin, capture_output=True, text=True, env=env,
                             timeout=timeout)
        if check and res.returncode != 0:
            raise RuntimeError(f"mariadb client failed ({res.returncode}) as {user}: "
                               f"{res.stderr.strip()}")
        return res

    def sql(self, text: str, user: str = "root", password: str | None = None, db: str | None = None,
            check: bool = True) -> subprocess.CompletedProcess:
        """Run ``text`` (one or more statements) in one client session over TCP.

        ``check=False`` returns the failed process instead of raising (failing statements and
        failed logins are part of what tests audit).
        """
        return self._client(text, user=user, password=password, db=db, check=check)

    def load(self, statements: list[str], user: str = "root", password: str | None = None,
             db: str | None = None) -> int:
        """Send ``statements`` through one client session (stdin, one per line); returns how many.

        A known count, unlike mariadb-slap, which adds statements of its own.
        """
        for s in statements:
            if "\n" in s:
                raise ValueError("load() statements must be one line each")
        self._client(None, user=user, password=password, db=db,
                     stdin="".join(s.rstrip(";") + ";\n" for s in statements))
        return len(statements)

    def audit_lines(self) -> list[bytes]:
        try:
            return self.audit_log().read_bytes().splitlines()
        except FileNotFoundError:
            return []

    def wait_audit(self, predicate, timeout: float = 10) -> list[bytes]:
        """Poll the audit log until ``predicate(lines)`` holds (DISCONNECTs come late)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.audit_lines()
            if predicate(lines):
                return lines
            if time.monotonic() > deadline:
                raise AssertionError(f"audit log did not reach the expected state in {timeout}s "
                                     f"({len(lines)} lines; last: {lines[-3:]!r})")
            time.sleep(0.05)
