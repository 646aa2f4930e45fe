"""The cheap pass: literal extraction per dialect, cache keys and fingerprint text."""

from __future__ import annotations

import pytest

from detectors.sql import analyze, dialect_for, fingerprint, scan
from detectors.sql.normalize import fingerprint_of


@pytest.mark.parametrize("dialect,sql,literals", [
    ("postgres", "SELECT 'O''Brien', 42, 3.14, 1e3, .5, 0x1F",
     ["O'Brien", "42", "3.14", "1e3", ".5", "0x1F"]),
    ("postgres", r"SELECT E'a\'b\nc', 'back\slash'", ["a'b\nc", "back\\slash"]),
    ("postgres", "SELECT $$it's; raw$$, $tag$x$tag$, $1", ["it's; raw", "x"]),
    ("postgres", "SELECT B'0101', X'1F', U&'d\\0061t'", ["0101", "1F", "d\\0061t"]),
    ("postgres", "SELECT t1.c2, col_3 FROM t9 WHERE a = -7", ["7"]),
    ("postgres", "SELECT 1 -- '13812345678'\n, /* 'secret' */ 2", ["1", "2"]),
    ("postgres", 'SELECT "it\'s a name" FROM t', []),
    ("mysql", r"SELECT 'it\'s', 'a''b', " + '"dq", _utf8mb4\'zz\', N\'nn\'',
     ["it's", "a'b", "dq", "zz", "nn"]),
    ("mysql", "SELECT `col 'x'` FROM t # 'hidden'", []),
    ("mysql", "SELECT 1--1", ["1", "1"]),
    ("tsql", "SELECT [it's], N'x' FROM t", ["x"]),
    ("oracle", "SELECT * FROM t WHERE a = :name AND b = :1 AND c = 'v'", ["v"]),
    (None, "SELECT * FROM t WHERE a = ? AND b = %s AND c = %(x)s AND d = 5", ["5"]),
])
def test_literals(dialect, sql, literals):
    assert list(scan(sql, dialect)[1]) == literals


def test_literals_keep_personal_data_in_order():
    info = analyze("INSERT INTO p (name, id_card, phone) VALUES ('张三', '11010519491231002X', "
                   "'13812345678')", "mysql")
    assert info.literals == ("张三", "11010519491231002X", "13812345678")
    assert "13812345678" not in info.fingerprint_text and "张三" not in info.fingerprint_text


def test_key_is_close_to_the_text_but_fingerprint_is_not():
    k1, k2 = scan("select * from t where id=1")[0], scan("select * from t where id = 1")[0]
    assert k1 != k2  # spacing stays in the cache key …
    assert fingerprint_of(k1) == fingerprint_of(k2)  # … but not in the fingerprint


def test_keywords_stay_quoted_in_key():
    assert scan('SELECT "order", "Name" FROM "T"', "postgres")[0] == 'select "order", name from t'
    assert scan("SELECT `order`, `a b` FROM t", "mysql")[0] == 'select "order", "a b" from t'


def test_in_lists_and_values_rows_collapse_only_when_all_literal():
    assert scan("SELECT 1 FROM t WHERE a IN (1, 2) AND b in(3,4,5) AND c IN (x, 1)")[0] == \
        "select ? from t where a in (?) and b in(?) and c in (x, ?)"
    assert scan("INSERT INTO t VALUES (1,2),(3,4),(5,6)")[0] == "insert into t values (?,?)"
    assert scan("INSERT INTO t VALUES (1,2),(3,now())")[0] == "insert into t values (?,?),(?,now())"


def test_executable_comment_is_code():
    key, _, flags = scan("SELECT 1 /*!50000 UNION SELECT 2 */", "mysql")
    assert key == "select ? union select ?" and flags == {"executable_comment"}
    assert scan("SELECT 1 /*!50000 UNION SELECT 2 */", "postgres")[0] == "select ?"


def test_fingerprint_function_and_dialect_names():
    assert fingerprint("select 1", "postgresql") == fingerprint("SELECT 2")
    assert dialect_for("PostgreSQL") == "postgres" and dialect_for("mariadb") == "mysql"
    assert dialect_for("sqlserver") == "tsql" and dialect_for("oracle") == "oracle"
    assert dialect_for("db2") is None and dialect_for(None) is None and dialect_for("") is None


def test_fingerprint_text_is_capped_but_hash_covers_all():
    a = analyze("SELECT " + ", ".join(f"c{i}" for i in range(2000)) + " FROM t")
    b = analyze("SELECT " + ", ".join(f"c{i}" for i in range(2001)) + " FROM t")
    assert len(a.fingerprint_text) == 4096
    assert a.fingerprint_text == b.fingerprint_text and a.fingerprint != b.fingerprint


def test_string_after_as_is_an_alias_not_a_literal():
    info = analyze("SELECT name AS 'Customer Name', 'x' AS y FROM t WHERE a = 'as'", "mysql")
    assert info.literals == ("x", "as")
    assert [n for n, _ in info.selected_columns] == ["customer name", "y"]
    other = analyze("SELECT name AS 'Other' , 'x' AS y FROM t WHERE a = 'as'", "mysql")
    assert [n for n, _ in other.selected_columns] == ["other", "y"]  # not the cached alias


def test_functions_are_named_as_written():
    pg = analyze("SELECT now(), date_trunc('day', ts), substr(a, 1, 2), to_char(ts, 'YYYY'), "
                 "string_agg(a, ','), random(), my_udf(a), current_user, pg_catalog.pg_sleep(1), "
                 "data->>'k', CAST(a AS int) FROM t LEFT JOIN u ON true "
                 "WHERE EXISTS (SELECT 1) AND a IN (1, 2)", "postgresql")
    assert pg.functions == {"now", "date_trunc", "substr", "to_char", "string_agg", "random",
                            "my_udf", "current_user", "pg_sleep"}
    my = analyze("SELECT ifnull(a, 1), user(), database(), version(), char_length(a), "
                 "CAST(a AS CHAR(10)), IF(a, 1, 2) FROM t", "mysql")
    assert my.functions == {"ifnull", "user", "database", "version", "char_length", "if"}
    ddl = analyze("CREATE TABLE IF NOT EXISTS log (ts timestamp DEFAULT now())", "postgresql")
    assert ddl.functions == {"now"}
