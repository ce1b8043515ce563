"""Turn a run's columnar trace into tidy frames (requests, timeseries, events) once, at the end.

Time-weighted levels (queue length, busy servers, consumer lag) are integrated exactly
from per-request spans: for sorted span starts S and ends E, the area under the level
up to x is  sum_{s<=x}(x-s) - sum_{e<=x}(x-e),  computed with prefix sums.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.common.csv_export import frame_to_csv
from simulator.engine.trace import Trace
from simulator.report.levels import capacity_per_bin, level_per_bin, step_max_per_bin, step_value_at
from simulator.scenario.config import Scenario, scenario_to_yaml

OUTCOMES = ["ok", "degraded", "failed", "in_flight"]
REASONS = ["none", "rejected", "timeout", "api_error", "feature_db_error", "replica_crash", "model_error"]
API_STATUS = ["ok", "error", "timeout", "rejected_by_breaker", "not_called"]
FALLBACKS = ["none", "cached", "default"]
# breaker state per time bin; the highest level in a bin wins. Below 0: an operator let calls
# through unguarded (metrics only, or the breaker switched off); 3: an operator holds it open.
BREAKER_LEVEL = {"DISABLED": -2.0, "METRICS_ONLY": -1.0, "CLOSED": 0.0, "HALF_OPEN": 1.0, "OPEN": 2.0,
                 "FORCED_OPEN": 3.0}
MAX_BINS = 5000


@dataclass
class RunResult:
    """Tidy results of one run. Charts, narrative and exports are built from these only."""

    scenario: Scenario
    seed: int
    requests: pd.DataFrame
    timeseries: pd.DataFrame
    events: pd.DataFrame
    summary: dict
    spans: pd.DataFrame = field(default_factory=pd.DataFrame)
    extra: dict = field(default_factory=dict)  # fairness windows, audit log, explanations, reviews

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write summary.json, requests.parquet, timeseries.csv, events.csv, scenario.resolved.yaml."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / "summary.json", out / "requests.parquet", out / "timeseries.csv",
                 out / "events.csv", out / "scenario.resolved.yaml"]
        paths[0].write_text(json.dumps(self.summary, indent=2) + "\n", encoding="utf-8")
        self.requests.to_parquet(paths[1], index=False)
        frame_to_csv(self.timeseries, paths[2])
        frame_to_csv(self.events, paths[3])
        paths[4].write_text(scenario_to_yaml(self.scenario), encoding="utf-8")
        return paths


# --------------------------------------------------------------------------- span maths


# --------------------------------------------------------------------------- frames
def _requests_frame(sc: Scenario, cols: dict[str, np.ndarray], n: int) -> pd.DataFrame:
    c = cols
    fs_hit = c["fs_hit"]
    db_wait = np.where(np.isnan(c["db_start_s"]), 0.0, c["db_start_s"] - c["db_enter_s"])
    db_svc = np.where(np.isnan(c["db_end_s"]), 0.0, c["db_end_s"] - c["db_start_s"])
    inf_wait = c["inf_start_s"] - c["inf_enter_s"]
    inf_svc = c["inf_end_s"] - c["inf_start_s"]
    latency_ms = (c["end_s"] - c["arrival_s"]) * 1000.0
    frame = pd.DataFrame({
        "request_id": np.arange(n, dtype=np.int64),
        "arrival_s": c["arrival_s"],
        "end_s": c["end_s"],
        "latency_ms": latency_ms,
        "outcome": pd.Categorical.from_codes(c["outcome"].astype(np.int8), OUTCOMES),
        "reason": pd.Categorical.from_codes(c["reason"].astype(np.int8), REASONS),
        "segment": pd.Categorical.from_codes(c["segment"].astype(np.int16), list(sc.traffic.segments)),
        "region": pd.Categorical.from_codes(c["region"].astype(np.int16), list(sc.traffic.regions)),
        "ingestion_wait_ms": c["ing_wait_s"] * 1000.0,
        "ingestion_service_ms": c["ing_svc_s"] * 1000.0,
        "feature_store_hit": fs_hit.astype(np.int8),
        "feature_store_wait_ms": db_wait * 1000.0,
        "feature_store_service_ms": (c["fs_lookup_s"] * (fs_hit >= 0) + db_svc) * 1000.0,
        "external_api_service_ms": c["api_s"] * 1000.0,
        "inference_wait_ms": inf_wait * 1000.0,
        "inference_service_ms": inf_svc * 1000.0,
        "inference_start_s": c["inf_start_s"],
        "inference_end_s": c["inf_end_s"],
        "external_api_start_s": c["api_start_s"],
        "external_api_status": pd.Categorical.from_codes(c["api_status"].astype(np.int8), API_STATUS),
        "external_api_calls": c["api_calls"].astype(np.int16),
        "fallback": pd.Categorical.from_codes(c["fallback"].astype(np.int8), FALLBACKS),
        "fallback_staleness_s": c["staleness_s"],
        "decision": pd.Categorical.from_codes(
            np.where(c["version"] == 2, c["approve_alt"], c["approve"]).astype(np.int8), ["reject", "approve"]),
        "true_outcome": pd.Categorical.from_codes(c["label"].astype(np.int8), ["bad", "good"]),
        "model_version": pd.Categorical.from_codes(
            c["version"].astype(np.int8), ["none", "v1", sc.canary.version if sc.canary.version != "v1" else "v1-canary"]),
    })
    return frame


def _bins(sc: Scenario) -> np.ndarray:
    width = max(sc.timeseries_interval_s, sc.duration_s / MAX_BINS)
    n_bins = max(1, int(math.ceil(sc.duration_s / width - 1e-9)))
    edges = np.minimum(np.arange(n_bins + 1) * width, sc.duration_s)
    return edges


def _timeseries(sc: Scenario, c: dict[str, np.ndarray], capacity: dict, edges: np.ndarray) -> pd.DataFrame:
    dur = sc.duration_s
    width = np.diff(edges)
    arrival = c["arrival_s"]
    end = c["end_s"]
    outcome = c["outcome"]
    ts = pd.DataFrame({"t_s": edges[:-1], "t_end_s": edges[1:]})
    ts["arrivals"] = np.histogram(arrival, edges)[0]
    done = (outcome <= 1) & (end <= dur)
    ts["completions"] = np.histogram(end[done], edges)[0]
    failed = (outcome == 2) & (end <= dur)
    ts["failures"] = np.histogram(end[failed], edges)[0]
    ts["degraded"] = np.histogram(end[(outcome == 1) & (end <= dur)], edges)[0]
    ts["arrival_rate_per_s"] = ts["arrivals"] / width
    ts["throughput_rps"] = ts["completions"] / width
    lat_ms = (end[done] - arrival[done]) * 1000.0
    b = np.clip(np.searchsorted(edges, end[done], side="right") - 1, 0, len(width) - 1)
    for name in ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms"):
        ts[name] = np.nan
    if len(lat_ms):
        grp = pd.DataFrame({"b": b, "lat": lat_ms}).groupby("b")["lat"]
        qs = grp.quantile([0.5, 0.95, 0.99]).unstack()
        ts.loc[qs.index, "latency_p50_ms"] = qs[0.5].to_numpy()
        ts.loc[qs.index, "latency_p95_ms"] = qs[0.95].to_numpy()
        ts.loc[qs.index, "latency_p99_ms"] = qs[0.99].to_numpy()
        ts["latency_mean_ms"] = np.nan
        ts.loc[grp.mean().index, "latency_mean_ms"] = grp.mean().to_numpy()
    else:
        ts["latency_mean_ms"] = np.nan

    def open_end(x):
        return np.where(np.isnan(x), dur, np.minimum(x, dur))

    # ingestion: backlog (arrived, not yet processed) and consumer busy time
    mode = sc.ingestion.mode
    ing_start = arrival + c["ing_wait_s"]
    ing_end = ing_start + c["ing_svc_s"]
    if mode != "direct":
        ts["ingestion_backlog"] = level_per_bin(arrival, np.minimum(ing_end, dur), edges)
    else:
        ts["ingestion_backlog"] = 0.0
    if mode == "stream":
        st = sc.ingestion.stream
        busy = level_per_bin(ing_start, np.minimum(ing_end, dur), edges)
        ts["utilization_ingestion"] = busy / min(st.consumers, st.partitions)
    else:
        ts["utilization_ingestion"] = np.nan
    # feature-store database pool
    used_db = ~np.isnan(c["db_enter_s"])
    if sc.feature_store.mode != "off":
        q_end = open_end(c["db_start_s"][used_db])
        ts["feature_db_queue"] = level_per_bin(c["db_enter_s"][used_db], q_end, edges)
        started = used_db & ~np.isnan(c["db_start_s"])
        busy = level_per_bin(c["db_start_s"][started], open_end(c["db_end_s"][started]), edges)
        ts["utilization_feature_store"] = busy / capacity_per_bin(capacity["feature_store"], edges)
    else:
        ts["feature_db_queue"] = 0.0
        ts["utilization_feature_store"] = np.nan
    # inference pool
    if sc.inference.enabled:
        used = ~np.isnan(c["inf_enter_s"])
        ts["inference_queue"] = level_per_bin(c["inf_enter_s"][used], open_end(c["inf_start_s"][used]), edges)
        started = used & ~np.isnan(c["inf_start_s"])
        busy = level_per_bin(c["inf_start_s"][started], open_end(c["inf_end_s"][started]), edges)
        cap = capacity_per_bin(capacity["inference"], edges)
        ts["inference_busy"] = busy
        ts["utilization_inference"] = np.where(cap > 0, busy / np.where(cap > 0, cap, 1), np.nan)
        ts["replicas"] = capacity_per_bin(capacity["replicas"], edges)
        ts["replicas_total"] = capacity_per_bin(capacity["replicas_total"], edges)
        ts["canary_replicas"] = capacity_per_bin(capacity["canary_replicas"], edges)
    else:
        ts["inference_queue"] = 0.0
        ts["inference_busy"] = 0.0
        ts["utilization_inference"] = np.nan
        ts["replicas"] = 0.0
        ts["replicas_total"] = 0.0
        ts["canary_replicas"] = 0.0
    return ts


def build_result(sc: Scenario, seed: int, trace: Trace, wall_s: float) -> RunResult:
    from simulator.report.summary import summarize

    n = trace.n
    cols = {}
    for name, values in trace.columns.items():
        arr = np.asarray(values)
        cols[name] = arr if len(arr) == n else np.asarray(values[:n])
    dur = sc.duration_s
    # anything that ends after the horizon was still in flight when the run stopped
    late = np.isnan(cols["end_s"]) | (cols["end_s"] > dur)
    cols["outcome"] = np.where(late, 3, cols["outcome"]).astype(np.int8)
    cols["reason"] = np.where(late, 0, cols["reason"]).astype(np.int8)
    cols["end_s"] = np.where(late, np.nan, cols["end_s"])
    for key in ("inf_start_s", "inf_end_s", "db_start_s", "db_end_s"):
        cols[key] = np.where(cols[key] > dur, np.nan, cols[key])
    capacity = dict(trace.capacity)
    capacity.setdefault("inference", [(0.0, sc.inference.replicas * sc.inference.concurrency)])
    capacity.setdefault("replicas", [(0.0, sc.inference.replicas)])
    capacity.setdefault("feature_store", [(0.0, sc.feature_store.db_connections)])
    edges = _bins(sc)
    requests = _requests_frame(sc, cols, n)
    timeseries = _timeseries(sc, cols, capacity, edges)
    breaker = [(t, BREAKER_LEVEL[state]) for t, state in trace.breaker_states]
    timeseries["breaker_state"] = step_max_per_bin(breaker, edges)  # levels of BREAKER_LEVEL
    timeseries["canary_weight_pct"] = step_value_at(trace.canary_weights, edges[1:] - 1e-9)
    fb = cols["fallback"]
    timeseries["fallback_answers"] = np.histogram(cols["end_s"][(fb > 0) & ~np.isnan(cols["end_s"])], edges)[0]
    _stage_breakdown(requests, timeseries, edges)
    if sc.inference.enabled:
        from simulator.report.economics import cost_timeseries

        for name, values in cost_timeseries(sc, capacity, edges, cols).items():
            timeseries[name] = values
    events = pd.DataFrame(sorted(trace.events), columns=["t_s", "kind", "component", "detail"])
    summary = summarize(sc, seed, requests, timeseries, events, cols, capacity, wall_s, trace)
    from simulator.report.spans import build_spans

    spans = build_spans(sc, seed, cols)
    from simulator.report.governance_results import extra_frames

    extra = extra_frames(sc, trace, cols)
    return RunResult(sc, seed, requests, timeseries, events, summary, spans, extra)


STAGE_COLUMNS = {
    "ingestion": ("ingestion_wait_ms", "ingestion_service_ms"),
    "feature_store": ("feature_store_wait_ms", "feature_store_service_ms"),
    "external_api": ("external_api_service_ms",),
    "inference": ("inference_wait_ms", "inference_service_ms"),
}


def _stage_breakdown(req: pd.DataFrame, ts: pd.DataFrame, edges: np.ndarray) -> None:
    """Mean time per stage (ms) of the requests that arrived in each bin and were answered."""
    done = req["outcome"].isin(["ok", "degraded"]).to_numpy()
    b = np.clip(np.searchsorted(edges, req["arrival_s"].to_numpy()[done], side="right") - 1, 0, len(ts) - 1)
    for stage, cols in STAGE_COLUMNS.items():
        total = sum(req[c].to_numpy()[done] for c in cols)
        total = np.nan_to_num(total)
        sums = np.bincount(b, weights=total, minlength=len(ts))
        counts = np.bincount(b, minlength=len(ts))
        ts[f"stage_{stage}_ms"] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
