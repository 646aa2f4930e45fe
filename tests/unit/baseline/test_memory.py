"""First-seen memory, peer novelty during warm-up, the hour-of-week profile."""

from __future__ import annotations

from detectors.baseline.features import NO_NEW, Facts
from detectors.baseline.memory import SEEN_CAPS, EntityTrack, GroupMemory, HourProfile

from .helpers import db_event, ts


def observe(track, groups, event, warm=0.0, prof=0.0, members=1, hours=0.0):
    return track.observe(Facts.of(event), groups, warm, prof, members, hours)


def test_first_seen_counts_once():
    t, g = EntityTrack("user:a", "user", ("user:role=analyst",)), {}
    e = db_event(ts(), tables=("orders", "products"), columns=("orders.amount",), app="psql")
    novel, examples, _, _ = observe(t, g, e)
    assert novel == (2, 1, 1, 1, 0, 1)                     # tables, columns, ips, apps, routes, stmts
    assert examples["tables"] == ["crm/orders", "crm/products"]
    assert observe(t, g, e)[0] is NO_NEW
    assert observe(t, g, db_event(ts(), tables=("orders",), columns=(), ip="10.9.9.9", app="psql"))[0] \
        == (0, 0, 1, 0, 0, 0)


def test_seen_sets_are_bounded_fifo():
    t, g = EntityTrack("ip:x", "ip", ("ip:*",)), {}
    for i in range(SEEN_CAPS["tables"] + 5):
        observe(t, g, db_event(ts(), tables=(f"t{i}",), columns=()))
    assert len(t.seen["tables"]) == SEEN_CAPS["tables"]
    assert "crm/t0" not in t.seen["tables"] and "crm/t5" in t.seen["tables"]


def test_warm_up_novelty_is_judged_by_peers():
    g: dict[str, GroupMemory] = {}
    veteran = EntityTrack("user:v", "user", ("user:role=analyst",))
    observe(veteran, g, db_event(ts(), user="v", tables=("orders",), columns=("orders.amount",)))
    newbie = EntityTrack("user:n", "user", ("user:role=analyst",))
    # what analysts use is not new for a newcomer; what they never used is; addresses never count
    e = db_event(ts(), user="n", tables=("orders", "salaries"), columns=("orders.amount",), ip="10.7.7.7")
    novel, examples, _, _ = observe(newbie, g, e, warm=8, members=2)
    assert novel[:3] == (1, 0, 0) and examples["tables"] == ["crm/salaries"]
    # without a mature peer group nothing can be judged new during warm-up
    lonely = EntityTrack("user:l", "user", ("user:role=nobody",))
    assert observe(lonely, g, e, warm=8, members=2)[0] is NO_NEW


def test_hour_profile_rarity():
    p = HourProfile()
    for day in range(5):
        for h in range(9, 18):
            p.add(day * 24 + h)
    assert p.rarity(2 * 24 + 11) == 0.0                 # Wednesday 11:00: usual
    assert p.rarity(6 * 24 + 3) == 1.0                  # Sunday 03:00: never near it
    assert 0.3 < p.rarity(5 * 24 + 11) < 0.8            # Saturday 11:00: the hour, not the day
    assert p.usual_hours() == (9, 18)
    assert HourProfile.from_state(p.to_state()).counts == p.counts


def test_rarity_uses_own_profile_after_warm_up_and_is_unknown_before():
    t, g = EntityTrack("user:a", "user", ("user:role=x",)), {}
    for day in range(5):
        for h in range(9, 17):
            observe(t, g, db_event(ts(day, h)), prof=40, hours=1e9)
    assert t.hours == 40
    assert observe(t, g, db_event(ts(7, 3)), prof=40, hours=1e9)[2] == 1.0
    young = EntityTrack("user:b", "user", ("user:role=y",))
    assert observe(young, g, db_event(ts(7, 3), user="b"), prof=40, hours=1e9)[2] is None


def test_idle_days():
    t, g = EntityTrack("user:a", "user", ()), {}
    observe(t, g, db_event(ts(0, 9)))
    assert observe(t, g, db_event(ts(0, 9, 1800)))[3] == 0.0      # under an hour: not idle
    assert observe(t, g, db_event(ts(10, 9, 1800)))[3] == 10.0


def test_track_and_group_state_round_trip():
    t, g = EntityTrack("user:a", "user", ("user:role=analyst",)), {}
    for i in range(20):
        observe(t, g, db_event(ts(i % 3, 9 + i % 5), tables=(f"t{i % 4}",)))
    t2 = EntityTrack.from_state(t.to_state())
    assert t2.to_state() == t.to_state()
    g2 = GroupMemory.from_state(g["user:role=analyst"].to_state())
    assert g2.to_state() == g["user:role=analyst"].to_state()
