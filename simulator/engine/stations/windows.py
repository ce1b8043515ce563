"""Fault windows as arrays for the kernels, with the event path's lookup rule (Timeline.at).

``Timeline.at(t)`` returns, among the windows whose start is at or before ``t`` (the last eight
of them, by start), the latest-starting one that contains ``t``. ``window_at`` applies the same
rule to sorted arrays, so a kernel sees exactly the fault the event path sees.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def window_at(starts, ends, t):
    """Index of the window in force at ``t`` (Timeline.at's rule), or -1."""
    i = np.searchsorted(starts, t, side="right")
    lo = i - 8 if i > 8 else 0
    for j in range(i - 1, lo - 1, -1):
        if starts[j] <= t < ends[j]:
            return j
    return -1


@njit(cache=True)
def windows_at(starts, ends, times):
    out = np.empty(len(times), np.int64)
    for k in range(len(times)):
        out[k] = window_at(starts, ends, times[k])
    return out
