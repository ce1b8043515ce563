"""The kernel engine: a data plane of station kernels between control events, driven by the control plane.

* **Control plane**: SimPy processes, the same code as the event path's (arrival chunks, batch
  triggers, fault windows, autoscalers, canary analysis, fairness windows, drift and retraining,
  review shifts). They read the stations' state and change it (units, speed, canary weight,
  models) at control events only.
* **Data plane**: one station per component of the scenario's graph, each processing everything
  that happens at it strictly before the next control event, in time order, with compiled kernels
  (``simulator.engine.stations``). Stations are advanced in topological order, so every input a
  station will receive before that time is present when it runs.

The run loop: ``while the next control event is before the end: advance the data plane to its time;
run it``; then advance the data plane to the end. Results are bit-identical to the event path for
the same seed (``tests/unit/test_kernel_engine.py``), because both apply the same rules with the
same floating-point expressions and consume every random stream identically; at exactly equal
times a control event comes before the data plane's happenings (the event path orders such ties
by scheduling order; they do not occur with continuous distributions).

On the summary-only path a ``sink`` (:class:`simulator.report.stream.SummaryStream`) receives the
finished rows in blocks while the run goes (every row before the first request still in flight,
at a fan-out only once every branch called has reported), and the rows' memory is handed back
once nothing reads them any more, so the run's memory does not grow with its requests.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from heapq import heappop

import numpy as np
import simpy

from simulator.engine.columns import Columns
from simulator.engine.control import PipelineControl
from simulator.engine.dataplane import GraphPlane, trace_column_names
from simulator.engine.decisions import Decisions
from simulator.engine.dependency import NOT_CALLED
from simulator.engine.faults import Window, build_windows
from simulator.engine.governance import Governance
from simulator.engine.rng import RandomStreams
from simulator.engine.simulation import (
    DEGRADED,
    FAILED,
    IN_FLIGHT,
    OK,
    R_API,
    R_CRASH,
    R_DB,
    R_MODEL,
    R_NONE,
    R_OUTAGE,
    R_REJECTED,
    R_TIMEOUT,
    V_CANARY,
    V_NONE,
    V_PRIMARY,
)
from simulator.engine.stations.model import Outcomes
from simulator.engine.stations.review import FlaggedReview
from simulator.engine.trace import Trace
from simulator.scenario.config import Scenario
from simulator.scenario.graph import build_graph, effective_scenario, primary_components
from simulator.scenario.rates import expected_count

NAN = math.nan
F8, I8 = np.float64, np.int64
STREAM_BLOCK = 1 << 16  # rows the summary-only path reduces at a time

# the chain's columns: name -> (dtype, value before the request reaches the stage); codes are small ints
I1, I2 = np.int8, np.int16
CHAIN_COLUMNS = {
    "arrival_s": (F8, NAN), "segment": (I2, 0), "region": (I2, 0),
    "ing_wait_s": (F8, 0.0), "ing_svc_s": (F8, 0.0), "ing_consumer": (I2, -1),
    "fs_hit": (I1, 0), "fs_lookup_s": (F8, 0.0),
    "db_enter_s": (F8, NAN), "db_start_s": (F8, NAN), "db_end_s": (F8, NAN), "db_svc_s": (F8, 0.0),
    "api_s": (F8, 0.0), "api_lat_s": (F8, 0.0), "api_err_u": (F8, 0.0), "api_start_s": (F8, NAN),
    "api_call_t0_s": (F8, NAN), "staleness_s": (F8, NAN), "api_status": (I1, NOT_CALLED), "api_calls": (I2, 0),
    "fallback": (I1, 0),
    "inf_enter_s": (F8, NAN), "inf_start_s": (F8, NAN), "inf_end_s": (F8, NAN), "inf_svc_s": (F8, 0.0),
    "route_u": (F8, 0.0), "model_err_u": (F8, 0.0),
    "end_s": (F8, NAN), "outcome": (I1, IN_FLIGHT), "reason": (I1, R_NONE), "version": (I1, V_NONE),
    "approve": (I1, 0), "approve_alt": (I1, 0), "label": (I1, 0),
}
# per-request draws: needed while the run lasts, never afterwards
DRAW_COLUMNS = ("db_svc_s", "api_lat_s", "api_err_u", "api_call_t0_s", "inf_svc_s", "route_u", "model_err_u")
TRACE_COLUMNS = ("arrival_s", "segment", "region", "ing_wait_s", "ing_svc_s", "fs_hit", "fs_lookup_s", "db_enter_s",
                 "db_start_s", "db_end_s", "api_s", "api_start_s", "api_status", "api_calls", "fallback",
                 "staleness_s", "inf_enter_s", "inf_start_s", "inf_end_s", "end_s", "outcome", "reason", "version",
                 "approve", "approve_alt", "label", "ing_consumer")
CHUNK_FLOATS = ("fs_lookup_s", "db_svc_s", "api_lat_s", "api_err_u", "inf_svc_s", "route_u", "model_err_u")
CHUNK_INTS = ("segment", "region", "fs_hit", "approve", "approve_alt", "label")
MODEL_CODES = Outcomes(rejected=R_REJECTED, timeout=R_TIMEOUT, crash=R_CRASH, model_error=R_MODEL,
                       v_primary=V_PRIMARY, v_canary=V_CANARY, outage=R_OUTAGE)


def _column(name: str):
    return property(lambda self: self.columns[name])


class KernelSimulation(PipelineControl):
    """Builds the stations of one scenario from its graph and runs them between control events."""

    # the columns the shared control code reads by attribute (arrival chunks, batch, governance)
    arrival_s, region, label, end_s, outcome, version, approve, approve_alt = (
        _column(n) for n in ("arrival_s", "region", "label", "end_s", "outcome", "version", "approve",
                             "approve_alt"))

    R_API, R_DB, R_OUTAGE = R_API, R_DB, R_OUTAGE
    MODEL_CODES = MODEL_CODES

    def __init__(self, scenario: Scenario, seed: int, progress: Callable[[float], None] | None = None,
                 sink=None, block: int = STREAM_BLOCK):
        self.scenario = scenario
        self.sc = effective_scenario(scenario)  # the graph's stations as the top-level sections
        self.seed = int(seed)
        self.progress = progress
        self.env = simpy.Environment()
        self.rng = RandomStreams(self.seed)
        self.events: list[tuple[float, str, str, str]] = []
        self.breaker_states: list[tuple[float, str]] = [(0.0, "CLOSED")]
        self.audit: list[tuple[float, str, str, str]] = []
        self.n = 0
        self.columns = Columns(capacity=int(expected_count(scenario) * 1.05) + 4096)
        for name, (dtype, fill) in CHAIN_COLUMNS.items():
            self.columns.add(name, dtype, fill)
        api = self.sc.external_api
        self.retries = api.retry.max_attempts - 1 if api.retry.enabled else 0
        self.retry_columns = Columns()
        for name in ("retry_lat_s", "retry_err_u", "jitter_u"):
            self.retry_columns.add(name, F8, 0.0)
        self.fault_windows = build_windows(self.sc.faults, scenario.duration_s, self.rng.get("faults.flapping"))
        windows = self.fault_windows + [
            Window(f.name, f"component:{f.component}", "outage", f.start_s, f.start_s + f.duration_s)
            for f in scenario.faults.components if f.start_s < scenario.duration_s]
        self.graph = build_graph(scenario)
        first_model = primary_components(self.graph).get("model")
        architecture = (self.graph.nodes[first_model]["component"].architecture if first_model else None) or "standard"
        self.decisions = Decisions(self, architecture) if self.sc.inference.enabled else None
        if scenario.topology is not None and self.sc.inference.enabled:
            self.columns.add("p", F8, 0.5)
        self._scorers: dict[tuple[str, str], Callable] = {}
        self.plane = GraphPlane(self, windows)
        first = self.plane.first
        self.model = self.plane.models.get(first["model"]) if "model" in first else None
        self.api = self.plane.dependencies.get(first["dependency"]) if "dependency" in first else None
        self.features = getattr(self.plane, "features", None)
        self.db = self.features.db if self.features is not None else None
        self.ingestion = self.plane.ingestion
        self.batch_pending = self.ingestion.batch_pending
        fair = self.sc.fairness.enabled
        self.gov = Governance(self, event_reviewers=not fair) if self.sc.inference.enabled and (
            fair or self.sc.retraining.enabled) else None
        self.flagged_review = FlaggedReview(self.gov, self.columns) if self.gov is not None and fair else None
        if self.model is not None:
            self.model.gov, self.model.review = self.gov, self.flagged_review
        # the summary-only path: finished rows go to ``sink.add(columns)`` in blocks, then their memory
        # is handed back once nothing reads them any more (the fairness monitor looks back one
        # window plus ten minutes of arrivals)
        self.sink = sink
        self.block = int(block)
        self._reduced = self._checked = self._scan = 0
        self._names: list[str] | None = None
        self._draws: list[str] | None = None
        self.retain_s = (self.sc.fairness.window_s + 600.0) if self.gov is not None and self.sc.fairness.enabled else 0.0
        self._join_states = [[c for c in self.columns.names() if c.startswith(f"{j.name}.") and c.endswith(".state")]
                             for joins in self.plane.joins.values() for j in joins]

    def scorer(self, architecture: str, precision: str) -> Callable[[np.ndarray], np.ndarray]:
        """P(good) of a graph's other model (trained once per run from the scenario's training seed)."""
        key = (architecture, precision)
        if key not in self._scorers:
            from simulator.ml.model import ModelConfig, quantize, score, train_model

            cfg = ModelConfig(decision_threshold=self.sc.model.decision_threshold, architecture=architecture)
            model = quantize(train_model(self.sc.model.training_seed, self.sc.population, cfg), precision)
            self._scorers[key] = lambda X, m=model: score(m, X)
        return self._scorers[key]

    @property
    def pool(self):
        """The model pool the fairness and retraining loops deploy to (None without a model)."""
        return self.model.pool if self.model is not None else None

    def deploy_new_version(self, model, version: str, via_canary: bool) -> None:
        self.model.deploy_new_version(model, version, via_canary)

    def _model_at_fault(self, w):
        return self.model

    def waiting_for_inference(self, first: int, k: int) -> np.ndarray:
        """Which of requests ``first .. first + k - 1`` are in flight and have not started inference."""
        rows = slice(first, first + k)
        return np.isnan(self.columns["inf_start_s"][rows]) & (self.columns["outcome"][rows] == IN_FLIGHT)

    def _operator_actions(self):
        """Runbook steps on the breaker at their scheduled times (as on the event path)."""
        env = self.env
        for action in sorted(self.sc.external_api.breaker.operator_actions, key=lambda a: a.at_s):
            yield env.timeout(max(0.0, action.at_s - env.now))
            self.api.operator_action(action.action, action.name, env.now)

    # ------------------------------------------------------------------ outcomes
    def _complete(self, rids: np.ndarray, times: np.ndarray) -> None:
        c = self.columns
        c["end_s"][rids] = times
        c["outcome"][rids] = np.where(c["fallback"][rids] != 0, DEGRADED, OK)

    def _fail(self, rids: np.ndarray, times: np.ndarray, reason) -> None:
        c = self.columns
        c["end_s"][rids] = times
        c["outcome"][rids] = FAILED
        c["reason"][rids] = reason

    # ------------------------------------------------------------------ arrivals
    def _new_requests(self, first: int, times: np.ndarray, chunk: dict[str, np.ndarray]) -> None:
        rows = self.columns.extend(len(times))
        c = self.columns
        c["arrival_s"][rows] = times
        for name in CHUNK_INTS + CHUNK_FLOATS:
            c[name][rows] = chunk[name]
        if self.retries:
            r = self.retry_columns.extend(len(times) * self.retries)
            for name in ("retry_lat_s", "retry_err_u", "jitter_u"):
                self.retry_columns[name][r] = chunk[name]
        self.plane.new_requests(rows, len(times))
        self.ingestion.push_chunk(rows, times, chunk)

    def _release_batch(self, first: int, release_s: np.ndarray, now: float) -> None:
        self.ingestion.release_batch(first, release_s, now)

    # ------------------------------------------------------------------ run
    def _advance(self, t_end: float) -> None:
        self.plane.advance(t_end)
        if self.flagged_review is not None:
            self.flagged_review.advance(t_end)

    def run(self) -> Trace:
        wall0 = time.perf_counter()
        sc, env = self.sc, self.env
        self._start_static(env)
        for f in self.scenario.faults.components:  # outages of a topology's components, told like other faults
            if f.start_s < sc.duration_s:
                self.events.append((f.start_s, "fault_started", f.component, f"{f.name} (component outage)"))
                if f.start_s + f.duration_s <= sc.duration_s:
                    self.events.append((f.start_s + f.duration_s, "fault_ended", f.component, f.name))
        if self.sink is not None:
            self.sink.start(self.events)
        env.process(self._arrivals())
        if sc.ingestion.mode == "batch":
            env.process(self._batch_jobs())
        self.plane.start()
        if self.api is not None and self.api.breaker is not None and sc.external_api.breaker.operator_actions:
            env.process(self._operator_actions())
        if self.gov is not None:
            self.gov.start()
        until = sc.duration_s
        queue = env._queue
        advanced = -math.inf
        while True:
            if queue and queue[0][0] < until:
                t = queue[0][0]
                if t > advanced:  # the data plane first catches up with the next control event
                    self._advance(t)
                    advanced = t
                    if self.columns.n - self._checked >= self.block:
                        self._stream(t)
                    continue
                _, _, _, event = heappop(queue)
                env._now = t
                callbacks = event.callbacks
                event.callbacks = None
                for callback in callbacks:
                    callback(event)
                if not event._ok and not hasattr(event, "_defused"):  # a process failed: as run_until does
                    exc = type(event._value)(*event._value.args)
                    exc.__cause__ = event._value
                    raise exc
            elif advanced < until:
                self._advance(until)
                advanced = until
            else:
                break
        env._now = until
        if self.flagged_review is not None:
            self.flagged_review.finish()
        if self.progress is not None:
            self.progress(1.0)
        for name in self._draw_names():  # free the draws' memory before the report is built
            self.columns.drop(name)
        self.retry_columns = None
        if self.sink is not None:  # the rest: still in flight at the end, or finished in the last block
            self._emit(self.columns.n, last=True)
        return self._trace(time.perf_counter() - wall0)

    # ------------------------------------------------------------------ summary-only path
    def _finished(self, lo: int, hi: int) -> np.ndarray:
        """Which rows of ``lo .. hi - 1`` nothing will write again: answered or failed, and at every
        fan-out either no branch called or every branch reported."""
        c = self.columns
        done = c["outcome"][lo:hi] != IN_FLIGHT
        for states in self._join_states:
            pending = sum((c[s][lo:hi] == 0).astype(np.int8) for s in states)
            done &= (pending == 0) | (pending == len(states))
        return done

    def _stream(self, now: float) -> None:
        """Reduce the finished rows after those already reduced, in whole blocks, as far as the first
        row still in flight (scanned a block at a time from where the last scan stopped)."""
        c = self.columns
        self._checked = c.n
        p = self._scan
        while p < c.n:
            hi = min(c.n, p + self.block)
            done = self._finished(p, hi)
            if not done.all():
                p += int(np.argmin(done))
                break
            p = hi
        self._scan = p
        if self.sink is None:  # a full run: only the draws of finished requests are done with
            self.columns.release_before(p, self._draw_names())
            if self.retries:
                self.retry_columns.release_before(p * self.retries)
            return
        k = (p - self._reduced) // self.block * self.block
        if k:
            self._emit(self._reduced + k)
        if self.retain_s:
            first = c.released
            keep = int(np.searchsorted(c["arrival_s"][first:c.n], now - self.retain_s)) + first
            self._release(min(keep, self._reduced))
        else:
            self._release(self._reduced)

    def _draw_names(self) -> list[str]:
        """The per-request random draws' columns (read only until the request has finished)."""
        if self._draws is None:
            self._draws = [n for n in self.columns.names()
                           if n in DRAW_COLUMNS or n.endswith(("_u", ".lat_s", ".svc_s"))]
        return self._draws

    def _emit(self, hi: int, last: bool = False) -> None:
        lo = self._reduced
        if hi > lo or last:
            if self._names is None:
                self._names = self._trace_columns()
            self.sink.add({name: self.columns[name][lo:hi] for name in self._names})
            self._reduced = hi

    def _release(self, row: int) -> None:
        self.columns.release_before(row)
        if self.retries:
            self.retry_columns.release_before(row * self.retries)

    def _trace_columns(self) -> list[str]:
        if self.scenario.topology is None:
            return list(TRACE_COLUMNS)
        extra = [n for n in trace_column_names(self.scenario) if n in self.columns and n not in TRACE_COLUMNS]
        return [*TRACE_COLUMNS, *extra]

    def _trace(self, wall_s: float) -> Trace:
        sc, m = self.sc, self.model
        capacity = m.capacity if m is not None else {k: [(0.0, 0)] for k in (
            "inference", "replicas", "replicas_total", "canary_replicas")}
        api = self.api
        trace = Trace(
            n=self.n,
            columns=self.columns.trimmed(self._trace_columns()),
            events=[e for e in self.events if e[0] <= sc.duration_s],
            capacity=capacity,
            breaker_states=self.breaker_states,
            canary_weights=m.canary_weights if m is not None else [(0.0, 0.0)],
            component_capacity={cid: s.capacity for cid, s in self.plane.models.items()}
            | {cid: {"inference": s.headcount} for cid, s in self.plane.reviews.items()},
            cold_spans=m.elastic.cold_spans if m is not None and m.elastic else [],
            gov=self.gov,
            decisions=self.decisions,
            audit=self.audit,
            counters={
                "breaker_rejected_calls": api.not_permitted_calls if api is not None else 0,
                "canary_outcome": m.canary.outcome if m is not None and m.canary else "none",
                "canary_decided_at_s": m.canary.decided_at_s if m is not None and m.canary else None,
                "canary_started_s": m.canary.started_at_s if m is not None and m.canary else None,
                "canary_analyses": m.canary.analyses if m is not None and m.canary else 0,
                "served_version": m.served_version if m is not None else sc.model.version,
            },
        )
        trace.wall_s = wall_s
        return trace


def warm_up() -> None:
    """Load the compiled kernels (from numba's disk cache) with a few simulated seconds.

    The first call of each kernel in a process loads its machine code; worker pools call this
    once per process so that a replication's timing never includes it.
    """
    from simulator.scenario.config import parse_scenario

    breaker = {"enabled": True, "minimum_number_of_calls": 5, "sliding_window_size": 10}
    for extra in ({"ingestion": {"mode": "stream"}, "external_api": {"error_rate": 0.3, "breaker": breaker,
                                                                     "fallback": "cached"}},
                  {"ingestion": {"mode": "direct"}, "feature_store": {"hit_ratio": 0.5},
                   "external_api": {"error_rate": 0.3, "retry": {"enabled": True}, "fallback": "cached"},
                   "inference": {"queue_limit": 2, "timeout_ms": 50}}):
        KernelSimulation(parse_scenario({"duration_s": 5, "traffic": {"rate_per_s": 50}, **extra}), 1).run()
