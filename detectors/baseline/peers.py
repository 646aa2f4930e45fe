"""Peer-group baselines: the population an entity is compared with when it has no history.

A group (``user:role=analyst``, ``user_db:role=analyst@pg1/crm``, ``ip:*`` …; see
:mod:`detectors.baseline.entities`) keeps, per window size, a :class:`RobustBaseline` fed with
the windows of its *mature* members (entities past their own warm-up, windows that were not
anomalous), so it describes settled behaviour. A group answers only once it has
``min_members`` distinct contributors and ``grace_period`` windows; an entity asks its groups
most specific first.

Groups are mergeable: :meth:`PeerBaselines.rebuild` sums member baselines (their histograms
share bins), so a worker that owns only some entities can rebuild peers from the entity states
in its table, and two workers' peers can be merged with :meth:`PeerBaselines.merge`.

>>> p = PeerBaselines(grace_period=2, min_members=2)
>>> for who in ("user:a", "user:b"):
...     p.learn(("user:role=analyst",), 60, {"rows_read": 100}, who)
>>> p.lookup(("user:role=x", "user:role=analyst"), 60)[0]
'user:role=analyst'
"""

from __future__ import annotations

from collections.abc import Iterable

from detectors.baseline.online import RobustBaseline

__all__ = ["PeerBaselines"]


class PeerBaselines:
    def __init__(self, grace_period: int = 50, min_members: int = 3, half_life: float = 5000.0,
                 spread_floor: float = 0.7, tau: float = 2.0, weights: dict | None = None,
                 max_members: int = 5000):
        self.grace_period = grace_period
        self.min_members = min_members
        self.half_life = half_life
        self.spread_floor = spread_floor
        self.tau = tau
        self.weights = weights
        self.max_members = max_members
        self.baselines: dict[str, dict[int, RobustBaseline]] = {}
        self.members: dict[str, dict[str, None]] = {}

    def _new(self) -> RobustBaseline:
        return RobustBaseline(grace_period=self.grace_period, half_life=self.half_life,
                              spread_floor=self.spread_floor, tau=self.tau, weights=self.weights)

    def learn(self, groups: Iterable[str], size: int, x: dict, member: str) -> None:
        for g in groups:
            by_size = self.baselines.setdefault(g, {})
            b = by_size.get(size)
            if b is None:
                b = by_size[size] = self._new()
            b.learn_one(x)
            m = self.members.setdefault(g, {})
            if member not in m and len(m) < self.max_members:
                m[member] = None

    def lookup(self, groups: Iterable[str], size: int) -> tuple[str, RobustBaseline] | None:
        """The most specific group ready to judge, or None."""
        for g in groups:
            b = self.baselines.get(g, {}).get(size)
            if b is not None and b.n >= self.grace_period and \
                    len(self.members.get(g, ())) >= self.min_members:
                return g, b
        return None

    def rebuild(self, members: Iterable[tuple[str, Iterable[str], int, RobustBaseline]]) -> None:
        """Recompute every group from ``(entity key, its groups, size, its baseline)``."""
        self.baselines.clear()
        self.members.clear()
        for key, groups, size, baseline in members:
            for g in groups:
                by_size = self.baselines.setdefault(g, {})
                by_size.setdefault(size, self._new()).merge(baseline)
                self.members.setdefault(g, {})[key] = None

    def merge(self, other: PeerBaselines) -> None:
        for g, by_size in other.baselines.items():
            for size, b in by_size.items():
                self.baselines.setdefault(g, {}).setdefault(size, self._new()).merge(b)
            mine = self.members.setdefault(g, {})
            for m in other.members.get(g, ()):
                mine.setdefault(m, None)

    def to_state(self) -> dict:
        return {"baselines": {g: {str(s): b.to_state() for s, b in by.items()}
                              for g, by in self.baselines.items()},
                "members": {g: list(m) for g, m in self.members.items()}}

    def load_state(self, d: dict) -> PeerBaselines:
        self.baselines = {g: {int(s): self._new().load_state(b) for s, b in by.items()}
                          for g, by in d["baselines"].items()}
        self.members = {g: dict.fromkeys(m) for g, m in d["members"].items()}
        return self
