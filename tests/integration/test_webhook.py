"""The alert webhook against a real aiohttp server on a free loopback port (no mocks)."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest
from aiohttp import web

from connectors.local import free_port
from connectors.sinks.webhook import WebhookSink

ALERT = {"@timestamp": "2026-11-20T10:00:00.000Z", "alert": {"id": "a-1"},
         "rule": {"id": "r", "name": "Rule"}, "risk": {"score": 80, "severity": "critical"},
         "user": {"name": "alice"}}


class Receiver:
    """A webhook receiver that answers from a script of statuses, then 200."""

    def __init__(self, statuses: list[int] | None = None, retry_after: str | None = None):
        self.statuses = list(statuses or [])
        self.retry_after = retry_after
        self.requests: list[dict] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        self.requests.append({"body": body, "headers": dict(request.headers),
                              "t": time.monotonic()})
        status = self.statuses.pop(0) if self.statuses else 200
        headers = {"Retry-After": self.retry_after} if self.retry_after and status == 429 else {}
        return web.json_response({"ok": status < 300}, status=status, headers=headers)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}/hook"
        return self.url

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_retries_5xx_then_delivers_once():
    async def go():
        rx = Receiver([500, 500])
        url = await rx.start()
        sink = WebhookSink(url, max_attempts=5, backoff_s=0.05)
        try:
            failed = await sink.send([ALERT])
        finally:
            await sink.close()
            await rx.stop()
        return rx, sink, failed

    rx, sink, failed = run(go())
    assert failed == []
    assert len(rx.requests) == 3 and sink.attempts == 3 and sink.sent == 1
    assert [r["body"] for r in rx.requests] == [ALERT] * 3
    assert {r["headers"]["Idempotency-Key"] for r in rx.requests} == {"a-1"}
    gaps = [b["t"] - a["t"] for a, b in zip(rx.requests, rx.requests[1:])]
    assert gaps[0] >= 0.04 and gaps[1] >= 0.09  # exponential backoff: 0.05 s, then 0.1 s


def test_always_500_reports_failure_after_max_attempts():
    async def go():
        rx = Receiver([500] * 10)
        url = await rx.start()
        sink = WebhookSink(url, max_attempts=3, backoff_s=0.01)
        try:
            failed = await sink.send([ALERT, {**ALERT, "alert": {"id": "a-2"}}])
        finally:
            await sink.close()
            await rx.stop()
        return rx, failed

    rx, failed = run(go())
    assert len(rx.requests) == 6  # 3 attempts for each of the two alerts
    assert [f.alert["alert"]["id"] for f in failed] == ["a-1", "a-2"]
    assert all(f.attempts == 3 and f.status == 500 and "HTTP 500" in f.reason for f in failed)


def test_client_error_is_final_without_retry():
    async def go():
        rx = Receiver([400])
        url = await rx.start()
        sink = WebhookSink(url, max_attempts=5, backoff_s=0.01)
        try:
            return rx, await sink.send([ALERT])
        finally:
            await sink.close()
            await rx.stop()

    rx, failed = run(go())
    assert len(rx.requests) == 1 and failed[0].status == 400 and failed[0].attempts == 1


def test_429_honours_retry_after_and_batches():
    async def go():
        rx = Receiver([429], retry_after="0.3")
        url = await rx.start()
        sink = WebhookSink(url, max_attempts=3, backoff_s=0.01, batch_size=2)
        try:
            failed = await sink.send([ALERT, {**ALERT, "alert": {"id": "a-2"}}, ALERT])
        finally:
            await sink.close()
            await rx.stop()
        return rx, failed

    rx, failed = run(go())
    assert failed == []
    assert [len(r["body"]) for r in rx.requests] == [2, 2, 1]  # a retried batch, then the rest
    assert rx.requests[1]["t"] - rx.requests[0]["t"] >= 0.28


def test_server_down_is_a_failure():
    async def go():
        url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
        sink = WebhookSink(url, max_attempts=2, backoff_s=0.01, timeout_s=2)
        try:
            return await sink.send([ALERT])
        finally:
            await sink.close()

    failed = run(go())
    assert len(failed) == 1 and failed[0].status is None and failed[0].attempts == 2
    assert "after 2 attempts" in failed[0].reason


def test_auth_header_from_secret_reaches_the_server_and_stays_out_of_repr():
    pydantic = pytest.importorskip("pydantic")

    async def go():
        rx = Receiver()
        url = await rx.start()
        sink = WebhookSink(url, secret=pydantic.SecretStr("s3cr3t-token"),
                           headers={"X-Source": "parasol"})
        try:
            failed = await sink.send([ALERT])
        finally:
            await sink.close()
            await rx.stop()
        return rx, sink, failed

    rx, sink, failed = run(go())
    assert failed == []
    assert rx.requests[0]["headers"]["Authorization"] == "Bearer s3cr3t-token"
    assert rx.requests[0]["headers"]["X-Source"] == "parasol"
    assert "s3cr3t" not in repr(sink)
