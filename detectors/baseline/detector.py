"""The UEBA detector: windows → per-entity robust baselines (+ peers, + a small HST) → scores.

``UebaDetector.process(event)`` folds an enriched event into its entities' windows
(:class:`~detectors.baseline.windows.WindowAggregator`) and, when the watermark closes windows,
scores each against the entity's own baseline (:class:`~detectors.baseline.online.RobustBaseline`)
— or, while the entity is in warm-up, against its peer group's
(:class:`~detectors.baseline.peers.PeerBaselines`) — blends in a per-kind
:class:`~detectors.baseline.online.DeviationForest`, and learns the window unless it scored at
or above ``protect_threshold`` (anomalies do not become the new normal; in warm-up every window
is learned, else an entity its peers find odd would never get a baseline of its own). Only
closed windows are scored; the per-event work is the aggregation.

Warm-up: an entity is judged on its own once it has ``grace_windows`` windows of a size over
``min_history_days`` (or ``sparse_grace_windows`` over ``sparse_history_days``: a nightly job);
before that by its most specific ready peer group; with neither, the score is 0 (basis
``grace``). ``is_anomaly`` = score ≥ ``threshold``; ``suppressed`` marks anomalies of an entity
and window size that already alerted within ``suppress_s`` (raise alerts for the others).

State, for a Faust table keyed by entity key (one JSON dict per entity, written per batch):
``take_dirty()`` → ``{key: entity_state}`` of entities touched since the last call;
``loader(key)`` (a constructor argument, e.g. ``table.get``) brings an entity back when an event
for it arrives and it is not in memory. Entities with open windows must stay in memory (their
windows close on the partition's watermark): ``release(key)`` refuses them, and after a restart
load every stored entity for which :func:`has_open_windows` is true. The small shared part
(watermark, peer groups, the HSTs) is ``global_state()`` — write it every few minutes.

Per-event cost and memory per entity: see :mod:`detectors.baseline`.

>>> det = UebaDetector(UebaConfig(sizes=(60,), allowed_lateness=0))
>>> ev = lambda t: {"@timestamp": t, "user": {"name": "alice"}, "event": {"id": t}}
>>> det.process(ev("2026-11-20T10:00:01Z")), len(det.process(ev("2026-11-20T10:01:00Z")))
([], 1)
>>> det.entity_summary("user:alice")["windows_seen"]
{'60': 1}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from detectors.baseline.alerts import to_alert
from detectors.baseline.batch import BatchModel, blend
from detectors.baseline.entities import ENTITY_KINDS, EntityRules
from detectors.baseline.explain import explain_text
from detectors.baseline.features import FEATURES
from detectors.baseline.memory import EntityTrack
from detectors.baseline.online import DeviationForest, RobustBaseline, ZScoreBaseline, combine
from detectors.baseline.peers import PeerBaselines
from detectors.baseline.timebase import format_ts, parse_ts
from detectors.baseline.windows import ClosedWindow, WindowAggregator

__all__ = ["EntityModel", "ScoredWindow", "UebaConfig", "UebaDetector", "has_open_windows"]

STATE_VERSION = 1

#: Default weight of each feature's deviation (1 when absent): volume duplicates (events, distinct
#: tables/columns, the error rate next to failures) count less; what a settled entity rarely does
#: at all (a new address or tool, an odd hour, a new kind of statement, DDL/DCL) counts more.
FEATURE_WEIGHTS = {"events": 0.5, "tables": 0.7, "columns": 0.7, "error_rate": 0.5,
                   "http_4xx_ratio": 0.7, "ddl_dcl": 2.0, "new_statements": 1.5, "new_ips": 2.0,
                   "new_apps": 1.5, "hour_rarity": 1.5}


@dataclass(frozen=True)
class UebaConfig:
    """Every knob. ``threshold`` was tuned on scenario seeds 1–3 (benchmarks/ueba_offline.py);
    the others were set on seed 1 while developing."""

    sizes: tuple[int, ...] = (60, 3600)
    sizes_by_kind: dict[str, tuple[int, ...]] | None = field(
        default_factory=lambda: {"ip": (3600,), "user_db": (3600,)})
    allowed_lateness: float = 60.0
    max_evidence: int = 20
    service_patterns: tuple[str, ...] = ("svc_*", "svc-*", "app_*", "etl_*", "sa_*")
    service_roles: tuple[str, ...] = ("service",)
    entity_kinds: tuple[str, ...] = ENTITY_KINDS
    novelty_warmup_hours: float = 8.0
    profile_warmup_hours: float = 40.0
    grace_windows: int = 20
    min_history_days: float = 2.0
    sparse_grace_windows: int = 4          # ... or this many windows over sparse_history_days
    sparse_history_days: float = 4.0
    half_life_windows: float = 500.0
    spread_floor: float = 0.7
    peer_spread_floor: float = 1.4
    tau: float = 2.0
    feature_weights: dict[str, float] | None = field(default_factory=lambda: dict(FEATURE_WEIGHTS))
    peer_min_members: int = 3
    peer_grace_windows: int = 50
    peer_sample: int = 4
    threshold: float = 0.95                # tuned on scenario seeds 1–3 (benchmarks/ueba_offline.py)
    protect_threshold: float = 0.6
    hst: bool = True
    hst_weight: float = 0.25
    hst_gate: float = 0.3                  # the forest sees windows already this far from habit
    hst_trees: int = 10
    hst_height: int = 6
    hst_window: int = 250
    d_cap: float = 6.0
    scorer: str = "robust"                 # or "zscore": the plain comparison baseline
    explain_top: int = 4
    suppress_s: float = 3600.0             # one alert per entity and window size per hour
    evict_idle_days: float = 30.0
    risk_half_life_hours: float = 24.0
    detector_id: str = "ueba"
    seed: int = 0


@dataclass(slots=True)
class ScoredWindow:
    """A closed window with its score. ``features`` is the structured explanation (top
    contributors); ``vector`` the deviation vector batch models are fitted and scored on.
    Raise an alert for ``is_anomaly and not suppressed``."""

    window: ClosedWindow
    score: float
    online: float
    is_anomaly: bool
    basis: str                      # "own" | "peer" | "grace" (nothing to compare with: score 0)
    features: list[dict]
    explanation: str
    vector: dict[str, float]
    batch: float | None = None
    learned: bool = False
    suppressed: bool = False        # anomalous, but this entity alerted within suppress_s
    details: dict[str, Any] = field(default_factory=dict)
    devs: list = field(default_factory=list, repr=False)   # (feature, d, s) kept for describe()


def has_open_windows(entity_state: dict) -> bool:
    """True if a stored entity must be loaded at start-up (it holds windows still to close)."""
    track = entity_state.get("track")
    return bool(track and track.get("open"))


class EntityModel:
    """Per-entity scoring state: one baseline per window size, last score, risk."""

    __slots__ = (
        "anomalies",
        "baselines",
        "context",
        "first_ts",
        "key",
        "kind",
        "last_alert",
        "last_score",
        "last_window",
        "risk",
        "risk_ts",
        "windows",
    )

    def __init__(self, key: str, kind: str):
        self.key = key
        self.kind = kind
        self.baselines: dict[int, RobustBaseline | ZScoreBaseline] = {}
        self.first_ts: float | None = None
        self.last_score: float | None = None
        self.last_window: tuple[float, float, int] | None = None   # start_s, end_s, size
        self.windows: dict[int, int] = {}
        self.risk = 0.0
        self.risk_ts: float | None = None
        self.anomalies = 0
        self.context: dict = {}
        self.last_alert: dict[int, float] = {}      # window size -> end of the last alerted window

    def to_state(self) -> dict:
        return {"key": self.key, "kind": self.kind,
                "baselines": {str(s): b.to_state() for s, b in self.baselines.items()},
                "first_ts": self.first_ts, "last_score": self.last_score,
                "last_window": list(self.last_window) if self.last_window else None, "windows": {str(s): n for s, n in self.windows.items()},
                "risk": self.risk, "risk_ts": self.risk_ts, "anomalies": self.anomalies,
                "context": self.context,
                "last_alert": {str(s): t for s, t in self.last_alert.items()}}


class UebaDetector:
    """Windows, baselines, peers and scores for one partition's events (see module doc)."""

    def __init__(self, config: UebaConfig | None = None,
                 loader: Callable[[str], dict | None] | None = None):
        self.config = config or UebaConfig()
        self.loader = loader
        c = self.config
        self.rules = EntityRules(service_patterns=c.service_patterns,
                                 service_roles=frozenset(c.service_roles),
                                 kinds=frozenset(c.entity_kinds))
        self.aggregator = WindowAggregator(
            sizes=c.sizes, allowed_lateness=c.allowed_lateness, max_evidence=c.max_evidence,
            rules=self.rules, sizes_by_kind=c.sizes_by_kind,
            novelty_warmup_hours=c.novelty_warmup_hours,
            profile_warmup_hours=c.profile_warmup_hours, peer_min_members=c.peer_min_members,
            resolver=self._resolve if loader else None)
        self.peers = PeerBaselines(grace_period=c.peer_grace_windows, min_members=c.peer_min_members,
                                   spread_floor=c.peer_spread_floor, tau=c.tau,
                                   weights=c.feature_weights)
        self.forests: dict[str, DeviationForest] = {}
        self.models: dict[str, EntityModel] = {}
        self._dirty: set[str] = set()
        self.stats = {"windows_closed": 0, "windows_scored": 0, "anomalies": 0, "protected": 0,
                      "suppressed": 0}

    # -- processing ----------------------------------------------------------------------------
    def process(self, event: dict, position: tuple[str, int] | None = None) -> list[ScoredWindow]:
        """Fold one enriched event; return the windows its watermark closed, scored.
        ``position`` (input, sequence number) keeps a re-delivered event from counting twice."""
        closed = self.aggregator.add(event, position)
        return [self.score_window(w) for w in closed] if closed else []

    def advance(self) -> list[ScoredWindow]:
        """Windows closed because the inputs waited for changed (see ``WindowAggregator.advance``), scored."""
        return [self.score_window(w) for w in self.aggregator.advance()]

    def flush(self, until: float | str) -> list[ScoredWindow]:
        """Close and score windows ending at or before ``until`` (event time)."""
        ts = parse_ts(until) if isinstance(until, str) else float(until)
        return [self.score_window(w) for w in self.aggregator.flush(ts)]

    def close_all(self) -> list[ScoredWindow]:
        return [self.score_window(w) for w in self.aggregator.close_all()]

    @property
    def late_dropped_from_window(self) -> int:
        """Windows events arrived too late for (beyond ``allowed_lateness``), in total."""
        return self.aggregator.late_dropped_from_window

    @property
    def last_late(self) -> int:
        """How many of its windows the last processed event was too late for (the caller still
        indexes the event; count it as ``late_dropped_from_window``)."""
        return self.aggregator.last_late

    def _new_baseline(self) -> RobustBaseline | ZScoreBaseline:
        c = self.config
        if c.scorer == "zscore":
            return ZScoreBaseline(grace_period=c.grace_windows)
        return RobustBaseline(grace_period=c.grace_windows, half_life=c.half_life_windows,
                              spread_floor=c.spread_floor, tau=c.tau, weights=c.feature_weights)

    def _forest(self, kind: str, size: int) -> DeviationForest:
        k = f"{kind}/{size}"
        f = self.forests.get(k)
        if f is None:
            c = self.config
            f = self.forests[k] = DeviationForest(c.hst_trees, c.hst_height, c.hst_window,
                                                  c.d_cap, c.seed)
        return f

    def score_window(self, w: ClosedWindow) -> ScoredWindow:
        """Score a closed window against its entity's baseline (or peers) and learn from it."""
        c = self.config
        model = self.models.get(w.key)
        if model is None:
            model = self.models[w.key] = EntityModel(w.key, w.kind)
        if model.first_ts is None or w.start_s < model.first_ts:
            model.first_ts = w.start_s
        base = model.baselines.get(w.size)
        if base is None:
            base = model.baselines[w.size] = self._new_baseline()
        x = w.features
        seen, history = model.windows.get(w.size, 0), w.end_s - model.first_ts
        mature = ((seen >= c.grace_windows and history >= c.min_history_days * 86400)
                  or (seen >= c.sparse_grace_windows and history >= c.sparse_history_days * 86400))
        peer = None
        forest = None
        vec: dict[str, float]
        if c.scorer == "zscore":
            basis = "own" if mature else "grace"
            devs = []
            if mature:
                zs = base.zscores(x)
                devs = [(f, abs(z), 1.0 - math.exp(-abs(z) / base.tau))
                        for f, z in zs.items() if abs(z) > 1.0]
            online = base.score_one(x) if mature else 0.0
            vec = {f: min(1.0, d / c.d_cap) for f, d, _ in devs}
        else:
            peer = self.peers.lookup(w.groups, w.size, w.end_s)
            if mature:
                devs, basis = base.deviations(x), "own"
            elif peer is not None:
                devs, basis = peer[1].deviations(x), "peer"
            else:
                devs, basis = [], "grace"
            online = combine(s for _, _, s in devs) if devs else 0.0
            vec = {f: min(1.0, d / c.d_cap) for f, d, _ in devs}
            if c.hst and online >= c.hst_gate:
                forest = self._forest(w.kind, w.size)
                hx = dict.fromkeys(FEATURES, 0.0) | vec
                online = 1.0 - (1.0 - online) * (1.0 - c.hst_weight * forest.score_one(hx))
        online = round(online, 6)
        is_anomaly = online >= c.threshold
        # Protection guards an entity's own baseline; in warm-up every window is learned (else
        # an entity its peers find unusual — an ETL job, a DBA's address — would never mature).
        protected = online >= c.protect_threshold
        learned = not protected or not mature
        if learned:
            base.learn_one(x)
        if protected:
            self.stats["protected"] += 1
        elif c.scorer != "zscore":
            if mature and base.n % c.peer_sample == 0:
                self.peers.learn(w.groups, w.size, x, w.key, w.end_s)
            if forest is not None:
                forest.learn_one(hx)
        # bookkeeping
        self.stats["windows_closed"] += 1
        if basis != "grace":
            self.stats["windows_scored"] += 1
        model.windows[w.size] = model.windows.get(w.size, 0) + 1
        model.last_score = online
        model.last_window = (w.start_s, w.end_s, w.size)
        model.context = w.context
        self._decay_risk(model, w.end_s)
        self._dirty.add(w.key)
        sw = ScoredWindow(w, online, online, is_anomaly, basis, [], "", vec, learned=learned)
        if is_anomaly:
            self._count_anomaly(model, sw)
        if peer is not None:
            sw.details["peer_group"] = peer[0]
        if not learned or is_anomaly:
            # explain now, while the baselines are those the window was judged by
            devs.sort(key=lambda t: -t[2])
            sw.features = [self._contribution(f, x[f], s, base, peer)
                           for f, _, s in devs[: c.explain_top]]
            if is_anomaly:
                sw.explanation = self.explain(sw)
        else:
            sw.devs = devs
        return sw

    def describe(self, sw: ScoredWindow) -> ScoredWindow:
        """Fill ``features`` and ``explanation`` of a window scored as normal (e.g. one a batch
        model later made anomalous). Uses the baselines as they are now (they learned from
        that window since, by at most one window's weight)."""
        if not sw.features:
            devs = sorted(sw.devs, key=lambda t: -t[2])
            w = sw.window
            model = self.models.get(w.key)
            base = model.baselines.get(w.size) if model else None
            peer = self.peers.lookup(w.groups, w.size, w.end_s) if self.config.scorer != "zscore" else None
            if base is not None:
                sw.features = [self._contribution(f, w.features[f], s, base, peer)
                               for f, _, s in devs[: self.config.explain_top]]
        if not sw.explanation:
            sw.explanation = self.explain(sw)
        return sw

    def _contribution(self, f: str, observed: float, s: float, base, peer) -> dict:
        med = p95 = peer_p95 = None
        if base.n:
            med, p95 = (round(v, 3) for v in base.quantiles(f))
        if peer is not None:
            peer_p95 = round(peer[1].quantiles(f)[1], 3)
        return {"feature": f, "observed": observed, "median": med, "p95": p95,
                "peer_p95": peer_p95, "contribution": round(s, 4)}

    def explain(self, sw: ScoredWindow) -> str:
        """The analyst's sentence for a scored window (computed for anomalies automatically)."""
        w = sw.window
        details = dict(w.details) | sw.details
        track = self.aggregator.tracks.get(w.key)
        if track is not None:
            details["usual_hours"] = track.profile.usual_hours()
        return explain_text(sw.features, details, sw.basis)

    def _count_anomaly(self, model: EntityModel, sw: ScoredWindow) -> None:
        """Risk, counters and alert suppression for a window that became anomalous."""
        w = sw.window
        self.stats["anomalies"] += 1
        model.anomalies += 1
        model.risk = max(model.risk, 100.0 * sw.score)
        last = model.last_alert.get(w.size)
        if last is not None and 0 <= w.end_s - last < self.config.suppress_s:
            sw.suppressed = True
            self.stats["suppressed"] += 1
        else:
            model.last_alert[w.size] = w.end_s

    def _decay_risk(self, model: EntityModel, now: float) -> None:
        if model.risk_ts is not None and model.risk:
            hl = self.config.risk_half_life_hours * 3600
            model.risk *= 0.5 ** (max(0.0, now - model.risk_ts) / hl)
            if model.risk < 0.01:
                model.risk = 0.0
        model.risk_ts = now

    # -- batch models --------------------------------------------------------------------------
    def apply_batch(self, scored: list[ScoredWindow], model: BatchModel, weight: float = 0.3
                    ) -> list[ScoredWindow]:
        """Score windows with a fitted batch model (one PyOD call) and blend into ``score``.
        Learning/protection already happened on the online score."""
        scorable = [s for s in scored if s.basis != "grace"]
        if not scorable or not model.fitted:
            return scored
        for s, b in zip(scorable, model.score([s.vector for s in scorable])):
            s.batch = b
            s.score = blend(s.online, b, weight)
            was = s.is_anomaly
            s.is_anomaly = s.score >= self.config.threshold
            if s.is_anomaly and not was:
                model_ = self.models.get(s.window.key)
                if model_ is not None:
                    self._count_anomaly(model_, s)
                self.describe(s)
        return scored

    def to_alert(self, sw: ScoredWindow) -> dict:
        return to_alert(sw, self.config.detector_id)

    # -- entities ------------------------------------------------------------------------------
    def entity_summary(self, key: str) -> dict | None:
        """A ``parasol-entities*`` document body (the caller adds ``_id`` = key, timestamps)."""
        model = self.models.get(key)
        track = self.aggregator.tracks.get(key)
        if model is None and track is None:
            return None
        kind = model.kind if model else track.kind
        ctx = model.context if model else {}
        baseline = {}
        if model is not None:
            for size, b in sorted(model.baselines.items()):
                per = {}
                for f in FEATURES:
                    med, p95 = b.quantiles(f)
                    if med or p95:
                        per[f] = {"median": round(med, 3), "p95": round(p95, 3)}
                baseline[str(size)] = per
        risk = 0.0
        if model is not None and model.risk:
            risk = round(model.risk, 2)
        doc = {
            "entity": {"id": key, "kind": kind,
                       "groups": list(track.groups) if track else []},
            "user": {"name": ctx.get("user.name"), "roles": ctx.get("user.roles") or []},
            "source": {"ip": ctx.get("source.ip")},
            "service": {"name": ctx.get("service.name")},
            "db": {"instance": ctx.get("db.instance"), "name": ctx.get("db.name")},
            "baseline": baseline,
            "last_window": ({"start": format_ts(model.last_window[0]),
                             "end": format_ts(model.last_window[1]), "size_s": model.last_window[2]}
                            if model and model.last_window else None),
            "last_score": model.last_score if model else None,
            "windows_seen": {str(s): n for s, n in sorted(model.windows.items())} if model else {},
            "anomalies": model.anomalies if model else 0,
            "risk": {"score": risk},
        }
        if track is not None and track.first_ts is not None:
            doc["first_seen"] = format_ts(track.first_ts)
            doc["last_seen"] = format_ts(track.last_ts)
            doc["@timestamp"] = doc["last_seen"]
            doc["active_hours"] = track.hours
        return doc

    def entity_state(self, key: str) -> dict | None:
        model = self.models.get(key)
        track = self.aggregator.tracks.get(key)
        if model is None and track is None:
            return None
        return {"v": STATE_VERSION, "key": key,
                "track": track.to_state() if track else None,
                "model": model.to_state() if model else None}

    def load_entity_state(self, key: str, d: dict) -> None:
        if d.get("track") and key not in self.aggregator.tracks:
            self.aggregator.adopt(EntityTrack.from_state(d["track"]))
        if d.get("model") and key not in self.models:
            self.models[key] = self._model_from_state(d["model"])

    def _model_from_state(self, d: dict) -> EntityModel:
        m = EntityModel(d["key"], d["kind"])
        m.baselines = {int(s): self._new_baseline().load_state(b) for s, b in d["baselines"].items()}
        m.first_ts, m.last_score = d["first_ts"], d["last_score"]
        m.last_window = tuple(d["last_window"]) if d["last_window"] else None
        m.windows = {int(s): n for s, n in d["windows"].items()}
        m.risk, m.risk_ts, m.anomalies, m.context = d["risk"], d["risk_ts"], d["anomalies"], d["context"]
        m.last_alert = {int(s): t for s, t in d.get("last_alert", {}).items()}
        return m

    def _resolve(self, key: str) -> EntityTrack | None:
        d = self.loader(key) if self.loader else None
        if not d:
            return None
        if d.get("model") and key not in self.models:
            self.models[key] = self._model_from_state(d["model"])
        return EntityTrack.from_state(d["track"]) if d.get("track") else None

    def accept(self, alert: dict) -> bool:
        """An analyst judged this anomaly alert a false positive: learn its window into the
        entity's baseline after all (protection had kept it out), so the same behaviour scores
        as usual from now on. False if the entity is not held here."""
        an = (alert.get("parasol") or {}).get("anomaly") or {}
        key, window = (an.get("entity") or {}).get("id"), an.get("window") or {}
        features, size = window.get("features"), window.get("size_s")
        if not key or not features or not size:
            return False
        model = self.models.get(key)
        if model is None and self.loader is not None:
            self._resolve(key)
            model = self.models.get(key)
        base = model.baselines.get(int(size)) if model is not None else None
        if base is None:
            return False
        base.learn_one({k: None if v is None else float(v) for k, v in features.items()})
        self._dirty.add(key)
        return True

    def take_dirty(self) -> dict[str, dict]:
        """States of the entities touched since the last call (write them to the table)."""
        keys = self.aggregator.touched | self._dirty
        self.aggregator.touched = set()
        self._dirty = set()
        return {k: s for k in sorted(keys) if (s := self.entity_state(k)) is not None}

    def release(self, key: str) -> dict | None:
        """Drop an entity from memory and return its state, unless it has open windows."""
        track = self.aggregator.tracks.get(key)
        if track is not None and track.open:
            return None
        state = self.entity_state(key)
        self.aggregator.tracks.pop(key, None)
        self.models.pop(key, None)
        return state

    def evict_idle(self, now_ts: float | str) -> list[str]:
        """Forget entities idle (event time) for ``evict_idle_days``; returns their keys so the
        caller can delete them from the table."""
        now = parse_ts(now_ts) if isinstance(now_ts, str) else float(now_ts)
        idle_s = self.config.evict_idle_days * 86400
        gone = set(self.aggregator.evict_idle(now, idle_s))
        for k, m in list(self.models.items()):
            if k in gone or (k not in self.aggregator.tracks and m.last_window is not None
                             and m.last_window[1] < now - idle_s):
                del self.models[k]
                gone.add(k)
        self._dirty -= gone
        self.aggregator.touched -= gone
        return sorted(gone)

    # -- global state --------------------------------------------------------------------------
    def global_state(self) -> dict:
        return {"v": STATE_VERSION, "aggregator": self.aggregator.global_state(),
                "peers": self.peers.to_state(),
                "forests": {k: f.to_state() for k, f in self.forests.items()},
                "stats": dict(self.stats)}

    def load_global_state(self, d: dict) -> None:
        self.aggregator.load_global_state(d["aggregator"])
        self.peers.load_state(d["peers"])
        c = self.config
        self.forests = {k: DeviationForest(c.hst_trees, c.hst_height, c.hst_window, c.d_cap,
                                           c.seed).load_state(s) for k, s in d["forests"].items()}
        self.stats = dict(d["stats"])

    def to_state(self) -> dict:
        keys = set(self.aggregator.tracks) | set(self.models)
        return self.global_state() | {"entities": {k: self.entity_state(k) for k in sorted(keys)}}

    @classmethod
    def from_state(cls, d: dict, config: UebaConfig | None = None,
                   loader: Callable[[str], dict | None] | None = None) -> UebaDetector:
        det = cls(config, loader)
        det.load_global_state(d)
        for k, s in d.get("entities", {}).items():
            det.load_entity_state(k, s)
        return det

    def process_all(self, events: Iterable[dict]) -> list[ScoredWindow]:
        """Convenience for replays and tests: every event, then close everything."""
        out = []
        for e in events:
            out.extend(self.process(e))
        out.extend(self.close_all())
        return out
