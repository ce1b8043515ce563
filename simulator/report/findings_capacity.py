"""Capacity findings: each pool (a stage of the chain or a pool of a topology) judged on its busiest
minute, and for an overloaded pool the servers that would keep up (see :mod:`simulator.report.findings`)."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from simulator.common.queueing import servers_to_keep_up, service_scv
from simulator.report.finding import (
    SIZING_LATE_FRACTION,
    SIZING_UTILIZATION,
    SUSTAIN_S,
    UTIL_BREACH,
    UTIL_WATCH,
    Finding,
    Severity,
    minute_means,
    overlapping,
)
from simulator.report.results import RunResult
from simulator.report.summary_model import Summary
from simulator.report.words import (
    clock,
    is_plural,
    rate_words,
    stage_name,
    stage_title,
)
from simulator.scenario.config import Scenario


# --------------------------------------------------------------------------- capacity
@dataclass(frozen=True)
class Pool:
    """Something with a capacity whose busiest minute is judged: a stage of the chain or a pool of a
    topology. ``utilization``/``queue`` are its time-series columns, ``faults`` the recovery targets
    that hit it, ``unit`` what its servers are called in a sizing sentence."""

    key: str
    component: str
    name: str
    title: str
    utilization: str
    queue: str
    mean: float | None
    faults: tuple[str, ...]
    unit: str = ""
    # who estimates the servers that would keep up: (scenario, result, pool, minutes) -> evidence or None;
    # None for the chain's stages (size_stage) and for a pool the estimate does not apply to
    sizer: Callable[..., dict | None] | None = None


# stage -> (utilization column, queue column, diagram component, fault targets, server unit)
CONTENDED = {"ingestion": ("utilization_ingestion", "ingestion_backlog", "ingestion", ("ingestion",), ""),
             "feature_store": ("utilization_feature_store", "feature_db_queue", "feature_db",
                               ("feature_db", "feature_store", "database"), "database connections"),
             "inference": ("utilization_inference", "inference_queue", "inference", ("inference",), "model servers")}



def chain_pools(sc: Scenario, summary: Summary) -> list[Pool]:
    """The chain's contended stages, named in the scenario's words."""
    return [Pool(f"capacity.{stage}", component, stage_name(sc, component), stage_title(sc, component), column, queue,
                 getattr(summary.stages, stage).utilization, targets, unit)
            for stage, (column, queue, component, targets, unit) in CONTENDED.items()]


def fault_impact(sc: Scenario, result: RunResult, pool: Pool) -> list[tuple[float, float, str]]:
    """``(start_s, end_s, name)`` from each fault on the pool until service was back to normal (the end of
    the run if never): the stretch whose load says nothing about its capacity."""
    return [(r.started_s, r.recovered_s if r.recovered_s is not None else sc.duration_s, r.fault)
            for r in result.summary.recovery if r.target in pool.faults]


def _peak(minutes: pd.DataFrame) -> tuple[float, float] | None:
    if len(minutes) == 0:
        return None
    i = int(minutes["value"].to_numpy().argmax())
    return float(minutes["value"].iloc[i]), float(minutes["t_s"].iloc[i])


def judge_capacity(sc: Scenario, result: RunResult, pool: Pool, minutes: pd.DataFrame) -> Finding:
    """The pool's busiest minute decides the severity. A fault on the pool explains an overload in its
    impact window; outside it the busiest minute decides whether capacity is short, and if so how much."""
    v = sc.vocabulary
    name, title, component, key = pool.name, pool.title, pool.component, pool.key
    were, its, it = ("were", "their", "they") if is_plural(name) else ("was", "its", "it")
    peak, peak_at = _peak(minutes)
    mean = pool.mean
    severity: Severity = "breach" if peak >= UTIL_BREACH else "watch" if peak >= UTIL_WATCH else "ok"
    evidence: dict = {"peak_utilization": peak, "mean_utilization": mean, "peak_minute_s": peak_at,
                      "servers_needed": None}
    busy = f"{100 * peak:.0f} % of {its} capacity in use in {its} busiest minute ({clock(sc, peak_at)})"
    average = f", {100 * mean:.0f} % on average" if mean is not None else ""
    title, value = f"{title}: busiest minute", f"{100 * peak:.0f} % busy"
    if severity == "ok":
        headline = f"{name[:1].upper() + name[1:]} had headroom: {busy}{average}."
        return Finding("capacity", "ok", headline, title, value, "headroom", evidence, peak_at, component, key)
    word = "overloaded" if severity == "breach" else "busy"
    headline = f"{name[:1].upper() + name[1:]} {were} {word}: {busy}{average}"
    impact = fault_impact(sc, result, pool)
    clear = minutes[[not overlapping(t, t + SUSTAIN_S, impact) for t in minutes["t_s"]]]
    hit = overlapping(peak_at, peak_at + SUSTAIN_S, impact)
    if hit:
        evidence["fault"] = hit[0][2]
        headline += f", while “{hit[0][2]}” and its aftermath were going on"
        calm = _peak(clear)
        evidence["peak_utilization_outside_faults"] = None if calm is None else calm[0]
        if calm is None or calm[0] < UTIL_WATCH:
            return Finding("capacity", severity, headline + ".", title, value, word, evidence, peak_at, component,
                           key)
        headline += f"; even outside it, {it} {were} {100 * calm[0]:.0f} % busy ({clock(sc, calm[1])})"
    sizing = size_pool(sc, result, pool, clear)
    if sizing is not None:
        evidence.update(sizing)
        had = sizing["servers_had"]
        if sizing["servers_needed"] > had:
            headline += (f". To keep up {it} need{'' if it == 'they' else 's'} about {sizing['servers_needed']} "
                         f"{pool.unit} at the peak of {rate_words(sizing['peak_rate_per_s'])} {v.requests} per second "
                         f"(an Erlang-C estimate" + (", outside the fault" if hit else "") + f"); {it} had {had}")
            if pool.key == "capacity.inference" and sc.autoscaler.enabled:
                headline += (f" ready at most (the autoscaler may start up to {sc.autoscaler.max_replicas}, but "
                             f"each new server takes time to start)")
    return Finding("capacity", severity, headline + ".", title, value, word, evidence, peak_at, component, key)


def size_pool(sc: Scenario, result: RunResult, pool: Pool, minutes: pd.DataFrame | None = None) -> dict | None:
    """Servers that would keep up at the peak one-minute rate of ``minutes`` (by default every minute;
    see the module docstring); None where the estimate does not apply (stream consumers, batch
    ingestion, nothing measured)."""
    if pool.sizer is not None:
        return pool.sizer(sc, result, pool, minutes)
    if pool.key == "capacity.inference" or pool.key == "capacity.feature_store":
        return size_stage(sc, result, pool.key.split(".", 1)[1], minutes)
    return None


def size_stage(sc: Scenario, result: RunResult, stage: str, minutes: pd.DataFrame | None = None) -> dict | None:
    """Model servers or database connections of the chain that would keep up (see :func:`size_pool`)."""
    s = result.summary
    rates = minute_means(result.timeseries, "arrival_rate_per_s", sc.warmup_s)
    if minutes is not None:
        rates = rates[rates["t_s"].isin(minutes["t_s"])]
    if len(rates) == 0 or sc.ingestion.mode == "batch" or stage == "ingestion":
        return None
    peak_rate = float(rates["value"].max())
    stats = getattr(s.stages, stage)
    if stage == "inference":
        service_ms = stats.service_ms_mean
        scv = service_scv(sc.inference.service_dist, sc.inference.service_cv)
        per_server = sc.inference.concurrency
        had = s.replicas.max if s.replicas is not None else sc.inference.replicas
    else:
        fs = sc.feature_store
        peak_rate *= (1 - fs.hit_ratio) if fs.mode == "online_store" else 1.0
        service_ms, scv, per_server, had = fs.db_query_ms, service_scv(fs.db_query_dist, fs.db_query_cv), 1, \
            fs.db_connections
    if not service_ms or peak_rate <= 0:
        return None
    outside_ms = max(0.0, (s.latency_ms.mean or 0.0) - (stats.wait_ms_mean or 0.0) - (stats.service_ms_mean or 0.0))
    budget_ms = max(0.1 * sc.slo_latency_ms, sc.slo_latency_ms - outside_ms - 2 * service_ms)
    return servers_for(peak_rate, service_ms, scv, per_server, had, budget_ms)


def servers_for(peak_rate: float, service_ms: float, scv: float, per_server: int, had: int, budget_ms: float) -> dict:
    """The sizing evidence: servers of ``per_server`` slots that keep up at ``peak_rate`` per second."""
    slots = servers_to_keep_up(peak_rate, service_ms / 1000, budget_ms / 1000, scv=scv,
                               max_utilization=SIZING_UTILIZATION, late_fraction=SIZING_LATE_FRACTION)
    return {"servers_needed": math.ceil(slots / per_server), "servers_had": int(had), "peak_rate_per_s": peak_rate,
            "service_ms": service_ms, "wait_budget_ms": budget_ms}

