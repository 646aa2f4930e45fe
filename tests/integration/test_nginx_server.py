"""A real nginx writes the recommended JSON log and the combined log; both parse to the same requests.

No Kafka or Elasticsearch here: only the private nginx of tests/realservers/nginx.py.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from connectors.sources.access_logs import NginxParser
from connectors.sources.base import Emitted, Line, SourceOptions
from schemas.normalize import normalize_api
from tests.realservers.nginx import NginxServer, skip_unless_available


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


JWT = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64({'sub': 'alice', 'scope': 'read'})}.c2lnbmF0dXJl"

#: name → (method, path+query, headers, body, expected status). The user agent names the request,
#: so each one can be found in both logs.
REQUESTS = {
    "jwt": ("GET", "/customers/123", {"Authorization": f"Bearer {JWT}"}, None, 200),
    "xff": ("GET", "/customers/456", {"X-Forwarded-For": "203.0.113.9, 10.1.1.1"}, None, 200),
    "query": ("GET", "/customers/789?expand=orders&page=2", {}, None, 200),
    "missing": ("GET", "/no/such/thing", {}, None, 404),
    "boom": ("GET", "/boom", {}, None, 500),
    "post": (
        "POST", "/customers/",
        {"Content-Type": "application/json", "Authorization": "Basic " + base64.b64encode(b"bob:pw").decode()},
        b'{"name": "Grace Hopper", "email": "grace@example.com"}', 200,
    ),
}
EXPECTED = {
    # name: (user in the JSON view, user in the combined view, client IP with 1 trusted proxy)
    "jwt": ("alice", "-", "127.0.0.1"),
    "xff": ("-", "-", "10.1.1.1"),
    "query": ("-", "-", "127.0.0.1"),
    "missing": ("-", "-", "127.0.0.1"),
    "boom": ("-", "-", "127.0.0.1"),
    "post": ("bob", "bob", "127.0.0.1"),
}


@pytest.fixture(scope="module")
def nginx():
    skip_unless_available()
    srv = NginxServer().start()
    try:
        yield srv
    finally:
        srv.cleanup()


def _send(srv: NginxServer, name: str) -> int:
    method, target, headers, body, _ = REQUESTS[name]
    req = urllib.request.Request(srv.url(target), data=body, method=method,
                                 headers={**headers, "User-Agent": f"parasol-it/{name}"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _parse(path: Path, options: SourceOptions) -> dict[str, list[dict]]:
    """Every event of the file, grouped by the request name in the user agent."""
    parser = NginxParser(options)
    by_name: dict[str, list[dict]] = {}
    offset = 0
    for raw in path.read_bytes().splitlines(keepends=True):
        for out in parser.feed(Line(raw.rstrip(b"\n"), offset, offset + len(raw))):
            assert isinstance(out, Emitted), out
            normalize_api(out.event)
            ua = out.event.get("user_agent", {}).get("original", "")
            if ua.startswith("parasol-it/"):
                by_name.setdefault(ua.split("/", 1)[1], []).append(out.event)
        offset += len(raw)
    return by_name


def test_requests_appear_once_in_both_logs(nginx):
    for name, (*_, status) in REQUESTS.items():
        assert _send(nginx, name) == status, name

    opts = SourceOptions(trusted_proxies=1, routes=("/customers/{id}",))
    deadline = time.monotonic() + 5
    while True:  # nginx writes a line when the request ends; give the last one a moment
        js, comb = _parse(nginx.json_log(), opts), _parse(nginx.combined_log(), opts)
        if (set(js) == set(comb) == set(REQUESTS)) or time.monotonic() > deadline:
            break
        time.sleep(0.05)

    for name, (method, target, _, _, status) in REQUESTS.items():
        assert len(js.get(name, [])) == 1, (name, js.get(name))
        assert len(comb.get(name, [])) == 1, (name, comb.get(name))
        j, c = js[name][0], comb[name][0]
        path, _, query = target.partition("?")
        json_user, combined_user, ip = EXPECTED[name]
        for ev in (j, c):
            assert ev["http"]["request"]["method"] == method
            assert ev["url"]["path"] == path
            assert ev["url"].get("query") == (query or None)
            assert ev["http"]["response"]["status_code"] == status
            assert ev["event"]["outcome"] == ("success" if status < 400 else "failure")
            assert ev["event"]["module"] == "nginx"
        assert j["user"]["name"] == json_user and c["user"]["name"] == combined_user, name
        assert j["source"]["ip"] == ip and c["source"]["ip"] == "127.0.0.1", name
        # where the two views overlap they agree
        assert j["http"]["response"] == c["http"]["response"]
        assert j["url"] == c["url"] and j["user_agent"] == c["user_agent"]
        assert j.get("http", {}).get("route") == c.get("http", {}).get("route")
        assert j["@timestamp"][:19] == c["@timestamp"][:19]  # $msec and $time_local: one clock read
        # what only the JSON view has
        assert len(j["http"]["request"]["id"]) == 32 and len(j["event"]["id"]) == 32
        assert j["service"]["name"] == nginx.server_name and "duration_ms" in j["event"]
        assert "id" not in c["event"]
    assert js["jwt"][0]["http"]["route"] == "/customers/{id}"
    assert "route" not in js["missing"][0]["http"]
    # the token itself never reaches the log: only its payload segment
    log = nginx.json_log().read_text()
    assert JWT.split(".")[1] in log and JWT not in log and JWT.split(".")[2] not in log

