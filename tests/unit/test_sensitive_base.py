"""Recognizer building blocks: Pattern validation, context matching, scoring, explanations."""

from __future__ import annotations

import pytest

from detectors.sensitive.base import (
    NON_SENSITIVE_HINT,
    Pattern,
    PatternError,
    PatternRecognizer,
    Recognizer,
    compile_context,
    quick_regex,
)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"name": "p", "regex": "(", "score": 0.5}, "invalid regex"),
        ({"name": "p", "regex": r"\d+", "score": 1.5}, r"not in \[0, 1\]"),
        ({"name": "p", "regex": r"\d+", "score": -0.1}, r"not in \[0, 1\]"),
        ({"name": "p", "regex": r"\d+", "score": "high"}, r"not in \[0, 1\]"),
        ({"name": "p", "regex": r"\d+", "score": True}, r"not in \[0, 1\]"),
        ({"name": "p", "regex": r"\d+", "score": 0.5, "group": 1}, "no group 1"),
        ({"name": "p", "regex": r"(?P<v>\d+)", "score": 0.5, "group": "w"}, "no group named"),
        ({"name": "p", "regex": r"\d*", "score": 0.5}, "empty string"),
        ({"name": "p", "regex": r"\d", "score": 0.5, "flags": "q"}, "unknown regex flag"),
        ({"name": "", "regex": r"\d", "score": 0.5}, "needs a name"),
    ],
)
def test_pattern_is_validated_when_built(kwargs, message):
    with pytest.raises(PatternError, match=message):
        Pattern(**kwargs)


def test_pattern_compiles_with_flags_and_group():
    p = Pattern("pw", r"password\s*=\s*'([^']+)'", 0.9, group=1, flags="i")
    assert p.compiled.search("PASSWORD = 'x'").group(p.group) == "x"


def test_context_is_cjk_safe():
    rx = compile_context(["手机", "tel", "id"])
    assert rx.search("联系人手机号")  # substring inside Chinese
    assert rx.search("TEL:") and rx.search("user_id")
    assert not rx.search("hotel") and not rx.search("paid")


class Pin(Recognizer):
    ENTITY = "PIN"
    PATTERNS = (Pattern("pin", r"(?<!\d)\d{6}(?!\d)", 0.3),)
    CONTEXT = ("密码", "pin")
    NEGATIVE_CONTEXT = ("验证码",)


def test_context_boost_and_explanation():
    [f] = Pin().analyze("交易密码：123456")
    assert f.score == pytest.approx(0.65) and f.context == ("密码",)
    assert f.explanation == "PIN 0.65: Pin pattern pin 0.30; context 密码 +0.35"


def test_nearest_label_wins():
    [f] = Pin().analyze("验证码已发送，交易密码123456")
    assert f.score == pytest.approx(0.65)
    [g] = Pin().analyze("密码已重置，验证码123456")
    assert g.score == pytest.approx(0.0) and "negative context 验证码" in g.explanation


def test_hints_boost_or_penalise():
    [f] = Pin().analyze("123456", frozenset({"PIN"}))
    assert f.score == pytest.approx(0.65) and "column hint" in f.explanation
    [g] = Pin().analyze("123456", frozenset({NON_SENSITIVE_HINT}))
    assert g.score == pytest.approx(0.0)


def test_context_needs_surroundings():
    # A bare value has no context; the column name is the hint, not context.
    [f] = Pin().analyze("123456")
    assert f.context == () and f.score == pytest.approx(0.3)


def test_finding_hides_its_value():
    [f] = Pin().analyze("pin 123456")
    assert f.value == "123456"
    assert "123456" not in repr(f) and "123456" not in str(f.to_dict())


def test_pattern_recognizer_rejects_unknown_validator_and_classes():
    with pytest.raises(PatternError, match="unknown validator"):
        PatternRecognizer(name="x", entity="X", patterns=[Pattern("p", "a", 0.5)], validator="nope")
    with pytest.raises(PatternError, match="prefilter"):
        PatternRecognizer(
            name="x", entity="X", patterns=[Pattern("p", "a", 0.5)], requires=["vowel"]
        )


def test_validator_rejects_and_names_itself():
    r = PatternRecognizer(
        name="Card", entity="CARD", patterns=[Pattern("p", r"\d{16}", 0.5)], validator="luhn"
    )
    assert [f.value for f in r.analyze("4111111111111111 4111111111111112")] == ["4111111111111111"]
    assert "luhn ok" in r.analyze("4111111111111111")[0].explanation


def test_quick_regex_merges_patterns():
    q = quick_regex([Pattern("a", r"(?P<x>ab)", 0.5), Pattern("b", r"cd", 0.5, flags="i")])
    assert q.search("xxCD") and q.search("ab") and not q.search("ac")
    assert quick_regex([Pattern("a", r"(a)\1", 0.5)]) is None  # back-references cannot merge


def test_triggers():
    r = PatternRecognizer(
        name="T",
        entity="T",
        patterns=[Pattern("p", "x", 0.5)],
        triggers=["Key"],
        triggers_ignore_case=True,
    )
    assert r.triggered("API_KEY") and not r.triggered("nothing")
