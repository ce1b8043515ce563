"""The simulation engine: Scenario + seed -> RunResult.

How a request moves (each stage can be switched off):

1. **arrival** (open loop, generated in chunks of a few hundred);
2. **ingestion**: ``direct`` (no stage), ``stream`` (a Kafka-like topic: each message goes to
   a partition drawn uniformly at random (messages carry no key); partition p belongs to
   consumer p mod C of the group (round-robin assignment), and each consumer is a FIFO
   single server, so consumers owning more partitions get more messages) or ``batch``
   (requests wait for the next job trigger, then flow at the job's throughput);
3. **feature store**: an online lookup (a fixed-latency call, no contention); a miss, or
   ``mode: compute``, takes a connection from the source-database pool;
4. **external API**: see :mod:`simulator.engine.dependency` (faults, timeout, retries, breaker,
   fallbacks);
5. **inference**: a pool of replicas x concurrency slots behind a FIFO queue with an optional
   queue limit and request deadline; during a canary release a share of requests goes to
   the canary's own pool.

Canary releases: one Flagger analysis loop (``CanaryAnalysis``) ticks every
``canary.interval_s`` from the first release; a later release (a retrained model) is a new
revision of the same canary, detected at the next tick. A request's decision comes from the
model its replica runs when its inference starts: decisions are scored ahead of the clock,
and a model switch re-scores every request that has not started inference yet.

Speed: only contended stations (DB pool, inference pool, batch job) and stateful decision
points (the breaker) create SimPy events. A stream consumer is a FIFO single server fed by
exogenous arrivals, so its departure time follows from Lindley's recursion when the message
is produced; uncontended delays (lookups, API calls) are added arithmetically. A request
with a feature-store hit thus costs two events: entering the inference pool and leaving it.
"""
from __future__ import annotations

import math
import time
from array import array
from collections.abc import Callable
from heapq import heappush

import numpy as np
import simpy

from simulator.engine.control import ModelControl, PipelineControl, Release
from simulator.engine.decisions import Decisions
from simulator.engine.dependency import NOT_CALLED, ExternalApi
from simulator.engine.elastic import Elastic, initial_replicas
from simulator.engine.faults import Timeline, build_windows
from simulator.engine.governance import Governance
from simulator.engine.loop import run_until
from simulator.engine.pool import NORMAL, Hop, Pool, schedule_at
from simulator.engine.rng import RandomStreams
from simulator.engine.trace import Trace
from simulator.mechanisms.canary import CanaryAnalysis
from simulator.scenario.config import Scenario
from simulator.scenario.serving import service_factor

# outcome codes (requests.outcome)
OK, DEGRADED, FAILED, IN_FLIGHT = 0, 1, 2, 3
# failure reasons (requests.reason); names in results.REASONS
R_NONE, R_REJECTED, R_TIMEOUT, R_API, R_DB, R_CRASH, R_MODEL, R_OUTAGE = 0, 1, 2, 3, 4, 5, 6, 7
# which model served a request (requests.version)
V_NONE, V_PRIMARY, V_CANARY = 0, 1, 2

NAN = math.nan


def _f64(values: np.ndarray) -> bytes:
    return np.ascontiguousarray(values, dtype=np.float64).tobytes()


def _i64(values: np.ndarray) -> bytes:
    return np.ascontiguousarray(values, dtype=np.int64).tobytes()


class Simulation(PipelineControl, ModelControl):
    """Builds the stations for one scenario and runs them on one SimPy environment."""

    component = "inference"  # the model pool's name in events

    def __init__(self, scenario: Scenario, seed: int, progress: Callable[[float], None] | None = None):
        self.sc = scenario
        self.seed = int(seed)
        self.progress = progress
        self.env = simpy.Environment()
        self.rng = RandomStreams(self.seed)
        self.events: list[tuple[float, str, str, str]] = []
        self.capacity: dict[str, list[tuple[float, float]]] = {
            "inference": [], "replicas": [], "replicas_total": [], "canary_replicas": []}
        self.breaker_states: list[tuple[float, str]] = [(0.0, "CLOSED")]
        self.canary_weights: list[tuple[float, float]] = [(0.0, 0.0)]
        self.audit: list[tuple[float, str, str, str]] = []
        self.n = 0
        self._make_columns()
        windows = build_windows(scenario.faults, scenario.duration_s, self.rng.get("faults.flapping"))
        self.fault_windows = windows
        self.api_faults = Timeline([w for w in windows if w.target == "external_api"])
        self.db_faults = Timeline([w for w in windows if w.target == "feature_db"])
        self._build_stations()

    # ------------------------------------------------------------------ setup
    def _make_columns(self) -> None:
        """Columnar per-request records: one typed array per column (8 bytes a value)."""
        f64 = ("arrival_s", "ing_wait_s", "ing_svc_s", "fs_lookup_s", "db_enter_s", "db_start_s", "db_end_s",
               "db_svc_s", "api_s", "api_lat_s", "api_err_u", "api_start_s", "api_call_t0_s", "staleness_s",
               "inf_enter_s", "inf_start_s", "inf_end_s", "inf_svc_s", "end_s", "route_u", "model_err_u",
               "retry_lat_s", "retry_err_u", "jitter_u")
        i64 = ("segment", "region", "fs_hit", "api_status", "api_calls", "fallback", "outcome", "reason", "version",
               "approve", "approve_alt", "label", "ing_consumer")
        for name in f64:
            setattr(self, name, array("d"))
        for name in i64:
            setattr(self, name, array("q"))
        self._fill = [(getattr(self, n), NAN) for n in (
            "db_enter_s", "db_start_s", "db_end_s", "api_start_s", "api_call_t0_s", "staleness_s", "inf_enter_s",
            "inf_start_s", "inf_end_s", "end_s")]
        self._fill += [(getattr(self, n), 0.0) for n in ("ing_wait_s", "ing_svc_s", "api_s")]
        self._fill += [(self.api_status, NOT_CALLED), (self.api_calls, 0), (self.fallback, 0), (self.ing_consumer, -1),
                       (self.outcome, IN_FLIGHT), (self.reason, R_NONE), (self.version, V_NONE)]

    def _build_stations(self) -> None:
        sc, env = self.sc, self.env
        fs, inf = sc.feature_store, sc.inference
        self.db = None
        if fs.mode != "off":
            self.db = Pool(env, fs.db_connections, 1, self.db_svc_s, self.db_enter_s, self.db_start_s,
                           self.db_end_s, on_done=self._after_db, on_fail=self._fail)
        self.pool = None
        self.elastic = None
        self.canary_pool = None
        self.canary = None
        self.model_error_rate = 0.0
        timeout_s = None if inf.timeout_ms is None else inf.timeout_ms / 1000.0
        if inf.enabled:
            self.pool = Pool(env, 0, inf.concurrency, self.inf_svc_s, self.inf_enter_s,
                             self.inf_start_s, self.inf_end_s, on_done=self._complete_primary, on_fail=self._fail,
                             queue_limit=inf.queue_limit, timeout_s=timeout_s,
                             reject_reason=R_REJECTED, timeout_reason=R_TIMEOUT, crash_reason=R_CRASH,
                             on_unit_change=self._record_capacity)
            # the precision's speed factor scales every replica's work (same draws, so CRN holds)
            self.pool.speed_factor = service_factor(sc.model, inf.precision)
            for _ in range(initial_replicas(sc)):
                self.pool.add_unit()
            self.elastic = Elastic(self) if sc.autoscaler.enabled else None
            if sc.canary.enabled or (sc.retraining.enabled and sc.retraining.deploy == "canary"):
                self.canary = CanaryAnalysis(sc.canary)
                self.canary_pool = self._new_canary_pool()
        self._record_capacity(0.0)
        self.canary_stats: list[tuple[float, bool]] = []  # (latency_s, success) of the canary this interval
        self.canary_release: Release | None = None       # the canary deployment's current spec
        self.promoting_release: Release | None = None    # the spec copied to the primary
        self.canary_error_rate = 0.0
        self._canary_loop_running = False
        self.served_version = sc.model.version
        self.decisions = Decisions(self) if inf.enabled else None
        self.gov = Governance(self) if inf.enabled and (sc.fairness.enabled or sc.retraining.enabled) else None
        self.api = None
        if sc.external_api.enabled:
            self.api = ExternalApi(self, self.api_faults, proceed=self._to_inference, fail=self._fail,
                                   fail_reason=R_API)
        self._pool_enter = self.pool.enter if self.pool is not None else None
        self._heap, self._eid = self.env._queue, self.env._eid
        api = self.api
        self._api_fast = bool(api is not None and not api.event_driven and not api.faults.active
                              and api.retry is None and not api.cfg.error_rate)
        self._api_timeout_s = sc.external_api.timeout_ms / 1000.0
        self._answers = api.answers if api is not None else None  # successes, for the cached fallback
        st = sc.ingestion.stream
        self.partition_owner = [p % st.consumers for p in range(st.partitions)]
        self.consumer_free_s = [0.0] * st.consumers
        self.batch_pending: list[int] = []

    def _new_canary_pool(self) -> Pool:
        inf = self.sc.inference
        return Pool(self.env, 0, inf.concurrency, self.inf_svc_s, self.inf_enter_s, self.inf_start_s, self.inf_end_s,
                    on_done=self._complete_canary, on_fail=self._fail, queue_limit=inf.queue_limit,
                    timeout_s=None if inf.timeout_ms is None else inf.timeout_ms / 1000.0,
                    reject_reason=R_REJECTED, timeout_reason=R_TIMEOUT, crash_reason=R_CRASH,
                    on_unit_change=self._record_capacity)

    # ------------------------------------------------------------------ outcomes
    def _complete(self, rid: int, t_s: float) -> None:
        self.end_s[rid] = t_s
        self.outcome[rid] = DEGRADED if self.fallback[rid] else OK
        gov = self.gov
        if gov is not None and gov.flag_group >= 0:
            gov.maybe_review(rid, self.approve_alt[rid] if self.version[rid] == V_CANARY else self.approve[rid])

    def _complete_primary(self, rid: int, now: float) -> None:
        self.version[rid] = V_PRIMARY
        if self.model_error_rate and self.model_err_u[rid] < self.model_error_rate:
            self._fail(rid, now, R_MODEL)
            return
        # _complete, inlined: this runs once per request
        self.end_s[rid] = now
        self.outcome[rid] = DEGRADED if self.fallback[rid] else OK
        gov = self.gov
        if gov is not None and gov.flag_group >= 0:
            gov.maybe_review(rid, self.approve[rid])

    def _complete_canary(self, rid: int, now: float) -> None:
        self.version[rid] = V_CANARY
        ok = self.model_err_u[rid] >= self.canary_error_rate
        self.canary_stats.append((now - self.inf_enter_s[rid], ok))
        if ok:
            self._complete(rid, now)
        else:
            self._fail(rid, now, R_MODEL)

    def _fail(self, rid: int, t_s: float, reason: int) -> None:
        self.end_s[rid] = t_s
        self.outcome[rid] = FAILED
        self.reason[rid] = reason

    def waiting_for_inference(self, first: int, k: int) -> np.ndarray:
        """Which of requests ``first .. first + k - 1`` are in flight and have not started inference."""
        end = first + k
        started = np.frombuffer(self.inf_start_s, dtype=np.float64, count=end)[first:]
        outcome = np.frombuffer(self.outcome, dtype=np.int64, count=end)[first:]
        return np.isnan(started) & (outcome == IN_FLIGHT)

    # ------------------------------------------------------------------ arrivals
    def _new_requests(self, first: int, times: np.ndarray, chunk: dict[str, np.ndarray]) -> None:
        """Store a chunk's columns and send each request into the pipeline (event by event)."""
        k = len(times)
        mode = self.sc.ingestion.mode
        self.arrival_s.frombytes(_f64(times))
        for name in ("segment", "region", "fs_hit", "approve", "approve_alt", "label"):
            getattr(self, name).frombytes(_i64(chunk[name]))
        for name in ("fs_lookup_s", "db_svc_s", "api_lat_s", "api_err_u", "inf_svc_s", "route_u", "model_err_u",
                     "retry_lat_s", "retry_err_u", "jitter_u"):
            if name in chunk:
                getattr(self, name).frombytes(_f64(chunk[name]))
        for col, value in self._fill:
            col.frombytes((np.full(k, value, dtype=np.float64 if col.typecode == "d" else np.int64)).tobytes())
        if mode == "direct":
            after = self._after_ingestion
            for i, t in enumerate(times.tolist()):
                after(first + i, t)
        elif mode == "stream":
            proc = chunk["proc"].tolist()
            part = chunk["part"].tolist()
            owner, free = self.partition_owner, self.consumer_free_s
            wait, svc, consumer = self.ing_wait_s, self.ing_svc_s, self.ing_consumer
            after = self._after_ingestion
            for i, t in enumerate(times.tolist()):
                rid = first + i
                c = owner[part[i]]
                start = free[c]
                if start < t:  # a comparison, not max(): this line runs once per request
                    start = t
                s = proc[i]
                end = start + s
                free[c] = end
                wait[rid] = start - t
                svc[rid] = s
                consumer[rid] = c
                after(rid, end)
        else:
            self.batch_pending.extend(range(first, first + k))

    # ------------------------------------------------------------------ stages
    def _after_ingestion(self, rid: int, t: float) -> None:
        """Feature lookup: a hit adds its latency; a miss goes to the DB pool."""
        hit = self.fs_hit[rid]
        if hit == 1:
            self._after_features(rid, t + self.fs_lookup_s[rid])
        elif hit == -1:
            self._after_features(rid, t)
        else:
            hop = Hop()
            hop.callbacks = [self._db_enter]
            hop._ok = True
            hop.rid = rid
            schedule_at(self.env, hop, t + self.fs_lookup_s[rid])

    def _db_enter(self, hop: Hop) -> None:
        """A feature computation needs a DB connection; during an outage it fails at once."""
        if self.db_faults.active:
            w = self.db_faults.at(self.env._now)
            if w is not None and w.kind == "outage":
                rid = hop.rid
                now = self.env._now
                self.db_enter_s[rid] = self.db_start_s[rid] = self.db_end_s[rid] = now
                self._fail(rid, now, R_DB)
                return
        self.db.enter_rid(hop.rid)

    def _after_db(self, rid: int, now: float) -> None:
        self._after_features(rid, now)

    def _after_features(self, rid: int, t: float) -> None:
        """External API call (arithmetic unless a breaker needs events), then the model."""
        api = self.api
        if api is None:
            self._to_inference(rid, t)
        elif self._api_fast:
            # fast path: a healthy dependency with no resilience features
            lat = self.api_lat_s[rid]
            self.api_start_s[rid] = t
            self.api_calls[rid] = 1
            if lat > self._api_timeout_s:
                self.api_status[rid] = 2
                self.api_s[rid] = self._api_timeout_s
                api._fallback(rid, t + self._api_timeout_s)
                return
            self.api_status[rid] = 0
            self.api_s[rid] = lat
            t += lat
            if self._answers is not None:
                self._answers.record(self.region[rid], t, self.env._now)
            self._to_inference(rid, t)
        else:
            api.start(rid, t)

    def _to_inference(self, rid: int, t: float) -> None:
        """Route to the primary or (during a canary release) the canary pool at time ``t``."""
        if self.pool is None:
            self._complete(rid, t)
            return
        hop = Hop()
        hop._ok = True
        hop.rid = rid
        hop.callbacks = [self._route if self.canary_pool is not None else self._pool_enter]
        now = self.env._now
        heappush(self._heap, (t if t > now else now, NORMAL, next(self._eid), hop))  # not max(): per request

    def _route(self, hop: Hop) -> None:
        rid = hop.rid
        if self.route_u[rid] * 100.0 < self.canary.weight_pct and self.canary_pool.ready_units:
            self.canary_pool.enter_rid(rid)
        else:
            self.pool.enter_rid(rid)

    def _release_batch(self, first: int, release_s: np.ndarray, now: float) -> None:
        """Records ``first, first + 1, ...`` leave the job started at ``now`` at ``release_s``."""
        arr = self.arrival_s
        for j, release in enumerate(release_s.tolist()):
            rid = first + j
            self.ing_wait_s[rid] = now - arr[rid]
            self.ing_svc_s[rid] = release - now
            self._after_ingestion(rid, release)

    def _model_at_fault(self, w):
        """The model pool a replica fault hits (None: no model stage)."""
        return self if self.pool is not None else None

    # ------------------------------------------------------------------ breaker operator
    def _operator_actions(self):
        """Runbook steps on the breaker at their scheduled times."""
        env = self.env
        for action in sorted(self.sc.external_api.breaker.operator_actions, key=lambda a: a.at_s):
            yield env.timeout(max(0.0, action.at_s - env.now))
            self.api.operator_action(action.action, action.name, env.now)

    # ------------------------------------------------------------------ run
    def start(self) -> None:
        """Register the run's processes (arrivals, jobs, faults, controllers) on the environment."""
        sc, env = self.sc, self.env
        self._start_static(env)
        env.process(self._arrivals())
        if sc.ingestion.mode == "batch":
            env.process(self._batch_jobs())
        if self.canary is not None and sc.canary.enabled:
            env.process(self._configured_release())
        if self.api is not None and self.api.breaker is not None and sc.external_api.breaker.operator_actions:
            env.process(self._operator_actions())
        if self.elastic is not None:
            self.elastic.start()
        if self.gov is not None:
            self.gov.start()

    def run(self) -> Trace:
        wall0 = time.perf_counter()
        sc, env = self.sc, self.env
        self.start()
        run_until(env, sc.duration_s)
        if self.progress is not None:
            self.progress(1.0)
        trace = Trace(
            n=self.n,
            columns={name: getattr(self, name) for name in (
                "arrival_s", "segment", "region", "ing_wait_s", "ing_svc_s", "fs_hit", "fs_lookup_s",
                "db_enter_s", "db_start_s", "db_end_s", "api_s", "api_start_s", "api_status", "api_calls",
                "fallback", "staleness_s", "inf_enter_s", "inf_start_s", "inf_end_s", "end_s", "outcome",
                "reason", "version", "approve", "approve_alt", "label", "ing_consumer")},
            events=[e for e in self.events if e[0] <= sc.duration_s],
            capacity=self.capacity,
            breaker_states=self.breaker_states,
            canary_weights=self.canary_weights,
            cold_spans=self.elastic.cold_spans if self.elastic else [],
            gov=self.gov,
            decisions=self.decisions,
            audit=self.audit,
            counters={
                "breaker_rejected_calls": self.api.breaker.not_permitted_calls if self.api and self.api.breaker else 0,
                "canary_outcome": self.canary.outcome if self.canary else "none",
                "canary_decided_at_s": self.canary.decided_at_s if self.canary else None,
                "canary_started_s": self.canary.started_at_s if self.canary else None,
                "canary_analyses": self.canary.analyses if self.canary else 0,
                "served_version": self.served_version,
            },
        )
        trace.wall_s = time.perf_counter() - wall0
        return trace

