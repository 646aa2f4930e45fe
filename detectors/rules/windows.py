"""Stateful rule types over event time: threshold, new terms, sequence.

Each function takes the rule's spec, the per-entity state dict for this rule (plain JSON data,
created empty by the caller and kept in the entity's Faust-table value), the event's time, id and
the event, and returns a :class:`Hit` when the rule's evidence is complete, else ``None``. State
is bounded: timestamps older than the window are dropped on every call, lists and maps are
capped, so an entity's state has a fixed worst-case size whatever the traffic.

>>> from detectors.rules.model import ThresholdSpec
>>> spec, st = ThresholdSpec(count=3, window_s=60), {}
>>> [threshold(spec, st, t, f"e{t}", {}) is not None for t in (0, 10, 100, 110, 120)]
[False, False, False, False, True]
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from detectors.rules.fields import getter, iso, values
from detectors.rules.model import NewTermsSpec, SequenceSpec, ThresholdSpec

__all__ = ["EVIDENCE", "Hit", "new_terms", "sequence", "threshold"]

#: Event ids kept per window / step as evidence.
EVIDENCE = 20


@dataclass(frozen=True)
class Hit:
    """Complete evidence: its event-time span, event ids and context for the explanation."""

    start: float
    end: float
    event_ids: tuple[str, ...]
    context: dict[str, Any] = field(default_factory=dict)


def _value_key(v: Any) -> str:
    return v if isinstance(v, str) else repr(v)


def threshold(spec: ThresholdSpec, st: dict, ts: float, eid: str | None, event: Any
              ) -> Hit | None:
    """Count (or distinct count of ``spec.distinct``) ≥ ``spec.count`` within the window.

    Sliding: the last ``count`` times (or the most recent ``count`` distinct values with the
    time each was last seen) are kept; the rule holds when the oldest of them is within
    ``window`` of the newest. Tumbling: windows aligned to the epoch; a late event for a closed
    window is ignored."""
    w = spec.window_s
    if spec.distinct is not None:
        vals = values(getter(spec.distinct)(event))
        if not vals:
            return None
    else:
        vals = [None]
    if eid and eid in st.get("ids", ()):
        return None  # the same event delivered again
    if spec.mode == "tumbling":
        bucket = int(ts // w) if w > 0 else 0
        if st.get("b") != bucket:
            if st.get("b") is not None and bucket < st["b"]:
                return None  # late event of a window that has closed
            st.clear()
            st.update({"b": bucket, "n": 0, "ids": [], "v": []})
        if spec.distinct is not None:
            for v in vals:
                k = _value_key(v)
                if k not in st["v"] and len(st["v"]) < spec.count * 2:
                    st["v"].append(k)
            n = len(st["v"])
        else:
            st["n"] += 1
            n = st["n"]
        if eid and len(st["ids"]) < EVIDENCE:
            st["ids"].append(eid)
        if n >= spec.count:
            start = bucket * w
            return Hit(start, ts, tuple(st["ids"]),
                       {"count": n, "window": _human(w), "window_start": iso(start)})
        return None
    if spec.distinct is None:
        times: list = st.setdefault("t", [])
        ids: list = st.setdefault("ids", [])
        i = bisect.bisect_right(times, ts)
        times.insert(i, ts)
        ids.insert(i, eid or "")
        newest = times[-1]
        while times and times[0] < newest - w:
            times.pop(0)
            ids.pop(0)
        if len(times) > spec.count:
            del times[: len(times) - spec.count]
            del ids[: len(ids) - spec.count]
        if len(times) >= spec.count:
            return Hit(times[0], times[-1], tuple(x for x in ids[-EVIDENCE:] if x),
                       {"count": len(times), "window": _human(w)})
        return None
    seen: dict = st.setdefault("v", {})  # value -> [last_seen, event_id]
    for v in vals:
        k = _value_key(v)
        prev = seen.get(k)
        if prev is None or ts >= prev[0]:
            seen[k] = [ts, eid or ""]
    cap = spec.count * 2
    if len(seen) > cap:
        for k in sorted(seen, key=lambda k: seen[k][0])[: len(seen) - cap]:
            del seen[k]
    newest = max(x[0] for x in seen.values())
    for k in [k for k, x in seen.items() if x[0] < newest - w]:
        del seen[k]
    if len(seen) >= spec.count:
        ordered = sorted(seen.values())
        return Hit(ordered[0][0], ordered[-1][0],
                   tuple(x[1] for x in ordered[-EVIDENCE:] if x[1]),
                   {"count": len(seen), "window": _human(w), "distinct": spec.distinct})
    return None


def new_terms(spec: NewTermsSpec, st: dict, ts: float, eid: str | None, event: Any
              ) -> Hit | None:
    """A value (or combination of values) of ``spec.fields`` this entity has not used within
    ``history`` — after ``learning`` since the entity was first seen by the rule.

    With ``fields: [user.name]`` this is dormant-account reactivation: the only term is the
    account itself, new again after ``history`` of silence. State: ``{"first": ts, "terms":
    {term: last_seen}}``, at most ``max_terms`` terms (the least recently seen go first)."""
    parts = []
    for f in spec.fields:
        vs = values(getter(f)(event))
        if not vs:
            return None
        parts.append([_value_key(v) for v in vs[:8]])
    combos = [""]
    for vs in parts:
        combos = [f"{c}\x1f{v}" if c else v for c in combos for v in vs][:16]
    first = st.get("first")
    if first is None or ts < first:
        st["first"] = first = ts
    terms: dict = st.setdefault("terms", {})
    learning = ts - first < spec.learning_s
    hit = None
    for term in combos:
        prev = terms.get(term)
        is_new = prev is None or ts - prev > spec.history_s
        if is_new and not learning and hit is None:
            ctx = {"terms": term.replace("\x1f", ", "), "fields": ", ".join(spec.fields)}
            if prev is not None:
                ctx["last_seen"] = iso(prev)
                ctx["gap_days"] = round((ts - prev) / 86400, 1)
            else:
                ctx["last_seen"] = "never"
                ctx["gap_days"] = None
            hit = Hit(ts, ts, (eid,) if eid else (), ctx)
        if prev is None or ts > prev:
            terms[term] = ts
    if len(terms) > spec.max_terms:
        for k in sorted(terms, key=terms.__getitem__)[: len(terms) - spec.max_terms]:
            del terms[k]
    return hit


def sequence(spec: SequenceSpec, st: dict, ts: float, eid: str | None, event: Any,
             is_alert: bool = False) -> Hit | None:
    """Steps in order for the same entity, first to last within ``within``.

    Each step keeps its recent matching events ``[ts, arrival, id]`` (bounded). When an event
    matches the last step, the latest matches are chosen backwards — each step's ``count``
    matches strictly before the next step's earliest — which is the choice that leaves the most
    room, so a sequence is found whenever one exists among the kept events. A completed sequence
    clears the rule's state."""
    steps = spec.steps
    seq = int(st.get("n", 0)) + 1
    st["n"] = seq
    lists: list = st.setdefault("s", [[] for _ in steps])
    if len(lists) != len(steps):
        lists[:] = [[] for _ in steps]
    floor = ts - spec.within_s
    matched_last = False
    for i, step in enumerate(steps):
        if (step.input == "alerts") != is_alert or not step.when.match(event):
            continue
        lst = lists[i]
        if eid and any(x[2] == eid for x in lst):
            continue  # the same event delivered again
        lst.append([ts, seq, eid or ""])
        lst.sort()
        cap = max(2 * step.count, 8)
        if len(lst) > cap:
            del lst[: len(lst) - cap]
        if i == len(steps) - 1:
            matched_last = True
    for lst in lists:
        while lst and lst[0][0] < floor:
            lst.pop(0)
    if not matched_last:
        return None
    bound = (float("inf"), float("inf"))
    chosen: list = []
    for i in range(len(steps) - 1, -1, -1):
        need = steps[i].count
        picks = [x for x in lists[i] if (x[0], x[1]) < bound and x[0] >= floor]
        if i == len(steps) - 1:
            picks = [x for x in picks if x[1] <= seq]
        if len(picks) < need:
            return None
        picks = picks[-need:]
        chosen = picks + chosen
        bound = (picks[0][0], picks[0][1])
    for lst in lists:
        lst.clear()
    start = chosen[0][0]
    return Hit(start, ts, tuple(x[2] for x in chosen[-EVIDENCE:] if x[2]),
               {"steps": len(steps), "within": _human(spec.within_s),
                "span": _human(ts - start)})


def _human(seconds: float) -> str:
    s = float(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size and s % size == 0:
            return f"{int(s // size)}{unit}"
    if s >= 60:
        return f"{s / 60:.0f}m"
    return f"{s:.0f}s"

