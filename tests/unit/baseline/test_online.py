"""Robust and z-score baselines, the deviation forest, peer baselines, batch models."""

from __future__ import annotations

import random

import orjson
import pytest

from detectors.baseline.batch import BatchModel, blend
from detectors.baseline.online import DeviationForest, RobustBaseline, ZScoreBaseline, combine
from detectors.baseline.peers import PeerBaselines


def trained(n=200, seed=0, **kw) -> RobustBaseline:
    rng = random.Random(seed)
    b = RobustBaseline(**kw)
    for _ in range(n):
        b.learn_one({"rows_read": rng.randint(5, 50), "events": rng.randint(1, 5),
                     "new_tables": 1 if rng.random() < 0.02 else 0})
    return b


def test_grace_period_returns_zero():
    b = RobustBaseline(grace_period=10)
    for _ in range(9):
        b.learn_one({"rows_read": 10})
    assert b.score_one({"rows_read": 1_000_000}) == 0.0
    b.learn_one({"rows_read": 10})
    assert b.score_one({"rows_read": 1_000_000}) > 0.9


def test_quantiles_and_deviation():
    b = trained()
    med, p95 = b.quantiles("rows_read")
    assert 20 <= med <= 35 and 40 <= p95 <= 60          # true: 27.5 and ~48 (bins ±10%)
    assert b.quantiles("new_tables") == (0.0, 0.0)       # 2% non-zero: p95 is 0
    assert b.score_one({"rows_read": 40, "events": 3}) == 0.0
    devs = {f: s for f, _, s in b.deviations({"rows_read": 48_000, "events": 3, "new_tables": 1})}
    assert set(devs) == {"rows_read", "new_tables"}
    assert devs["rows_read"] > 0.95 > devs["new_tables"] > 0.3
    assert b.score_one({"rows_read": 48_000}) == pytest.approx(devs["rows_read"])


def test_combine_is_a_weighted_noisy_or():
    assert combine([]) == 0.0
    assert combine([0.5]) == 0.5
    assert combine([0.5, 0.5]) == pytest.approx(1 - 0.5 * 0.625)
    assert combine([0.1, 0.9, 0.5, 0.5]) == pytest.approx(1 - 0.1 * 0.625 * 0.75)


def test_weights_scale_a_feature():
    plain, heavy = trained(), trained(weights={"rows_read": 3.0})
    x = {"rows_read": 500}
    assert heavy.score_one(x) > plain.score_one(x) > 0


def test_robust_state_round_trip_gives_identical_scores():
    b = trained(n=137)
    c = RobustBaseline().load_state(orjson.loads(orjson.dumps(b.to_state())))
    rng = random.Random(5)
    for _ in range(100):
        x = {"rows_read": rng.randint(0, 500), "events": rng.randint(0, 9)}
        assert c.score_one(x) == b.score_one(x)
        b.learn_one(x)
        c.learn_one(x)
    assert c.to_state() == b.to_state()


def test_decay_forgets_old_behaviour():
    b = RobustBaseline(half_life=50, grace_period=1)
    for _ in range(300):
        b.learn_one({"rows_read": 10})
    for _ in range(300):
        b.learn_one({"rows_read": 1000})
    assert b.quantiles("rows_read")[0] > 800


def test_merge_sums_members():
    a, b = trained(seed=1), trained(seed=2)
    m = RobustBaseline()
    m.merge(a)
    m.merge(b)
    assert m.n == a.n + b.n
    assert abs(m.quantiles("rows_read")[0] - a.quantiles("rows_read")[0]) < 8


def test_zscore_baseline():
    z = ZScoreBaseline(features=("rows_read",), grace_period=3)
    for r in (10, 12, 8, 10):
        z.learn_one({"rows_read": r})
    assert z.score_one({"rows_read": 10}) == 0.0
    assert z.zscores({"rows_read": 110})["rows_read"] == pytest.approx(100 / 1.414, rel=1e-3)
    assert ZScoreBaseline(features=("rows_read",)).load_state(z.to_state()).to_state() == z.to_state()


def test_deviation_forest_state_and_scores():
    f = DeviationForest(n_trees=5, height=4, window_size=20, seed=1)
    rng = random.Random(0)
    for _ in range(60):
        f.learn_one({"a": rng.random() * 0.1, "b": rng.random() * 0.1})
    g = DeviationForest().load_state(orjson.loads(orjson.dumps(f.to_state())))
    assert g.score_one({"a": 0.9, "b": 0.9}) == f.score_one({"a": 0.9, "b": 0.9}) > \
        f.score_one({"a": 0.05, "b": 0.05})


def test_peer_groups_need_members_and_windows():
    p = PeerBaselines(grace_period=5, min_members=2)
    for _ in range(10):
        p.learn(("user:role=analyst", "user:*"), 3600, {"rows_read": 10}, "user:a")
    assert p.lookup(("user:role=analyst",), 3600) is None           # one member only
    p.learn(("user:role=analyst", "user:*"), 3600, {"rows_read": 10}, "user:b")
    assert p.lookup(("user:role=hr", "user:role=analyst"), 3600)[0] == "user:role=analyst"
    assert p.lookup(("user:role=analyst",), 60) is None              # other window size
    q = PeerBaselines(grace_period=5, min_members=2).load_state(orjson.loads(orjson.dumps(p.to_state())))
    assert q.to_state() == p.to_state()
    # rebuilt from member baselines (as from entity summaries)
    a = trained(seed=1)
    r = PeerBaselines(grace_period=5, min_members=2)
    r.rebuild([("user:a", ("g",), 60, a), ("user:b", ("g",), 60, trained(seed=2))])
    assert r.lookup(("g",), 60)[1].n == 400


@pytest.mark.parametrize("model", ["ecod", "iforest"])
def test_batch_model_scores_are_an_ecdf(model):
    rng = random.Random(0)
    rows = [{"rows_read": 0.0, "new_tables": 0.0}] * 400 + [
        {"rows_read": rng.random() * 0.2, "new_tables": 0.0} for _ in range(100)]
    m = BatchModel(model, features=("rows_read", "new_tables"), seed=1).fit(rows)
    s = m.score([{"rows_read": 0.0, "new_tables": 0.0}, {"rows_read": 1.0, "new_tables": 1.0}])
    assert s[0] == 0.0 and s[1] >= 0.99
    assert all(0.0 <= v <= 1.0 for v in m.score(rows[::7]))
    again = BatchModel.from_state(orjson.loads(orjson.dumps(m.to_state())))
    assert again.score(rows[::50]) == m.score(rows[::50])
    with pytest.raises(ValueError):
        BatchModel("knn")


def test_blend():
    assert blend(0.8, None, 0.5) == 0.8
    assert blend(0.8, 0.2, 0.0) == 0.8
    assert blend(0.8, 0.2, 0.5) == 0.5


def test_peer_groups_judge_only_windows_after_they_became_ready():
    """Partitions sharing peer groups can be days apart in event time (a worker catching up):
    a group ready at day 5 must not judge a day-2 window of a partition running behind."""
    p = PeerBaselines(grace_period=3, min_members=2)
    day = 86400.0
    for i, who in enumerate(("user:a", "user:b", "user:a")):
        p.learn(("user:role=analyst",), 60, {"rows_read": 10}, who, at=5 * day + i)
    assert p.ready_at == {"user:role=analyst|60": 5 * day + 2}
    assert p.lookup(("user:role=analyst",), 60, at=2 * day) is None
    assert p.lookup(("user:role=analyst",), 60, at=5 * day + 2)[0] == "user:role=analyst"
    assert p.lookup(("user:role=analyst",), 60)[0] == "user:role=analyst"   # no time: any
    q = PeerBaselines(grace_period=3, min_members=2).load_state(orjson.loads(orjson.dumps(p.to_state())))
    assert q.lookup(("user:role=analyst",), 60, at=2 * day) is None
