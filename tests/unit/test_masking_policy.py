"""Masking policy: loading, validation with line numbers, precedence, matching, explanations."""

from __future__ import annotations

import datetime as dt
import doctest
import textwrap

import pytest

import detectors.masking.policy as policy_module
from detectors.masking.model import Resource, Subject
from detectors.masking.policy import PolicyError, default_policy, load_policy, parse_policy

UTC = dt.UTC
FRIDAY_NOON_UTC = dt.datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def res(
    entity=None,
    level=None,
    category=None,
    table="customers",
    column="c",
    db="crm",
    instance="pg-crm-01",
):
    return Resource(instance, db, table, column, entity, category, level)


MOBILE = res("CN_MOBILE", "general-2", "personal.contact", column="mobile")
ID_CARD = res("CN_RESIDENT_ID", "general-4", "personal.identity", column="id_card")
STATUS = res(column="status", table="orders")

MINI = textwrap.dedent(
    """\
    version: mini-1
    defaults:
      unclassified: allow
      classified: {action: mask, method: redact}
    rules:
      - id: everyone-hash-personal
        resource: {category: "personal.*"}
        action: mask
        method: hash
      - id: support-allow-contact
        subject: {roles: [support]}
        resource: {category: personal.contact}
        action: allow
      - id: support-partial-mobile
        subject: {roles: [support]}
        resource: {entity: CN_MOBILE}
        action: mask
        method: partial
      - id: support-partial-mobile-crm
        subject: {roles: [support]}
        resource: {entity: CN_MOBILE, db: crm}
        action: mask
        method: generalize
      - id: glob-vs-exact-a
        subject: {roles: ["ops*"]}
        resource: {entity: CN_MOBILE}
        action: mask
        method: redact
      - id: glob-vs-exact-b
        subject: {roles: [ops]}
        resource: {entity: CN_MOBILE}
        action: mask
        method: partial
      - id: tie-weaker
        subject: {roles: [tie]}
        resource: {entity: CN_MOBILE}
        action: mask
        method: partial
      - id: tie-stronger
        subject: {roles: [tie]}
        resource: {entity: CN_MOBILE}
        action: mask
        method: tokenize
      - id: tie-stronger-later
        subject: {roles: [tie]}
        resource: {entity: CN_MOBILE}
        action: mask
        method: hash
      - id: ids-denied-to-interns
        subject: {roles: ["intern*"]}
        resource: {level: ">= general-4"}
        action: deny
    """
)


@pytest.fixture(scope="module")
def mini():
    return parse_policy(MINI)


def test_doctests():
    result = doctest.testmod(policy_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted and result.failed == 0


def test_default_policy_loads_and_covers_the_simulator_roles():
    p = default_policy()
    assert p.version and p.digest and len(p.rules) >= 15
    roles = {pat for r in p.rules if r.roles for pat in r.roles.include}
    for role in (
        "analyst",
        "hr",
        "finance",
        "support",
        "developer",
        "dba",
        "sales",
        "soc_analyst",
        "auditor",
        "service",
    ):
        assert role in roles or role == "auditor" and p.may_reveal(Subject("a", [role]))
    assert p.may_reveal(Subject("a", ["auditor"])) and not p.may_reveal(Subject("a", ["dba"]))
    assert load_policy().digest == p.digest


def test_default_policy_behaviour():
    p = default_policy()
    at = FRIDAY_NOON_UTC
    name = res(
        "PERSON_NAME", "general-2", "personal.basic", table="employees", column="name", db="hr"
    )
    assert p.evaluate(Subject("h", ["hr", "hr_rw"]), name, at).action == "allow"
    assert p.evaluate(Subject("d", ["dba", "superuser"]), name, at).method == "hash"
    assert p.evaluate(Subject("s", ["support"]), MOBILE, at).method == "partial"
    assert p.evaluate(Subject("s", ["soc_analyst"]), ID_CARD, at).method == "hash"
    assert p.evaluate(Subject("s", ["soc_analyst"]), MOBILE, at).method == "partial"
    birth = res("BIRTH_DATE", "general-2", "personal.basic", column="birthday")
    assert p.evaluate(Subject("s", ["soc_analyst"]), birth, at).method == "generalize"
    pwd = res("PASSWORD", "general-4", "personal.credential", column="password")
    assert p.evaluate(Subject("s", ["soc_analyst"]), pwd, at).method == "redact"
    assert p.evaluate(Subject("svc", ["service", "crm_rw"]), pwd, at).action == "allow"
    assert p.evaluate(Subject("x", ["developer"]), ID_CARD, at).method == "tokenize"
    assert p.evaluate(Subject("x", ["developer"], environment="prod"), ID_CARD, at).action == "deny"
    # unclassified data is allowed; classified data nobody granted is redacted
    assert p.evaluate(Subject("x", ["sales"]), STATUS, at).action == "allow"
    assert p.evaluate(Subject("x", []), MOBILE, at).method == "redact"
    # a purpose makes the analyst's rule more specific than the pseudonym rule
    assert p.evaluate(Subject("a", ["analyst"]), MOBILE, at).method == "hash"
    assert (
        p.evaluate(Subject("a", ["analyst"], purpose="fraud_investigation"), MOBILE, at).method
        == "partial"
    )


def test_precedence_deny_over_mask_over_allow(mini):
    # support: allow (contact) + mask (partial) + mask (hash) match: mask wins over allow
    d = mini.evaluate(
        Subject("s", ["support"]), res("CN_MOBILE", "general-2", "personal.contact", db="hr")
    )
    assert d.action == "mask" and d.rule_id == "support-partial-mobile"
    # deny beats every mask
    d = mini.evaluate(Subject("i", ["intern"]), ID_CARD)
    assert d.action == "deny" and d.method is None and d.rule_id == "ids-denied-to-interns"


def test_most_specific_wins(mini):
    # three mask rules match (hash: 1 field; partial: roles + entity; generalize: + db)
    d = mini.evaluate(Subject("s", ["support"]), MOBILE)
    assert (d.rule_id, d.method) == ("support-partial-mobile-crm", "generalize")
    # exact beats glob at the same number of fields: ops (partial) over ops* (redact)
    d = mini.evaluate(Subject("o", ["ops"]), MOBILE)
    assert (d.rule_id, d.method) == ("glob-vs-exact-b", "partial")
    assert mini.evaluate(Subject("o", ["ops2"]), MOBILE).method == "redact"
    # equal specificity: the stricter method (hash over tokenize over partial)
    d = mini.evaluate(Subject("t", ["tie"]), MOBILE)
    assert (d.rule_id, d.method) == ("tie-stronger-later", "hash")


def test_defaults(mini):
    nobody = Subject("n", ["nobody"])
    assert mini.evaluate(nobody, STATUS).rule_id == "default:unclassified"
    assert mini.evaluate(nobody, STATUS).action == "allow"
    secret = res("API_KEY", "general-4", "system.credential", column="api_key")
    d = mini.evaluate(nobody, secret)
    assert (d.rule_id, d.action, d.method) == ("default:classified", "mask", "redact")
    p = parse_policy("version: 2\nrules: []\n")  # defaults of the defaults: allow / redact
    assert (
        p.evaluate(nobody, STATUS).action == "allow"
        and p.evaluate(nobody, secret).method == "redact"
    )
    strict = parse_policy(
        "version: 3\ndefaults: {unclassified: {action: mask, method: hash}, classified: deny}\n"
        "rules: []\n"
    )
    assert (
        strict.evaluate(nobody, STATUS).method == "hash"
        and strict.evaluate(nobody, secret).action == "deny"
    )


def test_matching_fields():
    p = parse_policy(
        textwrap.dedent(
            """\
            version: m
            timezone: Asia/Shanghai
            rules:
              - id: not-service
                subject: {roles: ["!service"]}
                resource: {category: system.credential}
                action: mask
                method: redact
              - id: table-bare-or-qualified
                subject: {users: ["ali*"], groups: [fraud]}
                resource: {table: customers, column: "mob*", instance: "pg-*"}
                action: mask
                method: partial
              - id: level-list
                subject: {roles: [x]}
                resource: {level: [general-3, general-4]}
                action: deny
              - id: purpose-env
                subject: {roles: [y]}
                purpose: [audit]
                environment: ["prod*"]
                action: deny
              - id: office-hours
                subject: {roles: [z]}
                time: {weekdays: [mon-fri], hours: "09:00-18:00"}
                action: deny
              - id: night
                subject: {roles: [n]}
                time: {hours: "22:00-06:00", timezone: UTC}
                action: deny
              - id: outside-office
                subject: {roles: [o]}
                time: {weekdays: [mon-fri], hours: "09:00-18:00", outside: true}
                action: deny
            """
        )
    )
    key = res("API_KEY", "general-4", "system.credential", column="k")
    assert p.evaluate(Subject("u", ["dev"]), key).action == "mask"
    assert p.evaluate(Subject("u", []), key).action == "mask"  # no roles: not excluded
    assert p.evaluate(Subject("u", ["SERVICE"]), key).rule_id == "default:classified"  # any case
    assert p.evaluate(Subject("u", ["service", "crm_rw"]), key).rule_id == "default:classified"
    alice = Subject("Alice", ["r"], groups=["fraud"])
    for table in ("customers", "crm.customers", "CUSTOMERS"):
        r = Resource(
            "pg-crm-01", "crm", table, "mobile", "CN_MOBILE", "personal.contact", "general-2"
        )
        assert p.evaluate(alice, r).rule_id == "table-bare-or-qualified", table
    assert p.evaluate(Subject("bob", ["r"], groups=["fraud"]), MOBILE).rule_id.startswith("default")
    assert p.evaluate(Subject("alice", ["r"]), MOBILE).rule_id.startswith("default")
    assert p.evaluate(Subject("u", ["x"]), ID_CARD).action == "deny"
    assert p.evaluate(Subject("u", ["x"]), MOBILE).action != "deny"
    assert (
        p.evaluate(Subject("u", ["x"]), STATUS).action == "allow"
    )  # a level needs a classification
    assert (
        p.evaluate(Subject("u", ["y"], purpose="audit", environment="production"), STATUS).action
        == "deny"
    )
    assert (
        p.evaluate(Subject("u", ["y"], purpose="audit"), STATUS).action == "allow"
    )  # no environment
    assert (
        p.evaluate(Subject("u", ["y"], environment="prod"), STATUS).action == "allow"
    )  # no purpose
    z = Subject("u", ["z"])
    # Asia/Shanghai is UTC+8: Friday 02:00 UTC = 10:00 local (in); 12:00 UTC = 20:00 (out)
    assert p.evaluate(z, STATUS, dt.datetime(2026, 11, 27, 2, tzinfo=UTC)).action == "deny"
    assert p.evaluate(z, STATUS, dt.datetime(2026, 11, 27, 12, tzinfo=UTC)).action == "allow"
    assert (
        p.evaluate(z, STATUS, dt.datetime(2026, 11, 28, 2, tzinfo=UTC)).action == "allow"
    )  # Saturday
    assert p.evaluate(z, STATUS, "2026-11-27T02:30:00Z").action == "deny"  # RFC 3339 text
    n = Subject("u", ["n"])
    assert p.evaluate(n, STATUS, dt.datetime(2026, 11, 27, 23, tzinfo=UTC)).action == "deny"
    assert p.evaluate(n, STATUS, dt.datetime(2026, 11, 27, 5, 59, tzinfo=UTC)).action == "deny"
    assert p.evaluate(n, STATUS, dt.datetime(2026, 11, 27, 6, 0, tzinfo=UTC)).action == "allow"
    o = Subject("u", ["o"])
    assert p.evaluate(o, STATUS, dt.datetime(2026, 11, 27, 2, tzinfo=UTC)).action == "allow"
    assert p.evaluate(o, STATUS, dt.datetime(2026, 11, 28, 2, tzinfo=UTC)).action == "deny"
    assert [r.id for r in p.time_rules] == ["office-hours", "night", "outside-office"]
    assert len(p.window_state(FRIDAY_NOON_UTC)) == 3


def test_risk_and_bulk_only_make_decisions_stricter():
    p = parse_policy(
        textwrap.dedent(
            """\
            version: r
            deny_bulk: {levels: [important, core]}
            risk:
              - id: hi
                when: {risk_level: ">= high"}
                then: {mask_levels: ">= general-2", method: redact}
              - id: med-bulk
                when: {risk_level: medium, roles: [support]}
                then: {deny_bulk: {levels: ">= general-4"}}
              - id: crit
                when: {risk_level: critical}
                then: {deny_levels: [general-4]}
            rules:
              - id: support-partial
                subject: {roles: [support]}
                resource: {entity: CN_MOBILE}
                action: mask
                method: partial
              - id: support-ids
                subject: {roles: [support]}
                resource: {entity: CN_RESIDENT_ID}
                action: allow
            """
        )
    )
    s = Subject("s", ["support"])
    assert p.evaluate(s, MOBILE).method == "partial"
    assert p.evaluate(s.with_risk("low"), MOBILE).method == "partial"
    high = p.evaluate(s.with_risk("high"), MOBILE)
    assert (high.method, high.rule_id) == ("redact", "risk:hi")
    assert p.evaluate(s.with_risk("high"), STATUS).action == "allow"  # unclassified untouched
    assert p.evaluate(s.with_risk("critical"), ID_CARD).action == "deny"
    assert p.evaluate(s.with_risk("medium"), ID_CARD).action == "allow"
    assert p.evaluate(s.with_risk("medium"), ID_CARD, bulk=True).action == "deny"
    assert (
        p.evaluate(Subject("x", ["sales"], risk_level="medium"), ID_CARD, bulk=True).action
        == "mask"
    )
    core = res("CN_RESIDENT_ID", "core", "personal.identity")
    assert p.evaluate(s, core).action == "allow" and p.evaluate(s, core, bulk=True).action == "deny"


def test_explain_names_the_deciding_rule_and_the_rejected_ones(mini):
    e = mini.explain(Subject("s", ["support"]), MOBILE)
    assert e.decision.rule_id == "support-partial-mobile-crm"
    status = {t.rule_id: t.status for t in e.traces}
    assert status["support-partial-mobile-crm"] == "won"
    assert status["support-partial-mobile"] == "overridden"
    assert status["support-allow-contact"] == "overridden"
    assert status["ids-denied-to-interns"] == "rejected"
    reasons = {t.rule_id: t.reason for t in e.traces}
    assert "roles ['support'] does not match intern*" in reasons["ids-denied-to-interns"]
    assert "weaker" in reasons["support-allow-contact"]
    text = e.text()
    assert "support-partial-mobile-crm" in text and "line" in text
    d = e.to_dict()
    assert d["decision"]["rule"] == "support-partial-mobile-crm" and d["policy_version"] == "mini-1"
    assert len(d["rules"]) == len(mini.rules)
    # explaining gives the same decision as evaluating
    assert mini.evaluate(Subject("s", ["support"]), MOBILE) == e.decision


BROKEN = """\
version: 1
timezone: Mars/Olympus
defaults:
  classified: {action: mask}
risk:
  - id: r1
    when: {risk_level: ">= severe"}
    then: {mask_levels: ">= general-3", method: blur}
rules:
  - id: a
    subject: {roles: [hr], teams: [x]}
    resource: {entity: [PERSON_NAME, NOT_AN_ENTITY], level: ">= general-9"}
    action: mask
    method: scramble
  - id: a
    action: allow
    params: {x: 1}
  - id: b
    action: mask
    method: partial
    params: {keep_first: -1, colour: red}
    time: {weekdays: [funday], hours: "8-20"}
  - action: deny
  - id: c
    action: allow
    action: deny
  - id: d
    action: maybe
    colour: red
"""


def test_every_error_is_reported_with_its_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    errors = info.value.errors
    expected = [
        (2, "unknown timezone"),
        (4, "defaults.classified: action mask needs a method"),
        (7, "risk_level: '>= severe' is not a level"),
        (8, "method 'blur' is not one of"),
        (11, "unknown key 'teams' in subject"),
        (12, "unknown entity 'NOT_AN_ENTITY'"),
        (12, "resource.level: '>= general-9'"),
        (14, "method 'scramble'"),
        (15, "duplicate rule id 'a' (first on line 10)"),
        (17, "params are only for action mask"),
        (21, "parameter keep_first of partial must be an integer"),
        (21, "unknown parameter 'colour' for partial"),
        (22, "weekdays: 'funday'"),
        (22, "hours: '8-20'"),
        (23, "needs an id"),
        (26, "duplicate key 'action'"),
        (28, "action 'maybe' is not one of"),
        (29, "unknown key 'colour' in rule d"),
    ]
    for line, fragment in expected:
        assert any(ln == line and fragment in msg for ln, msg in errors), (line, fragment, errors)
    assert len(errors) == len(expected), errors
    assert str(path) in str(info.value) and ":22:" in str(info.value)


def test_yaml_syntax_and_shape_errors(tmp_path):
    with pytest.raises(PolicyError) as info:
        parse_policy("version: 1\nrules:\n  - id: x\n    action: [allow\n")
    assert info.value.errors[0][0] in (4, 5) and "YAML syntax" in info.value.errors[0][1]
    for text, line, fragment in [
        ("", 1, "empty"),
        ("- a\n- b\n", 1, "mapping at the top level"),
        ("rules: []\n", 1, "needs a version"),
        ("version: 1\n", 1, "needs rules"),
        ("version: 1\nrules: {}\n", 2, "rules must be a list"),
        ("version: 1\nrules: []\nextra: 1\n", 3, "unknown top-level key"),
        ("version: 1\nrules:\n  - id: t\n    action: deny\n    time: {hours: 8:00}\n", 5, "quote"),
        (
            "version: 1\nrules:\n  - id: t\n    action: allow\n    method: hash\n",
            5,
            "only for action mask",
        ),
        (
            "version: 1\nrules:\n  - id: t\n    action: deny\n    subject: {roles: []}\n",
            5,
            "is empty",
        ),
        ("version: 1\nrules:\n  - nope\n", 3, "must be a mapping"),
        (
            "version: 1\nreveal: {roles: [auditor], groups: [x]}\nrules: []\n",
            2,
            "unknown key 'groups'",
        ),
        ("version: 1\nrules:\n  - id: 'bad id'\n    action: deny\n", 3, "must be letters"),
    ]:
        with pytest.raises(PolicyError) as info:
            parse_policy(text)
        assert any(ln == line and fragment in msg for ln, msg in info.value.errors), (
            text,
            info.value.errors,
        )


def test_vocabulary_checks_can_be_relaxed():
    text = (
        "version: 1\nrules:\n  - id: t\n"
        "    resource: {entity: EMPLOYEE_NO, category: hr.custom}\n    action: allow\n"
    )
    with pytest.raises(PolicyError):
        parse_policy(text)
    assert parse_policy(text, known_entities=None, known_categories=None).rules[0].id == "t"
    assert parse_policy(text, known_entities={"EMPLOYEE_NO"}, known_categories={"hr.custom"}).rules
