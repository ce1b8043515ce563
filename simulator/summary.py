"""The summary contract: headline KPIs that the CLI, dashboard, sweeps and tests rely on.

Counts and latencies cover requests that arrived after warm-up; utilizations cover the
time window [warmup_s, duration_s]. ``arrived = ok + degraded + failed + in_flight`` and
``availability = (ok + degraded) / (arrived - in_flight)``.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simulator.config import Scenario
from simulator.results import capacity_integral, span_overlap

STAGES = ("ingestion", "feature_store", "external_api", "inference")


def _num(x) -> float | None:
    """JSON-friendly float: NaN/inf become None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def latency_stats(latency_ms: np.ndarray) -> dict:
    """Mean and percentiles (ms) of successful requests' end-to-end latency."""
    if len(latency_ms) == 0:
        return {"mean": None, "p50": None, "p95": None, "p99": None}
    p50, p95, p99 = np.percentile(latency_ms, [50, 95, 99])
    return {"mean": _num(latency_ms.mean()), "p50": _num(p50), "p95": _num(p95), "p99": _num(p99)}


def stage_stats(sc: Scenario, req: pd.DataFrame, cols: dict, capacity: dict, after: np.ndarray) -> dict:
    """Per stage: utilization, mean wait and service (ms) and how many requests it served."""
    lo, hi = sc.warmup_s, sc.duration_s
    span = hi - lo
    out = {}
    arrival = cols["arrival_s"]

    def pack(util, wait_ms, svc_ms, served):
        return {"utilization": _num(util), "wait_ms_mean": _num(wait_ms), "service_ms_mean": _num(svc_ms),
                "served": int(served)}

    # ingestion
    mode = sc.ingestion.mode
    if mode == "direct":
        out["ingestion"] = pack(None, 0.0, 0.0, 0)
    else:
        start = arrival + cols["ing_wait_s"]
        end = start + cols["ing_svc_s"]
        done = after & (end <= hi)
        if mode == "stream":
            st = sc.ingestion.stream
            busy = span_overlap(start[end <= hi], end[end <= hi], lo, hi)
            util = busy / (min(st.consumers, st.partitions) * span)
        else:
            util = None
        out["ingestion"] = pack(util, req["ingestion_wait_ms"].to_numpy()[done].mean() if done.any() else None,
                                req["ingestion_service_ms"].to_numpy()[done].mean() if done.any() else None,
                                done.sum())
    # feature store
    if sc.feature_store.mode == "off":
        out["feature_store"] = pack(None, 0.0, 0.0, 0)
    else:
        db_start, db_end = cols["db_start_s"], cols["db_end_s"]
        ok_db = ~np.isnan(db_start)
        busy = span_overlap(db_start[ok_db], np.where(np.isnan(db_end[ok_db]), hi, db_end[ok_db]), lo, hi)
        util = busy / capacity_integral(capacity["feature_store"], lo, hi)
        hit = cols["fs_hit"]
        passed = after & ((hit == 1) | ~np.isnan(db_end))
        wait = req["feature_store_wait_ms"].to_numpy()[passed]
        svc = req["feature_store_service_ms"].to_numpy()[passed]
        out["feature_store"] = pack(util, wait.mean() if len(wait) else None,
                                    svc.mean() if len(svc) else None, passed.sum())
    # external API (no capacity limit, so no utilization)
    if not sc.external_api.enabled:
        out["external_api"] = pack(None, 0.0, 0.0, 0)
    else:
        called = after & (req["external_api_service_ms"].to_numpy() > 0)
        svc = req["external_api_service_ms"].to_numpy()[called]
        out["external_api"] = pack(None, 0.0, svc.mean() if len(svc) else None, called.sum())
    # inference
    if not sc.inference.enabled:
        out["inference"] = pack(None, 0.0, 0.0, 0)
    else:
        s, e = cols["inf_start_s"], cols["inf_end_s"]
        started = ~np.isnan(s)
        busy = span_overlap(s[started], np.where(np.isnan(e[started]), hi, e[started]), lo, hi)
        cap = capacity_integral(capacity["inference"], lo, hi)
        util = busy / cap if cap > 0 else None
        served = after & ~np.isnan(e) & (e > s)
        waited = after & started
        wait = req["inference_wait_ms"].to_numpy()[waited]
        svc = req["inference_service_ms"].to_numpy()[served]
        out["inference"] = pack(util, wait.mean() if len(wait) else None,
                                svc.mean() if len(svc) else None, served.sum())
    return out


def summarize(sc: Scenario, seed: int, req: pd.DataFrame, ts: pd.DataFrame, events: pd.DataFrame,
              cols: dict, capacity: dict, wall_s: float) -> dict:
    """Build the summary dict (see the module docstring for the counting rules)."""
    after = cols["arrival_s"] >= sc.warmup_s
    outcome = cols["outcome"][after]
    counts = np.bincount(outcome, minlength=4)
    ok, degraded, failed, in_flight = (int(x) for x in counts[:4])
    arrived = int(after.sum())
    served = ok + degraded
    finished = arrived - in_flight
    succ = after & (cols["outcome"] <= 1)
    lat = (cols["end_s"][succ] - cols["arrival_s"][succ]) * 1000.0
    measured_s = sc.duration_s - sc.warmup_s
    in_slo = int((lat <= sc.slo_latency_ms).sum())
    return {
        "scenario": sc.name,
        "seed": int(seed),
        "sim_duration_s": float(sc.duration_s),
        "warmup_s": float(sc.warmup_s),
        "wall_s": round(float(wall_s), 3),
        "requests": {"arrived": arrived, "ok": ok, "degraded": degraded, "failed": failed, "in_flight": in_flight},
        "throughput_rps": _num(served / measured_s),
        "latency_ms": latency_stats(lat),
        "availability": _num(served / finished) if finished else None,
        "on_time_fraction": _num(in_slo / finished) if finished else None,
        "slo_latency_ms": float(sc.slo_latency_ms),
        "failures_by_reason": {str(k): int(v) for k, v in
                               req.loc[after & (cols["outcome"] == 2), "reason"].value_counts().items() if v},
        "stages": stage_stats(sc, req, cols, capacity, after),
        "events": {str(k): int(v) for k, v in events["kind"].value_counts().sort_index().items()},
    }
