"""Batch models (PyOD) refitted off the hot path, and how their scores blend with the online ones.

The wiring collects recent deviation vectors (:attr:`ScoredWindow.vector`) across entities,
calls :meth:`BatchModel.fit` now and then (e.g. hourly, in an executor), and scores closed
windows in batches with :meth:`BatchModel.score` — one ``decision_function`` call per batch,
because a one-row PyOD call costs 5–15 ms. Raw PyOD scores have no common scale, so a score is
the share of *reference* scores strictly below it (an empirical CDF): 0 for the commonest window
(no deviation at all),
~1 for one more extreme than anything in the training set. The reference is a sample of the
training rows (``reference_rows``) scored in the same ``decision_function`` call as the batch,
because ECOD re-estimates its tails on training + batch rows: scores from separate calls are
not comparable.

>>> import random
>>> rng = random.Random(0)
>>> rows = [{"rows_read": 0.0}] * 270 + [{"rows_read": rng.random() * 0.1} for _ in range(30)]
>>> m = BatchModel("iforest", features=("rows_read",), n_estimators=50).fit(rows)
>>> [round(s, 2) for s in m.score([{"rows_read": 0.0}, {"rows_read": 1.0}])]
[0.0, 1.0]
>>> blend(0.9, 1.0, 0.3), blend(0.9, None, 0.3)
(0.93, 0.9)
"""

from __future__ import annotations

import base64
import pickle
import random
from bisect import bisect_left
from collections.abc import Sequence

from detectors.baseline.features import FEATURES

__all__ = ["MODELS", "BatchModel", "blend"]

MODELS = ("ecod", "iforest")


def blend(online: float, batch: float | None, weight: float) -> float:
    """Weighted mean of the online and batch scores (the online score alone when no batch one)."""
    if batch is None or weight <= 0:
        return online
    return round((1.0 - weight) * online + weight * batch, 6)


class BatchModel:
    """PyOD behind ``fit(rows)`` / ``decision_function(rows)`` / ``score(rows) → [0, 1]``.

    ``rows`` are dicts (feature → value, missing = 0) or sequences in ``features`` order.
    At most ``max_rows`` rows are used for fitting (a seeded random sample).
    """

    def __init__(self, model: str = "ecod", features: tuple[str, ...] = FEATURES,
                 max_rows: int = 20_000, reference_rows: int = 2_000, seed: int = 0, **params):
        if model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, not {model!r}")
        self.model = model
        self.features = features
        self.max_rows = max_rows
        self.reference_rows = reference_rows
        self.seed = seed
        self.params = params
        self._pyod = None
        self._ref = None                 # reference rows (matrix)

    @property
    def fitted(self) -> bool:
        return self._pyod is not None

    def _matrix(self, rows: Sequence):
        import numpy as np

        if rows and isinstance(rows[0], dict):
            fs = self.features
            return np.array([[r.get(f, 0.0) for f in fs] for r in rows], dtype=float)
        return np.asarray(rows, dtype=float).reshape(len(rows), len(self.features))

    def fit(self, rows: Sequence) -> BatchModel:
        rows = list(rows)
        if len(rows) > self.max_rows:
            rows = random.Random(self.seed).sample(rows, self.max_rows)
        if self.model == "ecod":
            from pyod.models.ecod import ECOD

            m = ECOD(**self.params)
        else:
            from pyod.models.iforest import IForest

            m = IForest(random_state=self.seed, **self.params)
        X = self._matrix(rows)
        m.fit(X)
        self._pyod = m
        k = min(self.reference_rows, len(rows))
        idx = sorted(random.Random(self.seed + 1).sample(range(len(rows)), k))
        self._ref = X[idx]
        return self

    def decision_function(self, rows: Sequence) -> list[float]:
        if not rows:
            return []
        return [float(s) for s in self._pyod.decision_function(self._matrix(list(rows)))]

    def score(self, rows: Sequence) -> list[float]:
        """Share of the reference rows scoring strictly lower, per row (one PyOD call)."""
        if not rows:
            return []
        import numpy as np

        k = len(self._ref)
        raw = self._pyod.decision_function(np.vstack([self._ref, self._matrix(list(rows))]))
        ref = sorted(float(s) for s in raw[:k])
        return [bisect_left(ref, float(s)) / k for s in raw[k:]]

    def to_state(self) -> dict:
        """Pickled and base64-encoded (PyOD models have no JSON form; ECOD keeps its training
        matrix, so this is large: refitting after a restart is usually the better choice)."""
        return {"model": self.model, "features": list(self.features),
                "pyod_b64": base64.b64encode(pickle.dumps(self._pyod)).decode() if self._pyod else None,
                "ref": self._ref.tolist() if self._ref is not None else None}

    @classmethod
    def from_state(cls, d: dict) -> BatchModel:
        b = cls(d["model"], tuple(d["features"]))
        b._pyod = pickle.loads(base64.b64decode(d["pyod_b64"])) if d["pyod_b64"] else None
        if d["ref"] is not None:
            import numpy as np

            b._ref = np.asarray(d["ref"], dtype=float)
        return b
