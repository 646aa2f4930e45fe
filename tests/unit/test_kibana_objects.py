"""Kibana saved objects (docker/kibana/*.ndjson) are well-formed and query only mapped fields.

There is no Kibana here: this checks the files statically. Every field a Lens visualisation, a
saved search or a dashboard control uses must be mapped explicitly in the index template of the
data view it queries (connectors/sinks/templates/*.json), with an aggregatable type wherever it
is aggregated or sorted on: a dynamic mapping decides a field's type by its first value, and a
dashboard built on that breaks on the next index.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from connectors.sinks.templates import FAMILIES, load_template

ROOT = Path(__file__).resolve().parents[2]
KIBANA = ROOT / "docker" / "kibana"
PREFIX = "parasol-"
PATTERNS = {f"{PREFIX}{f}*": f for f in FAMILIES}
RECORDS = "___records___"  # Lens' pseudo-field of "count of records"

AGGREGATABLE = {
    "keyword", "constant_keyword", "long", "integer", "short", "byte", "double", "float",
    "half_float", "scaled_float", "unsigned_long", "date", "date_nanos", "ip", "boolean",
}  # fmt: skip

# Lens operations that read no field, or that only count documents.
NO_FIELD_OPERATIONS = {"count", "formula", "math", "static_value", "filters", "range"}


# --- loading --------------------------------------------------------------------------------------


def _generator():
    spec = importlib.util.spec_from_file_location("kibana_generate", KIBANA / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_files() -> dict[str, list[dict]]:
    """``{file name: objects}`` in import order; every line parsed."""
    out = {}
    for path in sorted(KIBANA.glob("*.ndjson")):
        lines = [ln for ln in path.read_text("utf-8").splitlines() if ln.strip()]
        out[path.name] = [json.loads(ln) for ln in lines]
    return out


@pytest.fixture(scope="module")
def files() -> dict[str, list[dict]]:
    return load_files()


@pytest.fixture(scope="module")
def objects(files) -> list[dict]:
    return [o for objs in files.values() for o in objs]


# --- mappings -------------------------------------------------------------------------------------


def field_mapping(family: str, path: str) -> dict | None:
    """The explicit mapping of a dotted ``path`` in the family's template (multi-fields too)."""
    props = load_template(family)["template"]["mappings"]["properties"]
    parts = path.split(".")
    node: dict | None = None
    for i, part in enumerate(parts):
        if node is not None and part in node.get("fields", {}):  # db.statement.keyword
            node = node["fields"][part]
            if i != len(parts) - 1:
                return None
            break
        if node is not None:
            props = node.get("properties", {})
        if part not in props:
            return None
        node = props[part]
    return node


def mapped_type(family: str, path: str) -> str | None:
    m = field_mapping(family, path)
    if m is None:
        return None
    if m.get("enabled") is False:
        return "disabled"
    return m.get("type", "object")


# --- field uses -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Use:
    obj: str  # "type:id" of the object that uses it
    where: str  # what in it
    family: str
    field: str
    aggregated: bool


_QUOTED = re.compile(r'"(?:\\.|[^"\\])*"')
_KQL_FIELD = re.compile(r"(?<![\w.@*])([A-Za-z_@][\w.@]*)\s*(?::|<=|>=|<|>)")


def kql_fields(query: str) -> set[str]:
    """Field names of a KQL query (``field: value``, ``field >= n``, ``not field:*``).

    >>> sorted(kql_fields('a.b:x and not c:* or d >= 3 and e:"f:g"'))
    ['a.b', 'c', 'd', 'e']
    """
    return set(_KQL_FIELD.findall(_QUOTED.sub('""', query or "")))


def _by_id(objects: list[dict]) -> dict[tuple[str, str], dict]:
    return {(o["type"], o["id"]): o for o in objects}


def _family_of_view(views: dict[str, dict], view_id: str) -> str | None:
    view = views.get(view_id)
    return PATTERNS.get(view["attributes"]["title"]) if view else None


def _ref(obj: dict, name: str) -> str | None:
    return next((r["id"] for r in obj["references"] if r["name"] == name), None)


def field_uses(objects: list[dict]) -> tuple[list[Use], list[str]]:
    """Every field used by Lens visualisations, saved searches and dashboard controls, with the
    family of the data view it is used on; and the problems met on the way (unresolvable data
    views)."""
    views = {o["id"]: o for o in objects if o["type"] == "index-pattern"}
    uses: list[Use] = []
    problems: list[str] = []

    def family(obj: dict, ref_name: str) -> str | None:
        fam = _family_of_view(views, _ref(obj, ref_name) or "")
        if fam is None:
            problems.append(
                f"{obj['type']}:{obj['id']}: reference {ref_name!r} is not a parasol data view"
            )
        return fam

    for obj in objects:
        key = f"{obj['type']}:{obj['id']}"
        attrs = obj["attributes"]
        if obj["type"] == "lens":
            state = attrs["state"]
            layers = state["datasourceStates"]["formBased"]["layers"]
            fams = set()
            for layer_id, layer in layers.items():
                fam = family(obj, f"indexpattern-datasource-layer-{layer_id}")
                if fam is None:
                    continue
                fams.add(fam)
                for col_id, col in layer["columns"].items():
                    where = f"column {col_id}"
                    field = col.get("sourceField")
                    if (
                        field
                        and field != RECORDS
                        and col["operationType"] not in NO_FIELD_OPERATIONS
                    ):
                        uses.append(Use(key, where, fam, field, True))
                    sort_field = (col.get("params") or {}).get("sortField")
                    if sort_field:
                        uses.append(Use(key, f"{where} sortField", fam, sort_field, True))
                    for f in kql_fields((col.get("filter") or {}).get("query", "")):
                        uses.append(Use(key, f"{where} filter", fam, f, False))
            for fam in fams:
                for f in kql_fields(state["query"]["query"]):
                    uses.append(Use(key, "query", fam, f, False))
                for flt in state.get("filters", []):
                    if flt.get("meta", {}).get("key"):
                        uses.append(Use(key, "filter", fam, flt["meta"]["key"], False))
        elif obj["type"] == "search":
            fam = family(obj, "kibanaSavedObjectMeta.searchSourceJSON.index")
            if fam is None:
                continue
            source = json.loads(attrs["kibanaSavedObjectMeta"]["searchSourceJSON"])
            for f in attrs.get("columns", []):
                uses.append(Use(key, "column", fam, f, False))
            for f, _direction in attrs.get("sort", []):
                uses.append(Use(key, "sort", fam, f, True))
            for f in kql_fields(source.get("query", {}).get("query", "")):
                uses.append(Use(key, "query", fam, f, False))
            for flt in source.get("filter", []):
                if flt.get("meta", {}).get("key"):
                    uses.append(Use(key, "filter", fam, flt["meta"]["key"], False))
        elif obj["type"] == "dashboard":
            controls = json.loads((attrs.get("controlGroupInput") or {}).get("panelsJSON") or "{}")
            panel_families = dashboard_families(obj, objects)
            for cid, control in controls.items():
                field = control["explicitInput"]["fieldName"]
                fam = family(obj, f"controlGroup_{cid}:optionsListDataView")
                if fam is not None:
                    uses.append(Use(key, f"control {cid}", fam, field, True))
                # A control's selection filters every panel of the dashboard.
                for pf in sorted(panel_families):
                    uses.append(Use(key, f"control {cid} filtering a panel", pf, field, False))
            source = json.loads(attrs["kibanaSavedObjectMeta"]["searchSourceJSON"])
            for f in kql_fields(source.get("query", {}).get("query", "")):
                for pf in sorted(panel_families):
                    uses.append(Use(key, "query", pf, f, False))
    return uses, problems


def dashboard_families(board: dict, objects: list[dict]) -> set[str]:
    """Families of the data views the dashboard's panels query."""
    index = _by_id(objects)
    views = {o["id"]: o for o in objects if o["type"] == "index-pattern"}
    out = set()
    for panel in json.loads(board["attributes"]["panelsJSON"]):
        ref = next(
            r
            for r in board["references"]
            if r["name"] == f"{panel['panelIndex']}:{panel['panelRefName']}"
        )
        target = index.get((ref["type"], ref["id"]))
        for r in (target or {}).get("references", []):
            if r["type"] == "index-pattern":
                fam = _family_of_view(views, r["id"])
                if fam:
                    out.add(fam)
    return out


def offenders(objects: list[dict]) -> list[str]:
    """Every field use that the templates do not back, one line each."""
    uses, problems = field_uses(objects)
    out = list(problems)
    for u in uses:
        t = mapped_type(u.family, u.field)
        if t is None:
            out.append(f"{u.obj} {u.where}: {u.field!r} is not mapped in the {u.family} template")
        elif t in ("object", "disabled"):
            out.append(
                f"{u.obj} {u.where}: {u.field!r} is an {t} in the {u.family} template, not a field"
            )
        elif u.aggregated and t not in AGGREGATABLE:
            out.append(
                f"{u.obj} {u.where}: {u.field!r} is {t} in the {u.family} template: not aggregatable"
            )
    return out


# --- shape ----------------------------------------------------------------------------------------


def test_every_line_parses_and_is_a_saved_object(files):
    assert files, "no docker/kibana/*.ndjson"
    problems = []
    for name, objs in files.items():
        assert objs, f"{name} is empty"
        for n, obj in enumerate(objs, 1):
            where = f"{name}:{n}"
            for key in ("id", "type", "attributes", "references"):
                if key not in obj:
                    problems.append(f"{where}: no {key}")
            if not isinstance(obj.get("attributes"), dict) or not obj["attributes"].get("title"):
                problems.append(f"{where}: attributes without a title")
            if obj.get("type") not in {"index-pattern", "lens", "search", "dashboard"}:
                problems.append(f"{where}: unexpected type {obj.get('type')!r}")
            if "typeMigrationVersion" not in obj or obj.get("coreMigrationVersion") != "8.8.0":
                problems.append(
                    f"{where}: migration versions missing (Kibana would re-run old migrations)"
                )
    assert not problems, "\n".join(problems)


def test_ids_are_unique_and_stable(objects):
    keys = [(o["type"], o["id"]) for o in objects]
    assert len(keys) == len(set(keys)), [k for k in keys if keys.count(k) > 1]
    assert all(o["id"].startswith("parasol-") for o in objects)


def test_every_reference_resolves_in_import_order(files):
    """References point at objects in the same file or an earlier one (compose imports the files
    one by one in name order, and Kibana rejects an object whose reference is missing)."""
    seen: set[tuple[str, str]] = set()
    problems = []
    for name, objs in files.items():
        seen |= {(o["type"], o["id"]) for o in objs}
        for obj in objs:
            for ref in obj["references"]:
                if (ref["type"], ref["id"]) not in seen:
                    problems.append(
                        f"{name} {obj['type']}:{obj['id']} -> {ref['type']}:{ref['id']} ({ref['name']})"
                    )
    assert not problems, "\n".join(problems)


def test_data_views_are_the_four_families(objects):
    views = [o for o in objects if o["type"] == "index-pattern"]
    assert sorted(v["attributes"]["title"] for v in views) == sorted(PATTERNS)
    for v in views:
        family = PATTERNS[v["attributes"]["title"]]
        assert v["id"] == f"parasol-{family}"
        assert v["attributes"]["timeFieldName"] == "@timestamp"
        assert mapped_type(family, "@timestamp") == "date"


def test_lens_layers_and_saved_searches_reference_a_data_view(objects):
    problems = []
    for obj in objects:
        refs = {r["name"]: r for r in obj["references"]}
        if obj["type"] == "lens":
            layers = obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
            assert layers, obj["id"]
            for layer_id, layer in layers.items():
                ref = refs.get(f"indexpattern-datasource-layer-{layer_id}")
                if not ref or ref["type"] != "index-pattern":
                    problems.append(f"lens {obj['id']}: layer {layer_id} has no data view")
                if set(layer["columnOrder"]) != set(layer["columns"]):
                    problems.append(f"lens {obj['id']}: columnOrder does not match columns")
        if obj["type"] == "search":
            ref = refs.get("kibanaSavedObjectMeta.searchSourceJSON.index")
            if not ref or ref["type"] != "index-pattern":
                problems.append(f"search {obj['id']}: no data view")
            source = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
            assert source["indexRefName"] == "kibanaSavedObjectMeta.searchSourceJSON.index"
    assert not problems, "\n".join(problems)


def test_dashboard_panels_match_their_references(objects):
    index = _by_id(objects)
    for board in (o for o in objects if o["type"] == "dashboard"):
        panels = json.loads(board["attributes"]["panelsJSON"])
        assert panels, board["id"]
        refs = {r["name"]: r for r in board["references"]}
        for panel in panels:
            ref = refs[f"{panel['panelIndex']}:{panel['panelRefName']}"]
            target = index[(ref["type"], ref["id"])]
            assert panel["type"] == target["type"]
            assert any(r["type"] == "index-pattern" for r in target["references"]), target["id"]
            grid = panel["gridData"]
            assert (
                grid["i"] == panel["panelIndex"] and 0 <= grid["x"] and grid["x"] + grid["w"] <= 48
            )


def test_the_ndjson_files_are_the_generators_output(files):
    generate = _generator()
    expected = generate.files()
    assert list(files) == list(expected), "run: python docker/kibana/generate.py"
    for name, objs in expected.items():
        assert (KIBANA / name).read_text("utf-8") == generate.render(objs), (
            f"{name} differs from docker/kibana/generate.py's output: edit the generator and run it"
        )


def test_generator_prefix_changes_only_the_data_view_titles(tmp_path):
    generate = _generator()
    other = generate.files("acme-")
    views = other["00-data-views.ndjson"]
    assert sorted(v["attributes"]["title"] for v in views) == sorted(f"acme-{f}*" for f in FAMILIES)
    assert [o["id"] for objs in other.values() for o in objs] == [
        o["id"] for objs in generate.files().values() for o in objs
    ]


# --- content: what the brief's dashboards must show ----------------------------------------------

REQUIRED = {
    "parasol-dashboard-data-access-overview": {
        ("audit", "event.outcome"), ("audit", "user.name"), ("audit", "parasol.tables"),
        ("audit", "parasol.sensitive.level"), ("audit", "event.dataset"),
    },
    "parasol-dashboard-alerts-triage": {
        ("alerts", "risk.severity"), ("alerts", "rule.name"), ("alerts", "user.name"),
        ("alerts", "parasol.alert.suppressed"), ("alerts", "parasol.alert.status"),
    },
    "parasol-dashboard-entity-investigation": {
        ("audit", "user.name"), ("audit", "@timestamp"), ("audit", "parasol.tables"),
        ("audit", "parasol.sensitive.columns"), ("audit", "source.ip"), ("audit", "service.name"),
        ("alerts", "explanation"), ("alerts", "rule.kind"), ("alerts", "parasol.anomaly.score"),
        ("entities", "risk.score"), ("entities", "risk.level"),
    },
    "parasol-dashboard-sensitive-data-map": {
        ("assets", "classification.category"), ("assets", "classification.level"),
        ("assets", "asset.readers"),
    },
}  # fmt: skip

PIVOTS = {
    "parasol-search-failed-logins": ("audit", {"event.action", "event.outcome"}),
    "parasol-search-sqli": ("audit", {"parasol.sqli"}),
    "parasol-search-ddl-dcl": ("audit", {"parasol.sql.operation"}),
    "parasol-search-sensitive-reads": ("audit", {"parasol.sensitive.level"}),
    "parasol-search-open-critical-alerts": ("alerts", {"risk.severity", "parasol.alert.status"}),
    "parasol-search-open-high-alerts": ("alerts", {"risk.severity", "parasol.alert.status"}),
}


def _uses_of_dashboard(board: dict, objects: list[dict]) -> set[tuple[str, str]]:
    index = _by_id(objects)
    members = [board] + [
        index[(r["type"], r["id"])] for r in board["references"] if r["type"] in ("lens", "search")
    ]
    uses, _ = field_uses(members + [o for o in objects if o["type"] == "index-pattern"])
    return {(u.family, u.field) for u in uses if "filtering a panel" not in u.where}


@pytest.mark.parametrize("board_id", sorted(REQUIRED))
def test_dashboards_show_what_they_promise(objects, board_id):
    board = _by_id(objects)[("dashboard", board_id)]
    missing = REQUIRED[board_id] - _uses_of_dashboard(board, objects)
    assert not missing, f"{board_id} does not use {sorted(missing)}"


def test_entity_investigation_is_driven_by_a_user_name_control(objects):
    board = _by_id(objects)[("dashboard", "parasol-dashboard-entity-investigation")]
    controls = json.loads(board["attributes"]["controlGroupInput"]["panelsJSON"])
    assert [c["explicitInput"]["fieldName"] for c in controls.values()] == ["user.name"]
    assert all(c["type"] == "optionsListControl" for c in controls.values())
    # The selection filters every panel, whatever its data view: user.name must exist in each.
    assert dashboard_families(board, objects) == {"audit", "alerts", "entities"}


@pytest.mark.parametrize("search_id", sorted(PIVOTS))
def test_pivot_searches(objects, search_id):
    family, fields = PIVOTS[search_id]
    obj = _by_id(objects)[("search", search_id)]
    source = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    assert (
        _family_of_view(
            {o["id"]: o for o in objects if o["type"] == "index-pattern"},
            obj["references"][0]["id"],
        )
        == family
    )
    assert fields <= kql_fields(source["query"]["query"])


# --- the cross-check: every field used is mapped ---------------------------------------------------


def test_every_field_used_is_mapped_in_its_data_views_template(objects):
    uses, _ = field_uses(objects)
    assert len(uses) > 50  # the walk found the fields (a broken walk would pass vacuously)
    found = offenders(objects)
    assert not found, f"{len(found)} field(s) not backed by the index templates:\n" + "\n".join(
        found
    )


def _first(objects: list[dict], obj_type: str, pred=lambda o: True) -> dict:
    return next(o for o in objects if o["type"] == obj_type and pred(o))


def test_the_cross_check_catches_a_misspelt_lens_field(objects):
    broken = copy.deepcopy(objects)
    lens = _first(broken, "lens", lambda o: o["id"] == "parasol-lens-top-users")
    lens["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]["layer1"]["columns"][
        "values"
    ]["sourceField"] = "user.nmae"
    found = offenders(broken)
    assert len(found) == 1 and "'user.nmae' is not mapped in the audit template" in found[0], found


def test_the_cross_check_catches_fields_of_the_wrong_family_and_type(objects):
    broken = copy.deepcopy(objects)
    # A saved search on alerts with an audit-only column and a query on an unmapped field.
    search = _first(broken, "search", lambda o: o["id"] == "parasol-search-open-critical-alerts")
    search["attributes"]["columns"].append("parasol.tables")
    source = json.loads(search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    source["query"]["query"] += " and parasol.alert.stauts:closed"
    search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"] = json.dumps(source)
    # A terms bucket on a text field; a control on a field no template maps.
    lens = _first(broken, "lens", lambda o: o["id"] == "parasol-lens-alerts-by-rule")
    lens["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]["layer1"]["columns"][
        "values"
    ]["sourceField"] = "explanation"
    board = _first(broken, "dashboard", lambda o: "controlGroupInput" in o["attributes"])
    group = json.loads(board["attributes"]["controlGroupInput"]["panelsJSON"])
    next(iter(group.values()))["explicitInput"]["fieldName"] = "user.id"
    board["attributes"]["controlGroupInput"]["panelsJSON"] = json.dumps(group)

    found = "\n".join(offenders(broken))
    assert "'parasol.tables' is not mapped in the alerts template" in found
    assert "'parasol.alert.stauts' is not mapped in the alerts template" in found
    assert "'explanation' is text in the alerts template: not aggregatable" in found
    assert "control parasol-control-user: 'user.id' is not mapped in the audit template" in found
    assert "filtering a panel: 'user.id' is not mapped in the entities template" in found


def test_the_cross_check_catches_a_data_view_outside_the_four_families(objects):
    broken = copy.deepcopy(objects)
    view = _first(broken, "index-pattern", lambda o: o["id"] == "parasol-assets")
    view["attributes"]["title"] = "logs-*"
    assert any("not a parasol data view" in line for line in offenders(broken))


def test_field_mapping_walks_objects_and_multi_fields():
    assert mapped_type("audit", "db.statement") == "text"
    assert mapped_type("audit", "db.statement.keyword") == "keyword"
    assert mapped_type("audit", "db.result_sample") == "disabled"
    assert mapped_type("audit", "parasol") == "object"
    assert mapped_type("audit", "parasol.nope") is None
    assert mapped_type("alerts", "parasol.alert.suppressed") == "long"
