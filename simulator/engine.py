"""The simulation engine: Scenario + seed -> RunResult.

How a request moves (each stage can be switched off):

1. **arrival** (open loop, generated in chunks of a few hundred);
2. **ingestion**: ``direct`` (no stage), ``stream`` (a Kafka-like topic: each partition
   belongs to exactly one consumer, each consumer is a FIFO single server) or ``batch``
   (requests wait for the next job trigger, then flow at the job's throughput);
3. **feature store**: an online lookup (a fixed-latency call, no contention); a miss, or
   ``mode: compute``, takes a connection from the source-database pool;
4. **external API**: a call with a latency distribution and a client timeout;
5. **inference**: a pool of replicas x concurrency slots behind a FIFO queue with an optional
   queue limit and request deadline.

Speed: only contended stations (DB pool, inference pool, batch job) create SimPy events.
A stream consumer is a FIFO single server fed by exogenous arrivals, so its departure
time follows from Lindley's recursion when the message is produced; uncontended delays
(lookups, API calls) are added arithmetically. A request with a feature-store hit thus
costs two events: entering the inference pool and leaving it.
"""
from __future__ import annotations

import bisect
from array import array
import math
import time
from typing import Callable

import numpy as np
import simpy

from simulator.config import Scenario, check_size
from simulator.pool import NORMAL, Hop, Pool
from simulator.results import RunResult, Trace, build_result
from simulator.rng import RandomStreams, categorical, draw
from simulator.traffic import ArrivalSource

# outcome codes (requests.outcome)
OK, DEGRADED, FAILED, IN_FLIGHT = 0, 1, 2, 3
# failure reasons (requests.reason)
R_NONE, R_REJECTED, R_TIMEOUT, R_API = 0, 1, 2, 3

NAN = math.nan


class Simulation:
    """Builds the stations for one scenario and runs them on one SimPy environment."""

    def __init__(self, scenario: Scenario, seed: int, progress: Callable[[float], None] | None = None):
        self.sc = scenario
        self.seed = int(seed)
        self.progress = progress
        self.env = simpy.Environment()
        self.rng = RandomStreams(self.seed)
        self.events: list[tuple[float, str, str, str]] = []
        self.n = 0
        self._make_columns()
        self._build_stations()

    # ------------------------------------------------------------------ setup
    def _make_columns(self) -> None:
        """Columnar per-request records: one typed array per column (8 bytes a value), extended per chunk."""
        self.arrival_s = array("d")
        self.segment = array("l")
        self.region = array("l")
        self.ing_wait_s = array("d")
        self.ing_svc_s = array("d")
        self.fs_hit = array("l")
        self.fs_lookup_s = array("d")
        self.db_enter_s = array("d")
        self.db_start_s = array("d")
        self.db_end_s = array("d")
        self.db_svc_s = array("d")
        self.api_s = array("d")
        self.api_lat_s = array("d")
        self.inf_enter_s = array("d")
        self.inf_start_s = array("d")
        self.inf_end_s = array("d")
        self.inf_svc_s = array("d")
        self.end_s = array("d")
        self.outcome = array("l")
        self.reason = array("l")
        self._nan_cols = [self.db_enter_s, self.db_start_s, self.db_end_s, self.inf_enter_s,
                          self.inf_start_s, self.inf_end_s, self.end_s]

    def _build_stations(self) -> None:
        sc, env = self.sc, self.env
        fs, inf = sc.feature_store, sc.inference
        self.db = None
        if fs.mode != "off":
            self.db = Pool(env, fs.db_connections, 1, self.db_svc_s, self.db_enter_s, self.db_start_s,
                           self.db_end_s, on_done=self._after_db, on_fail=self._fail)
        self.pool = None
        if inf.enabled:
            self.pool = Pool(env, inf.replicas, inf.concurrency, self.inf_svc_s, self.inf_enter_s,
                             self.inf_start_s, self.inf_end_s, on_done=self._complete, on_fail=self._fail,
                             queue_limit=inf.queue_limit,
                             timeout_s=None if inf.timeout_ms is None else inf.timeout_ms / 1000.0,
                             reject_reason=R_REJECTED, timeout_reason=R_TIMEOUT)
        st = sc.ingestion.stream
        self.partition_owner = [p % st.consumers for p in range(st.partitions)]
        self.consumer_free_s = [0.0] * st.consumers
        self.batch_pending: list[int] = []

    # ------------------------------------------------------------------ outcomes
    def _complete(self, rid: int, t_s: float) -> None:
        self.end_s[rid] = t_s
        self.outcome[rid] = OK

    def _fail(self, rid: int, t_s: float, reason: int) -> None:
        self.end_s[rid] = t_s
        self.outcome[rid] = FAILED
        self.reason[rid] = reason

    # ------------------------------------------------------------------ arrivals
    def _arrivals(self):
        """Generate arrivals chunk by chunk and send each request into the pipeline."""
        sc, env = self.sc, self.env
        source = ArrivalSource(sc, self.rng.get("traffic.arrivals"))
        st = sc.ingestion.stream
        fs = sc.feature_store
        api = sc.external_api
        inf = sc.inference
        mode = sc.ingestion.mode
        g_seg, g_reg = self.rng.get("traffic.segment"), self.rng.get("traffic.region")
        g_proc, g_part = self.rng.get("ingestion.process"), self.rng.get("ingestion.partition")
        g_hit, g_look = self.rng.get("feature_store.hit"), self.rng.get("feature_store.lookup")
        g_db, g_api = self.rng.get("feature_store.db_query"), self.rng.get("external_api.latency")
        g_inf = self.rng.get("inference.service")
        wall0 = time.perf_counter()
        next_report = wall0 + 0.25
        while True:
            times = source.next_chunk()
            k = len(times)
            if k == 0:
                return
            first = self.n
            self.n += k
            # per-request variates for the whole chunk, each from its own named stream
            self.arrival_s.frombytes(times.astype(np.float64).tobytes())
            self.segment.frombytes(categorical(g_seg, sc.traffic.segments, k).astype(np.int64).tobytes())
            self.region.frombytes(categorical(g_reg, sc.traffic.regions, k).astype(np.int64).tobytes())
            proc = (draw(g_proc, st.process_dist, st.process_ms / 1000, st.process_cv, k).tolist()
                    if mode == "stream" else None)
            part = g_part.integers(0, st.partitions, k).tolist() if mode == "stream" else None
            hit_u = g_hit.random(k)
            lookup = draw(g_look, fs.lookup_dist, fs.lookup_ms / 1000, fs.lookup_cv, k)
            if fs.mode == "off":
                self.fs_hit.extend([-1] * k)
                self.fs_lookup_s.extend([0.0] * k)
            elif fs.mode == "compute":
                self.fs_hit.extend([0] * k)
                self.fs_lookup_s.extend([0.0] * k)
            else:
                self.fs_hit.frombytes((hit_u < fs.hit_ratio).astype(np.int64).tobytes())
                self.fs_lookup_s.frombytes(lookup.tobytes())
            self.db_svc_s.frombytes(draw(g_db, fs.db_query_dist, fs.db_query_ms / 1000, fs.db_query_cv, k).astype(np.float64).tobytes())
            self.api_lat_s.frombytes(draw(g_api, api.latency_dist, api.latency_ms / 1000, api.latency_cv, k).astype(np.float64).tobytes())
            self.inf_svc_s.frombytes(draw(g_inf, inf.service_dist, inf.service_ms / 1000, inf.service_cv, k).astype(np.float64).tobytes())
            zeros = [0.0] * k
            nans = [NAN] * k
            self.ing_wait_s.extend(zeros)
            self.ing_svc_s.extend(zeros)
            self.api_s.extend(zeros)
            for col in self._nan_cols:
                col.extend(nans)
            self.outcome.extend([IN_FLIGHT] * k)
            self.reason.extend([R_NONE] * k)

            if mode == "direct":
                after = self._after_ingestion
                for i, t in enumerate(times.tolist()):
                    after(first + i, t)
            elif mode == "stream":
                owner, free = self.partition_owner, self.consumer_free_s
                wait, svc = self.ing_wait_s, self.ing_svc_s
                after = self._after_ingestion
                for i, t in enumerate(times.tolist()):
                    rid = first + i
                    c = owner[part[i]]
                    start = free[c]
                    if start < t:
                        start = t
                    s = proc[i]
                    end = start + s
                    free[c] = end
                    wait[rid] = start - t
                    svc[rid] = s
                    after(rid, end)
            else:
                self.batch_pending.extend(range(first, first + k))

            if self.progress is not None:
                now_wall = time.perf_counter()
                if now_wall >= next_report:
                    next_report = now_wall + 0.25
                    self.progress(min(1.0, float(times[-1]) / sc.duration_s))
            delay = float(times[-1]) - env.now
            yield env.timeout(delay if delay > 0 else 0.0)

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
            hop.callbacks = [self.db.enter]
            hop._ok = True
            hop.rid = rid
            self.env.schedule(hop, NORMAL, t + self.fs_lookup_s[rid] - self.env._now)

    def _after_db(self, rid: int, now: float) -> None:
        self._after_features(rid, now)

    def _after_features(self, rid: int, t: float) -> None:
        """External API call (arithmetic: no connection limit), then the inference pool."""
        api = self.sc.external_api
        if api.enabled:
            lat = self.api_lat_s[rid]
            timeout = api.timeout_ms / 1000.0
            if lat > timeout:
                self.api_s[rid] = timeout
                self._fail(rid, t + timeout, R_API)
                return
            self.api_s[rid] = lat
            t += lat
        if self.pool is None:
            self._complete(rid, t)
            return
        hop = Hop()
        hop.callbacks = [self.pool.enter]
        hop._ok = True
        hop.rid = rid
        self.env.schedule(hop, NORMAL, t - self.env._now)

    def _batch_jobs(self):
        """Spark-style trigger: a job at each interval boundary, or right after an overrun."""
        sc, env = self.sc, self.env
        b = sc.ingestion.batch
        next_trigger = b.interval_s
        while next_trigger < sc.duration_s:
            yield env.timeout(next_trigger - env.now)
            now = env.now
            arr = self.arrival_s
            pending = self.batch_pending  # consecutive request ids, oldest first
            cut = bisect.bisect_right(arr, now, lo=pending[0], hi=self.n) if pending else 0
            take = pending[:max(0, cut - pending[0])] if pending else []
            if not take:
                next_trigger += b.interval_s
                continue
            del pending[:len(take)]
            job_end = now + b.startup_s + len(take) / b.throughput_per_s
            self.events.append((now, "batch_job_started", "ingestion", f"{len(take)} records"))
            self.events.append((job_end, "batch_job_finished", "ingestion", f"{len(take)} records"))
            for j, rid in enumerate(take):
                release = now + b.startup_s + (j + 1) / b.throughput_per_s
                self.ing_wait_s[rid] = now - arr[rid]
                self.ing_svc_s[rid] = release - now
                self._after_ingestion(rid, release)
            # next job: the next boundary, or at once when this one overran it
            boundary = (math.floor(now / b.interval_s) + 1) * b.interval_s
            next_trigger = max(boundary, job_end)

    # ------------------------------------------------------------------ run
    def run(self) -> RunResult:
        wall0 = time.perf_counter()
        sc, env = self.sc, self.env
        for sp in sc.traffic.spikes:
            self.events.append((sp.start_s, "spike_started", "traffic", f"{sp.name}: up to {sp.multiplier:g}x"))
            self.events.append((sp.start_s + 2 * sp.ramp_s + sp.duration_s, "spike_ended", "traffic", sp.name))
        env.process(self._arrivals())
        if sc.ingestion.mode == "batch":
            env.process(self._batch_jobs())
        env.run(until=sc.duration_s)
        if self.progress is not None:
            self.progress(1.0)
        trace = Trace(
            n=self.n,
            columns={
                "arrival_s": self.arrival_s, "segment": self.segment, "region": self.region,
                "ing_wait_s": self.ing_wait_s, "ing_svc_s": self.ing_svc_s,
                "fs_hit": self.fs_hit, "fs_lookup_s": self.fs_lookup_s,
                "db_enter_s": self.db_enter_s, "db_start_s": self.db_start_s, "db_end_s": self.db_end_s,
                "api_s": self.api_s,
                "inf_enter_s": self.inf_enter_s, "inf_start_s": self.inf_start_s, "inf_end_s": self.inf_end_s,
                "end_s": self.end_s, "outcome": self.outcome, "reason": self.reason,
            },
            events=[e for e in self.events if e[0] <= sc.duration_s],
        )
        return build_result(sc, self.seed, trace, wall_s=time.perf_counter() - wall0)


def run(scenario: Scenario, seed: int | None = None,
        progress: Callable[[float], None] | None = None) -> RunResult:
    """Simulate ``scenario`` once. Deterministic for a seed (default: the scenario's seed)."""
    check_size(scenario)
    return Simulation(scenario, scenario.seed if seed is None else seed, progress).run()
