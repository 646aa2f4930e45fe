"""nginx / Envoy / Kong access-log parsers: real and documented lines → contract API events."""

from __future__ import annotations

import base64
import json

import orjson
import pytest

import connectors.sources.access_logs as access_logs
from connectors.sources.access_logs import (
    NGINX_CONFIG,
    EnvoyParser,
    KongParser,
    NginxParser,
    RouteMatcher,
    client_ip,
    jwt_subject,
)
from connectors.sources.base import Emitted, Line, SourceOptions, Unparseable
from schemas.normalize import normalize_api


def feed(parser, data: bytes, offset: int = 0):
    return parser.feed(Line(data, offset, offset + len(data) + 1))


def event_of(parser, data: bytes) -> dict:
    out = feed(parser, data)
    assert len(out) == 1 and isinstance(out[0], Emitted), out
    assert out[0].kind == "api"
    ev = out[0].event
    assert_no_none(ev)
    normalize_api(ev)  # the contract validator must accept it
    return ev


def assert_no_none(d: dict, path: str = "") -> None:
    for k, v in d.items():
        assert v is not None, f"{path}{k} is None"
        if isinstance(v, dict):
            assert v, f"{path}{k} is an empty object"
            assert_no_none(v, f"{path}{k}.")


def b64url(obj, pad: bool = False) -> str:
    s = base64.urlsafe_b64encode(json.dumps(obj).encode()).decode()
    return s if pad else s.rstrip("=")


def make_jwt(claims: dict, pad: bool = False) -> str:
    return f"{b64url({'alg': 'HS256', 'typ': 'JWT'}, pad)}.{b64url(claims, pad)}.c2lnbmF0dXJl"


# --- nginx: lines captured from tests/realservers/nginx.py (nginx 1.22.1, NGINX_CONFIG) -----------

NGINX_JSON_JWT = (
    b'{"msec":"1795738596.815","request_id":"cb3e963c7362415cdba1cfd3ffe28caf","server_name":"api.test",'
    b'"remote_addr":"127.0.0.1","x_forwarded_for":"","remote_user":"",'
    b'"jwt_payload":"eyJzdWIiOiAiYWxpY2UiLCAibmFtZSI6ICJBbGljZSBcdTAwYzQifQ","method":"GET",'
    b'"request_uri":"/customers/123","status":"200","body_bytes_sent":"45","request_time":"0.000",'
    b'"user_agent":"ua \\"quoted\\" \xe9"}'  # escape=json passes the client's latin-1 byte through
)
NGINX_JSON_XFF = (
    b'{"msec":"1795738596.815","request_id":"4ea41a3e9e90bc5f8d9289664200f375","server_name":"api.test",'
    b'"remote_addr":"127.0.0.1","x_forwarded_for":"203.0.113.9, 10.1.1.1","remote_user":"",'
    b'"jwt_payload":"","method":"GET","request_uri":"/customers/456?expand=orders&x=1","status":"200",'
    b'"body_bytes_sent":"45","request_time":"0.000","user_agent":"Python-urllib/3.11"}'
)
NGINX_JSON_500 = (
    b'{"msec":"1795738596.816","request_id":"545c8651360a519e9e4f8b1a3457545c","server_name":"api.test",'
    b'"remote_addr":"127.0.0.1","x_forwarded_for":"","remote_user":"","jwt_payload":"","method":"GET",'
    b'"request_uri":"/boom","status":"500","body_bytes_sent":"177","request_time":"0.012",'
    b'"user_agent":"Python-urllib/3.11"}'
)
NGINX_JSON_BASIC = (
    b'{"msec":"1795738596.816","request_id":"0d6e79441a1fd14eb168d09d695c8d6a","server_name":"api.test",'
    b'"remote_addr":"127.0.0.1","x_forwarded_for":"","remote_user":"bob","jwt_payload":"",'
    b'"method":"POST","request_uri":"/customers/","status":"200","body_bytes_sent":"42",'
    b'"request_time":"0.000","user_agent":"Python-urllib/3.11"}'
)
NGINX_COMBINED_UA = (
    b'127.0.0.1 - - [27/Nov/2026:00:16:36 +0000] "GET /customers/123 HTTP/1.1" 200 45 "-" '
    b'"ua \\x22quoted\\x22 \\xE9"'
)
NGINX_COMBINED_QUERY = (
    b'127.0.0.1 - - [27/Nov/2026:00:16:36 +0000] "GET /customers/456?expand=orders&x=1 HTTP/1.1" '
    b'200 45 "-" "Python-urllib/3.11"'
)
NGINX_COMBINED_404 = b'127.0.0.1 - - [27/Nov/2026:00:16:36 +0000] "GET /nope HTTP/1.1" 404 153 "-" "Python-urllib/3.11"'
NGINX_COMBINED_BASIC = (
    b'127.0.0.1 - bob [27/Nov/2026:00:16:36 +0000] "POST /customers/ HTTP/1.1" 200 42 "-" "Python-urllib/3.11"'
)

ROUTES = SourceOptions(routes=("/customers/{id}", "/customers/"))


def test_nginx_json_jwt_line():
    ev = event_of(NginxParser(ROUTES), NGINX_JSON_JWT)
    assert ev["@timestamp"] == "2026-11-27T00:16:36.815Z"
    assert ev["user"] == {"name": "alice"}
    assert ev["source"] == {"ip": "127.0.0.1"}
    assert ev["service"] == {"name": "api.test"}  # $server_name
    assert ev["http"] == {
        "request": {"method": "GET", "id": "cb3e963c7362415cdba1cfd3ffe28caf"},
        "response": {"status_code": 200, "bytes": 45},
        "route": "/customers/{id}",
    }
    assert ev["url"] == {"path": "/customers/123"}
    assert ev["event"]["outcome"] == "success" and ev["event"]["module"] == "nginx"
    assert ev["event"]["duration_ms"] == 0.0
    assert len(ev["event"]["id"]) == 32
    assert ev["user_agent"]["original"] == 'ua "quoted" \ufffd'


def test_nginx_json_query_xff_and_failure():
    p = NginxParser(SourceOptions(trusted_proxies=1))
    ev = event_of(p, NGINX_JSON_XFF)
    assert ev["url"] == {"path": "/customers/456", "query": "expand=orders&x=1"}
    assert ev["source"]["ip"] == "10.1.1.1"  # one trusted proxy: the peer 127.0.0.1
    assert event_of(NginxParser(SourceOptions(trusted_proxies=2)), NGINX_JSON_XFF)["source"]["ip"] == "203.0.113.9"
    assert event_of(NginxParser(), NGINX_JSON_XFF)["source"]["ip"] == "127.0.0.1"
    ev = event_of(p, NGINX_JSON_500)
    assert ev["event"]["outcome"] == "failure" and ev["event"]["duration_ms"] == 12.0
    assert ev["user"]["name"] == "-"


def test_nginx_json_and_combined_agree():
    p = NginxParser(ROUTES)
    j = event_of(p, NGINX_JSON_BASIC)
    c = event_of(p, NGINX_COMBINED_BASIC)
    for key in ("user", "source", "url", "user_agent"):
        assert j[key] == c[key], key
    assert j["user"]["name"] == "bob"
    assert j["http"]["route"] == c["http"]["route"] == "/customers/"
    assert c["@timestamp"] == "2026-11-27T00:16:36.000Z" == j["@timestamp"][:-4] + "000Z"
    assert c["service"] == {"name": "unknown"}  # combined carries no host
    assert "id" not in c["event"] and "id" not in c["http"]["request"]  # the tailer derives one


def test_nginx_combined_lines():
    p = NginxParser(ROUTES)
    ev = event_of(p, NGINX_COMBINED_UA)
    assert ev["user_agent"]["original"] == 'ua "quoted" \ufffd'  # \x22 unescaped, \xE9 not UTF-8
    assert ev["user"]["name"] == "-" and ev["http"]["route"] == "/customers/{id}"
    ev = event_of(p, NGINX_COMBINED_QUERY)
    assert ev["url"] == {"path": "/customers/456", "query": "expand=orders&x=1"}
    ev = event_of(p, NGINX_COMBINED_404)
    assert ev["http"]["response"] == {"status_code": 404, "bytes": 153}
    assert ev["event"]["outcome"] == "failure" and "route" not in ev["http"]
    # a time zone in $time_local, UTF-8 escaped by nginx, HTTP/0.9 request line
    ev = event_of(p, b'10.0.0.7 - - [27/Nov/2026:08:00:01 +0800] "GET /caf\\xC3\\xA9" 200 5 "-" "-"')
    assert ev["@timestamp"] == "2026-11-27T00:00:01.000Z"
    assert ev["url"]["path"] == "/caf\u00e9" and "user_agent" not in ev
    ev = event_of(NginxParser(SourceOptions(service="shop-api")), NGINX_COMBINED_404)
    assert ev["service"]["name"] == "shop-api"


def test_nginx_user_precedence():
    base = orjson.loads(NGINX_JSON_BASIC)
    jwt_payload = make_jwt({"sub": "alice"}).split(".")[1]
    line = orjson.dumps({**base, "jwt_payload": jwt_payload, "http_x_user": "carol"})
    assert event_of(NginxParser(), line)["user"]["name"] == "alice"  # JWT sub before $remote_user
    opts = SourceOptions(user_header="X-User")
    assert event_of(NginxParser(opts), line)["user"]["name"] == "carol"  # configured header first
    line = orjson.dumps({**base, "jwt_payload": "!!not-base64!!"})
    assert event_of(NginxParser(), line)["user"]["name"] == "bob"  # malformed token ignored
    line = orjson.dumps({**base, "remote_user": "", "http_x_user": ""})
    assert event_of(NginxParser(opts), line)["user"]["name"] == "-"


def test_nginx_stable_ids():
    p = NginxParser()
    a, b = event_of(p, NGINX_JSON_500), event_of(p, NGINX_JSON_500)
    assert a["event"]["id"] == b["event"]["id"] != event_of(p, NGINX_JSON_BASIC)["event"]["id"]
    assert a["http"]["request"]["id"] == "545c8651360a519e9e4f8b1a3457545c"


def test_recommended_config_is_documented():
    doc = access_logs.__doc__
    for line in NGINX_CONFIG.splitlines():
        assert line.strip() in doc, line
    assert "$http_authorization" in NGINX_CONFIG and '"$http_authorization"' not in NGINX_CONFIG


# --- client IP ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "peer, xff, n, expected",
    [
        ("10.0.0.2", None, 0, "10.0.0.2"),
        ("10.0.0.2", "203.0.113.7", 0, "10.0.0.2"),  # untrusted XFF is ignored
        ("10.0.0.2", "203.0.113.7", 1, "203.0.113.7"),
        ("10.0.0.2", "198.51.100.1, 203.0.113.7, 10.0.0.1", 1, "10.0.0.1"),
        ("10.0.0.2", "198.51.100.1, 203.0.113.7, 10.0.0.1", 2, "203.0.113.7"),
        ("10.0.0.2", "198.51.100.1,203.0.113.7,10.0.0.1", 3, "198.51.100.1"),
        ("10.0.0.2", "198.51.100.1, 203.0.113.7", 9, "198.51.100.1"),  # fewer hops than proxies
        ("10.0.0.2", "garbage, 203.0.113.7, unknown", 1, "203.0.113.7"),  # invalid entries skipped
        ("10.0.0.2", "[2001:db8::1]:4711, 203.0.113.7:5555", 2, "2001:db8::1"),
        ("10.0.0.2", "2001:DB8:0::2", 1, "2001:db8::2"),
        ("-", "203.0.113.7", 0, "203.0.113.7"),  # no peer logged: XFF ends with it
        ("not-an-ip", None, 0, None),
        (None, None, 3, None),
    ],
)
def test_client_ip(peer, xff, n, expected):
    assert client_ip(peer, xff, n) == expected


# --- JWT ----------------------------------------------------------------------------------------


def test_jwt_subject():
    tok = make_jwt({"sub": "alice", "iat": 1})
    assert jwt_subject(f"Bearer {tok}") == "alice"
    assert jwt_subject(f"bearer   {tok}") == "alice"
    assert jwt_subject(tok) == "alice"
    assert jwt_subject(tok.split(".")[1]) == "alice"  # the payload segment nginx logs
    assert jwt_subject(make_jwt({"sub": "bob\u00e9", "x": "yy"}, pad=True)) == "bob\u00e9"  # padded
    assert jwt_subject(make_jwt({"sub": 42})) == "42"
    for bad in (
        None, "", "-", "Bearer", "Bearer x.y", "Bearer a.b.c", "Basic " + b64url({"sub": "x"}),
        make_jwt({"name": "no sub"}), make_jwt({"sub": ""}), make_jwt({"sub": ["a"]}),
        make_jwt({"sub": True}), "a." + b64url(["sub"]) + ".c", "a.%%%%.c", "a." + "x" * 20000 + ".c",
        "a." + base64.urlsafe_b64encode(b"\xff\xfe{").decode() + ".c",
    ):
        assert jwt_subject(bad) is None, bad


# --- routes -------------------------------------------------------------------------------------


def test_route_matcher():
    m = RouteMatcher(("/customers/{id}", "/customers/me", "/v1.0/orders/{order_id}/items/{n}", "/"))
    assert m.match("/customers/42") == "/customers/{id}"
    assert m.match("/customers/me") == "/customers/me"  # the literal wins
    assert m.match("/customers/42/") == "/customers/{id}"
    assert m.match("/customers/42/orders") is None  # {id} is one segment
    assert m.match("/v1.0/orders/7/items/3") == "/v1.0/orders/{order_id}/items/{n}"
    assert m.match("/v1x0/orders/7/items/3") is None  # "." is literal
    assert m.match("/") == "/"
    assert RouteMatcher(()).match("/x") is None


# --- Envoy --------------------------------------------------------------------------------------

# The example of the default format in Envoy's docs:
# https://www.envoyproxy.io/docs/envoy/v1.13.0/configuration/observability/access_log (one line).
ENVOY_DOC = (
    b'[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" '
    b'"nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80"'
)
# Istio's default text format, example from
# https://oneuptime.com/blog/post/2026-02-24-how-to-parse-istio-access-log-fields/view
ISTIO_TEXT = (
    b'[2026-02-24T14:23:15.456Z] "POST /api/orders HTTP/1.1" 503 UC via_upstream - "-" 156 91 30004 - '
    b'"-" "python-requests/2.31.0" "f47ac10b-58cc-4372-a567-0e02b2c3d479" '
    b'"order-service.production.svc.cluster.local" "10.244.3.12:8080" '
    b'outbound|8080||order-service.production.svc.cluster.local 10.244.1.5:54321 10.96.45.67:8080 '
    b'10.244.1.5:33210 - default'
)
# Istio JSON encoding (accessLogEncoding: JSON), example from
# https://oneuptime.com/blog/post/2026-02-24-how-to-configure-json-access-log-format-in-istio/view
ISTIO_JSON = {
    "authority": "httpbin.default:8000", "bytes_received": "0", "bytes_sent": "615",
    "connection_termination_details": None, "downstream_local_address": "10.244.1.5:8000",
    "downstream_remote_address": "10.244.1.3:45678", "duration": "4", "method": "GET",
    "path": "/status/200", "protocol": "HTTP/1.1", "request_id": "a1b2c3d4-e5f6-7890",
    "requested_server_name": None, "response_code": "200", "response_code_details": "via_upstream",
    "response_flags": "-", "route_name": "default", "start_time": "2026-02-24T10:30:45.123Z",
    "upstream_cluster": "inbound|8000||", "upstream_host": "10.244.1.5:8000",
    "upstream_local_address": "127.0.0.6:44444", "upstream_service_time": "3",
    "upstream_transport_failure_reason": None, "user_agent": "curl/7.88.1", "x_forwarded_for": None,
}


def test_envoy_default_text_doc_example():
    ev = event_of(EnvoyParser(), ENVOY_DOC)
    assert ev["@timestamp"] == "2016-04-15T20:17:00.310Z"
    assert ev["http"]["request"] == {"method": "POST", "id": "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2"}
    assert ev["http"]["response"] == {"status_code": 204, "bytes": 0}
    assert ev["url"] == {"path": "/api/v1/locations"}
    assert ev["source"] == {"ip": "10.0.35.28"}
    assert ev["service"] == {"name": "locations"}  # :authority
    assert ev["user_agent"] == {"original": "nsq2http"}
    assert ev["event"]["duration_ms"] == 226.0 and ev["event"]["module"] == "envoy"
    assert ev["user"] == {"name": "-"}


def test_envoy_istio_text():
    ev = event_of(EnvoyParser(), ISTIO_TEXT)
    assert ev["service"]["name"] == "order-service.production.svc.cluster.local"
    assert ev["source"]["ip"] == "10.244.1.5"  # %DOWNSTREAM_REMOTE_ADDRESS%
    assert ev["http"]["response"] == {"status_code": 503, "bytes": 91}
    assert ev["event"]["outcome"] == "failure" and ev["event"]["duration_ms"] == 30004.0
    assert "user_agent" in ev and "query" not in ev["url"]


def test_envoy_json():
    ev = event_of(EnvoyParser(SourceOptions(routes=("/status/{code}",))), orjson.dumps(ISTIO_JSON))
    assert ev["@timestamp"] == "2026-02-24T10:30:45.123Z"
    assert ev["service"]["name"] == "httpbin.default"  # inbound cluster has no name → authority
    assert ev["source"]["ip"] == "10.244.1.3"
    assert ev["http"]["route"] == "/status/{code}"
    assert ev["http"]["response"] == {"status_code": 200, "bytes": 615}
    assert ev["event"]["duration_ms"] == 4.0
    # typed values (Envoy's json_format keeps numbers), dashed keys, a user header, XFF
    rec = {
        "start_time": "2026-02-24T10:30:45.123Z", "method": "DELETE", "path": "/customers/9?hard=1",
        "response_code": 403, "bytes_sent": 12, "duration": 7, "x-forwarded-for": "198.51.100.4",
        "user-agent": "curl/8", "x-request-id": "r-1", "upstream_cluster": "customers",
        "downstream_remote_address": "10.0.0.9:5123", "x-user": "dave",
    }
    ev = event_of(EnvoyParser(SourceOptions(user_header="X-User", trusted_proxies=1)), orjson.dumps(rec))
    assert ev["user"]["name"] == "dave" and ev["source"]["ip"] == "198.51.100.4"
    assert ev["url"] == {"path": "/customers/9", "query": "hard=1"}
    assert ev["service"]["name"] == "customers" and ev["event"]["outcome"] == "failure"
    # an edge Envoy already appended the peer to XFF: it is not counted twice
    rec |= {"x-forwarded-for": "198.51.100.4, 10.0.0.9"}
    assert event_of(EnvoyParser(SourceOptions(trusted_proxies=1)), orjson.dumps(rec))["source"]["ip"] == "198.51.100.4"
    # Authorization logged (discouraged) → only the sub is kept
    rec |= {"authorization": "Bearer " + make_jwt({"sub": "erin"})}
    ev = event_of(EnvoyParser(), orjson.dumps(rec))
    assert ev["user"]["name"] == "erin" and "erin" not in orjson.dumps(ev["http"]).decode()


def test_envoy_same_request_id_different_requests_get_different_ids():
    # A client can keep its own X-Request-ID: repeating one must not collapse distinct requests.
    p = EnvoyParser()
    a = event_of(p, ENVOY_DOC)
    b = event_of(p, ENVOY_DOC.replace(b"20:17:00.310Z", b"20:17:01.310Z"))
    assert a["event"]["id"] != b["event"]["id"]
    assert a["event"]["id"] == event_of(p, ENVOY_DOC)["event"]["id"]


# --- Kong ---------------------------------------------------------------------------------------

# The sample log object of Kong's logging plugins (file-log, http-log, tcp-log…):
# https://developer.konghq.com/plugins/file-log/ ("Log format"; source:
# Kong/docs.konghq.com app/_includes/md/plugins-hub/log-format.md, 3.7.x variant).
KONG_DOC = {
    "response": {
        "size": 9982,
        "headers": {
            "access-control-allow-origin": "*", "content-length": "9593",
            "date": "Thu, 19 Sep 2024 22:10:39 GMT", "content-type": "text/html; charset=utf-8",
            "via": "1.1 kong/3.8.0.0-enterprise-edition", "connection": "close",
            "server": "gunicorn/19.9.0", "access-control-allow-credentials": "true",
            "x-kong-upstream-latency": "171", "x-kong-proxy-latency": "1",
            "x-kong-request-id": "2f6946328ffc4946b8c9120704a4a155",
        },
        "status": 200,
    },
    "route": {
        "updated_at": 1726782477, "tags": [], "response_buffering": True, "path_handling": "v0",
        "protocols": ["http", "https"], "service": {"id": "fb4eecf8-dec2-40ef-b779-16de7e2384c7"},
        "https_redirect_status_code": 426, "regex_priority": 0, "name": "example_route",
        "id": "0f1a4101-3327-4274-b1e4-484a4ab0c030", "strip_path": True, "preserve_host": False,
        "created_at": 1726782477, "request_buffering": True,
        "ws_id": "f381e34e-5c25-4e65-b91b-3c0a86cfc393", "paths": ["/example-route"],
    },
    "workspace": "f381e34e-5c25-4e65-b91b-3c0a86cfc393",
    "workspace_name": "default",
    "tries": [{
        "balancer_start": 1726783839539, "balancer_start_ns": 1.7267838395395e18,
        "ip": "34.237.204.224", "balancer_latency": 0, "port": 80, "balancer_latency_ns": 27904,
    }],
    "client_ip": "192.168.65.1",
    "request": {
        "id": "2f6946328ffc4946b8c9120704a4a155",
        "headers": {
            "accept": "*/*", "user-agent": "HTTPie/3.2.3", "host": "localhost:8000",
            "connection": "keep-alive", "accept-encoding": "gzip, deflate",
        },
        "uri": "/example-route", "size": 139, "method": "GET", "querystring": {},
        "url": "http://localhost:8000/example-route",
    },
    "upstream_uri": "/",
    "started_at": 1726783839538,
    "source": "upstream",
    "upstream_status": "200",
    "latencies": {"kong": 1, "proxy": 171, "request": 173, "receive": 1},
    "service": {
        "write_timeout": 60000, "read_timeout": 60000, "updated_at": 1726782459,
        "host": "httpbin.konghq.com", "name": "example_service",
        "id": "fb4eecf8-dec2-40ef-b779-16de7e2384c7", "port": 80, "enabled": True,
        "created_at": 1726782459, "protocol": "http", "ws_id": "f381e34e-5c25-4e65-b91b-3c0a86cfc393",
        "connect_timeout": 60000, "retries": 5,
    },
}


def test_kong_documented_sample():
    ev = event_of(KongParser(), orjson.dumps(KONG_DOC))
    assert ev["@timestamp"] == "2024-09-19T22:10:39.538Z"
    assert ev["http"] == {
        "request": {"method": "GET", "id": "2f6946328ffc4946b8c9120704a4a155"},
        "response": {"status_code": 200, "bytes": 9593},  # Content-Length: the body
        "route": "/example-route",
    }
    assert ev["url"] == {"path": "/example-route"}
    assert ev["service"] == {"name": "example_service"}
    assert ev["source"] == {"ip": "192.168.65.1"}
    assert ev["user"] == {"name": "-"}
    assert ev["user_agent"] == {"original": "HTTPie/3.2.3"}
    assert ev["event"]["duration_ms"] == 173.0 and ev["event"]["module"] == "kong"


def test_kong_consumer_query_xff_and_routes():
    rec = json.loads(json.dumps(KONG_DOC))
    rec["request"].update(uri="/example-route/customers/7?fields=email", method="PATCH")
    rec["request"]["headers"].update({"authorization": "REDACTED", "x-forwarded-for": ["198.51.100.8", "10.9.9.9"]})
    rec["consumer"] = {"id": "7a1b", "username": "alice", "custom_id": "u-1", "created_at": 1726782400}
    rec["authenticated_entity"] = {"id": "cred-1"}
    rec["response"]["status"] = 401
    del rec["response"]["headers"]["content-length"]
    ev = event_of(KongParser(SourceOptions(trusted_proxies=1)), orjson.dumps(rec))
    assert ev["user"]["name"] == "alice"
    assert ev["url"] == {"path": "/example-route/customers/7", "query": "fields=email"}
    assert ev["source"]["ip"] == "10.9.9.9"  # the XFF list, then Kong's client_ip
    assert ev["http"]["route"] == "/example-route"
    assert ev["http"]["response"] == {"status_code": 401, "bytes": 9982}  # no Content-Length: size
    assert ev["event"]["outcome"] == "failure"
    opts = SourceOptions(routes=("/example-route/customers/{id}",), user_header="X-Consumer-Username")
    rec["request"]["headers"]["x-consumer-username"] = "alice-header"
    ev = event_of(KongParser(opts), orjson.dumps(rec))
    assert ev["http"]["route"] == "/example-route/customers/{id}" and ev["user"]["name"] == "alice-header"
    # no request id (Kong < 3.5), no service, no route: keys left out, service from options
    for k in ("service", "route", "consumer"):
        del rec[k]
    del rec["request"]["id"], rec["response"]["headers"]["x-kong-request-id"]
    ev = event_of(KongParser(SourceOptions(service="edge")), orjson.dumps(rec))
    assert "id" not in ev["event"] and "id" not in ev["http"]["request"]
    assert ev["service"]["name"] == "edge" and "route" not in ev["http"]


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "parser, data, reason",
    [
        (NginxParser, b"hello world", "unparseable_line"),
        (NginxParser, b'{"msec": "1.0", "method"', "bad_json"),
        (NginxParser, b"{}", "unparseable_line"),
        (NginxParser, b'{"msec":"x","method":"GET","request_uri":"/","status":"200"}', "unparseable_line"),
        (NginxParser, b'10.0.0.1 - - [27/Nov/2026:00:16:36 +0000] "\\x16\\x03\\x01" 400 157 "-" "-"', "unparseable_line"),
        (NginxParser, b'10.0.0.1 - - [99/Foo/2026:00:16:36 +0000] "GET / HTTP/1.1" 200 1 "-" "-"', "unparseable_line"),
        (EnvoyParser, b"[not a time] garbage", "unparseable_line"),
        (EnvoyParser, b"[1, 2]", "unparseable_line"),
        (EnvoyParser, b"{oops", "bad_json"),
        (EnvoyParser, ENVOY_DOC.replace(b" 204 ", b" 0 "), "unparseable_line"),  # no response sent
        (EnvoyParser, b'[2016-04-15T20:17:00.310Z] "- - -" 0 UF 0 0 1 - "-" "-" "-" "-" "10.0.0.1:80"', "unparseable_line"),
        (KongParser, b"[]", "bad_json"),
        (KongParser, b"not json", "bad_json"),
        (KongParser, b'{"request": {}, "response": {}}', "unparseable_line"),
        (KongParser, b'"just a string"', "bad_json"),
    ],
)
def test_garbage_is_unparseable(parser, data, reason):
    out = feed(parser(), data, offset=77)
    assert len(out) == 1 and isinstance(out[0], Unparseable), out
    assert out[0].reason == reason and out[0].raw == data and out[0].offset == 77


def test_blank_lines_and_protocol():
    for cls in (NginxParser, EnvoyParser, KongParser):
        p = cls()
        assert p.kind == "api" and p.name in ("nginx", "envoy", "kong")
        assert feed(p, b"   ") == [] and p.flush() == [] and p.pending_offset() is None


def test_oversized_client_text_is_cut_not_rejected():
    # normalize() rejects over-long fields: a client must not evade with a huge header or query.
    rec = {
        "start_time": "2026-02-24T10:30:45.123Z", "method": "GET",
        "path": "/customers/1?" + "q" * 20000, "response_code": 200,
        "user_agent": "A" * 20000, "x-request-id": "r" * 5000, "x-user": "u" * 5000,
    }
    ev = event_of(EnvoyParser(SourceOptions(user_header="X-User")), orjson.dumps(rec))
    assert len(ev["user_agent"]["original"]) == len(ev["url"]["query"]) == 8192
    assert len(ev["user"]["name"]) == len(ev["http"]["request"]["id"]) == 1024


def test_nginx_absurd_time_is_unparseable():
    line = NGINX_JSON_500.replace(b'"1795738596.816"', b'"99999999999999999.1"')
    assert feed(NginxParser(), line)[0].reason == "unparseable_line"
