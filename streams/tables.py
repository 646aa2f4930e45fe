"""Faust tables: state that survives restarts in changelog topics."""

from __future__ import annotations

from streams.app import app, settings

__all__ = ["assets"]

#: The data-asset catalogue: asset key (``instance/db/table.column``) → orjson record
#: (detectors.sensitive.catalogue). Partitioned like ``parasol.assets.observations``.
assets = app.Table("assets", default=None, key_type=bytes, value_type=bytes, partitions=settings.partitions)
