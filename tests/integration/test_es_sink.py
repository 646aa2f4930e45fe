"""The bulk sink against the real store: idempotent ids, refusals reported, not retried forever."""

from __future__ import annotations

import asyncio

import pytest
from elasticsearch import AsyncElasticsearch

from connectors.sinks.elasticsearch import BulkIndexer
from connectors.sinks.templates import ensure_templates
from tests.integration.conftest import es_count, es_get, scoped

pytestmark = pytest.mark.integration


def test_bulk_is_idempotent_and_reports_refusals(stack):
    s = scoped(stack, "sink")

    async def run():
        es = AsyncElasticsearch(**s.es_client_kwargs())
        try:
            await ensure_templates(es, s.index_prefix)
            sink = BulkIndexer(es, max_bytes=2048)  # small chunks: several requests per flush
            index = s.index("audit", "2026.11.02")
            for i in range(50):
                doc = {"@timestamp": "2026-11-02T08:00:00.000Z", "user": {"name": f"u{i % 7}"},
                       "event": {"id": f"e{i}"}, "source": {"ip": "10.0.0.1"}}
                sink.add(index, f"e{i}", doc, tag=i)
                sink.add(index, f"e{i}", doc, tag=i)  # re-delivery of the same event
            sink.add(index, "bad", {"@timestamp": "2026-11-02T08:00:00Z", "source": {"ip": "not-an-ip"}},
                     tag="bad")
            return await sink.flush()
        finally:
            await es.close()

    result = asyncio.run(run())
    assert result.indexed == 100
    assert [r.tag for r in result.rejected] == ["bad"]
    assert result.rejected[0].status == 400 and result.rejected[0].reason
    assert es_count(s) == 50
    mapping = es_get(s, f"/{s.index('audit', '2026.11.02')}/_mapping")
    props = next(iter(mapping.values()))["mappings"]["properties"]
    assert props["source"]["properties"]["ip"]["type"] == "ip"


def test_upsert_keeps_fields_set_by_others(stack):
    """An alert updated by the worker (new suppressed count) keeps the analyst's verdict."""
    s = scoped(stack, "sink-upsert")
    index = s.index("alerts", "2026.11")

    async def write(doc: dict) -> int:
        es = AsyncElasticsearch(**s.es_client_kwargs())
        try:
            await ensure_templates(es, s.index_prefix)
            sink = BulkIndexer(es)
            sink.upsert(index, "a1", doc)
            return (await sink.flush()).indexed
        finally:
            await es.close()

    base = {"@timestamp": "2026-11-02T08:00:00.000Z", "alert": {"id": "a1"}, "parasol": {"alert": {"suppressed": 0}}}
    assert asyncio.run(write(base)) == 1
    es_get(s, f"/{index}/_update/a1", {"doc": {"parasol": {"alert": {"status": "closed", "verdict": "true_positive"}}}})
    assert asyncio.run(write({**base, "parasol": {"alert": {"suppressed": 4}}})) == 1
    es_get(s, f"/{index}/_refresh", {})
    src = es_get(s, f"/{index}/_doc/a1")["_source"]
    assert src["parasol"]["alert"] == {"suppressed": 4, "status": "closed", "verdict": "true_positive"}
    assert es_count(s, "alerts") == 1
