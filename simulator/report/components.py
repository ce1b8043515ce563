"""The run read through its architecture: per-component numbers, the bottleneck, the critical path, blast radius.

Everything here follows the scenario's graph (:func:`simulator.engine.dataplane.component_columns`
says which columns record a request's passage through each component), so it works the same for
the default chain and for any topology:

* **components**: for each component, the requests that reached it, the time they spent there
  (mean, p99), queue wait and service for pools, and utilization (busy slot-seconds over the
  slot-seconds available) for pools with a capacity;
* **bottleneck**: the component with the highest utilization over the measured period;
* **critical path**: for the slowest 1 % of answered decisions (latency at or above the p99),
  the mean time each component on their path added; at a fan-out only the branch the join
  waited for counts (the ``k``-th answer), so the parts add up to the latency;
* **blast radius**: from the graph's flows (with the run's own share of low-confidence decisions
  for routes by confidence): if a component fails, which share of decisions fails, degrades to a
  fallback, or is unaffected.
"""
from __future__ import annotations

import numpy as np

from simulator.common.numbers import finite_or_none
from simulator.report.levels import capacity_integral, capacity_per_bin, level_per_bin, span_overlap
from simulator.report.words import human_duration
from simulator.scenario.graph import blast_radius, build_graph, flows, single_points_of_failure

ANSWERED = (1, 3)  # a branch's state in the join: answered, or answered by a fallback


def final_decision(c: dict[str, np.ndarray]) -> np.ndarray:
    """Each request's decision (1 approve, 0 reject; -1 none on a graph where nobody decided).

    A graph records the last deciding component's decision; the chain's model decided with the
    primary's or, for requests it served, the canary's version.
    """
    if "decision" in c:
        return c["decision"].astype(np.int8)
    return np.where(c["version"] == 2, c["approve_alt"], c["approve"]).astype(np.int8)


def _time_in(entry: dict, c: dict[str, np.ndarray], rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(reached mask, time spent in s: NaN where the request did not get through) for one component,
    over every request or only over ``rows`` (indices: the columns are read at those rows only)."""
    kind, cols = entry["kind"], entry["columns"]

    def col(name: str) -> np.ndarray:
        return c[name] if rows is None else c[name][rows]

    n = len(c["arrival_s"]) if rows is None else len(rows)
    if kind == "ingestion":
        return np.ones(n, np.bool_), col(cols["wait"]) + col(cols["service"])
    if kind == "feature_store":
        hit = col(cols["hit"])
        enter = col(cols["enter"])
        db = ~np.isnan(enter)
        reached = (hit == 1) | db
        lookup = col(cols["lookup"])
        t = np.where(hit == 1, lookup, col(cols["end"]) - enter + lookup)
        return reached, np.where(reached, t, np.nan)
    if kind == "dependency":
        reached = ~np.isnan(col(cols["start"]))
        return reached, np.where(reached, col(cols["dur"]), np.nan)
    if kind == "rules":
        reached = ~np.isnan(col(cols["enter"]))
        return reached, np.where(reached, entry["cost_s"], np.nan)
    enter, end = col(cols["enter"]), col(cols["end"])
    return ~np.isnan(enter), end - enter


POOL_KINDS = ("model", "review", "feature_store")  # components with a queue in front of servers


def pool_passage(cols: dict, c: dict[str, np.ndarray], after: np.ndarray) -> tuple[np.ndarray, ...]:
    """A pool component's (enter, start, end) columns and the masks ``started`` (service began),
    ``waited`` (started, measured) and ``served`` (finished a service of positive length, measured)."""
    enter, start, end = c[cols["enter"]], c[cols["start"]], c[cols["end"]]
    started = ~np.isnan(start)
    return enter, start, end, started, after & started, after & ~np.isnan(end) & (end > start)


def component_stats(sc, spec: dict, c: dict[str, np.ndarray], capacity: dict[str, list], after: np.ndarray) -> dict:
    """Per component: kind, label, reached, time (mean, p99 ms), wait and service (ms), utilization."""
    lo, hi = sc.warmup_s, sc.duration_s
    out = {}
    for cid, entry in spec["components"].items():
        reached, t = _time_in(entry, c)
        reached &= after
        passed = reached & ~np.isnan(t)
        ms = t[passed] * 1000.0
        row = {"kind": entry["kind"], "label": entry["label"], "reached": int(reached.sum()),
               "time_ms_mean": finite_or_none(ms.mean()) if len(ms) else None,
               "time_ms_p99": finite_or_none(np.percentile(ms, 99)) if len(ms) else None,
               "wait_ms_mean": None, "service_ms_mean": None, "utilization": None}
        cols = entry["columns"]
        if entry["kind"] in POOL_KINDS:
            enter, start, end, started, waited, served = pool_passage(cols, c, after)
            row["wait_ms_mean"] = finite_or_none((start - enter)[waited].mean() * 1000.0) if waited.any() else None
            row["service_ms_mean"] = finite_or_none((end - start)[served].mean() * 1000.0) if served.any() else None
            steps = capacity.get(cid)
            if steps:
                busy = span_overlap(start[started], np.where(np.isnan(end[started]), hi, end[started]), lo, hi)
                available = capacity_integral(steps, lo, hi)
                row["utilization"] = finite_or_none(busy / available) if available > 0 else None
        elif entry["kind"] == "ingestion" and sc.ingestion.mode == "stream":
            st = sc.ingestion.stream
            start = c["arrival_s"] + c[cols["wait"]]
            end = start + c[cols["service"]]
            done = end <= hi
            row["utilization"] = finite_or_none(
                span_overlap(start[done], end[done], lo, hi) / (min(st.consumers, st.partitions) * (hi - lo)))
        out[cid] = row
    return out


def capacities(sc, spec: dict, trace_capacity: dict, component_capacity: dict) -> dict[str, list]:
    """Slots over time per pool component (model replicas x concurrency, reviewers, DB connections)."""
    out = {cid: series["inference"] for cid, series in component_capacity.items()}
    for cid, entry in spec["components"].items():
        if entry["kind"] == "feature_store":
            out[cid] = [(0.0, sc.feature_store.db_connections)]
        elif entry["kind"] == "model" and cid not in out and entry["columns"]["enter"] == "inf_enter_s":
            out[cid] = trace_capacity.get("inference", [])
    return out


PER_COMPONENT_POOL_KINDS = ("model", "review")  # pool kinds with a utilization series per component (ingestion and
# the feature store keep their fixed columns); POOL_KINDS above are all kinds with a queue in front of servers


def utilization_column(spec: dict, cid: str) -> str | None:
    """The time-series column with a component's utilization per bin (None where it has no capacity)."""
    kind = spec["components"][cid]["kind"]
    if kind == "ingestion":
        return "utilization_ingestion"
    if kind == "feature_store":
        return "utilization_feature_store"
    return f"utilization.{cid}" if kind in PER_COMPONENT_POOL_KINDS else None


def component_timeseries(spec: dict, c: dict[str, np.ndarray], capacity: dict[str, list],
                         edges: np.ndarray) -> dict[str, np.ndarray]:
    """Per bin, for each model and review pool of a topology: ``utilization.<id>`` (busy slots over the
    slots available; NaN while it has none), ``slots.<id>`` (slots available, time-averaged),
    ``queue.<id>`` (requests waiting) and ``arrival_rate_per_s.<id>`` (requests reaching it)."""
    out = {}
    width = np.diff(edges)
    for cid, entry in spec["components"].items():
        steps = capacity.get(cid)
        if entry["kind"] not in PER_COMPONENT_POOL_KINDS or not steps:
            continue
        cols = entry["columns"]
        busy = level_per_bin(c[cols["start"]], c[cols["end"]], edges)
        slots = capacity_per_bin(steps, edges)
        out[f"utilization.{cid}"] = np.where(slots > 0, busy / np.where(slots > 0, slots, 1), np.nan)
        out[f"slots.{cid}"] = slots
        out[f"queue.{cid}"] = level_per_bin(c[cols["enter"]], c[cols["start"]], edges)
        enter = c[cols["enter"]]
        out[f"arrival_rate_per_s.{cid}"] = np.histogram(enter[~np.isnan(enter)], edges)[0] / width
    return out


def bottleneck(stats: dict) -> dict | None:
    """The component with the highest utilization (None when no component has one)."""
    rated = [(row["utilization"], cid) for cid, row in stats.items() if row["utilization"] is not None]
    if not rated:
        return None
    util, cid = max(rated)
    return {"component": cid, "label": stats[cid]["label"], "utilization": util}


def path_parts(spec: dict, c: dict[str, np.ndarray], rows: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Seconds each component added to the latency of the requests ``rows`` (0 where not on their path);
    at a fan-out only the branch the join waited for (the ``k``-th answer) counts."""
    branch_of = {b: j for j in spec["joins"] for b in j["branches"]}
    parts: list[tuple[str, np.ndarray]] = []
    index = np.flatnonzero(rows) if rows.dtype == np.bool_ else rows
    for cid, entry in spec["components"].items():
        if cid in branch_of:
            continue
        _, t = _time_in(entry, c, index)
        parts.append((cid, np.nan_to_num(t)))
    for join in spec["joins"]:
        t = np.column_stack([c[col][rows] for col in join["t"]])
        answered = np.column_stack([np.isin(c[col][rows], ANSWERED) for col in join["state"]])
        t = np.where(answered, t, np.inf)
        order = np.argsort(t, axis=1, kind="stable")
        k = join["k"]
        critical = order[:, k - 1]  # the branch whose answer released the join
        start = np.column_stack([c[spec["components"][b]["columns"]["start"]][rows] for b in join["branches"]])
        block = np.take_along_axis(t, critical[:, None], axis=1)[:, 0] - np.nanmin(start, axis=1)
        block = np.where(np.isfinite(block), block, 0.0)
        for i, b in enumerate(join["branches"]):
            parts.append((b, np.where(critical == i, block, 0.0)))
    return parts


def critical_path(spec: dict, c: dict[str, np.ndarray], after: np.ndarray) -> dict | None:
    """Mean time per component on the path of the slowest 1 % of answered decisions."""
    done = after & (c["outcome"] <= 1)
    if done.sum() < 100:
        return None
    latency = c["end_s"] - c["arrival_s"]
    p99 = np.percentile(latency[done], 99)
    slow = done & (latency >= p99)
    parts = [(cid, float(t.mean()), float((t > 0).mean())) for cid, t in path_parts(spec, c, slow)]
    return path_summary(spec, parts, float(p99), int(slow.sum()), float(latency[slow].mean()))


def path_summary(spec: dict, parts: list[tuple[str, float, float]], p99_s: float, requests: int,
                 mean_latency_s: float) -> dict:
    """The ``critical_path`` section from each part's (component, mean seconds, share of requests on it)."""
    rows = []
    for cid, mean_s, on_path in parts:
        ms = mean_s * 1000.0
        if ms > 0:
            rows.append({"component": cid, "label": spec["components"][cid]["label"], "ms_mean": ms,
                         "share": ms / (mean_latency_s * 1000.0), "on_path_share": on_path})
    rows.sort(key=lambda r: -r["ms_mean"])
    top = [r for r in rows if r["share"] >= 0.1][:3] or rows[:1]
    finding = (f"The slowest 1 % of decisions (slower than {human_duration(p99_s)}) spend most of their time in "
               + ", ".join(f"{r['label']} ({r['share']:.0%})" for r in top) + ".") if rows else ""
    return {"p99_ms": float(p99_s * 1000.0), "requests": requests, "latency_ms_mean": mean_latency_s * 1000.0,
            "components": rows, "finding": finding}


def confidence_shares(spec: dict, c: dict[str, np.ndarray]):
    """A ``confidence_share(model, threshold)`` for the graph's flows, from this run's own scores: the share
    of the requests that reached the model (the flows multiply by the share that gets there)."""
    def share(model: str, threshold: float) -> float:
        enter = spec["components"][model]["columns"]["enter"]
        column = "p" if enter == "inf_enter_s" else f"{model}.p"
        p = c[column][~np.isnan(c[enter])]  # among the requests the model scored: the route's condition is on them
        return float((np.maximum(p, 1.0 - p) < threshold).mean()) if len(p) else 0.0
    return share


def architecture_summary(sc, spec: dict, c: dict[str, np.ndarray], trace_capacity: dict, component_capacity: dict,
                         after: np.ndarray) -> dict:
    """The ``architecture`` section of the summary: components, bottleneck, critical path, blast radius."""
    stats = component_stats(sc, spec, c, capacities(sc, spec, trace_capacity, component_capacity), after)
    decided = None
    if "decided_by" in c:
        answered = after & (c["outcome"] <= 1)
        decided = np.bincount(c["decided_by"][answered].astype(np.int64) + 1, minlength=len(spec["components"]) + 1)
    return architecture_section(sc, stats, critical_path(spec, c, after), confidence_shares(spec, c), decided)


def architecture_section(sc, stats: dict, path: dict | None, confidence_share, decided: np.ndarray | None) -> dict:
    """Assemble the section (both paths): ``decided`` counts answers per ``decided_by`` code + 1."""
    graph = build_graph(sc)
    has_conf = any(d.get("when") is not None and d["when"].confidence_below is not None
                   for _, _, d in graph.edges(data=True))
    flow_list = flows(sc, graph, confidence_share if has_conf else None)
    blasts = [blast_radius(sc, graph, cid, flow_list) for cid in graph]
    for b in blasts:
        stats[b.component]["blast_radius"] = {"fails": b.fails, "degrades": b.degrades, "unaffected": b.unaffected,
                                             "how": b.how}
    out = {"components": stats, "bottleneck": bottleneck(stats), "critical_path": path,
           "single_points_of_failure": single_points_of_failure(blasts)}
    if decided is not None:
        ids = list(graph.nodes)
        total = decided.sum()
        out["decided_by"] = {ids[i]: int(decided[i + 1]) for i in range(len(ids)) if decided[i + 1]}
        if total:
            out["decided_by_share"] = {k: float(v / total) for k, v in out["decided_by"].items()}
    return out
