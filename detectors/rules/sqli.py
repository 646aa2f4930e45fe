"""SQL injection judged on the statement a database actually received.

An injection has to break out of the literal or identifier it was meant to fill, so it shows in
the statement's *structure*: conditions that compare two constants (``4821=4821``, ``'a'='a'``,
``OR 1``), delay and error-forcing functions, ``UNION SELECT NULL,…`` probes, catalogue reads in
a subquery of an application query, a second statement after ``;``, comments that swallow the
rest of the original text or hide keywords (``UN/**/ION``, ``/*!50000UNION*/``), strings built
from ``CHR()`` chains, and parentheses closed that were never opened.

Everything works on tokens from a small dialect-aware lexer (strings end where the database
would end them, so ``'union select'`` inside a literal is just a literal), never on the raw text,
and never raises. Application idioms are left alone: an ORM's ``WHERE 1=1 AND …`` (a trivial
0/1 comparison in an AND chain), catalogue queries of migration tools (a catalogue as the main
table), ``BEGIN; …; COMMIT`` batches, optimizer hints and sqlcommenter tags.

>>> sorted(sqli_signals("SELECT * FROM users WHERE id = 1 OR 1=1"))
['tautology']
>>> sorted(sqli_signals("SELECT * FROM users WHERE 1=1 AND name = 'x'' union select 1'"))
[]
>>> sorted(sqli_signals("SELECT * FROM t WHERE id = 1 AND SLEEP(5)", "mysql"))
['time_delay']
>>> sorted(sqli_signals("SELECT * FROM t WHERE id = -1 UNION ALL SELECT NULL,NULL-- x"))
['union_probe']

Signals: ``tautology`` (constant comparison in an OR, or a bare constant in an OR),
``constant_condition`` (any other comparison of two constants but the ORM idiom),
``time_delay``, ``heavy_query``, ``error_function``, ``union_probe``, ``catalog_probe``,
``stacked``, ``comment_truncation``, ``comment_obfuscation``, ``char_encoding``,
``file_access``, ``unbalanced``, ``division_by_zero``, ``fingerprint``.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

__all__ = ["SIGNALS", "SqliDetector", "family_of", "sqli_signals"]

SIGNALS = frozenset({
    "tautology", "constant_condition", "time_delay", "heavy_query", "error_function",
    "union_probe", "catalog_probe", "stacked", "comment_truncation", "comment_obfuscation",
    "char_encoding", "file_access", "unbalanced", "division_by_zero", "fingerprint",
})

_FAMILY = {
    "mysql": "mysql", "mariadb": "mysql", "tidb": "mysql", "doris": "mysql",
    "starrocks": "mysql", "singlestore": "mysql",
    "postgresql": "postgres", "postgres": "postgres", "redshift": "postgres",
    "cockroachdb": "postgres", "materialize": "postgres",
    "sqlserver": "tsql", "mssql": "tsql", "tsql": "tsql", "fabric": "tsql",
}


def family_of(dialect: str | None) -> str:
    """Lexical family of a ``db.system`` or sqlglot dialect name: mysql, postgres, tsql, ansi.

    >>> family_of("MariaDB"), family_of("postgres"), family_of(None)
    ('mysql', 'postgres', 'ansi')
    """
    return _FAMILY.get((dialect or "").lower(), "ansi")


# ------------------------------------------------------------------------------------- lexer
_COMMON_TAIL = r"""
 |(?P<hex>0[xX][0-9a-fA-F]+\b)
 |(?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
 |(?P<var>@@?[A-Za-z_][\w$.]*)
 |(?P<param>\?|\$\d+|%s|%\(\w+\)s|(?<![:\w]):[A-Za-z_]\w*)
 |(?P<word>[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*)
 |(?P<op><=>|<>|!=|>=|<=|\|\||::|:=|->>|->|&&|!<|!>|[=<>!+\-*/%&|^~:])
 |(?P<punct>[(),;.\[\]{}])
 |(?P<other>.)
"""
_LEXERS_SRC = {
    "mysql": r"""(?P<ws>\s+)
 |(?P<exec>/\*![\s\S]*?(?:\*/|\Z))
 |(?P<bc>/\*[\s\S]*?(?:\*/|\Z))
 |(?P<lc>--(?=\s|\Z)[^\n]*|\#[^\n]*)
 |(?P<str>(?:[nNxXbB]|_\w+)?'(?:[^'\\]|\\[\s\S]|'')*(?:'|\Z)|"(?:[^"\\]|\\[\s\S]|"")*(?:"|\Z))
 |(?P<qident>`(?:[^`]|``)*(?:`|\Z))""",
    "postgres": r"""(?P<ws>\s+)
 |(?P<bc>/\*[\s\S]*?(?:\*/|\Z))
 |(?P<lc>--[^\n]*)
 |(?P<str>[eE]'(?:[^'\\]|\\[\s\S]|'')*(?:'|\Z)|(?:[nNxXbB]|[uU]&)?'(?:[^']|'')*(?:'|\Z)
   |\$(?P<tag>(?:[A-Za-z_]\w*)?)\$[\s\S]*?(?:\$(?P=tag)\$|\Z))
 |(?P<qident>"(?:[^"]|"")*(?:"|\Z))""",
    "tsql": r"""(?P<ws>\s+)
 |(?P<bc>/\*[\s\S]*?(?:\*/|\Z))
 |(?P<lc>--[^\n]*)
 |(?P<str>[nN]?'(?:[^']|'')*(?:'|\Z))
 |(?P<qident>"(?:[^"]|"")*(?:"|\Z)|\[[^\]]*(?:\]|\Z))""",
    "ansi": r"""(?P<ws>\s+)
 |(?P<bc>/\*[\s\S]*?(?:\*/|\Z))
 |(?P<lc>--[^\n]*|\#[^\n]*)
 |(?P<str>[qQ]'(?:\[[\s\S]*?\]|\{[\s\S]*?\}|\([\s\S]*?\)|<[\s\S]*?>)(?:'|\Z)
   |(?:[nNxXbB])?'(?:[^']|'')*(?:'|\Z))
 |(?P<qident>"(?:[^"]|"")*(?:"|\Z)|`(?:[^`]|``)*(?:`|\Z))""",
}
_LEXERS = {k: re.compile(v + _COMMON_TAIL, re.VERBOSE) for k, v in _LEXERS_SRC.items()}


class Tok(NamedTuple):
    kind: str  # str hex num var param word qident op punct other
    text: str  # lower-case for words, raw otherwise
    start: int
    end: int


class Comment(NamedTuple):
    kind: str  # lc (line), bc (block), exec (MySQL executable)
    text: str
    start: int
    end: int
    before: int  # index of the first token after the comment


_LITERALS = {"str", "hex", "num"}
_CONST_WORDS = {"null", "true", "false"}
_CMP = {"=", "==", "<>", "!=", "<", ">", "<=", ">=", "<=>", "like", "rlike", "regexp", "ilike",
        "glob", "!<", "!>"}
# tokens that may stand just before / after a whole operand (a boundary of the comparison)
_LEFT_EDGE = {"(", ",", "and", "or", "not", "where", "when", "having", "on", "xor", "select",
              "then", "else", "if", "iif", "elt", "make_set", "&&", "||", "by", "case", "!"}
_RIGHT_EDGE = {")", ",", "and", "or", "then", "else", "end", "xor", "order", "group", "limit",
               "union", "having", "&&", "||", "procedure", "into", "for", "from", "offset", "is",
               "when", "fetch", "returning", "window", "collate", "where"}

_TIME_FUNCS = {"sleep", "pg_sleep", "pg_sleep_for", "pg_sleep_until", "benchmark",
               "sleepeachrow", "receive_message"}
_TIME_DOTTED = {("dbms_lock", "sleep"), ("dbms_session", "sleep"), ("user_lock", "sleep"),
                ("dbms_pipe", "receive_message")}
_ERROR_FUNCS = {"extractvalue", "updatexml", "gtid_subset", "gtid_subtract", "json_keys",
                "xmltype", "raise_error", "polygon", "multipoint", "multipolygon",
                "multilinestring", "linestring", "geometrycollection", "name_const",
                "uuid_to_bin", "st_latfromgeohash", "st_longfromgeohash", "st_pointfromgeohash",
                "inet_aton", "parse_data_size", "to_posixtime", "zeroifnull", "rotateleft",
                "bit_shift", "bin_shl", "getsetting", "ms_trunc", "fuzzbits", "bitstring_to_binary"}
_ERROR_DOTTED = {("drithsx", "sn"), ("utl_inaddr", "get_host_address"),
                 ("utl_inaddr", "get_host_name"), ("dbms_utility", "sqlid_to_sqlhash"),
                 ("ctxsys", "drithsx"), ("dbms_xdb_version", "checkin"),
                 ("dbms_xdb_version", "makeversioned"), ("dbms_xdb_version", "uncheckout"),
                 ("dbms_aw_xml", "readawmetadata"), ("ordsys", "ord_dicom")}
_FILE_FUNCS = {"load_file", "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "lo_import",
               "lo_export", "xp_cmdshell", "xp_dirtree", "xp_fileexist", "openrowset",
               "opendatasource", "sys_exec", "sys_eval", "dblink", "dblink_exec", "utl_http"}
_FINGERPRINT_FUNCS = {"version", "database", "user", "schema", "system_user", "session_user",
                      "db_name", "suser_name", "suser_sname", "sqlite_version", "connection_id",
                      "current_database"}
_FINGERPRINT_VARS = {"@@version", "@@datadir", "@@hostname", "@@basedir", "@@servername",
                     "@@version_compile_os", "@@plugin_dir"}
_CATALOG_SCHEMAS = {"information_schema", "pg_catalog", "mysql", "sys", "sysibm", "sysmaster",
                    "performance_schema", "master", "msdb", "domain", "sysibmadm", "syscat"}
_CATALOG_TABLES = {
    "pg_shadow", "pg_user", "pg_authid", "pg_roles", "pg_database", "pg_tables", "pg_class",
    "pg_namespace", "pg_attribute", "pg_proc", "pg_settings", "pg_stat_activity",
    "sysobjects", "syscolumns", "sysusers", "sysdatabases", "syslogins", "sysprocesses",
    "all_users", "all_tables", "all_tab_columns", "user_tables", "user_tab_columns",
    "dba_users", "dba_tables", "dba_tab_columns", "all_objects", "v$version", "v$instance",
    "sqlite_master", "sqlite_schema", "sqlite_temp_master", "msysobjects", "msysaccessobjects",
    "systables", "systypes", "sysdummy1", "sysdual",
}
_CATALOG_TABLE_PREFIXES = ("rdb$", "mon$")
_STACK_SUSPECT = {"waitfor", "declare", "exec", "execute", "shutdown", "drop", "truncate",
                  "grant", "revoke", "create", "alter", "call", "copy", "load", "rename", "kill",
                  "xp_cmdshell", "sp_configure", "reconfigure", "backup", "restore", "handler",
                  "attach", "pragma"}
_TX = {"begin", "start", "commit", "rollback", "end", "savepoint", "release", "set", "use",
       "abort", "prepare", "deallocate", "discard", "reset", "show", "lock", "unlock"}
_DML = {"select", "update", "delete", "insert", "with", "replace", "merge", "values", "("}
_CODE_IN_COMMENT = re.compile(
    r"['\"()]|\b(?:and|or|order\s+by|limit|where|from|group\s+by|having|union|select|"
    r"offset|returning)\b", re.IGNORECASE)
_EXEC_KEYWORDS = re.compile(r"\b(?:union|select|and|or|sleep|benchmark|from|where|concat|"
                            r"information_schema|load_file|outfile|xor|having)\b", re.IGNORECASE)


def lex(sql: str, family: str = "ansi") -> tuple[list[Tok], list[Comment]]:
    """Tokens (comments apart) of ``sql`` as the database of ``family`` would split them.

    MySQL executable comments (``/*!50000 UNION*/``) are also lexed as code, as MySQL runs them.
    """
    toks: list[Tok] = []
    comments: list[Comment] = []
    rx = _LEXERS.get(family, _LEXERS["ansi"])
    for m in rx.finditer(sql):
        kind = m.lastgroup
        if kind == "tag":  # the inner group of a dollar-quoted string
            kind = "str"
        if kind == "ws":
            continue
        text = m.group()
        if kind in ("lc", "bc", "exec"):
            comments.append(Comment(kind, text, m.start(), m.end(), len(toks)))
            if kind == "exec":
                inner = text[3:-2] if text.endswith("*/") else text[3:]
                inner = inner.lstrip("0123456789")
                sub, subc = lex(inner, family)
                toks += [Tok(t.kind, t.text, m.start(), m.end()) for t in sub]
                comments += [Comment(c.kind, c.text, m.start(), m.end(), len(toks))
                             for c in subc]
            continue
        if kind == "word":
            text = text.lower()
        toks.append(Tok(kind, text, m.start(), m.end()))
    return toks, comments


# ------------------------------------------------------------------------------------- analysis
def _is_const(t: Tok) -> bool:
    return t.kind in _LITERALS or (t.kind == "word" and t.text in _CONST_WORDS)


def _trivial(t: Tok) -> bool:
    return t.kind == "num" and t.text in ("0", "1")


def _operand_left(toks: list[Tok], i: int) -> int | None:
    """Start index of a constant operand ending at ``i`` (``-5``, ``'a'``, ``(1)``) or None."""
    if i < 0 or not _is_const(toks[i]):
        return None
    j = i
    if j >= 1 and toks[j - 1].text in ("-", "+") and (j < 2 or toks[j - 2].text in _LEFT_EDGE
                                                      or toks[j - 2].kind == "op"):
        j -= 1
    if j == 0 or toks[j - 1].text in _LEFT_EDGE or toks[j - 1].text == ";":
        return j
    return None


def _operand_right(toks: list[Tok], i: int) -> int | None:
    """End index of a constant operand starting at ``i`` or None."""
    n = len(toks)
    j = i
    if j < n and toks[j].text in ("-", "+"):
        j += 1
    if j >= n or not _is_const(toks[j]):
        return None
    if j + 1 == n or toks[j + 1].text in _RIGHT_EDGE or toks[j + 1].text == ";" or \
            toks[j + 1].kind == "other":
        return j
    return None


def _connective(toks: list[Tok], i: int, step: int) -> str | None:
    """The nearest and/or/xor at the same depth going from ``i`` by ``step`` (None at a clause
    keyword, a bracket that opens our level, or the end)."""
    depth = 0
    n = len(toks)
    j = i
    while 0 <= j < n:
        t = toks[j].text
        if t == "(":
            if step > 0:
                depth += 1
            elif depth == 0:
                return None
            else:
                depth -= 1
        elif t == ")":
            if step < 0:
                depth += 1
            elif depth == 0:
                return None
            else:
                depth -= 1
        elif depth == 0:
            if t in ("and", "or", "xor", "||", "&&") and toks[j].kind != "str":
                return "or" if t in ("or", "||", "xor") else "and"
            if t in ("where", "having", "on", "when", "then", "select", "from", "limit", "order",
                     "group", ";", "set", "union", "case", "else", "end"):
                return None
        j += step
    return None


class _Result(NamedTuple):
    signals: frozenset[str]
    literal_dependent: bool


def _is_name(t: Tok) -> bool:
    return t.kind in ("word", "qident")


def _name(t: Tok) -> str:
    if t.kind == "qident":
        return t.text[1:-1].lower()
    return t.text


def _dotted_before(toks: list[Tok], i: int) -> str | None:
    """For a word at ``i`` preceded by ``x .``, the word ``x``."""
    if i >= 2 and toks[i - 1].text == "." and _is_name(toks[i - 2]):
        return _name(toks[i - 2])
    return None


def _split(toks: list[Tok]) -> list[tuple[int, int]]:
    """Statement spans (start, end) split at top-level ``;`` (empty statements dropped)."""
    spans = []
    start = 0
    depth = 0
    for i, t in enumerate(toks):
        if t.text == "(":
            depth += 1
        elif t.text == ")":
            depth = max(0, depth - 1)
        elif t.text == ";" and t.kind == "punct" and depth == 0:
            if i > start:
                spans.append((start, i))
            start = i + 1
    if len(toks) > start:
        spans.append((start, len(toks)))
    return spans


def _catalog_name(toks: list[Tok], i: int) -> bool:
    t = toks[i]
    if not _is_name(t):
        return False
    name = _name(t)
    nxt = toks[i + 1].text if i + 1 < len(toks) else ""
    if name in _CATALOG_SCHEMAS and nxt in (".", ":"):
        return not (name == "sys" and i + 2 < len(toks) and _name(toks[i + 2]) == "dual")
    if name in _CATALOG_TABLES or name.startswith(_CATALOG_TABLE_PREFIXES):
        prev = toks[i - 1].text if i else ""
        return prev != "." or (i >= 2 and _name(toks[i - 2]) in _CATALOG_SCHEMAS)
    return False


def _analyse(sql: str, family: str) -> _Result:
    toks, comments = lex(sql, family)
    signals: set[str] = set()
    literal_dependent = False
    n = len(toks)

    # -- parentheses closed that were never opened (a value broke out of a bracket)
    depth = 0
    depths = [0] * n
    for i, t in enumerate(toks):
        if t.kind == "punct":
            if t.text == "(":
                depth += 1
            elif t.text == ")":
                depth -= 1
                if depth < 0:
                    signals.add("unbalanced")
                    depth = 0
        depths[i] = depth

    # -- comments
    for c in comments:
        if c.kind == "exec":
            inner = c.text[3:].lstrip("0123456789")
            if c.before > 0 and toks and toks[0].text in _DML and _EXEC_KEYWORDS.search(inner):
                signals.add("comment_obfuscation")
            continue
        if c.kind == "bc":
            before = sql[c.start - 1:c.start] if c.start else ""
            after = sql[c.end:c.end + 1]
            if before and after and (before.isalnum() or before in "_)'\"") and (
                    after.isalnum() or after in "_('\"") and not c.text.startswith("/*+"):
                signals.add("comment_obfuscation")  # UN/**/ION, SELECT/**/password
            if not c.text[2:-2].strip() and c.text.endswith("*/"):
                signals.add("comment_obfuscation")  # /**/ as whitespace
            if not c.text.endswith("*/") and c.before > 0:
                signals.add("comment_truncation")  # an unterminated /* cuts the rest
            continue
        # line comment: does it swallow code (the rest of the application's statement)?
        body = c.text[2:] if c.text.startswith("--") else c.text[1:]
        if 0 < c.before == n and _CODE_IN_COMMENT.search(body):
            signals.add("comment_truncation")

    # -- statements
    spans = _split(toks)
    first_cmd = toks[spans[0][0]].text if spans else ""
    main_table_is_catalog = None
    for si, (a, b) in enumerate(spans):
        stmt_signals: set[str] = set()
        cmd = toks[a].text
        seen_from = False
        for i in range(a, b):
            t = toks[i]
            txt = t.text
            # constant comparisons
            if (txt in _CMP and t.kind in ("op", "word")) and a < i < b - 1:
                lo = _operand_left(toks, i - 1)
                hi = _operand_right(toks, i + 1) if lo is not None else None
                if lo is not None and hi is not None:
                    literal_dependent = True
                    left, right = toks[i - 1], toks[hi]
                    ctx_before = _connective(toks, lo - 1, -1)
                    ctx_after = _connective(toks, hi + 1, 1)
                    in_or = "or" in (ctx_before, ctx_after)
                    orm = (txt in ("=", "<>", "!=") and _trivial(left) and _trivial(right)
                           and lo == i - 1 and hi == i + 1 and not in_or)
                    if in_or:
                        stmt_signals.add("tautology")
                    elif not orm:
                        stmt_signals.add("constant_condition")
                # the same name on both sides: `a`=`a`, "x"="x"
                elif (i >= 1 and i + 1 < b and _is_name(toks[i - 1]) and _is_name(toks[i + 1])
                      and toks[i - 1].text == toks[i + 1].text and txt in ("=", "like")
                      and toks[i - 1].kind == "qident"
                      and (i < 2 or toks[i - 2].text != ".")):
                    stmt_signals.add("tautology")
            elif txt in ("or", "||") and t.kind in ("word", "op") and i + 1 < b:
                # OR 1 / OR true / OR 'x' as a whole operand
                nx = toks[i + 1]
                if _is_const(nx) and (i + 2 == b or toks[i + 2].text in _RIGHT_EDGE
                                      or toks[i + 2].text == ";") and txt == "or" and \
                        nx.text not in ("null", "false") and not (
                            nx.kind == "num" and float(nx.text or 0) == 0):
                    literal_dependent = True
                    stmt_signals.add("tautology")
            elif txt == "case" and i + 3 < b and _is_const(toks[i + 1]) and \
                    toks[i + 2].text == "when" and _is_const(toks[i + 3]):
                stmt_signals.add("constant_condition")
                literal_dependent = True
            elif txt == "in" and t.kind == "word" and i + 2 < b and toks[i + 1].text == "(":
                lo = _operand_left(toks, i - 1)
                if lo is not None and toks[i - 1].kind in _LITERALS:
                    j = i + 2
                    while j < b and (_is_const(toks[j]) or toks[j].text == ","):
                        j += 1
                    if j < b and toks[j].text == ")" and j > i + 2:
                        literal_dependent = True
                        stmt_signals.add("constant_condition")
            elif txt == "/" and i + 1 < b and toks[i + 1].kind == "num" and \
                    float(toks[i + 1].text) == 0:
                literal_dependent = True
                stmt_signals.add("division_by_zero")
            elif txt == "/" and i + 3 < b and toks[i + 1].text == "(" and \
                    toks[i + 2].text == "select" and toks[i + 3].text == "0":
                stmt_signals.add("division_by_zero")

            if t.kind == "word":
                nxt = toks[i + 1].text if i + 1 < b else ""
                dotted = _dotted_before(toks, i)
                if nxt == "(":
                    if txt in _TIME_FUNCS and (dotted is None or (dotted, txt) in _TIME_DOTTED
                                               or dotted in ("pg_catalog", "sys")) or dotted and (dotted, txt) in _TIME_DOTTED:
                        stmt_signals.add("time_delay")
                    if txt in _ERROR_FUNCS or (dotted, txt) in _ERROR_DOTTED or txt == "exp" and i + 2 < b and toks[i + 2].text == "~" or txt == "floor" and i + 3 < b and toks[i + 2].text == "rand":
                        stmt_signals.add("error_function")
                    elif txt == "row" and i > a and toks[i - 1].text in _LEFT_EDGE | {"or"}:
                        # ROW(1,2)>(SELECT COUNT(*),CONCAT(…),FLOOR(RAND(0)*2)) …
                        pass
                    if txt in _FILE_FUNCS:
                        stmt_signals.add("file_access")
                    if txt in ("generate_series", "randomblob", "numbers", "repeat") and \
                            _big_argument(toks, i + 1, b):
                        literal_dependent = True
                        stmt_signals.add("heavy_query")
                    if txt in ("chr", "char") and _char_chain(toks, i, b):
                        stmt_signals.add("char_encoding")
                    if txt in _FINGERPRINT_FUNCS and _in_condition(toks, i, a) and \
                            not main_table_is_catalog:
                        stmt_signals.add("fingerprint")
                elif txt == "waitfor" and nxt in ("delay", "time"):
                    stmt_signals.add("time_delay")
                elif txt in ("outfile", "dumpfile") and i > a and toks[i - 1].text == "into":
                    if any(toks[k].text == "union" for k in range(a, i)):
                        stmt_signals.add("file_access")
                elif txt == "xp_cmdshell":
                    stmt_signals.add("file_access")
                elif txt == "union" and toks[i].kind == "word":
                    if _union_probe(toks, i, b):
                        stmt_signals.add("union_probe")
                elif txt == "from" and depths[i] == depths[a] and not seen_from:
                    seen_from = True
                    if si == 0 and i + 1 < b:
                        main_table_is_catalog = _catalog_name(toks, i + 1) or (
                            i + 3 < b and toks[i + 2].text in (".", ":")
                            and _catalog_name(toks, i + 1))
                if _catalog_name(toks, i):
                    inner = depths[i] > depths[a] or any(
                        toks[k].text == "union" for k in range(a, i)) or si > 0
                    if inner and not main_table_is_catalog:
                        stmt_signals.add("catalog_probe")
            elif t.kind == "var" and txt.lower() in _FINGERPRINT_VARS and \
                    _in_condition(toks, i, a) and not main_table_is_catalog:
                stmt_signals.add("fingerprint")

        if si > 0:
            later_suspect = stmt_signals or cmd in _STACK_SUSPECT and cmd not in _TX
            if first_cmd in _DML and (later_suspect or cmd in ("waitfor", "declare", "exec",
                                                                "execute", "shutdown")) or stmt_signals & {"time_delay", "heavy_query", "error_function", "file_access"}:
                stmt_signals.add("stacked")
        signals |= stmt_signals
    if len(spans) > 1 and "comment_truncation" in signals:
        signals.add("stacked")
    return _Result(frozenset(signals), literal_dependent)


def _big_argument(toks: list[Tok], i: int, b: int) -> bool:
    """A numeric argument ≥ 1,000,000 within the call opening at ``i``."""
    depth = 0
    for j in range(i, min(b, i + 40)):
        t = toks[j]
        if t.text == "(":
            depth += 1
        elif t.text == ")":
            depth -= 1
            if depth == 0:
                return False
        elif t.kind == "num":
            try:
                if float(t.text) >= 1_000_000:
                    return True
            except ValueError:
                pass
    return False


def _char_chain(toks: list[Tok], i: int, b: int) -> bool:
    """``CHR(113)||CHR(120)||CHR(…)`` (three in a row) or ``CHAR(113,120,…)``."""
    if i + 4 < b and toks[i + 2].kind == "num" and toks[i + 3].text == ",":
        return True  # CHAR(113,120,…)
    count = 0
    j = i
    while j + 3 < b and toks[j].text in ("chr", "char") and toks[j + 1].text == "(" and \
            toks[j + 2].kind == "num" and toks[j + 3].text == ")":
        count += 1
        if count >= 3:
            return True
        if j + 4 < b and toks[j + 4].text in ("||", "+", ","):
            j += 5
        else:
            break
    return False


def _in_condition(toks: list[Tok], i: int, a: int) -> bool:
    """Whether token ``i`` sits after a WHERE / HAVING / ON / WHEN of its statement."""
    for k in range(i - 1, a - 1, -1):
        if toks[k].text in ("where", "having", "when", "on") and toks[k].kind == "word":
            return True
    return False


def _union_probe(toks: list[Tok], i: int, b: int) -> bool:
    """``UNION [ALL|DISTINCT] SELECT`` whose columns are mostly NULL or constants."""
    j = i + 1
    if j < b and toks[j].text in ("all", "distinct"):
        j += 1
    if j >= b or toks[j].text != "select":
        return False
    j += 1
    items: list[list[Tok]] = [[]]
    depth = 0
    while j < b:
        t = toks[j]
        if t.text == "(":
            depth += 1
        elif t.text == ")":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and t.text == ",":
            items.append([])
            j += 1
            continue
        elif depth == 0 and t.kind == "word" and t.text in ("from", "where", "union", "order",
                                                             "limit", "into", "group"):
            break
        items[-1].append(t)
        j += 1
    if not items[-1]:
        items.pop()
    if not items:
        return False
    ends_without_from = j >= b or toks[j].text != "from"
    from_dual = j + 1 < b and toks[j].text == "from" and toks[j + 1].text in (
        "dual", "sysibm", "rdb$database")
    constant = 0
    for it in items:
        if len(it) == 1 and _is_const(it[0]) or (len(it) == 2 and it[0].text in "-+"
                                                  and _is_const(it[1])) or it and it[0].kind == "word" and it[0].text in ("concat", "concat_ws", "chr", "char") \
                and any(x.kind in ("hex", "str") for x in it) or any(x.kind == "str" for x in it) and any(x.text == "||" for x in it) and \
                any(x.text in ("coalesce", "ifnull", "nvl", "isnull", "cast") for x in it):
            constant += 1
    nulls = sum(1 for it in items if len(it) == 1 and it[0].text == "null")
    if nulls and nulls * 2 >= len(items) and (ends_without_from or from_dual or nulls >= 2):
        return True
    return constant == len(items) and (ends_without_from or from_dual or len(items) >= 3)


@lru_cache(maxsize=20_000)
def _cached(sql: str, family: str) -> _Result:
    try:
        return _analyse(sql, family)
    except Exception:  # noqa: BLE001 — a detector must never drop the event
        return _Result(frozenset(), True)


def sqli_signals(statement: str | None, dialect: str | None = None) -> frozenset[str]:
    """SQL-injection signals of one statement text (empty = nothing suspicious).

    ``dialect`` is the event's ``db.system`` (``postgresql``, ``mysql``, ``sqlserver``, …) or a
    sqlglot dialect name; it decides how strings, identifiers and comments are quoted.
    Results are cached by exact text.
    """
    if not statement or not isinstance(statement, str):
        return frozenset()
    return _cached(statement, family_of(dialect)).signals


class SqliDetector:
    """:func:`sqli_signals` with a cache keyed by statement *structure*.

    Most audit traffic repeats a few shapes with different literals. When the event carries
    ``parasol.sql.fingerprint`` (from :mod:`detectors.sql`) and no comments, a shape whose verdict
    did not depend on literal values is answered from the cache without lexing; shapes that
    compare constants (where ``1=1`` and ``4821=4821`` differ) are always judged on the text.
    """

    def __init__(self, cache_size: int = 20_000):
        self.cache_size = cache_size
        self._shapes: OrderedDict[tuple[str, str], frozenset[str]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def signals(self, statement: str | None, dialect: str | None = None,
                fingerprint: str | None = None, flags: Iterable[str] = ()) -> frozenset[str]:
        if not statement or not isinstance(statement, str):
            return frozenset()
        family = family_of(dialect)
        key = None
        if fingerprint and not ({"comment", "executable_comment"} & set(flags)):
            key = (family, fingerprint)
            hit = self._shapes.get(key)
            if hit is not None:
                self.hits += 1
                return hit
        self.misses += 1
        res = _cached(statement, family)
        if key is not None and not res.literal_dependent and "--" not in statement \
                and "/*" not in statement and "#" not in statement:
            self._shapes[key] = res.signals
            if len(self._shapes) > self.cache_size:
                self._shapes.popitem(last=False)
        return res.signals
