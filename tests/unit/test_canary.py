"""Canary analysis against Flagger's documented decision loop (mechanisms.md section 3.1).

Expected weights, phases, failed-check counts and times come from the corrected worked
example of section 3.1 (t1 scales the canary up, t2 makes the first step, ..., Promoting,
Finalising, Succeeded one interval each), from Flagger's ``nextStepWeight`` rules for
``stepWeights`` as the section states them, or from hand computation.
"""
import math

import pytest
from pydantic import ValidationError

from simulator.mechanisms.canary import (
    FAILED,
    FINALISING,
    PROGRESSING,
    PROMOTING,
    SUCCEEDED,
    CanaryAnalysis,
    CanaryConfig,
    predicted_promotion_s,
    predicted_rollback_s,
    weight_steps,
)

HEALTHY = (1_000, 1_000, 120.0)  # n_requests, n_success, p99_latency_ms
BAD_SUCCESS = (1_000, 950, 120.0)  # 95 % < 99 %
NO_TRAFFIC = (0, 0, math.nan)


def doc_example(**overrides):
    """The worked example: interval 1m, stepWeight 10, maxWeight 50, threshold 5."""
    base = dict(enabled=True, start_s=0.0, interval_s=60, step_weight_pct=10, max_weight_pct=50, threshold=5)
    base.update(overrides)
    return CanaryConfig(**base)


def released(cfg):
    analysis = CanaryAnalysis(cfg)
    analysis.new_revision()
    return analysis


def run(analysis, metrics_per_tick, first_tick=0):
    """Tick at start_s + k * interval_s; return (time, weight, failed checks, phase, kinds) per tick."""
    cfg = analysis.cfg
    rows = []
    for k, metrics in enumerate(metrics_per_tick, start=first_tick):
        now_s = cfg.start_s + k * cfg.interval_s
        events = analysis.tick(now_s, *metrics)
        rows.append((now_s, analysis.weight_pct, analysis.failed_checks, analysis.phase, [kind for kind, _ in events]))
    return rows


def test_defaults():
    """Defaults: off, 60 s interval, step 5, max 50, threshold 5, 99 %, 500 ms, 600 s deadline."""
    cfg = CanaryConfig()
    assert cfg.enabled is False
    assert (cfg.interval_s, cfg.step_weight_pct, cfg.max_weight_pct, cfg.threshold) == (60.0, 5, 50, 5)
    assert (cfg.min_success_rate_pct, cfg.max_p99_latency_ms, cfg.progress_deadline_s) == (99.0, 500.0, 600.0)
    assert (cfg.version, cfg.latency_factor, cfg.error_rate, cfg.accuracy_delta) == ("v2", 1.0, 0.0, 0.0)
    assert (cfg.step_weights, cfg.step_weight_promotion_pct) == ((), None)


def test_short_interval_is_raised_to_ten_seconds():
    """Flagger raises analysis intervals below 10 s to 10 s."""
    assert CanaryConfig(interval_s=3).interval_s == 10.0
    assert CanaryConfig(interval_s=15).interval_s == 15.0


@pytest.mark.parametrize("field, value", [("threshold", 0), ("step_weight_pct", 0), ("max_weight_pct", 101),
                                          ("start_s", -1), ("interval_s", 0), ("error_rate", 1.5),
                                          ("max_wieght_pct", 50), ("step_weights", [10, 5]),
                                          ("step_weights", [0, 10]), ("step_weights", [10, 10]),
                                          ("step_weights", [10, 2000]), ("step_weight_promotion_pct", 0)])
def test_invalid_values_are_rejected(field, value):
    """Out-of-range values, non-increasing step weights and unknown keys fail validation."""
    with pytest.raises(ValidationError):
        CanaryConfig(**{field: value})


def test_corrected_worked_example_tick_by_tick():
    """3.1: t1 scale-up only; t2 0 -> 10; t3..t6 20..50; t7 Promoting (50/50); t8 Finalising
    (100 % primary, now on the new version); t9 Succeeded (canary scaled to zero)."""
    analysis = released(doc_example())
    rows = run(analysis, [HEALTHY] * 10)
    expected = [
        (0, 0, PROGRESSING, ["canary_started"]),
        (60, 10, PROGRESSING, ["canary_weight"]),
        (120, 20, PROGRESSING, ["canary_weight"]),
        (180, 30, PROGRESSING, ["canary_weight"]),
        (240, 40, PROGRESSING, ["canary_weight"]),
        (300, 50, PROGRESSING, ["canary_weight"]),
        (360, 50, PROMOTING, ["canary_promoting"]),
        (420, 0, FINALISING, ["canary_promoted"]),
        (480, 0, SUCCEEDED, ["canary_succeeded"]),
        (540, 0, SUCCEEDED, []),
    ]
    assert [(t, w, phase, kinds) for t, w, _, phase, kinds in rows] == expected
    assert analysis.decided_at_s == 420.0 == predicted_promotion_s(doc_example())
    assert analysis.outcome == "promoted"
    assert analysis.new_version_share_pct == 100


def test_promoting_keeps_the_canary_share_and_finalising_gives_the_primary_everything():
    """While the primary rolls out (Promoting), the canary still serves maxWeight; the verdict
    reaches customers only at the traffic shift."""
    analysis = released(doc_example())
    run(analysis, [HEALTHY] * 7)
    assert (analysis.phase, analysis.weight_pct, analysis.new_version_share_pct) == (PROMOTING, 50, 50)
    assert analysis.outcome == "in_progress" and analysis.decided_at_s is None
    analysis.tick(420.0, *BAD_SUCCESS)  # no analysis once promoting: bad metrics change nothing
    assert (analysis.phase, analysis.weight_pct, analysis.failed_checks) == (FINALISING, 0, 0)


def test_first_tick_only_scales_up_and_second_runs_no_analysis():
    """3.1 rules 1 and 4: no traffic shift at t1; t2 steps even without canary traffic."""
    analysis = released(doc_example())
    assert [kind for kind, _ in analysis.tick(0.0, *NO_TRAFFIC)] == ["canary_started"]
    events = analysis.tick(60.0, *NO_TRAFFIC)
    assert [kind for kind, _ in events] == ["canary_weight"]
    assert events[0][1]["weight_pct"] == 10
    assert analysis.failed_checks == 0


def test_nothing_happens_without_a_revision():
    """A Canary object with no new revision does nothing on its ticks."""
    analysis = CanaryAnalysis(doc_example())
    assert analysis.tick(0.0, *HEALTHY) == []
    assert (analysis.phase, analysis.outcome) == ("initialized", "none")


def test_worked_example_rolls_back_at_t9_when_failing_from_t4():
    """3.1: failing from t4: failed checks 1..5 at t4..t8 with weight held at 20, rollback at t9."""
    analysis = released(doc_example())
    rows = run(analysis, [HEALTHY] * 3 + [BAD_SUCCESS] * 5 + [HEALTHY])
    assert [(weight, failed) for _, weight, failed, _, _ in rows[3:8]] == [(20, n) for n in range(1, 6)]
    assert all(kinds == ["canary_check_failed"] for *_, kinds in rows[3:8])
    # Rollback is checked first, so t9 rolls back even though its own metrics are healthy.
    assert rows[8][4] == ["canary_rolled_back"]
    assert (analysis.phase, analysis.outcome, analysis.weight_pct) == (FAILED, "rolled_back", 0)
    assert analysis.decided_at_s == 480.0 == predicted_rollback_s(doc_example(), first_failing_tick=3)
    assert analysis.new_version_share_pct == 0


def test_timing_formulas():
    """Promotion at interval x (2 + ceil(max/step)); rollback interval x threshold after the first failure."""
    cfg = doc_example(start_s=1_000.0)
    assert predicted_promotion_s(cfg) == 1_000.0 + 60.0 * (2 + 5)
    assert predicted_rollback_s(cfg, 2) == 1_000.0 + 60.0 * (2 + 5)
    assert predicted_rollback_s(cfg, 6) == 1_000.0 + 60.0 * 11   # fails at 50 %, the promoting tick
    assert predicted_rollback_s(cfg, 7) is None                    # already promoting
    with pytest.raises(ValueError):
        predicted_rollback_s(cfg, 1)


def test_no_traffic_counts_as_failed_check():
    """3.1 rule 8: "no values found" fails the check and halts advancement."""
    analysis = released(doc_example())
    run(analysis, [HEALTHY, HEALTHY])
    events = analysis.tick(120.0, *NO_TRAFFIC)
    assert [kind for kind, _ in events] == ["canary_check_failed"]
    assert (analysis.failed_checks, analysis.weight_pct) == (1, 10)


def test_weight_overshoot_then_promotion():
    """3.1 rule 10: maxWeight 50, stepWeight 20 -> 20, 40, 60, then promotion."""
    cfg = doc_example(step_weight_pct=20)
    assert weight_steps(cfg) == [20, 40, 60]
    rows = run(released(cfg), [HEALTHY] * 6)
    assert [weight for _, weight, *_ in rows[1:4]] == [20, 40, 60]
    assert rows[4][4] == ["canary_promoting"] and rows[5][4] == ["canary_promoted"]
    assert rows[5][0] == predicted_promotion_s(cfg) == 60.0 * 5


def test_weight_is_clamped_at_one_hundred():
    """Flagger clamps canaryWeight at the total weight (100): step 30, max 100 -> 30, 60, 90, 100."""
    assert weight_steps(doc_example(step_weight_pct=30, max_weight_pct=100)) == [30, 60, 90, 100]


@pytest.mark.parametrize("step_weights, expected", [
    ([1, 2, 10, 80], [1, 2, 10, 80]),     # the documented example; maxWeight = the last entry
    ([10, 150], [10, 100]),               # an entry above 100 is capped at 100
    ([5, 50, 100], [5, 50, 100]),
])
def test_step_weights_replace_the_linear_step(step_weights, expected):
    """3.1: stepWeights: the weight takes the next entry while below maxWeight (the last entry, <= 100)."""
    cfg = doc_example(step_weights=step_weights)
    assert cfg.max_weight == min(100, step_weights[-1])
    assert weight_steps(cfg) == expected
    rows = run(released(cfg), [HEALTHY] * (len(expected) + 3))
    assert [weight for _, weight, *_ in rows[1:1 + len(expected)]] == expected
    assert rows[len(expected) + 1][4] == ["canary_promoting"]
    assert rows[len(expected) + 2][4] == ["canary_promoted"]


def test_failed_checks_are_cumulative():
    """3.1 rule 7: a passing tick does not reset failed checks; threshold 2 rolls back after 2 total."""
    analysis = released(doc_example(threshold=2))
    rows = run(analysis, [HEALTHY, HEALTHY, BAD_SUCCESS, HEALTHY, BAD_SUCCESS, HEALTHY])
    assert [(weight, failed) for _, weight, failed, _, _ in rows[1:5]] == [(10, 0), (10, 1), (20, 1), (20, 2)]
    assert rows[5][4] == ["canary_rolled_back"]
    assert analysis.decided_at_s == 300.0


def test_failing_check_at_max_weight_does_not_promote():
    """3.1 rule 6: promotion needs a passing check at max weight."""
    analysis = released(doc_example())
    rows = run(analysis, [HEALTHY] * 6 + [BAD_SUCCESS])
    assert rows[6][4] == ["canary_check_failed"]
    assert (analysis.phase, analysis.weight_pct) == (PROGRESSING, 50)


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
    analysis = released(doc_example())
    run(analysis, [HEALTHY, HEALTHY])
    analysis.tick(120.0, *metrics)
    assert (analysis.failed_checks == 1) is fails


def test_unready_canary_halts_then_rolls_back_after_deadline():
    """3.1 rules 2-3: unready within the 600 s deadline halts; beyond it the canary rolls back."""
    analysis = released(doc_example())
    run(analysis, [HEALTHY, HEALTHY])
    assert analysis.tick(120.0, *HEALTHY, unready_since_s=90.0) == []
    assert analysis.tick(690.0, *HEALTHY, unready_since_s=90.0) == []  # exactly at the deadline
    assert (analysis.weight_pct, analysis.failed_checks) == (10, 0)
    events = analysis.tick(750.0, *HEALTHY, unready_since_s=90.0)
    assert [kind for kind, _ in events] == ["canary_rolled_back"]
    assert events[0][1]["reason"] == "progress deadline exceeded"


def test_new_revision_during_the_analysis_restarts_it():
    """3.1 rule 1: all traffic back to the primary, status reset; the next tick is a first step
    again (no analysis), and the analysis is still one loop (no second analysis started)."""
    analysis = released(doc_example())
    run(analysis, [HEALTHY, HEALTHY, HEALTHY, BAD_SUCCESS])      # weight 20, one failed check
    assert (analysis.weight_pct, analysis.failed_checks) == (20, 1)
    analysis.new_revision()
    assert [kind for kind, _ in analysis.tick(240.0, *BAD_SUCCESS)] == ["canary_restarted"]
    assert (analysis.weight_pct, analysis.failed_checks, analysis.phase) == (0, 0, PROGRESSING)
    assert [kind for kind, _ in analysis.tick(300.0, *BAD_SUCCESS)] == ["canary_weight"]
    assert analysis.weight_pct == 10
    assert analysis.analyses == 1


def test_ticks_are_one_per_interval_however_often_revisions_arrive():
    """Two releases in one interval still give one state change per tick (no double loop)."""
    analysis = released(doc_example())
    analysis.new_revision()
    rows = run(analysis, [HEALTHY] * 3)
    assert [kinds for *_, kinds in rows] == [["canary_started"], ["canary_weight"], ["canary_weight"]]
    assert analysis.weight_pct == 20


def test_revision_during_promotion_starts_a_new_analysis_after_success():
    """A revision that lands while promoting is analysed once the promotion has finished."""
    analysis = released(doc_example())
    run(analysis, [HEALTHY] * 7)
    analysis.new_revision()
    rows = run(analysis, [HEALTHY] * 4, first_tick=7)
    assert [kinds for *_, kinds in rows] == [["canary_promoted"], ["canary_succeeded"], ["canary_started"],
                                             ["canary_weight"]]
    assert analysis.analyses == 2 and analysis.started_at_s == 540.0


def test_a_failed_canary_analyses_the_next_revision():
    analysis = released(doc_example(threshold=1))
    run(analysis, [HEALTHY, HEALTHY, BAD_SUCCESS, HEALTHY])
    assert analysis.phase == FAILED
    analysis.new_revision()
    assert [kind for kind, _ in analysis.tick(240.0, *HEALTHY)] == ["canary_started"]
    assert (analysis.outcome, analysis.decided_at_s) == ("in_progress", None)


def test_gradual_promotion_with_step_weight_promotion():
    """stepWeightPromotion 20: the primary takes 20 more per tick (50 -> 30 -> 10 -> 0), then Finalising."""
    analysis = released(doc_example(step_weight_promotion_pct=20))
    rows = run(analysis, [HEALTHY] * 11)
    assert [(w, phase) for _, w, _, phase, _ in rows[7:11]] == [(30, PROMOTING), (10, PROMOTING), (0, FINALISING),
                                                                  (0, SUCCEEDED)]
    assert rows[7][4] == ["canary_promoted", "canary_weight"]
    assert analysis.new_version_share_pct == 100
