"""Elasticsearch export: well-formed query DSL for every native and Sigma rule (the lead's
integration test runs these bodies against the embedded store)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from detectors.rules.conditions import parse_condition
from detectors.rules.export import export_es, lucene_regex
from detectors.rules.loader import load_rules

ROOT = Path(__file__).resolve().parents[3]
LEAVES = {"term", "terms", "wildcard", "prefix", "regexp", "range", "exists", "match_all",
          "script"}


def _template_fields(name: str) -> set[str]:
    doc = json.loads((ROOT / "connectors" / "sinks" / "templates" / name).read_text())
    props = doc.get("template", doc).get("mappings", {}).get("properties", {})
    out: set[str] = set()

    def walk(prefix, p):
        for k, v in p.items():
            if "properties" in v:
                walk(f"{prefix}{k}.", v["properties"])
            else:
                out.add(prefix + k)
                out.update(f"{prefix}{k}.{sub}" for sub in v.get("fields", {}))

    walk("", props)
    return out


AUDIT = _template_fields("audit.json")
ALERTS = _template_fields("alerts.json")


def check_query(q, fields: set[str], where="query"):
    """Raise AssertionError unless ``q`` is a query of the shapes parasol emits."""
    assert isinstance(q, dict) and len(q) == 1, f"{where}: one query type per object: {q}"
    (kind, body), = q.items()
    if kind == "bool":
        assert set(body) <= {"filter", "should", "must_not", "must", "minimum_should_match"}
        for k in ("filter", "should", "must_not", "must"):
            for i, sub in enumerate(body.get(k, [])):
                check_query(sub, fields, f"{where}.bool.{k}[{i}]")
        if "should" in body:
            assert body.get("minimum_should_match") == 1, f"{where}: should without msm"
        return
    assert kind in LEAVES, f"{where}: unexpected query type {kind}"
    if kind == "match_all":
        assert body == {}
        return
    if kind == "exists":
        assert set(body) == {"field"}
        field = body["field"]
    elif kind == "script":
        assert set(body) == {"script"} and isinstance(body["script"]["source"], str)
        return
    else:
        assert len(body) == 1, f"{where}: one field per {kind}"
        (field, spec), = body.items()
        if kind == "terms":
            assert isinstance(spec, list) and spec
        elif kind == "range":
            assert set(spec) <= {"gt", "gte", "lt", "lte"} and spec
            assert all(isinstance(v, (int, float)) for v in spec.values())
        else:
            allowed = {"value", "case_insensitive"} | ({"flags"} if kind == "regexp" else set())
            assert set(spec) <= allowed and "value" in spec, f"{where}: {spec}"
            if kind == "regexp":
                # balanced groups and classes: Lucene rejects the rest
                v = re.sub(r"\\.", "", spec["value"])
                assert v.count("(") == v.count(")") and v.count("[") == v.count("]")
    assert field in fields or field.startswith("parasol."), f"{where}: unknown field {field}"


@pytest.fixture(scope="module")
def exported(pack):
    pytest.importorskip("sigma")
    from detectors.rules.sigma import load_sigma
    return export_es(list(pack) + list(load_sigma()))


def test_every_rule_exports_well_formed_dsl(exported, pack):
    assert len(exported) >= len(pack) + 4
    for item in exported:
        json.dumps(item)  # plain JSON
        assert set(item) >= {"rule", "index", "query", "exact", "notes"}
        fields = ALERTS if item["index"] == "parasol-alerts*" else AUDIT
        check_query(item["query"], fields, item["rule"]["name"])


def test_threshold_rules_carry_aggregations(exported):
    thresholds = [x for x in exported if x["rule"]["type"] == "threshold"]
    assert thresholds
    for x in thresholds:
        group = x["aggs"]["entities"]
        assert ("terms" in group) != ("multi_terms" in group)
        hist = group["aggs"]["windows"]["date_histogram"]
        assert hist["field"] == "@timestamp" and hist["fixed_interval"].endswith("s")
        assert x["threshold"]["count"] >= 1 and x["exact"] is False
    spraying = next(x for x in thresholds if "spraying" in x["rule"]["name"].lower()
                    or "many accounts" in x["rule"]["name"])
    assert spraying["aggs"]["entities"]["terms"]["field"] == "source.ip"
    assert "cardinality" in spraying["aggs"]["entities"]["aggs"]["windows"]["aggs"]["distinct"]


def test_match_rules_are_exact_where_the_index_can_say_the_same(exported):
    by = {x["rule"]["name"]: x for x in exported}
    x = by["DELETE or UPDATE without WHERE on a large table"]
    assert x["exact"] is True
    assert x["query"] == {"bool": {"filter": [
        {"terms": {"parasol.sql.command": ["DELETE", "UPDATE"]}},
        {"term": {"parasol.sql.has_where": {"value": False}}},
        {"range": {"db.rows": {"gte": 1000}}}]}}
    assert by["Critical behavioural anomaly score"]["index"] == "parasol-alerts*"
    assert by["Dormant account active again"]["exact"] is False


@pytest.mark.parametrize("spec, dsl", [
    ({"field": "db.statement", "contains": "x*y"},
     {"wildcard": {"db.statement.keyword": {"value": "*x\\*y*"}}}),
    ({"field": "user.name", "equals": "A", "ignore_case": True},
     {"term": {"user.name": {"value": "A", "case_insensitive": True}}}),
    ({"field": "source.ip", "cidr": "10.0.0.0/8"}, {"terms": {"source.ip": ["10.0.0.0/8"]}}),
    ({"field": "db.error", "exists": False},
     {"bool": {"must_not": [{"exists": {"field": "db.error.keyword"}}]}}),
    ({"field": "url.path", "startswith": "/admin"}, {"prefix": {"url.path": {"value": "/admin"}}}),
    ({"field": "parasol.tables", "wildcard": "crm.[*]x?"},
     {"wildcard": {"parasol.tables": {"value": "crm.\\*x?"}}}),
])
def test_leaf_translations(spec, dsl):
    assert parse_condition(spec).to_es() == dsl


@pytest.mark.parametrize("py, lucene, ic", [
    ("^svc_", "(svc_).*", False),
    ("(?i)^(svc|app)[_-]", "((svc|app)[_-]).*", True),
    ("drop\\s+table$", ".*(drop[ \t\r\n]+table)", False),
    ("a@b", ".*(a\\@b).*", False),
])
def test_lucene_regex(py, lucene, ic):
    out, got_ic, _ = lucene_regex(py)
    assert (out, got_ic) == (lucene, ic)


def test_export_of_a_fresh_pack_is_deterministic():
    assert export_es(load_rules()) == export_es(load_rules())
