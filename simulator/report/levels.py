"""Time-weighted levels from spans and step functions (queue length, busy servers, capacity).

For span starts S and ends E, the area under the level up to x is
sum_{s<=x}(x-s) - sum_{e<=x}(x-e), computed from per-bin counts and sums.
"""
from __future__ import annotations

import numpy as np


def area_at_edges(starts: np.ndarray, ends: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """F(x) = integral over [0, x] of the number of open spans, at each edge x, without sorting.

    F(x) = sum_{s <= x} (x - s) - sum_{e <= x} (x - e): a start or end exactly at x adds 0, so
    only those in earlier bins count, which per-bin counts and sums (bincount) give in O(n).
    """
    m = len(edges)

    def below(points: np.ndarray) -> np.ndarray:
        b = np.searchsorted(edges, points, side="right")  # points with b <= j lie before edge j
        count = np.cumsum(np.bincount(b, minlength=m + 1)[:m])
        total = np.cumsum(np.bincount(b, weights=points, minlength=m + 1)[:m])
        return count * edges - total

    return below(starts) - below(ends)


def level_per_bin(starts, ends, edges: np.ndarray) -> np.ndarray:
    """Time-average number of open spans within each bin."""
    starts = np.asarray(starts, float)
    ends = np.asarray(ends, float)
    if len(starts) == 0:
        return np.zeros(len(edges) - 1)
    return np.diff(area_at_edges(starts, ends, edges)) / np.diff(edges)


def span_overlap(starts, ends, lo: float, hi: float, open_end: float | None = None) -> float:
    """Total length of the spans' overlap with [lo, hi].

    Spans with a NaN start are left out; with ``open_end`` a NaN end means the span is still
    open at that time (otherwise the span is left out too).
    """
    starts = np.asarray(starts, float)
    ends = np.asarray(ends, float)
    if len(starts) == 0 or hi <= lo:
        return 0.0
    length = np.fmin(ends, hi) if open_end is not None else np.minimum(ends, hi)
    if open_end is not None and open_end < hi:
        np.minimum(length, open_end, out=length)
    length -= np.maximum(starts, lo)
    np.clip(length, 0, None, out=length)
    return float(np.nansum(length))


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
