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
from simulator.engine.decisions import Decisions
from simulator.engine.dependency import NOT_CALLED
from simulator.engine.faults import Timeline, build_windows
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
    R_REJECTED,
    R_TIMEOUT,
    V_CANARY,
    V_NONE,
    V_PRIMARY,
)
from simulator.engine.stations.dependency import DependencyStation
from simulator.engine.stations.features import FeatureStoreStation
from simulator.engine.stations.ingestion import IngestionStation
from simulator.engine.stations.model import ModelService, Outcomes
from simulator.engine.trace import Trace
from simulator.scenario.config import Scenario
from simulator.scenario.graph import build_graph
from simulator.scenario.rates import expected_count

NAN = math.nan
F8, I8 = np.float64, np.int64

# the chain's columns: name -> (dtype, value before the request reaches the stage)
CHAIN_COLUMNS = {
    "arrival_s": (F8, NAN), "segment": (I8, 0), "region": (I8, 0),
    "ing_wait_s": (F8, 0.0), "ing_svc_s": (F8, 0.0),
    "fs_hit": (I8, 0), "fs_lookup_s": (F8, 0.0),
    "db_enter_s": (F8, NAN), "db_start_s": (F8, NAN), "db_end_s": (F8, NAN), "db_svc_s": (F8, 0.0),
    "api_s": (F8, 0.0), "api_lat_s": (F8, 0.0), "api_err_u": (F8, 0.0), "api_start_s": (F8, NAN),
    "api_call_t0_s": (F8, NAN), "staleness_s": (F8, NAN), "api_status": (I8, NOT_CALLED), "api_calls": (I8, 0),
    "fallback": (I8, 0),
    "inf_enter_s": (F8, NAN), "inf_start_s": (F8, NAN), "inf_end_s": (F8, NAN), "inf_svc_s": (F8, 0.0),
    "route_u": (F8, 0.0), "model_err_u": (F8, 0.0),
    "end_s": (F8, NAN), "outcome": (I8, IN_FLIGHT), "reason": (I8, R_NONE), "version": (I8, V_NONE),
    "approve": (I8, 0), "approve_alt": (I8, 0), "label": (I8, 0),
}
TRACE_COLUMNS = ("arrival_s", "segment", "region", "ing_wait_s", "ing_svc_s", "fs_hit", "fs_lookup_s", "db_enter_s",
                 "db_start_s", "db_end_s", "api_s", "api_start_s", "api_status", "api_calls", "fallback",
                 "staleness_s", "inf_enter_s", "inf_start_s", "inf_end_s", "end_s", "outcome", "reason", "version",
                 "approve", "approve_alt", "label")
CHUNK_FLOATS = ("fs_lookup_s", "db_svc_s", "api_lat_s", "api_err_u", "inf_svc_s", "route_u", "model_err_u")
CHUNK_INTS = ("segment", "region", "fs_hit", "approve", "approve_alt", "label")
API_NAMES = {"start": "api_start_s", "dur": "api_s", "status": "api_status", "calls": "api_calls",
             "fallback": "fallback", "staleness": "staleness_s", "lat": "api_lat_s", "err": "api_err_u",
             "retry_lat": "retry_lat_s", "retry_err": "retry_err_u", "jitter": "jitter_u", "call_t0": "api_call_t0_s"}
MODEL_NAMES = {"service": "inf_svc_s", "enter": "inf_enter_s", "start": "inf_start_s", "end": "inf_end_s",
               "route_u": "route_u", "err_u": "model_err_u", "version": "version", "approve": "approve",
               "approve_alt": "approve_alt"}
MODEL_CODES = Outcomes(rejected=R_REJECTED, timeout=R_TIMEOUT, crash=R_CRASH, model_error=R_MODEL,
                       v_primary=V_PRIMARY, v_canary=V_CANARY)


def _column(name: str):
    return property(lambda self: self.columns[name])


class KernelSimulation(PipelineControl):
    """Builds the stations of one scenario from its graph and runs them between control events."""

    # the columns the shared control code reads by attribute (arrival chunks, batch, governance)
    arrival_s, region, label, end_s, outcome, version, approve, approve_alt = (
        _column(n) for n in ("arrival_s", "region", "label", "end_s", "outcome", "version", "approve",
                             "approve_alt"))

    def __init__(self, scenario: Scenario, seed: int, progress: Callable[[float], None] | None = None):
        self.sc = scenario
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
        api = scenario.external_api
        self.retries = api.retry.max_attempts - 1 if api.retry.enabled else 0
        self.retry_columns = Columns()
        for name in ("retry_lat_s", "retry_err_u", "jitter_u"):
            self.retry_columns.add(name, F8, 0.0)
        windows = build_windows(scenario.faults, scenario.duration_s, self.rng.get("faults.flapping"))
        self.fault_windows = windows
        self.graph = build_graph(scenario)
        self._build_chain(windows)

    # ------------------------------------------------------------------ setup
    def _build_chain(self, windows) -> None:
        sc, g = self.sc, self.graph
        kinds = {node: g.nodes[node]["kind"] for node in g}
        self.decisions = Decisions(self) if sc.inference.enabled else None
        self.model = None
        emit: Callable = self._complete
        if "inference" in kinds:
            self.model = ModelService(self, sc, "inference", MODEL_NAMES, MODEL_CODES, self._complete, self._fail,
                                      self.decisions)
            emit = self.model.push
        self.api = None
        if "external_api" in kinds:
            cols = _Both(self.columns, self.retry_columns)
            self.api = DependencyStation(sc.external_api, cols, API_NAMES,
                                         Timeline([w for w in windows if w.target == "external_api"]), emit,
                                         self._fail, R_API, len(sc.traffic.regions), self.events,
                                         self.breaker_states, "external_api")
            emit = self.api.push
        self.features = None
        self.db = None
        if "feature_store" in kinds:
            self.features = FeatureStoreStation(self.env, sc, self.columns, emit, self._fail, R_DB,
                                                Timeline([w for w in windows if w.target == "feature_db"]))
            self.db = self.features.db
            emit = self.features.push
        self.ingestion = IngestionStation(sc, self.columns, emit)
        self.batch_pending = self.ingestion.batch_pending
        self.gov = Governance(self) if sc.inference.enabled and (sc.fairness.enabled or sc.retraining.enabled) else None
        if self.model is not None:
            self.model.gov = self.gov
        self.stations = [s for s in (self.features, self.api, self.model) if s is not None]

    @property
    def pool(self):
        """The model pool the fairness and retraining loops deploy to (None without a model)."""
        return self.model.pool if self.model is not None else None

    def deploy_new_version(self, model, version: str, via_canary: bool) -> None:
        self.model.deploy_new_version(model, version, via_canary)

    def _model_at_fault(self, w):
        return self.model

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
        self.ingestion.push_chunk(rows, times, chunk)

    def _release_batch(self, first: int, release_s: np.ndarray, now: float) -> None:
        self.ingestion.release_batch(first, release_s, now)

    # ------------------------------------------------------------------ run
    def _advance(self, t_end: float) -> None:
        for station in self.stations:
            station.advance(t_end)
        if self.model is not None:
            self.model.apply_stops()

    def run(self) -> Trace:
        wall0 = time.perf_counter()
        sc, env = self.sc, self.env
        self._start_static(env)
        env.process(self._arrivals())
        if sc.ingestion.mode == "batch":
            env.process(self._batch_jobs())
        if self.model is not None:
            self.model.start()
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
        if self.progress is not None:
            self.progress(1.0)
        return self._trace(time.perf_counter() - wall0)

    def _trace(self, wall_s: float) -> Trace:
        sc, m = self.sc, self.model
        capacity = m.capacity if m is not None else {k: [(0.0, 0)] for k in (
            "inference", "replicas", "replicas_total", "canary_replicas")}
        api = self.api
        trace = Trace(
            n=self.n,
            columns=self.columns.trimmed(TRACE_COLUMNS),
            events=[e for e in self.events if e[0] <= sc.duration_s],
            capacity=capacity,
            breaker_states=self.breaker_states,
            canary_weights=m.canary_weights if m is not None else [(0.0, 0.0)],
            cold_spans=m.elastic.cold_spans if m is not None and m.elastic else [],
            gov=self.gov,
            decisions=self.decisions,
            audit=self.audit,
            counters={
                "breaker_rejected_calls": api.breaker.not_permitted_calls if api and api.breaker else 0,
                "canary_outcome": m.canary.phase if m is not None and m.canary else "none",
                "canary_decided_at_s": m.canary.decided_at_s if m is not None and m.canary else None,
                "canary_started_s": m.canary_cfg.start_s if m is not None else sc.canary.start_s,
                "served_version": m.served_version if m is not None else sc.model.version,
            },
        )
        trace.wall_s = wall_s
        return trace


class _Both:
    """Per-request columns and per-retry columns behind one lookup by name."""

    def __init__(self, columns: Columns, retry_columns: Columns):
        self.columns, self.retry_columns = columns, retry_columns

    def __getitem__(self, name: str) -> np.ndarray:
        return self.retry_columns[name] if name in self.retry_columns else self.columns[name]
