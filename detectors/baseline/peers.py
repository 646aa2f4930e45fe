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

Readiness is on event time: a group that became ready with a window ending at ``at`` judges
only windows ending at or after it. Partitions sharing the groups may be days apart in event
time while a worker catches up on a backlog; without this, one running behind would judge its
new entities by peers that, at its point in time, did not exist yet.

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
        #: "<group>|<size>" → event time (end of the window) at which it became ready
        self.ready_at: dict[str, float] = {}

    def _new(self) -> RobustBaseline:
        return RobustBaseline(grace_period=self.grace_period, half_life=self.half_life,
                              spread_floor=self.spread_floor, tau=self.tau, weights=self.weights)

    def learn(self, groups: Iterable[str], size: int, x: dict, member: str,
              at: float = float("-inf")) -> None:
        """Learn a window (ending at ``at``, event time) of ``member`` into its groups."""
        for g in groups:
            by_size = self.baselines.setdefault(g, {})
            b = by_size.get(size)
            if b is None:
                b = by_size[size] = self._new()
            b.learn_one(x)
            m = self.members.setdefault(g, {})
            if member not in m and len(m) < self.max_members:
                m[member] = None
            key = f"{g}|{size}"
            if key not in self.ready_at and b.n >= self.grace_period and len(m) >= self.min_members:
                self.ready_at[key] = at

    def lookup(self, groups: Iterable[str], size: int, at: float = float("inf")
               ) -> tuple[str, RobustBaseline] | None:
        """The most specific group ready to judge a window ending at ``at``, or None."""
        for g in groups:
            b = self.baselines.get(g, {}).get(size)
            if b is not None and b.n >= self.grace_period and \
                    len(self.members.get(g, ())) >= self.min_members and \
                    self.ready_at.get(f"{g}|{size}", float("-inf")) <= at:
                return g, b
        return None

    def rebuild(self, members: Iterable[tuple[str, Iterable[str], int, RobustBaseline]]) -> None:
        """Recompute every group from ``(entity key, its groups, size, its baseline)``."""
        self.baselines.clear()
        self.members.clear()
        self.ready_at.clear()  # when they became ready is not known: they answer at any time
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
        for k, t in other.ready_at.items():
            self.ready_at[k] = min(t, self.ready_at.get(k, t))

    def to_state(self) -> dict:
        return {"baselines": {g: {str(s): b.to_state() for s, b in by.items()}
                              for g, by in self.baselines.items()},
                "members": {g: list(m) for g, m in self.members.items()},
                "ready_at": {k: t for k, t in self.ready_at.items() if t != float("-inf")}}

    def load_state(self, d: dict) -> PeerBaselines:
        self.baselines = {g: {int(s): self._new().load_state(b) for s, b in by.items()}
                          for g, by in d["baselines"].items()}
        self.members = {g: dict.fromkeys(m) for g, m in d["members"].items()}
        # groups ready before this was kept (or at an unknown time) answer at any time
        self.ready_at = dict(d.get("ready_at") or {})
        return self
