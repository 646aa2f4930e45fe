"""The detect stage's wiring without Faust: per-partition state written back, idle entities
evicted from memory and the store, anomaly feedback, address forwarding."""

from __future__ import annotations

import orjson

from streams.judge import AddressJudge, Judge


def _ev(user: str, t: str, **extra) -> dict:
    return {"@timestamp": t, "user": {"name": user, "roles": ["analyst"]}, "source": {"ip": "10.0.0.1"},
            "event": {"id": f"{user}-{t}", "dataset": "db.audit", "action": "query", "outcome": "success"},
            "db": {"system": "postgresql", "instance": "pg1", "name": "crm", "statement": "SELECT 1"}, **extra}


def _apply(store: dict, writes) -> None:
    for _, key, value in writes:
        if value is None:
            store.pop(key.encode(), None)
        else:
            store[key.encode()] = value


def test_state_is_written_back_and_idle_entities_are_evicted():
    store: dict = {}
    j = Judge(store, global_every_s=0)
    j.on_event(_ev("alice", "2026-10-01T10:00:00Z"), "0")
    j.on_event(_ev("alice", "2026-10-01T10:05:00Z"), "0")
    _apply(store, j.take().writes)
    assert b"0|ueba|user:alice" in store and b"0|rules|user.name=alice" in store
    # forty days later (event time) another user: alice has been idle past evict_idle_days
    j.on_event(_ev("bob", "2026-11-10T10:00:00Z"), "0")
    out = j.take()
    assert ("0", "0|ueba|user:alice", None) in out.writes
    _apply(store, out.writes)
    assert b"0|ueba|user:alice" not in store and b"0|ueba|user:bob" in store
    assert "user:alice" not in j.partitions["0"].ueba.models


def test_a_new_judge_resumes_from_the_store():
    store: dict = {}
    j = Judge(store)
    for minute in range(5):
        j.on_event(_ev("carol", f"2026-11-10T10:0{minute}:00Z"), "1")
    _apply(store, j.take().writes)
    again = Judge(store)  # a restarted worker: open windows come back with the partition
    again.on_event(_ev("carol", "2026-11-10T10:06:00Z"), "1")
    summary = again.partitions["1"].ueba.entity_summary("user:carol")
    assert summary["first_seen"] == "2026-11-10T10:00:00.000Z"
    assert sum(summary["windows_seen"].values()) >= 5


def test_failed_logins_are_forwarded_by_address_only_when_an_address_rule_can_use_them():
    aj = AddressJudge({})
    j = Judge({}, forward=aj.wants)
    fail = _ev("dave", "2026-11-10T10:00:00Z", event={"id": "f1", "dataset": "db.audit", "action": "login",
                                                       "outcome": "failure"})
    j.on_event(fail, "0")
    j.on_event(_ev("dave", "2026-11-10T10:00:01Z"), "0")
    out = j.take()
    assert [(ip, e["event"]["id"]) for ip, e in out.forward] == [("10.0.0.1", "f1")]
    assert "statement" not in out.forward[0][1].get("db", {})
    got = []
    for i in range(9):  # nine accounts from one address, through the address engine
        e = orjson.loads(orjson.dumps(out.forward[0][1]))
        e["user"]["name"], e["event"]["id"] = f"u{i}", f"f{i}"
        e["@timestamp"] = f"2026-11-10T10:00:{10 + i:02d}Z"
        got += aj.on_event(e, "2").alerts
    assert [a["rule"]["name"] for a in got][:1] == ["Failed logins for many accounts from one address"]


def test_only_sources_with_events_to_deliver_hold_event_time_and_progress_is_reported():
    j = Judge({})
    j.set_waiting_for({"2": {"db.audit", "api.access"}})
    api = dict(_ev("erin", "2026-11-10T12:00:00Z"), event={"id": "a1", "dataset": "api.access", "action": "request",
                                                           "outcome": "success"})
    j.on_event(api, "2")
    assert j.progress()["2"]["watermark"] is None  # the DB input has not delivered yet
    j.on_event(_ev("erin", "2026-11-10T10:00:00Z"), "2")
    assert j.progress()["2"]["watermark"] < "2026-11-10T10:00:00"  # the DB source holds it
    j.set_waiting_for({"2": {"api.access"}})  # the DB input is caught up: no need for a new event
    assert j.progress()["2"]["watermark"] == "2026-11-10T11:59:00.000Z"
    assert any(sw.window.key == "user:erin" and sw.window.start == "2026-11-10T10:00:00.000Z"
               for sw in j.partitions["2"].pending)  # closed, scored at the batch's end (take)
    j.take()
    j.on_event(dict(api, **{"@timestamp": "2026-11-10T12:05:00Z"}), "2")
    got = j.progress()["2"]
    assert got["watermark"] > "2026-11-10T12:00:00" and got["waiting_for"] == ["api.access"]
    assert got["sources"] == {"api.access": "2026-11-10T12:05:00.000Z", "db.audit": "2026-11-10T10:00:00.000Z"}
    assert got["late_folds"] == {}


def test_a_restarted_judge_does_not_count_redelivered_events_again():
    """State reaches the store before offsets are committed: a worker that stops in between gets
    the batch again. The baselines skip what they had folded; what follows counts as usual."""
    events = [(_ev("erin", f"2026-11-10T10:{m:02d}:00Z"), ("parasol.db.audit", m)) for m in range(12)]

    def windows(judge: Judge) -> dict:
        return {key: sorted(w.features()["events"] for w in t.open.values())
                for key, t in judge.partitions["2"].ueba.aggregator.tracks.items()}

    straight = Judge({})
    for doc, pos in events:
        straight.on_event(doc, "2", pos)

    store: dict = {}
    j = Judge(store)
    for doc, pos in events[:8]:
        j.on_event(doc, "2", pos)
    _apply(store, j.take().writes)
    again = Judge(store)
    for doc, pos in events[5:]:  # offsets 5..7 again, then new ones
        again.on_event(doc, "2", pos)
    assert windows(again) == windows(straight) and len(windows(again)) == 3
    assert again.progress()["2"]["redelivered_folds"] == 3 * 3  # user, user x db, address
