"""Time-weighted levels from spans and step functions (queue length, busy servers, capacity).

For sorted span starts S and ends E, the area under the level up to x is
sum_{s<=x}(x-s) - sum_{e<=x}(x-e), computed with prefix sums.
"""
from __future__ import annotations

import numpy as np


def _area_fn(starts: np.ndarray, ends: np.ndarray):
    """Return F(x) = integral over [0, x] of the number of open spans, vectorised in x."""
    s = np.sort(starts)
    e = np.sort(ends)
    ps = np.concatenate([[0.0], np.cumsum(s)])
    pe = np.concatenate([[0.0], np.cumsum(e)])

    def area(x: np.ndarray) -> np.ndarray:
        ks = np.searchsorted(s, x, side="right")
        ke = np.searchsorted(e, x, side="right")
        return (ks * x - ps[ks]) - (ke * x - pe[ke])

    return area


def level_per_bin(starts, ends, edges: np.ndarray) -> np.ndarray:
    """Time-average number of open spans within each bin."""
    starts = np.asarray(starts, float)
    ends = np.asarray(ends, float)
    if len(starts) == 0:
        return np.zeros(len(edges) - 1)
    area = _area_fn(starts, ends)(edges)
    return np.diff(area) / np.diff(edges)


def span_overlap(starts, ends, lo: float, hi: float) -> float:
    """Total length of the spans' overlap with [lo, hi]."""
    starts = np.asarray(starts, float)
    ends = np.asarray(ends, float)
    if len(starts) == 0 or hi <= lo:
        return 0.0
    return float(np.clip(np.minimum(ends, hi) - np.maximum(starts, lo), 0, None).sum())


def capacity_per_bin(steps: list[tuple[float, float]], edges: np.ndarray) -> np.ndarray:
    """Time-average of a step function (list of (t, value) changes) within each bin."""
    if not steps:
        return np.zeros(len(edges) - 1)
    t = np.array([s[0] for s in steps] + [edges[-1]], float)
    v = np.array([s[1] for s in steps], float)
    # area of the step function up to each edge
    seg_area = np.concatenate([[0.0], np.cumsum(v * np.diff(t))])
    idx = np.clip(np.searchsorted(t, edges, side="right") - 1, 0, len(v) - 1)
    area = seg_area[idx] + v[idx] * (edges - t[idx])
    return np.diff(area) / np.diff(edges)


def capacity_integral(steps: list[tuple[float, float]], lo: float, hi: float) -> float:
    """Integral of a step function over [lo, hi]."""
    if not steps or hi <= lo:
        return 0.0
    return float(capacity_per_bin(steps, np.array([lo, hi]))[0] * (hi - lo))


def step_value_at(steps: list[tuple[float, float]], t: np.ndarray) -> np.ndarray:
    """Value of a step function (list of (t, value) changes) at times ``t``."""
    if not steps:
        return np.zeros(len(t))
    ts = np.array([s[0] for s in steps], float)
    vs = np.array([s[1] for s in steps], float)
    return vs[np.clip(np.searchsorted(ts, t, side="right") - 1, 0, len(vs) - 1)]


def step_max_per_bin(steps: list[tuple[float, float]], edges: np.ndarray) -> np.ndarray:
    """Highest value a step function takes within each bin."""
    out = step_value_at(steps, edges[:-1])
    for t, v in steps:
        i = np.searchsorted(edges, t, side="right") - 1
        if 0 <= i < len(out):
            out[i] = max(out[i], v)
    return out


def sum_steps(series: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    """The sum of step functions (each a list of (t, value) changes, 0 before its first change)."""
    times = sorted({t for steps in series for t, _ in steps})
    out: list[tuple[float, float]] = []
    for t in times:
        value = 0.0
        for steps in series:
            i = np.searchsorted([s[0] for s in steps], t, side="right") - 1
            if i >= 0:
                value += steps[i][1]
        if not out or out[-1][1] != value:
            out.append((t, value))
    return out
