"""Alert webhook for SOAR and chat tools: POST JSON, retry what may succeed later, report the rest.

One alert per request by default (``batch_size=1``: the body is the alert object), or small
batches (the body is a JSON list). Each request carries ``Idempotency-Key`` (the alert id, or a
hash of the batch's ids) so a receiver can drop a retried delivery it already took.

Retried with exponential backoff (``backoff_s · 2^(attempt−1)``, capped at ``max_backoff_s``,
or the server's numeric ``Retry-After`` on 429 if larger): connection errors, timeouts, 408,
429 and 5xx. Any other status is final at once (a 400 will not improve). After ``max_attempts``
the batch's alerts come back from :meth:`WebhookSink.send` as :class:`WebhookFailure` records for
the caller's dead-letter topic. An optional auth header is built from a secret (a string or
pydantic ``SecretStr``) and is never logged or put into failure reasons.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

__all__ = ["RETRY_STATUS", "WebhookFailure", "WebhookSink"]

#: Statuses worth another attempt.
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class WebhookFailure:
    """An alert that could not be delivered: why, after how many attempts, the last status."""

    alert: Any
    reason: str
    attempts: int
    status: int | None = None


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    get = getattr(value, "get_secret_value", None)
    return str(get()) if callable(get) else str(value)


def _key(batch: list[Any]) -> str:
    ids = []
    for a in batch:
        aid = a.get("alert", {}).get("id") if isinstance(a, Mapping) and isinstance(
            a.get("alert"), Mapping) else None
        ids.append(str(aid) if aid else hashlib.sha1(orjson.dumps(a)).hexdigest())
    return ids[0] if len(ids) == 1 else hashlib.sha1("|".join(ids).encode()).hexdigest()


class WebhookSink:
    """``await send(alerts)`` → failures; ``await close()`` when done.

    ``headers``: extra headers; ``secret`` (+ ``auth_header``, ``auth_scheme``): an auth header
    such as ``Authorization: Bearer <secret>`` (scheme ``""`` sends the bare secret).
    """

    def __init__(self, url: str, headers: Mapping[str, str] | None = None, timeout_s: float = 5,
                 max_attempts: int = 5, backoff_s: float = 0.2, *, batch_size: int = 1,
                 secret: Any = None, auth_header: str = "Authorization",
                 auth_scheme: str = "Bearer", max_backoff_s: float = 10.0):
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.url = url
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.batch_size = batch_size
        self._headers = {"Content-Type": "application/json", **dict(headers or {})}
        token = _secret(secret)
        if token:
            self._headers[auth_header] = f"{auth_scheme} {token}".strip()
        self._session: aiohttp.ClientSession | None = None
        self.sent = 0
        self.attempts = 0

    def __repr__(self) -> str:  # the secret stays out of logs
        return f"WebhookSink(url={self.url!r}, batch_size={self.batch_size})"

    async def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        return self._session

    async def send(self, alerts: Iterable[Any]) -> list[WebhookFailure]:
        """Deliver ``alerts``; returns those that failed for good (empty when all arrived)."""
        items = list(alerts)
        failures: list[WebhookFailure] = []
        for i in range(0, len(items), self.batch_size):
            batch = items[i:i + self.batch_size]
            failures += await self._deliver(batch)
        return failures

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        d = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
        if retry_after:
            try:
                d = max(d, min(self.max_backoff_s, float(retry_after)))
            except ValueError:
                pass
        return d

    async def _deliver(self, batch: list[Any]) -> list[WebhookFailure]:
        body = orjson.dumps(batch[0] if self.batch_size == 1 else batch,
                            option=orjson.OPT_NON_STR_KEYS)
        headers = {**self._headers, "Idempotency-Key": _key(batch)}
        reason, status = "not attempted", None
        for attempt in range(1, self.max_attempts + 1):
            self.attempts += 1
            retry_after = None
            try:
                session = await self._client()
                async with session.post(self.url, data=body, headers=headers) as resp:
                    status = resp.status
                    await resp.read()
                    if 200 <= status < 300:
                        self.sent += len(batch)
                        return []
                    reason = f"HTTP {status}"
                    if status not in RETRY_STATUS:
                        return [WebhookFailure(a, reason, attempt, status) for a in batch]
                    retry_after = resp.headers.get("Retry-After")
            except (TimeoutError, aiohttp.ClientError, OSError) as e:
                status = None
                reason = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            if attempt < self.max_attempts:
                await asyncio.sleep(self._delay(attempt, retry_after))
        return [WebhookFailure(a, f"{reason} after {self.max_attempts} attempts",
                               self.max_attempts, status) for a in batch]

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
