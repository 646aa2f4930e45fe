"""A scored anomalous window as a contract "Risk alert" (CONTRACT.md).

* ``@timestamp`` = window end (event time: a replay raises the same alert at the same time);
  ``event.created`` (wall clock) is left to the caller.
* ``alert.id`` = sha256 of (detector id, entity key, window start, window size), 32 hex chars:
  stable across re-delivery and replays.
* ``rule.id`` = ``<detector>-<kind>-<size>`` (e.g. ``ueba-user-3600``), ``rule.kind`` = anomaly.
* ``risk.score`` = round(100 × score). ``risk.severity`` by score: ≥ 0.95 critical, ≥ 0.9 high,
  ≥ 0.8 medium, else low; one step higher (at most critical) when data of level ``general-4``
  or above was read in the window and a volume feature (rows / sensitive values / bytes / ids)
  is among the top contributors.
* ``threat.technique`` from the top contributing feature (:data:`TECHNIQUES`).
"""

from __future__ import annotations

import hashlib
from typing import Any

__all__ = ["SEVERITIES", "TECHNIQUES", "alert_id", "severity", "to_alert"]

SEVERITIES = ("low", "medium", "high", "critical")
_CUTS = ((0.95, "critical"), (0.9, "high"), (0.8, "medium"))
_VOLUME = {"rows_read", "sensitive_read", "bytes_out", "ids_enumerated"}
_HIGH_LEVELS = {"general-4", "important", "core"}

#: ATT&CK technique by the feature that contributed most.
TECHNIQUES: dict[str, tuple[str, str]] = {
    **dict.fromkeys(("rows_read", "sensitive_read", "tables", "columns", "new_tables",
                     "new_columns", "events", "new_statements"),
                    ("T1213", "Data from Information Repositories")),
    **dict.fromkeys(("bytes_out", "ids_enumerated", "new_routes", "http_4xx_ratio"),
                    ("T1530", "Data from Cloud Storage")),
    **dict.fromkeys(("new_ips", "new_apps", "hour_rarity", "idle_days"),
                    ("T1078", "Valid Accounts")),
    **dict.fromkeys(("failures", "error_rate"), ("T1110", "Brute Force")),
    "ddl_dcl": ("T1098", "Account Manipulation"),
}


def alert_id(detector_id: str, entity_key: str, start: str, size_s: int) -> str:
    return hashlib.sha256(f"{detector_id}|{entity_key}|{start}|{size_s}".encode()).hexdigest()[:32]


def severity(score: float, bump: bool = False) -> str:
    level = next((s for cut, s in _CUTS if score >= cut), "low")
    if bump:
        level = SEVERITIES[min(SEVERITIES.index(level) + 1, len(SEVERITIES) - 1)]
    return level


def to_alert(sw: Any, detector_id: str = "ueba") -> dict:
    """Contract alert dict for a :class:`~detectors.baseline.detector.ScoredWindow`."""
    w = sw.window
    ctx = w.context
    features = sw.features
    top = features[0]["feature"] if features else None
    bump = (w.details.get("max_level") in _HIGH_LEVELS
            and any(c["feature"] in _VOLUME for c in features[:3]))
    tech = TECHNIQUES.get(top, ("T1078", "Valid Accounts"))
    start, end = w.start, w.end
    size_name = f"{w.size // 3600} h" if w.size % 3600 == 0 else f"{w.size} s"
    return {
        "@timestamp": end,
        "event": {"start": start, "end": end, "kind": "alert"},
        "alert": {"id": alert_id(detector_id, w.key, start, w.size)},
        "rule": {"id": f"{detector_id}-{w.kind}-{w.size}",
                 "name": f"Unusual behaviour of {w.kind.replace('_', ' ')} ({size_name} window)",
                 "kind": "anomaly"},
        "risk": {"score": round(100 * sw.score), "severity": severity(sw.score, bump)},
        "user": {"name": ctx.get("user.name"), "roles": ctx.get("user.roles") or []},
        "source": {"ip": ctx.get("source.ip")},
        "service": {"name": ctx.get("service.name")},
        "db": {"instance": ctx.get("db.instance"), "name": ctx.get("db.name")},
        "related": {"event_ids": list(w.evidence)},
        "threat": {"technique": {"id": tech[0], "name": tech[1]}},
        "explanation": f"{w.key}: {sw.explanation}",
        "parasol": {"anomaly": {
            "score": round(sw.score, 4), "online_score": round(sw.online, 4),
            "batch_score": None if sw.batch is None else round(sw.batch, 4),
            "basis": sw.basis, "features": features,
            "entity": {"id": w.key, "kind": w.kind},
            "window": {"size_s": w.size, "start": start, "end": end,
                       "features": {k: None if v is None else round(v, 4) for k, v in w.features.items()}},
        }},
    }
