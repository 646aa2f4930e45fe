"""sqlmap's own payloads, rendered at test time from the installed ``sqlmap`` package.

Nothing of sqlmap is copied into the repository: the XML files are read from the installed
package (``sqlmap/data/xml/payloads/*.xml`` and ``boundaries.xml``) and rendered the way
sqlmap's ``agent.prefixQuery`` / ``suffixQuery`` compose a request — original value (or a
negative number, or nothing, per the test's ``<where>``), boundary prefix, payload, the test's
comment or else the boundary suffix — then embedded where the parameter sits in a realistic
statement for the boundary's clause and parameter type. Random markers are rendered as sqlmap
does (4-digit numbers, 4-letter strings, ``q…q`` delimiters), and quoted delimiters are also
escaped the way sqlmap's unescapers do per DBMS (MySQL hex, PostgreSQL/Oracle ``CHR()||``,
SQL Server ``CHAR()+``), half of the time.
"""

from __future__ import annotations

import os
import random
import string
import xml.etree.ElementTree as ET
from dataclasses import dataclass

__all__ = ["Payload", "render_corpus", "sqlmap_dir"]

_DIALECT = {"MySQL": "mysql", "PostgreSQL": "postgresql", "Microsoft SQL Server": "sqlserver",
            "Oracle": "oracle", "SQLite": "sqlite"}


@dataclass(frozen=True)
class Payload:
    title: str
    technique: str  # file stem: boolean_blind, time_blind, …
    statement: str
    db_system: str | None


def sqlmap_dir() -> str | None:
    try:
        import sqlmap  # noqa: F401
    except ImportError:
        return None
    import sqlmap as _s
    d = os.path.join(os.path.dirname(_s.__file__), "data", "xml")
    return d if os.path.isdir(d) else None


def _ints(text: str | None) -> set[int]:
    return {int(x) for x in (text or "").split(",") if x.strip().isdigit()}


def _escape(s: str, dialect: str | None) -> str:
    if dialect == "mysql":
        return "0x" + s.encode().hex()
    if dialect in ("postgresql", "oracle"):
        return "(" + "||".join(f"CHR({ord(c)})" for c in s) + ")"
    if dialect == "sqlserver":
        return "+".join(f"CHAR({ord(c)})" for c in s)
    return f"'{s}'"


class _Renderer:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def num(self) -> str:
        return str(self.rng.randint(1000, 9999))

    def word(self) -> str:
        return "".join(self.rng.choice(string.ascii_letters) for _ in range(4))

    def render(self, text: str, dialect: str | None, orig: str) -> str:
        rng = self.rng
        start = "q" + "".join(rng.choice("bjkpqvxz") for _ in range(3)) + "q"
        stop = "q" + "".join(rng.choice("bjkpqvxz") for _ in range(3)) + "q"
        if rng.random() < 0.5:
            text = text.replace("'[DELIMITER_START]'", _escape(start, dialect))
            text = text.replace("'[DELIMITER_STOP]'", _escape(stop, dialect))
        nums = {k: self.num() for k in ("", "1", "2", "3", "4", "5")}
        strs = {k: self.word() for k in ("", "1", "2")}
        out = text.replace("[DELIMITER_START]", start).replace("[DELIMITER_STOP]", stop)
        for k, v in nums.items():
            out = out.replace(f"[RANDNUM{k}]", v)
        for k, v in strs.items():
            out = out.replace(f"[RANDSTR{k}]", v)
        out = out.replace("[SLEEPTIME]", "5").replace("[ORIGVALUE]", orig)
        out = out.replace("[ORIGINAL]", orig)
        out = out.replace("[GENERIC_SQL_COMMENT]", "-- " + self.word())
        return out


# Where the injected parameter sits: per clause, per parameter type (1 numeric, 2 '…',
# 3 LIKE '…', 4 "…", 5 LIKE "…", 6 identifier, 7 block comment, 8 $$…$$). "{}" is the value.
_WHERE = {
    1: ["SELECT id, name, email FROM users WHERE id = {} AND tenant_id = 7 ORDER BY id LIMIT 20",
        "SELECT * FROM orders WHERE customer_id = {}",
        ("SELECT o.id, o.total FROM orders o JOIN customers c ON c.id = o.customer_id "
        "WHERE o.status = 'paid' AND c.id = {} LIMIT 50")],
    2: ["SELECT * FROM users WHERE name = '{}' AND active = 1",
        "SELECT id FROM accounts WHERE login = '{}'",
        "UPDATE profiles SET bio = 'x' WHERE handle = '{}'"],
    3: ["SELECT * FROM products WHERE title LIKE '%{}%' ORDER BY price LIMIT 50",
        "SELECT id FROM customers WHERE phone LIKE '{}%'"],
    4: ["SELECT * FROM users WHERE name = \"{}\" AND active = 1",
        "SELECT id FROM accounts WHERE login = \"{}\""],
    5: ["SELECT * FROM products WHERE title LIKE \"%{}%\" LIMIT 50"],
    7: ["SELECT * FROM users /* {} */ WHERE id = 5"],
}
# identifiers (ptype 6) and alternative quoting (ptype 8) by the boundary's opening characters
_QUOTED = [("`", "SELECT id, `{}` FROM users WHERE id = 5", "mysql"),
           ('"', 'SELECT id, "{}" FROM users WHERE id = 5', "postgresql"),
           ("]", "SELECT id, [{}] FROM users WHERE id = 5", "sqlserver"),
           (" ", "SELECT * FROM users{} WHERE id = 5", None),
           ("$$", "SELECT * FROM notes WHERE body = $${}$$", "postgresql"),
           ("]'", "SELECT * FROM notes WHERE body = q'[{}]'", "oracle"),
           ("}'", "SELECT * FROM notes WHERE body = q'{{}}'", "oracle"),
           (")'", "SELECT * FROM notes WHERE body = q'({})'", "oracle"),
           (">'", "SELECT * FROM notes WHERE body = q'<{}>'", "oracle")]
_CLAUSE = {
    2: "SELECT dept, count(*) FROM staff GROUP BY {}",
    3: "SELECT id, name FROM users ORDER BY {} LIMIT 10",
    4: "SELECT id, name FROM users ORDER BY id LIMIT {}",
    5: "SELECT id, name FROM users ORDER BY id LIMIT 10 OFFSET {}",
    6: "SELECT TOP {} id, name FROM users",
    7: "SELECT * FROM {} WHERE id = 5",
    8: "SELECT {} FROM users WHERE id = 5",
    9: "UPDATE users SET nickname = {} WHERE id = 5",
}


def _template(rng: random.Random, clause: int, ptype: int, prefix: str = "",
              db_system: str | None = None) -> tuple[str, str | None]:
    """(statement template, db_system) for where the parameter sits."""
    if ptype in (6, 8):
        for start, template, system in _QUOTED:
            if prefix.startswith(start) and (ptype == 8) == (start not in "`\"] "):
                return template, system
    return _plain(rng, clause, ptype), db_system


def _plain(rng: random.Random, clause: int, ptype: int) -> str:
    if clause in (1, 0) or ptype != 1 and clause in (2, 3, 9):
        return rng.choice(_WHERE.get(ptype, _WHERE[1]))
    return _CLAUSE.get(clause, rng.choice(_WHERE[1]))


def _tests(xml_dir: str):
    for name in sorted(os.listdir(os.path.join(xml_dir, "payloads"))):
        if not name.endswith(".xml"):
            continue
        root = ET.parse(os.path.join(xml_dir, "payloads", name)).getroot()
        for t in root.findall("test"):
            yield name[:-4], t


def _boundaries(xml_dir: str) -> list[dict]:
    root = ET.parse(os.path.join(xml_dir, "boundaries.xml")).getroot()
    out = []
    for b in root.findall("boundary"):
        out.append({"clause": _ints(b.findtext("clause")), "where": _ints(b.findtext("where")),
                    "ptype": int(b.findtext("ptype") or 1), "prefix": b.findtext("prefix") or "",
                    "suffix": b.findtext("suffix") or ""})
    return out


def _compose(r: _Renderer, test_where: int, prefix: str, payload: str, comment: str | None,
             suffix: str, orig: str) -> str:
    """sqlmap's prefixQuery + suffixQuery, simplified."""
    if test_where == 3:
        return payload + (comment or "")
    value = orig if test_where == 1 else ("-" + r.num() if orig.isdigit() else r.word())
    q = value + prefix
    if not (payload[:1] == ";" or (q[-1:] in "()" and payload[:1] in "()") or q[-1:] == "("):
        q += " "
    q += payload
    if comment is not None:
        q += comment
    elif suffix:
        if q[-1:].isalnum() and suffix[:1].isalnum():
            q += " "
        q += suffix
    return q


def render_corpus(seed: int = 7, union_max_columns: int = 10) -> list[Payload]:
    """Every payload × every applicable boundary, rendered (and each comparison payload too)."""
    xml_dir = sqlmap_dir()
    if xml_dir is None:
        return []
    rng = random.Random(seed)
    r = _Renderer(rng)
    bounds = _boundaries(xml_dir)
    out: list[Payload] = []
    for technique, t in _tests(xml_dir):
        title = t.findtext("title") or ""
        clause = _ints(t.findtext("clause"))
        where = _ints(t.findtext("where"))
        dbms = t.findtext("details/dbms")
        db_system = _DIALECT.get(dbms or "")
        payload = (t.findtext("request/payload") or "").strip()
        comparison = (t.findtext("response/comparison") or "").strip()
        comment = t.findtext("request/comment")
        if comment == "%16":
            comment = None
        if technique == "union_query":
            out += _unions(r, rng, title, bounds, db_system, comment, union_max_columns)
            continue
        if not payload:
            continue
        for b in bounds:
            if not (where & b["where"]) or not (0 in clause or 0 in b["clause"]
                                                or clause & b["clause"]):
                continue
            common = sorted((clause & b["clause"]) or clause or {1})
            cl = rng.choice(common)
            if b["ptype"] in (4, 5) and db_system not in (None, "mysql", "sqlite"):
                continue
            if b["ptype"] in (6, 8) and db_system and _template(
                    rng, 1, b["ptype"], b["prefix"], db_system)[1] not in (None, db_system):
                continue  # an Oracle q'[…]' boundary with a MySQL payload: never sent together
            for w in sorted(where & b["where"]):
                for text in filter(None, (payload, comparison)):
                    orig = "1" if b["ptype"] == 1 else "alice"
                    value = _compose(r, w, b["prefix"], text, comment, b["suffix"], orig)
                    value = r.render(value, db_system, orig)
                    template, system = _template(rng, cl, b["ptype"], b["prefix"], db_system)
                    stmt = template.replace("{}", value, 1)
                    out.append(Payload(title, technique, stmt, system or rng.choice(
                        ["mysql", "postgresql", None])))
    return out


def _unions(r: _Renderer, rng: random.Random, title: str, bounds: list[dict],
            db_system: str | None, comment: str | None, max_cols: int) -> list[Payload]:
    """UNION column-count probes and an extraction, as sqlmap's unionTest sends them."""
    out = []
    ordinary = [b for b in bounds if b["ptype"] in (1, 2) and 1 in b["where"]
                and (1 in b["clause"] or 0 in b["clause"])]
    for n in range(1, max_cols + 1):
        b = rng.choice(ordinary)
        char = "NULL" if "NULL" in title or rng.random() < 0.5 else "[RANDNUM]"
        cols = [char] * n
        if rng.random() < 0.5:  # the extraction request: one column carries delimited data
            i = rng.randrange(n)
            cols[i] = rng.choice([
                "CONCAT('[DELIMITER_START]',IFNULL(CAST(password AS CHAR),' '),'[DELIMITER_STOP]')",
                "'[DELIMITER_START]'||COALESCE(CAST(usename AS TEXT),' ')||'[DELIMITER_STOP]'",
                "CONCAT(0x71626b7171,0x4a6c,0x7178787a71)",
            ])
        tail = rng.choice(["", " FROM users", " FROM DUAL"])
        payload = "UNION ALL SELECT " + ",".join(cols) + tail
        orig = "1" if b["ptype"] == 1 else "alice"
        value = _compose(r, 1, b["prefix"], payload, comment or "[GENERIC_SQL_COMMENT]",
                         b["suffix"], orig)
        value = r.render(value, db_system or "mysql", orig)
        stmt = rng.choice(_WHERE[b["ptype"]]).replace("{}", value, 1)
        out.append(Payload(title, "union_query", stmt, db_system or rng.choice(
            ["mysql", "postgresql"])))
    return out
