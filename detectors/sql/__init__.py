"""SQL understanding: operation, tables, columns, lineage, literals and fingerprints.

``analyze`` / ``SqlAnalyzer`` (:mod:`.analyzer`) are the entry points; :mod:`.normalize` is the
cheap per-call pass (literals, cache key, fingerprint), :mod:`.tree` the walk over a parsed
statement, :mod:`.commands` the keyword-level classification and fallback. The pipeline stage that uses
it is :mod:`detectors.understand`.

>>> from detectors.sql import analyze
>>> info = analyze("INSERT INTO archive SELECT * FROM orders WHERE ts < '2024-01-01'", "mysql")
>>> info.operation, sorted(info.tables_read), sorted(info.tables_written), info.literals
('write', ['orders'], ['archive'], ('2024-01-01',))
"""

from __future__ import annotations

from detectors.sql.analyzer import COMPILED, DIALECTS, SqlAnalyzer, SqlInfo, analyze, dialect_for
from detectors.sql.commands import OPERATIONS
from detectors.sql.normalize import fingerprint_of, scan

__all__ = ["analyze", "SqlAnalyzer", "SqlInfo", "dialect_for", "DIALECTS",
           "OPERATIONS", "COMPILED", "scan", "fingerprint_of", "fingerprint"]


def fingerprint(sql: str, dialect: str | None = None) -> tuple[str, str]:
    """``(16-hex hash, normalised text)`` of a statement without parsing it (``dialect``: a
    ``db.system`` value or sqlglot dialect name).

    >>> a, b = "select * from t where id = 1", "SELECT *  FROM t WHERE id=42 -- x"
    >>> fingerprint(a) == fingerprint(b)
    True
    """
    return fingerprint_of(scan(sql, dialect_for(dialect))[0])
