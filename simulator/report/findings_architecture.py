"""Findings about a scenario's own architecture (its ``topology``), from the summary's ``architecture``
section and the run's frames, in the scenario's words and its components' labels.

* **Capacity** of every pool of the graph (each model and review pool, the feature store's
  database, a stream's consumers): judged like the chain's stages (:func:`findings.judge_capacity`:
  the busiest minute, 80 % watch, 95 % breach), named by the component's label, and for an
  overloaded model or review pool the servers or reviewers that would keep up at the peak rate
  that reached it (Erlang C, an estimate).
* **Single points of failure** (topic ``architecture``): the components whose outage stops every
  decision (no fallback edge, no fallback answer, not a branch the join can do without), from
  the graph's flows. A watch when any exists besides the entry where requests come in.
* **Partial blast radius**: a component whose outage stops or degrades part of the decisions
  (a route, a cascade's second stage, a fallback answer): a watch when some stop, ok when a
  fallback answers them all.
* **Redundancy**: a parallel block that can lose any one branch (join first_k with k below the
  number of branches): ok, with what it means.
* **Who decided** (a cascade, rules settling the obvious cases) and **where the slowest 1 %
  spent their time** (the critical path): ok; they explain the others.

The shares are the graph's static blast radius (with the run's own share of unsure decisions for
routes by confidence); ``faults.components`` simulates an outage to see it happen.
"""
from __future__ import annotations

import pandas as pd

from simulator.common.queueing import service_scv
from simulator.engine.dataplane import component_columns
from simulator.report.components import utilization_column
from simulator.report.finding import Finding, minute_means
from simulator.report.findings_capacity import Pool, servers_for, size_stage
from simulator.report.results import RunResult
from simulator.report.summary_model import Architecture, Summary
from simulator.report.words import count, is_plural, short_ms, stage_name, stage_title
from simulator.scenario.config import Scenario
from simulator.scenario.graph import build_graph

# the order components are named in a sentence: the parts people think of as dependencies first
NAMING_ORDER = {"dependency": 0, "model": 1, "review": 2, "rules": 3, "feature_store": 4, "ingestion": 5}
UNITS = {"feature_store": "database connections", "model": "model servers", "review": "reviewers"}
QUEUES = {"ingestion": "ingestion_backlog", "feature_store": "feature_db_queue"}
# recovery targets of the chain's fault sections that hit a topology's component of this kind
CHAIN_FAULTS = {"ingestion": ("ingestion",), "feature_store": ("feature_db", "feature_store", "database")}


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _share(fraction: float) -> str:
    """'100 %', '54 %', '< 1 %': a share of decisions, whole percent."""
    return "< 1 %" if 0 < fraction < 0.005 else f"{100 * fraction:.0f} %"


def _listing(names: list[str], last: str = "and") -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" {last} " + names[-1]


# --------------------------------------------------------------------------- capacity
def topology_pools(sc: Scenario, summary: Summary) -> list[Pool]:
    """Every component of the graph with a capacity, in the graph's order, named by its label."""
    spec = component_columns(sc)
    first_model = next((cid for cid, e in spec["components"].items() if e["kind"] == "model"), None)
    out = []
    for cid, entry in spec["components"].items():
        column = utilization_column(spec, cid)
        if column is None:
            continue
        kind = entry["kind"]
        faults = (cid, *CHAIN_FAULTS.get(kind, ()), *(("inference",) if cid == first_model else ()))
        out.append(Pool(f"capacity.{cid}", cid, stage_name(sc, cid), stage_title(sc, cid), column,
                        QUEUES.get(kind, f"queue.{cid}"), summary.architecture.components[cid].utilization, faults,
                        UNITS.get(kind, ""), sizer=size_component))
    return out


def size_component(sc: Scenario, result: RunResult, pool: Pool, minutes: pd.DataFrame | None) -> dict | None:
    """Servers (a model pool) or reviewers (a review pool) that would keep up at the peak one-minute rate
    that reached the component (in ``minutes``); the feature store as the chain's; None otherwise."""
    cid = pool.component
    node = build_graph(sc).nodes[cid]
    if node["kind"] == "feature_store":
        return size_stage(sc, result, "feature_store", minutes)
    if node["kind"] not in ("model", "review"):
        return None
    ts = result.timeseries
    rates = minute_means(ts, f"arrival_rate_per_s.{cid}", sc.warmup_s)
    slots = minute_means(ts, f"slots.{cid}", sc.warmup_s)
    if minutes is not None:
        rates = rates[rates["t_s"].isin(minutes["t_s"])]
    stats = result.summary.architecture.components[cid]
    if len(rates) == 0 or len(slots) == 0 or not stats.service_ms_mean:
        return None
    peak_rate = float(rates["value"].max())
    if peak_rate <= 0:
        return None
    if node["kind"] == "model":
        settings = node["settings"]
        scv, per_server = service_scv(settings.service_dist, settings.service_cv), settings.concurrency
        outside_ms = max(0.0, (result.summary.latency_ms.mean or 0.0) - (stats.time_ms_mean or 0.0))
        budget_ms = max(0.1 * sc.slo_latency_ms, sc.slo_latency_ms - outside_ms - 2 * stats.service_ms_mean)
    else:  # reviewers: a case should wait for one no longer than the review target
        scv, per_server = service_scv(sc.review.review_time_dist, sc.review.review_time_cv), 1
        budget_ms = sc.fairness.review_sla_s * 1000.0
    had = round(float(slots["value"].max()) / per_server)
    return servers_for(peak_rate, stats.service_ms_mean, scv, per_server, had, budget_ms)


# --------------------------------------------------------------------------- what an outage would do
def _named(sc: Scenario, arch: Architecture, ids: list[str]) -> list[str]:
    return [stage_name(sc, cid) for cid in sorted(ids, key=lambda c: NAMING_ORDER[arch.components[c].kind])]


def _goes(name: str) -> str:
    return f"{name} {'go' if is_plural(name) else 'goes'} down"


def single_points(sc: Scenario, arch: Architecture) -> list[Finding]:
    """One finding for the components whose outage stops every decision."""
    v = sc.vocabulary
    spof = list(arch.single_points_of_failure)
    if not spof:
        return []
    inner = [cid for cid in spof if arch.components[cid].kind != "ingestion"]
    evidence = {"components": ", ".join(spof), "count": len(spof), "components_total": len(arch.components),
                **{f"fails.{cid}": arch.components[cid].blast_radius.fails for cid in spof}}
    if not inner:
        entry = _named(sc, arch, spof)[0]
        return [Finding("architecture", "ok", f"Apart from {entry} itself, no single part of the service stops "
                        f"every {v.decision} when it goes down: each has a fallback or a redundant path.",
                        "Single points of failure", "none", "redundant", evidence, None, spof[0],
                        "architecture.single_points")]
    names = _named(sc, arch, spof)
    first = sorted(spof, key=lambda c: NAMING_ORDER[arch.components[c].kind])[0]
    headline = f"If {_goes(names[0])}, 100 % of {v.decision}s stop: there is no fallback."
    if len(names) > 1:
        headline += f" The same holds for {_listing(names[1:])}."
    return [Finding("architecture", "watch", headline, "Single points of failure",
                    f"{len(spof)} of {len(arch.components)} parts", "no fallback", evidence, None, first,
                    "architecture.single_points")]


def partial_outages(sc: Scenario, arch: Architecture, summary: Summary) -> list[Finding]:
    """A finding per component whose outage stops or degrades part of the decisions (or all, to a fallback)."""
    v, out = sc.vocabulary, []
    for cid, comp in arch.components.items():
        b = comp.blast_radius
        if cid in arch.single_points_of_failure or (b.fails <= 0 and b.degrades <= 0):
            continue
        name = stage_name(sc, cid)
        reach = comp.reached / summary.requests.arrived if summary.requests.arrived else None
        evidence = {"fails": b.fails, "degrades": b.degrades, "unaffected": b.unaffected, "reached": comp.reached,
                    "reached_share": reach}
        if b.fails > 0:
            headline = f"If {_goes(name)}, {_share(b.fails)} of {v.decision}s stop"
            headline += f" and {_share(b.degrades)} get a fallback answer" if b.degrades > 0 else ""
            headline += (f": those that pass through {'them' if is_plural(name) else 'it'}; the other "
                         f"{_share(b.unaffected)} are not affected." if b.unaffected > 0 else ".")
            severity, value, status = "watch", f"{_share(b.fails)} stop", "partial"
        else:
            headline = (f"If {_goes(name)}, {_share(b.degrades)} of {v.decision}s are given a fallback answer "
                        f"instead; none stop.")
            severity, value, status = "ok", f"{_share(b.degrades)} fallback", "has a fallback"
        out.append(Finding("architecture", severity, headline, f"{stage_title(sc, cid)} down", value, status,
                           evidence, None, cid, f"architecture.{cid}"))
    return out


def redundant_blocks(sc: Scenario, arch: Architecture) -> list[Finding]:
    """A finding per parallel block that can lose any one branch without losing a decision."""
    v, out = sc.vocabulary, []
    for join in component_columns(sc)["joins"]:
        branches = join["branches"]
        if any(arch.components[b].blast_radius.fails > 0 or arch.components[b].blast_radius.degrades > 0
               for b in branches):
            continue
        names = [stage_name(sc, b) for b in branches]
        headline = (f"If any one of {_listing(names, 'or')} goes down, no {v.decision} stops: the service goes on "
                    f"with the first {join['k']} of their {len(branches)} answers (the answers may take longer).")
        out.append(Finding("architecture", "ok", headline, f"One of {len(branches)} down", "none stop", "redundant",
                           {"branches": ", ".join(branches), "k": join["k"]}, None, None,
                           f"architecture.join.{join['source']}"))
    return out


# --------------------------------------------------------------------------- who decided, where the time went
def deciders(sc: Scenario, arch: Architecture) -> list[Finding]:
    """Which component decided how many of the answered requests (a cascade, rules)."""
    v = sc.vocabulary
    counts = {cid: n for cid, n in (arch.decided_by or {}).items() if n}
    total = sum(counts.values())
    if len(counts) < 2 or not total:
        return []
    order = sorted(counts, key=lambda cid: -counts[cid])
    top = order[0]
    rest = [f"{stage_name(sc, cid)} {_share(counts[cid] / total)}" for cid in order[1:]]
    headline = (f"{_cap(stage_name(sc, top))} made {_share(counts[top] / total)} of the "
                f"{count(total, v.decision, v.decision + 's')}, {_listing(rest)}.")
    return [Finding("architecture", "ok", headline, f"Decided by {stage_name(sc, top).removeprefix('the ')}",
                    _share(counts[top] / total), "of all decisions", {f"decided_by.{cid}": n for cid, n in counts.items()},
                    None, top, "architecture.decided_by")]


def slowest_path(sc: Scenario, arch: Architecture) -> list[Finding]:
    """Where the slowest 1 % of answered requests spent their time (the critical path of the p99)."""
    path, v = arch.critical_path, sc.vocabulary
    if path is None or not path.components:
        return []
    top = [p for p in path.components if p.share >= 0.1][:3] or list(path.components[:1])
    parts = [f"{stage_name(sc, p.component)} ({_share(p.share)})" for p in top]
    headline = (f"The slowest 1 % of {v.decision}s (slower than {short_ms(path.p99_ms)}) spent most of their time "
                f"with {_listing(parts)}.")
    lead = top[0]
    # the part's name goes in the title (it wraps); the tile's big value stays short enough to read
    return [Finding("latency", "ok", headline, f"Slowest 1 %: time with {stage_name(sc, lead.component)}",
                    _share(lead.share), "of their time",
                    {"p99_ms": path.p99_ms, "requests": path.requests,
                     **{f"share.{p.component}": p.share for p in path.components}}, None, lead.component,
                    "critical_path")]


def architecture_findings(sc: Scenario, result: RunResult) -> list[Finding]:
    """Every architecture finding of a topology's run (see the module docstring)."""
    arch = result.summary.architecture
    return [*single_points(sc, arch), *partial_outages(sc, arch, result.summary), *redundant_blocks(sc, arch),
            *deciders(sc, arch), *slowest_path(sc, arch)]
