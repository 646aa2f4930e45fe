"""Risk scores: per alert, and per entity decaying over event time.

**Alert score** = ``rule.risk_score`` + a boost for the most sensitive data the evidence touched
+ a boost for an anomaly score carried by the event, capped to 0–100:

* data level (``parasol.sensitive.level``, GB/T 43697): general-1/2 +0, general-3 +5,
  general-4 +10, important +15, core +20 (:data:`LEVEL_BOOST`);
* anomaly (``parasol.anomaly.score`` 0–100 on the event): +0.2 × score; for ``anomaly`` rules the
  base is ``max(rule.risk_score, score)`` instead.

**Severity** from the score, with Elastic's cut-offs (:data:`CUTOFFS`): < 22 low, < 48 medium,
< 74 high, else critical — never below the severity the rule declares.

**Entity risk** decays with a half-life over event time:
``risk(t) = min(100, Σ score_i · 2^(−(t − t_i) / half_life))``. Exponential decay is memoryless,
so the state is one ``(value, t)`` pair: adding a score at ``t`` decays the value to ``t`` and
adds. An out-of-order score (``t_i < t``) is decayed to ``t`` before it is added. The stored
value is capped at :data:`STORED_CAP` so a storm cannot keep an entity critical for weeks.

:func:`risk_level` maps a score to the masking engine's levels (low < medium < high < critical)
with the same cut-offs.

>>> r = EntityRisk().add(80, 0).add(40, 3600)
>>> round(r.at(3600), 1), round(r.at(3600 + 86400), 1), risk_level(r.at(3600))
(100.0, 58.9, 'critical')
>>> alert_score(60, level="general-4"), severity_of(alert_score(60, level="general-4"))
(70, 'high')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from detectors.rules.model import SEVERITIES, SEVERITY_RANK

__all__ = [
    "ANOMALY_WEIGHT",
    "CUTOFFS",
    "DEFAULT_HALF_LIFE_S",
    "LEVEL_BOOST",
    "STORED_CAP",
    "EntityRisk",
    "alert_score",
    "risk_level",
    "severity_for",
    "severity_of",
]

LEVEL_BOOST = {"general-1": 0, "general-2": 0, "general-3": 5, "general-4": 10, "important": 15,
               "core": 20}
#: Upper bounds (exclusive) of low, medium, high; critical above.
CUTOFFS = (22, 48, 74)
ANOMALY_WEIGHT = 0.2
STORED_CAP = 200.0
DEFAULT_HALF_LIFE_S = 86400.0


def _clamp(x: float) -> int:
    return int(max(0, min(100, round(x))))


def alert_score(risk_score: float, level: str | None = None, anomaly: float | None = None,
                anomaly_rule: bool = False) -> int:
    """The alert's score (see module doc)."""
    base = float(risk_score)
    boost = LEVEL_BOOST.get(level or "", 0)
    if anomaly is not None:
        if anomaly_rule:
            base = max(base, float(anomaly))
        else:
            boost += ANOMALY_WEIGHT * float(anomaly)
    return _clamp(base + boost)


def severity_of(score: float) -> str:
    """Severity for a 0–100 score (Elastic's cut-offs)."""
    for cut, name in zip(CUTOFFS, SEVERITIES):
        if score < cut:
            return name
    return "critical"


def severity_for(score: float, declared: str | None) -> str:
    """The score's severity, never below the rule's declared one."""
    s = severity_of(score)
    if declared in SEVERITY_RANK and SEVERITY_RANK[declared] > SEVERITY_RANK[s]:
        return declared
    return s


def risk_level(score: float | None) -> str:
    """Masking risk level (``low``/``medium``/``high``/``critical``) of an entity risk score."""
    return severity_of(score or 0.0)


@dataclass(frozen=True)
class EntityRisk:
    """Decaying risk of one entity: ``value`` as of event time ``t`` (epoch seconds)."""

    value: float = 0.0
    t: float | None = None
    half_life_s: float = DEFAULT_HALF_LIFE_S

    def at(self, ts: float) -> float:
        """Risk at event time ``ts`` (0–100)."""
        if self.t is None or self.value <= 0:
            return 0.0
        dt = ts - self.t
        v = self.value * 2.0 ** (-dt / self.half_life_s) if dt > 0 else self.value
        return min(100.0, v)

    def add(self, score: float, ts: float) -> EntityRisk:
        if self.t is None:
            return EntityRisk(min(STORED_CAP, float(score)), ts, self.half_life_s)
        if ts >= self.t:
            v = self.value * 2.0 ** (-(ts - self.t) / self.half_life_s) + score
            return EntityRisk(min(STORED_CAP, v), ts, self.half_life_s)
        v = self.value + score * 2.0 ** (-(self.t - ts) / self.half_life_s)
        return EntityRisk(min(STORED_CAP, v), self.t, self.half_life_s)

    def to_state(self) -> dict[str, Any]:
        return {"v": round(self.value, 4), "t": self.t}

    @classmethod
    def from_state(cls, state: Any, half_life_s: float = DEFAULT_HALF_LIFE_S) -> EntityRisk:
        if not isinstance(state, dict):
            return cls(half_life_s=half_life_s)
        return cls(float(state.get("v") or 0.0), state.get("t"), half_life_s)
