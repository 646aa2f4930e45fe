"""Pause briefly after a fetch that brought nothing, so an idle worker does not spin.

Kafka holds a fetch on a caught-up partition for ``fetch.max.wait.ms`` (Faust hard-codes 1.5 s);
noida-db answers it at once, empty, so aiokafka re-fetches in a tight loop (~4,700 fetches/s: an
idle worker burned 0.9 of a core, and a busy one lost throughput whenever one of its partitions
ran dry). Sleeping a few milliseconds after an empty answer costs nothing on Kafka, where the
answer already took the full wait, and bounds the loop on brokers that do not wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

__all__ = ["install_empty_fetch_backoff"]

log = logging.getLogger(__name__)
_installed: float | None = None


def install_empty_fetch_backoff(ms: float) -> bool:
    """Patch aiokafka's fetcher once; returns False (and logs) if its internals have moved."""
    global _installed
    if ms <= 0 or _installed is not None:
        return _installed is not None
    try:
        from aiokafka.consumer.fetcher import Fetcher

        original = Fetcher._proc_fetch_request
    except (ImportError, AttributeError):  # a newer aiokafka: keep working, just spin
        log.warning("aiokafka internals changed; empty-fetch backoff not installed")
        return False
    seconds = ms / 1000

    async def _proc_fetch_request(self, assignment, node_id, request):
        has_new_data = await original(self, assignment, node_id, request)
        if not has_new_data:
            # aiokafka's close() cancels and awaits these tasks expecting them to return, as the
            # original does on cancellation; a CancelledError out of here stalls the shutdown.
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(seconds)
        return has_new_data

    Fetcher._proc_fetch_request = _proc_fetch_request
    _installed = seconds
    return True
