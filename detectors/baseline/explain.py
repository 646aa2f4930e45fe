"""Explanations a SOC analyst can read: observed value against the entity's and its peers' usual.

The structured form (one dict per contributing feature, largest first) goes into the alert as
``parasol.anomaly.features``; the text joins one phrase per feature:

>>> contrib = [{"feature": "rows_read", "observed": 48210, "median": 40.0, "p95": 298.4,
...             "peer_p95": 512.0, "contribution": 0.99}]
>>> explain_text(contrib, {"max_level": "general-4"}, "own")
'read 48,210 rows of general-4 data; usual ≤ 300 (median 40); peers ≤ 510'
>>> explain_text([{"feature": "hour_rarity", "observed": 1.0, "median": 0, "p95": 0,
...                "peer_p95": None, "contribution": 0.8}],
...              {"first_ts": 1795659240.0, "usual_hours": (8, 19)}, "own")
'at 02:14 UTC (Thu), never active near this hour; usually active 08:00–19:00'

Medians and p95s come from binned histograms (±10%): they are printed to two significant digits.
"""

from __future__ import annotations

from time import gmtime, strftime
from typing import Any

__all__ = ["PHRASES", "explain_text", "fmt_number"]

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def fmt_number(v: float | None, exact: bool = False) -> str:
    """``48,210`` for observed counts; two significant digits for binned estimates."""
    if v is None:
        return "?"
    if not exact and v >= 10:
        digits = len(str(int(v))) - 2
        v = round(v, -digits)
    if float(v).is_integer():
        return f"{int(v):,}"
    if v >= 10:
        return f"{v:,.0f}"
    return f"{v:.2f}".rstrip("0").rstrip(".") if exact else f"{v:.2g}"


def _bytes(v: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if v < 1024 or unit == "GiB":
            return f"{v:,.0f} {unit}" if unit == "B" else f"{v:,.1f} {unit}"
        v /= 1024
    return f"{v:.1f} GiB"


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%"


def _list(items: list[str] | None) -> str:
    return f" ({', '.join(items)})" if items else ""


def _observed(f: str, obs: float, d: dict[str, Any]) -> str:
    novel = d.get("novel") or {}
    n = fmt_number(obs, exact=True)
    if f == "rows_read":
        level = d.get("max_level")
        return f"read {n} rows" + (f" of {level} data" if level else "")
    if f == "sensitive_read":
        return f"read {n} level-weighted sensitive values (highest level {d.get('max_level') or '?'})"
    if f == "events":
        return f"{n} statements/requests"
    if f in ("tables", "columns"):
        return f"touched {n} distinct {f}"
    if f.startswith("new_"):
        what = {"new_tables": ("tables", "tables"), "new_columns": ("columns", "columns"),
                "new_ips": ("source addresses", "ips"), "new_apps": ("applications", "apps"),
                "new_routes": ("API routes", "routes"),
                "new_statements": ("SQL statement shapes", "statements")}[f]
        return f"{n} {what[0]} never used before{_list(novel.get(what[1]))}"
    if f == "hour_rarity":
        ts = d.get("first_ts")
        when = strftime("%H:%M UTC", gmtime(ts)) + f" ({_DAYS[gmtime(ts).tm_wday]})" if ts else "?"
        how = "never active near this hour" if obs >= 0.99 else f"rarely active at this hour (rarity {obs:.2f})"
        return f"at {when}, {how}"
    if f == "failures":
        return f"{n} failed statements/logins"
    if f == "error_rate":
        return f"{_pct(obs)} of events failed"
    if f == "ddl_dcl":
        return f"{n} DDL/DCL statements{_list(d.get('commands'))}"
    if f == "bytes_out":
        return f"sent {_bytes(obs)} in API responses"
    if f == "ids_enumerated":
        route = d.get("top_route")
        return f"requested {n} distinct object ids" + (f" on {route}" if route else "")
    if f == "http_4xx_ratio":
        return f"{_pct(obs)} of API requests got a 4xx"
    if f == "idle_days":
        return f"first activity after {obs:.1f} days idle"
    return f"{f} = {n}"


#: Every feature has a phrase (tested): the keys of this mapping.
PHRASES = ("events", "rows_read", "sensitive_read", "tables", "columns", "new_tables",
           "new_columns", "new_ips", "new_apps", "new_routes", "new_statements", "hour_rarity",
           "failures", "error_rate", "ddl_dcl", "bytes_out", "ids_enumerated", "http_4xx_ratio",
           "idle_days")


def _usual(f: str, c: dict, basis: str) -> str:
    if f in ("error_rate", "http_4xx_ratio"):
        fmt = _pct
    elif f == "bytes_out":
        fmt = _bytes
    else:
        fmt = fmt_number
    parts = []
    if c.get("p95") is not None and basis != "peer":
        usual = f"usual ≤ {fmt(c['p95'])}"
        if c.get("median"):
            usual += f" (median {fmt(c['median'])})"
        parts.append(usual)
    if c.get("peer_p95") is not None:
        parts.append(f"peers ≤ {fmt(c['peer_p95'])}")
    return "; ".join(parts)


def explain_text(contributions: list[dict], details: dict[str, Any], basis: str) -> str:
    """One phrase per contributing feature: what was observed, then the usual and the peers'."""
    phrases = []
    for c in contributions:
        f = c["feature"]
        text = _observed(f, c["observed"], details)
        if f == "hour_rarity":
            hours = details.get("usual_hours")
            if hours:
                text += f"; usually active {hours[0]:02d}:00–{hours[1]:02d}:00"
        else:
            usual = _usual(f, c, basis)
            if usual:
                text += "; " + usual
        phrases.append(text)
    if basis == "peer" and phrases:
        phrases.append("no history of its own yet: judged against its peer group "
                       f"{details.get('peer_group', '')}".rstrip())
    return "; ".join(phrases)
