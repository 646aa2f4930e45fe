"""The "understand" stage: what an access touched (SQL, tables, columns) and how sensitive it is.

For a DB event, the statement is analysed (:mod:`detectors.sql`, cached by structure), columns
are judged by their names (:mod:`detectors.sensitive.hints`) and, where the event carries a result
sample, by their values (recognizers with checksums); a result column's findings are credited to
the base columns it derives from (column lineage), so ``SELECT lower(phone) AS p`` grades
``customers.phone``. Literals of the statement are scanned too: a recognised value (an ID number
in a ``WHERE``) counts as sensitive data *sent*, and is cut out of ``db.statement`` before the
event can reach an index. For an API event the route (or path) is the "table" and the JSON
paths of the response sample are the "columns".

The event gains ``parasol.sql`` (DB only), ``parasol.tables``, ``parasol.columns`` and
``parasol.sensitive`` (entities, categories, the highest GB/T 43697 and JR/T 0197 levels, the
number of sensitive values seen, the sensitive columns). Per-asset evidence for the catalogue is
left in ``event["_assets"]`` (popped by the stream before indexing: it is not a document field).

>>> u = Understand()
>>> e = u({"db": {"system": "postgresql", "instance": "pg1", "name": "crm",
...        "statement": "select name, id_card from customers where id = 7",
...        "result_sample": [{"name": "王梅", "id_card": "110101199003074514"}]},
...        "user": {"name": "alice"}, "@timestamp": "2026-11-27T00:00:00.000Z"})
>>> e["parasol"]["tables"], e["parasol"]["sensitive"]["level"], e["parasol"]["sensitive"]["values"]
(['customers'], 'general-4', 2)
>>> sorted(a["column"] for a in e["_assets"])
['customers.id', 'customers.id_card', 'customers.name']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from detectors.sensitive.base import NON_SENSITIVE_HINT
from detectors.sensitive.scanner import Scanner, default_scanner
from detectors.sensitive.taxonomy import Grade
from detectors.sql.analyzer import SqlAnalyzer

__all__ = ["Understand", "asset_key", "MASK"]

MASK = "***"
#: Literals shorter than this are never cut from statements (ids, flags, small numbers).
_MIN_LITERAL = 4
_ROUTE_ID = re.compile(r"/(?:\d+|[0-9a-fA-F-]{32,36})(?=/|$)")


def asset_key(instance: str | None, db: str | None, column: str) -> str:
    """``instance/db/table.column`` — the catalogue's key (``-`` for an unknown part)."""
    return f"{instance or '-'}/{db or '-'}/{column}"


def _flatten(obj: Any, prefix: str, out: dict[str, list]) -> None:
    """JSON → ``{dotted.path: [values]}``; list items share their parent's path."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(obj, list):
        for v in obj:
            _flatten(v, prefix, out)
    elif obj is not None and prefix:
        out.setdefault(prefix, []).append(obj)


class Understand:
    """The stage object (callable on a normalised event). Holds the SQL cache and the scanner."""

    def __init__(
        self,
        analyzer: SqlAnalyzer | None = None,
        scanner: Scanner | None = None,
        known_columns: Callable[[str | None, str | None, str], list[str] | None] | None = None,
        sample_values_per_column: int = 20,
    ):
        # ``known_columns(instance, db, table)``: the catalogue's columns of a table, to expand
        # ``SELECT *`` per event (not inside the analyzer's cache, which knows no instance).
        self.known_columns = known_columns
        self.analyzer = analyzer or SqlAnalyzer()
        self.scanner = scanner or default_scanner()
        self.sample_values_per_column = sample_values_per_column
        self._hint_grades: dict[str, tuple[str, Grade, float] | None] = {}

    def __call__(self, event: dict) -> dict:
        if isinstance(event.get("db"), dict) and event["db"].get("statement"):
            self._db(event)
        elif isinstance(event.get("http"), dict) and isinstance(event.get("url"), dict):
            self._api(event)
        return event

    # -- evidence ---------------------------------------------------------------------------
    def _hint(self, column: str) -> tuple[str, Grade, float] | None:
        """(entity, grade, prior) from a column's name alone, cached per name."""
        name = column.rsplit(".", 1)[-1]
        if name not in self._hint_grades:
            h = self.scanner.hint_for(name) if name not in ("*", "?") else None
            entity = getattr(h, "entity", None) if h is not None else None
            prior = float(getattr(h, "prior", 0.0) or 0.0) if h is not None else 0.0
            self._hint_grades[name] = (
                (entity, self.scanner.taxonomy.grade(entity), prior)
                if entity and entity != NON_SENSITIVE_HINT and prior >= 0.5
                else None
            )
        return self._hint_grades[name]

    def _judge(
        self, columns: Iterable[str], samples: dict[str, list], lineage: dict[str, frozenset[str]]
    ) -> tuple[dict[str, dict], int]:
        """Per base column: entity, grade, confidence, evidence counts. Returns (assets, values)."""
        assets: dict[str, dict] = {}
        for col in columns:
            if col.endswith((".*",)) or col.startswith("?."):
                continue
            hint = self._hint(col)
            assets[col] = {
                "column": col,
                "entity": hint[0] if hint else None,
                "grade": hint[1] if hint else None,
                "confidence": round(hint[2], 3) if hint else 0.0,
                "name_hits": 1 if hint else 0,
                "value_hits": 0,
                "values_seen": 0,
            }
        values = 0
        for out_name, vals in samples.items():
            vals = [v for v in vals[: self.sample_values_per_column] if v is not None and v != ""]
            if not vals:
                continue
            cls = self.scanner.classify_column(out_name, vals)
            hits = cls.value_hits
            values += hits
            bases = lineage.get(out_name) or ()
            for base in bases or (out_name,):
                if base.endswith(".*") or base.startswith("?."):
                    continue
                a = assets.setdefault(
                    base,
                    {"column": base, "entity": None, "grade": None, "confidence": 0.0,
                     "name_hits": 0, "value_hits": 0, "values_seen": 0},
                )
                a["values_seen"] += len(vals)
                a["value_hits"] += hits
                if cls.entity and cls.grade:
                    # Name and values judged together: this beats the name alone.
                    a["entity"], a["grade"], a["confidence"] = cls.entity, cls.grade, round(cls.confidence, 3)
                elif not hits:
                    # The values contradict the name (``products.name`` holding product names).
                    a["entity"], a["grade"], a["confidence"] = None, None, 0.0
        return assets, values

    def _literal_findings(self, literals: Iterable[str]) -> tuple[list[str], list[str]]:
        """Entities found in literals, and the literal texts to cut from the statement."""
        entities, cut = [], []
        for lit in literals:
            if len(lit) < _MIN_LITERAL:
                continue
            found = self.scanner.scan_value(lit)
            if found:
                entities.extend(f.entity for f in found)
                cut.append(lit)
        return entities, cut

    def _summary(self, event: dict, assets: dict[str, dict], values: int, extra_entities: list[str]) -> None:
        p = event.setdefault("parasol", {})
        graded = [a for a in assets.values() if a["grade"] is not None]
        entities = sorted({a["entity"] for a in graded} | set(extra_entities))
        grades = [a["grade"] for a in graded] + [self.scanner.taxonomy.grade(e) for e in extra_entities]
        top = max(grades, key=lambda g: g.rank) if grades else None
        p["sensitive"] = {
            "entities": entities,
            "categories": sorted({g.category for g in grades}),
            "level": top.gb_43697 if top else None,
            "jr_0197": top.jr_0197 if top else None,
            "personal": any(g.personal for g in grades),
            "sensitive_personal": any(g.sensitive_personal for g in grades),
            "values": values + len(extra_entities),
            "columns": sorted(a["column"] for a in graded),
        }
        instance = event.get("db", {}).get("instance") or event.get("service", {}).get("name")
        dbname = event.get("db", {}).get("name") if "db" in event else "api"
        event["_assets"] = [
            {
                "key": asset_key(instance, dbname, a["column"]),
                "instance": instance,
                "db": dbname,
                "column": a["column"],
                "entity": a["entity"],
                "grade": a["grade"].to_dict() if a["grade"] else None,
                "confidence": a["confidence"],
                "name_hits": a["name_hits"],
                "value_hits": a["value_hits"],
                "values_seen": a["values_seen"],
                "seen": event.get("@timestamp"),
                "reader": event.get("user", {}).get("name"),
                "event_id": event.get("event", {}).get("id"),
            }
            for a in assets.values()
        ]

    # -- DB ---------------------------------------------------------------------------------
    def _db(self, event: dict) -> None:
        db = event["db"]
        info = self.analyzer.analyze(db["statement"], db.get("system"))
        p = event.setdefault("parasol", {})
        # What investigators pivot on; tables and columns are in parasol.tables/columns. Every
        # extra field costs the index per document (lineage lists most), so the rest stays here.
        p["sql"] = {
            "operation": info.operation,
            "command": info.command,
            "statements": info.statements,
            "fingerprint": info.fingerprint,
            "parse_ok": info.parse_ok,
            "has_where": info.has_where,
            "has_limit": info.has_limit,
            "functions": sorted(info.functions),
            "flags": sorted(info.flags),
            "columns_filtered": sorted(info.columns_filtered),
        }
        p["tables"] = sorted(info.tables)
        columns = set(info.columns_read | info.columns_written)
        if self.known_columns is not None:
            for col in [c for c in columns if c.endswith(".*")]:
                known = self.known_columns(db.get("instance"), db.get("name"), col[:-2])
                if known:
                    columns.discard(col)
                    columns.update(f"{col[:-2]}.{c}" for c in known)
        columns = sorted(columns)
        p["columns"] = columns
        samples: dict[str, list] = {}
        for row in db.get("result_sample") or ():
            if isinstance(row, dict):
                for k, v in row.items():
                    if not isinstance(v, (dict, list)):
                        samples.setdefault(str(k), []).append(v)
        lineage = dict(info.lineage)
        if samples and len(info.tables) == 1:
            # Unqualified result columns of a one-table statement belong to that table.
            (table,) = info.tables
            for name in samples:
                lineage.setdefault(name, frozenset({f"{table}.{name}"}))
        assets, values = self._judge(columns, samples, lineage)
        entities, cut = self._literal_findings(info.literals)
        if cut:
            text = db["statement"]
            for lit in sorted(cut, key=len, reverse=True):
                text = text.replace(lit, MASK)
            db["statement"] = text
            p.setdefault("masked", []).append("db.statement")
        # Server errors quote values ("Key (id_card)=(110101…) already exists").
        entities += self._cut_text(event, ("db", "error"), db.get("error"), sep="()=,\"' ")
        self._summary(event, assets, values, entities)

    # -- API --------------------------------------------------------------------------------
    def _api(self, event: dict) -> None:
        route = event["http"].get("route") or _ROUTE_ID.sub("/{id}", event["url"].get("path", ""))
        samples: dict[str, list] = {}
        sample = event["http"].get("response", {}).get("sample")
        if sample is not None:
            _flatten(sample, "", samples)
        columns = sorted(f"{route}.{k}" for k in samples)
        p = event.setdefault("parasol", {})
        p["tables"] = [route]
        p["columns"] = columns
        lineage = {k: frozenset({f"{route}.{k}"}) for k in samples}
        assets, values = self._judge(columns, samples, lineage)
        entities = self._cut_text(event, ("url", "query"), event["url"].get("query"), sep="&=")
        entities += self._cut_text(event, ("url", "path"), event["url"].get("path"), sep="/")
        self._summary(event, assets, values, entities)

    def _cut_text(self, event: dict, path: tuple[str, str], text: str | None, sep: str) -> list[str]:
        """Recognised values inside a path, query string or error text are cut out (``***``)."""
        if not text:
            return []
        parts = [text]
        for ch in sep:
            parts = [q for p in parts for q in p.split(ch)]
        entities, cut = self._literal_findings(p for p in parts if p)
        if cut:
            for lit in sorted(cut, key=len, reverse=True):
                text = text.replace(lit, MASK)
            event[path[0]][path[1]] = text
            event.setdefault("parasol", {}).setdefault("masked", []).append(".".join(path))
        return entities
