"""Secrets: JWTs, API keys, private keys and passwords written into SQL."""

from __future__ import annotations

import base64
import json

import pytest

from detectors.sensitive import scan_value
from detectors.sensitive.validators import jwt


def b64url(obj) -> str:
    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


TOKEN = ".".join(
    [
        b64url({"alg": "HS256", "typ": "JWT"}),
        b64url({"sub": "42", "name": "王梅"}),
        b64url(b"\x01" * 32),
    ]
)


def found(text, column_hint=None):
    return [(f.entity, f.value) for f in scan_value(text, column_hint)]


def entities(text):
    return {f.entity for f in scan_value(text)}


# --- JWT -----------------------------------------------------------------------------------------------


def test_jwt_found_in_header_and_bare():
    assert found(f"Authorization: Bearer {TOKEN}") == [("JWT", TOKEN)]
    assert found(TOKEN) == [("JWT", TOKEN)]


@pytest.mark.parametrize(
    "token",
    [
        ".".join([b64url({"typ": "JWT"}), b64url({"sub": "1"}), "sig"]),  # no alg
        ".".join([b64url(b"not json at all"), b64url({"sub": "1"}), "sig"]),
        "eyJhbGciOiJIUzI1NiJ9",  # one segment
        b64url({"alg": "none"}) + ".eyJ",  # two segments, the second too short
    ],
)
def test_jwt_near_misses(token):
    assert not jwt(token) or token.count(".") != 2
    assert "JWT" not in entities(token)


def test_unsigned_jwt_is_still_a_token():
    t = ".".join([b64url({"alg": "none"}), b64url({"sub": "1"}), ""])
    assert found(t) == [("JWT", t)]


# --- API keys -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_" + "a1B2" * 9,
        "github_pat_" + "A1b2_" * 16 + "xy",
        "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
        "xoxb-123456789012-1234567890123-" + "a1B2c3D4" * 3,
        "AIza" + "SyA-1234567890abcdefghijklmnopqrstu",
        "glpat-" + "x1Y2z3W4v5U6t7S8r9Q0",
        "npm_" + "a1B2c3" * 6,
        "SG." + "a" * 22 + "." + "b" * 43,
        "LTAI" + "5tAbCdEf12345678",
        "sk-proj-" + "Ab1_" * 10,
    ],
)
def test_api_keys(key):
    assert found(f"export KEY={key}") == [("API_KEY", key)]


@pytest.mark.parametrize(
    "text",
    [
        "AKIAIOSFODNN7EXAMPL",  # 15 after the prefix
        "ghp_short",
        "pk_live_4eC39HqLyjWDarjtT1zdp7dc",  # publishable, not secret
        "sk-is-a-prefix-of-words",
        "The Asia-Pacific office",
    ],
)
def test_api_key_near_misses(text):
    assert "API_KEY" not in entities(text)


def test_secret_assignment_covers_the_value_only():
    [f] = scan_value('config: api_key = "Zx8-Qw2_Lm7Rt5Yu"')
    assert (f.entity, f.value) == ("API_KEY", "Zx8-Qw2_Lm7Rt5Yu")
    assert scan_value('api_key = "${API_KEY}"') == []


# --- private keys ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["RSA ", "EC ", "", "OPENSSH ", "ENCRYPTED "])
def test_pem_private_keys(kind):
    pem = f"-----BEGIN {kind}PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END {kind}PRIVATE KEY-----"
    assert found(f"key:\n{pem}\n") == [("PRIVATE_KEY", pem)]


def test_public_keys_and_certificates_are_not_secrets():
    assert scan_value("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----") == []
    assert scan_value("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----") == []


# --- passwords in SQL -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql, secret",
    [
        ("CREATE USER 'bob'@'%' IDENTIFIED BY 'S3cr3t!';", "S3cr3t!"),
        ("ALTER USER bob IDENTIFIED WITH mysql_native_password BY 'p@ss''word'", "p@ss''word"),
        ("create user scott identified by tiger;", "tiger"),
        ('ALTER USER app IDENTIFIED BY "Oracle#1"', "Oracle#1"),
        ("CREATE ROLE app WITH LOGIN PASSWORD 'hunter2'", "hunter2"),
        ("ALTER ROLE app PASSWORD 'n3w-pass'", "n3w-pass"),
        ("SET PASSWORD FOR 'bob'@'%' = PASSWORD('old-style')", "old-style"),
        ("SELECT id FROM users WHERE login = 'bob' AND password = 'abc123'", "abc123"),
        ("UPDATE users SET pwd='qwerty!' WHERE id=3", "qwerty!"),
        ("Server=db;Database=app;Uid=sa;Pwd=Str0ng!Pass;", "Str0ng!Pass"),
        ("postgres://app:pa55w0rd@db.internal:5432/app", "pa55w0rd"),
    ],
)
def test_sql_passwords(sql, secret):
    assert ("PASSWORD", secret) in found(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE users SET password = ? WHERE id = ?",
        "UPDATE users SET password = %s WHERE id = %s",
        "UPDATE users SET password = :password WHERE id = :id",
        "UPDATE users SET password = '******' WHERE id = 1",
        "SELECT password_hint, password_changed_at FROM users",
        "ALTER USER bob IDENTIFIED BY VALUES 'S:ABC'",
        "SELECT * FROM users WHERE password = ''",
    ],
)
def test_sql_without_password_literals(sql):
    assert "PASSWORD" not in entities(sql)


def test_password_finding_masks_only_the_secret():
    sql = "CREATE USER 'bob'@'%' IDENTIFIED BY '13812345678';"
    [f] = scan_value(sql)
    assert f.entity == "PASSWORD" and sql[f.start : f.end] == "13812345678"  # not also a mobile
