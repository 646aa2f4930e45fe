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
