"""What an entity (and its peer group) has done before: first-seen sets and an hour-of-week profile.

Novelty is a fact about history, not a statistic, so these are updated as events arrive (before
any window closes) and are not held back by baseline protection: the first window that touches a
table counts it as new, later ones do not.

Bounds (per entity; a peer group keeps 4× these): :data:`SEEN_CAPS` items per set, kept in first-
seen order; when a set is full the oldest item is forgotten (if it is used again it counts as new
once). The hour profile is 168 numbers (hours of activity per hour-of-week bucket), halved when
it passes :data:`PROFILE_MAX` hours, so old habits fade.

Warm-up: an entity whose history is shorter than ``novelty_warmup_hours`` active hours counts as
new only what its peer group never used either (a new analyst reading ``customers`` like every
analyst is not "new"), and no new addresses. Hour rarity mixes the peer group's profile into the
entity's own as a prior worth :data:`PRIOR_HOURS` hours (so a new joiner is judged by peers and a
week of history does not make every edge hour "rare"); without a mature peer group it is unknown
(``None``: not learned, not scored) until ``profile_warmup_hours``.

>>> from detectors.baseline.features import Facts
>>> t, groups = EntityTrack("user:alice", "user", ("user:role=analyst",)), {}
>>> t.observe(Facts.of({"@timestamp": "2026-11-20T10:00:00Z", "parasol": {"tables": ["t"]}}),
...           groups, 0, 0)[0]       # mature at once (warm-up 0): the first table is new
(1, 0, 0, 0, 0, 0)
>>> sorted(t.seen["tables"]), sorted(groups["user:role=analyst"].seen["tables"])
(['-/t'], ['-/t'])
"""

from __future__ import annotations

from typing import Any

from detectors.baseline.features import NO_NEW, NOVELTY, WindowAccumulator
from detectors.baseline.timebase import HOURS_PER_WEEK

__all__ = ["KIND_NOVELTY", "PROFILE_MAX", "SEEN_CAPS", "EntityTrack", "GroupMemory", "HourProfile"]

#: Maximum items kept per first-seen set of one entity.
SEEN_CAPS: dict[str, int] = {
    "tables": 512, "columns": 2048, "ips": 64, "apps": 64, "routes": 256, "statements": 1024,
}
#: Which first-seen sets each entity kind keeps (others are always 0 for that kind).
KIND_NOVELTY: dict[str, tuple[str, ...]] = {
    "user": NOVELTY,
    "service_account": NOVELTY,
    "user_db": ("tables", "columns", "ips", "apps", "statements"),
    "ip": ("tables", "apps", "routes"),
    "api_client": ("routes", "ips"),
}
PROFILE_MAX = 2000.0
#: Weight, in hours of activity, of the peer group's profile mixed into an entity's own.
PRIOR_HOURS = 20.0
GROUP_CAP_FACTOR = 4
_FACT_OF = {"tables": "tables", "columns": "columns", "ips": "ip", "apps": "app",
            "routes": "route", "statements": "stmt"}
_MULTI = {"tables", "columns"}
_PLAN = {kind: tuple((k, _FACT_OF[k], k in _MULTI) for k in sets) for kind, sets in KIND_NOVELTY.items()}
_INDEX = {k: i for i, k in enumerate(NOVELTY)}


class HourProfile:
    """Hours of activity per hour-of-week bucket, and how rare a bucket is for this profile.

    A bucket's support ``s`` is the mean, over the *active* days of the same type (weekdays or
    weekend days), of that hour's count plus half of each neighbouring hour's, shrunk towards
    the all-days mean (a quarter of it for weekend hours) with the weight of one day.
    ``rarity = 1 − min(1, s / m)`` with ``m`` the mean count of the active buckets: 0 in a usual
    hour, 0.5 on a Saturday morning of a weekday worker, 1 where the entity was never active
    near that time. Pooling the days keeps a week or two of history from making every edge
    hour "rare".

    >>> p = HourProfile()
    >>> for day in range(5):
    ...     for h in range(9, 18): p.add(day * 24 + h)
    >>> p.rarity(2 * 24 + 10), p.rarity(5 * 24 + 10), p.rarity(2 * 24 + 3), p.rarity(2 * 24 + 8)
    (0.0, 0.5, 1.0, 0.5)
    """

    __slots__ = ("active", "counts", "days", "total")

    def __init__(self):
        self.counts = [0.0] * HOURS_PER_WEEK
        self.days = [0.0] * 7
        self.total = 0.0
        self.active = 0

    def add(self, bucket: int, weight: float = 1.0) -> None:
        c = self.counts
        if c[bucket] == 0:
            self.active += 1
        c[bucket] += weight
        self.days[bucket // 24] += weight
        self.total += weight
        if self.total > PROFILE_MAX:
            self.counts = [v * 0.5 for v in c]
            self.days = [v * 0.5 for v in self.days]
            self.total *= 0.5

    def rarity(self, b: int, prior: HourProfile | None = None, prior_hours: float = 0.0) -> float:
        """Rarity of bucket ``b``; with a ``prior`` (the peer group's profile) worth
        ``prior_hours`` hours of activity mixed in, so a young or sparse profile is not
        judged on a handful of hours (the prior fades as the entity's own hours grow). The
        mixed profile's number of active buckets is taken as the larger of the two."""
        c, days = self.counts, self.days
        total, active = self.total, self.active
        if prior is not None and prior.total and prior_hours > 0:
            k = prior_hours / prior.total
            pc = prior.counts
            own = c

            def value(i: int) -> float:
                return own[i] + k * pc[i]

            days = [a + k * p for a, p in zip(days, prior.days)]
            total += prior_hours
            active = max(active, prior.active)
        else:
            value = c.__getitem__
        if not active:
            return 0.0
        return round(1.0 - min(1.0, _support(value, days, b) * active / total), 4)

    def usual_hours(self, share: float = 0.02) -> tuple[int, int] | None:
        """Earliest and latest hour of day holding at least ``share`` of the activity."""
        if not self.total:
            return None
        by_hour = [sum(self.counts[d * 24 + h] for d in range(7)) for h in range(24)]
        hours = [h for h, v in enumerate(by_hour) if v >= share * self.total]
        return (hours[0], hours[-1] + 1) if hours else None

    def to_state(self) -> dict:
        return {"counts": {str(b): v for b, v in enumerate(self.counts) if v},
                "days": list(self.days), "total": self.total, "active": self.active}

    @classmethod
    def from_state(cls, d: dict) -> HourProfile:
        p = cls()
        for b, v in d["counts"].items():
            p.counts[int(b)] = v
        p.days = list(d["days"])
        p.total, p.active = d["total"], d["active"]
        return p


def _support(value, days: list[float], b: int) -> float:
    """``value(i)``: the (possibly mixed) count of bucket i; ``days``: its per-day totals."""
    d, h = divmod(b, 24)
    n = HOURS_PER_WEEK

    def around(day: int) -> float:
        i = day * 24 + h
        return value(i) + 0.5 * (value((i - 1) % n) + value((i + 1) % n))

    # a day counts as active with at least an hour of activity (a prior's crumbs do not count);
    # the same-type days' mean is shrunk towards the all-days mean (¼ of it for weekend hours)
    # with the weight of one day, so a half-observed Saturday is not the whole weekend story
    active = [dd for dd in range(7) if days[dd] >= 1.0]
    if not active:
        return 0.0
    arounds = {dd: around(dd) for dd in active}
    overall = sum(arounds.values()) / len(active)
    same = [v for dd, v in arounds.items() if (dd >= 5) == (d >= 5)]
    prior = overall * (0.25 if d >= 5 else 1.0)
    return (sum(same) + prior) / (len(same) + 1)


class GroupMemory:
    """A peer group's union of first-seen sets and summed hour profile (mergeable: unions/sums)."""

    __slots__ = ("active_hours", "members", "profile", "seen")
    MAX_MEMBERS = 5000

    def __init__(self):
        self.seen: dict[str, dict[str, None]] = {k: {} for k in NOVELTY}
        self.profile = HourProfile()
        self.members: dict[str, None] = {}
        self.active_hours = 0.0

    def mature(self, min_members: int, min_hours: float) -> bool:
        return len(self.members) >= min_members and self.active_hours >= min_hours

    def remember(self, kind: str, item: str) -> None:
        s = self.seen[kind]
        if item not in s:
            s[item] = None
            if len(s) > SEEN_CAPS[kind] * GROUP_CAP_FACTOR:
                del s[next(iter(s))]

    def merge(self, other: GroupMemory) -> None:
        for k, items in other.seen.items():
            for it in items:
                self.remember(k, it)
        for b, v in enumerate(other.profile.counts):
            if v:
                self.profile.add(b, v)
        for m in other.members:
            self.members.setdefault(m, None)
        self.active_hours += other.active_hours

    def to_state(self) -> dict:
        return {"seen": {k: list(v) for k, v in self.seen.items()}, "profile": self.profile.to_state(),
                "members": list(self.members), "active_hours": self.active_hours}

    @classmethod
    def from_state(cls, d: dict) -> GroupMemory:
        g = cls()
        g.seen = {k: dict.fromkeys(d["seen"].get(k, ())) for k in NOVELTY}
        g.profile = HourProfile.from_state(d["profile"])
        g.members = dict.fromkeys(d["members"])
        g.active_hours = d["active_hours"]
        return g


class EntityTrack:
    """Event-time memory of one entity plus its open windows (all of it restart-safe state)."""

    __slots__ = (
        "cur_rarity",
        "first_ts",
        "groups",
        "hours",
        "key",
        "kind",
        "last_hour",
        "last_ts",
        "open",
        "profile",
        "seen",
        "upto",
    )

    def __init__(self, key: str, kind: str, groups: tuple[str, ...]):
        self.key = key
        self.kind = kind
        self.groups = tuple(groups)
        self.first_ts: float | None = None
        self.last_ts: float | None = None
        self.seen: dict[str, dict[str, None]] = {k: {} for k in KIND_NOVELTY[kind]}
        self.profile = HourProfile()
        self.hours = 0                # active hours ever (not halved): the warm-up clock
        self.last_hour = -1           # absolute hour index of the last profile update
        self.cur_rarity: float | None = None
        self.open: dict[tuple[int, float], WindowAccumulator] = {}
        #: Per input (e.g. a Kafka topic): the position after the last event folded in, so that
        #: events delivered again (after a restart or rebalance) are not counted twice.
        self.upto: dict[str, int] = {}

    def folded(self, source: str, seq: int, ts: float) -> bool:
        """Whether the event at ``seq`` of input ``source`` (time ``ts``) was folded in before:
        its position is behind this entity's mark and it is no newer than the entity's latest
        event. (Positions that start again, e.g. a re-created topic, come with newer events.)"""
        return seq < self.upto.get(source, -1) and self.last_ts is not None and ts <= self.last_ts

    def peer_memory(self, groups: dict[str, GroupMemory], min_members: int, min_hours: float
                    ) -> GroupMemory | None:
        for g in self.groups:
            m = groups.get(g)
            if m is not None and m.mature(min_members, min_hours):
                return m
        return None

    def observe(self, f: Any, groups: dict[str, GroupMemory], novelty_warmup_hours: float,
                profile_warmup_hours: float, min_members: int = 2, min_group_hours: float = 40.0
                ) -> tuple[tuple[int, ...], dict[str, list[str]] | None, float | None, float]:
        """Fold an event into the memory; returns (new-item counts in :data:`NOVELTY` order,
        examples of new items, hour rarity, idle days before this event)."""
        ts = f.ts
        idle = 0.0
        last = self.last_ts
        if last is None:
            self.first_ts = self.last_ts = ts
        elif ts > last:
            if ts - last >= 3600:
                idle = (ts - last) / 86400.0
            self.last_ts = ts
        elif ts < self.first_ts:
            self.first_ts = ts
        h = int(ts // 3600)
        if h == self.last_hour:
            rarity = self.cur_rarity
        else:
            rarity = self._new_hour(h, groups, profile_warmup_hours, min_members, min_group_hours)

        counts = examples = None
        seen_all = self.seen
        for kind, attr, multi in _PLAN[self.kind]:
            value = getattr(f, attr)
            if not value:
                continue
            seen = seen_all[kind]
            if multi:
                for it in value:
                    if it not in seen:
                        break
                else:
                    continue
                fresh = [it for it in value if it not in seen]
            elif value in seen:
                continue
            else:
                fresh = (value,)
            # rare path: something this entity never used
            mature = self.hours >= novelty_warmup_hours
            peer = None if mature else self.peer_memory(groups, min_members, min_group_hours)
            for it in fresh:
                seen[it] = None
                if len(seen) > SEEN_CAPS[kind]:
                    del seen[next(iter(seen))]
                known_to_peers = peer is not None and it in peer.seen[kind]
                for g in self.groups:
                    gm = groups.get(g)
                    if gm is None:
                        gm = groups[g] = GroupMemory()
                    gm.remember(kind, it)
                if mature:
                    new = True
                elif peer is None or kind == "ips":
                    new = False
                else:
                    new = not known_to_peers
                if new:
                    if counts is None:
                        counts = [0, 0, 0, 0, 0, 0]
                        examples = {}
                    counts[_INDEX[kind]] += 1
                    examples.setdefault(kind, []).append(it)
        return (tuple(counts) if counts else NO_NEW), examples, rarity, idle

    def _new_hour(self, h: int, groups: dict[str, GroupMemory], profile_warmup_hours: float,
                  min_members: int, min_group_hours: float) -> float | None:
        """First event in an absolute hour: rarity of its bucket, then count the hour."""
        bucket = (h + 72) % HOURS_PER_WEEK
        peer = self.peer_memory(groups, min_members, min_group_hours)
        if peer is not None:
            rarity = self.profile.rarity(bucket, peer.profile, PRIOR_HOURS)
        elif self.hours >= profile_warmup_hours:
            rarity = self.profile.rarity(bucket)
        else:
            rarity = None                       # unknown: neither own history nor peers yet
        if h > self.last_hour:
            self.cur_rarity = rarity
            self.last_hour = h
            self.hours += 1
            self.profile.add(bucket)
            for g in self.groups:
                gm = groups.get(g)
                if gm is None:
                    gm = groups[g] = GroupMemory()
                gm.profile.add(bucket)
                gm.active_hours += 1
                if self.key not in gm.members and len(gm.members) < GroupMemory.MAX_MEMBERS:
                    gm.members[self.key] = None
        return rarity

    # -- state ---------------------------------------------------------------------------------
    def to_state(self) -> dict:
        return {
            "key": self.key, "kind": self.kind, "groups": list(self.groups),
            "first_ts": self.first_ts, "last_ts": self.last_ts,
            "seen": {k: list(v) for k, v in self.seen.items()},
            "profile": self.profile.to_state(), "hours": self.hours, "last_hour": self.last_hour,
            "cur_rarity": self.cur_rarity, "open": [w.to_state() for w in self.open.values()],
            "upto": dict(self.upto),
        }

    @classmethod
    def from_state(cls, d: dict) -> EntityTrack:
        t = cls(d["key"], d["kind"], tuple(d["groups"]))
        t.first_ts, t.last_ts = d["first_ts"], d["last_ts"]
        t.seen = {k: dict.fromkeys(d["seen"].get(k, ())) for k in KIND_NOVELTY[t.kind]}
        t.profile = HourProfile.from_state(d["profile"])
        t.hours, t.last_hour, t.cur_rarity = d["hours"], d["last_hour"], d["cur_rarity"]
        t.upto = dict(d.get("upto") or {})
        for ws in d["open"]:
            w = WindowAccumulator.from_state(ws)
            t.open[(w.size, w.start)] = w
        return t
