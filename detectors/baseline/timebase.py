"""Event time: RFC 3339 ``@timestamp`` ↔ epoch seconds, and the hour-of-week bucket.

The analytics never read the wall clock: windows, watermarks, idleness and eviction all run on
these values, so a replay of last week's logs gives the same answer as live traffic.

>>> t = parse_ts("2026-11-20T10:00:00.000Z")
>>> format_ts(t), hour_of_week(t)    # a Friday: 4 days * 24 + 10
('2026-11-20T10:00:00.000Z', 106)
"""

from __future__ import annotations

from datetime import datetime
from time import gmtime, strftime
from typing import Any

__all__ = ["HOURS_PER_WEEK", "format_ts", "hour_of_week", "parse_ts"]

HOURS_PER_WEEK = 168
#: 1970-01-01 was a Thursday: bucket 0 is Monday 00:00 UTC, so shift by 3 days.
_EPOCH_WEEK_OFFSET_H = 72


def parse_ts(value: Any) -> float:
    """Epoch seconds from an RFC 3339 string (``Z`` or offset) or epoch milliseconds."""
    if isinstance(value, (int, float)):
        return float(value) / 1000.0
    return datetime.fromisoformat(value).timestamp()


def format_ts(seconds: float) -> str:
    """RFC 3339 UTC with milliseconds, as the normaliser writes ``@timestamp``."""
    ms = round(seconds * 1000)
    return f"{strftime('%Y-%m-%dT%H:%M:%S', gmtime(ms // 1000))}.{ms % 1000:03d}Z"


def hour_of_week(seconds: float) -> int:
    """0..167, Monday 00:00 UTC = 0 (the company clock is UTC, as the pipeline's)."""
    return (int(seconds // 3600) + _EPOCH_WEEK_OFFSET_H) % HOURS_PER_WEEK
