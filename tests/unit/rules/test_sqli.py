"""SQL injection on the parsed statement: sqlmap's payloads (rendered at test time from the
installed package) must be caught, benign statements of many shapes must not."""

from __future__ import annotations

import collections

import pytest

from detectors.rules.sqli import SIGNALS, SqliDetector, lex, sqli_signals
from detectors.sql import SqlAnalyzer

from .benign_sql import benign_statements
from .sqlmap_corpus import render_corpus, sqlmap_dir


@pytest.fixture(scope="module")
def payloads():
    if sqlmap_dir() is None:
        pytest.skip("sqlmap is not installed (pip install sqlmap): its payload corpus is "
                    "rendered from the installed package")
    return render_corpus()


def test_sqlmap_payloads_are_detected(payloads):
    assert len(payloads) >= 5000
    missed = [p for p in payloads if not sqli_signals(p.statement, p.db_system)]
    by_technique = collections.Counter(p.technique for p in payloads)
    assert set(by_technique) >= {"boolean_blind", "error_based", "time_blind", "union_query",
                                 "stacked_queries", "inline_query"}
    rate = 1 - len(missed) / len(payloads)
    print(f"\nsqlmap corpus: {len(payloads)} payloads, detected {rate:.4%}")
    assert rate >= 0.99, "missed e.g.:\n" + "\n".join(p.statement for p in missed[:10])
    for technique in by_technique:  # no technique may be weak on its own
        n = by_technique[technique]
        m = sum(1 for p in missed if p.technique == technique)
        assert m / n <= 0.02, f"{technique}: {m}/{n} missed"


def test_benign_statements_are_not_flagged():
    stmts = benign_statements(2500)
    assert len(set(stmts)) >= 2000
    flagged = [(s, d, sorted(sqli_signals(s, d))) for s, d in stmts if sqli_signals(s, d)]
    print(f"\nbenign corpus: {len(stmts)} statements, false positives {len(flagged)}")
    assert len(flagged) <= len(stmts) * 0.001, flagged[:5]


@pytest.mark.parametrize("stmt, system, expected", [
    ("SELECT * FROM users WHERE 1=1 AND id = 5", "postgresql", set()),
    ("SELECT * FROM t WHERE id IN (NULL) AND (1 != 1)", "postgresql", set()),
    ("SELECT * FROM users WHERE id = 5 AND 1=1", "postgresql", set()),  # ORM-trivial in an AND
    ("SELECT * FROM users WHERE id = 5 OR 1=1", "postgresql", {"tautology"}),
    ("SELECT * FROM users WHERE name = '' OR 'a'='a'", "mysql", {"tautology"}),
    ("SELECT * FROM users WHERE name = 'x' AND 5172=5172", "mysql", {"constant_condition"}),
    ("SELECT * FROM users WHERE id = 5 OR 1", "mysql", {"tautology"}),
    ("SELECT * FROM t WHERE note = 'it''s 1=1 OR ''a''=''a'' union select'", "postgresql", set()),
    ("SELECT * FROM t WHERE note = 'it\\'s OR 1=1'", "mysql", set()),
    ("SELECT * FROM t WHERE a = $$ OR 1=1 $$", "postgresql", set()),
    ("SELECT * FROM t WHERE id = 1 AND SLEEP(5)", "mysql", {"time_delay"}),
    ("SELECT * FROM t WHERE id = 1;WAITFOR DELAY '0:0:5'--", "sqlserver",
     {"time_delay", "stacked"}),
    ("SELECT pg_sleep(1)", "postgresql", {"time_delay"}),
    ("SELECT * FROM t WHERE id=1 AND extractvalue(1,concat(0x7e,version()))", "mysql",
     {"error_function"}),
    ("SELECT * FROM t WHERE id = 1 UN/**/ION SE/**/LECT password FROM users", "mysql",
     {"comment_obfuscation"}),
    ("SELECT * FROM t WHERE id = 1 /*!50000UNION*/ SELECT 1,2", "mysql",
     {"comment_obfuscation", "union_probe"}),
    ("SELECT * FROM t WHERE name = 'x' -- ' AND tenant = 3", "postgresql",
     {"comment_truncation"}),
    ("SELECT * FROM t WHERE id = (SELECT table_name FROM information_schema.tables LIMIT 1)",
     "mysql", {"catalog_probe"}),
    ("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
     "postgresql", set()),
    ("SELECT * FROM t WHERE id = 1) AND (2=2", "postgresql", {"unbalanced"}),
    ("SELECT * FROM t WHERE x = CHR(113)||CHR(118)||CHR(122)", "postgresql", {"char_encoding"}),
    ("SELECT * FROM t WHERE id = 1 AND 1=(SELECT load_file('/etc/passwd'))", "mysql",
     {"file_access"}),
    ("SELECT * FROM t WHERE id = 1 AND @@version LIKE '8%'", "mysql", {"fingerprint"}),
    ("SELECT name FROM t WHERE id = 1 UNION ALL SELECT NULL,NULL", "postgresql",
     {"union_probe"}),
    ("SELECT id, name FROM a UNION ALL SELECT id, name FROM b", "postgresql", set()),
    ("INSERT INTO t (a) VALUES (1); SELECT LAST_INSERT_ID()", "mysql", set()),
    ("BEGIN; DELETE FROM q WHERE id = 1; COMMIT", "postgresql", set()),
    ("SELECT * FROM t WHERE id = 1; DROP TABLE t", "postgresql", {"stacked"}),
    ("SELECT * FROM t WHERE id = 1/0", "postgresql", {"division_by_zero"}),
    ("SELECT COUNT(*) FROM generate_series(1, 50000000)", "postgresql", {"heavy_query"}),
])
def test_signals(stmt, system, expected):
    got = sqli_signals(stmt, system)
    assert expected <= got and (got == set()) == (expected == set()), sorted(got)
    assert got <= SIGNALS


def test_never_raises_on_garbage():
    for s in ["'", "\"", "/*", "$$", "((((", "))))", "\x00", "é" * 100, "' OR", "--", "#",
              "SELECT " * 5000, None, 42]:
        sqli_signals(s, "mysql")  # type: ignore[arg-type]
    assert sqli_signals("", None) == frozenset()


def test_lexer_ends_strings_where_the_database_does():
    toks, _ = lex("SELECT 'a\\' OR 1=1 --'", "mysql")
    assert [t.kind for t in toks] == ["word", "str"]
    toks, comments = lex("SELECT 'a\\' OR 1=1 --'", "postgres")  # no backslash escapes
    assert [t.text for t in toks][:4] == ["select", "'a\\'", "or", "1"] and comments


def test_structure_cache_never_hides_literal_dependent_verdicts():
    det = SqliDetector()
    an = SqlAnalyzer()

    def judge(s):
        info = an.analyze(s, "postgresql")
        return det.signals(s, "postgresql", info.fingerprint, info.flags)

    assert judge("SELECT * FROM t WHERE 1 = 1 AND id = 4") == frozenset()
    assert judge("SELECT * FROM t WHERE 4821 = 4821 AND id = 4") == {"constant_condition"}
    assert judge("SELECT * FROM t WHERE id = 4") == frozenset()
    assert judge("SELECT * FROM t WHERE id = 5") == frozenset()
    assert det.hits >= 1  # the plain shape was answered from the cache
    assert judge("SELECT * FROM t WHERE id = 5 -- ' AND x = 1") == {"comment_truncation"}
