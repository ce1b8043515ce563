"""Per-fault recovery timeline: started, detected, mitigated, recovered.

* **prepared**: for an external-API fault, when an operator had already forced the breaker
  open before the fault began (a runbook step for planned maintenance); None otherwise.
* **detected**: the first state change after the fault starts that reacts to it (a breaker
  opening or an operator forcing it open, a canary rollback, a scale-up, a replacement replica starting); None if nothing
  reacted.
* **mitigated**: the start of the first time bin at or after detection (or the fault's start
  when nothing reacted) in which customers are served again: at least 99 % of finished
  requests answered (fallbacks count) and p99 latency within the SLO.
* **recovered**: the start of the first bin after the fault ended (and after the breaker
  closed, for API faults) in which service is back to normal: at least 99 % answered, fewer
  than 1 % of answers from fallbacks, and p99 latency within the SLO.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simulator.scenario.config import Scenario

REACTIONS = {
    "external_api": ("breaker_opened", "breaker_forced_open"),
    "feature_db": ("scale_decision",),
    "inference": ("replica_crashed", "scale_decision", "canary_rolled_back"),
}


def _good_bins(sc: Scenario, ts: pd.DataFrame, strict: bool) -> np.ndarray:
    finished = ts["completions"] + ts["failures"]
    answered = np.where(finished > 0, ts["completions"] / finished.where(finished > 0, 1), 1.0)
    p99 = ts["latency_p99_ms"].fillna(0.0)
    ok = (answered >= 0.99) & (p99 <= sc.slo_latency_ms)
    if strict:
        degraded_share = np.where(ts["completions"] > 0, ts["degraded"] / ts["completions"].where(ts["completions"] > 0, 1), 0)
        ok &= degraded_share < 0.01
    return np.asarray(ok)


def _first_bin_from(ts: pd.DataFrame, good: np.ndarray, t_s: float) -> float | None:
    idx = np.nonzero(good & (ts["t_s"].to_numpy() >= t_s - 1e-9))[0]
    return float(ts["t_s"].iloc[idx[0]]) if len(idx) else None


def recovery_timeline(sc: Scenario, ts: pd.DataFrame, events: pd.DataFrame) -> list[dict]:
    """One dict per fault that started during the run (see the module docstring)."""
    out = []
    starts = events[events["kind"] == "fault_started"]
    ends = events[events["kind"] == "fault_ended"]
    loose = _good_bins(sc, ts, strict=False)
    strict = _good_bins(sc, ts, strict=True)
    width = float(ts["t_end_s"].iloc[0] - ts["t_s"].iloc[0]) if len(ts) else 0.0
    for _, ev in starts.iterrows():
        name = ev["detail"].rsplit(" (", 1)[0]
        target = ev["component"]
        t0 = float(ev["t_s"])
        end_rows = ends[(ends["component"] == target) & (ends["detail"] == name) & (ends["t_s"] >= t0)]
        t_end = float(end_rows["t_s"].iloc[0]) if len(end_rows) else None
        reacting = events[(events["t_s"] >= t0) & events["kind"].isin(REACTIONS.get(target, ()))]
        if target == "feature_db":
            reacting = reacting[reacting["detail"].str.contains("up", na=False)]
        detected = float(reacting["t_s"].iloc[0]) if len(reacting) else None
        prepared = None
        if target == "external_api":
            moves = events[(events["t_s"] <= t0) & events["kind"].str.startswith("breaker_")]
            if len(moves) and moves["kind"].iloc[-1] == "breaker_forced_open":
                prepared = float(moves["t_s"].iloc[-1])
        # the bin holding the fault start is affected; look from the next one
        first_look = (detected if detected is not None else t0) + 0.0
        # prepared in advance, the bin holding the fault start may already be fine
        mitigated = _first_bin_from(ts, loose, t0 if prepared is not None else max(first_look, t0 + width))
        recovered = None
        if t_end is not None:
            after = t_end
            if target == "external_api":
                closed = events[(events["kind"] == "breaker_closed") & (events["t_s"] >= t_end)]
                if len(closed):
                    after = max(after, float(closed["t_s"].iloc[0]))
            recovered = _first_bin_from(ts, strict, after + width)
        out.append({"fault": name, "target": target, "started_s": t0, "ended_s": t_end, "prepared_s": prepared,
                    "detected_s": detected, "mitigated_s": mitigated, "recovered_s": recovered})
    for row in out:
        for k, v in row.items():
            if isinstance(v, float) and not math.isfinite(v):
                row[k] = None
    return out
