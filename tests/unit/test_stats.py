"""Output-analysis statistics checked against hand computations and textbook rules."""
import math

import numpy as np
import pytest
from scipy import stats as sps

from simulator.analysis.stats import (
    is_precise,
    mean_ci,
    mser5,
    paired_difference,
    replications_needed,
    unpaired_difference,
    verdict,
)

# Hand values for [1, 2, 3, 4, 5]: mean 3, s = sqrt(2.5) = 1.58114, t(0.975, 4) = 2.776445
# (t table), half-width = 2.776445 * 1.58114 / sqrt(5) = 1.96324.
T_975_4 = 2.776445
HW_1_TO_5 = 1.96324


def test_mean_ci_matches_hand_computation():
    """[1..5] at 95 %: mean 3, half-width 1.963, interval [1.037, 4.963]."""
    mean, hw, lo, hi, n = mean_ci([1, 2, 3, 4, 5])
    assert n == 5
    assert mean == pytest.approx(3.0)
    assert hw == pytest.approx(HW_1_TO_5, abs=1e-4)
    assert lo == pytest.approx(3.0 - HW_1_TO_5, abs=1e-4)
    assert hi == pytest.approx(3.0 + HW_1_TO_5, abs=1e-4)


def test_mean_ci_single_value_has_infinite_half_width():
    """One replication says nothing about spread: half-width is +inf, not NaN; mean is the value."""
    ci = mean_ci([7.5])
    assert ci.mean == 7.5 and ci.n == 1
    assert math.isinf(ci.half_width) and ci.lo == -math.inf and ci.hi == math.inf


def test_mean_ci_empty_and_constant():
    """No values: NaN mean; identical values: zero-width interval."""
    assert math.isnan(mean_ci([]).mean) and mean_ci([]).n == 0
    ci = mean_ci([2.0, 2.0, 2.0])
    assert ci.half_width == 0.0 and ci.lo == ci.hi == 2.0


def test_paired_difference_hand_computation():
    """b - a = [1,1,1,1,2]: mean 1.2, s = sqrt(0.2), hw = 2.776445 * sqrt(0.2)/sqrt(5) = 0.555289."""
    d = paired_difference([1, 2, 3, 4, 5], [2, 3, 4, 5, 7])
    assert d["mean_diff"] == pytest.approx(1.2)
    assert d["half_width"] == pytest.approx(T_975_4 * 0.2, abs=1e-5)
    assert d["lo"] == pytest.approx(1.2 - T_975_4 * 0.2, abs=1e-5)
    assert d["hi"] == pytest.approx(1.2 + T_975_4 * 0.2, abs=1e-5)


def test_welch_difference_hand_computation():
    """a = [1..5] (var 2.5), b = [2,4,..,10] (var 10): diff 3, se = sqrt(0.5 + 2) = 1.58114,
    Welch dof = 2.5² / (0.5²/4 + 2²/4) = 6.25 / 1.0625 = 5.88235."""
    d = unpaired_difference([1, 2, 3, 4, 5], [2, 4, 6, 8, 10])
    assert d["mean_diff"] == pytest.approx(3.0)
    assert d["dof"] == pytest.approx(6.25 / 1.0625)
    expected_hw = sps.t.ppf(0.975, 6.25 / 1.0625) * math.sqrt(2.5)
    assert d["half_width"] == pytest.approx(expected_hw, rel=1e-9)


def test_paired_is_narrower_on_positively_correlated_data():
    """With common random numbers (shared per-replication noise) the paired interval is far
    narrower than Welch's, while both estimate the same mean difference."""
    rng = np.random.default_rng(1)
    shared = rng.normal(100.0, 20.0, size=20)  # run-to-run noise both scenarios share
    a = shared + rng.normal(0.0, 1.0, size=20)
    b = shared + 3.0 + rng.normal(0.0, 1.0, size=20)
    paired, welch = paired_difference(a, b), unpaired_difference(a, b)
    assert paired["mean_diff"] == pytest.approx(welch["mean_diff"])
    assert paired["half_width"] < welch["half_width"] / 5
    assert paired["lo"] > 0 > welch["lo"]  # pairing detects the +3 that Welch cannot


def _ci(lo, hi):
    return {"mean_diff": (lo + hi) / 2, "half_width": (hi - lo) / 2, "lo": lo, "hi": hi,
            "confidence": 0.95}


def test_verdict_boundaries_lower_is_better():
    """diff = B - A of a latency: wholly below 0 -> B better; wholly above -> A better;
    touching or spanning zero -> too close."""
    assert verdict(_ci(-3.0, -0.1), lower_is_better=True) == (
        "B_better", "B is better with 95 % confidence")
    assert verdict(_ci(0.1, 3.0), lower_is_better=True) == (
        "A_better", "A is better with 95 % confidence")
    assert verdict(_ci(-1.0, 1.0), lower_is_better=True).code == "too_close"
    assert verdict(_ci(-1.0, 0.0), lower_is_better=True).code == "too_close"
    assert verdict(_ci(0.0, 1.0), lower_is_better=True).sentence == "too close to call"


def test_verdict_higher_is_better_flips_and_nan_is_too_close():
    """For throughput (higher is better) a positive B - A favours B; NaN ends never decide."""
    assert verdict(_ci(0.5, 2.0), lower_is_better=False).code == "B_better"
    assert verdict(_ci(-2.0, -0.5), lower_is_better=False).code == "A_better"
    nan_ci = {"lo": math.nan, "hi": math.nan, "confidence": 0.9}
    assert verdict(nan_ci, lower_is_better=True).code == "too_close"
    one_rep = paired_difference([1.0], [5.0])  # infinite half-width
    assert verdict(one_rep, lower_is_better=True).code == "too_close"


def test_verdict_sentence_uses_the_interval_confidence():
    """A 90 % interval produces a 90 % sentence."""
    d = paired_difference([1, 2, 3, 4, 5], [3, 4, 5, 6, 7], confidence=0.90)
    assert verdict(d, lower_is_better=True).sentence == "A is better with 90 % confidence"


def test_mser5_finds_obvious_initial_transient():
    """200 points stuck at 10, then noise around 0: MSER-5 truncates at (about) 200."""
    rng = np.random.default_rng(3)
    series = np.concatenate([np.full(200, 10.0), rng.normal(0.0, 1.0, 1000)])
    index, fraction = mser5(series)
    assert 195 <= index <= 215
    assert index % 5 == 0
    assert fraction == pytest.approx(index / 1200)


def test_mser5_keeps_almost_all_of_a_stationary_series():
    """A stationary series has no transient; E[MSER(d)] ≈ σ²/(k-d) grows with d, so the rule
    truncates little (here < 5 % of the run)."""
    rng = np.random.default_rng(5)
    index, fraction = mser5(rng.normal(0.0, 1.0, 2000))
    assert fraction < 0.05
    assert mser5(np.ones(100)) == (0, 0.0)  # ties pick the smallest d


def test_mser5_short_series():
    """Fewer than two batches of 5: nothing to compare, no truncation."""
    assert mser5([1, 2, 3, 4, 5, 6, 7]) == (0, 0.0)


def test_replications_needed_matches_sequential_rule():
    """s = 1.58114 and target 0.5: the smallest i with t(0.975, i-1)·s/sqrt(i) <= 0.5 is 41
    (i = 40: 2.0227·1.58114/6.3246 = 0.5057; i = 41: 2.0211·1.58114/6.4031 = 0.4991)."""
    values = [1, 2, 3, 4, 5]
    assert replications_needed(values, 0.5) == 41
    s = np.std(values, ddof=1)
    brute = next(i for i in range(2, 1000) if sps.t.ppf(0.975, i - 1) * s / math.sqrt(i) <= 0.5)
    assert brute == 41
    assert replications_needed(values, 5.0) == 5  # already precise: no more runs
    assert replications_needed([3.0], 0.1) == 2  # no spread estimate yet


def test_replications_needed_relative_target():
    """relative=0.1 of mean 3 is an absolute target of 0.3."""
    values = [1, 2, 3, 4, 5]
    assert replications_needed(values, relative=0.1) == replications_needed(values, 0.3)


def test_is_precise_absolute_and_relative():
    """[1..5] has half-width 1.963: within 2.0 and within 70 % of mean 3 (2.1), not 1.9 or 60 %."""
    values = [1, 2, 3, 4, 5]
    assert is_precise(values, 2.0)
    assert not is_precise(values, 1.9)
    assert is_precise(values, relative=0.7)
    assert not is_precise(values, relative=0.6)
    assert not is_precise([4.0], 100.0)
    with pytest.raises(ValueError):
        is_precise(values, 1.0, relative=0.1)
