"""The follower: complete lines with offsets, across rename and copytruncate rotation, resume."""

from __future__ import annotations

import os

from connectors.sources.follow import Follower, fingerprint_of


def _write(path, data: bytes, mode="ab"):
    with open(path, mode) as f:
        f.write(data)


def _drain(f: Follower, rounds: int = 5) -> list[tuple[bytes, int]]:
    out = []
    for _ in range(rounds):
        out += [(line.data, line.offset) for line in f.read()]
    return out


def test_partial_last_line_waits_for_its_newline(tmp_path):
    p = tmp_path / "a.log"
    _write(p, b"one\ntw")
    f = Follower(p)
    assert _drain(f) == [(b"one", 0)]
    assert f.position.offset == 4 and f.at_end() and f.lag_bytes() == 2  # "tw" waits
    _write(p, b"o\r\nthree\n")
    assert _drain(f) == [(b"two", 4), (b"three", 9)]
    assert f.at_end() and f.lag_bytes() == 0


def test_rename_rotation_finishes_the_old_file_first(tmp_path):
    p = tmp_path / "a.log"
    _write(p, b"a1\na2\n")
    f = Follower(p)
    assert _drain(f) == [(b"a1", 0), (b"a2", 3)]
    _write(p, b"a3\nunterminated")  # written just before the rotation
    os.rename(p, tmp_path / "a.log.1")
    _write(p, b"b1\n")
    got = _drain(f)
    assert got == [(b"a3", 6), (b"unterminated", 9), (b"b1", 0)]
    assert f.rotations == 1 and f.position.fingerprint == fingerprint_of(b"b1")


def test_copytruncate_restarts_at_zero_with_a_new_identity(tmp_path):
    p = tmp_path / "a.log"
    _write(p, b"old1\nold2\n")
    f = Follower(p)
    _drain(f)
    old_fp = f.position.fingerprint
    _write(p, b"new1\n", mode="wb")  # truncated, then written again
    got = _drain(f)
    assert got == [(b"new1", 0)]
    assert f.truncations == 1 and f.position.fingerprint != old_fp


def test_resume_finishes_a_file_rotated_while_stopped(tmp_path):
    p = tmp_path / "a.log"
    _write(p, b"x1\nx2\nx3\n")
    f = Follower(p)
    f.read()
    fp, _ = f.position.fingerprint, f.close()
    os.rename(p, tmp_path / "a.log.1")
    _write(p, b"y1\n")
    g = Follower(p)
    assert g.resume(fp, 3)  # x1 was delivered before the stop
    assert _drain(g) == [(b"x2", 3), (b"x3", 6), (b"y1", 0)]


def test_resume_after_copytruncate_reads_the_copy(tmp_path):
    p = tmp_path / "a.log"
    _write(p, b"c1\nc2\n")
    fp = fingerprint_of(b"c1")
    (tmp_path / "a.log.1").write_bytes(p.read_bytes())  # logrotate copytruncate
    _write(p, b"d1\n", mode="wb")
    g = Follower(p)
    assert g.resume(fp, 3)
    assert _drain(g) == [(b"c2", 3), (b"d1", 0)]


def test_resume_with_a_vanished_file_reports_it(tmp_path):
    p = tmp_path / "a.log"
    _write(p, b"z\n")
    assert not Follower(p).resume(fingerprint_of(b"gone"), 10)


def test_a_runaway_line_is_cut_and_reported_not_buffered(tmp_path):
    p = tmp_path / "a.log"
    _write(p, b"ok\n" + b"x" * 5000 + b"\nafter\n")
    f = Follower(p, read_size=1024, max_line=2048)
    got = _drain(f, rounds=20)
    assert got == [(b"ok", 0), (b"after", 5004)]
    assert len(f.too_long) == 1 and f.too_long[0].offset == 3


def test_glob_follows_the_newest_file(tmp_path):
    older = tmp_path / "postgresql-1.json"
    _write(older, b"o\n")
    os.utime(older, (1, 1))
    newer = tmp_path / "postgresql-2.json"
    _write(newer, b"n\n")
    f = Follower(tmp_path / "postgresql-*.json")
    assert _drain(f) == [(b"n", 0)]
