"""What every log source shares: lines in, contract events or unparseable records out.

A source format is a :class:`Parser`. The tailer (:mod:`connectors.sources.tailer`) hands it
complete lines (newline stripped) with their byte offsets; the parser returns
:class:`Emitted` contract events and :class:`Unparseable` records (for the dead-letter topic).
Parsers may hold lines back (multi-line records, pgaudit's per-statement aggregation); they
report the smallest offset they still hold so that the checkpoint never passes an event that has
not reached Kafka yet.

Parsers are pure: no files, no Kafka. They build events as nested dicts in the contract's shape
(CONTRACT.md); ``event.id`` is set when the source has its own stable ids, otherwise the tailer
derives one from the file identity and the byte offset.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Callable, Protocol
from zoneinfo import ZoneInfo

__all__ = [
    "Line",
    "Emitted",
    "Unparseable",
    "Parser",
    "SourceOptions",
    "stable_id",
    "rfc3339",
    "resolve_tz",
    "guarded",
]


@dataclass(slots=True)
class Line:
    """One complete line of a log file, without its line terminator."""

    data: bytes
    offset: int  # byte offset of the line's first byte
    end: int  # byte offset just after its newline


@dataclass(slots=True)
class Emitted:
    """A contract event built from the lines starting at ``offset``."""

    kind: str  # "db" (parasol.db.audit) or "api" (parasol.api.access)
    event: dict
    offset: int


@dataclass(slots=True)
class Unparseable:
    """Input that cannot become an event; it goes to the dead-letter topic with ``reason``."""

    raw: bytes
    reason: str  # short code, e.g. "unparseable_line", "bad_json", "bad_csv"
    message: str
    offset: int


Output = Emitted | Unparseable


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """Deployment facts a log line does not carry (all optional)."""

    instance: str | None = None  # db.instance for DB sources
    service: str | None = None  # service.name for access logs without one
    tz: str | None = None  # zone of timestamps written without one (server_audit); default: local
    user_header: str | None = None  # access logs: request header naming the user
    trusted_proxies: int = 0  # access logs: trusted X-Forwarded-For hops
    routes: tuple[str, ...] = ()  # access logs: route templates, e.g. "/customers/{id}"
    idle_flush_s: float = 1.0  # multi-line/aggregating parsers: emit held records after this


class Parser(Protocol):
    """A source format. ``kind`` is ``db`` or ``api``; ``name`` is the CLI name."""

    name: str
    kind: str

    def feed(self, line: Line) -> list[Output]:
        """Consume one line; return what is complete."""
        ...

    def flush(self) -> list[Output]:
        """Emit everything held back (end of file, idle timeout, shutdown)."""
        ...

    def pending_offset(self) -> int | None:
        """Smallest offset of a line still held back, or ``None``."""
        ...


def stable_id(*parts: object) -> str:
    """A deterministic 32-hex id from source-level identifiers.

    >>> stable_id("pgaudit", "6763b1c2.1a2b", 7) == stable_id("pgaudit", "6763b1c2.1a2b", 7)
    True
    """
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def rfc3339(dt: datetime) -> str:
    """Aware datetime → ``YYYY-MM-DDTHH:MM:SS.mmmZ``.

    >>> rfc3339(datetime(2026, 11, 27, 8, 0, 1, 123456, tzinfo=timezone(timedelta(hours=8))))
    '2026-11-27T00:00:01.123Z'
    """
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def resolve_tz(name: str | None) -> tzinfo:
    """``None`` → the machine's local zone; ``UTC``/``+08:00``/IANA names accepted."""
    if not name:
        return datetime.now().astimezone().tzinfo or UTC
    if name.upper() in ("UTC", "Z"):
        return UTC
    if name[0] in "+-" and ":" in name:
        sign = -1 if name[0] == "-" else 1
        h, m = name[1:].split(":")
        return timezone(sign * timedelta(hours=int(h), minutes=int(m)))
    return ZoneInfo(name)


def guarded(parse: Callable[[Line], list[Output]], line: Line) -> list[Output]:
    """``parse(line)``, but a parser bug becomes a dead letter (``parser_error``) with the line
    kept, instead of stopping the tailer."""
    try:
        return parse(line)
    except Exception as exc:  # noqa: BLE001 - any bug, by design
        return [Unparseable(line.data, "parser_error", f"{type(exc).__name__}: {exc}"[:200], line.offset)]


@dataclass
class LineParser:
    """Base for formats where one line is one record: subclasses implement :meth:`parse`."""

    options: SourceOptions = field(default_factory=SourceOptions)
    name = "line"
    kind = "db"

    def parse(self, line: Line) -> list[Output]:  # pragma: no cover - abstract
        raise NotImplementedError

    def feed(self, line: Line) -> list[Output]:
        if not line.data.strip():
            return []
        return guarded(self.parse, line)

    def flush(self) -> list[Output]:
        return []

    def pending_offset(self) -> int | None:
        return None
