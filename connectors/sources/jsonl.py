"""Contract JSON lines, as DB proxies that already speak the contract write them.

Each line is one DB audit or API access event (CONTRACT.md), nested or dotted keys. The kind is
given (``db``/``api``) or, with ``auto``, read off the line: an event with ``db.statement`` or
``db.*`` fields is a DB event, one with ``http.*`` or ``url.*`` an API event.

>>> p = JsonlParser()
>>> out = p.feed(Line(b'{"@timestamp": 1767225600000, "user.name": "a", "db.statement": "select 1"}', 0, 70))
>>> out[0].kind, out[0].event["user.name"]
('db', 'a')
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from connectors.sources.base import Emitted, Line, LineParser, Output, SourceOptions, Unparseable

__all__ = ["JsonlParser"]


def _kind_of(event: dict) -> str | None:
    for k, v in event.items():
        head = k.split(".", 1)[0]
        if head == "db":
            return "db"
        if head in ("http", "url"):
            return "api"
    return None


@dataclass
class JsonlParser(LineParser):
    options: SourceOptions = field(default_factory=SourceOptions)
    kind_hint: str = "auto"  # "db", "api" or "auto"
    name = "jsonl"
    kind = "db"

    def parse(self, line: Line) -> list[Output]:
        try:
            event = orjson.loads(line.data)
        except orjson.JSONDecodeError as exc:
            return [Unparseable(line.data, "bad_json", str(exc), line.offset)]
        if not isinstance(event, dict):
            return [Unparseable(line.data, "not_an_object", "an event must be a JSON object", line.offset)]
        kind = self.kind_hint if self.kind_hint != "auto" else _kind_of(event)
        if kind is None:
            return [Unparseable(line.data, "unknown_kind", "neither db.* nor http.*/url.* fields", line.offset)]
        return [Emitted(kind, event, line.offset)]
