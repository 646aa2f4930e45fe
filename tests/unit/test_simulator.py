"""The traffic simulator: deterministic, contract-shaped, labelled attacks, dead-letter material."""

from __future__ import annotations

import ipaddress
import json
import re
from collections import Counter
from datetime import UTC, date, datetime
from itertools import pairwise

import pytest

from connectors.sources.simulator import (
    ATTACK_KINDS,
    MALFORMED_REASONS,
    Malformed,
    SimEvent,
    Simulator,
)

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
ONE_MIB = 1 << 20
RFC3339_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
MOBILE = re.compile(r"1(?:3\d|4[57]|5[0-35-9]|6[25-7]|7[0-35-8]|8\d|9[0-35-9])\d{8}")


# --- helpers ------------------------------------------------------------------------------------
_MISSING = object()


def get(event: dict, path: str, default=None):
    """A field of a contract event, whether the producer sent it dotted or nested."""
    if path in event:
        return event[path]
    node = event
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            break
        node = node[part]
    else:
        return node
    # mixed forms: {"http": {...}} with "http.response.sample" inside, or a dotted key one level in
    head, _, rest = path.partition(".")
    if rest and isinstance(event.get(head), dict):
        return get(event[head], rest, default)
    return default


def has(event: dict, path: str) -> bool:
    return get(event, path, _MISSING) is not _MISSING


def epoch_ms(value) -> int:
    if isinstance(value, int):
        return value
    assert RFC3339_MS.fullmatch(value), value
    return int(datetime.fromisoformat(value).timestamp() * 1000)


_GB11643_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_PROVINCES = {
    *range(11, 16),
    *range(21, 24),
    *range(31, 38),
    *range(41, 47),
    *range(50, 55),
    *range(61, 66),
    71,
    81,
    82,
    83,
    91,
}


def gb11643_valid(s: str) -> bool:
    """GB 11643-1999 resident ID (REFERENCE.md): province, real past birth date, check char."""
    if not re.fullmatch(r"\d{17}[\dX]", s) or int(s[:2]) not in _PROVINCES:
        return False
    try:
        born = date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    if not date(1900, 1, 1) <= born <= date.today():
        return False
    total = sum(int(d) * w for d, w in zip(s[:17], _GB11643_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == s[17]


def luhn_valid(s: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(s)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def sample_rows(ev: SimEvent) -> list[dict]:
    s = (
        get(ev.value, "db.result_sample")
        if ev.kind == "db"
        else get(ev.value, "http.response.sample")
    )
    if s is None:
        return []
    return s if isinstance(s, list) else [s]


def statement(ev: SimEvent) -> str:
    return get(ev.value, "db.statement") or ""


def hour(ev: SimEvent) -> int:
    return datetime.fromtimestamp(epoch_ms(ev.value["@timestamp"]) / 1000, UTC).hour


# --- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(seed=7, start=START)


@pytest.fixture(scope="module")
def events(sim: Simulator) -> list[SimEvent]:
    return list(sim.events(6000))


@pytest.fixture(scope="module")
def benign() -> list[SimEvent]:
    return list(Simulator(seed=11, start=START, attacks=False).events(20000))


@pytest.fixture(scope="module")
def malformed(sim: Simulator) -> list[Malformed]:
    return list(sim.malformed(2 * 6 * len(MALFORMED_REASONS)))


# --- determinism --------------------------------------------------------------------------------
def test_same_seed_same_events():
    a = list(Simulator(seed=5, start=START).events(3000))
    b = list(Simulator(seed=5, start=START).events(3000))
    assert a == b
    assert [e.to_json() for e in a] == [e.to_json() for e in b]


def test_each_call_starts_afresh(sim: Simulator, events: list[SimEvent]):
    assert list(sim.events(500)) == list(sim.events(500))
    assert list(sim.malformed(12)) == list(sim.malformed(12))
    assert sim.company == Simulator(seed=7, start=START).company


def test_other_seed_other_events():
    a = [e.value for e in Simulator(seed=1, start=START).events(200)]
    b = [e.value for e in Simulator(seed=2, start=START).events(200)]
    assert a != b
    assert Simulator(seed=1).company.users != Simulator(seed=2).company.users


def test_malformed_is_deterministic():
    a = [(m.kind, m.key, m.raw, m.reason) for m in Simulator(seed=3).malformed(18)]
    b = [(m.kind, m.key, m.raw, m.reason) for m in Simulator(seed=3).malformed(18)]
    assert a == b


# --- event shape --------------------------------------------------------------------------------
def test_exactly_n_events(sim: Simulator):
    for n in (0, 1, 7, 2500):
        assert sum(1 for _ in sim.events(n)) == n


def test_kinds_keys_and_serialisation(events: list[SimEvent]):
    assert {e.kind for e in events} == {"db", "api"}
    for e in events:
        assert e.topic == {"db": "db.audit", "api": "api.access"}[e.kind]
        assert e.label is None or e.label in ATTACK_KINDS
        assert json.loads(e.to_json()) == e.value
        assert e.key == (get(e.value, "user.name") or "-")


def test_db_events_carry_the_contract_fields(events: list[SimEvent]):
    for e in (e for e in events if e.kind == "db"):
        v = e.value
        assert has(v, "@timestamp") and get(v, "user.name"), v
        for field in ("db.system", "db.instance", "db.name", "source.ip", "service.name"):
            assert get(v, field), (field, v)
        ipaddress.ip_address(get(v, "source.ip"))
        action = get(v, "event.action", "query")
        assert action in ("query", "login", "logout")
        assert get(v, "event.outcome", "success") in ("success", "failure")
        if get(v, "event.outcome") == "failure":
            assert get(v, "db.error"), v
        if action == "query":
            assert get(v, "db.statement"), v
            assert isinstance(get(v, "db.rows"), int) and get(v, "db.rows") >= 0
            assert isinstance(get(v, "db.duration_ms"), float | int)
            assert get(v, "session.id"), v
        if action == "login" and get(v, "event.outcome") == "failure":
            assert not has(v, "db.statement")


def test_benign_db_queries_have_roles_sessions_and_samples(benign: list[SimEvent]):
    queries = [
        e for e in benign if e.kind == "db" and get(e.value, "event.action", "query") == "query"
    ]
    assert len(queries) > 5000
    assert all(isinstance(get(e.value, "user.roles"), list) for e in queries)
    assert sum(1 for e in queries if sample_rows(e)) > len(queries) * 0.1
    systems = Counter(
        (get(e.value, "db.instance"), get(e.value, "db.system"), get(e.value, "db.name"))
        for e in queries
    )
    assert set(systems) == {
        ("pg-crm-01", "postgresql", "crm"),
        ("mysql-hr-01", "mysql", "hr"),
        ("pg-fin-01", "postgresql", "finance"),
    }


def test_sql_matches_the_instance_dialect(benign: list[SimEvent]):
    stmts = Counter()
    for e in (e for e in benign if e.kind == "db" and statement(e)):
        sql, system = statement(e), get(e.value, "db.system")
        stmts[sql.split(None, 1)[0].upper()] += 1
        if system == "mysql":
            assert "::" not in sql and "RETURNING" not in sql and "interval '" not in sql, sql
        else:
            assert "`" not in sql and "CURDATE()" not in sql and sql != "START TRANSACTION", sql
    for verb in ("SELECT", "INSERT", "UPDATE", "DELETE", "BEGIN", "START", "COMMIT", "WITH"):
        assert stmts[verb] > 0, verb
    assert any("JOIN" in statement(e) for e in benign)
    assert any(re.search(r"WHERE .*LIMIT \d+", statement(e)) for e in benign)
    ddl = [e for e in benign if re.match(r"(CREATE|ALTER|GRANT|VACUUM|REINDEX)", statement(e))]
    assert ddl and all("dba" in get(e.value, "user.roles") for e in ddl)


def test_api_events_carry_the_contract_fields(events: list[SimEvent]):
    api = [e for e in events if e.kind == "api"]
    assert len(api) > 500
    statuses = Counter()
    for e in api:
        v = e.value
        assert has(v, "@timestamp")
        assert get(v, "service.name") in ("customer-api", "payment-api", "hr-api")
        assert get(v, "http.request.method") in ("GET", "POST", "PUT", "DELETE")
        assert get(v, "url.path").startswith("/")
        status = get(v, "http.response.status_code")
        assert isinstance(status, int) and 100 <= status <= 599
        statuses[status] += 1
        route = get(v, "http.route")
        assert route and ("{" in route or route == get(v, "url.path")), v
        assert isinstance(get(v, "http.response.bytes"), int)
        assert get(v, "user_agent.original")
        ipaddress.ip_address(get(v, "source.ip"))
    assert statuses[200] > 0.7 * len(api)
    assert {404, 401, 500} <= set(statuses)
    assert any(get(e.value, "user.name") == "-" for e in api)
    assert any(sample_rows(e) for e in api)


def test_dotted_epoch_and_event_id_shares(benign: list[SimEvent]):
    n = len(benign)
    dotted = sum(1 for e in benign if any("." in k for k in e.value if k != "@timestamp"))
    epoch = sum(1 for e in benign if isinstance(e.value["@timestamp"], int))
    ids = [get(e.value, "event.id") for e in benign if has(e.value, "event.id")]
    assert 0.06 < dotted / n < 0.14
    assert 0.06 < epoch / n < 0.14
    assert 0.25 < len(ids) / n < 0.35
    assert len(set(ids)) == len(ids)


def test_dotted_events_are_fully_dotted(benign: list[SimEvent]):
    dotted = [e for e in benign if "user.name" in e.value or "service.name" in e.value]
    assert dotted
    for e in dotted:
        assert not any(
            isinstance(v, dict) for k, v in e.value.items() if k != "http.response.sample"
        )


# --- time ---------------------------------------------------------------------------------------
def test_timestamps_well_formed_and_in_order(events: list[SimEvent]):
    times = [epoch_ms(e.value["@timestamp"]) for e in events]
    assert times[0] >= int(START.timestamp() * 1000)
    assert all(a <= b for a, b in pairwise(times))
    assert times[-1] > times[0]


def test_naive_start_is_utc_and_default_start_is_fixed():
    naive = Simulator(seed=1, start=datetime(2026, 1, 5, 9, 30))
    first = next(iter(naive.events(1))).value["@timestamp"]
    assert epoch_ms(first) >= int(datetime(2026, 1, 5, 9, 30, tzinfo=UTC).timestamp() * 1000)
    assert list(Simulator(seed=1).events(20)) == list(Simulator(seed=1).events(20))


def test_business_hours_are_busier(benign: list[SimEvent]):
    by_hour = Counter(hour(e) for e in benign)
    span_ms = epoch_ms(benign[-1].value["@timestamp"]) - epoch_ms(benign[0].value["@timestamp"])
    assert span_ms > 3_600_000  # accelerated time: no sleeping, yet hours pass
    office = [by_hour[h] for h in range(9, 17) if by_hour[h]]
    night = [by_hour[h] for h in range(1, 5) if by_hour[h]]
    if office and night:
        assert min(office) > max(night)


# --- personal data ------------------------------------------------------------------------------
def test_samples_are_small_and_hold_valid_personal_data(benign: list[SimEvent]):
    seen = Counter()
    for e in benign:
        rows = sample_rows(e)
        assert len(rows) <= 3
        for row in rows:
            for col, value in row.items():
                if "id_card" in col or col == "resident_id":
                    assert gb11643_valid(value), value
                    seen["id_card"] += 1
                elif col in ("mobile",):
                    assert MOBILE.fullmatch(value), value
                    seen["mobile"] += 1
                elif col in ("bank_card", "card_no"):
                    assert value.isdigit() and luhn_valid(value), value
                    seen["card"] += 1
                elif col == "ssn":
                    assert re.fullmatch(r"\d{3}-\d\d-\d{4}", value), value
                    seen["ssn"] += 1
                elif col in ("name", "full_name", "holder_name", "payer_name"):
                    assert value.strip()
                    seen["name"] += 1
    assert seen["id_card"] > 50 and seen["mobile"] > 50 and seen["card"] > 50
    assert seen["ssn"] > 0 and seen["name"] > 100
    assert any(re.search(r"[\u4e00-\u9fff]", str(sample_rows(e))) for e in benign)


def test_resident_ids_in_attack_samples_pass_gb11643(events: list[SimEvent]):
    found = 0
    for e in (e for e in events if e.label):
        for row in sample_rows(e):
            for col, value in row.items():
                if "id_card" in col:
                    assert gb11643_valid(value), value
                    found += 1
    assert found > 0


def test_gb11643_check_itself():
    assert gb11643_valid("11010519491231002X")
    assert not gb11643_valid("110105194912310021")  # wrong check character
    assert not gb11643_valid("990105194912310026")  # no such province
    assert not gb11643_valid("110105194913310021")  # month 13


# --- attacks ------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [1, 2, 3, 7, 42])
def test_every_attack_kind_appears_from_2000_events(seed: int):
    labels = Counter(e.label for e in Simulator(seed=seed, start=START).events(2000))
    assert set(ATTACK_KINDS) <= set(labels)
    assert labels[None] > 0.85 * 2000  # attacks are rare


def test_no_attacks_when_disabled(benign: list[SimEvent]):
    assert {e.label for e in benign} == {None}


def test_attacks_look_like_their_labels(sim: Simulator, events: list[SimEvent]):
    role = sim.company.roles
    by_label: dict[str, list[SimEvent]] = {}
    for e in events:
        if e.label:
            by_label.setdefault(e.label, []).append(e)
    assert set(by_label) == set(ATTACK_KINDS)

    export = [e for e in by_label["bulk_export"] if statement(e)]
    assert any(statement(e) == "SELECT * FROM customers" for e in export)
    assert all(get(e.value, "db.rows") > 1_000_000 or "overseas" in statement(e) for e in export)
    assert all(role[e.key] == "analyst" and hour(e) in range(5) for e in by_label["bulk_export"])

    sqli = " ".join(
        statement(e) + " " + (get(e.value, "url.query") or "") for e in by_label["sqli"]
    )
    assert re.search(r"OR 1=1|UNION SELECT|pg_sleep", sqli)
    assert {get(e.value, "service.name") for e in by_label["sqli"] if e.kind == "db"} == {"crm-web"}

    ddl = [statement(e) for e in by_label["destructive_ddl"]]
    assert any(re.match(r"(DROP|TRUNCATE) TABLE", s) for s in ddl)
    assert all(role[e.key] != "dba" for e in by_label["destructive_ddl"])

    failures = [e for e in by_label["brute_force"] if get(e.value, "event.outcome") == "failure"]
    assert len(failures) >= 10
    assert all(
        get(e.value, "event.action") == "login" and get(e.value, "db.error") for e in failures
    )

    enum = by_label["api_enumeration"]
    paths = [get(e.value, "url.path") for e in enum]
    ids = [int(p.rsplit("/", 1)[1]) for p in paths]
    assert any(b == a + 1 for a, b in pairwise(ids))
    assert all(get(e.value, "http.route") in ("/customers/{id}", "/employees/{id}") for e in enum)

    tamper = " ".join(statement(e) for e in by_label["audit_tampering"])
    assert "pgaudit.log = 'none'" in tamper or "server_audit" in tamper


def test_attacks_are_interleaved_with_benign_traffic(events: list[SimEvent]):
    labelled = [i for i, e in enumerate(events) if e.label]
    first, last = labelled[0], labelled[-1]
    assert any(events[i].label is None for i in range(first, last))


# --- malformed ----------------------------------------------------------------------------------
def test_malformed_cycles_through_every_reason(malformed: list[Malformed]):
    assert [m.reason for m in malformed[: len(MALFORMED_REASONS)]] == list(MALFORMED_REASONS)
    counts = Counter(m.reason for m in malformed)
    assert set(counts) == set(MALFORMED_REASONS)
    assert len(set(counts.values())) == 1
    assert {m.kind for m in malformed} == {"db", "api"}


def _decode(raw: bytes):
    return json.loads(raw.decode("utf-8"))


def test_each_malformed_message_has_exactly_its_defect(malformed: list[Malformed]):
    for m in malformed:
        assert isinstance(m.raw, bytes) and isinstance(m.key, str)
        assert m.raw[:1] != b"\x00"  # would be read as Confluent Avro
        if m.reason == "too_large":
            assert len(m.raw) > ONE_MIB
            assert isinstance(_decode(m.raw), dict)
            continue
        assert len(m.raw) < ONE_MIB
        if m.reason == "invalid_utf8":
            with pytest.raises(UnicodeDecodeError):
                m.raw.decode("utf-8")
            continue
        text = m.raw.decode("utf-8")
        if m.reason == "invalid_json":
            with pytest.raises(json.JSONDecodeError):
                json.loads(text)
            continue
        obj = json.loads(text)
        if m.reason == "not_an_object":
            assert not isinstance(obj, dict)
            continue
        assert isinstance(obj, dict)
        if m.reason == "missing_field":
            required = (
                ["@timestamp", "user.name", "db.statement"]
                if m.kind == "db"
                else [
                    "@timestamp",
                    "service.name",
                    "http.request.method",
                    "url.path",
                    "http.response.status_code",
                ]
            )
            assert any(not has(obj, f) for f in required), obj
        elif m.reason == "invalid_field":
            bad = {
                "db.rows": lambda v: not isinstance(v, int),
                "db.duration_ms": lambda v: not isinstance(v, int | float),
                "http.response.status_code": lambda v: not isinstance(v, int),
                "@timestamp": lambda v: isinstance(v, str) and not RFC3339_MS.fullmatch(v),
            }
            assert any(has(obj, f) and check(get(obj, f)) for f, check in bad.items()), obj


def test_missing_user_name_variant_exists(malformed: list[Malformed]):
    missing = [
        json.loads(m.raw) for m in malformed if m.reason == "missing_field" and m.kind == "db"
    ]
    assert any(not has(obj, "user.name") for obj in missing)
    rows = [json.loads(m.raw) for m in malformed if m.reason == "invalid_field"]
    assert any(get(obj, "db.rows") == "many" for obj in rows)
    assert any(get(obj, "@timestamp") == "yesterday" for obj in rows)


# --- company model --------------------------------------------------------------------------------
def test_company_model(sim: Simulator):
    c = sim.company
    assert len(c.employees) == 40
    assert {e.role for e in c.employees} == {
        "analyst",
        "hr",
        "finance",
        "support",
        "developer",
        "dba",
        "sales",
    }
    assert len({e.username for e in c.employees}) == 40
    assert {s.username for s in c.service_accounts} == {"svc_crm", "svc_etl", "svc_report"}
    assert {a.name for a in c.apps} == {
        "crm-web",
        "hr-portal",
        "finance-batch",
        "support-desk",
        "bi-reports",
    }
    assert {(d.name, d.system, d.db) for d in c.db_instances} == {
        ("pg-crm-01", "postgresql", "crm"),
        ("mysql-hr-01", "mysql", "hr"),
        ("pg-fin-01", "postgresql", "finance"),
    }
    assert {a.name for a in c.api_services} == {"customer-api", "payment-api", "hr-api"}
    addresses = [e.ip for e in c.employees] + [e.vpn_ip for e in c.employees]
    addresses += [ip for s in c.service_accounts for ip in s.ips]
    assert all(ipaddress.ip_address(ip).is_private for ip in addresses)
    assert set(c.by_role()) == {e.role for e in c.employees}
    assert set(c.users) == set(c.roles)


def test_event_users_come_from_the_company(sim: Simulator, events: list[SimEvent]):
    known = set(sim.company.users) | {"-"}
    benign_users = {e.key for e in events if e.label is None}
    assert benign_users <= known
