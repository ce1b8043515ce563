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
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from simulator.common.queueing import servers_to_keep_up, service_scv
from simulator.report.results import RunResult
from simulator.report.summary_model import Summary
from simulator.report.words import (
    clock,
    count,
    is_plural,
    pct,
    rate_words,
    short_ms,
    stage_name,
    stage_title,
    target_pct,
)
from simulator.scenario.config import Scenario
from simulator.scenario.graph import effective_scenario

Severity = Literal["ok", "watch", "breach"]
SEVERITY_ORDER = {"ok": 0, "watch": 1, "breach": 2}
UTIL_WATCH, UTIL_BREACH = 0.80, 0.95
SUSTAIN_S = 60.0               # utilization is judged over one-minute windows
SLO_WINDOW_S = 300.0           # the on-time share is also judged per five minutes
MIN_WINDOW_REQUESTS = 20       # ... in windows with at least this many finished requests
SIZING_UTILIZATION, SIZING_LATE_FRACTION = 0.80, 0.01
# the time series' breaker level (simulator.report.results.BREAKER_LEVEL) -> (severity, words); an operator
# holding the switch open or switching it off is deliberate but worth watching; open is customers affected
BREAKER_STATES = {3: ("watch", "held open by an operator"), 2: ("breach", "open: calls stopped"),
                  1: ("watch", "half-open: testing"), 0: ("ok", "closed: normal"),
                  -1: ("ok", "recording only"), -2: ("watch", "switched off by an operator")}


@dataclass(frozen=True)
class Finding:
    """One verdict with its evidence.

    ``title`` and ``value`` are the short forms a tile shows ("Service level", "98.2 % on time"),
    ``status`` the word next to the colour ("missed"), ``headline`` the full sentence.
    ``component`` names the diagram box it colours (``inference``, ``feature_db``, ``external_api``,
    ``breaker``, ``canary``, ``decision``, ``fairness``, ``customers``, ``ingestion``).
    """

    topic: str
    severity: Severity
    headline: str
    title: str
    value: str
    status: str
    evidence: dict[str, float | int | str | None] = field(default_factory=dict)
    at_s: float | None = None
    component: str | None = None
    key: str = ""

    def to_dict(self) -> dict:
        """The stable JSON form."""
        return asdict(self)


@dataclass(frozen=True)
class Findings:
    """The findings of one run, most important first (service level, then by severity and time)."""

    items: tuple[Finding, ...]

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def of(self, topic: str) -> list[Finding]:
        return [f for f in self.items if f.topic == topic]

    def first(self, topic: str) -> Finding | None:
        found = self.of(topic)
        return found[0] if found else None

    def get(self, key: str) -> Finding | None:
        return next((f for f in self.items if f.key == key), None)

    def for_component(self, component: str) -> Finding | None:
        """The most severe finding about one diagram box (None if nothing was found about it)."""
        mine = self.all_for(component)
        return mine[0] if mine else None

    def all_for(self, component: str) -> list[Finding]:
        """Every finding about one diagram box, most severe first (in order of importance on a tie)."""
        mine = [f for f in self.items if f.component == component]
        return sorted(mine, key=lambda f: -SEVERITY_ORDER[f.severity])

    @property
    def worst(self) -> Severity:
        return max((f.severity for f in self.items), key=SEVERITY_ORDER.get, default="ok")

    def notable(self) -> list[Finding]:
        """Findings at watch or breach."""
        return [f for f in self.items if f.severity != "ok"]

    def to_list(self) -> list[dict]:
        return [f.to_dict() for f in self.items]


def _ordered(items: list[Finding]) -> Findings:
    def rank(f: Finding):
        return (f.topic != "service_level", -SEVERITY_ORDER[f.severity], math.inf if f.at_s is None else f.at_s)
    return Findings(tuple(sorted(items, key=rank)))


# --------------------------------------------------------------------------- frame helpers
def minute_means(ts: pd.DataFrame, column: str, start_s: float, width_s: float = SUSTAIN_S) -> pd.DataFrame:
    """Mean of a time-series column per ``width_s`` window from ``start_s`` (bins weighted by their
    length, empty bins ignored): ``t_s, value``. Bins wider than the window are their own window."""
    if column not in ts or len(ts) == 0:
        return pd.DataFrame({"t_s": [], "value": []})
    part = ts[ts["t_s"] >= start_s - 1e-9]
    value = part[column].to_numpy(dtype=float)
    weight = (part["t_end_s"] - part["t_s"]).to_numpy(dtype=float)
    ok = ~np.isnan(value)
    if not ok.any():
        return pd.DataFrame({"t_s": [], "value": []})
    window = np.floor((part["t_s"].to_numpy(dtype=float) - start_s) / width_s + 1e-9).astype(int)
    frame = pd.DataFrame({"w": window[ok], "vw": value[ok] * weight[ok], "wt": weight[ok]})
    grouped = frame.groupby("w")[["vw", "wt"]].sum()
    return pd.DataFrame({"t_s": start_s + grouped.index.to_numpy() * width_s,
                         "value": (grouped["vw"] / grouped["wt"]).to_numpy()})


def fault_windows(events: pd.DataFrame, end_s: float) -> list[tuple[float, float, str, str]]:
    """``(start_s, end_s, component, name)`` of every injected fault, from the events."""
    out = []
    if events is None or len(events) == 0:
        return out
    starts = events[events["kind"] == "fault_started"]
    ends = events[events["kind"] == "fault_ended"]
    for e in starts.itertuples():
        name = str(e.detail).rsplit(" (", 1)[0]
        later = ends[(ends["component"] == e.component) & (ends["detail"] == name) & (ends["t_s"] >= e.t_s)]
        out.append((float(e.t_s), float(later["t_s"].iloc[0]) if len(later) else end_s, str(e.component), name))
    return out


def surge_windows(events: pd.DataFrame, end_s: float) -> list[tuple[float, float, str]]:
    """``(start_s, end_s, name)`` of every traffic surge, from the events."""
    out = []
    if events is None or len(events) == 0:
        return out
    ends = events[events["kind"] == "spike_ended"]
    for e in events[events["kind"] == "spike_started"].itertuples():
        name = str(e.detail).split(":", 1)[0]
        later = ends[(ends["detail"] == name) & (ends["t_s"] >= e.t_s)]
        out.append((float(e.t_s), float(later["t_s"].iloc[0]) if len(later) else end_s, name))
    return out


def _overlapping(t0: float, t1: float, windows) -> list:
    return [w for w in windows if w[0] < t1 and w[1] > t0]


def on_time_mask(sc: Scenario, req: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(finished, on_time) masks over the requests frame, for arrivals after warm-up."""
    after = req["arrival_s"].to_numpy() >= sc.warmup_s
    outcome = req["outcome"].astype(str).to_numpy()
    finished = after & (outcome != "in_flight")
    answered = (outcome == "ok") | (outcome == "degraded")
    on_time = finished & answered & (req["latency_ms"].to_numpy() <= sc.slo_latency_ms)
    return finished, on_time


def worst_on_time_window(sc: Scenario, req: pd.DataFrame) -> tuple[float, float, float] | None:
    """``(start_s, end_s, on_time_share)`` of the 5-minute window (by arrival) with the lowest
    on-time share, among windows with at least MIN_WINDOW_REQUESTS finished requests (None without
    per-request rows, as for a run opened from the history)."""
    if "arrival_s" not in req or len(req) == 0:
        return None
    finished, on_time = on_time_mask(sc, req)
    if not finished.any():
        return None
    arrival = req["arrival_s"].to_numpy()[finished]
    w = np.floor((arrival - sc.warmup_s) / SLO_WINDOW_S).astype(int)
    n = np.bincount(w)
    good = np.bincount(w, weights=on_time[finished].astype(float), minlength=len(n))
    valid = n >= MIN_WINDOW_REQUESTS
    if not valid.any():
        return None
    share = np.where(valid, good / np.maximum(n, 1), np.inf)
    i = int(np.argmin(share))
    t0 = sc.warmup_s + i * SLO_WINDOW_S
    return t0, min(t0 + SLO_WINDOW_S, sc.duration_s), float(share[i])


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
    faults = _overlapping(t0, t1, fault_windows(events, sc.duration_s))
    if faults:
        return f", during “{faults[0][3]}”"
    surges = _overlapping(t0, t1, surge_windows(events, sc.duration_s))
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


# stage -> (utilization column, queue column, diagram component, fault targets, server unit)
CONTENDED = {"ingestion": ("utilization_ingestion", "ingestion_backlog", "ingestion", ("ingestion",), ""),
             "feature_store": ("utilization_feature_store", "feature_db_queue", "feature_db",
                               ("feature_db", "feature_store", "database"), "database connections"),
             "inference": ("utilization_inference", "inference_queue", "inference", ("inference",), "model servers")}


def pools(sc: Scenario, summary: Summary) -> list[Pool]:
    """What has a capacity: the chain's contended stages, or every pool of a topology (by its label)."""
    if sc.topology is not None:
        from simulator.report.findings_architecture import topology_pools

        return topology_pools(sc, summary)
    return [Pool(f"capacity.{stage}", component, stage_name(sc, component), stage_title(sc, component), column, queue,
                 getattr(summary.stages, stage).utilization, targets, unit)
            for stage, (column, queue, component, targets, unit) in CONTENDED.items()]


def capacity_findings(sc: Scenario, result: RunResult) -> list[Finding]:
    """One finding per pool, judged on its busiest minute."""
    out = []
    for pool in pools(sc, result.summary):
        minutes = minute_means(result.timeseries, pool.utilization, sc.warmup_s)
        if len(minutes):
            out.append(judge_capacity(sc, result, pool, minutes))
    return out


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
    clear = minutes[[not _overlapping(t, t + SUSTAIN_S, impact) for t in minutes["t_s"]]]
    hit = _overlapping(peak_at, peak_at + SUSTAIN_S, impact)
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
    if pool.key == "capacity.inference" or pool.key == "capacity.feature_store":
        return size_stage(sc, result, pool.key.split(".", 1)[1], minutes)
    if sc.topology is not None:
        from simulator.report.findings_architecture import size_component

        return size_component(sc, result, pool, minutes)
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


# --------------------------------------------------------------------------- all of them
def findings(sc: Scenario, result: RunResult, without_incident: Summary | None = None) -> Findings:
    """Every finding of one run. ``without_incident`` is the summary of the same scenario without
    its one-off incident on the same seed (:func:`simulator.scenario.config.without_incident`),
    which prices the incident; without it a one-off event gets no incident cost. A topology is read
    through its graph: the stations' sections are its components' (the first dependency and model stand
    for the chain's), every pool is judged by its label, and its architecture adds findings of its own."""
    from simulator.report import findings_architecture, findings_money, findings_story

    sc = effective_scenario(sc)
    items = [service_level(sc, result), *capacity_findings(sc, result), *findings_story.story_findings(sc, result)]
    items += findings_money.money_findings(sc, result, without_incident)
    if sc.topology is not None:
        items += findings_architecture.architecture_findings(sc, result)
    return _ordered(items)


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
    return _ordered(items)

