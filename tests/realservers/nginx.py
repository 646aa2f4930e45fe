"""A private nginx that writes the recommended ``parasol`` JSON log and the ``combined`` log.

Everything lives in a temp prefix directory: the generated ``conf/nginx.conf``, the pid file,
the error log (also passed with ``-e``, so the compiled-in /var/log/nginx/error.log is never
opened), the temp paths and both access logs. It listens on 127.0.0.1 at a free port, never on
port 80, and never reads the system's /etc/nginx.

Locations: ``/customers/<id>`` answers a JSON body, ``/boom`` a 500, everything else a 404.
Every request body is read and discarded (``return`` does that), so a POST works too.

Tests and CI run as root: the log files are opened by the master (root) anyway, and ``user
root;`` keeps the workers from dropping to ``www-data``, which may not exist in a container.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from connectors.local import free_port
from connectors.sources.access_logs import NGINX_CONFIG
from tests.realservers import skip_or_fail

__all__ = ["NginxServer", "NGINX_BIN", "available", "skip_unless_available"]

NGINX_BIN = os.environ.get("PARASOL_NGINX_BIN") or shutil.which("nginx") or "/usr/sbin/nginx"


def available() -> bool:
    return Path(NGINX_BIN).is_file() and os.access(NGINX_BIN, os.X_OK)


def skip_unless_available() -> None:
    """pytest.skip() when no nginx binary is installed."""
    if not available():
        skip_or_fail(f"nginx not available at {NGINX_BIN} (apt-get install nginx-light)")


class NginxServer:
    """A throw-away nginx on 127.0.0.1:<free port>.

    >>> srv = NginxServer().start()                    # doctest: +SKIP
    >>> urllib.request.urlopen(srv.url("/customers/1")).status  # doctest: +SKIP
    200
    """

    skip_unless_available = staticmethod(skip_unless_available)

    def __init__(self, server_name: str = "api.test"):
        self.server_name = server_name
        self.prefix: Path | None = None
        self.port = 0
        self.proc: subprocess.Popen | None = None

    # --- paths ---------------------------------------------------------------------------------

    def _path(self, name: str) -> Path:
        assert self.prefix is not None, "start() first"
        return self.prefix / "logs" / name

    def json_log(self) -> Path:
        """The access log in the recommended ``parasol`` JSON format."""
        return self._path("access.json")

    def combined_log(self) -> Path:
        """The access log in nginx's default ``combined`` format."""
        return self._path("access.log")

    def error_log(self) -> Path:
        return self._path("error.log")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    # --- lifecycle -----------------------------------------------------------------------------

    def _config(self) -> str:
        p = self.prefix
        user = "user root;\n" if os.geteuid() == 0 else ""
        kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        # Debian compiles in /var/lib/nginx/*: keep even the temp files inside the prefix.
        temp = "\n".join(f"    {kind}_temp_path {p}/tmp/{kind};" for kind in kinds)
        snippet = "\n".join("    " + line for line in NGINX_CONFIG.splitlines())
        return f"""{user}worker_processes 1;
error_log {p}/logs/error.log warn;
pid {p}/logs/nginx.pid;
events {{ worker_connections 64; }}
http {{
{temp}
    default_type application/json;
{snippet}
    server {{
        listen 127.0.0.1:{self.port};
        server_name {self.server_name};
        access_log {self.json_log()} parasol;
        access_log {self.combined_log()} combined;
        location /customers/ {{ return 200 '{{"id":"$uri","name":"Ada Lovelace"}}'; }}
        location = /boom {{ return 500; }}
        location / {{ return 404; }}
    }}
}}
"""

    def start(self, timeout: float = 10.0) -> NginxServer:
        if not available():
            raise RuntimeError(f"nginx not available at {NGINX_BIN}")
        if self.prefix is None:
            self.prefix = Path(tempfile.mkdtemp(prefix="parasol-nginx-"))
            for d in ("conf", "logs", "tmp"):
                (self.prefix / d).mkdir()
        self.port = free_port()
        conf = self.prefix / "conf" / "nginx.conf"
        conf.write_text(self._config())
        base = [NGINX_BIN, "-p", f"{self.prefix}/", "-c", str(conf), "-e", str(self.error_log())]
        test = subprocess.run([*base, "-t"], capture_output=True, text=True, timeout=30)
        if test.returncode != 0:
            raise RuntimeError(f"nginx -t failed:\n{test.stderr}\n--- {conf}\n{conf.read_text()}")
        # daemon off: the Popen is the master, so stop() can signal and wait for it directly.
        self.proc = subprocess.Popen(
            [*base, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(
                    f"nginx exited with {self.proc.returncode}: {err}\n{self._tail_error_log()}"
                )
            try:
                urllib.request.urlopen(self.url("/__ready"), timeout=1)
            except urllib.error.HTTPError:
                break  # the 404 of a live server
            except OSError:
                time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError(f"nginx did not answer within {timeout}s\n{self._tail_error_log()}")
        return self

    def _tail_error_log(self) -> str:
        try:
            return self.error_log().read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful shutdown (SIGQUIT lets workers finish and flush their log lines)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None

    def cleanup(self) -> None:
        """stop() and remove the prefix directory."""
        self.stop()
        if self.prefix is not None:
            shutil.rmtree(self.prefix, ignore_errors=True)
            self.prefix = None

    def __enter__(self) -> NginxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
