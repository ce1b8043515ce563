"""Output analysis for replicated runs: confidence intervals, comparisons, warm-up, precision.

Why this module exists: a single simulated p99 is one draw of a random variable. Every number the
dashboard or CLI reports across replications should carry a Student-t confidence interval, two
scenarios should be compared on the *difference* (paired when they share seeds, i.e. common random
numbers), and the initial transient should be cut by a documented rule rather than a guess.

All functions are pure and take plain sequences of floats (one value per replication, or one
series from a single run for ``mser5``). References: Law, *Simulation Modeling and Analysis*
(5th ed., ch. 9-10) for the t interval, paired-t / Welch comparisons and the sequential
replication rule; White (1997) and White & Robinson (2010) for MSER.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats as _sps

_BATCH_SIZE = 5  # the "5" in MSER-5


class MeanCI(NamedTuple):
    """A mean with its two-sided Student-t confidence interval (unpacks as a 5-tuple)."""

    mean: float
    half_width: float
    lo: float
    hi: float
    n: int


class Verdict(NamedTuple):
    """Outcome of comparing A and B: a short machine code plus the sentence shown to people."""

    code: str  # "B_better" | "A_better" | "too_close"
    sentence: str


def _as_array(values: Sequence[float]) -> np.ndarray:
    return np.asarray(values, dtype=float).ravel()


def _t_quantile(confidence: float, dof: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return float(_sps.t.ppf(0.5 + confidence / 2.0, dof))


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> MeanCI:
    """Mean and Student-t interval ``mean ± t(1-α/2, n-1) · s / sqrt(n)``.

    With n = 1 there is no estimate of spread, so the half-width is +inf (the interval is the
    whole real line) instead of the NaN numpy would give; with n = 0 the mean is NaN as well.
    """
    x = _as_array(values)
    n = int(x.size)
    if n == 0:
        return MeanCI(math.nan, math.inf, -math.inf, math.inf, 0)
    mean = float(x.mean())
    if n == 1:
        return MeanCI(mean, math.inf, -math.inf, math.inf, 1)
    s = float(x.std(ddof=1))
    half_width = _t_quantile(confidence, n - 1) * s / math.sqrt(n)
    return MeanCI(mean, half_width, mean - half_width, mean + half_width, n)


def _difference_dict(mean_diff: float, half_width: float, dof: float, confidence: float) -> dict:
    return {
        "mean_diff": mean_diff,
        "half_width": half_width,
        "lo": mean_diff - half_width,
        "hi": mean_diff + half_width,
        "dof": dof,
        "confidence": confidence,
    }


def paired_difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> dict:
    """Paired-t interval for mean(B - A); use when replication i of A and B shared seed i.

    Pairing removes the run-to-run noise that both scenarios share (common random numbers), so
    the interval is narrower than Welch's whenever A and B are positively correlated.
    Returns ``{mean_diff, half_width, lo, hi, dof, confidence}``.
    """
    xa, xb = _as_array(a), _as_array(b)
    if xa.size != xb.size:
        raise ValueError(f"paired comparison needs equal lengths, got {xa.size} and {xb.size}")
    ci = mean_ci(xb - xa, confidence)
    return _difference_dict(ci.mean, ci.half_width, float(ci.n - 1), confidence)


def unpaired_difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> dict:
    """Welch interval for mean(B) - mean(A) with Welch–Satterthwaite degrees of freedom.

    For independent runs (different seeds, possibly different replication counts); it does not
    assume equal variances. Same keys as ``paired_difference``.
    """
    xa, xb = _as_array(a), _as_array(b)
    na, nb = xa.size, xb.size
    if na == 0 or nb == 0:
        return _difference_dict(math.nan, math.inf, math.nan, confidence)
    mean_diff = float(xb.mean() - xa.mean())
    if na < 2 or nb < 2:
        return _difference_dict(mean_diff, math.inf, math.nan, confidence)
    va, vb = float(xa.var(ddof=1)) / na, float(xb.var(ddof=1)) / nb
    se = math.sqrt(va + vb)
    if se == 0.0:
        return _difference_dict(mean_diff, 0.0, math.inf, confidence)
    dof = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    return _difference_dict(mean_diff, _t_quantile(confidence, dof) * se, dof, confidence)


def verdict(diff_ci: dict, lower_is_better: bool) -> Verdict:
    """Say which of A and B is better, where the interval is for diff = B - A.

    B is better only if the whole interval lies on B's good side of zero (strictly: an interval
    that touches zero, or has NaN ends, is "too close to call"). The confidence level in the
    sentence is taken from ``diff_ci["confidence"]``.
    """
    lo, hi = diff_ci["lo"], diff_ci["hi"]
    pct = f"{diff_ci['confidence'] * 100:g} %"
    b_lower, b_higher = hi < 0.0, lo > 0.0  # False for NaN ends
    b_better = b_lower if lower_is_better else b_higher
    a_better = b_higher if lower_is_better else b_lower
    if b_better:
        return Verdict("B_better", f"B is better with {pct} confidence")
    if a_better:
        return Verdict("A_better", f"A is better with {pct} confidence")
    return Verdict("too_close", "too close to call")


def mser5(series: Sequence[float]) -> tuple[int, float]:
    """MSER-5 warm-up truncation point: ``(truncation_index, truncation_fraction)``.

    Rule (White 1997, "An effective truncation heuristic for bias reduction in simulation
    output", Simulation 69(6); White & Robinson 2010, "The problem of the initial transient
    (again), or why MSER works", J. of Simulation 4(4)):
    1. Average the series in consecutive batches of 5 -> Z_1..Z_k (a partial last batch is dropped).
    2. For each d = 0..floor(k/2), compute
       MSER(d) = 1/(k-d)^2 · Σ_{j>d} (Z_j - mean(Z_{d+1..k}))^2,
       i.e. the squared standard error of the mean left after deleting the first d batches.
    3. Take the smallest d minimising MSER(d); delete the first 5·d observations.
    Only the first half of the batches is searched, because near the end MSER is dominated by the
    few remaining batches and its minimum there is meaningless (a minimum at the search boundary
    means the run is too short to have reached steady state). Fewer than 2 batches -> (0, 0.0).
    """
    x = _as_array(series)
    n = int(x.size)
    k = n // _BATCH_SIZE
    if k < 2:
        return 0, 0.0
    z = x[: k * _BATCH_SIZE].reshape(k, _BATCH_SIZE).mean(axis=1)
    z = z - z.mean()  # shift for numerical stability; MSER is shift-invariant
    # Suffix sums give every candidate d in one pass: tail j = d..k-1 (0-based).
    s1 = np.cumsum(z[::-1])[::-1]
    s2 = np.cumsum((z * z)[::-1])[::-1]
    m = np.arange(k, 0, -1, dtype=float)  # k - d
    sse = np.maximum(s2 - s1 * s1 / m, 0.0)
    stat = sse / (m * m)
    d_best = int(np.argmin(stat[: k // 2 + 1]))
    index = d_best * _BATCH_SIZE
    return index, index / n


def _target_half_width(
    values: np.ndarray, target_half_width: float | None, relative: float | None
) -> float:
    if (target_half_width is None) == (relative is None):
        raise ValueError("give exactly one of target_half_width or relative")
    if target_half_width is not None:
        if target_half_width <= 0.0:
            raise ValueError(f"target_half_width must be > 0, got {target_half_width}")
        return float(target_half_width)
    if relative <= 0.0:
        raise ValueError(f"relative must be > 0, got {relative}")
    return float(relative) * abs(float(values.mean())) if values.size else math.nan


def replications_needed(
    values: Sequence[float],
    target_half_width: float | None = None,
    *,
    relative: float | None = None,
    confidence: float = 0.95,
) -> int:
    """Total replications (done + more) expected to reach the target half-width.

    Law's sequential estimate: the smallest i >= n with t(1-α/2, i-1) · s / sqrt(i) <= target,
    using the sample standard deviation s of the runs so far. ``relative`` means a target of
    ``relative · |mean|``. At least 2 runs are needed before s exists, so fewer than 2 values
    returns 2.
    """
    x = _as_array(values)
    target = _target_half_width(x, target_half_width, relative)
    n = int(x.size)
    if n < 2:
        return 2
    s = float(x.std(ddof=1))
    if s == 0.0:
        return n
    if not target > 0.0:  # relative target around a zero mean can never be met
        raise ValueError("relative precision is undefined for a mean of zero")
    # The normal quantile gives a lower bound (t > z), so start there and walk up.
    z = float(_sps.norm.ppf(0.5 + confidence / 2.0))
    i = max(n, math.ceil((z * s / target) ** 2), 2)
    while _t_quantile(confidence, i - 1) * s / math.sqrt(i) > target:
        i += 1
    return i


def is_precise(
    values: Sequence[float],
    target_half_width: float | None = None,
    *,
    relative: float | None = None,
    confidence: float = 0.95,
) -> bool:
    """True when the t interval's half-width is at most the target (absolute or relative)."""
    x = _as_array(values)
    target = _target_half_width(x, target_half_width, relative)
    half_width = mean_ci(x, confidence).half_width
    return bool(half_width <= target)


WARMUP_COLUMN = "latency_mean_ms"


def warmup_series(timeseries: pd.DataFrame) -> dict:
    """The per-bin series a run sends back for the warm-up check (lists, so JSON/pickle friendly)."""
    values = timeseries[WARMUP_COLUMN] if WARMUP_COLUMN in timeseries else pd.Series(np.nan, timeseries.index)
    return {"t_s": timeseries["t_s"].astype(float).tolist(),
            "value": values.ffill().astype(float).tolist()}
