"""The arrival rate a scenario describes (profile x daily curve x spikes) and replayed timestamps."""
from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

from simulator.scenario.config import Scenario, ScenarioError, TrafficConfig, read_regular_file

GRID_STEPS_MAX = 2_000_000
MAX_REPLAY_BYTES = 256 * 2**20   # about 20 million timestamps


def rate_multiplier(traffic: TrafficConfig, t_s: np.ndarray, start_time_of_day_h: float) -> np.ndarray:
    """The multiplier m(t) applied to ``rate_per_s``: profile x daily x spikes."""
    t_s = np.asarray(t_s, dtype=float)
    m = np.ones_like(t_s)
    if traffic.profile_points:
        xs = [p[0] for p in traffic.profile_points]
        ys = [p[1] for p in traffic.profile_points]
        m = m * np.interp(t_s, xs, ys)
    if traffic.daily.enabled:
        hour = (start_time_of_day_h + t_s / 3600.0) % 24.0
        m = m * (1.0 + traffic.daily.amplitude * np.cos(2 * np.pi * (hour - traffic.daily.peak_hour) / 24.0))
    for sp in traffic.spikes:
        m = m * spike_factor(sp.start_s, sp.ramp_s, sp.duration_s, sp.multiplier, t_s)
    return np.maximum(m, 0.0)


def spike_factor(start_s, ramp_s, duration_s, multiplier, t_s):
    """1 outside the spike, a linear ramp to ``multiplier``, a plateau, a linear ramp back."""
    up_end = start_s + ramp_s
    down_start = up_end + duration_s
    end = down_start + ramp_s
    frac = np.zeros_like(t_s)
    if ramp_s > 0:
        frac = np.where((t_s >= start_s) & (t_s < up_end), (t_s - start_s) / ramp_s, frac)
        frac = np.where((t_s >= down_start) & (t_s < end), 1.0 - (t_s - down_start) / ramp_s, frac)
    frac = np.where((t_s >= up_end) & (t_s < down_start), 1.0, frac)
    return 1.0 + (multiplier - 1.0) * frac


def rate_knots(traffic: TrafficConfig) -> list[float]:
    """Every time at which the rate's formula changes: profile points and spike edges."""
    knots = [p[0] for p in traffic.profile_points]
    for sp in traffic.spikes:
        up_end = sp.start_s + sp.ramp_s
        down_start = up_end + sp.duration_s
        knots += [sp.start_s, up_end, down_start, down_start + sp.ramp_s]
    return knots


def rate_grid(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Grid edges (s) and the rate (per s) in each grid step, evaluated at step midpoints.

    The grid is (about) one second wide plus every knot of the profile and every spike edge,
    so no step straddles a change of formula: a piecewise-constant rate is exact, and a
    piecewise-linear one has the exact integral over every step.
    """
    duration = scenario.duration_s
    steps = int(min(GRID_STEPS_MAX, max(1, math.ceil(duration))))
    knots = np.unique(np.array([k for k in rate_knots(scenario.traffic) if 0.0 < k < duration], float))
    edges = np.linspace(0.0, duration, steps + 1)
    if len(knots):  # as np.union1d, without sorting the whole grid again for a few knots
        new = knots[edges[np.searchsorted(edges, knots)] != knots]
        edges = np.insert(edges, np.searchsorted(edges, new), new)
    mids = (edges[:-1] + edges[1:]) / 2
    rate = scenario.traffic.rate_per_s * rate_multiplier(scenario.traffic, mids, scenario.start_time_of_day_h)
    return edges, rate


def rate_at(scenario: Scenario, t_s: np.ndarray) -> np.ndarray:
    """The arrival rate (per s) at the given times."""
    return scenario.traffic.rate_per_s * rate_multiplier(scenario.traffic, t_s, scenario.start_time_of_day_h)


def expected_count(scenario: Scenario) -> float:
    """Expected number of arrivals over the run."""
    if scenario.traffic.kind == "replay":
        return float(len(load_replay(scenario)))
    edges, rate = rate_grid(scenario)
    return float(np.sum(rate * np.diff(edges)))


def load_replay(scenario: Scenario) -> np.ndarray:
    """Sorted arrival times (s) from the replay CSV, within [0, duration).

    The file must be a regular local file of at most ``MAX_REPLAY_BYTES`` (never a URL, a
    device or a pipe: the scenario model refuses URLs, :func:`read_regular_file` the rest), and
    no message quotes its contents.
    """
    path = Path(scenario.traffic.replay_csv or "")
    return replay_times(read_regular_file(path, MAX_REPLAY_BYTES, "traffic.replay_csv"), scenario.duration_s)


def replay_times(data: bytes, duration_s: float) -> np.ndarray:
    """Arrival times from CSV bytes: the column ``t_s`` if there is one, else the first column."""
    import pandas as pd

    unreadable = ScenarioError(["traffic.replay_csv: not a CSV of arrival times (one column of seconds, "
                                "optionally headed t_s)"])
    if b"\x00" in data:
        raise unreadable
    try:
        frame = pd.read_csv(io.BytesIO(data), encoding="utf-8")
    except Exception:  # pandas raises many parser errors; all mean "unreadable CSV"
        raise unreadable from None
    if frame.shape[1] == 0:
        raise unreadable
    column = frame["t_s"] if "t_s" in frame.columns else frame.iloc[:, 0]
    t = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(t).all():
        raise ScenarioError(["traffic.replay_csv: every arrival time must be a finite number of seconds"])
    t = np.sort(t)
    return t[(t >= 0) & (t < duration_s)]


def expected_arrivals(scenario: Scenario) -> float:
    """Expected number of arrivals, used to refuse absurd sizes before any work starts."""
    return expected_count(scenario)
