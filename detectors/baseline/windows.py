"""Tumbling event-time windows per entity, closed by a watermark.

``add(event)`` reads the event once (:class:`~detectors.baseline.features.Facts`), updates the
memory of every entity it is about and folds it into that entity's open window of each size.
The watermark is the highest event time seen minus ``allowed_lateness``; a window closes — and is
returned as a :class:`ClosedWindow`, in (end, key) order — once its end is at or before the
watermark. An event whose window has already closed is not folded into it: it is counted in
``late_dropped_from_window`` (and in ``last_late`` for the caller, which still indexes the
event); it still updates the entity's first-seen memory and any larger window still open.

The watermark is per aggregator: use one per Kafka partition (partitions advance on their own).
Entities idle long enough have no open windows; :meth:`WindowAggregator.flush` closes windows up
to a given event time (end of stream, or an idle partition), :meth:`close_all` everything.

>>> agg = WindowAggregator(sizes=(60,), allowed_lateness=10)
>>> ev = lambda t, i: {"@timestamp": f"2026-11-20T10:{t}Z", "user": {"name": "alice"},
...                    "event": {"id": i}, "db": {"name": "crm"}, "parasol": {"tables": ["t"]}}
>>> agg.add(ev("00:05", "a")), agg.add(ev("01:05", "b"))       # 10:01:05 - 10 s < 10:01:00
([], [])
>>> [(w.key, w.start, w.features["events"], w.evidence) for w in agg.add(ev("01:20", "c"))]
[('user:alice', '2026-11-20T10:00:00.000Z', 1, ['a']), ('user_db:alice@-/crm', '2026-11-20T10:00:00.000Z', 1, ['a'])]
>>> agg.add(ev("00:50", "late")), agg.last_late, agg.late_dropped_from_window
([], 2, 2)
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from detectors.baseline.entities import EntityRules
from detectors.baseline.features import Facts, WindowAccumulator
from detectors.baseline.memory import EntityTrack, GroupMemory
from detectors.baseline.timebase import format_ts

__all__ = ["ClosedWindow", "WindowAggregator"]


@dataclass(slots=True)
class ClosedWindow:
    """A finished window of one entity: what the scorers and alerts need, nothing more."""

    key: str
    kind: str
    size: int
    start_s: float
    end_s: float
    features: dict[str, float]
    evidence: list[str]
    context: dict[str, Any]
    groups: tuple[str, ...] = ()
    acc: WindowAccumulator | None = field(default=None, repr=False, compare=False)
    _details: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def details(self) -> dict[str, Any]:
        """What explanations need beyond the features (first/last time, highest level, DDL
        commands, examples of new items, the most enumerated route); computed on demand."""
        if self._details is None:
            self._details = self.acc.details() if self.acc is not None else {}
        return self._details

    @property
    def start(self) -> str:
        return format_ts(self.start_s)

    @property
    def end(self) -> str:
        return format_ts(self.end_s)

    def to_dict(self) -> dict:
        return {"key": self.key, "kind": self.kind, "size": self.size, "start": self.start,
                "end": self.end, "features": self.features, "evidence": self.evidence,
                "context": self.context, "groups": list(self.groups), "details": self.details}


class WindowAggregator:
    """Entity memories + open windows for one stream of events (one partition).

    ``sizes`` are window lengths in seconds; ``sizes_by_kind`` narrows them per entity kind
    (e.g. ``{"ip": (3600,)}``). ``resolver(key)`` may return an :class:`EntityTrack` for an
    entity not in memory (state loaded from a table); ``groups`` is the shared peer memory.
    """

    def __init__(
        self,
        sizes: Iterable[int] = (60, 3600),
        allowed_lateness: float = 60.0,
        max_evidence: int = 20,
        rules: EntityRules | None = None,
        sizes_by_kind: dict[str, tuple[int, ...]] | None = None,
        novelty_warmup_hours: float = 8.0,
        profile_warmup_hours: float = 40.0,
        peer_min_members: int = 2,
        peer_min_hours: float = 40.0,
        groups: dict[str, GroupMemory] | None = None,
        resolver: Callable[[str], EntityTrack | None] | None = None,
        source_idle_events: int = 5000,
    ):
        self.sizes = tuple(sizes)
        self.allowed_lateness = allowed_lateness
        self.max_evidence = max_evidence
        self.rules = rules or EntityRules()
        self.sizes_by_kind = sizes_by_kind
        self.novelty_warmup_hours = novelty_warmup_hours
        self.profile_warmup_hours = profile_warmup_hours
        self.peer_min_members = peer_min_members
        self.peer_min_hours = peer_min_hours
        self.groups: dict[str, GroupMemory] = groups if groups is not None else {}
        self.resolver = resolver
        self.tracks: dict[str, EntityTrack] = {}
        self.max_ts = float("-inf")
        self.watermark = float("-inf")
        #: Highest event time per source (``event.dataset``): DB and API events of a partition
        #: come from two topics consumed independently (catching up on a backlog, one runs days
        #: of event time ahead of the other), so the watermark follows the slower of the sources
        #: that still have events to deliver, as a stream processor aligns its inputs.
        self.source_max: dict[str, float] = {}
        self.source_seen: dict[str, int] = {}
        self.source_idle_events = source_idle_events
        #: The sources the caller knows still have events to deliver (their input has a backlog,
        #: or has not started yet): only they hold the watermark back, and one not heard from
        #: yet holds it where it is. None (no such knowledge, e.g. a file replay): every source
        #: holds it but one none of whose events was among the last ``source_idle_events``.
        self.waiting_for: set[str] | None = None
        self.late_dropped_from_window = 0
        #: the same, per source (``event.dataset``): which input runs late
        self.late_by_source: dict[str, int] = {}
        self.last_late = 0
        #: (entity, event) folds skipped: the event had been folded into that entity before
        self.redelivered = 0
        self.events = 0
        self._ends: list[float] = []                     # heap of distinct window ends
        self._by_end: dict[float, list[tuple[str, int, float]]] = {}
        self.touched: set[str] = set()

    # -- the hot path --------------------------------------------------------------------------
    def add(self, event: dict, position: tuple[str, int] | None = None) -> list[ClosedWindow]:
        """Fold one enriched event in; return the windows the advanced watermark closed.

        ``position`` (input, sequence number: a Kafka topic and offset) lets an entity skip an
        event it has already folded in, when the input delivers it again."""
        f = Facts.of(event)
        ts = f.ts
        self.events += 1
        late = 0
        wm = self.watermark
        tracks = self.tracks
        by_kind = self.sizes_by_kind
        for ref in self.rules.refs(event):
            key = ref.key
            track = tracks.get(key)
            if track is None:
                track = self.track(key, ref.kind, ref.groups)
            elif track.groups != ref.groups and "role=none" in track.groups[0] and "role=none" not in ref.groups[0]:
                # First seen in events that carry no roles (API access logs usually do not):
                # its peers are its role's once an event names the role.
                track.groups = ref.groups
            if position is not None:
                if track.folded(position[0], position[1], ts):
                    self.redelivered += 1
                    continue
                track.upto[position[0]] = position[1] + 1
            novel, examples, rarity, idle = track.observe(
                f, self.groups, self.novelty_warmup_hours, self.profile_warmup_hours,
                self.peer_min_members, self.peer_min_hours)
            self.touched.add(key)
            opened = track.open
            for size in (by_kind.get(ref.kind, self.sizes) if by_kind else self.sizes):
                start = ts - ts % size
                if start + size <= wm:
                    late += 1
                    continue
                w = opened.get((size, start))
                if w is None:
                    w = opened[(size, start)] = WindowAccumulator(start, size)
                    self._index(key, size, start)
                w.fold(f, novel, rarity, idle, self.max_evidence, examples)
        self.last_late = late
        src = (event.get("event") or {}).get("dataset") or "-"
        if late:
            self.late_dropped_from_window += late
            self.late_by_source[src] = self.late_by_source.get(src, 0) + late
        sources = self.source_max
        self.source_seen[src] = n = self.events
        if ts > sources.get(src, float("-inf")):
            sources[src] = ts
            if ts > self.max_ts:
                self.max_ts = ts
            if self.waiting_for is not None:
                slowest = self._held_at(ts)
            elif len(sources) == 1:
                slowest = ts
            else:
                seen, idle = self.source_seen, self.source_idle_events
                slowest = min(m for s_, m in sources.items() if n - seen.get(s_, n) <= idle)
            new_wm = slowest - self.allowed_lateness
            if new_wm > wm:
                self.watermark = new_wm
                if self._ends and self._ends[0] <= new_wm:
                    return self._close_until(new_wm)
        return []

    def advance(self) -> list[ClosedWindow]:
        """Move the watermark after ``waiting_for`` changed (an input caught up, or started):
        without waiting for the next event, close the windows it passed."""
        if self.waiting_for is None or not self.source_max:
            return []
        new_wm = self._held_at(max(self.source_max.values())) - self.allowed_lateness
        if new_wm <= self.watermark:
            return []
        self.watermark = new_wm
        return self._close_until(new_wm)

    def _held_at(self, ts: float) -> float:
        """``ts``, or the latest event of a source still waited for if that is earlier (-inf
        for one not heard from yet)."""
        for s_ in self.waiting_for or ():
            ts = min(ts, self.source_max.get(s_, float("-inf")))
        return ts

    def track(self, key: str, kind: str, groups: tuple[str, ...]) -> EntityTrack:
        t = self.tracks.get(key)
        if t is None:
            t = self.resolver(key) if self.resolver else None
            if t is None:
                t = EntityTrack(key, kind, groups)
            self.adopt(t)
        return t

    def adopt(self, track: EntityTrack) -> None:
        """Put a (restored) track in memory and index its open windows."""
        self.tracks[track.key] = track
        for (size, start) in track.open:
            self._index(track.key, size, start)

    def _index(self, key: str, size: int, start: float) -> None:
        end = start + size
        lst = self._by_end.get(end)
        if lst is None:
            lst = self._by_end[end] = []
            heapq.heappush(self._ends, end)
        lst.append((key, size, start))

    def _close_until(self, until: float) -> list[ClosedWindow]:
        out: list[ClosedWindow] = []
        while self._ends and self._ends[0] <= until:
            end = heapq.heappop(self._ends)
            for key, size, start in sorted(self._by_end.pop(end)):
                t = self.tracks.get(key)
                w = t.open.pop((size, start), None) if t is not None else None
                if w is None:
                    continue
                self.touched.add(key)
                out.append(ClosedWindow(key, t.kind, size, start, end, w.features(), w.evidence,
                                        w.context, t.groups, w))
        return out

    def flush(self, until_ts: float) -> list[ClosedWindow]:
        """Close every window ending at or before ``until_ts`` (epoch s of event time) and move
        the watermark there, e.g. at the end of a replay or when a partition has gone idle."""
        self.watermark = max(self.watermark, until_ts)
        return self._close_until(until_ts)

    def close_all(self) -> list[ClosedWindow]:
        return self._close_until(float("inf"))

    # -- memory management ---------------------------------------------------------------------
    def evict_idle(self, now_ts: float, idle_s: float) -> list[str]:
        """Forget entities with no event since ``now_ts − idle_s`` and no open window."""
        gone = [k for k, t in self.tracks.items()
                if not t.open and t.last_ts is not None and t.last_ts < now_ts - idle_s]
        for k in gone:
            del self.tracks[k]
        return gone

    def release(self, key: str) -> EntityTrack | None:
        """Drop a track from memory (its state persisted elsewhere) unless it has open windows."""
        t = self.tracks.get(key)
        if t is None or t.open:
            return None
        return self.tracks.pop(key)

    # -- state ---------------------------------------------------------------------------------
    def global_state(self) -> dict:
        return {"max_ts": self.max_ts if self.max_ts != float("-inf") else None,
                "watermark": self.watermark if self.watermark != float("-inf") else None,
                "late_dropped_from_window": self.late_dropped_from_window, "events": self.events,
                "late_by_source": dict(self.late_by_source), "redelivered": self.redelivered,
                "groups": {g: m.to_state() for g, m in self.groups.items()}}

    def load_global_state(self, d: dict) -> None:
        self.max_ts = d["max_ts"] if d["max_ts"] is not None else float("-inf")
        self.watermark = d["watermark"] if d["watermark"] is not None else float("-inf")
        self.late_dropped_from_window = d["late_dropped_from_window"]
        self.late_by_source = dict(d.get("late_by_source") or {})
        self.redelivered = d.get("redelivered", 0)
        self.events = d["events"]
        self.groups.clear()
        self.groups.update({g: GroupMemory.from_state(m) for g, m in d["groups"].items()})

    def to_state(self) -> dict:
        return self.global_state() | {"tracks": {k: t.to_state() for k, t in self.tracks.items()}}

    def load_state(self, d: dict) -> None:
        self.load_global_state(d)
        self.tracks.clear()
        self._ends.clear()
        self._by_end.clear()
        for s in d["tracks"].values():
            self.adopt(EntityTrack.from_state(s))
