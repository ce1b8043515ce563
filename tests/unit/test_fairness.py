"""Fairness monitor: four-fifths rule (mechanisms.md section 5), intervals, guards, hysteresis."""
import math

import numpy as np
import pydantic
import pytest

from simulator.mechanisms.fairness import (
    FairnessConfig,
    FairnessMonitor,
    disparate_impact,
    impact_ratios_to_reference,
    rate_ratio_interval,
    review_staffing_hint,
    selection_rates,
    should_review,
    wilson_interval,
)


def _window(*groups: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Decisions and group codes with (approved, total) per group, group i coded as i."""
    decisions, codes = [], []
    for code, (approved, total) in enumerate(groups):
        decisions += [1] * approved + [0] * (total - approved)
        codes += [code] * total
    return np.array(decisions, dtype=np.int8), np.array(codes, dtype=np.int16)


def test_selection_rates_by_hand():
    """Rates are approvals / decisions per group; a group with no decisions has NaN."""
    rates = selection_rates(np.array([1, 0, 1, 1, 0]), np.array([0, 0, 1, 1, 1]), 3)
    assert rates[0] == pytest.approx(0.5)
    assert rates[1] == pytest.approx(2 / 3)
    assert math.isnan(rates[2])


def test_disparate_impact_is_min_over_max():
    """Fairlearn between_groups: min/max; all-zero rates are undefined (NaN)."""
    assert disparate_impact(np.array([0.6, 0.42, 0.5])) == pytest.approx(0.7)
    assert disparate_impact(np.array([0.6, np.nan, 0.48])) == pytest.approx(0.8)
    assert math.isnan(disparate_impact(np.array([0.0, 0.0])))


def test_impact_ratios_to_reference_can_exceed_one():
    """AIF360 orientation: group rate / reference rate, so a favoured group is above 1."""
    ratios = impact_ratios_to_reference(np.array([0.5, 0.6, 0.45]), ref=0)
    assert ratios == pytest.approx([1.0, 1.2, 0.9])


def test_four_fifths_worked_example_flags():
    """48/80 = 0.60 vs 21/50 = 0.42 -> ratio 0.70 < 0.8 -> flagged (mechanisms.md 5)."""
    monitor = FairnessMonitor(FairnessConfig(min_samples_per_group=10), ("A", "B"))
    out = monitor.evaluate_window(900.0, *_window((48, 80), (21, 50)))
    assert out["ratio"] == pytest.approx(0.70)
    assert out["worst_group"] == "B" and out["comparison_group"] == "A"
    assert out["event"] == "fairness_flagged"
    assert out["status"] == "flagged" and monitor.flagged


def test_four_fifths_exactly_point_eight_passes():
    """B at 24/50 = 0.48 -> ratio exactly 0.80 -> not flagged (the rule is 'below 4/5')."""
    monitor = FairnessMonitor(FairnessConfig(min_samples_per_group=10), ("A", "B"))
    out = monitor.evaluate_window(900.0, *_window((48, 80), (24, 50)))
    assert out["ratio"] == 0.8
    assert out["event"] is None and out["status"] == "ok" and not monitor.flagged


def test_wilson_interval_hand_computation():
    """8/10, z=1.96: centre (0.8+0.19208)/1.38416 = 0.7168, half 0.2266 -> (0.4902, 0.9433)."""
    low, high = wilson_interval(8, 10)
    assert float(low) == pytest.approx(0.4902, abs=1e-4)
    assert float(high) == pytest.approx(0.9433, abs=1e-4)
    low0, _ = wilson_interval(0, 20)
    assert float(low0) == pytest.approx(0.0, abs=1e-12)


def test_katz_ratio_interval_hand_computation():
    """21/50 vs 48/80: ln 0.7 -+ 1.96*sqrt(1/21-1/50+1/48-1/80) -> (0.4827, 1.0151)."""
    low, high = rate_ratio_interval(21, 50, 48, 80)
    assert low == pytest.approx(0.4827, abs=1e-4)
    assert high == pytest.approx(1.0151, abs=1e-4)


def test_require_significance_needs_ci_below_threshold():
    """Same 0.70 ratio: not flagged at n=50/80 (CI reaches 1.015), flagged at 10x the data."""
    cfg = FairnessConfig(min_samples_per_group=10, require_significance=True)
    small = FairnessMonitor(cfg, ("A", "B")).evaluate_window(0.0, *_window((48, 80), (21, 50)))
    assert small["ratio"] == pytest.approx(0.7) and small["event"] is None
    # 10x: se = sqrt(1/210-1/500+1/480-1/800) = 0.05996 -> upper exp(-0.35667+0.11752) = 0.787
    big = FairnessMonitor(cfg, ("A", "B")).evaluate_window(0.0, *_window((480, 800), (210, 500)))
    assert big["ratio_ci"][1] == pytest.approx(0.7873, abs=1e-3)
    assert big["event"] == "fairness_flagged"


def test_min_sample_guard_leaves_small_groups_out():
    """A group under min_samples_per_group is excluded, even with a very low rate."""
    monitor = FairnessMonitor(FairnessConfig(min_samples_per_group=100), ("A", "B", "C"))
    out = monitor.evaluate_window(0.0, *_window((60, 100), (55, 100), (2, 20)))
    assert out["insufficient_groups"] == ("C",)
    assert out["ratio"] == pytest.approx(0.55 / 0.60)
    assert out["event"] is None and not monitor.flagged


def test_insufficient_data_when_fewer_than_two_groups_qualify():
    """With one qualifying group there is no ratio: status insufficient_data, state held."""
    monitor = FairnessMonitor(FairnessConfig(min_samples_per_group=100), ("A", "B"))
    out = monitor.evaluate_window(0.0, *_window((60, 100), (1, 50)))
    assert out["status"] == "insufficient_data" and math.isnan(out["ratio"])
    assert not monitor.flagged


def test_hysteresis_between_threshold_and_clear_threshold():
    """Flag below 0.8; stay flagged at 0.82; clear at 0.85 (>= clear); no re-flag at 0.82."""
    monitor = FairnessMonitor(FairnessConfig(min_samples_per_group=10), ("A", "B"))
    steps = [(70, "fairness_flagged", True), (82, None, True), (85, "fairness_cleared", False),
             (82, None, False)]
    for t, (b_approved, event, flagged) in enumerate(steps):
        out = monitor.evaluate_window(900.0 * t, *_window((100, 100), (b_approved, 100)))
        assert out["event"] == event and out["flagged"] is flagged


def test_reference_group_comparison():
    """With a reference group, the worst ratio is vs the reference (0.45/0.5 = 0.9), not min/max."""
    cfg = FairnessConfig(min_samples_per_group=10, reference_group="ref")
    monitor = FairnessMonitor(cfg, ("ref", "hi", "lo"))
    out = monitor.evaluate_window(0.0, *_window((50, 100), (60, 100), (45, 100)))
    assert out["ratio"] == pytest.approx(0.9)
    assert out["worst_group"] == "lo" and out["comparison_group"] == "ref"
    assert out["event"] is None


def test_unknown_reference_group_is_rejected():
    """A reference group that is not one of the monitored groups fails loudly."""
    with pytest.raises(ValueError):
        FairnessMonitor(FairnessConfig(reference_group="nowhere"), ("A", "B"))


def test_config_validation():
    """clear_threshold below threshold, unknown keys and ratios above 1 are rejected."""
    with pytest.raises(pydantic.ValidationError):
        FairnessConfig(threshold=0.8, clear_threshold=0.7)
    with pytest.raises(pydantic.ValidationError):
        FairnessConfig(treshold=0.8)
    with pytest.raises(pydantic.ValidationError):
        FairnessConfig(threshold=1.2)
    assert FairnessConfig().threshold == 0.8 and not FairnessConfig().enabled


def test_review_routing_modes():
    """While flagged: 'rejections' sends only rejections to review, 'all' sends everything."""
    rejections = FairnessConfig(review_mode="rejections")
    everything = FairnessConfig(review_mode="all")
    assert should_review(approved=False, flagged=True, cfg=rejections)
    assert not should_review(approved=True, flagged=True, cfg=rejections)
    assert should_review(approved=True, flagged=True, cfg=everything)
    assert not should_review(approved=False, flagged=False, cfg=everything)


def test_review_staffing_hint_hand_example():
    """1 case/s, 1 s each, 0 s SLA at 80 %: Erlang C gives 3 reviewers (C(3,1) = 1/11 <= 0.2)."""
    cfg = FairnessConfig(review_service_s=1.0, review_sla_s=1e-9, review_sla_fraction=0.8)
    assert review_staffing_hint(1.0, cfg) == 3
