"""Findings: every verdict the product shows, derived once from a run's summary, frames and events.

A finding is a fact a stakeholder acts on: a topic, a severity (ok / watch / breach), one plain
sentence in the scenario's own words, the numbers behind it, and the time it happened (taken
from the events or frames, never from the configuration). Tiles, the Overview story, diagram
colours, Replay, the HTML report, Compare and the planner's verdict lines render findings;
none of them compares a number with a threshold itself. All thresholds live here:

* **Service level** (topic ``service_level``): the on-time share (answered within
  ``slo_latency_ms``; a failed request counts as late) against ``service_levels.on_time_target``
  and the answered share against ``availability_target``. Missing either over the measured
  window is a breach; meeting both while one 5-minute window (with at least 20 finished
  requests) misses the on-time target is a watch.
* **Capacity** (topic ``capacity``, one per contended stage): the worst sustained utilization,
  the highest one-minute mean over the measured window (a pool saturated during a ten-minute
  surge is not "52 % busy"). Below 80 % ok, from 80 % watch, from 95 % breach. An overloaded
  pool that was not hit by a fault gets the capacity that would keep up: the smallest count at
  most 80 % busy at the peak one-minute rate with at most 1 % of requests waiting longer than
  the latency budget left by the other stages (Erlang C with Allen-Cunneen's correction, an
  estimate; :func:`simulator.common.queueing.servers_to_keep_up`).
* Incidents, releases, fairness, review, drift, traffic and money: see
  :mod:`simulator.report.findings_story` and :mod:`simulator.report.findings_money`.

The JSON form (:meth:`Finding.to_dict`, :meth:`Findings.to_list`) is stable: other features
store it with a saved run and render it into briefs.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simulator.report import findings_architecture, findings_money, findings_story
from simulator.report.finding import (
    BREAKER_STATES,
    UTIL_BREACH,
    UTIL_WATCH,
    Finding,
    Findings,
    Severity,
    fault_windows,
    minute_means,
    ordered,
    overlapping,
    surge_windows,
    worst_on_time_window,
)
from simulator.report.findings_capacity import Pool, chain_pools, judge_capacity
from simulator.report.results import RunResult
from simulator.report.summary_model import Summary
from simulator.report.words import (
    clock,
    count,
    pct,
    short_ms,
    stage_title,
    target_pct,
)
from simulator.scenario.config import Scenario
from simulator.scenario.graph import effective_scenario


# --------------------------------------------------------------------------- service level
def service_level(sc: Scenario, result: RunResult) -> Finding:
    """Did the service keep its promises (on time, answered) over the measured window?"""
    s, v, lv = result.summary, sc.vocabulary, sc.service_levels
    req = s.requests
    measured_s = max(s.measured_s, 1e-9)
    failed_at = failure_stages(s)
    evidence: dict = {"on_time_share": s.on_time_fraction, "availability": s.availability,
                      "on_time_target": lv.on_time_target, "availability_target": lv.availability_target,
                      "p99_ms": s.latency_ms.p99, "p50_ms": s.latency_ms.p50, "slo_ms": sc.slo_latency_ms,
                      "arrived": req.arrived, "answered": req.answered, "failed": req.failed,
                      "fallback": req.degraded, "in_flight": req.in_flight,
                      "arrival_rate_per_s": req.arrived / measured_s, "answer_rate_per_s": req.answered / measured_s,
                      "failure_rate_per_s": req.failed / measured_s,
                      **{f"failed_at_{stage}": n for stage, n in failed_at.items()}}
    promise = short_ms(sc.slo_latency_ms)
    if req.finished == 0:
        return Finding("service_level", "breach", f"No {v.request} got an answer during the run: all "
                       f"{count(req.arrived, v.request, v.requests)} were still waiting when it ended.",
                       "On time (service level)", "0 answered", "missed", evidence, component="decision",
                       key="service_level")
    on_time, avail = s.on_time_fraction or 0.0, s.availability or 0.0
    late_ok = on_time >= lv.on_time_target
    avail_ok = avail >= lv.availability_target
    value = pct(on_time)
    parts = []
    if late_ok and avail_ok:
        worst = worst_on_time_window(sc, result.requests)
        evidence["worst_window_on_time_share"] = None if worst is None else worst[2]
        if worst is not None and worst[2] < lv.on_time_target:
            cause = _cause(sc, result.events, worst[0], worst[1])
            headline = (f"Service level met over the run ({pct(on_time)} of {v.requests} answered within {promise}, "
                        f"target {target_pct(lv.on_time_target)}), but between {clock(sc, worst[0])} and "
                        f"{clock(sc, worst[1])}{cause} only {pct(worst[2])} were on time.")
            return Finding("service_level", "watch", headline, "On time (service level)", value, "met, with a dip",
                           evidence, at_s=worst[0], component="decision", key="service_level")
        headline = (f"Service level met: {pct(on_time)} of {v.requests} got their {v.decision} within {promise} "
                    f"(target {target_pct(lv.on_time_target)}) and {pct(avail)} got an answer "
                    f"(target {target_pct(lv.availability_target)}).")
        return Finding("service_level", "ok", headline, "On time (service level)", value, "met", evidence,
                       component="decision", key="service_level")
    if not late_ok:
        share = f"only {pct(on_time)} of {v.requests}" if on_time > 0 else f"not one of the {v.requests}"
        parts.append(f"{share} got their {v.decision} within {promise} (target {target_pct(lv.on_time_target)})")
    if not avail_ok:
        parts.append(f"{pct(1 - avail)} got no answer at all ({count(req.failed, v.request, v.requests)}; at most "
                     f"{target_pct(1 - lv.availability_target)} allowed)")
    if sc.ingestion.mode == "batch" and s.latency_ms.p50 is not None:
        parts.append(f"{v.requests} wait for the scheduled batch job, so a typical {v.decision} came "
                     f"{short_ms(s.latency_ms.p50)} after the {v.request}")
    worst = worst_on_time_window(sc, result.requests)
    at = None
    if worst is not None and worst[2] < on_time - 0.05 and sc.ingestion.mode != "batch":
        at = worst[0]
        parts.append(f"the worst stretch was {clock(sc, worst[0])} to {clock(sc, worst[1])}"
                     f"{_cause(sc, result.events, worst[0], worst[1])}, with {pct(worst[2])} on time")
        evidence["worst_window_on_time_share"] = worst[2]
    headline = "Service level missed: " + "; ".join(parts) + "."
    return Finding("service_level", "breach", headline, "On time (service level)", value, "missed", evidence, at_s=at,
                   component="decision", key="service_level")


def _cause(sc: Scenario, events: pd.DataFrame, t0: float, t1: float) -> str:
    """', during the doorbuster surge' / ', during “weather service outage”' for a window, else ''."""
    faults = overlapping(t0, t1, fault_windows(events, sc.duration_s))
    if faults:
        return f", during “{faults[0][3]}”"
    surges = overlapping(t0, t1, surge_windows(events, sc.duration_s))
    return f", during the {surges[0][2]}" if surges else ""


FAILURE_STAGE = {"rejected": "inference", "timeout": "inference", "replica_crash": "inference",
                 "model_error": "inference", "api_error": "external_api", "feature_db_error": "feature_db",
                 "component_outage": "component"}


def failure_stages(summary: Summary) -> dict[str, int]:
    """Failed requests per stage where they failed (from the failure reasons)."""
    out: dict[str, int] = {}
    for reason, n in summary.failures_by_reason.items():
        stage = FAILURE_STAGE.get(reason, "inference")
        out[stage] = out.get(stage, 0) + n
    return out


def pools(sc: Scenario, summary: Summary) -> list[Pool]:
    """What has a capacity: the chain's contended stages, or every pool of a topology (by its label)."""
    if sc.topology is not None:
        return findings_architecture.topology_pools(sc, summary)
    return chain_pools(sc, summary)


def capacity_findings(sc: Scenario, result: RunResult) -> list[Finding]:
    """One finding per pool, judged on its busiest minute."""
    out = []
    for pool in pools(sc, result.summary):
        minutes = minute_means(result.timeseries, pool.utilization, sc.warmup_s)
        if len(minutes):
            out.append(judge_capacity(sc, result, pool, minutes))
    return out


# --------------------------------------------------------------------------- all of them
def findings(sc: Scenario, result: RunResult, without_incident: Summary | None = None) -> Findings:
    """Every finding of one run. ``without_incident`` is the summary of the same scenario without
    its one-off incident on the same seed (:func:`simulator.scenario.config.without_incident`),
    which prices the incident; without it a one-off event gets no incident cost. A topology is read
    through its graph: the stations' sections are its components' (the first dependency and model stand
    for the chain's), every pool is judged by its label, and its architecture adds findings of its own."""
    sc = effective_scenario(sc)
    items = [service_level(sc, result), *capacity_findings(sc, result), *findings_story.story_findings(sc, result)]
    items += findings_money.money_findings(sc, result, without_incident)
    if sc.topology is not None:
        items += findings_architecture.architecture_findings(sc, result)
    return ordered(items)


# --------------------------------------------------------------------------- one moment
def moment(sc: Scenario, result: RunResult, t_s: float) -> Findings:
    """The state in the time-series bin holding ``t_s`` as findings (for Replay): each contended
    stage's utilization, faults active then, the safety switch, the release and the fairness flag,
    and whether answers in that bin were on time. Same thresholds as the whole run."""
    sc = effective_scenario(sc)
    ts, ev, v = result.timeseries, result.events, sc.vocabulary
    i = int(np.clip(np.searchsorted(ts["t_s"].to_numpy(), t_s, side="right") - 1, 0, len(ts) - 1))
    row = ts.iloc[i]
    width = float(row["t_end_s"] - row["t_s"])
    items: list[Finding] = []
    active = [w for w in fault_windows(ev, sc.duration_s) if w[0] <= t_s < w[1]]
    for pool in pools(sc, result.summary):
        util = row.get(pool.utilization)
        if util is None or (isinstance(util, float) and math.isnan(util)):
            continue
        waiting = float(row.get(pool.queue, 0.0) or 0.0)
        sev: Severity = "breach" if util >= UTIL_BREACH else "watch" if util >= UTIL_WATCH else "ok"
        text = f"{100 * util:.0f} % busy" + (f", {waiting:,.1f} waiting" if waiting >= 0.05 else "")
        items.append(Finding("capacity", sev, f"{pool.title}: {text}.", f"{pool.title} busy", f"{100 * util:.0f} %",
                             {"ok": "headroom", "watch": "busy", "breach": "overloaded"}[sev],
                             {"utilization": float(util), "waiting": waiting}, float(row["t_s"]), pool.component,
                             pool.key))
    for start, _end, target, name in active:
        component = {"database": "feature_db", "feature_store": "feature_db"}.get(target, target)
        items.append(Finding("incident", "breach", f"“{name}” is going on.", stage_title(sc, component), "down now",
                             "fault", {}, start, component, f"incident.{target}"))
    state = row.get("breaker_state")
    if sc.external_api.enabled and sc.external_api.breaker.enabled and state is not None and not pd.isna(state):
        sev, word = BREAKER_STATES.get(int(state), ("ok", "closed: normal"))
        items.append(Finding("breaker", sev, f"The safety switch is {word}.", "Safety switch", word.split(":")[0],
                             word, {"state": int(state)}, float(row["t_s"]), "breaker", "breaker"))
    weight = row.get("canary_weight_pct")
    if weight is not None and not pd.isna(weight) and float(weight) > 0:
        items.append(Finding("release", "watch", f"The new model version answers {float(weight):g} % of {v.requests}.",
                             "New model's share", f"{float(weight):g} %", "releasing", {"weight_pct": float(weight)},
                             float(row["t_s"]), "canary", "release"))
    flags = ev[ev["kind"].isin(["fairness_flagged", "fairness_cleared"]) & (ev["t_s"] <= t_s)] if len(ev) else ev
    if sc.fairness.enabled:
        flagged = len(flags) > 0 and flags.sort_values("t_s")["kind"].iloc[-1] == "fairness_flagged"
        items.append(Finding("fairness", "breach" if flagged else "ok",
                             "A fairness gap is flagged." if flagged else "No fairness gap is flagged.",
                             "Fairness", "gap flagged" if flagged else "no gap", "gap flagged" if flagged else "no gap",
                             {}, float(row["t_s"]), "fairness", "fairness"))
    done, failed = float(row.get("completions", 0)), float(row.get("failures", 0))
    p99 = row.get("latency_p99_ms")
    p99 = None if p99 is None or pd.isna(p99) else float(p99)
    late = failed > 0.01 * max(done + failed, 1) or (p99 is not None and p99 > sc.slo_latency_ms)
    sev = "breach" if late else "ok" if done + failed > 0 else "watch"
    text = "no answers" if done + failed == 0 else f"slowest 1 %: {short_ms(p99)}" if p99 is not None else "-"
    items.append(Finding("service_level", sev, f"Answers now: {text}.", "Slowest 1 % wait (now)", short_ms(p99),
                         {"ok": "on time", "breach": "late", "watch": "idle"}[sev],
                         {"arrival_rate_per_s": float(row["arrival_rate_per_s"]),
                          "answer_rate_per_s": float(row["throughput_rps"]),
                          "failure_rate_per_s": failed / width if width > 0 else 0.0, "p99_ms": p99,
                          "fallback_rate_per_s": float(row.get("fallback_answers", 0.0)) / width if width > 0 else 0.0,
                          "replicas": float(row.get("replicas", 0.0)),
                          "waiting_for_model": float(row.get("inference_queue", 0.0))},
                         float(row["t_s"]), "decision", "service_level"))
    return ordered(items)

