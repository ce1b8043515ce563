"""Scenario -> instant queueing-theory preview (microseconds), and how close it came afterwards.

Why: the dashboard shows this while sliders move and swaps in the simulation when it is
ready; the planner uses it to skip configurations that cannot work. It maps a Scenario onto
``simulator.analysis.analytic.preview`` (a tandem of G/G/c stations, QNA decomposition):

- **arrivals**: Poisson at the mean rate over the measured window [warmup_s, duration_s]
  (replayed traffic is treated as Poisson at its mean rate);
- **stream ingestion**: each active consumer is its own FIFO single server. Partition p
  belongs to consumer p mod consumers and messages pick partitions uniformly, so consumer c
  gets the share n_c / partitions of the traffic; one station per active consumer, visited by
  that share (means are exact; the p99 treats visits as independent, an approximation).
  Beyond 64 active consumers the stage becomes one delay equal to the traffic-weighted
  Pollaczek-Khinchine wait (mean exact, the wait's spread left out of the p99) to stay fast;
- **batch ingestion**: a delay: the wait for the next trigger is uniform on [0, interval]
  (mean interval / 2, SCV 1/3), plus the start-up time and half the job's duration
  (approximate: downstream stages then see a smoothed flow, not the job's burst);
- **feature store**: the online lookup is an uncontended delay for everyone (online_store);
  the source database is a ``db_connections``-server station visited by the miss fraction
  (all requests with ``mode: compute``);
- **external API**: an uncontended random delay (timeouts ignored);
- **inference**: ``replicas x concurrency`` servers (queue limits and deadlines ignored), the
  service time scaled by the precision's speed factor (simulator.scenario.serving) where it exists;
  a pool starting from zero replicas is previewed with one.

Time-varying traffic: the steady-state numbers use the mean rate; the peak is checked with
the fluid model (``analytic.fluid_queue``), which reports backlog when a stage's capacity is
below the arrival rate. Fields this module does not know about (autoscaling, cold starts,
breakers, retries, faults) are ignored: the simulation is the reference.
"""
from __future__ import annotations

import math
import time
from typing import NamedTuple

import numpy as np
import pandas as pd

from simulator.analysis.analytic import StageSpec, fluid_queue, pollaczek_khinchine_wait_s, preview
from simulator.common.queueing import service_scv
from simulator.report.finding import Finding
from simulator.report.summary_model import Summary
from simulator.scenario.config import Scenario

STAGES = ("ingestion", "feature_store", "external_api", "inference")


def inference_service_ms(sc: Scenario) -> float:
    """Mean model service time, scaled by the precision's speed factor where the model has one."""
    inf = sc.inference
    precision, serving = getattr(inf, "precision", None), getattr(sc, "model", None)
    if precision is None or serving is None:
        return inf.service_ms
    try:
        from simulator.scenario.serving import service_factor
    except ImportError:
        return inf.service_ms
    return inf.service_ms * service_factor(serving, precision)


def measured_rates(sc: Scenario) -> tuple[np.ndarray, float, float]:
    """Arrival rate per grid step over the measured window, its step (s), and its mean."""
    from simulator.scenario.rates import load_replay, rate_grid

    window_s = sc.duration_s - sc.warmup_s
    if sc.traffic.kind == "replay":
        times = load_replay(sc)
        mean = float(np.sum(times >= sc.warmup_s)) / window_s
        return np.array([mean]), window_s, mean
    edges, rate = rate_grid(sc)
    mids = (edges[:-1] + edges[1:]) / 2
    keep = mids >= sc.warmup_s
    rate, dt_s = rate[keep], float(edges[1] - edges[0])
    return rate, dt_s, float(rate.mean()) if rate.size else 0.0


def consumer_shares(partitions: int, consumers: int) -> list[float]:
    """Traffic share of each active consumer: partition p goes to consumer p mod consumers."""
    counts = np.bincount(np.arange(partitions) % consumers, minlength=consumers)
    return [c / partitions for c in counts if c > 0]


MAX_CONSUMER_STATIONS = 64


class ConsumerGroup(NamedTuple):
    """Independent single-server consumers: traffic-weighted mean wait and utilizations."""

    wait_s: float
    mean_utilization: float
    max_utilization: float
    stable: bool


def consumer_group(st, rate_per_s: float) -> ConsumerGroup:
    """M/G/1 (Pollaczek-Khinchine) for every active consumer of a stream, weighted by traffic."""
    service_s, scv = st.process_ms / 1000, service_scv(st.process_dist, st.process_cv)
    shares = consumer_shares(st.partitions, st.consumers)
    utils = [rate_per_s * q * service_s for q in shares]
    waits = [pollaczek_khinchine_wait_s(rate_per_s * q, service_s, scv) for q in shares]
    return ConsumerGroup(float(sum(q * w for q, w in zip(shares, waits))), float(np.mean(utils)),
                         float(max(utils)), bool(max(utils) < 1.0))


def stage_specs(sc: Scenario, rate_per_s: float) -> list[StageSpec]:
    """The pipeline as analytic stations, named ``<summary stage>.<part>``."""
    specs: list[StageSpec] = []
    ing = sc.ingestion
    if ing.mode == "stream":
        st = ing.stream
        scv = service_scv(st.process_dist, st.process_cv)
        shares = consumer_shares(st.partitions, st.consumers)
        if len(shares) <= MAX_CONSUMER_STATIONS:
            for i, share in enumerate(shares):
                specs.append(StageSpec(f"ingestion.consumer{i}", 1, st.process_ms / 1000, scv, visit_fraction=share))
        else:
            group = consumer_group(st, rate_per_s)
            specs.append(StageSpec("ingestion.consumers", None, st.process_ms / 1000, scv,
                                   fixed_delay_s=group.wait_s if group.stable else 0.0))
    elif ing.mode == "batch":
        b = ing.batch
        job_s = rate_per_s * b.interval_s / b.throughput_per_s
        specs.append(StageSpec("ingestion.batch", None, b.interval_s / 2, 1 / 3,
                               fixed_delay_s=b.startup_s + job_s / 2))
    fs = sc.feature_store
    if fs.mode != "off":
        if fs.mode == "online_store":
            specs.append(StageSpec("feature_store.lookup", None, fs.lookup_ms / 1000,
                                   service_scv(fs.lookup_dist, fs.lookup_cv)))
        miss = 1.0 - fs.hit_ratio if fs.mode == "online_store" else 1.0
        if miss > 0:
            specs.append(StageSpec("feature_store.db", fs.db_connections, fs.db_query_ms / 1000,
                                   service_scv(fs.db_query_dist, fs.db_query_cv), visit_fraction=miss))
    api = sc.external_api
    if api.enabled:
        specs.append(StageSpec("external_api.call", None, api.latency_ms / 1000,
                               service_scv(api.latency_dist, api.latency_cv)))
    inf = sc.inference
    if inf.enabled:
        specs.append(StageSpec("inference.pool", max(1, inf.replicas) * inf.concurrency,
                               inference_service_ms(sc) / 1000, service_scv(inf.service_dist, inf.service_cv)))
    return specs


def _stage_view(rows: list[dict], specs: list[StageSpec], sc: Scenario, rate_per_s: float) -> dict:
    """Per summary stage: utilization, mean wait and service (ms), averaged over all requests."""
    out = {name: {"utilization": None, "wait_ms_mean": 0.0, "service_ms_mean": 0.0, "stable": True}
           for name in STAGES}
    active: dict[str, list[float]] = {}
    for row, spec in zip(rows, specs):
        stage = spec.name.split(".")[0]
        p = spec.visit_fraction
        view = out[stage]
        view["wait_ms_mean"] += 1000 * p * float(row["wait_s"])
        view["service_ms_mean"] += 1000 * p * (spec.service_mean_s + spec.fixed_delay_s)
        view["stable"] = bool(view["stable"] and row["stable"])
        if spec.servers is not None:
            active.setdefault(stage, []).append(float(row["utilization"]))
    for stage, utils in active.items():
        # stream: mean over active consumers (as the summary measures it); pools: the one station
        out[stage]["utilization"] = float(np.mean(utils))
        out[stage]["busiest_utilization"] = float(np.max(utils))
    if any(spec.name == "ingestion.consumers" for spec in specs):
        group = consumer_group(sc.ingestion.stream, rate_per_s)
        out["ingestion"].update(utilization=group.mean_utilization, busiest_utilization=group.max_utilization,
                                wait_ms_mean=1000 * group.wait_s if group.stable else math.inf,
                                service_ms_mean=sc.ingestion.stream.process_ms, stable=group.stable)
    if sc.ingestion.mode == "batch":  # summary splits the delay: wait for the trigger, then the job
        b = sc.ingestion.batch
        out["ingestion"]["wait_ms_mean"] = 1000 * b.interval_s / 2
        out["ingestion"]["service_ms_mean"] = 1000 * (b.startup_s + rate_per_s * b.interval_s / b.throughput_per_s / 2)
        out["ingestion"]["stable"] = rate_per_s * b.interval_s / b.throughput_per_s + b.startup_s < b.interval_s
    return out


def _peak_check(specs: list[StageSpec], rates: np.ndarray, dt_s: float) -> dict:
    """Fluid model at every contended station over the rate profile: worst backlog and wait."""
    worst = {"stage": None, "max_backlog": 0.0, "max_wait_ms": 0.0, "peak_utilization": 0.0}
    for spec in specs:
        if spec.servers is None or spec.service_mean_s <= 0:
            continue
        capacity = spec.servers / spec.service_mean_s
        flow = rates * spec.visit_fraction
        peak_util = float(flow.max() / capacity) if flow.size else 0.0
        fluid = fluid_queue(flow, dt_s, capacity)
        backlog = float(fluid.backlog.max()) if flow.size else 0.0
        worst["peak_utilization"] = max(worst["peak_utilization"], peak_util)
        if backlog > worst["max_backlog"]:
            worst.update(stage=spec.name.split(".")[0], max_backlog=backlog,
                         max_wait_ms=1000 * float(fluid.wait_s.max()))
    worst["overloaded"] = worst["max_backlog"] > 0
    return worst


def preview_scenario(sc: Scenario) -> dict:
    """Instant approximate answer: utilization, waits, mean and p99 latency (ms), stability.

    Keys: ``stable``, ``arrival_rate_per_s``, ``peak_rate_per_s``, ``latency_ms`` {mean, p99},
    ``stages`` {name: {utilization, wait_ms_mean, service_ms_mean, stable}}, ``bottleneck``,
    ``peak`` {stage, max_backlog, max_wait_ms, peak_utilization, overloaded}, ``notes``,
    ``elapsed_ms``.
    """
    t0 = time.perf_counter()
    rates, dt_s, rate = measured_rates(sc)
    specs = stage_specs(sc, rate)
    result = preview(specs, rate) if specs else {"stages": [], "stable": True, "latency_s": 0.0,
                                                  "latency_p99_s": 0.0, "bottleneck": None}
    stages = _stage_view(result["stages"], specs, sc, rate)
    stable = result["stable"] and all(v["stable"] for v in stages.values())
    peak = _peak_check(specs, rates, dt_s)
    names = {"ingestion": "the event stream", "feature_store": "the profile database",
             "inference": f"the {sc.vocabulary.model}", "external_api": f"the {sc.external_api.name}"}
    notes = []
    if not stable:
        worst = max((s for s in stages if stages[s]["utilization"] is not None),
                    key=lambda s: stages[s]["utilization"], default="ingestion")
        notes.append(f"{names.get(worst, worst)} cannot keep up with the average load (utilization ≥ 100 %): queues "
                     f"grow for as long as the run lasts")
    elif peak["overloaded"]:
        notes.append(f"{names.get(peak['stage'], peak['stage'])} falls behind during the peaks: up to "
                     f"{peak['max_backlog']:,.0f} requests waiting, about {_duration_text(peak['max_wait_ms'])} extra "
                     f"wait (fluid approximation)")
    auto = getattr(sc, "autoscaler", None)
    if auto is not None and getattr(auto, "enabled", False):
        notes.append(f"autoscaling is on: this estimate keeps the starting {sc.inference.replicas} replicas; "
                     f"the simulation adds and removes them")
    if sc.traffic.kind == "replay":
        notes.append("replayed arrivals are treated as Poisson at their mean rate")
    if sc.ingestion.mode == "batch":
        notes.append("batch ingestion is a pure delay here; the simulation also shows the job's burst downstream")
    bottleneck = result["bottleneck"].split(".")[0] if result["bottleneck"] else None
    return {
        "stable": bool(stable),
        "arrival_rate_per_s": rate,
        "peak_rate_per_s": float(rates.max()) if rates.size else rate,
        "latency_ms": {"mean": 1000 * float(result["latency_s"]) if stable else math.inf,
                       "p99": 1000 * float(result["latency_p99_s"]) if stable else math.inf},
        "stages": stages,
        "bottleneck": bottleneck,
        "peak": peak,
        "notes": notes,
        "elapsed_ms": 1000 * (time.perf_counter() - t0),
    }


def _duration_text(ms: float) -> str:
    if ms < 10_000:
        return f"{ms:,.0f} ms"
    if ms < 120_000:
        return f"{ms / 1000:,.0f} s"
    return f"{ms / 60_000:,.0f} min"


class PreviewCheck(NamedTuple):
    """How the instant estimate compared with the simulation: one row per metric, and a sentence."""

    table: pd.DataFrame
    sentence: str


def _error_pct(predicted: float, simulated: float) -> float:
    if predicted is None or simulated is None or not math.isfinite(predicted) or abs(simulated) < 1e-9:
        return math.nan
    return 100.0 * (predicted - simulated) / simulated


def compare_preview(pv: dict, summary: Summary) -> PreviewCheck:
    """Put the preview next to a simulation summary (relative error, %, per metric).

    Waits under 1 ms in the simulation get no relative error (a percentage of almost nothing
    says nothing); the difference in ms is still listed.
    """
    rows = [("mean latency (ms)", pv["latency_ms"]["mean"], summary.latency_ms.mean),
            ("p99 latency (ms)", pv["latency_ms"]["p99"], summary.latency_ms.p99)]
    for name in STAGES:
        p, s = pv["stages"].get(name, {}), getattr(summary.stages, name)
        if p.get("utilization") is not None and s.utilization is not None:
            rows.append((f"{name} utilization", p["utilization"], s.utilization))
        if p.get("wait_ms_mean") is not None and s.wait_ms_mean is not None and (
                p["wait_ms_mean"] > 0 or s.wait_ms_mean > 0):
            rows.append((f"{name} mean wait (ms)", p["wait_ms_mean"], s.wait_ms_mean))
    table = pd.DataFrame(rows, columns=["metric", "preview", "simulation"])
    table["difference"] = table["preview"] - table["simulation"]
    table["error_pct"] = [math.nan if ("wait" in m and abs(sim) < 1.0) else _error_pct(pre, sim)
                          for m, pre, sim in zip(table["metric"], table["preview"], table["simulation"])]
    mean_err, p99_err = table["error_pct"].iloc[0], table["error_pct"].iloc[1]
    if not pv["stable"]:
        sentence = ("The instant estimate said this configuration cannot keep up; the simulation shows how far "
                    "behind it falls within the simulated window.")
    else:
        pre, sim = pv["latency_ms"], summary.latency_ms
        sentence = (f"The instant estimate was {abs(mean_err):.0f} % {'above' if mean_err > 0 else 'below'} the "
                    f"simulated mean latency ({pre['mean']:,.1f} vs {sim.mean:,.1f} ms) and "
                    f"{abs(p99_err):.0f} % {'above' if p99_err > 0 else 'below'} its p99 "
                    f"({pre['p99']:,.1f} vs {sim.p99:,.1f} ms).")
    return PreviewCheck(table, sentence)


def preview_finding(sc: Scenario, pv: dict) -> Finding:
    """The instant estimate's verdict on keeping up: yes (ok), only on average, falling behind at the
    peaks (watch), or no, queues grow without end (breach). Never "keeps up" while it predicts a backlog."""
    names = {"ingestion": "the event stream", "feature_store": "the profile database",
             "inference": f"the {sc.vocabulary.model}", None: "the pipeline"}
    peak = pv["peak"]
    evidence = {"stable": pv["stable"], "overloaded_at_peak": peak["overloaded"], "max_backlog": peak["max_backlog"],
                "max_wait_ms": peak["max_wait_ms"], "peak_utilization": peak["peak_utilization"]}
    if not pv["stable"]:
        worst = max((s for s in pv["stages"] if pv["stages"][s]["utilization"] is not None),
                    key=lambda s: pv["stages"][s]["utilization"], default=None)
        return Finding("capacity", "breach", f"The instant estimate says {names.get(worst, worst)} cannot keep up even "
                       f"with the average load: its queue grows for as long as the run lasts.",
                       "Keeps up with the load?", "no", "falls behind", evidence, None, None, "preview")
    if peak["overloaded"]:
        return Finding("capacity", "watch", f"On average every part keeps up, but the instant estimate predicts "
                       f"{names.get(peak['stage'], peak['stage'])} falls behind during the peaks: up to "
                       f"{peak['max_backlog']:,.0f} requests waiting, about {_duration_text(peak['max_wait_ms'])} of "
                       f"extra wait (a fluid approximation).", "Keeps up with the load?", "not at peaks",
                       "backlog at peaks", evidence, None, None, "preview")
    return Finding("capacity", "ok", f"The instant estimate says every part keeps up, at the peak too (busiest at "
                   f"{100 * peak['peak_utilization']:.0f} % of its capacity).", "Keeps up with the load?", "yes",
                   "keeps up", evidence, None, None, "preview")
