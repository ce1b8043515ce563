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
from simulator.report.components import final_decision
from simulator.report.levels import capacity_per_bin, level_per_bin, step_max_per_bin, step_value_at, sum_steps
from simulator.report.stages import API_STATUS, FALLBACKS, OUTCOMES, REASONS, stage_ms, stage_ms_in_place
from simulator.report.summary_model import Summary
from simulator.scenario.config import Scenario, scenario_to_yaml
from simulator.scenario.graph import effective_scenario

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
    summary: Summary
    spans: pd.DataFrame = field(default_factory=pd.DataFrame)
    extra: dict = field(default_factory=dict)  # fairness windows, audit log, explanations, reviews

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write summary.json, requests.parquet, timeseries.csv, events.csv, scenario.resolved.yaml."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / "summary.json", out / "requests.parquet", out / "timeseries.csv",
                 out / "events.csv", out / "scenario.resolved.yaml"]
        paths[0].write_text(json.dumps(self.summary.to_dict(), indent=2) + "\n", encoding="utf-8")
        self.requests.to_parquet(paths[1], index=False)
        frame_to_csv(self.timeseries, paths[2])
        frame_to_csv(self.events, paths[3])
        paths[4].write_text(scenario_to_yaml(self.scenario), encoding="utf-8")
        return paths


# --------------------------------------------------------------------------- span maths


# --------------------------------------------------------------------------- frames
def _codes(values: np.ndarray, categories: list[str]) -> pd.Categorical:
    return pd.Categorical.from_codes(values.astype(np.int8, copy=False), categories)


def _requests_frame(sc: Scenario, cols: dict[str, np.ndarray], n: int, model_version: pd.Categorical) -> pd.DataFrame:
    """One row per request, on the run's own arrays: the stage times are converted to ms in place;
    ``model_version`` is :func:`served_versions`. The row index is the request id; ``latency_ms``
    (``end_s - arrival_s``) is derived where it is read (:func:`simulator.report.stages.request_latency_ms`)."""
    c = cols
    decision = final_decision(c)
    stages = stage_ms_in_place(c)
    frame = pd.DataFrame({
        "arrival_s": c["arrival_s"],
        "end_s": c["end_s"],
        "outcome": _codes(c["outcome"], OUTCOMES),
        "reason": _codes(c["reason"], REASONS),
        "segment": pd.Categorical.from_codes(c["segment"].astype(np.int16, copy=False), list(sc.traffic.segments)),
        "region": pd.Categorical.from_codes(c["region"].astype(np.int16, copy=False), list(sc.traffic.regions)),
        "ingestion_wait_ms": stages["ingestion_wait_ms"],
        "ingestion_service_ms": stages["ingestion_service_ms"],
        "feature_store_hit": c["fs_hit"].astype(np.int8, copy=False),
        "feature_store_wait_ms": stages["feature_store_wait_ms"],
        "feature_store_service_ms": stages["feature_store_service_ms"],
        "external_api_service_ms": stages["external_api_service_ms"],
        "inference_wait_ms": stages["inference_wait_ms"],
        "inference_service_ms": stages["inference_service_ms"],
        "inference_start_s": c["inf_start_s"],
        "inference_end_s": c["inf_end_s"],
        "external_api_start_s": c["api_start_s"],
        "external_api_status": _codes(c["api_status"], API_STATUS),
        "external_api_calls": c["api_calls"].astype(np.int16, copy=False),
        "fallback": _codes(c["fallback"], FALLBACKS),
        "fallback_staleness_s": c["staleness_s"],
        "decision": pd.Categorical.from_codes(decision, ["reject", "approve"]),
        "true_outcome": _codes(c["label"], ["bad", "good"]),
        "model_version": model_version,
    }, copy=False)
    return frame


def served_versions(sc: Scenario, cols: dict[str, np.ndarray], events: pd.DataFrame) -> pd.Categorical:
    """Which model version decided each request: the canary's version for requests routed to the
    canary, and the new version for requests the primary scored after the new version took over
    (a canary promotion or a direct deployment, from the events); "none" when no model scored it."""
    old = sc.model.version
    new = sc.canary.version
    switch_s = math.inf
    took_over = events[events["kind"].isin(["canary_promoted", "model_deployed"])]
    if len(took_over):
        switch_s = float(took_over["t_s"].iloc[0])
        detail = str(took_over["detail"].iloc[0])
        new = detail.split("version ", 1)[1].split(",")[0] if "version " in detail else detail.split(" ", 1)[0]
    started = events[events["kind"] == "canary_started"]
    if len(started) and "version " in str(started["detail"].iloc[0]):
        new = str(started["detail"].iloc[0]).split("version ", 1)[1].split(",")[0]
    codes = cols["version"].astype(np.int8)  # a copy: the run's column stays as it was
    if math.isfinite(switch_s):
        codes[(codes == 1) & (cols["inf_start_s"] >= switch_s)] = 2  # NaN (never started) compares False
    return pd.Categorical.from_codes(codes, ["none", old, new if new != old else f"{new} (new)"])


def _bins(sc: Scenario) -> np.ndarray:
    width = max(sc.timeseries_interval_s, sc.duration_s / MAX_BINS)
    n_bins = max(1, int(math.ceil(sc.duration_s / width - 1e-9)))
    edges = np.minimum(np.arange(n_bins + 1) * width, sc.duration_s)
    return edges


def _bin_index(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each value (as np.histogram: the last bin includes its right edge); -1 outside or NaN."""
    n_bins = len(edges) - 1
    b = np.searchsorted(edges, x, side="right").astype(np.int32) - 1
    b[x == edges[-1]] = n_bins - 1
    b[b >= n_bins] = -1
    return b


def _per_bin_quantiles(bins: np.ndarray, values: np.ndarray, n_bins: int, qs: tuple[float, ...]) -> list[np.ndarray]:
    """Linear-interpolation quantiles of ``values`` within each bin (NaN for an empty bin)."""
    order = np.lexsort((values, bins))
    v = values[order]
    counts = np.bincount(bins, minlength=n_bins)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts > 0
    out = []
    for q in qs:
        res = np.full(n_bins, np.nan)
        pos = (counts[has] - 1) * q
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, counts[has] - 1)
        a, b = v[first[has] + lo], v[first[has] + hi]
        res[has] = a + (b - a) * (pos - lo)
        out.append(res)
    return out


def _timeseries(sc: Scenario, c: dict[str, np.ndarray], capacity: dict, edges: np.ndarray) -> pd.DataFrame:
    """One row per time bin; levels integrate the per-request spans (a NaN end: still open)."""
    width = np.diff(edges)
    n_bins = len(width)
    arrival, end, outcome = c["arrival_s"], c["end_s"], c["outcome"]
    ts = {"t_s": edges[:-1], "t_end_s": edges[1:]}  # columns, made a frame once at the end
    ts["arrivals"] = np.histogram(arrival, edges)[0]
    end_bin = _bin_index(end, edges)  # NaN (in flight) and ends after the horizon: -1
    counted = end_bin >= 0
    done = counted & (outcome <= 1)

    ts["completions"] = np.bincount(end_bin[done], minlength=n_bins)
    ts["failures"] = np.bincount(end_bin[counted & (outcome == 2)], minlength=n_bins)
    ts["degraded"] = np.bincount(end_bin[counted & (outcome == 1)], minlength=n_bins)
    ts["arrival_rate_per_s"] = ts["arrivals"] / width
    ts["throughput_rps"] = ts["completions"] / width
    lat_ms = end[done] - arrival[done]
    lat_ms *= 1000.0
    b = end_bin[done]
    if len(lat_ms):
        p50, p95, p99 = _per_bin_quantiles(b, lat_ms, n_bins, (0.5, 0.95, 0.99))
        counts = np.bincount(b, minlength=n_bins)
        mean = np.where(counts > 0, np.bincount(b, weights=lat_ms, minlength=n_bins) / np.maximum(counts, 1), np.nan)
    else:
        p50 = p95 = p99 = mean = np.full(n_bins, np.nan)
    del lat_ms, b, end_bin, counted, done
    ts["latency_p50_ms"], ts["latency_p95_ms"], ts["latency_p99_ms"] = p50, p95, p99
    ts["latency_mean_ms"] = mean

    # ingestion: backlog (arrived, not yet processed) and consumer busy time
    mode = sc.ingestion.mode
    if mode != "direct":
        ing_start = arrival + c["ing_wait_s"]
        ing_end = ing_start + c["ing_svc_s"]
        ts["ingestion_backlog"] = level_per_bin(arrival, ing_end, edges)
        if mode == "stream":
            st = sc.ingestion.stream
            ts["utilization_ingestion"] = level_per_bin(ing_start, ing_end, edges) / min(st.consumers, st.partitions)
        else:
            ts["utilization_ingestion"] = np.nan
        del ing_start, ing_end
    else:
        ts["ingestion_backlog"] = 0.0
        ts["utilization_ingestion"] = np.nan
    # feature-store database pool
    if sc.feature_store.mode != "off":
        ts["feature_db_queue"] = level_per_bin(c["db_enter_s"], c["db_start_s"], edges)
        busy = level_per_bin(c["db_start_s"], c["db_end_s"], edges)
        ts["utilization_feature_store"] = busy / capacity_per_bin(capacity["feature_store"], edges)
    else:
        ts["feature_db_queue"] = 0.0
        ts["utilization_feature_store"] = np.nan
    # inference pool
    if sc.inference.enabled:
        ts["inference_queue"] = level_per_bin(c["inf_enter_s"], c["inf_start_s"], edges)
        busy = level_per_bin(c["inf_start_s"], c["inf_end_s"], edges)
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
    return pd.DataFrame(ts)


def run_capacity(sc: Scenario, trace: Trace) -> dict[str, list[tuple[float, float]]]:
    """The run's capacity step functions (slots, replicas, connections) with their defaults."""
    capacity = dict(trace.capacity)
    models = [series for cid, series in trace.component_capacity.items() if "replicas" in series]
    if len(models) > 1:  # a graph's model servers, all of them (charts and cost count every pool)
        for key in ("replicas", "replicas_total"):
            capacity[key] = sum_steps([series[key] for series in models])
    capacity.setdefault("inference", [(0.0, sc.inference.replicas * sc.inference.concurrency)])
    capacity.setdefault("replicas", [(0.0, sc.inference.replicas)])
    capacity.setdefault("feature_store", [(0.0, sc.feature_store.db_connections)])
    return capacity


def control_timeseries(ts: pd.DataFrame, trace: Trace, edges: np.ndarray) -> None:
    """The breaker's state and the canary's weight per bin (from the control plane's records)."""
    breaker = [(t, BREAKER_LEVEL[state]) for t, state in trace.breaker_states]
    ts["breaker_state"] = step_max_per_bin(breaker, edges)  # levels of BREAKER_LEVEL
    ts["canary_weight_pct"] = step_value_at(trace.canary_weights, edges[1:] - 1e-9)


def build_result(scenario: Scenario, seed: int, trace: Trace, wall_s: float, frames: bool = True) -> RunResult:
    """Frames and summary of one run. The trace's columns become the frames' (changed in place).

    ``frames=False`` is the summary-only path: the summary, the timeseries and the events, but no
    requests frame and no spans (what replications, sweeps, plans and comparisons need).
    """
    from simulator.engine.dataplane import component_columns
    from simulator.report.components import architecture_summary, capacities, component_timeseries
    from simulator.report.summary import summarize

    # the graph's stations as the top-level sections (the scenario itself for old files)
    sc = effective_scenario(scenario)
    spec = component_columns(sc)
    n = trace.n
    cols = {}
    for name, values in trace.columns.items():
        arr = np.asarray(values)
        cols[name] = arr if len(arr) == n else np.asarray(values[:n])
    dur = sc.duration_s
    # anything that ends after the horizon was still in flight when the run stopped (the trace's
    # columns are the report's from here on: changed in place, no copies of million-row arrays)
    late = np.isnan(cols["end_s"]) | (cols["end_s"] > dur)
    cols["outcome"] = cols["outcome"].astype(np.int8, copy=False)
    cols["reason"] = cols["reason"].astype(np.int8, copy=False)
    cols["outcome"][late] = 3
    cols["reason"][late] = 0
    cols["end_s"][late] = np.nan
    del late
    pool_times = {"inf_start_s", "inf_end_s", "db_start_s", "db_end_s"}
    for entry in spec["components"].values():
        if entry["kind"] in ("model", "review"):
            pool_times |= {entry["columns"]["start"], entry["columns"]["end"]}
    for key in sorted(pool_times):
        cols[key][cols[key] > dur] = np.nan
    capacity = run_capacity(sc, trace)
    edges = _bins(sc)
    timeseries = _timeseries(sc, cols, capacity, edges)
    control_timeseries(timeseries, trace, edges)
    fb = cols["fallback"]
    timeseries["fallback_answers"] = np.histogram(cols["end_s"][(fb > 0) & ~np.isnan(cols["end_s"])], edges)[0]
    _stage_breakdown(cols, timeseries, edges)
    if scenario.topology is not None:  # each model and review pool of the graph, for its busiest minute
        pools = capacities(sc, spec, capacity, trace.component_capacity)
        for name, values in component_timeseries(spec, cols, pools, edges).items():
            timeseries[name] = values
    if sc.inference.enabled:
        from simulator.report.economics import cost_timeseries, request_charges_per_bin

        for name, values in cost_timeseries(sc, capacity, edges, request_charges_per_bin(sc, edges, cols)).items():
            timeseries[name] = values
    events = pd.DataFrame(sorted(trace.events), columns=["t_s", "kind", "component", "detail"])
    architecture = architecture_summary(sc, spec, cols, capacity, trace.component_capacity,
                                        cols["arrival_s"] >= sc.warmup_s)
    summary = summarize(sc, seed, timeseries, events, cols, capacity, wall_s, trace, architecture)
    from simulator.report.governance_results import extra_frames

    extra = extra_frames(sc, trace, cols)
    if not frames:
        return RunResult(scenario, seed, pd.DataFrame(), timeseries, events, summary, pd.DataFrame(), extra)
    from simulator.report.spans import build_spans

    spans = build_spans(sc, seed, cols, spec)
    versions = served_versions(sc, cols, events)
    requests = _requests_frame(sc, cols, n, versions)  # last: it turns the run's arrays into the frame's, in place
    if "decided_by" in cols:
        requests["decided_by"] = pd.Categorical.from_codes(cols["decided_by"].astype(np.int16), _node_ids(sc))
    return RunResult(scenario, seed, requests, timeseries, events, summary, spans, extra)


def _node_ids(sc: Scenario) -> list[str]:
    """Component ids in the order the engine numbers them (``decided_by`` codes)."""
    from simulator.scenario.graph import build_graph

    return list(build_graph(sc).nodes)


STAGE_COLUMNS = {
    "ingestion": ("ingestion_wait_ms", "ingestion_service_ms"),
    "feature_store": ("feature_store_wait_ms", "feature_store_service_ms"),
    "external_api": ("external_api_service_ms",),
    "inference": ("inference_wait_ms", "inference_service_ms"),
}


def _stage_breakdown(c: dict[str, np.ndarray], ts: pd.DataFrame, edges: np.ndarray) -> None:
    """Mean time per stage (ms) of the requests that arrived in each bin and were answered."""
    done = c["outcome"] <= 1
    b = np.clip(np.searchsorted(edges, c["arrival_s"][done], side="right") - 1, 0, len(ts) - 1)
    counts = np.bincount(b, minlength=len(ts))
    for stage, names in STAGE_COLUMNS.items():
        total = np.nan_to_num(stage_ms(c, names[0], done))
        for name in names[1:]:
            total += np.nan_to_num(stage_ms(c, name, done))
        sums = np.bincount(b, weights=total, minlength=len(ts))
        ts[f"stage_{stage}_ms"] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
