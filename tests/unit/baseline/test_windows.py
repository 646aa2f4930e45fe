"""Tumbling windows on event time, the watermark, late events, state."""

from __future__ import annotations

import orjson

from detectors.baseline.entities import EntityRules
from detectors.baseline.windows import WindowAggregator

from .helpers import db_event, ts

USER_ONLY = EntityRules(kinds=frozenset({"user"}))


def agg(**kw) -> WindowAggregator:
    kw.setdefault("sizes", (60, 3600))
    kw.setdefault("allowed_lateness", 30)
    kw.setdefault("rules", USER_ONLY)
    return WindowAggregator(**kw)


def test_windows_close_when_watermark_passes_their_end():
    a = agg()
    assert a.add(db_event(ts(0, 9, 10), eid="a")) == []
    assert a.add(db_event(ts(0, 9, 70), eid="b")) == []          # wm 9:00:40 < 9:01
    closed = a.add(db_event(ts(0, 9, 95), eid="c"))               # wm 9:01:05 >= 9:01
    assert [(w.size, w.start, w.end, w.features["events"], w.evidence) for w in closed] == [
        (60, "2026-11-02T09:00:00.000Z", "2026-11-02T09:01:00.000Z", 1, ["a"])]
    assert a.watermark == a.max_ts - 30
    # the hour window closes only once the watermark reaches 10:00
    assert [w.size for w in a.add(db_event(ts(0, 9, 3590), eid="d"))] == [60]
    assert a.add(db_event(ts(0, 10, 29), eid="e")) == []
    closed = a.add(db_event(ts(0, 10, 31), eid="f"))
    hours = [w for w in closed if w.size == 3600]
    assert [(w.start, w.features["events"]) for w in hours] == [("2026-11-02T09:00:00.000Z", 4)]


def test_late_event_inside_lateness_is_folded_beyond_is_counted():
    a = agg(sizes=(60,))
    a.add(db_event(ts(0, 9, 10), eid="a"))
    a.add(db_event(ts(0, 9, 80), eid="b"))                       # wm 9:00:50
    assert a.add(db_event(ts(0, 9, 20), eid="late-ok")) == []     # its window is still open
    assert (a.last_late, a.late_dropped_from_window) == (0, 0)
    closed = a.add(db_event(ts(0, 9, 100), eid="c"))              # wm 9:01:10: closes 9:00
    assert closed[0].evidence == ["a", "late-ok"]
    assert closed[0].features["events"] == 2
    assert a.add(db_event(ts(0, 9, 30), eid="too-late")) == []
    assert (a.last_late, a.late_dropped_from_window) == (1, 1)
    # the late event still updated the entity's memory (last seen unchanged, first seen kept)
    assert a.tracks["user:alice"].first_ts == closed[0].start_s + 10


def test_late_for_the_minute_still_counts_in_the_open_hour():
    a = agg()
    a.add(db_event(ts(0, 9, 10)))
    a.add(db_event(ts(0, 9, 200)))                                # wm 9:02:50
    a.add(db_event(ts(0, 9, 20), eid="x"))
    assert (a.last_late, a.late_dropped_from_window) == (1, 1)
    (hour,) = a.close_all()[-1:]
    assert hour.size == 3600 and "x" in hour.evidence and hour.features["events"] == 3


def test_flush_and_close_all():
    a = agg(sizes=(60,), allowed_lateness=300)
    a.add(db_event(ts(0, 9, 10)))
    a.add(db_event(ts(0, 9, 130)))
    assert [w.start for w in a.flush(a.max_ts)] == ["2026-11-02T09:00:00.000Z"]
    assert a.watermark == a.max_ts
    assert [w.start for w in a.close_all()] == ["2026-11-02T09:02:00.000Z"]
    assert a.close_all() == []


def test_sizes_by_kind():
    a = WindowAggregator(sizes=(60, 3600), sizes_by_kind={"ip": (3600,)}, allowed_lateness=0)
    a.add(db_event(ts(0, 9, 10)))
    closed = a.close_all()
    assert sorted((w.kind, w.size) for w in closed) == [
        ("ip", 3600), ("user", 60), ("user", 3600), ("user_db", 60), ("user_db", 3600)]


def test_state_round_trip_resumes_open_windows():
    events = [db_event(ts(0, 9, s), eid=f"e{s}", tables=(f"t{s % 3}",)) for s in range(0, 400, 7)]
    a, b = agg(), agg()
    for e in events[:30]:
        a.add(e)
    state = orjson.loads(orjson.dumps(a.to_state()))              # plain JSON
    b.load_state(state)
    rest_a = [w.to_dict() for e in events[30:] for w in a.add(e)] + [w.to_dict() for w in a.close_all()]
    rest_b = [w.to_dict() for e in events[30:] for w in b.add(e)] + [w.to_dict() for w in b.close_all()]
    assert rest_a == rest_b and len(rest_a) > 3


def test_evict_idle_keeps_entities_with_open_windows():
    a = agg(sizes=(60,))
    a.add(db_event(ts(0, 9), user="old"))
    a.add(db_event(ts(0, 9, 120), user="new"))
    now = a.max_ts + 10 * 86400
    assert a.evict_idle(now, 5 * 86400) == ["user:old"]          # "new" still has a window open
    a.close_all()
    assert a.evict_idle(now, 5 * 86400) == ["user:new"]
    assert a.tracks == {}


def test_an_entity_first_seen_without_roles_joins_its_role_once_an_event_names_it():
    """API access logs rarely carry roles: an entity first seen there must not stay in the
    role-less group when its DB events (roles known) arrive later."""
    a = WindowAggregator(sizes=(60,), allowed_lateness=0)
    a.waiting_for = set()  # both inputs caught up: the latest event moves the watermark
    api = {"@timestamp": "2026-11-20T10:00:00Z", "user": {"name": "li"}, "event": {"id": "1", "dataset": "api.access"},
           "service": {"name": "crm-api"}, "http": {"request": {"method": "GET"}}, "url": {"path": "/tickets/1"}}
    a.add(api)
    assert a.tracks["user:li"].groups[0] == "user:role=none"
    a.add({"@timestamp": "2026-11-20T10:00:05Z", "user": {"name": "li", "roles": ["support"]},
           "event": {"id": "2", "dataset": "db.audit"}, "db": {"instance": "pg1", "name": "crm"}})
    assert a.tracks["user:li"].groups == ("user:role=support", "user:*")
    a.add(dict(api, **{"@timestamp": "2026-11-20T10:00:09Z"}))  # roles missing again: kept
    closed = a.add(dict(api, **{"@timestamp": "2026-11-20T10:01:30Z"}))
    assert a.tracks["user:li"].groups[0] == "user:role=support"
    assert [w.groups[0] for w in closed if w.key == "user:li"] == ["user:role=support"]


def _stream(n: int = 60) -> list[dict]:
    users = ("alice", "bob")
    return [db_event(ts(0, 9, 11 * i), user=users[i % 2], eid=f"e{i}", rows=i, tables=(f"t{i % 4}",))
            for i in range(n)]


def test_events_delivered_again_are_not_counted_twice():
    """After a restart the input hands over again events whose effect the state already holds
    (offsets not yet committed): with positions they change nothing."""
    events = _stream()
    once = agg()
    expect = [w.to_dict() for i, e in enumerate(events) for w in once.add(e, ("db", i))]
    expect += [w.to_dict() for w in once.close_all()]

    first, again = agg(), agg()
    got = [w.to_dict() for i, e in enumerate(events[:40]) for w in first.add(e, ("db", i))]
    again.load_state(orjson.loads(orjson.dumps(first.to_state())))  # the restarted worker
    got += [w.to_dict() for i, e in enumerate(events[25:], 25) for w in again.add(e, ("db", i))]
    got += [w.to_dict() for w in again.close_all()]
    assert got == expect
    assert again.redelivered == 15  # events 25..39, one entity each


def test_without_positions_a_redelivery_counts_twice():
    """The same redelivery without positions: what the test above guards against."""
    events = _stream()
    once, twice = agg(), agg()
    for e in events:
        once.add(e)
    for e in events[:40] + events[25:]:
        twice.add(e)
    hours = lambda a: {w.key: w.features["events"] for w in a.close_all() if w.size == 3600}  # noqa: E731
    assert sum(hours(twice).values()) == sum(hours(once).values()) + 15


def test_positions_that_start_again_with_newer_events_are_folded():
    """A re-created topic starts its offsets at 0 again: newer events are not taken for copies."""
    a = agg(sizes=(60,))
    for i in range(5):
        a.add(db_event(ts(0, 9, 10 * i), eid=f"old{i}"), ("db", 100 + i))
    closed = [w for i in range(5) for w in a.add(db_event(ts(0, 10, 10 * i), eid=f"new{i}"), ("db", i))]
    assert a.redelivered == 0
    assert a.tracks["user:alice"].upto == {"db": 5}
    closed += a.close_all()
    assert sum(w.features["events"] for w in closed) == 10


def test_positions_are_kept_per_input():
    """DB and API topics have offsets of their own: offset 3 of one says nothing of the other."""
    a = agg(sizes=(60,))
    a.add(db_event(ts(0, 9, 10), eid="d"), ("db", 3))
    a.add(db_event(ts(0, 9, 5), eid="x"), ("api", 1))
    assert a.redelivered == 0 and a.tracks["user:alice"].upto == {"db": 4, "api": 2}
