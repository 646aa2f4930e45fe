r"""HTTP access logs (nginx, Envoy, Kong) → API access events (``parasol.api.access``).

Three parsers, one line = one request:

``nginx`` (:class:`NginxParser`)
    Both the recommended JSON format below (a line starting with ``{``) and nginx's default
    ``combined`` format, detected per line. The JSON format carries what ``combined`` cannot: a
    request id (so ``event.id`` is stable), millisecond time, latency, ``X-Forwarded-For``, the
    server name (→ ``service.name``) and the caller of a Bearer token. Put this in ``http { }``::

        # Only the payload (middle) segment of a Bearer JWT, never the whole Authorization
        # header: without its signature it cannot be replayed. parasol reads only "sub".
        map $http_authorization $parasol_jwt_payload {
            default "";
            "~*^bearer\s+[A-Za-z0-9_=-]+\.([A-Za-z0-9_=-]+)\." $1;
        }
        log_format parasol escape=json
            '{"msec":"$msec","request_id":"$request_id","server_name":"$server_name",'
            '"remote_addr":"$remote_addr","x_forwarded_for":"$http_x_forwarded_for",'
            '"remote_user":"$remote_user","jwt_payload":"$parasol_jwt_payload",'
            '"method":"$request_method","request_uri":"$request_uri","status":"$status",'
            '"body_bytes_sent":"$body_bytes_sent","request_time":"$request_time",'
            '"user_agent":"$http_user_agent"}';

    and log with it, next to any existing log, e.g. ``access_log /var/log/nginx/parasol.json
    parasol;``. When an upstream authenticates users and passes the name in a header (say
    ``X-User``), add ``"http_x_user":"$http_x_user"`` to the format and run the connector with
    ``user_header = "X-User"``: the key is ``http_`` + the header name in lower case with ``-`` →
    ``_``, as nginx names the variable. If nginx's realip module already rewrites
    ``$remote_addr``, keep ``trusted_proxies = 0``. The payload segment may hold other claims
    (name, email): protect the file like any access log.

``envoy`` (:class:`EnvoyParser`)
    Envoy's default text format (`access log docs
    <https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage>`_,
    "Default Format String"), Istio's default text format (the same plus response details,
    upstream cluster and downstream addresses: `Istio docs
    <https://istio.io/latest/docs/tasks/observability/logs/access-log/>`_), and ``json_format``
    logs keyed like Istio's JSON encoding (``start_time``, ``method``, ``path``,
    ``response_code``, ``bytes_sent``, ``duration``, ``x_forwarded_for``, ``user_agent``,
    ``request_id``, ``authority``, ``upstream_cluster``, ``downstream_remote_address``…; the
    ``x-forwarded-for`` / ``user-agent`` spellings are accepted too). Envoy's own default logs no
    peer address: the edge Envoy (``use_remote_address: true``) is assumed to have appended it to
    ``X-Forwarded-For``. Response code 0 (no response sent) cannot be a contract event: it goes to
    the dead-letter topic.

``kong`` (:class:`KongParser`)
    The JSON object the file-log / http-log / tcp-log plugins write (``kong.log.serialize()``,
    `log format <https://developer.konghq.com/plugins/file-log/>`_). Kong redacts the
    ``Authorization`` header, so the user comes from ``consumer.username`` (or a user header).

Mapping rules shared by all three
    * ``user.name``: the configured ``user_header`` (formats that carry headers) → the ``sub``
      claim of a Bearer JWT, decoded *without* verification (attribution, not authentication;
      a malformed token is ignored) → the authenticated user the format carries (nginx
      ``$remote_user``, Kong consumer) → ``-`` (anonymous).
    * ``source.ip``: :func:`client_ip` with ``trusted_proxies`` hops (the rightmost-untrusted rule).
    * ``service.name``: the log's own (Kong service name, Envoy upstream cluster, nginx
      ``$server_name`` — set by the config, unlike ``$host``, which the client chooses — / Envoy
      ``:authority``) → ``options.service`` → ``unknown``.
    * ``http.route``: the first matching ``options.routes`` template (``{name}`` = one segment),
      else Kong's matched route path.
    * ``event.outcome``: ``failure`` for status >= 400, else ``success``: the rule of Filebeat's
      nginx/ECS ingest pipelines, and 401/403/404 are what brute force and enumeration look like.
    * ``event.id`` only when the log carries a request id: ``stable_id(module, request_id,
      @timestamp)``. The time is part of it because Envoy may keep a client-supplied
      ``X-Request-ID``: a client must not be able to hide requests by repeating one id.
    * keys whose value is unknown are left out (never ``None``); client-controlled text longer
      than the contract allows (user agent, path, query…) is cut, not rejected, so that a huge
      header cannot push a request into the dead-letter topic; a line that cannot be read
      becomes :class:`Unparseable` (``bad_json`` / ``unparseable_line``).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from connectors.sources.base import (
    Emitted,
    Line,
    LineParser,
    Output,
    SourceOptions,
    Unparseable,
    rfc3339,
    stable_id,
)
from schemas.normalize import Limits

__all__ = [
    "NginxParser",
    "EnvoyParser",
    "KongParser",
    "NGINX_CONFIG",
    "client_ip",
    "jwt_subject",
    "RouteMatcher",
]

#: The ``http { }`` snippet of the module docstring (the test server uses exactly this).
NGINX_CONFIG = r"""
# Only the payload (middle) segment of a Bearer JWT, never the whole Authorization
# header: without its signature it cannot be replayed. parasol reads only "sub".
map $http_authorization $parasol_jwt_payload {
    default "";
    "~*^bearer\s+[A-Za-z0-9_=-]+\.([A-Za-z0-9_=-]+)\." $1;
}
log_format parasol escape=json
    '{"msec":"$msec","request_id":"$request_id","server_name":"$server_name",'
    '"remote_addr":"$remote_addr","x_forwarded_for":"$http_x_forwarded_for",'
    '"remote_user":"$remote_user","jwt_payload":"$parasol_jwt_payload",'
    '"method":"$request_method","request_uri":"$request_uri","status":"$status",'
    '"body_bytes_sent":"$body_bytes_sent","request_time":"$request_time",'
    '"user_agent":"$http_user_agent"}';
""".strip()

_ABSENT = ("", "-", None)
# The contract's size limits: normalize() rejects longer values, so a client could send a huge
# User-Agent or query to push its requests into the dead-letter topic. Cut here instead.
_TEXT = Limits.text_chars
_KEYWORD = Limits.keyword_chars


def _cap(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[:limit]


# --- shared helpers ------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _ip(text: str) -> str | None:
    """One address as logged (``1.2.3.4``, ``1.2.3.4:5678``, ``[::1]:80``, ``::1``) → canonical."""
    text = text.strip()
    if not text:
        return None
    if text[0] == "[":  # [v6] or [v6]:port
        text = text[1 : text.find("]")] if "]" in text else text[1:]
    elif text.count(":") == 1:  # v4:port (a bare v6 has at least two colons)
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def client_ip(peer: str | None, xff: str | None, trusted_proxies: int = 0) -> str | None:
    """The client address given the peer, ``X-Forwarded-For`` and the number of trusted proxies.

    The hops are the X-Forwarded-For entries followed by the peer. Each trusted proxy appended
    the address it saw, so skipping ``trusted_proxies`` hops from the right lands on the last
    address no trusted proxy vouches against; anything further left may be forged by the client.
    Unparseable entries are skipped; with fewer hops than trusted proxies the leftmost is taken.

    >>> client_ip("10.0.0.2", "198.51.100.1, 203.0.113.7, 10.0.0.1", 0)
    '10.0.0.2'
    >>> client_ip("10.0.0.2", "198.51.100.1, 203.0.113.7, 10.0.0.1", 2)
    '203.0.113.7'
    >>> client_ip("10.0.0.2", "198.51.100.1, unknown, 203.0.113.7", 1)
    '203.0.113.7'
    >>> client_ip(None, "203.0.113.7", 5)
    '203.0.113.7'
    """
    p = _ip(peer) if peer and peer != "-" else None
    if trusted_proxies <= 0 and p:
        return p
    hops = [ip for ip in map(_ip, xff.split(",")) if ip] if xff and xff != "-" else []
    if p:
        hops.append(p)
    if not hops:
        return None
    return hops[max(len(hops) - 1 - trusted_proxies, 0)]


@lru_cache(maxsize=4096)
def _jwt_sub_from_payload(segment: str) -> str | None:
    segment = segment.strip().rstrip("=")
    if not segment or len(segment) > 16384:
        return None
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError):
        return None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    if isinstance(sub, (int, str)) and not isinstance(sub, bool) and str(sub).strip():
        return str(sub).strip()
    return None


def jwt_subject(token_or_payload: str | None) -> str | None:
    """The ``sub`` claim of a JWT, *not verified*, or ``None`` (malformed input is not an error).

    Accepts ``Bearer <jwt>``, a bare ``<jwt>`` or just its payload segment (what the recommended
    nginx format logs).

    >>> jwt_subject("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln")
    'alice'
    >>> jwt_subject("eyJzdWIiOiJhbGljZSJ9"), jwt_subject("Bearer not-a-jwt"), jwt_subject("Basic Ym9i")
    ('alice', None, None)
    """
    if not token_or_payload or token_or_payload == "-":
        return None
    text = token_or_payload.strip()
    if " " in text:
        scheme, _, text = text.partition(" ")
        if scheme.lower() != "bearer":
            return None
        text = text.strip()
    parts = text.split(".")
    if len(parts) == 3:
        return _jwt_sub_from_payload(parts[1])
    if len(parts) == 1:
        return _jwt_sub_from_payload(parts[0])
    return None


class RouteMatcher:
    """Route templates (``/customers/{id}``) compiled once into one regex.

    Templates with fewer parameters win (``/customers/me`` before ``/customers/{id}``); a
    trailing slash on the request path is tolerated.

    >>> m = RouteMatcher(("/customers/{id}", "/customers/me", "/orders/{id}/items/{item}"))
    >>> m.match("/customers/42"), m.match("/customers/me"), m.match("/orders/7/items/3/"), m.match("/x")
    ('/customers/{id}', '/customers/me', '/orders/{id}/items/{item}', None)
    """

    _PARAM = re.compile(r"\{[^/{}]+\}")

    def __init__(self, templates: tuple[str, ...] | list[str]):
        def specificity(t: str) -> tuple[int, int]:
            return len(self._PARAM.findall(t)), -len(t)

        ordered = sorted(dict.fromkeys(templates), key=specificity)
        self.templates = ordered
        alts = []
        for t in ordered:
            pieces = self._PARAM.split(t.rstrip("/") or "/")
            alts.append("(" + "[^/]+".join(re.escape(p) for p in pieces) + ")")
        self._re = re.compile("(?:" + "|".join(alts) + ")/?") if alts else None

    def match(self, path: str) -> str | None:
        if self._re is None:
            return None
        m = self._re.fullmatch(path)
        return self.templates[m.lastindex - 1] if m and m.lastindex else None


@lru_cache(maxsize=4096)
def _second_text(sec: int) -> str:
    return datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _epoch_ms_text(ms: int) -> str:
    sec, milli = divmod(ms, 1000)
    return f"{_second_text(sec)}.{milli:03d}Z"


def _msec_text(value: str) -> str | None:
    """nginx ``$msec`` (``1767225600.123``) → RFC 3339 UTC."""
    sec, _, frac = value.partition(".")
    if not sec.isdigit() or (frac and not frac.isdigit()) or len(sec) > 11:
        return None
    return _epoch_ms_text(int(sec) * 1000 + int((frac + "000")[:3]))


_MONTHS = {m: f"{i:02d}" for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
_CANONICAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@lru_cache(maxsize=4096)
def _time_local_text(value: str) -> str | None:
    """nginx ``$time_local`` (``27/Nov/2026:08:00:01 +0800``) → RFC 3339 UTC."""
    try:
        numeric = value[:3] + _MONTHS[value[3:6]] + value[6:]
        dt = datetime.strptime(numeric, "%d/%m/%Y:%H:%M:%S %z")
    except (KeyError, ValueError):
        return None
    return rfc3339(dt)


@lru_cache(maxsize=4096)
def _iso_text(value: str) -> str | None:
    """An ISO 8601 / RFC 3339 time with an offset (Envoy START_TIME, nginx $time_iso8601) → UTC."""
    if _CANONICAL.fullmatch(value):
        return value
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return rfc3339(dt) if dt.tzinfo else None


def _number_time_text(value: Any) -> str | None:
    """Epoch seconds or milliseconds (int/float/str) → RFC 3339 UTC."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    if not v > 0:
        return None
    ms = int(round(v * 1000)) if v < 1e11 else int(v)
    try:
        return _epoch_ms_text(ms)
    except (OverflowError, OSError, ValueError):
        return None


def _any_time_text(value: Any) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number_time_text(value)
    if not isinstance(value, str) or value in _ABSENT:
        return None
    if value[0].isdigit() and value.replace(".", "", 1).isdigit():
        return _number_time_text(value)
    return _iso_text(value)


def _int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _ms(value: Any, scale: float = 1.0) -> float | None:
    """A non-negative latency (``scale`` converts to ms), rounded to µs."""
    if value in _ABSENT or isinstance(value, bool):
        return None
    try:
        v = float(value) * scale
    except (TypeError, ValueError):
        return None
    return round(v, 3) if v >= 0 and v == v and v != float("inf") else None


def _s(value: Any) -> str | None:
    """A logged string, or ``None`` for nginx/Envoy's empty markers."""
    if value in _ABSENT:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _header_keys(name: str | None) -> tuple[str, ...]:
    if not name:
        return ()
    low = name.strip().lower()
    return (low, low.replace("-", "_"))


_HEX_ESC = re.compile(rb"\\x([0-9A-Fa-f]{2})")


def _unescape(raw: bytes) -> str:
    r"""A field of nginx's default-escaped log (``\x22`` for ``"``, raw UTF-8 as ``\xE4``…)."""
    if b"\\x" in raw:
        raw = _HEX_ESC.sub(lambda m: bytes((int(m[1], 16),)), raw)
    return raw.decode("utf-8", "replace")


def _bad(line: Line, reason: str, message: str) -> list[Output]:
    return [Unparseable(line.data, reason, message, line.offset)]


def _load_json(line: Line) -> Any:
    try:
        return orjson.loads(line.data)
    except orjson.JSONDecodeError:
        # escape=json passes non-UTF-8 bytes through: keep the line, replace those bytes.
        return orjson.loads(line.data.decode("utf-8", "replace"))


@dataclass
class _AccessParser(LineParser):
    """What the three formats share: options compiled once, one event builder."""

    options: SourceOptions = field(default_factory=SourceOptions)
    name = "access"
    kind = "api"
    module = "access"

    def __post_init__(self) -> None:
        self._routes = RouteMatcher(self.options.routes) if self.options.routes else None
        self._user_keys = _header_keys(self.options.user_header)
        self._trusted = max(int(self.options.trusted_proxies or 0), 0)
        # nginx names the variable of header X-User $http_x_user; the format logs it under that key.
        self._nginx_user_key = "http_" + self._user_keys[1] if self._user_keys else None

    def _event(
        self,
        *,
        timestamp: str,
        method: str,
        uri: str,
        status: int,
        user: str | None,
        ip: str | None,
        service: str | None,
        request_id: str | None = None,
        user_agent: str | None = None,
        nbytes: int | None = None,
        duration_ms: float | None = None,
        route: str | None = None,
    ) -> dict:
        path, _, query = uri.partition("?")
        ev: dict[str, Any] = {
            "outcome": "failure" if status >= 400 else "success",
            "module": self.module,
        }
        request: dict[str, Any] = {"method": method}
        if request_id:
            ev["id"] = stable_id(self.module, request_id, timestamp)
            request["id"] = _cap(request_id, _KEYWORD)
        if duration_ms is not None:
            ev["duration_ms"] = duration_ms
        response: dict[str, Any] = {"status_code": status}
        if nbytes is not None:
            response["bytes"] = nbytes
        http: dict[str, Any] = {"request": request, "response": response}
        matched = self._routes.match(path) if self._routes else None
        if matched or route:
            http["route"] = _cap(matched or route, _KEYWORD)  # type: ignore[arg-type]
        url: dict[str, Any] = {"path": _cap(path, _TEXT) if path else "/"}
        if query:
            url["query"] = _cap(query, _TEXT)
        event: dict[str, Any] = {
            "@timestamp": timestamp,
            "event": ev,
            "user": {"name": _cap(user, _KEYWORD) if user else "-"},
            "service": {"name": _cap(service or self.options.service or "unknown", _KEYWORD)},
            "http": http,
            "url": url,
        }
        if ip:
            event["source"] = {"ip": ip}
        if user_agent:
            event["user_agent"] = {"original": _cap(user_agent, _TEXT)}
        return event

    def _emit(self, line: Line, event: dict) -> list[Output]:
        return [Emitted(self.kind, event, line.offset)]


def _method_ok(method: str | None) -> bool:
    return bool(method) and method.isalpha() and len(method) <= 16  # type: ignore[union-attr]


def _status(value: Any) -> int | None:
    s = _int(value)
    return s if s is not None and 100 <= s <= 599 else None


# --- nginx ---------------------------------------------------------------------------------------

# $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer"
# "$http_user_agent"; nginx escapes '"' as \x22, so a quoted field never holds a raw quote.
_COMBINED = re.compile(
    rb'(\S+) \S+ (.*?) \[([^\]]+)\] "([^"]*)" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"'
)


@dataclass
class NginxParser(_AccessParser):
    """nginx: the recommended ``parasol`` JSON format or the default ``combined`` format."""

    name = "nginx"
    module = "nginx"

    def parse(self, line: Line) -> list[Output]:
        data = line.data.lstrip()
        if data[:1] == b"{":
            return self._parse_json(line)
        return self._parse_combined(line)

    def _parse_json(self, line: Line) -> list[Output]:
        try:
            rec = _load_json(line)
        except orjson.JSONDecodeError as exc:
            return _bad(line, "bad_json", f"nginx JSON log line: {exc}")
        if not isinstance(rec, dict):
            return _bad(line, "bad_json", "nginx JSON log line is not an object")
        g = rec.get
        ts = _msec_text(str(g("msec", ""))) or _any_time_text(g("time_iso8601") or g("time"))
        method = _s(g("method") or g("request_method"))
        uri = _s(g("request_uri") or g("uri"))
        status = _status(g("status"))
        if ts is None or not _method_ok(method) or not uri or status is None:
            return _bad(line, "unparseable_line", "nginx JSON log line lacks msec, method, request_uri or status")
        user = _s(g(self._nginx_user_key)) if self._nginx_user_key else None
        user = user or jwt_subject(_s(g("jwt_payload"))) or _s(g("remote_user"))
        return self._emit(line, self._event(
            timestamp=ts,
            method=method,  # type: ignore[arg-type]
            uri=uri,
            status=status,
            user=user,
            ip=client_ip(_s(g("remote_addr")), _s(g("x_forwarded_for")), self._trusted),
            # $server_name comes from the config; $host from the client (older configs)
            service=(_s(g("server_name")) or "").strip("_") or _s(g("host")),
            request_id=_s(g("request_id")),
            user_agent=_s(g("user_agent") or g("http_user_agent")),
            nbytes=_int(g("body_bytes_sent")),
            duration_ms=_ms(g("request_time"), 1000.0),
        ))

    def _parse_combined(self, line: Line) -> list[Output]:
        m = _COMBINED.match(line.data)
        if m is None:
            return _bad(line, "unparseable_line", "not an nginx combined or parasol JSON log line")
        addr, ruser, tlocal, request, status, nbytes, _referer, agent = m.groups()
        ts = _time_local_text(tlocal.decode("ascii", "replace"))
        method, _, rest = _unescape(request).partition(" ")
        uri, _, proto = rest.rpartition(" ")
        if not proto.startswith("HTTP/"):  # HTTP/0.9: "GET /path"
            uri = rest
        st = _status(int(status))
        if ts is None or not _method_ok(method) or not uri or " " in uri or st is None:
            return _bad(line, "unparseable_line", "nginx combined line: bad time, request line or status")
        user = _unescape(ruser)
        return self._emit(line, self._event(
            timestamp=ts,
            method=method,
            uri=uri,
            status=st,
            user=None if user in _ABSENT else user,
            ip=client_ip(addr.decode("ascii", "replace"), None, self._trusted),
            service=None,
            user_agent=_s(_unescape(agent)),
            nbytes=None if nbytes == b"-" else int(nbytes),
        ))


# --- Envoy ---------------------------------------------------------------------------------------

# Envoy's default format: [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%
# %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
# %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
# "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%". Envoy does not escape header values,
# so the quoted fields are matched lazily and anchored on what follows them.
_ENVOY_TEXT = re.compile(
    rb'\[([^\]]+)\] "(\S+) (\S+) ([^"]*)" (\d+) \S+ (?:\d+|-) (\d+|-) (\d+|-) \S+ '
    rb'"(.*?)" "(.*?)" "(.*?)" "(.*?)" "(.*?)"\s*$'
)
# Istio's default (the same, plus %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%
# "%UPSTREAM_TRANSPORT_FAILURE_REASON%" after the flags and %UPSTREAM_CLUSTER%
# %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%
# %REQUESTED_SERVER_NAME% %ROUTE_NAME% at the end).
_ISTIO_TEXT = re.compile(
    rb'\[([^\]]+)\] "(\S+) (\S+) ([^"]*)" (\d+) \S+ \S+ \S+ "[^"]*" (?:\d+|-) (\d+|-) (\d+|-) \S+ '
    rb'"(.*?)" "(.*?)" "(.*?)" "(.*?)" "(.*?)" (\S+) \S+ \S+ (\S+) \S+ \S+\s*$'
)


def _host_only(authority: str | None) -> str | None:
    """``api.example.com:8443`` → ``api.example.com`` (``[v6]:port`` → ``[v6]``)."""
    if not authority:
        return None
    if authority.startswith("["):
        return authority.split("]")[0] + "]"
    return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority


def _cluster_service(cluster: str | None) -> str | None:
    """Istio's ``outbound|8080||orders.prod.svc.cluster.local`` → the host; ``inbound|80||`` → None."""
    if not cluster:
        return None
    if "|" in cluster:
        parts = cluster.split("|")
        return parts[3] if len(parts) > 3 and parts[3] else None
    return cluster


@dataclass
class EnvoyParser(_AccessParser):
    """Envoy: the default text format, Istio's default text format, or a ``json_format`` log."""

    name = "envoy"
    module = "envoy"

    def parse(self, line: Line) -> list[Output]:
        if line.data.lstrip()[:1] == b"{":
            return self._parse_json(line)
        return self._parse_text(line)

    def _build(
        self, line: Line, *, start: Any, method: str | None, path: str | None, code: Any,
        user: str | None, xff: str | None, peer: str | None, cluster: str | None,
        authority: str | None, request_id: str | None, user_agent: str | None, nbytes: Any,
        duration: Any,
    ) -> list[Output]:
        ts = _any_time_text(start)
        status = _status(code)
        if ts is None or not _method_ok(method) or not path:
            return _bad(line, "unparseable_line", "Envoy log line: no start time or no HTTP request (TCP?)")
        if status is None:  # Envoy logs 0 when no response was sent (client went away)
            return _bad(line, "unparseable_line", f"Envoy log line: response code {code!r}, no HTTP response")
        peer_ip = _ip(peer) if peer else None
        if peer_ip and xff and _ip(xff.rsplit(",", 1)[-1]) == peer_ip:
            peer = None  # an edge Envoy already appended the peer to X-Forwarded-For
        return self._emit(line, self._event(
            timestamp=ts,
            method=method,  # type: ignore[arg-type]
            uri=path,
            status=status,
            user=user,
            ip=client_ip(peer, xff, self._trusted),
            service=_cluster_service(cluster) or _host_only(authority),
            request_id=request_id,
            user_agent=user_agent,
            nbytes=_int(nbytes),
            duration_ms=_ms(duration),
        ))

    def _parse_text(self, line: Line) -> list[Output]:
        m = _ENVOY_TEXT.match(line.data)
        if m is not None:
            cluster = peer = None
            (start, method, path, _proto, code, tx, duration,
             xff, agent, rid, authority, _upstream_host) = (g.decode("utf-8", "replace") for g in m.groups())
        else:
            m = _ISTIO_TEXT.match(line.data)
            if m is None:
                return _bad(line, "unparseable_line", "not an Envoy or Istio default-format access log line")
            (start, method, path, _proto, code, tx, duration, xff, agent, rid, authority,
             _upstream_host, cluster, peer) = (g.decode("utf-8", "replace") for g in m.groups())
        return self._build(
            line, start=start, method=method, path=_s(path), code=code, user=None,
            # Without %DOWNSTREAM_REMOTE_ADDRESS% (Envoy's default) the edge Envoy is assumed to
            # have appended the peer to X-Forwarded-For (use_remote_address: true).
            xff=_s(xff), peer=_s(peer), cluster=_s(cluster), authority=_s(authority),
            request_id=_s(rid), user_agent=_s(agent), nbytes=tx, duration=duration,
        )

    def _parse_json(self, line: Line) -> list[Output]:
        try:
            rec = _load_json(line)
        except orjson.JSONDecodeError as exc:
            return _bad(line, "bad_json", f"Envoy JSON access log line: {exc}")
        if not isinstance(rec, dict):
            return _bad(line, "bad_json", "Envoy JSON access log line is not an object")

        def g(*keys: str) -> Any:
            for k in keys:
                v = rec.get(k)
                if v not in _ABSENT:
                    return v
            return None

        user = _s(g(*self._user_keys)) if self._user_keys else None
        user = (user or jwt_subject(_s(g("jwt_payload"))) or jwt_subject(_s(g("authorization")))
                or _s(g("user", "user_name")))
        return self._build(
            line,
            start=g("start_time", "timestamp", "@timestamp"),
            method=_s(g("method", ":method")),
            path=_s(g("path", "x-envoy-original-path", ":path")),
            code=g("response_code", "status"),
            user=user,
            xff=_s(g("x_forwarded_for", "x-forwarded-for")),
            peer=_s(g("downstream_direct_remote_address", "downstream_remote_address")),
            cluster=_s(g("upstream_cluster")),
            authority=_s(g("authority", ":authority")),
            request_id=_s(g("request_id", "x-request-id", "x_request_id")),
            user_agent=_s(g("user_agent", "user-agent")),
            nbytes=g("bytes_sent"),
            duration=g("duration"),
        )


# --- Kong ----------------------------------------------------------------------------------------


def _header(headers: Any, key: str) -> str | None:
    """A request header from Kong's ``headers`` table (lower-case keys; repeats come as lists)."""
    if not isinstance(headers, dict):
        return None
    v = headers.get(key)
    if isinstance(v, list):
        v = ", ".join(x for x in v if isinstance(x, str)) or None
    return _s(v)


def _kong_route(route: Any, path: str) -> str | None:
    """The matched Kong route: the longest of its prefix paths that the request path starts with."""
    if not isinstance(route, dict):
        return None
    paths = route.get("paths")
    if isinstance(paths, list):
        best = max((p for p in paths if isinstance(p, str) and p and not p.startswith("~")
                    and path.startswith(p)), key=len, default=None)
        if best:
            return best
    return _s(route.get("name"))


@dataclass
class KongParser(_AccessParser):
    """Kong: one ``kong.log.serialize()`` JSON object per line (file-log, http-log, tcp-log)."""

    name = "kong"
    module = "kong"

    def parse(self, line: Line) -> list[Output]:
        try:
            rec = _load_json(line)
        except orjson.JSONDecodeError as exc:
            return _bad(line, "bad_json", f"Kong log line: {exc}")
        if not isinstance(rec, dict):
            # http-log batches (max_batch_size > 1) are arrays: one line, one offset, so events
            # without a request id could not get distinct ids. Log with file-log instead.
            return _bad(line, "bad_json", "Kong log line is not one JSON object")
        req = rec.get("request")
        resp = rec.get("response")
        if not isinstance(req, dict) or not isinstance(resp, dict):
            return _bad(line, "unparseable_line", "Kong log line has no request/response objects")
        ts = _any_time_text(rec.get("started_at"))
        method = _s(req.get("method"))
        uri = _s(req.get("uri"))
        if not uri:  # older Kong: only the full URL
            rest = (_s(req.get("url")) or "").split("://", 1)[-1]
            uri = rest[rest.find("/"):] if "/" in rest else None
        status = _status(resp.get("status"))
        if ts is None or not _method_ok(method) or not uri or status is None:
            return _bad(line, "unparseable_line", "Kong log line lacks started_at, request method/uri or status")
        headers = req.get("headers")
        user = _header(headers, self._user_keys[0]) if self._user_keys else None
        consumer = rec.get("consumer")
        if not user:
            # Kong redacts Authorization ("REDACTED"): this only fires if that is turned off.
            user = jwt_subject(_header(headers, "authorization"))
        if not user and isinstance(consumer, dict):
            user = _s(consumer.get("username")) or _s(consumer.get("custom_id"))
        service = rec.get("service")
        latencies = rec.get("latencies")
        resp_headers = resp.get("headers")
        # Contract bytes = body size: Content-Length when Kong saw one, else response.size
        # ($bytes_sent, headers included).
        nbytes = _int(_header(resp_headers, "content-length"))
        if nbytes is None:
            nbytes = _int(resp.get("size"))
        return self._emit(line, self._event(
            timestamp=ts,
            method=method,  # type: ignore[arg-type]
            uri=uri,
            status=status,
            user=user,
            ip=client_ip(_s(rec.get("client_ip")), _header(headers, "x-forwarded-for"), self._trusted),
            service=_s(service.get("name")) if isinstance(service, dict) else None,
            request_id=_s(req.get("id")) or _header(resp_headers, "x-kong-request-id"),
            user_agent=_header(headers, "user-agent"),
            nbytes=nbytes,
            duration_ms=_ms(latencies.get("request")) if isinstance(latencies, dict) else None,
            route=_kong_route(rec.get("route"), uri.partition("?")[0]),
        ))
