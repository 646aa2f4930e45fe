"""International formats: e-mail, IPv4/IPv6, US SSN, E.164 and North American phone numbers."""

from __future__ import annotations

import pytest

from detectors.sensitive import scan_value
from detectors.sensitive.validators import email, ipv6, us_ssn


def found(text, column_hint=None):
    return [(f.entity, f.value) for f in scan_value(text, column_hint)]


def entities(text, column_hint=None):
    return {f.entity for f in scan_value(text, column_hint)}


# --- e-mail -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("zhangsan@163.com", "zhangsan@163.com"),
        ("邮箱zhangsan@163.com，", "zhangsan@163.com"),  # glued to Chinese
        ("mail: first.last+tag@sub.example.co.uk.", "first.last+tag@sub.example.co.uk"),
        (
            "13812345678@qq.com",
            "13812345678@qq.com",
        ),  # one finding: the e-mail, not the mobile in it
    ],
)
def test_emails(text, value):
    assert found(text) == [("EMAIL", value)]


@pytest.mark.parametrize(
    "text", ["logo@2x.png", "user@localhost", "a@b", "x@-bad.com", "a..b@example.com"]
)
def test_email_near_misses(text):
    assert "EMAIL" not in entities(text)


def test_email_validator_limits():
    assert not email("a" * 65 + "@example.com")
    assert email("a" * 64 + "@example.com")


# --- IP addresses ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("登录IP 192.168.1.10", "192.168.1.10"),
        ("from 8.8.8.8.", "8.8.8.8"),
        ("client=2001:db8::8a2e:370:7334", "2001:db8::8a2e:370:7334"),
        ("fe80::1ff:fe23:4567:890a", "fe80::1ff:fe23:4567:890a"),
        ("::ffff:192.0.2.128", "::ffff:192.0.2.128"),
    ],
)
def test_ips(text, value):
    assert ("IP_ADDRESS", value) in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "256.1.1.1",
        "1.2.3",
        "1.2.3.4.5",
        "version 1.2.3.4",
        "版本号 10.0.0.1",
        "12:30:45",
        "00:1A:2B:3C:4D:5E",
        "std::vector",
        "2026-11-27",
    ],
)
def test_ip_near_misses(text):
    assert "IP_ADDRESS" not in entities(text)


def test_ipv6_validator():
    assert ipv6("fe80::1") and not ipv6("::1") and not ipv6("1:2:3") and not ipv6("::")


# --- US SSN ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["SSN 536-22-1234", "536-22-1234", "social security number: 536221234"]
)
def test_ssn(text):
    assert "US_SSN" in entities(text)


@pytest.mark.parametrize(
    "value",
    ["666-22-1234", "000-22-1234", "900-22-1234", "536-00-1234", "536-22-0000", "078-05-1120"],
)
def test_ssn_rules(value):
    assert not us_ssn(value) and "US_SSN" not in entities(f"SSN {value}")


def test_bare_nine_digits_are_not_an_ssn():
    assert "US_SSN" not in entities("536221234")
    assert "US_SSN" in entities("536221234", column_hint="ssn")


# --- phone numbers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("Tel. +44 20 7946 0958", "+44 20 7946 0958"),
        ("+4930123456", "+4930123456"),
        ("call +1 415-555-2671 now", "+1 415-555-2671"),
        ("phone (415) 555-2671", "(415) 555-2671"),
    ],
)
def test_international_phones(text, value):
    assert ("PHONE_NUMBER", value) in found(text)


@pytest.mark.parametrize(
    "text", ["+44 20 7946", "+999 1234567", "(415) 155-2671", "+1 000-555-2671"]
)
def test_phone_near_misses(text):
    assert "PHONE_NUMBER" not in entities(text)


def test_chinese_numbers_with_country_code_are_chinese_entities():
    assert found("+86 138 1234 5678") == [("CN_MOBILE", "+86 138 1234 5678")]
    assert found("+86 10 62345678") == [("CN_LANDLINE", "+86 10 62345678")]
