"""Faust tables: state that survives restarts in changelog topics."""

from __future__ import annotations

import time

from streams.app import app, settings

__all__ = ["assets", "exceptions", "known", "risk", "state", "KnownColumns", "risk_level_of"]

#: The data-asset catalogue: asset key (``instance/db/table.column``) → orjson record
#: (detectors.sensitive.catalogue). Partitioned like ``parasol.assets.observations``.
assets = app.Table("assets", default=None, key_type=bytes, value_type=bytes, partitions=settings.partitions)

#: Every asset key the catalogue knows, on every worker (a global table), so that any worker can
#: expand ``SELECT *``. One key per column (not a list per table): two workers adding columns of
#: one table on different partitions can then never overwrite each other.
known = app.GlobalTable("known-columns", default=None, key_type=bytes, value_type=bytes, partitions=settings.partitions)


#: Rule and baseline state, ``"<partition>|rules|<entity key>"`` / ``"<partition>|ueba|…"`` →
#: orjson (streams/judge.py). Written per batch through the changelog partition of the batch's
#: events of that partition, so a partition's state recovers with the partition.
state = app.Table("entity-state", default=None, key_type=bytes, value_type=bytes, partitions=settings.partitions)

#: Rule exceptions from analysts' false-positive verdicts, exception id → orjson, on every worker
#: (a global table): a user's partition may be on any worker.
exceptions = app.GlobalTable("rule-exceptions", default=None, key_type=bytes, value_type=bytes,
                             partitions=settings.partitions)

#: user → orjson ``{"level": low|medium|high|critical, ...}``, on every worker (a global table).
#: Fed by the ``parasol.risk-levels`` agent from the contract topic ``parasol.risk.levels``, where
#: `parasol risk set` (and later the rule and baseline stages) publish.
risk = app.GlobalTable("risk-levels", default=None, key_type=bytes, value_type=bytes, partitions=settings.partitions)


def risk_level_of(user: str | None) -> str | None:
    """The subject's current risk level, or None (no level set)."""
    import orjson

    raw = risk.get(user.encode()) if user else None
    return orjson.loads(raw).get("level") if raw else None


class KnownColumns:
    """``(instance, db, table) → [columns]`` over :data:`known`, re-indexed when the table grew
    (keys are only ever added) or every ``every_s``."""

    def __init__(self, table=known, every_s: float = 5.0):
        self.table = table
        self.every_s = every_s
        self._built = float("-inf")
        self._index: dict[str, list[str]] = {}
        self._size = -1

    def __call__(self, instance: str | None, db: str | None, table: str) -> list[str] | None:
        now = time.monotonic()
        size = len(self.table)
        if size != self._size or now - self._built > self.every_s:
            index: dict[str, list[str]] = {}
            for key in list(self.table.keys()):
                text = key.decode() if isinstance(key, bytes) else str(key)
                prefix, _, column = text.rpartition(".")
                index.setdefault(prefix, []).append(column)
            self._index, self._built, self._size = index, now, size
        return self._index.get(f"{instance or '-'}/{db or '-'}/{table}")
