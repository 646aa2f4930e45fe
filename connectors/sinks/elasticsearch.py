"""Elasticsearch bulk sink: buffered ``add()``, ``flush()`` with retry and backoff.

Shaped like Quix Streams' sinks: the caller adds documents, then flushes once per batch. A flush
returns only when Elasticsearch has acknowledged every document or rejected it for good, so the
stream that calls it pauses while the store is unreachable (backpressure) and commits Kafka
offsets only past what was acknowledged. ``_id`` comes from the event id, so re-delivery
overwrites instead of duplicating.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import orjson
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, AsyncElasticsearch

__all__ = ["BulkIndexer", "FlushResult", "RejectedDoc"]

log = logging.getLogger(__name__)

#: Item statuses worth retrying: overload and server-side trouble, not a bad document.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_FILTER_PATH = "errors,items.*.status,items.*.error"


@dataclass(frozen=True)
class RejectedDoc:
    """A document Elasticsearch refused for good (e.g. a mapping conflict)."""

    index: str
    doc_id: str
    status: int
    reason: str
    tag: Any = None


@dataclass
class FlushResult:
    indexed: int = 0
    rejected: list[RejectedDoc] = field(default_factory=list)
    retries: int = 0
    bytes: int = 0


class BulkIndexer:
    """Buffers documents and writes them with ``_bulk``.

    ``tag`` on :meth:`add` travels with the document and comes back on a rejection, so the caller
    can dead-letter the original message.
    """

    def __init__(
        self,
        client: AsyncElasticsearch,
        *,
        max_bytes: int = 8 * 1024 * 1024,
        max_backoff_s: float = 30.0,
        on_retry: Callable[[str], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self.client = client
        self.max_bytes = max_bytes
        self.max_backoff_s = max_backoff_s
        self.on_retry = on_retry
        self._sleep = sleep
        self._buffer: list[tuple[str, str, bytes, Any, bytes]] = []  # index, id, body, tag, op

    def __len__(self) -> int:
        return len(self._buffer)

    def add(self, index: str, doc_id: str, doc: dict | bytes, tag: Any = None) -> None:
        body = doc if isinstance(doc, bytes) else orjson.dumps(doc)
        self._buffer.append((index, doc_id, body, tag, b"index"))

    def upsert(self, index: str, doc_id: str, doc: dict, tag: Any = None) -> None:
        """Merge ``doc`` into the document (created if absent): fields others set stay, e.g. an
        analyst's verdict on an alert the worker updates with a new suppressed count."""
        self._buffer.append((index, doc_id, orjson.dumps({"doc": doc, "doc_as_upsert": True}), tag, b"update"))

    async def flush(self) -> FlushResult:
        """Write everything buffered; retry transient failures until acknowledged."""
        pending, self._buffer = self._buffer, []
        result = FlushResult()
        while pending:
            chunk, pending = self._chunk(pending)
            await self._write_chunk(chunk, result)
        return result

    def _chunk(self, docs: list) -> tuple[list, list]:
        size = 0
        for i, (_, _, body, _, _) in enumerate(docs):
            size += len(body) + 128
            if size > self.max_bytes and i > 0:
                return docs[:i], docs[i:]
        return docs, []

    async def _write_chunk(self, docs: list, result: FlushResult) -> None:
        attempt = 0
        while docs:
            payload = b"".join(
                b'{"' + op + b'":{"_index":' + orjson.dumps(index) + b',"_id":' + orjson.dumps(doc_id)
                + b"}}\n" + body + b"\n"
                for index, doc_id, body, _, op in docs
            )
            try:
                # Only what we read back: a full bulk response costs both sides ~100 B per item.
                resp = await self.client.bulk(
                    operations=payload, refresh=False, filter_path=_FILTER_PATH
                )
            except (TransportConnectionError, ConnectionTimeout, asyncio.TimeoutError) as exc:
                attempt = await self._backoff(attempt, f"unreachable: {exc.__class__.__name__}", result)
                continue
            except ApiError as exc:
                # Auth, overload or a broken node: pausing loses nothing, raising would.
                attempt = await self._backoff(attempt, f"HTTP {exc.meta.status}", result)
                continue
            result.bytes += len(payload)
            if not resp.get("errors"):
                result.indexed += len(docs)
                return
            retry = []
            for item, doc in zip(resp["items"], docs):
                op = next(iter(item.values()))
                status = int(op.get("status", 500))
                if status < 300:
                    result.indexed += 1
                elif status in RETRY_STATUSES:
                    retry.append(doc)
                else:
                    err = op.get("error") or {}
                    reason = f"{err.get('type', 'error')}: {err.get('reason', '')}"[:1000]
                    result.rejected.append(RejectedDoc(doc[0], doc[1], status, reason, doc[3]))
            docs = retry
            if docs:
                attempt = await self._backoff(attempt, f"{len(docs)} items refused for now", result)

    async def _backoff(self, attempt: int, why: str, result: FlushResult) -> int:
        delay = min(self.max_backoff_s, 0.25 * 2**attempt) * (0.5 + random.random() / 2)
        result.retries += 1
        log.warning("Elasticsearch bulk: %s; retrying in %.1fs (attempt %d)", why, delay, attempt + 1)
        if self.on_retry:
            self.on_retry(why)
        await self._sleep(delay)
        return attempt + 1
