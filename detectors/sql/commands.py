"""Statement kinds from leading keywords, and the tokenizer-level fallback extraction.

Both work on the token list of a fingerprint text (lower-case, literals already ``?``), so they
cost little, never raise, and give the same answer for every statement sharing a fingerprint.
The command comes from keywords even when sqlglot parses the statement: sqlglot parses some
statements it does not model (``START TRANSACTION``, ``SAVEPOINT``) as odd expressions, and falls
back to an opaque ``Command`` for others (``CREATE USER``, ``REVOKE``, ``CALL``).

>>> command_of("create or replace temporary view v as select 1".split())
'CREATE VIEW'
>>> operation_of("ALTER USER")
'dcl'
>>> sorted(fallback("delete from a using b where a.id = b.id".split())["tables_written"])
['a']
"""

from __future__ import annotations

from collections.abc import Collection

__all__ = ["OPERATIONS", "command_of", "operation_of", "fallback", "functions_written",
           "is_ident", "unquote"]

#: Operations from most to least dangerous: a multi-statement text reports its worst.
#: ``other`` (CALL, EXECUTE, DO, unknown text) ranks above reads: it may run anything.
OPERATIONS = ("dcl", "ddl", "write", "other", "read", "session", "transaction")

_OBJECTS = {
    "table", "view", "index", "schema", "database", "function", "procedure", "trigger", "sequence",
    "type", "extension", "user", "role", "login", "group", "event", "domain", "policy", "server",
    "publication", "subscription", "tablespace", "rule", "aggregate", "operator", "collation",
    "language", "synonym", "package", "materialized", "column", "statistics", "cast", "conversion",
    "system",  # ALTER SYSTEM SET pgaudit.log = 'none': server configuration
}
_PRINCIPALS = {"USER", "ROLE", "LOGIN", "GROUP"}
_SIMPLE = {
    "select": "SELECT", "values": "SELECT", "table": "SELECT", "insert": "INSERT",
    "replace": "REPLACE", "upsert": "UPSERT", "update": "UPDATE", "delete": "DELETE",
    "merge": "MERGE", "truncate": "TRUNCATE", "grant": "GRANT", "revoke": "REVOKE", "deny": "DENY",
    "begin": "BEGIN", "commit": "COMMIT", "end": "COMMIT", "rollback": "ROLLBACK",
    "abort": "ROLLBACK", "savepoint": "SAVEPOINT", "release": "RELEASE", "xa": "XA",
    "reset": "RESET", "use": "USE", "show": "SHOW", "describe": "DESCRIBE", "desc": "DESCRIBE",
    "explain": "EXPLAIN", "copy": "COPY", "call": "CALL", "exec": "EXECUTE", "execute": "EXECUTE",
    "do": "DO", "lock": "LOCK", "unlock": "UNLOCK", "vacuum": "VACUUM", "analyze": "ANALYZE",
    "analyse": "ANALYZE", "comment": "COMMENT", "discard": "DISCARD", "prepare": "PREPARE",
    "deallocate": "DEALLOCATE", "declare": "DECLARE", "fetch": "FETCH", "close": "CLOSE",
    "kill": "KILL", "flush": "FLUSH", "optimize": "OPTIMIZE", "reindex": "REINDEX",
    "cluster": "CLUSTER", "checkpoint": "CHECKPOINT", "listen": "LISTEN", "notify": "NOTIFY",
    "unlisten": "UNLISTEN", "handler": "HANDLER", "pragma": "PRAGMA", "refresh": "REFRESH",
    "reassign": "REASSIGN OWNED", "security": "SECURITY LABEL", "import": "IMPORT",
}
_OPERATION = {
    "SELECT": "read", "SHOW": "read", "DESCRIBE": "read",
    "INSERT": "write", "REPLACE": "write", "UPSERT": "write", "UPDATE": "write", "DELETE": "write",
    "MERGE": "write", "LOAD DATA": "write", "SELECT INTO": "write",
    "TRUNCATE": "ddl", "COMMENT": "ddl", "RENAME TABLE": "ddl", "REFRESH": "ddl",
    "GRANT": "dcl", "REVOKE": "dcl", "DENY": "dcl", "SET PASSWORD": "dcl", "RENAME USER": "dcl",
    "REASSIGN OWNED": "dcl", "SECURITY LABEL": "dcl",
    "BEGIN": "transaction", "COMMIT": "transaction", "ROLLBACK": "transaction",
    "SAVEPOINT": "transaction", "RELEASE": "transaction", "XA": "transaction",
    "SET TRANSACTION": "transaction", "PREPARE TRANSACTION": "transaction",
    "SET": "session", "SET ROLE": "session", "RESET": "session", "USE": "session",
    "DISCARD": "session",
}
_QUERY_START = {"select", "insert", "update", "delete", "merge", "values", "table", "replace"}


def is_ident(tok: str) -> bool:
    """A (possibly quoted) identifier token."""
    return tok[:1] == '"' or tok[:1].isalpha() or tok[:1] in "_@#"


def unquote(tok: str) -> str:
    return tok[1:-1].replace('""', '"') if tok[:1] == '"' else tok


def _after_with(words: list[str]) -> str | None:
    """The first query keyword at parenthesis depth 0 after a WITH list."""
    depth = 0
    for w in words[1:]:
        if w == "(":
            depth += 1
        elif w == ")":
            depth -= 1
        elif depth == 0 and w in _QUERY_START:
            return w
    return None


def command_of(words: list[str]) -> str:
    """The command (``SELECT``, ``CREATE TABLE``, ``BEGIN``, …) of one statement's tokens."""
    i = 0
    while i < len(words) and words[i] == "(":
        i += 1
    if i >= len(words):
        return "UNKNOWN" if words else ""
    first = words[i]
    rest = words[i + 1:i + 12]
    nxt = rest[0] if rest else ""
    if first == "with":
        q = _after_with(words[i:])
        return _SIMPLE.get(q, "SELECT") if q else "SELECT"
    if first in ("create", "drop", "alter"):
        for w in rest:
            if w in _OBJECTS:
                if w == "materialized":
                    return f"{first.upper()} MATERIALIZED VIEW"
                if w == "column" or w == "statistics":
                    continue
                return f"{first.upper()} {w.upper()}"
        return first.upper()
    if first == "start" and nxt == "transaction":
        return "BEGIN"
    if first == "set":
        scoped = rest[1:2] if nxt in ("session", "local") else []
        if nxt == "transaction" or scoped == ["characteristics"]:
            return "SET TRANSACTION"
        if nxt == "password":
            return "SET PASSWORD"
        if nxt == "role" or scoped in (["role"], ["authorization"]):
            return "SET ROLE"
        return "SET"
    if first == "load":
        return "LOAD DATA" if nxt in ("data", "xml") else "LOAD"
    if first == "rename":
        return "RENAME USER" if nxt == "user" else "RENAME TABLE"
    if first == "prepare" and nxt == "transaction":
        return "PREPARE TRANSACTION"
    if first in ("install", "uninstall"):  # UNINSTALL PLUGIN server_audit
        return f"{first.upper()} {nxt.upper()}".strip() if is_ident(nxt) else first.upper()
    if first in _SIMPLE:
        return _SIMPLE[first]
    return first.upper() if is_ident(first) else "UNKNOWN"


def operation_of(command: str, *, copy_from: bool = False) -> str:
    """Operation class of a command (``COPY … FROM`` writes, ``COPY … TO`` reads)."""
    op = _OPERATION.get(command)
    if op:
        return op
    if command == "COPY":
        return "write" if copy_from else "read"
    verb, _, obj = command.partition(" ")
    if verb in ("CREATE", "DROP", "ALTER"):
        return "dcl" if obj in _PRINCIPALS else "ddl"
    if verb in ("INSTALL", "UNINSTALL"):
        return "ddl"
    return "other"


_SKIP = {
    "only", "lateral", "ignore", "low_priority", "quick", "if", "not", "exists", "table",
    "temporary", "temp", "unlogged", "local", "global", "view", "materialized", "concurrently",
    "distinct", "all", "straight_join", "high_priority", "delayed", "natural", "outer", "inner",
    "left", "right", "full", "cross", "unique", "index", "schema", "sequence",
}
_NOT_NAMES = {"select", "values", "set", "where", "with", "as", "on", "using", "(", "?",
              "default", "outfile", "dumpfile", "stdin", "stdout", "program", "dual"}
_READ_AFTER = {"from", "join", "using"}
# "name (" after these is a table with a column list, not a function call
_BEFORE_NAME = {"into", "table", "join", "from", "update", "on", "."}
_FUNC_NOT = {"in", "values", "exists", "as", "over", "from", "join", "on", "and", "or", "not",
             "where", "select", "using", "into", "table", "filter", "within", "by", "when",
             "then", "else", "is", "like", "any", "all", "some", "union", "except", "intersect",
             "returning", "set", "with", "recursive", "lateral", "key", "references", "check",
             "primary", "unique", "index", "partition", "rows", "range", "group", "order"}


# Parenthesised syntax that sqlglot lists among its functions
_SYNTAX = {"cast", "try_cast", "extract", "exists", "filter", "values", "array", "row", "in",
           "any", "all", "some", "over", "within", "insert", "struct", "map", "interval"}
# "name (" after these is a relation or routine being named, with its column / parameter list
_NAMING = {"into", "table", "exists", "references", "view", "function", "procedure", "trigger",
           "index", "as", "with", "recursive", "type"}


def functions_written(words: list[str], known: frozenset[str], no_paren: frozenset[str],
                      called: Collection[str] = ()) -> set[str]:
    """Function names as the statement spells them (``ifnull``, ``database``, ``date_trunc``),
    where sqlglot would name its canonical function (``coalesce``, ``current_schema``,
    ``timestamp_trunc``): a name followed by ``(`` that ``known`` (the dialect's functions) or
    ``called`` (the calls the parse found, user-defined ones included) lists, and ``no_paren``
    words (``current_user``).

    >>> tokens = "insert into t ( x ) select ifnull ( a , ? ) , current_user".split()
    >>> sorted(functions_written(tokens, frozenset({"ifnull", "t"}), frozenset({"current_user"})))
    ['current_user', 'ifnull']
    """
    found = set()
    n = len(words)
    for i, w in enumerate(words):
        if i + 1 < n and words[i + 1] == "(":
            if (w in known or w in called) and w not in _SYNTAX:
                j = i - 1
                while j >= 1 and words[j] == ".":  # pg_catalog.pg_sleep(…), s.t (cols)
                    j -= 2
                if j < 0 or words[j] not in _NAMING:
                    found.add(w)
        elif w in no_paren and (i == 0 or words[i - 1] != "."):
            found.add(w)
    return found


def _name_at(words: list[str], i: int) -> tuple[str | None, int]:
    """A dotted name starting at or after ``i`` (skipping modifiers): ``(name, next index)``."""
    n = len(words)
    while i < n and words[i] in _SKIP:
        i += 1
    if i >= n or not is_ident(words[i]) or words[i] in _NOT_NAMES:
        return None, i
    parts = [unquote(words[i])]
    i += 1
    while i + 1 < n and words[i] == "." and (is_ident(words[i + 1]) or words[i + 1] == "*"):
        parts.append(unquote(words[i + 1]))
        i += 2
    return ".".join(parts), i


def fallback(words: list[str]) -> dict:
    """Tables, restriction flags and function names from one statement's tokens alone.

    Tables are the names after FROM / JOIN / USING (read) and INTO / UPDATE / TABLE (written);
    CTE names are left out. Column-level facts need the parse tree and are not attempted.
    """
    command = command_of(words)
    op = operation_of(command)
    read: set[str] = set()
    written: set[str] = set()
    ctes = _cte_names(words)
    functions: set[str] = set()
    first_target = True
    verb = command.split(" ")[0]
    if verb in ("GRANT", "REVOKE", "DENY"):
        return _grant(command, op, words)
    if verb == "EXPLAIN":
        return _explain(words)
    if command in _MAINTENANCE:
        return _maintenance(command, op, words)
    if command == "RENAME TABLE":  # RENAME TABLE a TO b, c TO d: every name changes
        i = 2
        while i < len(words):
            name, i = _name_at(words, i)
            if name:
                written.add(name)
            i += 1
    copy_from = False
    i = 0
    n = len(words)
    while i < n:
        w = words[i]
        if 0 < i < n - 1 and words[i + 1] == "(" and is_ident(w) and w not in _FUNC_NOT \
                and w[:1] != '"' and words[i - 1] not in _BEFORE_NAME:
            functions.add(w)
        target = None
        if w in _READ_AFTER or (w == "into" and verb == "SELECT"):
            target = read if w != "into" else written
            if w == "from" and verb == "DELETE" and first_target:
                target = written
        elif w in ("into", "update", "table", "truncate"):
            target = written
        elif w == "copy" and i == 0:
            target = read
        if target is not None:
            name, j = _name_at(words, i + 1)
            if name and name not in ctes and name not in ("outfile", "dumpfile"):
                target.add(name)
                if target is written:
                    first_target = False
                i = j
                continue
        i += 1
    if command == "COPY":
        depth = 0
        for w in words:
            depth += (w == "(") - (w == ")")
            if depth == 0 and w in ("from", "to"):
                copy_from = w == "from"
                break
        if copy_from:
            written |= read
            read.clear()
        op = operation_of(command, copy_from=copy_from)
    return {
        "command": command,
        "operation": op,
        "tables_read": read - written if verb in ("DELETE", "UPDATE") else read,
        "tables_written": written,
        "has_where": "where" in words,
        "has_limit": any(w in ("limit", "top", "fetch", "rownum") for w in words),
        "functions": functions - ctes,
    }


def _cte_names(words: list[str]) -> set[str]:
    """Names defined by ``WITH [RECURSIVE] name [(cols)] AS (…), …`` anywhere (one linear pass:
    the fallback also serves megabyte statements)."""
    names: set[str] = set()
    n = len(words)
    after = _after_parens(words)
    for i, w in enumerate(words):
        if w != "with":
            continue
        j = i + 1
        if j < n and words[j] == "recursive":
            j += 1
        while j < n and is_ident(words[j]):
            name = unquote(words[j])
            j += 1
            if j < n and words[j] == "(":  # column list
                j = after[j]
            if j + 1 < n and words[j] == "as" and words[j + 1] == "(":
                names.add(name)
                j = after[j + 1]
            else:
                break
            if j < n and words[j] == ",":
                j += 1
            else:
                break
    return names


def _after_parens(words: list[str]) -> dict[int, int]:
    """For each "(" index, the index after its ")" (the end when unclosed), in one pass."""
    after: dict[int, int] = {}
    stack: list[int] = []
    for k, w in enumerate(words):
        if w == "(":
            stack.append(k)
        elif w == ")" and stack:
            after[stack.pop()] = k + 1
    for k in stack:
        after[k] = len(words)
    return after


def _explain(words: list[str]) -> dict:
    """EXPLAIN [ANALYZE] [(options)] statement: the inner statement's tables; with ANALYZE the
    statement runs, so its operation too (EXPLAIN ANALYZE DELETE … deletes)."""
    k = next((k for k, w in enumerate(words) if k and w in _QUERY_START | {"with"}), None)
    if k is None:
        return {"command": "EXPLAIN", "operation": "other", "tables_read": set(),
                "tables_written": set(), "has_where": False, "has_limit": False,
                "functions": set()}
    inner = fallback(words[k:])
    runs = any(w in ("analyze", "analyse") for w in words[1:k])
    return {**inner, "command": "EXPLAIN", "operation": inner["operation"] if runs else "other"}


_MAINTENANCE = {"ANALYZE", "VACUUM", "OPTIMIZE", "REINDEX", "CLUSTER", "CHECKSUM", "REPAIR",
                "CHECK"}
_MAINTENANCE_WORDS = {"table", "tables", "verbose", "full", "freeze", "analyze", "analyse",
                      "local", "no_write_to_binlog", "concurrently", "quick", "extended"}


def _maintenance(command: str, op: str, words: list[str]) -> dict:
    """VACUUM (ANALYZE) orders, ANALYZE TABLE payroll: the tables named are read (for
    statistics), not changed. REINDEX INDEX/SCHEMA/DATABASE name no table."""
    read: set[str] = set()
    if not (command == "REINDEX" and words[1:2] != ["table"]):
        i = 1
        while i < len(words):
            if words[i] == "(":
                while i < len(words) and words[i] != ")":
                    i += 1
            elif words[i] not in _MAINTENANCE_WORDS:
                name, i = _name_at(words, i)
                if name:
                    read.add(name)
                    continue
            i += 1
    return {"command": command, "operation": op, "tables_read": read, "tables_written": set(),
            "has_where": False, "has_limit": False, "functions": set()}


def _grant(command: str, op: str, words: list[str]) -> dict:
    """GRANT / REVOKE: the securable after ON (``shop.*``, ``*.*``, ``ALL TABLES IN SCHEMA s``
    → ``s.*``) is what changes; the grantees after TO / FROM are not tables."""
    written: set[str] = set()
    if "on" in words:
        i = words.index("on") + 1
        rest = words[i:i + 5]
        if rest[:4] == ["all", "tables", "in", "schema"] and len(rest) == 5:
            written.add(unquote(rest[4]) + ".*")
        elif rest[:1] == ["schema"] and len(rest) > 1:
            written.add(unquote(rest[1]) + ".*")
        elif not rest[:1] or rest[0] not in ("database", "function", "procedure", "sequence",
                                             "type", "language", "domain", "foreign", "large"):
            if rest[:1] == ["table"]:
                i += 1
            parts = []
            while i < len(words) and (is_ident(words[i]) or words[i] == "*") \
                    and words[i] not in ("to", "from"):
                parts.append(unquote(words[i]))
                if words[i + 1:i + 2] != ["."]:
                    break
                i += 2
            if parts:
                written.add(".".join(parts))
    return {"command": command, "operation": op, "tables_read": set(), "tables_written": written,
            "has_where": False, "has_limit": False, "functions": set()}
