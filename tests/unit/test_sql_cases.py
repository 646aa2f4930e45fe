"""The statement table (tests/unit/data/sql_cases.yaml): operation, tables, columns, flags,
literals and fingerprint classes, compared exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from detectors.sql import SqlAnalyzer, fingerprint

DATA = yaml.safe_load((Path(__file__).parent / "data" / "sql_cases.yaml").read_text())
CASES = DATA["cases"]
SETS = ("tables_read", "tables_written", "columns_read", "columns_written", "columns_filtered",
        "functions")
SCALARS = ("operation", "command", "statements", "has_where", "has_limit", "parse_ok")


def test_table_is_big_and_well_formed():
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    assert len(CASES) >= 60
    assert sum(c["dialect"] in ("postgresql",) for c in CASES) >= 30
    assert sum(c["dialect"] in ("mysql", "mariadb") for c in CASES) >= 25
    for c in CASES:
        assert "tables_read" in c and "tables_written" in c, c["id"]


@pytest.fixture(scope="module")
def analyzer():
    return SqlAnalyzer()


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case, analyzer):
    info = analyzer.analyze(case["sql"], case["dialect"])
    got, want = {}, {}
    for key in SCALARS:
        if key in case:
            got[key], want[key] = getattr(info, key), case[key]
    if "parse_ok" not in case:  # unless said otherwise, the statement must parse
        got["parse_ok"], want["parse_ok"] = info.parse_ok, True
    for key in SETS:
        if key in case:
            got[key], want[key] = set(getattr(info, key)), set(case[key])
    if "commands" in case:
        got["commands"], want["commands"] = list(info.commands), case["commands"]
    if "literals" in case:
        got["literals"], want["literals"] = list(info.literals), [str(v) for v in case["literals"]]
    if "flags" in case:  # exact, but the text flags only when the case names some
        got["flags"], want["flags"] = set(info.flags), set(case["flags"])
    if "selected" in case:
        got["selected"] = [(n, set(s)) for n, s in info.selected_columns]
        want["selected"] = [(n, set(s)) for n, s in case["selected"].items()]
    assert got == want, info.error


def test_parse_failures_say_why_without_quoting_the_statement(analyzer):
    info = analyzer.analyze("SELECT name FROM customers WHERE phone = '13812345678' AND AND",
                            "postgresql")
    assert not info.parse_ok and info.error and info.error.startswith("ParseError")
    assert "13812345678" not in info.error and "customers" not in info.error
    assert "13812345678" in info.literals


def _classes():
    return [(g["dialect"], g["same"]) for g in DATA["fingerprint_classes"]]


@pytest.mark.parametrize("dialect,same", _classes(), ids=lambda v: str(v)[:40])
def test_fingerprint_class_members_agree(dialect, same, analyzer):
    fps = {analyzer.analyze(s, dialect).fingerprint for s in same}
    assert len(fps) == 1, [analyzer.analyze(s, dialect).fingerprint_text for s in same]
    assert fps == {fingerprint(same[0], dialect)[0]}


def test_fingerprint_classes_differ(analyzer):
    seen: dict[str, str] = {}
    for dialect, same in _classes():
        info = analyzer.analyze(same[0], dialect)
        assert info.fingerprint not in seen, (same[0], seen.get(info.fingerprint))
        seen[info.fingerprint] = same[0]


def test_fingerprint_shape(analyzer):
    info = analyzer.analyze("SELECT *  FROM t WHERE id=42 -- x", "postgresql")
    assert info.fingerprint_text == "select * from t where id = ?"
    assert len(info.fingerprint) == 16 and int(info.fingerprint, 16) >= 0
    ins = analyzer.analyze("insert into t (a,b) values (2,'y'), (3,'z')", "postgresql")
    assert ins.fingerprint_text == "insert into t (a, b) values (?, ?)"
    assert analyzer.analyze("SELECT * FROM t WHERE id IN (1,2,3)", "postgresql"
                            ).fingerprint_text == "select * from t where id in (?)"
