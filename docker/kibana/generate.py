"""Write parasol's Kibana saved objects (Kibana 8.15 NDJSON) into this directory.

The ``*.ndjson`` files next to this script are its output and are committed; edit this script and
re-run it rather than the files (``tests/unit/test_kibana_objects.py`` checks they agree):

    python docker/kibana/generate.py                       # rewrite docker/kibana/*.ndjson
    python docker/kibana/generate.py --prefix acme- --out /tmp/kibana   # for PARASOL_INDEX_PREFIX=acme-

Files are imported in name order (``kibana-setup`` in docker/compose.yml does it): data views
first, then the saved searches, then one file per dashboard with its Lens visualisations. Every
object has a stable id, so a re-import with ``overwrite=true`` updates in place.

Only the standard library: this runs anywhere Python 3.9+ does.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: Versions of the saved-object types as Kibana 8.15 exports them; Kibana migrates anything older
#: on import and refuses anything newer, so these are the safe floor for our format.
CORE_MIGRATION_VERSION = "8.8.0"
TYPE_MIGRATION_VERSION = {
    "index-pattern": "8.0.0",
    "lens": "8.9.0",
    "search": "8.0.0",
    "dashboard": "8.9.0",
}

FAMILIES = ("audit", "alerts", "assets", "entities")
LAYER = "layer1"

# GB/T 43697 grades at or above general-3 (detectors/sensitive/taxonomy.py GB_LEVELS).
LEVEL_3_PLUS = "(general-3 or general-4 or important or core)"
OPEN = "not parasol.alert.status:*"  # streams/alerts_cli.py: an open alert has no status yet


def data_view_id(family: str) -> str:
    return f"parasol-{family}"


def _object(obj_type: str, obj_id: str, attributes: dict, references: list[dict]) -> dict:
    return {
        "id": obj_id,
        "type": obj_type,
        "attributes": attributes,
        "references": references,
        "managed": False,
        "coreMigrationVersion": CORE_MIGRATION_VERSION,
        "typeMigrationVersion": TYPE_MIGRATION_VERSION[obj_type],
    }


def data_view(family: str, prefix: str) -> dict:
    return _object(
        "index-pattern",
        data_view_id(family),
        {
            "title": f"{prefix}{family}*",
            "name": f"parasol {family}",
            "timeFieldName": "@timestamp",
            "allowNoIndex": True,
            "fields": "[]",
            "fieldAttrs": "{}",
            "fieldFormatMap": "{}",
            "runtimeFieldMap": "{}",
            "sourceFilters": "[]",
            "typeMeta": "{}",
        },
        [],
    )


# --- Lens columns (form-based datasource) -----------------------------------------------------


def count(label: str = "Count of records") -> dict:
    return {
        "label": label, "dataType": "number", "operationType": "count", "isBucketed": False,
        "scale": "ratio", "sourceField": "___records___", "params": {"emptyAsNull": True},
    }  # fmt: skip


def date_histogram(field: str = "@timestamp") -> dict:
    return {
        "label": field, "dataType": "date", "operationType": "date_histogram", "sourceField": field,
        "isBucketed": True, "scale": "interval",
        "params": {"interval": "auto", "includeEmptyRows": True, "dropPartials": False},
    }  # fmt: skip


def terms(
    field: str,
    order_by: str,
    size: int = 10,
    *,
    data_type: str = "string",
    label: str | None = None,
    missing: bool = False,
    other: bool = True,
) -> dict:
    return {
        "label": label or f"Top {size} values of {field}", "dataType": data_type,
        "operationType": "terms", "scale": "ordinal", "sourceField": field, "isBucketed": True,
        "customLabel": label is not None,
        "params": {
            "size": size, "orderBy": {"type": "column", "columnId": order_by},
            "orderDirection": "desc", "otherBucket": other, "missingBucket": missing,
            "parentFormat": {"id": "terms"},
        },
    }  # fmt: skip


def metric(operation: str, field: str, label: str) -> dict:
    """``sum``, ``max``, ``min``, ``average`` of a numeric field."""
    return {
        "label": label, "customLabel": True, "dataType": "number", "operationType": operation,
        "sourceField": field, "isBucketed": False, "scale": "ratio", "params": {"emptyAsNull": True},
    }  # fmt: skip


def last_value(field: str, label: str, data_type: str = "number") -> dict:
    return {
        "label": label, "customLabel": True, "dataType": data_type, "operationType": "last_value",
        "sourceField": field, "isBucketed": False,
        "scale": "ratio" if data_type == "number" else "ordinal",
        "filter": {"query": f"{field}: *", "language": "kuery"},
        "params": {"sortField": "@timestamp", "showArrayValues": False},
    }  # fmt: skip


# --- Lens visualisation states ------------------------------------------------------------------


def xy(x: str, accessors: list[str], split: str | None = None, series: str = "bar_stacked") -> dict:
    layer = {
        "layerId": LAYER, "layerType": "data", "seriesType": series, "xAccessor": x,
        "accessors": accessors, "position": "top", "showGridlines": False,
    }  # fmt: skip
    if split:
        layer["splitAccessor"] = split
    return {
        "legend": {"isVisible": True, "position": "right"},
        "valueLabels": "hide",
        "fittingFunction": "None",
        "preferredSeriesType": series,
        "axisTitlesVisibilitySettings": {"x": False, "yLeft": True, "yRight": True},
        "layers": [layer],
    }


def pie(groups: list[str], metric_column: str, shape: str = "donut") -> dict:
    return {
        "shape": shape,
        "layers": [{
            "layerId": LAYER, "layerType": "data", "primaryGroups": groups,
            "metrics": [metric_column], "numberDisplay": "percent", "categoryDisplay": "default",
            "legendDisplay": "default", "nestedLegend": False,
        }],
    }  # fmt: skip


def table(columns: list[str]) -> dict:
    return {"layerId": LAYER, "layerType": "data", "columns": [{"columnId": c} for c in columns]}


def big_number(column: str) -> dict:
    return {"layerId": LAYER, "layerType": "data", "metricAccessor": column}


def lens(
    obj_id: str,
    title: str,
    family: str,
    vis_type: str,
    columns: dict,
    visualization: dict,
    query: str = "",
    description: str = "",
) -> dict:
    """A by-reference Lens visualisation with one layer on the family's data view.

    ``columns`` in Lens order: bucket columns first (outermost first), then metrics.
    """
    state = {
        "visualization": visualization,
        "query": {"query": query, "language": "kuery"},
        "filters": [],
        "datasourceStates": {
            "formBased": {
                "layers": {
                    LAYER: {
                        "columns": columns,
                        "columnOrder": list(columns),
                        "incompleteColumns": {},
                        "sampling": 1,
                    }
                }
            },
            "textBased": {"layers": {}},
        },
        "internalReferences": [],
        "adHocDataViews": {},
    }
    return _object(
        "lens",
        obj_id,
        {"title": title, "description": description, "visualizationType": vis_type, "state": state},
        [{"type": "index-pattern", "id": data_view_id(family),
          "name": f"indexpattern-datasource-layer-{LAYER}"}],
    )  # fmt: skip


def top(
    obj_id: str,
    title: str,
    family: str,
    field: str,
    size: int = 10,
    query: str = "",
    data_type: str = "string",
) -> dict:
    """Horizontal bars: the ``size`` most frequent values of ``field``."""
    return lens(
        obj_id, title, family, "lnsXY",
        {"values": terms(field, "count", size, data_type=data_type), "count": count()},
        xy("values", ["count"], series="bar_horizontal"), query=query,
    )  # fmt: skip


def donut(
    obj_id: str,
    title: str,
    family: str,
    field: str,
    size: int = 10,
    query: str = "",
    missing: bool = False,
) -> dict:
    return lens(
        obj_id, title, family, "lnsPie",
        {"values": terms(field, "count", size, missing=missing), "count": count()},
        pie(["values"], "count"), query=query,
    )  # fmt: skip


def over_time(
    obj_id: str, title: str, family: str, split_field: str | None, query: str = ""
) -> dict:
    columns = {}
    if split_field:
        columns["split"] = terms(split_field, "count", 5)
    columns |= {"date": date_histogram(), "count": count()}
    return lens(
        obj_id,
        title,
        family,
        "lnsXY",
        columns,
        xy("date", ["count"], "split" if split_field else None),
        query=query,
    )


# --- saved searches -----------------------------------------------------------------------------


def search(
    obj_id: str, title: str, family: str, query: str, columns: list[str], description: str = ""
) -> dict:
    source = {
        "query": {"query": query, "language": "kuery"},
        "filter": [],
        "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
    }
    return _object(
        "search",
        obj_id,
        {
            "title": title,
            "description": description,
            "columns": columns,
            "sort": [["@timestamp", "desc"]],
            "grid": {},
            "hideChart": False,
            "isTextBasedQuery": False,
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(source)},
        },
        [{"name": "kibanaSavedObjectMeta.searchSourceJSON.index", "type": "index-pattern",
          "id": data_view_id(family)}],
    )  # fmt: skip


# --- dashboards ---------------------------------------------------------------------------------


def dashboard(
    obj_id: str,
    title: str,
    description: str,
    panels: list[tuple[dict, int, int, int, int]],
    controls: list[tuple[str, str, str]] = (),
    time_from: str | None = None,
) -> dict:
    """``panels``: (object, x, y, w, h) on the 48-column grid; ``controls``: options lists as
    (control id, family of the data view, field)."""
    panel_json, references = [], []
    for n, (obj, x, y, w, h) in enumerate(panels, 1):
        pid = f"p{n}"
        panel_json.append({
            "type": obj["type"], "panelIndex": pid,
            "gridData": {"x": x, "y": y, "w": w, "h": h, "i": pid},
            "embeddableConfig": {"enhancements": {}}, "panelRefName": f"panel_{pid}",
        })  # fmt: skip
        references.append({"name": f"{pid}:panel_{pid}", "type": obj["type"], "id": obj["id"]})
    attributes = {
        "title": title,
        "description": description,
        "panelsJSON": json.dumps(panel_json),
        "optionsJSON": json.dumps({"useMargins": True, "syncColors": False, "syncCursor": True,
                                   "syncTooltips": False, "hidePanelTitles": False}),
        "version": 1,
        "timeRestore": time_from is not None,
        "kibanaSavedObjectMeta": {
            "searchSourceJSON": json.dumps({"query": {"query": "", "language": "kuery"}, "filter": []})
        },
    }  # fmt: skip
    if time_from is not None:
        attributes |= {"timeFrom": time_from, "timeTo": "now"}
    if controls:
        group = {}
        for order, (cid, family, field) in enumerate(controls):
            group[cid] = {
                "order": order, "width": "medium", "grow": True, "type": "optionsListControl",
                "explicitInput": {"id": cid, "fieldName": field, "title": field,
                                  "selectedOptions": [], "singleSelect": True, "enhancements": {}},
            }  # fmt: skip
            references.append(
                {
                    "name": f"controlGroup_{cid}:optionsListDataView",
                    "type": "index-pattern",
                    "id": data_view_id(family),
                }
            )
        attributes["controlGroupInput"] = {
            "controlStyle": "oneLine",
            "chainingSystem": "HIERARCHICAL",
            "showApplySelections": False,
            "ignoreParentSettingsJSON": json.dumps({"ignoreFilters": False, "ignoreQuery": False,
                                                    "ignoreTimerange": False, "ignoreValidations": False}),
            "panelsJSON": json.dumps(group),
        }  # fmt: skip
    return _object("dashboard", obj_id, attributes, references)


# --- the content --------------------------------------------------------------------------------


def pivots() -> list[dict]:
    """Saved searches for the common pivots (Discover → Open)."""
    return [
        search("parasol-search-failed-logins", "parasol: failed logins", "audit",
               "event.action:login and event.outcome:failure",
               ["user.name", "source.ip", "service.name", "db.instance", "db.error"]),
        search("parasol-search-sqli", "parasol: SQL injection signals", "audit", "parasol.sqli:*",
               ["user.name", "source.ip", "parasol.sqli", "db.instance", "db.statement"]),
        search("parasol-search-ddl-dcl", "parasol: DDL and DCL statements", "audit",
               "parasol.sql.operation:(ddl or dcl)",
               ["user.name", "parasol.sql.command", "db.instance", "db.name", "db.statement"]),
        search("parasol-search-sensitive-reads", "parasol: sensitive reads (level 3 and above)",
               "audit", f"parasol.sensitive.level:{LEVEL_3_PLUS}",
               ["user.name", "parasol.sensitive.level", "parasol.sensitive.categories",
                "parasol.sensitive.columns", "parasol.tables", "db.rows"],
               "GB/T 43697 level general-3, general-4, important or core."),
        search("parasol-search-open-critical-alerts", "parasol: open critical alerts", "alerts",
               f"risk.severity:critical and {OPEN}",
               ["rule.name", "user.name", "risk.score", "explanation"],
               "Open = no verdict yet (parasol alerts ack / close set parasol.alert.status)."),
    ]  # fmt: skip


def data_access_overview() -> list[dict]:
    objs = [
        over_time("parasol-lens-events-by-outcome", "Events over time by outcome", "audit",
                  "event.outcome"),
        top("parasol-lens-top-users", "Top users", "audit", "user.name"),
        top("parasol-lens-top-tables", "Top tables read", "audit", "parasol.tables"),
        donut("parasol-lens-sensitive-reads-by-level", "Sensitive reads by level", "audit",
              "parasol.sensitive.level"),
        donut("parasol-lens-events-by-dataset", "Events by dataset", "audit", "event.dataset"),
        top("parasol-lens-sensitive-categories", "Sensitive categories read", "audit",
            "parasol.sensitive.categories"),
    ]  # fmt: skip
    layout = [
        (0, 0, 48, 12),
        (0, 12, 24, 14),
        (24, 12, 24, 14),
        (0, 26, 16, 14),
        (16, 26, 16, 14),
        (32, 26, 16, 14),
    ]
    board = dashboard(
        "parasol-dashboard-data-access-overview", "parasol: Data access overview",
        "Every DB and API access parasol indexed (parasol-audit*): volume and outcome, who reads "
        "what, and how sensitive it was.",
        [(o, *pos) for o, pos in zip(objs, layout)],
    )  # fmt: skip
    return objs + [board]


def alerts_triage() -> list[dict]:
    open_high = search(
        "parasol-search-open-high-alerts", "parasol: open high and critical alerts", "alerts",
        f"risk.severity:(high or critical) and {OPEN}",
        ["risk.severity", "rule.name", "user.name", "source.ip", "parasol.alert.suppressed",
         "explanation"],
    )  # fmt: skip
    suppressed = lens(
        "parasol-lens-suppressed-by-rule", "Suppressed repeats by rule", "alerts", "lnsXY",
        {"rule": terms("rule.name", "suppressed", 10),
         "suppressed": metric("sum", "parasol.alert.suppressed", "Suppressed repeats")},
        xy("rule", ["suppressed"], series="bar_horizontal"),
    )  # fmt: skip
    objs = [
        over_time("parasol-lens-alerts-over-time", "Alerts over time by severity", "alerts",
                  "risk.severity"),
        donut("parasol-lens-alerts-by-severity", "Alerts by severity", "alerts", "risk.severity"),
        top("parasol-lens-alerts-by-rule", "Alerts by rule", "alerts", "rule.name"),
        top("parasol-lens-alerts-by-user", "Alerts by user", "alerts", "user.name"),
        suppressed,
        donut("parasol-lens-alerts-by-status", "Alert status (missing value = open)", "alerts",
              "parasol.alert.status", missing=True),
        open_high,
    ]  # fmt: skip
    layout = [
        (0, 0, 32, 12),
        (32, 0, 16, 12),
        (0, 12, 16, 14),
        (16, 12, 16, 14),
        (32, 12, 16, 14),
        (0, 26, 12, 14),
        (12, 26, 36, 14),
    ]
    board = dashboard(
        "parasol-dashboard-alerts-triage", "parasol: Alerts triage",
        "Risk alerts (parasol-alerts*). An alert is open until `parasol alerts ack` / `close` "
        "sets parasol.alert.status; suppressed = repeats folded into the alert.",
        [(o, *pos) for o, pos in zip(objs, layout)],
    )  # fmt: skip
    return objs + [board]


def entity_investigation() -> list[dict]:
    sources = lens(
        "parasol-lens-entity-sources", "Sources (address, client)", "audit", "lnsDatatable",
        {"ip": terms("source.ip", "count", 20, data_type="ip"),
         "service": terms("service.name", "count", 10), "count": count("Events")},
        table(["ip", "service", "count"]),
    )  # fmt: skip
    risk_now = lens(
        "parasol-lens-entity-risk-now", "Current risk score", "entities", "lnsMetric",
        {"risk": last_value("risk.score", "Risk score (latest)")}, big_number("risk"),
    )  # fmt: skip
    risk_table = lens(
        "parasol-lens-entity-risk-table", "Entities and risk", "entities", "lnsDatatable",
        {"entity": terms("entity.id", "risk", 20, label="Entity"),
         "risk": metric("max", "risk.score", "Risk score"),
         "level": last_value("risk.level", "Risk level", "string"),
         "last": metric("max", "last_score", "Last anomaly score"),
         "anomalies": metric("max", "anomalies", "Anomalies")},
        table(["entity", "risk", "level", "last", "anomalies"]),
    )  # fmt: skip
    alerts = search(
        "parasol-search-entity-alerts", "parasol: alerts with explanation", "alerts", "",
        ["risk.severity", "rule.name", "risk.score", "parasol.alert.status", "explanation"],
    )  # fmt: skip
    anomalies = search(
        "parasol-search-entity-anomalies", "parasol: anomaly explanations", "alerts",
        "rule.kind:anomaly",
        ["rule.name", "parasol.anomaly.score", "parasol.anomaly.entity.id", "explanation"],
    )  # fmt: skip
    objs = [
        over_time("parasol-lens-entity-timeline", "Activity timeline", "audit", "event.outcome"),
        risk_now,
        top("parasol-lens-entity-tables", "Tables read", "audit", "parasol.tables", 15),
        top("parasol-lens-entity-sensitive-columns", "Sensitive columns read", "audit",
            "parasol.sensitive.columns", 15),
        sources,
        risk_table,
        alerts,
        anomalies,
    ]  # fmt: skip
    layout = [
        (0, 0, 36, 12),
        (36, 0, 12, 12),
        (0, 12, 16, 14),
        (16, 12, 16, 14),
        (32, 12, 16, 14),
        (0, 26, 48, 10),
        (0, 36, 48, 14),
        (0, 50, 48, 14),
    ]
    board = dashboard(
        "parasol-dashboard-entity-investigation", "parasol: Entity investigation",
        "Pick one user in the user.name control (or type user.name : \"alice\" in the query bar): "
        "the control filters every panel - audit events, alerts and the entity's risk.",
        [(o, *pos) for o, pos in zip(objs, layout)],
        controls=[("parasol-control-user", "audit", "user.name")],
    )  # fmt: skip
    return objs + [board]


def sensitive_data_map() -> list[dict]:
    readers = lens(
        "parasol-lens-asset-readers", "Who reads them (columns per reader and level)", "assets",
        "lnsDatatable",
        {"reader": terms("asset.readers", "count", 25, label="Reader"),
         "level": terms("classification.level", "count", 6, label="Level"),
         "count": count("Columns")},
        table(["reader", "level", "count"]),
    )  # fmt: skip
    by_category_level = lens(
        "parasol-lens-assets-category-level", "Sensitive columns by category and level", "assets",
        "lnsXY",
        {"category": terms("classification.category", "count", 15),
         "level": terms("classification.level", "count", 6), "count": count("Columns")},
        xy("category", ["count"], "level", series="bar_horizontal_stacked"),
    )  # fmt: skip
    catalogue = search(
        "parasol-search-sensitive-assets", "parasol: sensitive columns (level 3 and above)",
        "assets", f"classification.level:{LEVEL_3_PLUS}",
        ["db.instance", "db.name", "asset.table", "asset.column", "classification.category",
         "classification.level", "asset.readers", "reads"],
    )  # fmt: skip
    objs = [
        donut("parasol-lens-assets-by-level", "Columns by level", "assets", "classification.level"),
        top("parasol-lens-assets-by-category", "Columns by category", "assets",
            "classification.category", 15),
        by_category_level,
        readers,
        catalogue,
    ]  # fmt: skip
    layout = [(0, 0, 16, 14), (16, 0, 32, 14), (0, 14, 24, 16), (24, 14, 24, 16), (0, 30, 48, 16)]
    board = dashboard(
        "parasol-dashboard-sensitive-data-map", "parasol: Sensitive data map",
        "The discovered data-asset catalogue (parasol-assets*): one document per column, graded "
        "by category and GB/T 43697 level, with the accounts that read it. Time = last seen.",
        [(o, *pos) for o, pos in zip(objs, layout)], time_from="now-1y",
    )  # fmt: skip
    return objs + [board]


def files(prefix: str = "parasol-") -> dict[str, list[dict]]:
    """``{file name: objects}`` in import order."""
    return {
        "00-data-views.ndjson": [data_view(f, prefix) for f in FAMILIES],
        "10-saved-searches.ndjson": pivots(),
        "20-data-access-overview.ndjson": data_access_overview(),
        "30-alerts-triage.ndjson": alerts_triage(),
        "40-entity-investigation.ndjson": entity_investigation(),
        "50-sensitive-data-map.ndjson": sensitive_data_map(),
    }


def render(objects: list[dict]) -> str:
    return "".join(
        json.dumps(o, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
        for o in objects
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prefix", default="parasol-", help="index prefix (PARASOL_INDEX_PREFIX)")
    parser.add_argument("--out", type=Path, default=HERE, help="directory to write (default: here)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, objects in files(args.prefix).items():
        (args.out / name).write_text(render(objects), "utf-8")
        print(f"{args.out / name}: {len(objects)} objects")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
