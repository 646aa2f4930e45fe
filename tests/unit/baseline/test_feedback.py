"""A false-positive verdict on an anomaly alert teaches the entity's baseline that window."""

from __future__ import annotations

from detectors.baseline import UebaConfig, UebaDetector


def _ev(t: str, rows: int) -> dict:
    return {"@timestamp": t, "user": {"name": "alice", "roles": ["analyst"]}, "event": {"id": t},
            "db": {"rows": rows, "statement": "SELECT a FROM t"},
            "parasol": {"sql": {"operation": "read", "fingerprint": "f1"}, "tables": ["t"], "columns": ["t.a"]}}


def _trained() -> UebaDetector:
    det = UebaDetector(UebaConfig(sizes=(60,), sizes_by_kind={}, allowed_lateness=0, hst=False,
                                  grace_windows=5, min_history_days=0, peer_min_members=99))
    for day in range(3):
        for minute in range(10):
            det.process(_ev(f"2026-11-{10 + day:02d}T10:{minute:02d}:00Z", 10))
    return det


def test_an_accepted_window_moves_the_baseline_and_a_repeat_scores_lower():
    det, again = _trained(), _trained()
    det.process(_ev("2026-11-13T10:00:00Z", 50000))
    scored = det.process(_ev("2026-11-13T10:01:00Z", 10))
    w = next(sw for sw in scored if sw.window.key == "user:alice")
    assert w.score >= 0.8, w.score  # far off habit
    alert = det.to_alert(w)
    assert alert["parasol"]["anomaly"]["window"]["features"]["rows_read"] == 50000
    before = det.entity_state("user:alice")
    assert det.accept(alert) is True
    assert det.entity_state("user:alice") != before
    assert "user:alice" in det.take_dirty()
    # the same behaviour later: scores lower than on an identical detector that was not told
    for d in (det, again):
        d.process(_ev("2026-11-13T10:01:00Z", 10))
        d.process(_ev("2026-11-13T10:05:00Z", 50000))
    s_told = next(sw for sw in det.process(_ev("2026-11-13T10:06:00Z", 10)) if sw.window.key == "user:alice")
    again.process(_ev("2026-11-13T10:00:00Z", 50000))
    s_not = next(sw for sw in again.process(_ev("2026-11-13T10:06:00Z", 10)) if sw.window.key == "user:alice")
    assert s_told.score < s_not.score
    assert det.accept({"parasol": {"anomaly": {"entity": {"id": "user:nobody"}, "window": {"size_s": 60, "features": {"events": 1}}}}}) is False


def test_the_watermark_follows_the_slower_of_two_sources():
    """DB and API events of a partition arrive from two topics: a replay can run one hours ahead.
    The slower source's events must not be late, and windows close once both have passed."""
    from detectors.baseline import WindowAggregator

    agg = WindowAggregator(sizes=(60,), allowed_lateness=0)

    def ev(t: str, dataset: str) -> dict:
        return {"@timestamp": t, "user": {"name": "u"}, "event": {"id": t + dataset, "dataset": dataset}}

    closed = agg.add(ev("2026-11-20T10:00:05Z", "db.audit")) + agg.add(ev("2026-11-20T13:00:00Z", "api.access"))
    assert closed == []  # the DB source holds the watermark at 10:00:05
    agg.add(ev("2026-11-20T10:00:30Z", "db.audit"))
    assert agg.last_late == 0 and agg.late_dropped_from_window == 0
    closed = agg.add(ev("2026-11-20T10:01:10Z", "db.audit"))
    assert [(w.start, w.end) for w in closed if w.key == "user:u"] == [("2026-11-20T10:00:00.000Z", "2026-11-20T10:01:00.000Z")]
    # a source silent for source_idle_events events stops holding the watermark back
    agg.source_idle_events = 1
    agg.add(ev("2026-11-20T13:00:10Z", "api.access"))
    closed = agg.add(ev("2026-11-20T13:01:30Z", "api.access"))
    from detectors.baseline.timebase import parse_ts

    assert agg.watermark == parse_ts("2026-11-20T13:01:30Z")  # no longer held at 10:01:10


def test_a_source_with_a_backlog_holds_the_watermark_however_long_the_other_runs():
    """Told which sources still have events to deliver (the wiring knows each input's consumer
    lag), the aggregator waits for them without counting events or time — even for one not
    heard from yet — and stops waiting for a caught-up one."""
    from detectors.baseline import WindowAggregator
    from detectors.baseline.timebase import format_ts, parse_ts

    agg = WindowAggregator(sizes=(60,), allowed_lateness=0, source_idle_events=3)
    agg.waiting_for = {"db.audit", "api.access"}

    def ev(ts: float, dataset: str) -> dict:
        return {"@timestamp": format_ts(ts), "user": {"name": "u"}, "event": {"id": f"{ts}{dataset}", "dataset": dataset}}

    t0 = parse_ts("2026-11-20T10:00:05Z")
    for i in range(10):  # the DB source has not started: nothing closes, whatever the API does
        assert agg.add(ev(t0 + 3600 + i, "api.access")) == []
    agg.add(ev(t0, "db.audit"))
    for i in range(50):  # far more API events than source_idle_events: the DB source still holds
        assert agg.add(ev(t0 + 3610 + i, "api.access")) == []
    agg.add(ev(t0 + 30, "db.audit"))
    assert agg.late_dropped_from_window == 0 and agg.watermark == t0 + 30
    agg.waiting_for = {"api.access"}  # the DB input has nothing left to read: no longer waited for
    closed = agg.add(ev(t0 + 3700, "api.access"))
    assert agg.watermark == t0 + 3700 and any(w.key == "user:u" and w.start_s == t0 - 5 for w in closed)
    agg.add(ev(t0 + 40, "db.audit"))  # a DB event after all: later than the watermark
    assert agg.late_by_source == {"db.audit": 1} and agg.global_state()["late_by_source"] == {"db.audit": 1}
