"""The SASL server of the test front (connectors/secure_front.py) against the RFCs' own examples."""

from __future__ import annotations

import base64

import pytest

from connectors.secure_front import AuthFailed, ScramCredential, _Plain, _Scram


def _rfc7677_server() -> _Scram:
    cred = ScramCredential.derive("sha256", "pencil", base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096)
    return _Scram("SCRAM-SHA-256", {"user": cred}, nonce=lambda: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0")


def test_scram_sha_256_matches_rfc_7677():
    server = _rfc7677_server()
    first, done = server.step(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
    assert (first, done) == (b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", False)
    final, done = server.step(b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                              b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    assert (final, done) == (b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", True)
    assert server.user == "user"


def test_scram_rejects_a_wrong_proof_an_unknown_user_and_a_replayed_nonce():
    server = _rfc7677_server()
    server.step(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
    bad_proof = base64.b64encode(b"\0" * 32).decode()
    with pytest.raises(AuthFailed, match="invalid credentials"):
        server.step(f"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p={bad_proof}".encode())
    with pytest.raises(AuthFailed, match="unknown user"):
        _rfc7677_server().step(b"n,,n=mallory,r=abc")
    server = _rfc7677_server()
    server.step(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
    with pytest.raises(AuthFailed, match="malformed"):  # the server's half of the nonce is missing
        server.step(b"c=biws,r=rOprNGfwEbeRWgbNEkqO,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")


def test_plain_checks_the_password_against_the_salted_credential():
    users = {"alice": ScramCredential.derive("sha256", "s3cret")}
    assert _Plain(users).step(b"\0alice\0s3cret") == (b"", True)
    with pytest.raises(AuthFailed):
        _Plain(users).step(b"\0alice\0wrong")
    with pytest.raises(AuthFailed):
        _Plain(users).step(b"garbage")
