"""The cache (hits carry the new statement's literals) and "never raises, whatever the input"."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from detectors.sql import OPERATIONS, SqlAnalyzer, SqlInfo, analyze

CASES = yaml.safe_load((Path(__file__).parent / "data" / "sql_cases.yaml").read_text())["cases"]


# ------------------------------------------------------------------------------------- cache
def test_hit_returns_the_new_statements_literals():
    a = SqlAnalyzer()
    first = a.analyze("SELECT name FROM customers WHERE phone = '13800000001' AND id IN (1, 2)",
                      "postgresql")
    second = a.analyze("SELECT name FROM customers WHERE phone = '13999999999' AND id IN (7, 8, 9)",
                       "postgresql")
    assert (a.hits, a.misses) == (1, 1)
    assert first.literals == ("13800000001", "1", "2")
    assert second.literals == ("13999999999", "7", "8", "9")
    assert second._replace(literals=first.literals) == first  # the rest is the same structure


def test_cache_is_per_dialect_and_per_text_flags():
    a = SqlAnalyzer()
    a.analyze("SELECT a FROM t WHERE b = 1", "postgresql")
    a.analyze("SELECT a FROM t WHERE b = 1", "mysql")
    assert a.misses == 2
    hit = a.analyze("SELECT a FROM t WHERE b = 2 -- why", "mysql")
    assert a.hits == 1 and hit.flags == {"comment"}
    assert a.analyze("SELECT a FROM t WHERE b = 3", "mysql").flags == frozenset()


def test_lru_eviction_and_clear():
    a = SqlAnalyzer(cache_size=2)
    for sql in ("SELECT 1 FROM a", "SELECT 1 FROM b", "SELECT 1 FROM a", "SELECT 1 FROM c"):
        a.analyze(sql)
    assert (a.hits, a.misses) == (1, 3)
    a.analyze("SELECT 1 FROM a")  # kept: used more recently than b
    a.analyze("SELECT 1 FROM b")  # evicted
    assert (a.hits, a.misses) == (2, 4)
    a.clear()
    a.analyze("SELECT 1 FROM a")
    assert a.misses == 5


def test_catalogue_answers_are_cached_until_cleared():
    known: dict[str, list[str]] = {}
    a = SqlAnalyzer(columns_of=known.get)
    assert a.analyze("SELECT * FROM t").columns_read == {"t.*"}
    known["t"] = ["x"]
    assert a.analyze("SELECT * FROM t").columns_read == {"t.*"}
    a.clear()
    assert a.analyze("SELECT * FROM t").columns_read == {"t.x"}


def test_results_are_immutable():
    info = analyze("SELECT a FROM t")
    with pytest.raises(AttributeError):
        info.command = "DROP"  # type: ignore[misc]
    assert isinstance(info.tables_read, frozenset) and isinstance(info.selected_columns, tuple)


def test_statements_differing_in_literals_all_hit():
    """Speed of the cached path is measured by benchmarks/masking.py (``analyze_cached``)."""
    a = SqlAnalyzer()
    stmts = [f"SELECT c.id, c.name FROM customers c WHERE c.id = {i} AND c.region IN ('a', 'b')"
             for i in range(5000)]
    a.analyze(stmts[0], "postgresql")
    infos = [a.analyze(s, "postgresql") for s in stmts]
    assert a.hits == len(stmts)
    assert [i.literals for i in infos] == [(str(n), "a", "b") for n in range(5000)]


# ------------------------------------------------------------------------------ never raises
def check(info: SqlInfo) -> None:
    assert isinstance(info, SqlInfo)
    assert info.operation in OPERATIONS
    assert len(info.fingerprint) == 16
    assert isinstance(info.literals, tuple) and all(isinstance(x, str) for x in info.literals)
    assert "internal_error" not in info.flags, info.error


def test_random_bytes_and_junk():
    rnd = random.Random(20261111)
    alphabet = "'\"`$;()[]{},.-/*#?:=<>!|&%@\\ \n\tselectfromwhereunionSELECTFROM0123456789_xé中"
    for i in range(400):
        raw = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 200)))
        for text in (raw.decode("utf-8", "replace"), raw.decode("latin-1"),
                     raw.decode("utf-8", "surrogateescape")):
            for dialect in ("postgresql", "mysql", "sqlserver", "oracle", None):
                check(analyze(text, dialect))
        junk = "".join(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 120)))
        check(analyze(junk, ("postgresql", "mysql")[i % 2]))


def test_every_prefix_of_the_table_statements():
    a = SqlAnalyzer()
    for case in CASES:
        sql = case["sql"]
        for end in range(0, len(sql), 3):
            check(a.analyze(sql[:end], case["dialect"]))


def test_odd_python_inputs():
    for value in (None, b"SELECT 1 FROM t", bytearray(b"\xff\xfe"), 42, ["x"]):
        check(analyze(value))  # type: ignore[arg-type]
    assert analyze(b"SELECT a FROM t").tables_read == {"t"}  # type: ignore[arg-type]


def test_unterminated_quotes_and_comments():
    for sql in ("SELECT 'abc FROM t", 'SELECT "abc FROM t', "SELECT /* x FROM t",
                "SELECT $$ FROM t", "SELECT E'\\", "SELECT `x FROM t", "SELECT [x FROM t",
                "'", "\x00\x00", ";;;", "((((((", "))))", "-- only"):
        for dialect in ("postgresql", "mysql", "sqlserver", "oracle"):
            check(analyze(sql, dialect))


def test_huge_statement_uses_the_tokenizer_path_only():
    sql = "SELECT * FROM big WHERE id IN (" + ", ".join(str(i) for i in range(150_000)) + ")"
    assert len(sql) > 1_000_000
    info = analyze(sql, "postgresql")
    assert "too_long" in info.flags and not info.parse_ok and info.error
    assert info.operation == "read" and info.tables_read == {"big"}
    assert len(info.literals) == 150_000
    assert info.fingerprint_text == "select * from big where id in (?)"


def test_deep_nesting_is_bounded():
    sql = "SELECT " + "(" * 5000 + "1" + ")" * 5000 + " FROM t"
    info = analyze(sql)
    check(info)
    assert "too_deep" in info.flags and info.tables_read == {"t"}
    nested = "SELECT a FROM " + "(SELECT a FROM " * 60 + "t" + ") x" * 60
    deep = analyze(nested, "postgresql")
    assert deep.parse_ok and deep.tables_read == {"t"} and deep.selected_columns == (
        ("a", frozenset({"t.a"})),)


def test_long_flat_statements_parse():
    ors = "SELECT id FROM t WHERE " + " OR ".join(f"a = {i}" for i in range(3000))
    info = analyze(ors, "postgresql")
    assert info.parse_ok and info.columns_filtered == {"t.a"} and len(info.literals) == 3000
    many = ";".join(f"UPDATE t{i} SET a = 1" for i in range(300))
    info = analyze(many, "mysql")
    assert info.statements == 300 and len(info.tables_written) == 300


def test_a_walk_failure_degrades_to_the_tokenizer_path(monkeypatch):
    from detectors.sql import tree

    def boom(self, node):
        raise RuntimeError("bug")

    monkeypatch.setattr(tree.Walker, "statement", boom)
    info = SqlAnalyzer().analyze("SELECT a FROM t JOIN u ON t.id = u.id WHERE b = 1", "postgresql")
    assert info.parse_ok and "walk_error" in info.flags and info.error
    assert info.operation == "read" and info.tables_read == {"t", "u"} and info.literals == ("1",)


def test_placeholder_characters_in_the_text():
    for sql in ('SELECT "a b" FROM t WHERE x = \ue0005\ue001', "\ue0000\ue001 \"q q\"",
                '\ue000"x y"\ue001'):
        check(analyze(sql, "postgresql"))


# Long inputs that once made parsers or regexes go quadratic; benchmarks/sql_inputs.py times
# them at two sizes. ``k`` scales each.
PATHOLOGICAL = {
    "calls": lambda k=1: "WITH x AS (SELECT 1) SELECT " + ", ".join(["f(a), g(b)"] * 30_000 * k),
    "parens": lambda k=1: "SELECT " + "(" * 300_000 * k,
    "closing": lambda k=1: ")" * 300_000 * k,
    "semicolons": lambda k=1: "SELECT 1;" * 35_000 * k,
    "quote": lambda k=1: "SELECT '" + "a\\'" * 100_000 * k,
    "dots": lambda k=1: "a." * 150_000 * k,
    "aliases": lambda k=1: "SELECT " + ", ".join(["a AS 'b'"] * 30_000 * k),
    "escapes": lambda k=1: "SELECT " + "'\\" * 50_000 * k,  # unterminated, ends in a lone backslash
    "nested_with": lambda k=1: "SELECT " + "with a as (" * 9_000 * k,
    "exec_comments": lambda k=1: "SELECT " + "/*!" * 30_000 * k,
    "outfile": lambda k=1: "SELECT a " + "INTO OUTFILE '\\" * 9_000 * k,
}


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
@pytest.mark.timeout(60)  # a hang guard; their cost is measured by benchmarks/sql_inputs.py
def test_pathological_long_inputs_never_raise(name):
    sql = PATHOLOGICAL[name]()
    for dialect in ("postgresql", "mysql"):
        check(analyze(sql, dialect))
