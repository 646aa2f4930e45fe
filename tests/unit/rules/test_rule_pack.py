"""The rule pack as data: every rule's own test cases, loader strictness, coverage."""

from __future__ import annotations

import dataclasses

import pytest

from detectors.rules.casebook import failures
from detectors.rules.loader import RuleLoadError, load_rules
from detectors.rules.model import RULE_TYPES


def test_every_rule_passes_its_positive_and_negative_cases(pack):
    problems = failures(pack)
    assert problems == [], "failing rule cases:\n" + "\n".join(problems)


def test_pack_is_large_and_covers_every_type(pack):
    assert len(pack) >= 20
    assert {r.type for r in pack} == set(RULE_TYPES)
    assert {r.kind for r in pack} >= {"rule", "anomaly", "correlation"}
    for r in pack:
        assert r.threat and r.threat.technique_id.startswith("T"), r.source
        assert r.tests["positive"] and r.tests["negative"], r.source


@pytest.mark.parametrize("tag", ["sqli", "destruction", "audit", "brute-force", "spraying",
                                 "dormant", "service-account", "honeytoken", "enumeration",
                                 "errors", "anomaly", "off-hours", "export", "dcl"])
def test_pack_covers_the_threats_asked_for(pack, tag):
    assert any(tag in r.tags for r in pack)


def _write(tmp_path, name, rule_text):
    (tmp_path / name).write_text(rule_text)


RULE = """
id: {id}
name: {name}
description: d
type: match
severity: low
risk_score: 10
threat: {{technique: {{id: T1078, name: Valid Accounts}}}}
tags: [t]
maturity: production
when: {{field: user.name, equals: x}}
tests: {{positive: [{{user: {{name: x}}}}], negative: [{{user: {{name: y}}}}]}}
"""


def test_loader_reports_every_offender_with_file_names(tmp_path):
    a = "11111111-1111-4111-8111-111111111111"
    b = "22222222-2222-4222-8222-222222222222"
    _write(tmp_path, "a.yaml", RULE.format(id=a, name="One"))
    _write(tmp_path, "b.yaml", RULE.format(id=a, name="Two"))  # duplicate id
    _write(tmp_path, "c.yaml", RULE.format(id=b, name="one"))  # duplicate name (any case)
    _write(tmp_path, "d.yaml", "id: nope\nname: Bad\ntype: weird\nseverity: huge\n")
    _write(tmp_path, "e.yaml", "key: [unclosed\n")
    with pytest.raises(RuleLoadError) as e:
        load_rules(tmp_path)
    text = str(e.value)
    assert "a.yaml, b.yaml: duplicate id" in text
    assert "a.yaml, c.yaml: duplicate name" in text
    assert "d.yaml: id 'nope' is not a UUID" in text
    assert "d.yaml: type 'weird'" in text and "d.yaml: severity 'huge'" in text
    assert "d.yaml: missing 'risk_score'" in text and "d.yaml: missing 'tests" in text
    assert "e.yaml: cannot read" in text
    assert len(e.value.problems) >= 8


def test_loader_accepts_a_clean_directory(tmp_path):
    _write(tmp_path, "a.yaml", RULE.format(id="11111111-1111-4111-8111-111111111111", name="One"))
    (rule,) = load_rules(tmp_path)
    assert rule.name == "One" and rule.source == "a.yaml"
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.name = "changed"


def test_failures_reports_all_failing_rules_at_once(pack):
    broken = []
    for r in pack[:3]:
        # swap positives and negatives: every case of these rules must now fail
        t = {"positive": r.tests["negative"], "negative": r.tests["positive"]}
        broken.append(type(r)(**{**r.__dict__, "tests": t}))
    problems = failures(broken)
    files = {p.split(":")[0] for p in problems}
    assert files == {r.source for r in broken}
