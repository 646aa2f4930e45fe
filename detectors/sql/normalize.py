"""The cheap pass over statement text: literals out, a cache key and a fingerprint.

Every statement goes through :func:`scan` (a few compiled regular expressions, no parser), so this
is what a cache hit costs. It returns

* ``key`` — the text with comments dropped, literals and bind parameters replaced by ``?``,
  whitespace collapsed, lower-cased, all-literal ``IN (…)`` lists and ``VALUES`` rows collapsed.
  It stays *close* to the text (``id=?`` and ``id = ?`` are different keys) so that two statements
  with the same key always parse to the same structure: the parse cache is keyed by it.
* ``literals`` — the literal values in order (string contents unescaped, numbers as written).
* ``flags`` — ``comment`` / ``executable_comment`` when the text held them.

:func:`fingerprint_of` turns a key into the coarser, display-friendly fingerprint text (tokens
separated by single spaces, so ``id=42`` and ``id = 1`` agree) and its 16-hex hash. It is a pure
function of the key, so the analyzer computes it once per cached structure.

>>> key, literals, flags = scan("SELECT *  FROM t WHERE id=42 AND name IN ('a', 'b') -- x")
>>> key, literals, flags
('select * from t where id=? and name in (?)', ('42', 'a', 'b'), frozenset({'comment'}))
>>> fingerprint_of(key)[1]
'select * from t where id = ? and name in (?)'
>>> fingerprint_of(scan("select * from t where id = 1")[0]) == fingerprint_of(key)
False
>>> fingerprint_of(scan("select * from t where id = 1 and name in ('z')")[0]) == fingerprint_of(key)
True
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["scan", "fingerprint_of", "family", "split_statements", "words", "FINGERPRINT_TEXT_MAX",
           "EXEC_COMMENT"]

#: The fingerprint text kept on a result is cut here (the hash covers the whole text): an index
#: keyword field must stay well under Lucene's 32 KiB term limit.
FINGERPRINT_TEXT_MAX = 4096

# Lexical families: which quotes make strings and which make identifiers differs by dialect, and
# the cheap pass must agree with the database on where a literal ends.
_FAMILY = {
    "postgres": "postgres", "redshift": "postgres", "materialize": "postgres",
    "risingwave": "postgres", "mysql": "mysql", "doris": "mysql", "starrocks": "mysql",
    "singlestore": "mysql", "tsql": "tsql", "fabric": "tsql",
}


def family(dialect: str | None) -> str:
    """Lexical family of a sqlglot dialect name (``postgres``, ``mysql``, ``tsql`` or ``ansi``)."""
    return _FAMILY.get(dialect or "", "ansi")


# Each lexer is one character class (the characters a literal, comment, quoted identifier or
# parameter can start with) followed by one branch per start: a pattern that opens with a class
# lets the regex engine skip every other character in C, ~10× faster than an alternation of
# groups. Branch = (start characters, kind, rest); a lookbehind in ``rest`` that spans the start
# character checks what precedes the token (``t1`` is a name, not the number 1).
# Every quoted form also ends at the end of the text (``|\Z``, after a lone trailing backslash),
# as a database lexer would: a quoted form must match from any opening quote, or each quote of an
# unterminated string retries to the end — quadratic (a 300 kB ``'a\'a\'…`` took 9 minutes).
_Branch = tuple[str, str, str]
_COMMON: list[_Branch] = [
    ("/", "comment", r"\*[\s\S]*?(?:\*/|\Z)"),
    ("0-9", "num",
     r"(?<![\w$.]\d)(?:(?<=0)[xX][0-9a-fA-F]+|\d*(?:\.\d*)?(?:[eE][+-]?\d+)?)(?![\w$])"),
    (".", "num", r"(?<![\w$.]\.)\d+(?:[eE][+-]?\d+)?(?![\w$])"),
    ("?", "param", r""),
    ("$", "param", r"\d+"),
    ("%", "param", r"s(?!\w)|\(\w+\)s"),
]
_BRANCHES: dict[str, list[_Branch]] = {
    # standard_conforming_strings: '' only; E'…' takes backslash escapes; $tag$…$tag$ bodies.
    # Prefixes (E'…', B'…', X'…', N'…', U&'…') stay in the key as a word: strings are found by
    # their quote, so that common letters are not places to try a match.
    "postgres": [
        ("-", "comment", r"-[^\n]*"),
        ("$", "dollar", r"(?<![\w$]\$)(?P<tag>(?:[A-Za-z_]\w*)?)\$[\s\S]*?(?:\$(?P=tag)\$|\Z)"),
        ("'", "estr", r"(?<=[eE]')(?<![\w$][eE]')(?:[^'\\]|\\[\s\S]|'')*\\?(?:'|\Z)"),
        ("'", "str", r"(?:[^']|'')*(?:'|\Z)"),
        ('"', "ident", r'(?:[^"]|"")*(?:"|\Z)'),
    ],
    # MySQL: '…' and "…" are strings with backslash escapes; `…` identifiers; # comments;
    # "--" starts a comment only before whitespace (1--1 is arithmetic)
    "mysql": [
        ("-", "comment", r"-(?=\s|\Z)[^\n]*"),
        ("#", "comment", r"[^\n]*"),
        ("'", "estr", r"(?:[^'\\]|\\[\s\S]|'')*\\?(?:'|\Z)"),
        ('"', "estr", r'(?:[^"\\]|\\[\s\S]|"")*\\?(?:"|\Z)'),
        ("`", "ident", r"(?:[^`]|``)*(?:`|\Z)"),
    ],
    "tsql": [
        ("-", "comment", r"-[^\n]*"),
        ("'", "str", r"(?:[^']|'')*(?:'|\Z)"),
        ('"', "ident", r'(?:[^"]|"")*(?:"|\Z)'),
        ("[", "ident", r"[^\]]*(?:\]|\Z)"),
    ],
    # Oracle and the rest: ANSI quoting; Oracle binds :name / :1 are parameters
    "ansi": [
        ("-", "comment", r"-[^\n]*"),
        ("'", "str", r"(?:[^']|'')*(?:'|\Z)"),
        ('"', "ident", r'(?:[^"]|"")*(?:"|\Z)'),
        (":", "param", r"(?<![:\w]:)\w+"),
    ],
}


def _lexer(branches: list[_Branch]) -> re.Pattern:
    starts = list(dict.fromkeys(c for first, _, _ in branches for c in (
        [first] if first == "0-9" else first)))
    alts = [f"(?<=[{re.escape(first) if first != '0-9' else first}])(?P<{kind}{i}>{rest})"
            for i, (first, kind, rest) in enumerate(branches)]
    first_class = "".join("0-9" if c == "0-9" else re.escape(c) for c in starts)
    return re.compile(f"[{first_class}](?:{'|'.join(alts)})")


_LEXERS = {name: _lexer(branches + _COMMON) for name, branches in _BRANCHES.items()}
# group index → token kind (group names are kind + branch number; "tag" is dollar's inner group)
_KINDS = {name: [""] + [n.rstrip("0123456789") if n != "tag" else "tag" for n, _ in sorted(
    lexer.groupindex.items(), key=lambda kv: kv[1])] for name, lexer in _LEXERS.items()}

# MySQL runs the body of /*! … */ (optionally versioned /*!50001 … */): it is code, not a comment.
EXEC_COMMENT = re.compile(r"/\*!\d{0,6}([\s\S]*?)(?:\*/|\Z)")
_PLAIN_IDENT = re.compile(r"[^\W\d][\w$]*\Z")
# start at "(" (a literal the engine finds fast), then look back for IN
_IN_LIST = re.compile(r"\((?:(?<=\bin \()|(?<=\bin\())(?: ?\?(?: ?, ?\?)+ ?\))")
_VALUES_ROWS = re.compile(r"(\( ?\?(?: ?, ?\?)* ?\))(?: ?, ?\1)+")
_BACKSLASH = re.compile(r"\\([\s\S])")
_BACKSLASH_MAP = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "b": "\b", "Z": "\x1a"}


def _keywords() -> frozenset[str]:
    from sqlglot.tokens import Tokenizer

    words = {w.lower() for k in Tokenizer.KEYWORDS for w in k.split()
             if w.replace("_", "").isalpha()}
    # reserved words the tokenizer files under other token types
    return frozenset(words | {"order", "group", "by", "user", "key", "primary", "check", "grant",
                              "to", "of", "only", "returning", "window", "lateral", "natural"})


#: Quoted identifiers spelling a keyword keep their quotes in the key (``"order"`` ≠ ``order``).
KEYWORDS = _keywords()


def _unbackslash(body: str) -> str:
    return _BACKSLASH.sub(lambda m: _BACKSLASH_MAP.get(m.group(1), m.group(1)), body)


class _Scanner:
    """Callback state of one :func:`scan` call (literals and quoted identifiers found)."""

    __slots__ = ("literals", "quoted", "comment", "kinds")

    def __init__(self, kinds: list[str]) -> None:
        self.kinds = kinds
        self.literals: list[str] = []
        self.quoted: list[str] = []
        self.comment = False

    def __call__(self, m: re.Match) -> str:
        kind = self.kinds[m.lastindex]  # type: ignore[index]
        text = m.group()
        if kind == "num":
            self.literals.append(text)
        elif kind == "str" or kind == "estr":
            q = text[0]
            closed = len(text) > 1 and text[-1] == q
            value = (text[1:-1] if closed else text[1:]).replace(q + q, q)
            if kind == "estr":
                value = _unbackslash(value)
            # SELECT name AS 'Customer Name' (MySQL, T-SQL): an alias, part of the structure
            before = m.string[max(0, m.start() - 16):m.start()].rstrip()
            if before[-2:].lower() == "as" and (len(before) < 3 or not (
                    before[-3].isalnum() or before[-3] in "_$")):
                return self._quote(value.lower())
            self.literals.append(value)
        elif kind == "dollar":
            start = text.index("$", 1) + 1
            tag = text[:start]
            closed = len(text) >= 2 * start and text.endswith(tag)
            self.literals.append(text[start:len(text) - start] if closed else text[start:])
        elif kind == "comment":
            self.comment = True
            return " "
        elif kind == "ident":
            closed = len(text) > 1 and text[-1] in "\"`]"
            return self._quote((text[1:-1] if closed else text[1:]).lower())
        # "param": a bind parameter is not a literal, but it stands where one would
        return "?"

    def _quote(self, name: str) -> str:
        if _PLAIN_IDENT.match(name) and name not in KEYWORDS:
            return name
        # keep it one token through the whitespace collapse; restored afterwards
        self.quoted.append('"' + name.replace('"', '""') + '"')
        return f"\ue000{len(self.quoted) - 1}\ue001"


_RESTORE = re.compile("\ue000(\\d+)\ue001")


def scan(sql: str, dialect: str | None = None) -> tuple[str, tuple[str, ...], frozenset[str]]:
    """One regex pass: ``(key, literals, flags)``. Never raises on ``str`` input."""
    flags = []
    fam = family(dialect)
    if "\ue000" in sql:  # our placeholder character must not come from the text
        sql = sql.replace("\ue000", "\ufffd")
    if fam == "mysql" and "/*!" in sql:
        sql = EXEC_COMMENT.sub(r" \1 ", sql)
        flags.append("executable_comment")
    s = _Scanner(_KINDS[fam])
    key = _LEXERS[fam].sub(s, sql)
    key = " ".join(key.split()).lower()
    if s.quoted:
        quoted = s.quoted
        key = _RESTORE.sub(lambda m: quoted[int(m.group(1))], key)
    if "?," in key or "? ," in key:  # a list of two or more values
        if "in" in key:
            key = _IN_LIST.sub("(?)", key)
        if "values" in key:
            key = _VALUES_ROWS.sub(r"\1", key)
    if s.comment:
        flags.append("comment")
    return key, tuple(s.literals), frozenset(flags)


# Fingerprint text: punctuation becomes separate tokens so spacing does not matter; the few
# multi-character operators are glued back for readability.
_SPACED = str.maketrans({c: f" {c} " for c in "()[]{},;.=<>!+-*/%|&^~:?"})
_GLUE = (("> =", ">="), ("< =", "<="), ("< >", "<>"), ("! =", "!="), (": :", "::"),
         ("| |", "||"), ("- >", "->"), ("= >", "=>"), (": =", ":="), ("( ", "("), (" )", ")"),
         (" ,", ","), (" . ", "."))
_QUOTED = re.compile(r'"(?:[^"]|"")*(?:"|\Z)')
_FP_IN_LIST = re.compile(r"\bin \( \?(?: , \?)* \)")
_FP_VALUES_ROWS = re.compile(r"(\( \?(?: , \?)* \))(?: , \1)+")


def fingerprint_of(key: str) -> tuple[str, str]:
    """``(hash, text)`` of a :func:`scan` key: a 16-hex blake2b digest and the normalised text.

    >>> fingerprint_of("select a.b,count(*) from a where x>=?")[1]
    'select a.b, count (*) from a where x >= ?'
    """
    quoted: list[str] = []
    if "\ue000" in key:
        key = key.replace("\ue000", "\ufffd")
    if '"' in key:
        def hide(m: re.Match) -> str:
            quoted.append(m.group())
            return f"\ue000{len(quoted) - 1}\ue001"

        key = _QUOTED.sub(hide, key)
    text = " ".join(key.translate(_SPACED).split())
    if " in ( ?" in text:
        text = _FP_IN_LIST.sub("in ( ? )", text)
    if "values (" in text:
        text = _FP_VALUES_ROWS.sub(r"\1", text)
    for a, b in _GLUE:
        if a in text:
            text = text.replace(a, b)
    if quoted:
        text = _RESTORE.sub(lambda m: quoted[int(m.group(1))], text)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest(), text


_WORD = re.compile(r'"(?:[^"]|"")*"|[^\W\d][\w$#@]*|[@#][\w$#@]*|\d[\w$]*|\?|\S')


def words(text: str) -> list[str]:
    """Tokens of a fingerprint text or key (quoted identifiers stay whole)."""
    return _WORD.findall(text)


def split_statements(tokens: list[str]) -> list[list[str]]:
    """Token lists of the non-empty statements (``;`` separates; literals are already gone)."""
    out: list[list[str]] = []
    cur: list[str] = []
    for t in tokens:
        if t == ";":
            if cur:
                out.append(cur)
            cur = []
        else:
            cur.append(t)
    if cur:
        out.append(cur)
    return out
