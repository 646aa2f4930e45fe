"""Index lifecycle against the embedded store (noida-db): templates, aliases, ILM skipped.

The embedded store has no ``_ilm`` API (it answers 400 "no handler found for uri"): installing
the templates must log one warning and go on without ``index.lifecycle.name``. It does support
index templates with aliases, ``_reindex`` and ``_aliases``, so the search alias and the
documented upgrade path (reindex into a new name + alias switch, README) are checked here too.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.error
import urllib.request

import pytest
from elasticsearch import AsyncElasticsearch, BadRequestError, Elasticsearch

from connectors.sinks.templates import (
    ALIASED_FAMILIES,
    FAMILIES,
    ensure_templates,
    ensure_templates_sync,
    load_template,
)
from tests.integration.conftest import es_get, scoped

pytestmark = pytest.mark.integration

LOGGER = "connectors.sinks.templates"


def _ilm_warnings(caplog) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING
    ]


def _field(props: dict, path: str) -> dict:
    node = {"properties": props}
    for part in path.split("."):
        node = node["properties"][part]
    return node


def test_the_embedded_store_has_no_ilm_api(stack):
    # The documented limit (README): if this starts to pass through, ILM is no longer skipped
    # there and the docs and the test below must change.
    req = urllib.request.Request(stack.es_hosts[0].rstrip("/") + "/_ilm/policy/parasol-audit")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req, timeout=10)
    assert exc.value.code == 400
    assert "no handler found" in exc.value.read().decode()


def test_templates_install_with_ilm_skipped_and_one_warning(stack, caplog):
    s = scoped(stack, "ilm")

    async def install():
        es = AsyncElasticsearch(**s.es_client_kwargs())
        try:
            return await ensure_templates(es, s.index_prefix, {"audit": 30})
        finally:
            await es.close()

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        names = asyncio.run(install())
    assert names == [f"{s.index_prefix}{f}" for f in FAMILIES]
    warnings = _ilm_warnings(caplog)
    assert len(warnings) == 1 and "no handler found" in warnings[0] and "ILM" in warnings[0]

    es = Elasticsearch(**s.es_client_kwargs())
    try:
        for family in FAMILIES:
            got = es.indices.get_index_template(name=f"{s.index_prefix}{family}")["index_templates"]
            body = got[0]["index_template"]
            assert body["version"] == load_template(family)["version"], family
            assert body["index_patterns"] == [s.index_pattern(family)]
            assert body["_meta"]["family"] == family
            settings = body["template"].get("settings", {})
            assert "lifecycle" not in settings.get("index", {}), family
            aliases = body["template"].get("aliases", {})
            assert aliases == ({s.index(family): {}} if family in ALIASED_FAMILIES else {}), family

        # The sync variant behaves the same (and is idempotent).
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            assert ensure_templates_sync(es, s.index_prefix) == names
        assert len(_ilm_warnings(caplog)) == 1
    finally:
        es.close()


def test_new_indices_get_mappings_and_the_search_alias(stack):
    s = scoped(stack, "alias")
    es = Elasticsearch(**s.es_client_kwargs())
    try:
        ensure_templates_sync(es, s.index_prefix)
        day1, day2 = s.index("audit", "2026.11.26"), s.index("audit", "2026.11.27")
        month = s.index("alerts", "2026.11")
        for index, doc_id, doc in [
            (day1, "e-1", {"@timestamp": "2026-11-26T10:00:00Z", "user": {"name": "alice"},
                           "parasol": {"sqli": ["tautology"], "sensitive": {"level": "general-3"}}}),
            (day2, "e-2", {"@timestamp": "2026-11-27T10:00:00Z", "user": {"name": "bob"}}),
            (month, "a-1", {"@timestamp": "2026-11-26T10:05:00Z", "alert": {"id": "a-1", "suppressed_count": 0},
                            "rule": {"kind": "anomaly"}, "user": {"name": "alice"},
                            "parasol": {"alert": {"suppressed": 0, "revision": 0},
                                        "anomaly": {"score": 1, "entity": {"id": "user:alice"}}}}),
            (s.index("entities"), "user:alice",
             {"@timestamp": "2026-11-26T10:05:00.000Z", "entity": {"id": "user:alice", "kind": "user"},
              "user": {"name": "alice"}, "risk": {"score": 12, "level": "low"}, "last_score": 0,
              "anomalies": 0, "first_seen": "2026-11-01T00:00:00.000Z",
              "last_seen": "2026-11-26T10:05:00.000Z"}),
        ]:  # fmt: skip
            es.index(index=index, id=doc_id, document=doc, refresh=True)

        # Mappings the dashboards rely on, even where the first value would have misled a
        # dynamic mapping (an integer 0 for a double, a date string for a keyword).
        audit = es.indices.get_mapping(index=day1)[day1]["mappings"]["properties"]
        assert _field(audit, "parasol.sqli")["type"] == "keyword"
        assert _field(audit, "parasol.sensitive.level")["type"] == "keyword"
        alerts = es.indices.get_mapping(index=month)[month]["mappings"]["properties"]
        assert _field(alerts, "parasol.alert.suppressed")["type"] == "long"
        assert _field(alerts, "parasol.anomaly.score")["type"] == "double"
        assert _field(alerts, "alert.suppressed_count")["type"] == "long"
        entities = es.indices.get_mapping(index=s.index("entities"))[s.index("entities")]
        props = entities["mappings"]["properties"]
        assert _field(props, "last_score")["type"] == "double"
        assert _field(props, "first_seen")["type"] == "date"
        assert _field(props, "risk.level")["type"] == "keyword"
        assert _field(props, "entity.kind")["type"] == "keyword"

        # The alias covers every day of the family and reads like the pattern (no double count
        # where a pattern matches both the alias and its indices).
        alias = s.index("audit")
        assert set(es.indices.get_alias(name=alias)) == {day1, day2}
        assert es.count(index=alias)["count"] == 2
        assert es.count(index=s.index_pattern("audit"))["count"] == 2
        hits = es.search(index=alias, query={"term": {"user.name": "bob"}})["hits"]["hits"]
        assert [h["_index"] for h in hits] == [day2]
        assert set(es.indices.get_alias(name=s.index("alerts"))) == {month}
        # The single-index families have no alias: their index already has the stable name.
        assert es.indices.get_alias(index=s.index("entities"))[s.index("entities")]["aliases"] == {}

        # The alias is for reading: over several indices it has no write index.
        with pytest.raises(BadRequestError):
            es.index(index=alias, document={"@timestamp": "2026-11-27T11:00:00Z"})
    finally:
        es.close()


def test_documented_upgrade_path_reindex_and_alias_switch(stack):
    """README: a changed template reaches an existing index by ``_reindex`` into a new name,
    then an atomic alias switch that gives the new index the old name."""
    s = scoped(stack, "reindex")
    es = Elasticsearch(**s.es_client_kwargs())
    try:
        ensure_templates_sync(es, s.index_prefix)
        old = s.index("audit", "2026.11.26")
        new = f"{old}-v2"
        es.index(
            index=old,
            id="e-1",
            document={"@timestamp": "2026-11-26T10:00:00Z", "user": {"name": "alice"}},
            refresh=True,
        )
        es_get(s, "/_reindex", {"source": {"index": old}, "dest": {"index": new}})
        es_get(
            s,
            "/_aliases",
            {"actions": [{"remove_index": {"index": old}}, {"add": {"index": new, "alias": old}}]},
        )
        es.indices.refresh(index=new)

        # The new index got the template (mappings and the family alias) ...
        assert (
            es.indices.get_mapping(index=new)[new]["mappings"]["properties"]["user"]["properties"][
                "name"
            ]["type"]
            == "keyword"
        )
        assert set(es.indices.get_alias(index=new)[new]["aliases"]) == {s.index("audit"), old}
        # ... the old name now writes into it (late events of that day), and nothing is counted twice.
        es.index(
            index=old,
            id="e-2",
            document={"@timestamp": "2026-11-26T23:59:00Z", "user": {"name": "bob"}},
            refresh=True,
        )
        assert es.count(index=new)["count"] == 2
        assert es.count(index=s.index_pattern("audit"))["count"] == 2
        assert es.count(index=s.index("audit"))["count"] == 2
    finally:
        es.close()
