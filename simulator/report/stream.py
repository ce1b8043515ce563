"""The summary-only path: a run's statistics reduced block by block while it runs.

The kernel engine hands finished requests over in blocks (``add``) and then gives their memory
back, so a run's memory no longer grows with its number of requests. Everything the summary, the
time series and the findings read is a sum over requests, kept per block: counts, sums for means,
span overlaps for utilizations, and the areas under queue and busy levels per time bin (additive:
see :func:`simulator.report.levels.area_at_edges`). The same rules as the full path's
(:mod:`simulator.report.summary`, :func:`simulator.report.results.build_result`) apply row by row,
so **every count is exact**, and so are means, utilizations, costs and levels (up to the order of
floating-point additions).

Quantiles are the exception: latency percentiles (overall, per time bin, per component, and the
p99 that selects the critical path's requests) come from a fixed log-bucket histogram. Bucket
``i`` holds latencies in ``[1 µs · 1.02^(i-1), 1 µs · 1.02^i)`` and reports its geometric middle, so
each order statistic is off by at most ``RELATIVE_ERROR`` (0.995 %) and so is a percentile
interpolated between two of them (latencies under 1 µs count as 0, over 10^8 ms as 10^8 ms).
The critical path averages the requests in the buckets above the p99's and a share of the p99's
own bucket (all of its requests weighted alike) that makes up the slowest 1 %.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simulator.common.numbers import finite_or_none
from simulator.engine.trace import Trace
from simulator.report.components import (
    PER_COMPONENT_POOL_KINDS,
    POOL_KINDS,
    _time_in,
    architecture_section,
    capacities,
    path_parts,
    path_summary,
    pool_passage,
)
from simulator.report.economics import economics_tallies, request_charges_per_bin
from simulator.report.governance_results import decision_tallies, extra_frames
from simulator.report.levels import area_at_edges, capacity_integral, capacity_per_bin, span_overlap
from simulator.report.results import (
    STAGE_COLUMNS,
    RunResult,
    _bin_index,
    _bins,
    control_timeseries,
    run_capacity,
)
from simulator.report.stages import REASONS, STAGE_MS, stage_ms
from simulator.report.summary import economics_section, resilience_stats, resilience_tallies, summary_from
from simulator.scenario.config import Scenario
from simulator.scenario.graph import build_graph, effective_scenario

GAMMA = 1.02
LOW_MS = 1e-3
BUCKETS = int(math.ceil(math.log(1e11) / math.log(GAMMA))) + 2  # 1 µs .. 10^8 ms, plus under and over
RELATIVE_ERROR = math.sqrt(GAMMA) - 1.0
_MIDDLE = np.concatenate([[0.0], LOW_MS * GAMMA ** (np.arange(1, BUCKETS - 1) - 0.5),
                          [LOW_MS * GAMMA ** (BUCKETS - 2)]])


def bucket_of(ms: np.ndarray) -> np.ndarray:
    """The histogram bucket of each latency (ms)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        i = np.floor(np.log(np.asarray(ms, float) / LOW_MS) / math.log(GAMMA)) + 1.0
    return np.clip(np.nan_to_num(i, nan=0.0, neginf=0.0, posinf=BUCKETS - 1), 0, BUCKETS - 1).astype(np.int64)


def quantiles(counts: np.ndarray, qs) -> list[float | None]:
    """Percentiles (linear interpolation between order statistics, as ``np.percentile``) of a histogram."""
    n = int(counts.sum())
    if n == 0:
        return [None for _ in qs]
    cum = np.cumsum(counts)
    out = []
    for q in qs:
        pos = (n - 1) * q
        k = int(math.floor(pos))
        a = _MIDDLE[np.searchsorted(cum, k, side="right")]
        b = _MIDDLE[np.searchsorted(cum, min(k + 1, n - 1), side="right")]
        out.append(float(a + (b - a) * (pos - k)))
    return out


class _Mean:
    """Sum and count of values (a NaN among them makes the mean NaN, as ``ndarray.mean``)."""

    def __init__(self):
        self.total, self.count = 0.0, 0

    def add(self, values: np.ndarray) -> None:
        self.total += float(np.sum(values))
        self.count += len(values)

    def get(self) -> float | None:
        return self.total / self.count if self.count else None


def _add(into: dict, tallies: dict) -> None:
    for key, value in tallies.items():
        into[key] = into[key] + value if key in into else value


class SummaryStream:
    """The reductions of one run on the summary-only path; ``add`` a block, ``result`` at the end.

    ``start(events)`` hands over the engine's own list of events when the run starts: the fault
    windows are in it from then on, and "where did the time go" compares stretches that begin and
    end at them. The engine calls ``add`` at least once (with an empty block for an empty run).
    """

    def __init__(self, scenario: Scenario):
        from simulator.engine.dataplane import component_columns

        self.scenario = scenario
        sc = self.sc = effective_scenario(scenario)
        self.spec = component_columns(sc)
        self.events: list = []
        self.edges = _bins(sc)
        nb = self.n_bins = len(self.edges) - 1
        self.per_bin = {k: np.zeros(nb, np.int64) for k in ("arrivals", "completions", "failures", "degraded",
                                                            "fallback_answers", "answered_by_arrival")}
        self.lat_sum_bin = np.zeros(nb)
        self.lat_hist_bin = np.zeros((nb, BUCKETS), np.int32)
        self.stage_sum_bin = {stage: np.zeros(nb) for stage in STAGE_COLUMNS}
        self.request_usd = np.zeros(nb)
        self.areas: dict[str, np.ndarray] = {}
        self.pool_arrivals: dict[str, np.ndarray] = {}
        # summary
        self.outcomes = np.zeros(4, np.int64)
        self.reasons = np.zeros(len(REASONS), np.int64)
        self.lat_hist = np.zeros(BUCKETS, np.int64)
        self.lat = _Mean()
        self.in_slo = 0
        self.stage: dict = {}
        self.resilience: dict = {}
        self.money: dict = {}
        self.decided: dict = {}
        self.fine_edges: np.ndarray | None = None
        # the architecture
        self.components: dict[str, dict] = {}
        self.path_count = np.zeros(BUCKETS, np.int64)
        self.path_latency_s = np.zeros(BUCKETS)
        self.path_time: dict[str, np.ndarray] = {}
        self.path_on: dict[str, np.ndarray] = {}
        self.decided_by = np.zeros(len(self.spec["components"]) + 1, np.int64)
        self.confidence: dict[tuple[str, float], int] = {}
        self.scored: dict[str, int] = {}  # requests each model scored (the denominator of its confidence share)
        self.rows = 0
        graph = build_graph(sc)
        self.thresholds = sorted({d["when"].confidence_below for _, _, d in graph.edges(data=True)
                                  if d.get("when") is not None and d["when"].confidence_below is not None})

    # ------------------------------------------------------------------ one block
    def start(self, events: list) -> None:
        self.events = events

    def add(self, c: dict[str, np.ndarray]) -> None:
        """Reduce one block of finished rows (the engine's columns: changed in place as the report does)."""
        sc = self.sc
        dur = sc.duration_s
        c = dict(c)
        late = np.isnan(c["end_s"]) | (c["end_s"] > dur)  # still in flight when the run stopped
        c["outcome"][late] = 3
        c["reason"][late] = 0
        c["end_s"][late] = np.nan
        for entry in self.spec["components"].values():
            if entry["kind"] in ("model", "review", "feature_store"):
                for role in ("start", "end"):
                    col = c[entry["columns"][role]]
                    col[col > dur] = np.nan
        for key in ("inf_start_s", "inf_end_s", "db_start_s", "db_end_s"):
            c[key][c[key] > dur] = np.nan
        after = c["arrival_s"] >= sc.warmup_s
        self.rows += len(after)
        self._timeseries(c)
        self._summary(c, after)
        self._stages(c, after)
        self._where(c)
        self._architecture(c, after)

    def _level(self, name: str, starts: np.ndarray, ends: np.ndarray) -> None:
        area = area_at_edges(np.asarray(starts, float), np.asarray(ends, float), self.edges)
        self.areas[name] = self.areas[name] + area if name in self.areas else area

    def _hist(self, values: np.ndarray) -> np.ndarray:
        b = _bin_index(values, self.edges)
        return np.bincount(b[b >= 0], minlength=self.n_bins)

    def _timeseries(self, c: dict) -> None:
        sc, edges, nb = self.sc, self.edges, self.n_bins
        arrival, end, outcome = c["arrival_s"], c["end_s"], c["outcome"]
        pb = self.per_bin
        pb["arrivals"] += self._hist(arrival)
        end_bin = _bin_index(end, edges)
        counted = end_bin >= 0
        done = counted & (outcome <= 1)
        pb["completions"] += np.bincount(end_bin[done], minlength=nb)
        pb["failures"] += np.bincount(end_bin[counted & (outcome == 2)], minlength=nb)
        pb["degraded"] += np.bincount(end_bin[counted & (outcome == 1)], minlength=nb)
        lat_ms = (end[done] - arrival[done]) * 1000.0
        b = end_bin[done]
        self.lat_sum_bin += np.bincount(b, weights=lat_ms, minlength=nb)
        keys, counts = np.unique(b * BUCKETS + bucket_of(lat_ms), return_counts=True)
        self.lat_hist_bin.reshape(-1)[keys] += counts.astype(np.int32)
        fb = c["fallback"]
        pb["fallback_answers"] += self._hist(end[(fb > 0) & ~np.isnan(end)])
        # levels: ingestion backlog and consumers, the database pool, the model pool
        if sc.ingestion.mode != "direct":
            ing_start = arrival + c["ing_wait_s"]
            ing_end = ing_start + c["ing_svc_s"]
            self._level("ingestion_backlog", arrival, ing_end)
            if sc.ingestion.mode == "stream":
                self._level("ingestion_busy", ing_start, ing_end)
        if sc.feature_store.mode != "off":
            self._level("feature_db_queue", c["db_enter_s"], c["db_start_s"])
            self._level("feature_db_busy", c["db_start_s"], c["db_end_s"])
        if sc.inference.enabled:
            self._level("inference_queue", c["inf_enter_s"], c["inf_start_s"])
            self._level("inference_busy", c["inf_start_s"], c["inf_end_s"])
            self.request_usd += request_charges_per_bin(sc, edges, c)
        if self.scenario.topology is not None:
            for cid, entry in self.spec["components"].items():
                if entry["kind"] in PER_COMPONENT_POOL_KINDS:
                    cols = entry["columns"]
                    self._level(f"busy.{cid}", c[cols["start"]], c[cols["end"]])
                    self._level(f"queue.{cid}", c[cols["enter"]], c[cols["start"]])
                    enter = c[cols["enter"]]
                    self.pool_arrivals[cid] = self.pool_arrivals.get(cid, 0) + self._hist(enter[~np.isnan(enter)])
        # mean time per stage of the answered requests, by the bin of their arrival
        answered = outcome <= 1
        b = np.clip(np.searchsorted(edges, arrival[answered], side="right") - 1, 0, nb - 1)
        pb["answered_by_arrival"] += np.bincount(b, minlength=nb)
        for stage, names in STAGE_COLUMNS.items():
            total = sum(np.nan_to_num(stage_ms(c, name, answered)) for name in names)
            self.stage_sum_bin[stage] += np.bincount(b, weights=total, minlength=nb)

    def _summary(self, c: dict, after: np.ndarray) -> None:
        sc = self.sc
        self.outcomes += np.bincount(c["outcome"][after], minlength=4)[:4]
        self.reasons += np.bincount(c["reason"][after & (c["outcome"] == 2)].astype(np.int64),
                                    minlength=len(REASONS))[:len(REASONS)]
        succ = after & (c["outcome"] <= 1)
        lat = (c["end_s"][succ] - c["arrival_s"][succ]) * 1000.0
        self.lat_hist += np.bincount(bucket_of(lat), minlength=BUCKETS)
        self.lat.add(lat)
        self.in_slo += int((lat <= sc.slo_latency_ms).sum())
        _add(self.resilience, resilience_tallies(sc, c, after))
        if sc.inference.enabled:
            _add(self.money, economics_tallies(sc, c, after))
            _add(self.decided, decision_tallies(sc, c, after))

    def _tally(self, key: str, **parts) -> None:
        entry = self.stage.setdefault(key, {})
        for name, value in parts.items():
            if isinstance(value, tuple):  # (ms values) for a mean
                entry.setdefault(name, _Mean()).add(value[0])
            else:
                entry[name] = entry.get(name, 0) + value

    def _stages(self, c: dict, after: np.ndarray) -> None:
        """The sums behind :func:`simulator.report.summary.stage_stats` (the same rules, per block)."""
        sc = self.sc
        lo, hi = sc.warmup_s, sc.duration_s
        arrival = c["arrival_s"]
        mode = sc.ingestion.mode
        if mode != "direct":
            start = arrival + c["ing_wait_s"]
            end = start + c["ing_svc_s"]
            finished = end <= hi
            done = after & finished
            parts = {"wait": (stage_ms(c, "ingestion_wait_ms", done),),
                     "service": (stage_ms(c, "ingestion_service_ms", done),), "served": int(done.sum())}
            if mode == "stream":
                st = sc.ingestion.stream
                parts["busy"] = span_overlap(start, np.where(finished, end, np.nan), lo, hi)
                consumer = c["ing_consumer"]
                for k in range(min(st.consumers, st.partitions)):
                    mine = finished & (consumer == k)
                    parts[f"consumer{k}"] = span_overlap(start[mine], end[mine], lo, hi)
            self._tally("ingestion", **parts)
        if sc.feature_store.mode != "off":
            db_start, db_end = c["db_start_s"], c["db_end_s"]
            passed = after & ((c["fs_hit"] == 1) | ~np.isnan(db_end))
            queried = after & ~np.isnan(db_start) & ~((c["outcome"] == 2) & (db_end == db_start))
            self._tally("feature_store", busy=span_overlap(db_start, db_end, lo, hi, open_end=hi),
                        wait=(stage_ms(c, "feature_store_wait_ms", queried),),
                        service=(stage_ms(c, "feature_store_service_ms", passed),), served=int(passed.sum()))
        if sc.external_api.enabled:
            called = after & (c["api_s"] > 0)
            self._tally("external_api", service=(stage_ms(c, "external_api_service_ms", called),),
                        served=int(called.sum()))
        if sc.inference.enabled:
            s, e = c["inf_start_s"], c["inf_end_s"]
            served = after & ~np.isnan(e) & (e > s)
            failed = c["outcome"] == 2
            rejected = failed & (c["reason"] == 1)
            queue_timeout = failed & (c["reason"] == 2) & (e == s)
            entered = after & ~np.isnan(s) & ~rejected & ~queue_timeout
            timed_out = after & queue_timeout
            self._tally("inference", busy=span_overlap(s, e, lo, hi, open_end=hi),
                        wait=(stage_ms(c, "inference_wait_ms", entered),),
                        service=(stage_ms(c, "inference_service_ms", served),), served=int(served.sum()),
                        timed_out=int(timed_out.sum()), timed_out_wait=(stage_ms(c, "inference_wait_ms", timed_out),))

    def _where(self, c: dict) -> None:
        """Stage sums of answered requests by arrival, between the bin edges, the warm-up and fault edges."""
        if self.fine_edges is None:
            faults = [t for t, kind, _, _ in self.events if kind in ("fault_started", "fault_ended")]
            self.fine_edges = np.unique(np.concatenate([self.edges, [self.sc.warmup_s], faults]))
            self.fine_count = np.zeros(len(self.fine_edges), np.int64)
            self.fine_sum = {name: np.zeros(len(self.fine_edges)) for name in STAGE_MS}
        answered = c["outcome"] <= 1
        b = np.searchsorted(self.fine_edges, c["arrival_s"][answered], side="right") - 1
        m = len(self.fine_edges)
        self.fine_count += np.bincount(b, minlength=m)[:m]
        for name in STAGE_MS:
            self.fine_sum[name] += np.bincount(b, weights=np.nan_to_num(stage_ms(c, name, answered)), minlength=m)[:m]

    def window_means(self, t0: float, t1: float) -> pd.Series | None:
        """Mean ms per stage of the answered requests that arrived in [t0, t1) (edges of ``fine_edges``)."""
        if self.fine_edges is None:
            return None
        f = self.fine_edges
        a, b = (int(np.argmin(np.abs(f - t))) for t in (t0, t1))
        n = int(self.fine_count[a:b].sum())
        if n == 0:
            return None
        return pd.Series({name: float(self.fine_sum[name][a:b].sum() / n) for name in STAGE_MS})

    def _architecture(self, c: dict, after: np.ndarray) -> None:
        sc = self.sc
        lo, hi = sc.warmup_s, sc.duration_s
        for cid, entry in self.spec["components"].items():
            acc = self.components.setdefault(cid, {"reached": 0, "time": _Mean(), "hist": np.zeros(BUCKETS, np.int64),
                                                   "wait": _Mean(), "service": _Mean(), "busy": 0.0})
            reached, t = _time_in(entry, c)
            reached &= after
            ms = t[reached & ~np.isnan(t)] * 1000.0
            acc["reached"] += int(reached.sum())
            acc["time"].add(ms)
            acc["hist"] += np.bincount(bucket_of(ms), minlength=BUCKETS)
            cols = entry["columns"]
            if entry["kind"] in POOL_KINDS:
                enter, start, end, started, waited, served = pool_passage(cols, c, after)
                acc["wait"].add((start - enter)[waited] * 1000.0)
                acc["service"].add((end - start)[served] * 1000.0)
                acc["busy"] += span_overlap(start[started], np.where(np.isnan(end[started]), hi, end[started]), lo, hi)
            elif entry["kind"] == "ingestion" and sc.ingestion.mode == "stream":
                start = c["arrival_s"] + c[cols["wait"]]
                end = start + c[cols["service"]]
                done = end <= hi
                acc["busy"] += span_overlap(start[done], end[done], lo, hi)
        # the critical path: per latency bucket, the time each part added
        done = after & (c["outcome"] <= 1)
        latency = c["end_s"][done] - c["arrival_s"][done]
        b = bucket_of(latency * 1000.0)
        self.path_count += np.bincount(b, minlength=BUCKETS)
        self.path_latency_s += np.bincount(b, weights=latency, minlength=BUCKETS)
        for cid, t in path_parts(self.spec, c, done):
            self.path_time[cid] = self.path_time.get(cid, 0) + np.bincount(b, weights=t, minlength=BUCKETS)
            self.path_on[cid] = self.path_on.get(cid, 0) + np.bincount(b, weights=t > 0, minlength=BUCKETS)
        if "decided_by" in c:
            answered = after & (c["outcome"] <= 1)
            self.decided_by += np.bincount(c["decided_by"][answered].astype(np.int64) + 1,
                                           minlength=len(self.decided_by))[:len(self.decided_by)]
        for cid, entry in self.spec["components"].items():
            if entry["kind"] == "model" and self.thresholds:
                scored = ~np.isnan(c[entry["columns"]["enter"]])  # the route's condition is on what it scored
                p = c["p" if entry["columns"]["enter"] == "inf_enter_s" else f"{cid}.p"][scored]
                sure = np.maximum(p, 1.0 - p)
                self.scored[cid] = self.scored.get(cid, 0) + int(scored.sum())
                for thr in self.thresholds:
                    self.confidence[(cid, thr)] = self.confidence.get((cid, thr), 0) + int((sure < thr).sum())

    # ------------------------------------------------------------------ the end
    def _timeseries_frame(self, capacity: dict, trace: Trace) -> pd.DataFrame:
        sc, edges, nb = self.sc, self.edges, self.n_bins
        width = np.diff(edges)
        pb = self.per_bin
        ts = pd.DataFrame({"t_s": edges[:-1], "t_end_s": edges[1:]})
        for key in ("arrivals", "completions", "failures", "degraded"):
            ts[key] = pb[key]
        ts["arrival_rate_per_s"] = ts["arrivals"] / width
        ts["throughput_rps"] = ts["completions"] / width
        p50, p95, p99 = (np.full(nb, np.nan) for _ in range(3))
        for i in np.nonzero(pb["completions"])[0]:
            p50[i], p95[i], p99[i] = quantiles(self.lat_hist_bin[i], (0.5, 0.95, 0.99))
        ts["latency_p50_ms"], ts["latency_p95_ms"], ts["latency_p99_ms"] = p50, p95, p99
        count = pb["completions"]
        ts["latency_mean_ms"] = np.where(count > 0, self.lat_sum_bin / np.maximum(count, 1), np.nan)

        def level(name: str) -> np.ndarray:
            return np.diff(self.areas[name]) / width if name in self.areas else np.zeros(nb)

        mode = sc.ingestion.mode
        ts["ingestion_backlog"] = level("ingestion_backlog") if mode != "direct" else 0.0
        if mode == "stream":
            st = sc.ingestion.stream
            ts["utilization_ingestion"] = level("ingestion_busy") / min(st.consumers, st.partitions)
        else:
            ts["utilization_ingestion"] = np.nan
        if sc.feature_store.mode != "off":
            ts["feature_db_queue"] = level("feature_db_queue")
            ts["utilization_feature_store"] = level("feature_db_busy") / capacity_per_bin(capacity["feature_store"], edges)
        else:
            ts["feature_db_queue"] = 0.0
            ts["utilization_feature_store"] = np.nan
        if sc.inference.enabled:
            ts["inference_queue"] = level("inference_queue")
            busy = level("inference_busy")
            cap = capacity_per_bin(capacity["inference"], edges)
            ts["inference_busy"] = busy
            ts["utilization_inference"] = np.where(cap > 0, busy / np.where(cap > 0, cap, 1), np.nan)
            for key in ("replicas", "replicas_total", "canary_replicas"):
                ts[key] = capacity_per_bin(capacity[key], edges)
        else:
            for key in ("inference_queue", "inference_busy", "replicas", "replicas_total", "canary_replicas"):
                ts[key] = 0.0
            ts["utilization_inference"] = np.nan
        control_timeseries(ts, trace, edges)
        ts["fallback_answers"] = pb["fallback_answers"]
        answered = pb["answered_by_arrival"]
        for stage in STAGE_COLUMNS:
            ts[f"stage_{stage}_ms"] = np.where(answered > 0, self.stage_sum_bin[stage] / np.maximum(answered, 1), np.nan)
        if self.scenario.topology is not None:
            pools = capacities(sc, self.spec, capacity, trace.component_capacity)
            for cid, entry in self.spec["components"].items():
                steps = pools.get(cid)
                if entry["kind"] not in PER_COMPONENT_POOL_KINDS or not steps:
                    continue
                slots = capacity_per_bin(steps, edges)
                busy = level(f"busy.{cid}")
                ts[f"utilization.{cid}"] = np.where(slots > 0, busy / np.where(slots > 0, slots, 1), np.nan)
                ts[f"slots.{cid}"] = slots
                ts[f"queue.{cid}"] = level(f"queue.{cid}")
                ts[f"arrival_rate_per_s.{cid}"] = self.pool_arrivals.get(cid, np.zeros(nb)) / width
        if sc.inference.enabled:
            from simulator.report.economics import cost_timeseries

            for name, values in cost_timeseries(sc, capacity, edges, self.request_usd).items():
                ts[name] = values
        return ts

    def _stage_section(self, capacity: dict) -> dict:
        sc = self.sc
        lo, hi = sc.warmup_s, sc.duration_s
        span = hi - lo
        st = self.stage

        def pack(util, wait, svc, served):
            return {"utilization": finite_or_none(util), "wait_ms_mean": finite_or_none(wait),
                    "service_ms_mean": finite_or_none(svc), "served": int(served)}

        def mean(key, name):
            m = st.get(key, {}).get(name)
            return m.get() if m is not None else None

        out = {}
        if sc.ingestion.mode == "direct":
            out["ingestion"] = pack(None, 0.0, 0.0, 0)
        else:
            util = busiest = None
            if sc.ingestion.mode == "stream":
                s = sc.ingestion.stream
                k = min(s.consumers, s.partitions)
                util = st.get("ingestion", {}).get("busy", 0.0) / (k * span)
                busiest = max(st.get("ingestion", {}).get(f"consumer{i}", 0.0) for i in range(k)) / span
            out["ingestion"] = pack(util, mean("ingestion", "wait"), mean("ingestion", "service"),
                                    st.get("ingestion", {}).get("served", 0))
            out["ingestion"]["busiest_consumer_utilization"] = finite_or_none(busiest)
        if sc.feature_store.mode == "off":
            out["feature_store"] = pack(None, 0.0, 0.0, 0)
        else:
            util = st.get("feature_store", {}).get("busy", 0.0) / capacity_integral(capacity["feature_store"], lo, hi)
            out["feature_store"] = pack(util, mean("feature_store", "wait"), mean("feature_store", "service"),
                                        st.get("feature_store", {}).get("served", 0))
        if not sc.external_api.enabled:
            out["external_api"] = pack(None, 0.0, 0.0, 0)
        else:
            out["external_api"] = pack(None, 0.0, mean("external_api", "service"),
                                       st.get("external_api", {}).get("served", 0))
        if not sc.inference.enabled:
            out["inference"] = pack(None, 0.0, 0.0, 0)
        else:
            cap = capacity_integral(capacity["inference"], lo, hi)
            inf = st.get("inference", {})
            util = inf.get("busy", 0.0) / cap if cap > 0 else None
            out["inference"] = pack(util, mean("inference", "wait"), mean("inference", "service"), inf.get("served", 0))
            out["inference"]["timed_out_in_queue"] = int(inf.get("timed_out", 0))
            out["inference"]["timed_out_in_queue_wait_ms_mean"] = finite_or_none(mean("inference", "timed_out_wait"))
        return out

    def _architecture_section(self, capacity: dict, trace: Trace) -> dict:
        sc = self.sc
        lo, hi = sc.warmup_s, sc.duration_s
        pools = capacities(sc, self.spec, capacity, trace.component_capacity)
        stats = {}
        for cid, entry in self.spec["components"].items():
            acc = self.components.get(cid)
            row = {"kind": entry["kind"], "label": entry["label"], "reached": acc["reached"] if acc else 0,
                   "time_ms_mean": finite_or_none(acc["time"].get()) if acc else None,
                   "time_ms_p99": quantiles(acc["hist"], (0.99,))[0] if acc else None,
                   "wait_ms_mean": None, "service_ms_mean": None, "utilization": None}
            if acc and entry["kind"] in ("model", "review", "feature_store"):
                row["wait_ms_mean"] = finite_or_none(acc["wait"].get())
                row["service_ms_mean"] = finite_or_none(acc["service"].get())
                steps = pools.get(cid)
                if steps:
                    available = capacity_integral(steps, lo, hi)
                    row["utilization"] = finite_or_none(acc["busy"] / available) if available > 0 else None
            elif acc and entry["kind"] == "ingestion" and sc.ingestion.mode == "stream":
                st = sc.ingestion.stream
                row["utilization"] = finite_or_none(acc["busy"] / (min(st.consumers, st.partitions) * (hi - lo)))
            stats[cid] = row
        path = None
        total = int(self.path_count.sum())
        if total >= 100:
            p99_ms = quantiles(self.path_count, (0.99,))[0]
            # the requests at or above the p99: the buckets above its own, and the share of its own
            # bucket needed to make up their number
            i = int(bucket_of(np.array([p99_ms]))[0])
            n = total - int(math.ceil(0.99 * (total - 1)))
            above = int(self.path_count[i + 1:].sum())
            share = min(1.0, max(0.0, (n - above) / self.path_count[i])) if self.path_count[i] else 0.0
            weight = np.zeros(BUCKETS)
            weight[i + 1:] = 1.0
            weight[i] = share
            n_slow = float(weight @ self.path_count)
            parts = [(cid, float(weight @ t) / n_slow, float(weight @ self.path_on[cid]) / n_slow)
                     for cid, t in self.path_time.items()]
            path = path_summary(self.spec, parts, p99_ms / 1000.0, int(round(n_slow)),
                                float(weight @ self.path_latency_s) / n_slow)
        def confidence_share(model: str, threshold: float) -> float:
            scored = self.scored.get(model, 0)
            return self.confidence.get((model, threshold), 0) / scored if scored else 0.0

        decided = self.decided_by if self.scenario.topology is not None else None
        return architecture_section(sc, stats, path, confidence_share, decided)

    def result(self, seed: int, trace: Trace, wall_s: float) -> RunResult:
        """The run's summary, time series and events (no requests frame, no spans)."""
        sc = self.sc
        capacity = run_capacity(sc, trace)
        ts = self._timeseries_frame(capacity, trace)
        events = pd.DataFrame(sorted(trace.events), columns=["t_s", "kind", "component", "detail"])
        mean = self.lat.get()
        p50, p95, p99 = quantiles(self.lat_hist, (0.5, 0.95, 0.99))
        latency = {"mean": finite_or_none(mean) if mean is not None else None,
                   "p50": p50, "p95": p95, "p99": p99}
        resilience = resilience_stats(sc, ts, events, trace, self.resilience, self.window_means)
        money = economics_section(sc, self.money, self.decided, capacity, trace) if sc.inference.enabled else {}
        summary = summary_from(sc, seed, events, wall_s, self.outcomes, latency, self.in_slo, self.reasons,
                               self._stage_section(capacity), resilience, money,
                               self._architecture_section(capacity, trace))
        return RunResult(self.scenario, seed, pd.DataFrame(), ts, events, summary, pd.DataFrame(),
                         extra_frames(sc, trace, {}))

