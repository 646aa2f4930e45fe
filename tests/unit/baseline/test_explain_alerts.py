"""Explanation phrases, number formatting, severities, techniques."""

from __future__ import annotations

import pytest

from detectors.baseline.alerts import TECHNIQUES, alert_id, severity
from detectors.baseline.explain import PHRASES, explain_text, fmt_number
from detectors.baseline.features import FEATURES, transform, untransform


def test_every_feature_has_a_phrase_and_a_technique():
    assert set(PHRASES) == set(FEATURES) == set(TECHNIQUES)
    for f in FEATURES:
        text = explain_text([{"feature": f, "observed": 3, "median": 1.0, "p95": 2.0,
                              "peer_p95": 2.5, "contribution": 0.9}], {}, "own")
        assert f"{f} =" not in text and text            # a real phrase, not the fallback


@pytest.mark.parametrize(("value", "exact", "text"), [
    (48210, True, "48,210"), (298.4, False, "300"), (1234, False, "1,200"), (0.613, False, "0.61"),
    (1.01, False, "1"), (2.5, True, "2.5"), (None, False, "?"), (7, False, "7")])
def test_fmt_number(value, exact, text):
    assert fmt_number(value, exact) == text


def test_explanation_words():
    text = explain_text(
        [{"feature": "ddl_dcl", "observed": 3, "median": 0.0, "p95": 0.0, "peer_p95": 0.0,
          "contribution": 0.9},
         {"feature": "error_rate", "observed": 0.25, "median": 0.0, "p95": 0.05, "peer_p95": None,
          "contribution": 0.5},
         {"feature": "bytes_out", "observed": 5 * 2**20, "median": 2048.0, "p95": 10240.0,
          "peer_p95": None, "contribution": 0.4}],
        {"commands": ["GRANT", "ALTER USER"], "peer_group": "user:role=developer"}, "peer")
    assert text == ("3 DDL/DCL statements (GRANT, ALTER USER); peers ≤ 0; 25% of events failed; "
                    "sent 5.0 MiB in API responses; no history of its own yet: judged against "
                    "its peer group user:role=developer")


def test_severity_cut_offs_and_bump():
    assert [severity(s) for s in (0.5, 0.8, 0.9, 0.95)] == ["low", "medium", "high", "critical"]
    assert severity(0.85, bump=True) == "high" and severity(0.99, bump=True) == "critical"


def test_alert_id_is_stable_and_distinct():
    a = alert_id("ueba", "user:ann", "2026-11-16T11:00:00.000Z", 3600)
    assert a == alert_id("ueba", "user:ann", "2026-11-16T11:00:00.000Z", 3600)
    assert a != alert_id("ueba", "user:ann", "2026-11-16T11:00:00.000Z", 60)
    assert a != alert_id("ueba", "user:ben", "2026-11-16T11:00:00.000Z", 3600)


def test_transforms_invert():
    for f, x in (("rows_read", 48210), ("hour_rarity", 0.8), ("bytes_out", 4096), ("idle_days", 6.4)):
        assert untransform(f, transform(f, x)) == pytest.approx(x)
    assert transform("hour_rarity", 1.0) > 2 * transform("hour_rarity", 0.8)
