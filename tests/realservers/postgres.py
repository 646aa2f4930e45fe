"""A private PostgreSQL 15 cluster with pgaudit, for tests that need the real log formats.

The cluster lives in its own directory under /tmp, listens on 127.0.0.1 at a free port (never
the system cluster's 5432) with SCRAM password authentication, so a failed login is possible,
and writes its log through the logging collector in the chosen ``log_destination``.

PostgreSQL refuses to run as root, and tests/CI run as root: the server binaries run through
``runuser -u postgres``, and the cluster directory is created by ``tempfile.mkdtemp`` under /tmp
and chowned to postgres (pytest's ``tmp_path`` is mode 0700 under /tmp/pytest-of-root, which
postgres cannot reach). Clients (psql, pgbench) run as the calling user over TCP or the socket.

Settings and why:

* ``pgaudit.log = 'all'``, ``pgaudit.log_catalog = off`` (psql's own catalog look-ups are noise).
* ``pgaudit.log_rows = on``: pgaudit 1.7 (the PG 15 release) has it; ROWS is appended after
  PARAMETER, so an AUDIT line then has 10 fields instead of 9.
* ``pgaudit.log_relation = on``: without it a SELECT/DML line names no object at all; with it
  pgaudit writes one line per relation touched, which is how the parser learns ``db.objects``.
* ``CREATE EXTENSION pgaudit`` in the test database: it installs pgaudit's event triggers,
  without which DDL lines name no object.
* ``log_connections`` / ``log_disconnections = on`` for login/logout events.
* ``lc_messages`` = C (initdb ``--locale=C``): the parser matches English messages.
* ``log_line_prefix`` = :data:`connectors.sources.pgaudit.STDERR_PREFIX` (the documented one).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

from connectors.local import free_port
from connectors.sources.pgaudit import STDERR_PREFIX
from tests.realservers import skip_or_fail

__all__ = ["PG_BIN", "PgServer", "available", "skip_unless_available"]

PG_BIN = Path(os.environ.get("PARASOL_PG_BIN", "/usr/lib/postgresql/15/bin"))
PGAUDIT_SO = Path("/usr/lib/postgresql/15/lib/pgaudit.so")

_SUFFIX = {"jsonlog": ".json", "csvlog": ".csv", "stderr": ".log"}
_TMP = os.environ.get("PARASOL_PG_TMP", "/tmp")  # must be reachable by the postgres OS user


def _missing() -> str | None:
    """Why a PgServer cannot run here, or ``None``."""
    for b in ("initdb", "pg_ctl", "postgres", "psql", "pgbench"):
        if not (PG_BIN / b).exists():
            return f"{PG_BIN / b} is missing (apt-get install postgresql-15)"
    if not PGAUDIT_SO.exists():
        return f"{PGAUDIT_SO} is missing (apt-get install postgresql-15-pgaudit)"
    if os.geteuid() == 0:
        if not shutil.which("runuser"):
            return "running as root needs runuser (util-linux) to start PostgreSQL as postgres"
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root needs a 'postgres' OS user to own the cluster"
    return None


def available() -> bool:
    return _missing() is None


def skip_unless_available() -> None:
    """pytest.skip() with the reason when PostgreSQL 15 + pgaudit are not installed."""
    why = _missing()
    if why:
        skip_or_fail(f"PostgreSQL 15 with pgaudit not available: {why}")


class PgServer:
    """A throw-away PostgreSQL 15 cluster with pgaudit and password login roles.

    ``users`` (default alice and bob) get ``LOGIN PASSWORD``; the first one owns ``database``
    and its public schema. The superuser ``postgres`` is reached over the (trusted) socket only.

    >>> with PgServer("csvlog") as pg:  # doctest: +SKIP
    ...     pg.psql("select 1", user="bob", app="report tool")
    ...     pg.stop()
    ...     lines = pg.log_files()[0].read_bytes().splitlines()
    """

    def __init__(
        self,
        log_destination: str = "jsonlog",
        *,
        log_timezone: str = "UTC",
        log_rows: bool = True,
        log_relation: bool = True,
        log_parameter: bool = False,
        users: dict[str, str] | None = None,
        database: str = "shop",
    ):
        if log_destination not in _SUFFIX:
            raise ValueError(f"log_destination must be one of {sorted(_SUFFIX)}")
        self.log_destination = log_destination
        self.log_timezone = log_timezone
        self.log_rows = log_rows
        self.log_relation = log_relation
        self.log_parameter = log_parameter
        self.passwords = users or {"alice": "alice-secret-1", "bob": "bob-secret-2"}
        self.database = database
        self.root: Path | None = None
        self.port = 0
        self.running = False

    # --- paths -------------------------------------------------------------------------------

    def _path(self, name: str) -> Path:
        if self.root is None:
            raise RuntimeError("the cluster does not exist: start() first")
        return self.root / name

    @property
    def data(self) -> Path:
        return self._path("data")

    @property
    def log_dir(self) -> Path:
        return self._path("log")

    @property
    def socket_dir(self) -> Path:
        return self._path("sock")

    # --- lifecycle ---------------------------------------------------------------------------

    def _as_postgres(
        self, *cmd: str | Path, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        args = [str(c) for c in cmd]
        if os.geteuid() == 0:
            args = ["runuser", "-u", "postgres", "--", *args]
        res = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
        if check and res.returncode != 0:
            log = self._tail_logs()
            raise RuntimeError(
                f"{' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}\n{log}"
            )
        return res

    def _tail_logs(self) -> str:
        if self.root is None:
            return ""
        out = []
        for p in sorted(self.root.rglob("*")):
            if p.is_file() and p.suffix in (".log", ".csv", ".json"):
                out.append(f"--- {p}\n" + p.read_text(errors="replace")[-3000:])
        return "\n".join(out)

    def start(self) -> Self:
        """initdb (first time), configure, start, create the roles and the database."""
        why = _missing()
        if why:
            raise RuntimeError(why)
        first = self.root is None
        if first:
            # /tmp (mode 1777) is reachable by postgres, pytest's tmp_path (0700, root's) is not;
            # the directory itself is then made postgres's.
            self.root = Path(tempfile.mkdtemp(prefix="parasol-pg-", dir=_TMP))
            for d in (self.log_dir, self.socket_dir):
                d.mkdir()
            if os.geteuid() == 0:
                shutil.chown(self.root, "postgres", "postgres")
                for d in (self.log_dir, self.socket_dir):
                    shutil.chown(d, "postgres", "postgres")
            self._as_postgres(
                PG_BIN / "initdb",
                "-D",
                self.data,
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-sync",
            )
            self._configure()
        for attempt in range(3):
            # free_port() is only free until someone else binds it: try another on a clash.
            self.port = free_port()
            res = self._as_postgres(
                PG_BIN / "pg_ctl",
                *("-D", self.data, "-w", "-t", "60", "-l", self._path("pg_ctl.out")),
                *("-o", f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1"),
                "start",
                check=attempt == 2,
            )
            if res.returncode == 0:
                break
        self.running = True
        if first:
            self._bootstrap()
        return self

    def _configure(self) -> None:
        def on(flag: bool) -> str:
            return "on" if flag else "off"

        conf = f"""
# --- parasol test cluster ---
shared_preload_libraries = 'pgaudit'
pgaudit.log = 'all'
pgaudit.log_catalog = off
pgaudit.log_relation = {on(self.log_relation)}
pgaudit.log_rows = {on(self.log_rows)}
pgaudit.log_parameter = {on(self.log_parameter)}
logging_collector = on
log_destination = '{self.log_destination}'
log_directory = '{self.log_dir}'
log_filename = 'postgresql-%Y-%m-%d_%H%M%S.log'
log_rotation_age = 0
log_rotation_size = 0
log_connections = on
log_disconnections = on
log_line_prefix = '{STDERR_PREFIX}'
log_timezone = '{self.log_timezone}'
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 20
shared_buffers = 32MB
"""
        with open(self.data / "postgresql.conf", "a") as f:
            f.write(conf)
        # TCP clients must give a password (so failed logins exist); the socket stays trusted
        # for the fixture's own superuser set-up.
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
        )

    def _bootstrap(self) -> None:
        stmts = [f"CREATE DATABASE {self.database}"]
        for user, pw in self.passwords.items():
            stmts.append(f"CREATE ROLE {user} LOGIN PASSWORD '{pw}'")
        for s in stmts:
            self.psql(s, superuser=True, db="postgres")
        owner = next(iter(self.passwords))
        self.psql(f"ALTER DATABASE {self.database} OWNER TO {owner}", superuser=True, db="postgres")
        self.psql(f"ALTER SCHEMA public OWNER TO {owner}", superuser=True)
        # The extension installs pgaudit's event triggers: without them DDL lines name no object.
        self.psql("CREATE EXTENSION IF NOT EXISTS pgaudit", superuser=True)

    def stop(self) -> None:
        """Fast shutdown; the logging collector has written everything when this returns."""
        if self.running:
            self.running = False
            self._as_postgres(
                PG_BIN / "pg_ctl", "-D", self.data, "-w", "-t", "60", "-m", "fast", "stop"
            )

    def cleanup(self) -> None:
        """Stop (if running) and remove the cluster directory, whatever state it is in."""
        try:
            self.stop()
        finally:
            if self.root is not None:
                shutil.rmtree(self.root, ignore_errors=True)
                self.root = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    # --- clients -----------------------------------------------------------------------------

    def _client_env(self, user: str, password: str | None, app: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["PGUSER"] = user
        if password is not None:
            env["PGPASSWORD"] = password
        if app is not None:
            env["PGAPPNAME"] = app
        env["PGCONNECT_TIMEOUT"] = "10"
        return env

    def psql(
        self,
        sql: str,
        *,
        user: str = "alice",
        password: str | None = None,
        app: str | None = None,
        db: str | None = None,
        superuser: bool = False,
        check: bool = True,
        on_error_stop: bool = True,
    ) -> subprocess.CompletedProcess:
        """Run ``sql`` in one psql session (one server session); returns the finished process.

        Over TCP with a password (the password of ``user`` by default) unless ``superuser``, which
        connects as postgres through the trusted socket. ``on_error_stop=False`` goes on after a
        failing statement (psql then exits 0 unless ``check`` sees a connection failure).
        """
        if superuser:
            host, user, password = str(self.socket_dir), "postgres", None
        else:
            host = "127.0.0.1"
            if password is None:
                password = self.passwords.get(user, "")
        env = self._client_env(user, password, app)
        res = subprocess.run(
            [
                str(PG_BIN / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                f"ON_ERROR_STOP={int(on_error_stop)}",
                "-h",
                host,
                "-p",
                str(self.port),
                "-d",
                db or self.database,
            ],
            input=sql,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        if check and res.returncode != 0:
            raise RuntimeError(f"psql as {user} failed ({res.returncode}): {res.stderr.strip()}")
        return res

    def pgbench(
        self,
        *args: str,
        user: str = "alice",
        app: str | None = "pgbench",
        init: bool = False,
        scale: int = 1,
    ) -> int:
        """Run pgbench (``init``: ``pgbench -i``) as ``user`` with application name ``app``.

        Returns the transactions pgbench reports as processed (0 for ``init``). Each TPC-B
        transaction is 7 statements: BEGIN, 3 UPDATEs, SELECT, INSERT, END.
        """
        env = self._client_env(user, self.passwords.get(user, ""), app)
        cmd = [str(PG_BIN / "pgbench"), "-h", "127.0.0.1", "-p", str(self.port)]
        cmd += ["-i", "-s", str(scale), "-q"] if init else []
        cmd += [*args, self.database]
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
        if res.returncode != 0:
            raise RuntimeError(f"pgbench failed ({res.returncode}): {res.stdout}\n{res.stderr}")
        if init:
            return 0
        m = re.search(r"number of transactions actually processed: (\d+)", res.stdout)
        if not m:
            raise RuntimeError(f"pgbench output without a transaction count:\n{res.stdout}")
        return int(m.group(1))

    # --- logs --------------------------------------------------------------------------------

    def log_files(self) -> list[Path]:
        """Log files of the chosen destination, oldest first."""
        return sorted(self.log_dir.glob("postgresql-*" + _SUFFIX[self.log_destination]))

    def wait_for_log(self, needle: str, timeout: float = 10.0) -> None:
        """Wait until ``needle`` shows in the log (the collector writes asynchronously)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p in self.log_files():
                if needle in p.read_text(errors="replace"):
                    return
            time.sleep(0.05)
        raise TimeoutError(f"{needle!r} not in {self.log_files()} after {timeout}s")
