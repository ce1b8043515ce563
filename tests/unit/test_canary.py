"""Canary analysis against Flagger's documented decision loop (mechanisms.md section 3.1).

Expected weights, failed-check counts and decision times come from the worked example
and the timing formulas of section 3.1, or from hand computation.
"""
import math

import pytest
from pydantic import ValidationError

from simulator.mechanisms.canary import (
    PROGRESSING,
    PROMOTED,
    ROLLED_BACK,
    CanaryAnalysis,
    CanaryConfig,
    predicted_promotion_s,
    predicted_rollback_s,
)

HEALTHY = (1_000, 1_000, 120.0)  # n_requests, n_success, p99_latency_ms
BAD_SUCCESS = (1_000, 950, 120.0)  # 95 % < 99 %
NO_TRAFFIC = (0, 0, math.nan)


def doc_example(**overrides):
    """The worked example: interval 1m, stepWeight 10, maxWeight 50, threshold 5."""
    base = dict(enabled=True, start_s=0.0, interval_s=60, step_weight_pct=10, max_weight_pct=50, threshold=5)
    base.update(overrides)
    return CanaryConfig(**base)


def run(analysis, metrics_per_tick):
    """Tick at start_s + k * interval_s; return (time, weight, failed checks, kinds) per tick."""
    cfg = analysis.cfg
    rows = []
    for k, metrics in enumerate(metrics_per_tick):
        now_s = cfg.start_s + k * cfg.interval_s
        events = analysis.tick(now_s, *metrics)
        rows.append((now_s, analysis.weight_pct, analysis.failed_checks, [kind for kind, _ in events]))
    return rows


def test_defaults():
    """Defaults: off, 60 s interval, step 5, max 50, threshold 5, 99 %, 500 ms, 600 s deadline."""
    cfg = CanaryConfig()
    assert cfg.enabled is False
    assert (cfg.interval_s, cfg.step_weight_pct, cfg.max_weight_pct, cfg.threshold) == (60.0, 5, 50, 5)
    assert (cfg.min_success_rate_pct, cfg.max_p99_latency_ms, cfg.progress_deadline_s) == (99.0, 500.0, 600.0)
    assert (cfg.version, cfg.latency_factor, cfg.error_rate, cfg.accuracy_delta) == ("v2", 1.0, 0.0, 0.0)


def test_short_interval_is_raised_to_ten_seconds():
    """Flagger raises analysis intervals below 10 s to 10 s."""
    assert CanaryConfig(interval_s=3).interval_s == 10.0
    assert CanaryConfig(interval_s=15).interval_s == 15.0


@pytest.mark.parametrize("field, value", [("threshold", 0), ("step_weight_pct", 0), ("max_weight_pct", 101),
                                          ("start_s", -1), ("interval_s", 0), ("error_rate", 1.5),
                                          ("max_wieght_pct", 50)])
def test_invalid_values_are_rejected(field, value):
    """Out-of-range values and unknown keys fail validation."""
    with pytest.raises(ValidationError):
        CanaryConfig(**{field: value})


def test_worked_example_promotes_at_t5():
    """3.1: t0 0 -> 10 without analysis, t1..t4 -> 20, 30, 40, 50, t5 passes at 50 -> promote."""
    analysis = CanaryAnalysis(doc_example())
    rows = run(analysis, [HEALTHY] * 6)
    assert [weight for _, weight, _, _ in rows[:5]] == [10, 20, 30, 40, 50]
    assert rows[0][3] == ["canary_started", "canary_weight"]
    assert rows[5][3] == ["canary_promoted"]
    assert analysis.phase == PROMOTED
    assert analysis.decided_at_s == 300.0
    assert analysis.new_version_share_pct == 100


def test_first_tick_runs_no_analysis():
    """3.1 rule 4: the first tick steps the weight even when the canary has no traffic yet."""
    analysis = CanaryAnalysis(doc_example())
    events = analysis.tick(0.0, *NO_TRAFFIC)
    assert [kind for kind, _ in events] == ["canary_started", "canary_weight"]
    assert events[1][1]["weight_pct"] == 10
    assert analysis.failed_checks == 0
    assert analysis.phase == PROGRESSING


def test_worked_example_rolls_back_at_t7_when_failing_from_t2():
    """3.1: failing from t2: failed checks 1..5 at t2..t6 with weight held at 20, rollback at t7."""
    analysis = CanaryAnalysis(doc_example())
    rows = run(analysis, [HEALTHY, HEALTHY] + [BAD_SUCCESS] * 5 + [HEALTHY])
    assert [(weight, failed) for _, weight, failed, _ in rows[2:7]] == [(20, n) for n in range(1, 6)]
    assert all(kinds == ["canary_check_failed"] for _, _, _, kinds in rows[2:7])
    # Rollback is checked first, so t7 rolls back even though its own metrics are healthy.
    assert rows[7][3] == ["canary_rolled_back"]
    assert analysis.phase == ROLLED_BACK
    assert analysis.decided_at_s == 420.0
    assert analysis.weight_pct == 0
    assert analysis.new_version_share_pct == 0


def test_timing_formulas_match_worked_example():
    """3.1 rule 9: promote after interval * max/step = 300 s; roll back interval * threshold after t2."""
    cfg = doc_example()
    assert predicted_promotion_s(cfg) == 300.0
    assert predicted_rollback_s(cfg, first_failing_tick=2) == 120.0 + 60.0 * 5


def test_predictions_honour_start_time_and_late_failures():
    """Predictions are absolute times; failures that start after promotion predict no rollback."""
    cfg = doc_example(start_s=1_000.0)
    assert predicted_promotion_s(cfg) == 1_300.0
    assert predicted_rollback_s(cfg, 5) == 1_000.0 + 60.0 * 10
    assert predicted_rollback_s(cfg, 6) is None
    with pytest.raises(ValueError):
        predicted_rollback_s(cfg, 0)


def test_no_traffic_counts_as_failed_check():
    """3.1 rule 8: "no values found" fails the check and halts advancement."""
    analysis = CanaryAnalysis(doc_example())
    analysis.tick(0.0, *HEALTHY)
    events = analysis.tick(60.0, *NO_TRAFFIC)
    assert [kind for kind, _ in events] == ["canary_check_failed"]
    assert analysis.failed_checks == 1
    assert analysis.weight_pct == 10


def test_weight_overshoot_then_promotion():
    """3.1 rule 10: maxWeight 50, stepWeight 20 -> 20, 40, 60, then promotion."""
    cfg = doc_example(step_weight_pct=20)
    analysis = CanaryAnalysis(cfg)
    rows = run(analysis, [HEALTHY] * 4)
    assert [weight for _, weight, _, _ in rows[:3]] == [20, 40, 60]
    assert rows[3][3] == ["canary_promoted"]
    assert analysis.decided_at_s == 180.0 == predicted_promotion_s(cfg)


def test_weight_is_clamped_at_one_hundred():
    """Flagger clamps canaryWeight at the total weight (100): step 30, max 100 -> 30, 60, 90, 100."""
    analysis = CanaryAnalysis(doc_example(step_weight_pct=30, max_weight_pct=100))
    rows = run(analysis, [HEALTHY] * 5)
    assert [weight for _, weight, _, _ in rows[:4]] == [30, 60, 90, 100]
    assert rows[4][3] == ["canary_promoted"]


def test_failed_checks_are_cumulative():
    """3.1 rule 7: a passing tick does not reset failed checks; threshold 2 rolls back after 2 total."""
    analysis = CanaryAnalysis(doc_example(threshold=2))
    rows = run(analysis, [HEALTHY, BAD_SUCCESS, HEALTHY, BAD_SUCCESS, HEALTHY])
    assert [(weight, failed) for _, weight, failed, _ in rows[:4]] == [(10, 0), (10, 1), (20, 1), (20, 2)]
    assert rows[4][3] == ["canary_rolled_back"]
    assert analysis.decided_at_s == 240.0


def test_failing_check_at_max_weight_does_not_promote():
    """3.1 rule 6: promotion needs a passing check at max weight."""
    analysis = CanaryAnalysis(doc_example())
    rows = run(analysis, [HEALTHY] * 5 + [BAD_SUCCESS])
    assert rows[5][3] == ["canary_check_failed"]
    assert analysis.phase == PROGRESSING
    assert analysis.weight_pct == 50


@pytest.mark.parametrize(
    "metrics, fails",
    [
        ((1_000, 990, 120.0), False),   # exactly 99 % is not below the minimum
        ((1_000, 989, 120.0), True),    # 98.9 % < 99 %
        ((1_000, 1_000, 500.0), False),  # exactly 500 ms is not above the maximum
        ((1_000, 1_000, 500.1), True),
        ((1_000, 1_000, math.nan), True),  # traffic but no latency values
    ],
)
def test_threshold_boundaries(metrics, fails):
    """3.1 rule 8: success rate fails if < min; p99 fails if > max."""
    analysis = CanaryAnalysis(doc_example())
    analysis.tick(0.0, *HEALTHY)
    analysis.tick(60.0, *metrics)
    assert (analysis.failed_checks == 1) is fails


def test_unready_canary_halts_then_rolls_back_after_deadline():
    """3.1 rules 2-3: unready within the 600 s deadline halts; beyond it the canary rolls back."""
    analysis = CanaryAnalysis(doc_example())
    analysis.tick(0.0, *HEALTHY)
    assert analysis.tick(60.0, *HEALTHY, unready_since_s=30.0) == []
    assert analysis.tick(630.0, *HEALTHY, unready_since_s=30.0) == []  # exactly at the deadline
    assert (analysis.weight_pct, analysis.failed_checks) == (10, 0)
    events = analysis.tick(690.0, *HEALTHY, unready_since_s=30.0)
    assert [kind for kind, _ in events] == ["canary_rolled_back"]
    assert events[0][1]["reason"] == "progress deadline exceeded"


def test_ticks_before_start_and_after_decision_do_nothing():
    """Nothing happens before the deploy time or once the analysis is decided."""
    analysis = CanaryAnalysis(doc_example(start_s=100.0))
    assert analysis.tick(50.0, *HEALTHY) == []
    assert analysis.phase == "initializing"
    run(analysis, [HEALTHY] * 6)
    assert analysis.phase == PROMOTED
    assert analysis.tick(10_000.0, *BAD_SUCCESS) == []
    assert analysis.decided_at_s == 400.0
