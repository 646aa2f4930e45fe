"""The UEBA detector end to end on small deterministic streams."""

from __future__ import annotations

from dataclasses import replace

import orjson
import pytest

from detectors.baseline import UebaConfig, UebaDetector, has_open_windows, to_alert
from detectors.baseline.alerts import alert_id
from detectors.baseline.batch import BatchModel
from detectors.baseline.explain import fmt_number
from detectors.baseline.timebase import parse_ts

from .helpers import db_event, office_stream, ts

#: Hour windows of users only, short warm-up: small streams, readable numbers.
CFG = UebaConfig(sizes=(3600,), sizes_by_kind={}, allowed_lateness=0, entity_kinds=("user",),
                 grace_windows=10, min_history_days=1.0, peer_min_members=3,
                 peer_grace_windows=20, peer_sample=1, novelty_warmup_hours=8,
                 profile_warmup_hours=24, hst=False)

ANALYSTS = ("ann", "ben", "cai", "dan")


def baselines(det, key):
    """The learned part of an entity's baselines (without the quantile cache)."""
    return {size: {k: v for k, v in b.items() if k != "q"}
            for size, b in det.entity_state(key)["model"]["baselines"].items()}


def run(det, events):
    out = []
    for e in events:
        out.extend(det.process(e))
    return out


def warm(det, events):
    """Replay history and close its last windows (so later windows come out alone)."""
    return run(det, events) + det.close_all()


def exfil(day, user="ann", rows=50_000, hour=11, **kw):
    return [db_event(ts(day, hour, 60 * i), user=user, rows=rows // 5, level="general-4",
                     tables=("customers",), columns=("customers.id_card", "customers.phone"),
                     fingerprint="fp-exfil", eid=f"x{i}", **kw) for i in range(5)]


@pytest.fixture(scope="module")
def history():
    return office_stream(users=ANALYSTS, days=10)


def test_warm_up_no_scores_before_grace():
    det = UebaDetector(CFG)
    out = run(det, office_stream(users=("solo",), days=5)) + det.close_all()
    first = out[:10]
    assert [s.basis for s in first] == ["grace"] * 10           # no peers, no own history yet
    assert all(s.score == 0.0 and not s.is_anomaly for s in first)
    assert {s.basis for s in out[16:]} == {"own"}                # 10 windows and a day of history
    assert det.stats["windows_scored"] == len([s for s in out if s.basis != "grace"])


def test_anomalous_window_is_flagged_and_does_not_move_the_baseline(history):
    det = UebaDetector(CFG)
    warm(det, history)
    before = baselines(det, "user:ann")
    (sw,) = run(det, exfil(14)) + det.close_all()
    assert sw.is_anomaly and sw.basis == "own" and not sw.learned and sw.score >= 0.95
    assert baselines(det, "user:ann") == before
    # the same window again scores the same: nothing was learned from it
    det2 = UebaDetector(CFG)
    warm(det2, history)
    (again,) = run(det2, exfil(14)) + det2.close_all()
    assert again.score == sw.score
    # without protection the baseline moves
    loose = UebaDetector(replace(CFG, protect_threshold=1.01))
    run(loose, history + exfil(14))
    loose.close_all()
    assert baselines(loose, "user:ann") != before


def test_explanation_has_observed_usual_and_peer_values(history):
    det = UebaDetector(CFG)
    warm(det, history)
    (sw,) = run(det, exfil(14)) + det.close_all()
    top = sw.features[0]
    assert top["feature"] in ("sensitive_read", "rows_read")
    rows = next(c for c in sw.features if c["feature"] == "rows_read")
    assert rows["observed"] == 50_000 and rows["p95"] < 200 and rows["peer_p95"] is not None
    assert "read 50,000 rows of general-4 data" in sw.explanation
    assert f"usual ≤ {fmt_number(rows['p95'])}" in sw.explanation
    assert f"peers ≤ {fmt_number(rows['peer_p95'])}" in sw.explanation
    assert "2 columns never used before (crm/customers.id_card, crm/customers.phone)" in sw.explanation


def test_night_use_and_new_address_are_explained(history):
    det = UebaDetector(CFG)
    warm(det, history)
    # a back-office analyst at 03:00, from the usual address: the hour alone is the reason
    (night,) = run(det, [db_event(ts(14, 3, 60 * i), user="ann") for i in range(3)]) + det.close_all()
    assert night.window.features["hour_rarity"] == 1.0 and night.is_anomaly
    assert night.features[0]["feature"] == "hour_rarity" and night.features[0]["p95"] == 0.0
    # at 02:14 from an address never used: both reasons, in words, and a higher score
    (sw,) = run(det, [db_event(ts(16, 2, 840 + 60 * i), user="ben", ip="10.66.0.1")
                      for i in range(3)]) + det.close_all()
    assert sw.is_anomaly and sw.score > night.score
    assert [c["feature"] for c in sw.features[:2]] == ["hour_rarity", "new_ips"]
    assert "at 02:14 UTC (Wed), never active near this hour; usually active 09:00–17:00" in sw.explanation
    assert "1 source addresses never used before (10.66.0.1); usual ≤ 0; peers ≤ 0" in sw.explanation
    # the same analysts in office hours stay quiet
    (day,) = run(det, [db_event(ts(16, 10, 60 * i), user="cai") for i in range(3)]) + det.close_all()
    assert not day.is_anomaly


def test_new_user_is_judged_by_peers(history):
    det = UebaDetector(CFG)
    warm(det, history)
    # a new analyst doing what analysts do: scored against peers, not flagged
    normal = [db_event(ts(14, 10, 300 * i), user="newbie", ip="10.1.0.99", rows=8) for i in range(8)]
    out = run(det, normal) + det.close_all()
    assert out and all(s.basis == "peer" and not s.is_anomaly for s in out)
    assert max(s.score for s in out) < 0.5
    # another new analyst reading identity data no analyst ever read: flagged by the peers
    odd = [db_event(ts(15, 10, 300 * i), user="rookie", ip="10.1.0.98", rows=400, level="general-4",
                    tables=("employees",), columns=("employees.salary", "employees.id_card"),
                    fingerprint="fp-hr") for i in range(8)]
    (sw,) = run(det, odd) + det.close_all()
    assert sw.basis == "peer" and sw.is_anomaly
    assert "judged against its peer group user:role=analyst" in sw.explanation
    assert sw.features[0]["feature"] == "sensitive_read" and sw.features[0]["peer_p95"] == 0.0


def test_state_round_trip_gives_identical_scores(history):
    cfg = replace(CFG, hst=True, hst_gate=0.0, hst_window=20)
    events = history + exfil(14) + office_stream(users=ANALYSTS, days=3, start_day=15, seed=3)
    cut = len(history) // 2
    a = UebaDetector(cfg)
    run(a, events[:cut])
    b = UebaDetector.from_state(orjson.loads(orjson.dumps(a.to_state())), cfg)
    tail_a = run(a, events[cut:]) + a.close_all()
    tail_b = run(b, events[cut:]) + b.close_all()
    key = [(s.window.key, s.window.start, s.score, s.basis, s.is_anomaly, s.features) for s in tail_a]
    assert key == [(s.window.key, s.window.start, s.score, s.basis, s.is_anomaly, s.features) for s in tail_b]
    assert any(s.is_anomaly for s in tail_a) and len(tail_a) > 100
    assert orjson.dumps(a.to_state()) == orjson.dumps(b.to_state())


def test_per_entity_persistence_with_loader(history):
    events = history + exfil(14)
    cut = len(history) // 2
    whole = UebaDetector(CFG)
    expected = run(whole, events) + whole.close_all()
    first = UebaDetector(CFG)
    head = run(first, events[:cut])
    table = {k: orjson.loads(orjson.dumps(v)) for k, v in first.take_dirty().items()}
    assert set(table) == {f"user:{u}" for u in ANALYSTS}
    assert first.take_dirty() == {}
    shared = orjson.loads(orjson.dumps(first.global_state()))
    second = UebaDetector(CFG, loader=table.get)
    second.load_global_state(shared)
    for k, s in table.items():                     # entities with open windows come back first
        if has_open_windows(s):
            second.load_entity_state(k, s)
    tail = run(second, events[cut:]) + second.close_all()
    got = [(s.window.key, s.window.start, s.score) for s in head + tail]
    assert got == [(s.window.key, s.window.start, s.score) for s in expected]


def test_release_keeps_entities_with_open_windows():
    det = UebaDetector(CFG)
    run(det, [db_event(ts(0, 9, 5))])
    assert det.release("user:alice") is None
    det.close_all()
    state = det.release("user:alice")
    assert state["key"] == "user:alice" and det.entity_summary("user:alice") is None


def test_eviction_of_idle_entities(history):
    det = UebaDetector(replace(CFG, evict_idle_days=5))
    run(det, history + [db_event(ts(20, 10), user="ann")])
    det.close_all()
    gone = det.evict_idle(ts(20, 12))
    assert gone == ["user:ben", "user:cai", "user:dan"]
    assert det.entity_summary("user:ben") is None and det.entity_summary("user:ann") is not None
    assert det.evict_idle(ts(20, 12)) == []


def test_entity_summary(history):
    det = UebaDetector(CFG)
    run(det, history + exfil(14))
    det.close_all()
    doc = det.entity_summary("user:ann")
    assert doc["entity"] == {"id": "user:ann", "kind": "user",
                             "groups": ["user:role=analyst", "user:*"]}
    assert doc["user"]["name"] == "ann" and doc["first_seen"].startswith("2026-11-02T09")
    assert doc["last_window"]["end"] == "2026-11-16T12:00:00.000Z" and doc["last_score"] >= 0.95
    assert doc["anomalies"] == 1 and doc["risk"]["score"] >= 95
    med = doc["baseline"]["3600"]["rows_read"]
    assert 30 < med["median"] < 90 and med["p95"] > med["median"]
    assert doc["windows_seen"]["3600"] == 65


def test_alert_contract_fields_and_stable_id(history):
    det = UebaDetector(CFG)
    warm(det, history)
    (sw,) = run(det, exfil(14)) + det.close_all()
    a = to_alert(sw)
    assert a["@timestamp"] == "2026-11-16T12:00:00.000Z"
    assert a["event"] == {"start": "2026-11-16T11:00:00.000Z", "end": "2026-11-16T12:00:00.000Z",
                          "kind": "alert"}
    assert a["alert"]["id"] == alert_id("ueba", "user:ann", "2026-11-16T11:00:00.000Z", 3600)
    assert len(a["alert"]["id"]) == 32 and int(a["alert"]["id"], 16) >= 0
    assert a["rule"] == {"id": "ueba-user-3600", "name": "Unusual behaviour of user (1 h window)",
                         "kind": "anomaly"}
    assert a["risk"] == {"score": round(100 * sw.score), "severity": "critical"}
    assert a["user"]["name"] == "ann" and a["source"]["ip"] == "10.1.0.1"
    assert a["db"] == {"instance": "pg1", "name": "crm"}
    assert a["related"]["event_ids"] == [f"x{i}" for i in range(5)]
    assert a["threat"]["technique"]["id"] == "T1213"
    assert a["explanation"].startswith("user:ann: ")
    assert a["parasol"]["anomaly"]["entity"] == {"id": "user:ann", "kind": "user"}
    assert a["parasol"]["anomaly"]["window"]["size_s"] == 3600
    assert "event" not in a or "created" not in a["event"]
    # a replay of the same evidence gives the same alert id
    det2 = UebaDetector(CFG)
    warm(det2, history)
    (sw2,) = run(det2, exfil(14)) + det2.close_all()
    assert to_alert(sw2)["alert"]["id"] == a["alert"]["id"]


def test_batch_model_blends_into_scores(history):
    det = UebaDetector(CFG)
    out = run(det, history) + det.close_all()
    rows = [s.vector for s in out if s.basis != "grace"]
    model = BatchModel("iforest", n_estimators=50).fit(rows)
    scored = run(det, exfil(14) + [db_event(ts(15, 10), user="ben")]) + det.close_all()
    det.apply_batch(scored, model, weight=0.5)
    ex = next(s for s in scored if s.window.key == "user:ann")
    assert ex.batch >= 0.9 and ex.score == pytest.approx(0.5 * ex.online + 0.5 * ex.batch, abs=1e-6)


def test_zscore_scorer_runs_on_the_same_windows(history):
    det = UebaDetector(replace(CFG, scorer="zscore"))
    warm(det, history)
    (sw,) = run(det, exfil(14)) + det.close_all()
    assert sw.is_anomaly and sw.features[0]["feature"] in ("rows_read", "sensitive_read")
    assert UebaDetector.from_state(det.to_state(), replace(CFG, scorer="zscore")).to_state() == det.to_state()


def test_late_events_are_counted(history):
    det = UebaDetector(replace(CFG, allowed_lateness=60))
    run(det, [db_event(ts(0, 9)), db_event(ts(0, 10, 120))])
    assert det.late_dropped_from_window == 0
    run(det, [db_event(ts(0, 9, 30))])
    assert det.late_dropped_from_window == 1 and det.aggregator.last_late == 1
    assert parse_ts(ts(0, 10, 60)) == det.aggregator.watermark
