"""The summary contract: headline KPIs that the CLI, dashboard, sweeps and tests rely on
(typed in :mod:`simulator.report.summary_model`).

Counts and latencies cover requests that arrived after warm-up; utilizations cover the
time window [warmup_s, duration_s]. ``arrived = ok + degraded + failed + in_flight`` and
``availability = (ok + degraded) / (arrived - in_flight)``.

The summary-only path (``run(..., frames=False)``) builds the same summary from running sums
(:mod:`simulator.report.stream`): counts exact, percentiles within 0.995 % (a histogram of 2 %
logarithmic buckets).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.common.numbers import finite_or_none
from simulator.report.levels import capacity_integral, span_overlap
from simulator.report.stages import REASONS, STAGE_MS, stage_ms
from simulator.report.summary_model import Summary
from simulator.scenario.config import Scenario

STAGES = ("ingestion", "feature_store", "external_api", "inference")


def latency_stats(latency_ms: np.ndarray) -> dict:
    """Mean and percentiles (ms) of successful requests' end-to-end latency."""
    if len(latency_ms) == 0:
        return {"mean": None, "p50": None, "p95": None, "p99": None}
    p50, p95, p99 = np.percentile(latency_ms, [50, 95, 99])
    return {"mean": finite_or_none(latency_ms.mean()), "p50": finite_or_none(p50), "p95": finite_or_none(p95), "p99": finite_or_none(p99)}


def stage_stats(sc: Scenario, cols: dict, capacity: dict, after: np.ndarray) -> dict:
    """Per stage: utilization, mean wait and service (ms) and how many requests it served.

    Each mean wait is over the requests that waited at that stage's queue and were let in:
    the stream consumers' messages; the feature-store misses that got a database connection
    (hits never queue); the model requests that entered service (a rejected request never
    queued, and one that timed out in the queue is reported apart, with its own mean wait).
    Stream ingestion also reports its busiest consumer's utilization: partition p belongs to
    consumer p mod C, so with partitions not a multiple of C some consumers carry more.
    """
    lo, hi = sc.warmup_s, sc.duration_s
    span = hi - lo
    out = {}
    arrival = cols["arrival_s"]

    def pack(util, wait_ms, svc_ms, served):
        return {"utilization": finite_or_none(util), "wait_ms_mean": finite_or_none(wait_ms),
                "service_ms_mean": finite_or_none(svc_ms), "served": int(served)}

    def mean_ms(name: str, rows: np.ndarray):
        return stage_ms(cols, name, rows).mean() if rows.any() else None

    # ingestion
    mode = sc.ingestion.mode
    if mode == "direct":
        out["ingestion"] = pack(None, 0.0, 0.0, 0)
    else:
        start = arrival + cols["ing_wait_s"]
        end = start + cols["ing_svc_s"]
        finished = end <= hi
        done = after & finished
        busiest = None
        if mode == "stream":
            st = sc.ingestion.stream
            util = span_overlap(start, np.where(finished, end, np.nan), lo, hi) / (min(st.consumers, st.partitions) * span)
            consumer = cols["ing_consumer"]
            busiest = max(span_overlap(start[finished & (consumer == c)], end[finished & (consumer == c)], lo, hi)
                          for c in range(min(st.consumers, st.partitions))) / span
        else:
            util = None
        del start, end, finished
        out["ingestion"] = pack(util, mean_ms("ingestion_wait_ms", done), mean_ms("ingestion_service_ms", done),
                                done.sum())
        out["ingestion"]["busiest_consumer_utilization"] = finite_or_none(busiest)
    # feature store
    if sc.feature_store.mode == "off":
        out["feature_store"] = pack(None, 0.0, 0.0, 0)
    else:
        db_start, db_end = cols["db_start_s"], cols["db_end_s"]
        busy = span_overlap(db_start, db_end, lo, hi, open_end=hi)
        util = busy / capacity_integral(capacity["feature_store"], lo, hi)
        passed = after & ((cols["fs_hit"] == 1) | ~np.isnan(db_end))
        # misses that got a connection (not failed at once by an outage)
        queried = after & ~np.isnan(db_start) & ~((cols["outcome"] == 2) & (db_end == db_start))
        out["feature_store"] = pack(util, mean_ms("feature_store_wait_ms", queried),
                                    mean_ms("feature_store_service_ms", passed), passed.sum())
    # external API (no capacity limit, so no utilization)
    if not sc.external_api.enabled:
        out["external_api"] = pack(None, 0.0, 0.0, 0)
    else:
        called = after & (cols["api_s"] > 0)
        out["external_api"] = pack(None, 0.0, mean_ms("external_api_service_ms", called), called.sum())
    # inference
    if not sc.inference.enabled:
        out["inference"] = pack(None, 0.0, 0.0, 0)
    else:
        s, e = cols["inf_start_s"], cols["inf_end_s"]
        busy = span_overlap(s, e, lo, hi, open_end=hi)
        cap = capacity_integral(capacity["inference"], lo, hi)
        util = busy / cap if cap > 0 else None
        served = after & ~np.isnan(e) & (e > s)
        failed = cols["outcome"] == 2
        rejected = failed & (cols["reason"] == 1)
        queue_timeout = failed & (cols["reason"] == 2) & (e == s)  # left the queue at its deadline, unserved
        entered = after & ~np.isnan(s) & ~rejected & ~queue_timeout
        timed_out = after & queue_timeout
        out["inference"] = pack(util, mean_ms("inference_wait_ms", entered), mean_ms("inference_service_ms", served),
                                served.sum())
        out["inference"]["timed_out_in_queue"] = int(timed_out.sum())
        out["inference"]["timed_out_in_queue_wait_ms_mean"] = finite_or_none(mean_ms("inference_wait_ms", timed_out))
    return out


def resilience_tallies(sc: Scenario, cols: dict, after: np.ndarray) -> dict:
    """The per-request counts behind the fallback, retry and canary KPIs (additive over blocks)."""
    fb = cols["fallback"][after]
    reached = after & (cols["api_status"] != 4)
    on_canary = cols["version"] == 2
    bad = on_canary & ((cols["outcome"] == 2) | (((cols["end_s"] - cols["inf_enter_s"]) * 1000.0)
                                                 > sc.canary.max_p99_latency_ms))
    return {"cached": int((fb == 1).sum()), "default": int((fb == 2).sum()), "needed": int(reached.sum()),
            "made": int(cols["api_calls"][reached].sum()), "on_canary": int(on_canary.sum()), "bad_on_canary": int(bad.sum())}


def resilience_stats(sc: Scenario, ts: pd.DataFrame, events: pd.DataFrame, trace, tallies: dict,
                     window_means) -> dict:
    """Breaker, fallbacks, retries and canary KPIs (summary keys of the resilience issue);
    ``tallies``: :func:`resilience_tallies`; ``window_means``: see :func:`where_time_went`."""
    out: dict = {}
    open_s = forced_s = 0.0
    states = trace.breaker_states + [(sc.duration_s, "END")]
    for (t0, st), (t1, _) in zip(states, states[1:]):
        if st == "OPEN":
            open_s += max(0.0, min(t1, sc.duration_s) - t0)
        elif st == "FORCED_OPEN":
            forced_s += max(0.0, min(t1, sc.duration_s) - t0)
    c = trace.counters
    out["breaker"] = {"enabled": sc.external_api.breaker.enabled,
                      "opened": int((events["kind"] == "breaker_opened").sum()),
                      "open_s_total": round(open_s, 3),
                      "forced_open_s_total": round(forced_s, 3),
                      "rejected_calls": int(c.get("breaker_rejected_calls", 0))}
    out["fallbacks"] = {"cached": tallies["cached"], "default": tallies["default"]}
    needed, made = tallies["needed"], tallies["made"]
    out["retries"] = {"enabled": sc.external_api.retry.enabled, "calls_made": made, "calls_needed": needed,
                      "amplification": finite_or_none(made / needed) if needed else None}
    started = events.loc[events["kind"] == "canary_started", "t_s"]
    out["canary"] = {"outcome": c.get("canary_outcome", "none"),
                     "started_at_s": float(started.iloc[0]) if len(started) else None,
                     "decided_at_s": finite_or_none(c.get("canary_decided_at_s")),
                     "time_to_decision_s": finite_or_none(c["canary_decided_at_s"] - c["canary_started_s"])
                     if c.get("canary_decided_at_s") is not None else None,
                     "analyses": int(c.get("canary_analyses", 0)),
                     "requests_on_canary": tallies["on_canary"],
                     "bad_responses_on_canary": tallies["bad_on_canary"]}
    from simulator.report.recovery import recovery_timeline

    out["recovery"] = recovery_timeline(sc, ts, events)
    out["where_time_went"] = where_time_went(sc, ts, events, window_means)
    return out


def stage_means(cols: dict):
    """``window_means(t0, t1)`` over a run's columns: mean ms per stage of the requests that arrived
    in [t0, t1) and were answered (None when there are none)."""
    answered = cols["outcome"] <= 1
    arr = cols["arrival_s"]

    def window_means(t0: float, t1: float) -> pd.Series | None:
        rows = answered & (arr >= t0) & (arr < t1)
        if not rows.any():
            return None
        # a skipped stage counts 0 ms, as in time_attribution
        return pd.Series({name: float(np.nan_to_num(stage_ms(cols, name, rows)).mean()) for name in STAGE_MS})
    return window_means


def where_time_went(sc: Scenario, ts: pd.DataFrame, events: pd.DataFrame, window_means) -> dict | None:
    """Compare the slowest stretch of the run with a calm one and name the stage whose time grew.

    The slow window is the fault window when a fault was injected, otherwise the 5-minute
    stretch with the highest mean latency; the baseline window is the stretch before it
    (after warm-up). Reported only when latency grew by more than 20 %. ``window_means(t0, t1)``
    gives the mean ms per stage of the answered requests that arrived in [t0, t1) (None if none).
    """
    from simulator.report.tracing import attribution_table

    lo = sc.warmup_s
    faults = events[events["kind"] == "fault_started"]
    if len(faults):
        t0 = float(faults["t_s"].iloc[0])
        ends = events[(events["kind"] == "fault_ended") & (events["t_s"] > t0)]
        t1 = float(ends["t_s"].iloc[0]) if len(ends) else sc.duration_s
    else:
        width = float(ts["t_end_s"].iloc[0] - ts["t_s"].iloc[0])
        k = max(1, int(round(300 / width)))
        lat = ts["latency_mean_ms"].where(ts["t_s"] >= lo).rolling(k, min_periods=1).mean()
        if lat.notna().sum() == 0:
            return None
        i = int(lat.idxmax())
        t1 = float(ts["t_end_s"].iloc[i])
        t0 = max(lo, t1 - k * width)
    if t0 - lo < 60 or t1 <= t0:
        return None
    base, slow = window_means(lo, t0), window_means(t0, t1)
    if base is None or slow is None:
        return None  # nobody was answered in one of the windows: nothing to attribute
    table = attribution_table(base, slow)
    base_ms = float(table["baseline_ms"].sum())
    slow_ms = float(table["slow_ms"].sum())
    if not base_ms or slow_ms < 1.2 * base_ms:
        return None
    top = table.iloc[0]
    return {"baseline_window_s": [lo, t0], "slow_window_s": [t0, t1], "baseline_ms": finite_or_none(base_ms),
            "slow_ms": finite_or_none(slow_ms), "stage": str(top["stage"]), "component": str(top["component"]),
            "finding": table.attrs.get("finding", "")}


def summarize(sc: Scenario, seed: int, ts: pd.DataFrame, events: pd.DataFrame,
              cols: dict, capacity: dict, wall_s: float, trace, architecture: dict) -> Summary:
    """Build the typed summary (see the module docstring for the counting rules); ``architecture``
    is the run read through its graph (:func:`simulator.report.components.architecture_summary`)."""
    after = cols["arrival_s"] >= sc.warmup_s
    outcome = cols["outcome"][after]
    counts = np.bincount(outcome, minlength=4)
    succ = after & (cols["outcome"] <= 1)
    lat = (cols["end_s"][succ] - cols["arrival_s"][succ]) * 1000.0
    reasons = np.bincount(cols["reason"][after & (cols["outcome"] == 2)].astype(np.int64), minlength=len(REASONS))
    return summary_from(sc, seed, events, wall_s, counts, latency_stats(lat), int((lat <= sc.slo_latency_ms).sum()),
                        reasons, stage_stats(sc, cols, capacity, after),
                        resilience_stats(sc, ts, events, trace, resilience_tallies(sc, cols, after), stage_means(cols)),
                        _economics(sc, cols, capacity, trace, after) if sc.inference.enabled else {}, architecture)


def summary_from(sc: Scenario, seed: int, events: pd.DataFrame, wall_s: float, counts: np.ndarray, latency: dict,
                 in_slo: int, reasons: np.ndarray, stages: dict, resilience: dict, money: dict,
                 architecture: dict) -> Summary:
    """The typed summary from its parts (both paths): ``counts`` per outcome code and ``reasons``
    per failure reason code of the requests that arrived after warm-up; ``in_slo`` of them answered
    within the latency objective."""
    ok, degraded, failed, in_flight = (int(x) for x in counts[:4])
    arrived = ok + degraded + failed + in_flight
    served = ok + degraded
    finished = arrived - in_flight
    measured_s = sc.duration_s - sc.warmup_s
    order = sorted((i for i in range(len(REASONS)) if reasons[i]), key=lambda i: (-reasons[i], i))
    return Summary.model_validate({
        "scenario": sc.name,
        "seed": int(seed),
        "sim_duration_s": float(sc.duration_s),
        "warmup_s": float(sc.warmup_s),
        "wall_s": round(float(wall_s), 3),
        "requests": {"arrived": arrived, "ok": ok, "degraded": degraded, "failed": failed, "in_flight": in_flight},
        "throughput_rps": finite_or_none(served / measured_s),
        "latency_ms": latency,
        "availability": finite_or_none(served / finished) if finished else None,
        "on_time_fraction": finite_or_none(in_slo / finished) if finished else None,
        "slo_latency_ms": float(sc.slo_latency_ms),
        "failures_by_reason": {REASONS[i]: int(reasons[i]) for i in order},
        "stages": stages,
        "events": {str(k): int(v) for k, v in events["kind"].value_counts().sort_index().items()},
        **resilience,
        **money,
        "architecture": architecture,
    })


def _economics(sc, cols, capacity, trace, after) -> dict:
    from simulator.report.economics import economics_tallies
    from simulator.report.governance_results import decision_tallies

    return economics_section(sc, economics_tallies(sc, cols, after), decision_tallies(sc, cols, after), capacity, trace)


def economics_section(sc, money: dict, decided: dict, capacity, trace) -> dict:
    """Cost, value, model quality and the decision sections from their tallies (both paths)."""
    from simulator.report.economics import economics
    from simulator.report.governance_results import decision_stats

    stats = decision_stats(sc, decided, trace)
    gov = trace.gov
    counters = dict(trace.counters)
    counters["review_cases"] = len(gov.case_rid) if gov is not None else 0
    econ = economics(sc, money, capacity, trace.cold_spans, counters)
    if gov is not None and gov.retrain_cost:
        econ["cost_usd"]["retraining"] = gov.retrain_cost
        econ["cost_usd"]["total"] = (econ["cost_usd"]["total"] or 0.0) + gov.retrain_cost
    econ["model"]["accuracy_online"] = stats.pop("accuracy_online")
    econ["model"]["served_version"] = trace.counters.get("served_version", sc.model.version)
    econ["model"]["approval_rate_by_group"] = stats.pop("approval_rate_by_group")
    return {**econ, **stats}
