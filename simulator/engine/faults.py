"""Fault injection: scheduled windows and MTBF/MTTR flapping on every dependency.

A fault is a time window [start_s, end_s) on one target with a kind and a factor. The
schedule is fixed before the run starts (stochastic up/down periods are drawn from their own
named random stream), so looking up "what is broken at time t" is a pure function, and two
scenarios with the same seed see the same fault timeline.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from simulator.scenario.faults import FaultsConfig


@dataclass(frozen=True)
class Window:
    name: str
    target: str  # "external_api" | "feature_db" | "inference"
    kind: str
    start_s: float
    end_s: float
    factor: float = 1.0


class Timeline:
    """Windows on one target, queried by time (first matching window wins)."""

    def __init__(self, windows: list[Window]):
        self.windows = sorted(windows, key=lambda w: w.start_s)
        self._starts = [w.start_s for w in self.windows]
        self.active = bool(self.windows)

    def at(self, t_s: float) -> Window | None:
        if not self.active:
            return None
        i = bisect.bisect_right(self._starts, t_s)
        for w in reversed(self.windows[max(0, i - 8):i]):
            if w.start_s <= t_s < w.end_s:
                return w
        return None


def build_windows(cfg: FaultsConfig, duration_s: float, rng: np.random.Generator) -> list[Window]:
    """All fault windows of a run, scheduled and stochastic, clipped to the run."""
    out: list[Window] = []
    for f in cfg.external_api:
        out.append(Window(f.name, "external_api", f.kind, f.start_s, f.start_s + f.duration_s, f.factor))
    fl = cfg.external_api_flapping
    if fl.enabled:
        t, k = 0.0, 0
        while True:
            t += rng.exponential(fl.mtbf_s)
            if t >= duration_s:
                break
            down = rng.exponential(fl.mttr_s)
            k += 1
            out.append(Window(f"api failure #{k}", "external_api", fl.kind, t, t + down, 1.0))
            t += down
    for f in cfg.feature_db:
        out.append(Window(f.name, "feature_db", f.kind, f.start_s, f.start_s + f.duration_s, f.factor))
    for f in cfg.inference:
        end = f.start_s + (f.restart_s if f.kind == "crash" else f.duration_s)
        out.append(Window(f.name, "inference", f.kind, f.start_s, end, f.factor))
    return [w for w in out if w.start_s < duration_s]
