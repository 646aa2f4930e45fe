"""Online baselines of window features, river-style (``learn_one`` / ``score_one``, high = anomalous).

:class:`RobustBaseline` (the detector's per-entity model)
    Per feature, an exponentially decayed histogram of ``t = log1p(x / unit)`` (hour rarity: its
    surprisal, see :func:`~detectors.baseline.features.transform`) in bins of 0.2
    (±10% in the original units): a small streaming estimator of the median and p95 that is plain
    JSON, mergeable (peer groups sum their members') and cheap (only non-zero values are stored;
    the zero mass is the rest of the total). A feature's deviation is how far ``t`` lies beyond
    the p95, in units of the entity's own spread ``max(p95 − median of its non-zero values,
    spread_floor)`` (a feature that is 0 in most windows is not "wildly variable")::

        d = (t − t_p95) / spread          s_f = 1 − exp(−weight_f · d / tau)   (d > 0)
        score = 1 − (1 − s₁)(1 − ¾s₂)(1 − ½s₃)      over the three largest s_f

    so one extreme feature is enough, and a second and third one raise it. Log scale makes
    "165× the usual maximum" count the same for rows and for bytes. During ``grace_period``
    learned windows the score is 0 (the detector then asks the peer group). Median and p95 are
    cached and recomputed every ``refresh_every`` learned windows (every window for the first 64):
    sorting the bins per window would cost more than everything else.

:class:`ZScoreBaseline` (the comparison in the benchmark)
    Per feature running mean and standard deviation of the raw values; score = max |z| mapped
    to [0, 1] by ``1 − exp(−|z| / tau)``. Standard deviations are floored at the feature's unit
    (1 for counts) so a constant feature does not give infinite z.

:class:`DeviationForest`
    river's ``HalfSpaceTrees`` on the vector of deviations (``min(1, d / d_cap)`` per feature),
    one model per entity kind and window size: it learns which combinations of departures from
    one's own habits are common across the population. Small (10 trees, height 6 by default:
    ~18 µs per window for score + learn). Its state is river's object, pickled and base64-encoded
    into the state dict (river objects have no JSON form).

>>> b = RobustBaseline(features=("rows_read",), grace_period=3)
>>> for r in (10, 12, 9, 11, 10, 30): b.learn_one({"rows_read": r})
>>> b.score_one({"rows_read": 12}), round(b.score_one({"rows_read": 48210}), 3)
(0.0, 0.974)
>>> [round(v) for v in b.quantiles("rows_read")]    # median, p95: bin centre, upper edge
[10, 32]
"""

from __future__ import annotations

import base64
import math
import pickle
from collections.abc import Iterable

from detectors.baseline.features import FEATURES, UNITS, transform, untransform

__all__ = ["BIN_WIDTH", "DeviationForest", "RobustBaseline", "ZScoreBaseline", "combine"]

BIN_WIDTH = 0.2
#: Features whose 0 means "not applicable" (no gap before the window): compared with the p95 of
#: their non-zero values (the usual overnight / weekend gap), not with the mostly-zero whole.
_CONDITIONAL = frozenset({"idle_days"})
_INV_BIN = 1.0 / BIN_WIDTH
_INV_UNIT = {f: 1.0 / u for f, u in UNITS.items()}
_LOG = math.log
_RENORM = 1e12


def combine(scores: Iterable[float]) -> float:
    """Noisy-or of the three largest feature scores with weights 1, ¾, ½."""
    top = sorted(scores, reverse=True)[:3]
    out = 1.0
    for s, w in zip(top, (1.0, 0.75, 0.5)):
        out *= 1.0 - w * s
    return 1.0 - out


class RobustBaseline:
    """Decayed log-histogram median/p95 per feature of one entity (or a peer group)."""

    def __init__(
        self,
        features: tuple[str, ...] = FEATURES,
        grace_period: int = 20,
        half_life: float = 500.0,
        spread_floor: float = 0.7,
        tau: float = 2.0,
        weights: dict[str, float] | None = None,
        refresh_every: int = 8,
    ):
        self.features = features
        self._features = frozenset(features)
        self.grace_period = grace_period
        self.half_life = half_life
        self.spread_floor = spread_floor
        self.tau = tau
        self.weights = weights
        self.refresh_every = refresh_every
        self.n = 0                                  # windows learned
        self._w = 1.0                               # weight of the next window (grows: decay)
        self._g = 2.0 ** (1.0 / half_life)
        self._total = 0.0
        self._bins: dict[str, dict[int, float]] = {}
        self._nz: dict[str, float] = {}
        self._missing: dict[str, float] = {}         # mass of windows where f was unknown
        self._q: dict[str, tuple[float, float, float, float]] = {}

    # -- river API -----------------------------------------------------------------------------
    def learn_one(self, x: dict[str, float]) -> None:
        w = self._w
        self._total += w
        bins, nz, feats = self._bins, self._nz, self._features
        for f, v in x.items():
            if v is None:
                if f in feats:
                    self._missing[f] = self._missing.get(f, 0.0) + w
            elif v > 0 and f in feats:
                t = _LOG(1.0 + v * _INV_UNIT[f]) if f != "hour_rarity" else transform(f, v)
                i = int(t * _INV_BIN + 0.5)
                hb = bins.get(f)
                if hb is None:
                    hb = bins[f] = {}
                hb[i] = hb.get(i, 0.0) + w
                nz[f] = nz.get(f, 0.0) + w
        self.n += 1
        self._w = w * self._g
        if self.n < 64 or self.n % self.refresh_every == 0:
            self._q.clear()
        if self._w > _RENORM:
            self._rescale(1.0 / self._w)

    def score_one(self, x: dict[str, float]) -> float:
        if self.n < self.grace_period:
            return 0.0
        return combine(s for _, _, s in self.deviations(x))

    # -- parts ---------------------------------------------------------------------------------
    def deviations(self, x: dict[str, float]) -> list[tuple[str, float, float]]:
        """``(feature, d, s_f)`` for the features above their p95 (empty before any learning)."""
        out = []
        if not self.n:
            return out
        weights, feats, floor, tau = self.weights, self._features, self.spread_floor, self.tau
        q, tq = self._q, self._tquantiles
        for f, v in x.items():
            if not v or v <= 0 or f not in feats:
                continue
            t = _LOG(1.0 + v * _INV_UNIT[f]) if f != "hour_rarity" else transform(f, v)
            _, tp, spread, tp_nz = q.get(f) or tq(f)
            if f in _CONDITIONAL:
                tp = tp_nz
            if t <= tp:
                continue
            d = (t - tp) / max(spread, floor)
            wf = weights.get(f, 1.0) if weights else 1.0
            out.append((f, d, 1.0 - math.exp(-wf * d / tau)))
        return out

    def quantiles(self, feature: str) -> tuple[float, float]:
        """(median, p95) in the feature's own units (bin centres: ±10%)."""
        tm, tp, _, tp_nz = self._tquantiles(feature)
        if feature in _CONDITIONAL:
            tp = tp_nz
        return untransform(feature, tm), untransform(feature, tp)

    def _tquantiles(self, f: str) -> tuple[float, float, float, float]:
        """(median, p95, spread, p95 of the non-zero values) of ``t``; the spread is p95 −
        median of the *non-zero* values, so a feature that is usually 0 is not judged as
        wildly variable. p95s are bin upper edges (a value in the p95's bin is not above it),
        medians bin centres. One sort and one walk over the bins."""
        q = self._q.get(f)
        if q is not None:
            return q
        hb = self._bins.get(f)
        nz = self._nz.get(f, 0.0)
        if not hb or nz <= 0:
            q = self._q[f] = (0.0, 0.0, 0.0, 0.0)
            return q
        total = self._total - self._missing.get(f, 0.0)
        zero = total - nz
        # targets on the cumulative mass (zero mass first): overall 50/95%, non-zero 50/95%
        targets = (0.5 * total, 0.95 * total, zero + 0.5 * nz, zero + 0.95 * nz)
        out = [0.0, 0.0, 0.0, 0.0]
        pending = sorted((k for k in range(4) if targets[k] > zero), key=targets.__getitem__)
        acc = zero
        bins = sorted(hb)
        for i in bins:
            acc += hb[i]
            while pending and acc >= targets[pending[0]] - 1e-12:
                out[pending.pop(0)] = i
            if not pending:
                break
        for k in pending:
            out[k] = bins[-1]
        bw = BIN_WIDTH
        # out[k] for targets at/below the zero mass stay 0 (bin index 0 -> t = 0)
        med = out[0] * bw if targets[0] > zero else 0.0
        p95 = (out[1] + 0.5) * bw if targets[1] > zero else 0.0
        q = self._q[f] = (med, p95, (out[3] - out[2]) * bw, (out[3] + 0.5) * bw)
        return q

    def _rescale(self, k: float) -> None:
        self._w *= k
        self._total *= k
        floor = self._total * 1e-9
        for f, hb in self._bins.items():
            for i in list(hb):
                hb[i] *= k
                if hb[i] < floor:
                    del hb[i]
            self._nz[f] = sum(hb.values())
        for f in self._missing:
            self._missing[f] *= k

    def merge(self, other: RobustBaseline) -> None:
        """Add another baseline's mass (both normalised to their current weight): peers from
        member summaries."""
        k = self._w / other._w
        for f, hb in other._bins.items():
            mine = self._bins.setdefault(f, {})
            for i, v in hb.items():
                mine[i] = mine.get(i, 0.0) + v * k
            self._nz[f] = self._nz.get(f, 0.0) + other._nz.get(f, 0.0) * k
        for f, v in other._missing.items():
            self._missing[f] = self._missing.get(f, 0.0) + v * k
        self._total += other._total * k
        self.n += other.n
        self._q.clear()

    # -- state ---------------------------------------------------------------------------------
    def to_state(self) -> dict:
        return {"n": self.n, "w": self._w, "total": self._total,
                "bins": {f: {str(i): v for i, v in hb.items()} for f, hb in self._bins.items() if hb},
                "missing": dict(self._missing), "q": {f: list(q) for f, q in self._q.items()}}

    def load_state(self, d: dict) -> RobustBaseline:
        self.n, self._w, self._total = d["n"], d["w"], d["total"]
        self._bins = {f: {int(i): v for i, v in hb.items()} for f, hb in d["bins"].items()}
        self._nz = {f: sum(hb.values()) for f, hb in self._bins.items()}
        self._missing = dict(d.get("missing", {}))
        self._q = {f: tuple(q) for f, q in d.get("q", {}).items()}
        return self


class ZScoreBaseline:
    """Plain per-feature mean / standard deviation; score = max |z| mapped to [0, 1].

    >>> z = ZScoreBaseline(features=("rows_read",), grace_period=3)
    >>> for r in (10, 12, 9, 11, 10, 30): z.learn_one({"rows_read": r})
    >>> round(z.score_one({"rows_read": 12}), 3), round(z.score_one({"rows_read": 200}), 3)
    (0.055, 0.998)
    """

    def __init__(self, features: tuple[str, ...] = FEATURES, grace_period: int = 20,
                 tau: float = 4.0):
        self.features = features
        self.grace_period = grace_period
        self.tau = tau
        self.n = 0
        self._n: dict[str, int] = {f: 0 for f in features}
        self._mean: dict[str, float] = {f: 0.0 for f in features}
        self._m2: dict[str, float] = {f: 0.0 for f in features}

    def learn_one(self, x: dict[str, float]) -> None:
        """Welford per feature; a feature that is ``None`` (unknown) is skipped."""
        self.n += 1
        cnt, mean, m2 = self._n, self._mean, self._m2
        for f in self.features:
            v = x.get(f, 0.0)
            if v is None:
                continue
            cnt[f] += 1
            delta = v - mean[f]
            mean[f] += delta / cnt[f]
            m2[f] += delta * (v - mean[f])

    def zscores(self, x: dict[str, float]) -> dict[str, float]:
        out = {}
        for f in self.features:
            v, n = x.get(f, 0.0), self._n[f]
            if v is None or not n:
                continue
            sd = math.sqrt(self._m2[f] / n)
            out[f] = (v - self._mean[f]) / max(sd, UNITS[f])
        return out

    def score_one(self, x: dict[str, float]) -> float:
        if self.n < self.grace_period:
            return 0.0
        zmax = max((abs(z) for z in self.zscores(x).values()), default=0.0)
        return 1.0 - math.exp(-zmax / self.tau)

    def quantiles(self, feature: str) -> tuple[float, float]:
        """(mean, mean + 1.645 sd): the normal-theory stand-ins for median and p95."""
        n = self._n[feature]
        sd = math.sqrt(self._m2[feature] / n) if n else 0.0
        return self._mean[feature], self._mean[feature] + 1.645 * sd

    def to_state(self) -> dict:
        return {"n": self.n, "count": dict(self._n), "mean": dict(self._mean), "m2": dict(self._m2)}

    def load_state(self, d: dict) -> ZScoreBaseline:
        self.n = d["n"]
        self._n = {f: d["count"].get(f, 0) for f in self.features}
        self._mean = {f: d["mean"].get(f, 0.0) for f in self.features}
        self._m2 = {f: d["m2"].get(f, 0.0) for f in self.features}
        return self


class DeviationForest:
    """HalfSpaceTrees over deviation vectors (one per entity kind × window size)."""

    def __init__(self, n_trees: int = 10, height: int = 6, window_size: int = 250,
                 d_cap: float = 6.0, seed: int = 0, features: tuple[str, ...] = FEATURES):
        self.n_trees = n_trees
        self.height = height
        self.window_size = window_size
        self.d_cap = d_cap
        self.seed = seed
        self.features = features
        self._model = None

    def _hst(self):
        if self._model is None:
            from river.anomaly import HalfSpaceTrees

            self._model = HalfSpaceTrees(n_trees=self.n_trees, height=self.height,
                                         window_size=self.window_size, seed=self.seed)
        return self._model

    def vector(self, devs: Iterable[tuple[str, float, float]]) -> dict[str, float]:
        x = dict.fromkeys(self.features, 0.0)
        cap = self.d_cap
        for f, d, _ in devs:
            x[f] = min(1.0, d / cap)
        return x

    def score_one(self, x: dict[str, float]) -> float:
        return float(self._hst().score_one(x))

    def learn_one(self, x: dict[str, float]) -> None:
        self._hst().learn_one(x)

    def to_state(self) -> dict:
        blob = base64.b64encode(pickle.dumps(self._model)).decode() if self._model else None
        return {"pickle_b64": blob}

    def load_state(self, d: dict) -> DeviationForest:
        blob = d.get("pickle_b64")
        self._model = pickle.loads(base64.b64decode(blob)) if blob else None
        return self
