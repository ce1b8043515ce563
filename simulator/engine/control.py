"""Control loops of one model pool, shared by both engines: capacity record, replica faults, canary, releases.

The event path's :class:`~simulator.engine.simulation.Simulation` is one model pool with these
loops; the kernel engine has one per model component. A class using the mixin provides ``env``,
``sc`` (with the model's ``inference``, ``canary`` and ``model`` sections), ``events``, ``audit``,
``gov``, ``capacity``, ``canary_weights``, ``pool``, ``canary_pool``, ``canary`` (the analysis),
``canary_stats``, ``canary_release``, ``promoting_release``, ``canary_error_rate``,
``_canary_loop_running``, ``decisions``, ``model_error_rate``, ``served_version``, ``component``; the pools are :class:`~simulator.engine.pool.Pool` or the kernel engine's
:class:`~simulator.engine.stations.pool.PoolStation`, which share one interface.
"""
from __future__ import annotations

import bisect
import math
import time
from typing import NamedTuple

import numpy as np

from simulator.engine.draws import RequestDraws
from simulator.engine.pool import READY
from simulator.engine.traffic import ArrivalSource
from simulator.scenario.serving import service_factor


class PipelineControl:
    """Control processes of the pipeline itself: fault windows, batch triggers, the events known up front.

    A class using it provides ``env``, ``sc``, ``rng``, ``progress``, ``decisions``, ``events``,
    ``fault_windows``, ``db`` (the feature store's database pool or None), ``arrival_s``, ``n``,
    ``batch_pending`` (ids waiting for the next batch job, oldest first),
    ``_new_requests(first, times, chunk)`` (store a chunk's columns and send it on),
    ``_release_batch(first, release_s, now)`` and ``_model_at_fault(window)`` (the model pool a
    replica fault hits).
    """

    def _arrivals(self):
        """Generate arrivals chunk by chunk, with every per-request draw and decision, and hand them on."""
        sc, env = self.sc, self.env
        source = ArrivalSource(sc, self.rng.get("traffic.arrivals"))
        draws = RequestDraws(sc, self.rng)
        next_report = time.perf_counter() + 0.25
        # Requests are generated (and their decisions scored) at most one horizon ahead of the
        # clock: about 4,096 arrivals, and never more than ten minutes. Nothing depends on it but
        # speed and memory: model switches re-score the requests still waiting and a chunk
        # never spans the start of a drift.
        mean_rate = max(1e-9, source.expected_total / sc.duration_s)
        horizon_s = min(600.0, max(0.05, 4096.0 / mean_rate))
        # a chunk never spans the start of a drift, so every request sees the population of its
        # own arrival time; model switches re-score the requests still waiting (Decisions.promote)
        drift_starts = sorted({d.start_s for d in (*sc.drift.covariate, *sc.drift.concept)})
        while True:
            until_s = env.now + horizon_s
            later = bisect.bisect_right(drift_starts, env.now)
            if later < len(drift_starts) and drift_starts[later] < until_s:
                until_s = drift_starts[later]
            times = source.take_until(until_s)
            k = len(times)
            if k == 0:
                if source.done:
                    return
                yield env.timeout(until_s - env.now)
                continue
            first = self.n
            self.n += k
            # per-request variates for the whole chunk, each from its own named stream
            chunk = draws.chunk(times)
            if self.decisions is not None:  # real model decisions (explanations add to the service time)
                chunk["approve"], chunk["approve_alt"], chunk["label"] = self.decisions.chunk(
                    first, times, chunk["region"], chunk["fs_hit"], chunk["inf_svc_s"])
            else:
                chunk["approve"] = chunk["approve_alt"] = np.ones(k, dtype=np.int64)
                chunk["label"] = np.full(k, -1, dtype=np.int64)
            self._new_requests(first, times, chunk)
            if self.progress is not None:
                now_wall = time.perf_counter()
                if now_wall >= next_report:
                    next_report = now_wall + 0.25
                    self.progress(min(1.0, float(times[-1]) / sc.duration_s))
            yield env.timeout(until_s - env.now)

    def _start_static(self, env) -> None:
        """Events known before the run (spikes, fault windows) and the processes that apply faults."""
        sc = self.sc
        for sp in sc.traffic.spikes:
            self.events.append((sp.start_s, "spike_started", "traffic", f"{sp.name}: up to {sp.multiplier:g}x"))
            self.events.append((sp.start_s + 2 * sp.ramp_s + sp.duration_s, "spike_ended", "traffic", sp.name))
        for w in self.fault_windows:
            self.events.append((w.start_s, "fault_started", w.target, f"{w.name} ({w.kind.replace('_', ' ')})"))
            if w.end_s <= sc.duration_s:
                self.events.append((w.end_s, "fault_ended", w.target, w.name))
            if w.target in ("feature_db", "inference"):
                env.process(self._fault_process(w))

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
            self._release_batch(take[0], now + b.startup_s + np.arange(1, len(take) + 1) / b.throughput_per_s, now)
            # next job: the next boundary, or at once when this one overran it
            boundary = (math.floor(now / b.interval_s) + 1) * b.interval_s
            next_trigger = max(boundary, job_end)

    def _fault_process(self, w):
        """Apply one fault window to the pools at its start and undo it at its end."""
        env = self.env
        yield env.timeout(w.start_s)
        if w.target == "feature_db" and w.kind == "lock_contention" and self.db is not None:
            self.db.speed_factor *= w.factor
            yield env.timeout(w.end_s - w.start_s)
            self.db.speed_factor /= w.factor
        elif w.target == "inference" and self._model_at_fault(w) is not None:
            yield from self._model_at_fault(w)._replica_fault(w)


class Release(NamedTuple):
    """A model version released as a canary: how it behaves, and its model (None: the primary's)."""

    version: str
    latency_factor: float
    error_rate: float
    model: object | None


class ModelControl:
    """The control side of a model pool: what happens at control events, never per request."""

    def _record_capacity(self, now: float) -> None:
        """Step functions of ready capacity and replica counts (for charts, cost, summary)."""
        cap = self.capacity
        pools = [p for p in (self.pool, getattr(self, "canary_pool", None)) if p is not None]
        ready = sum(p.ready_units for p in pools)
        total = sum(sum(1 for s in p.state if s <= 2) for p in pools)  # starting, ready, draining
        slots = sum(p.capacity for p in pools)
        canary = self.canary_pool.ready_units if getattr(self, "canary_pool", None) is not None else 0
        for key, value in (("inference", slots), ("replicas", ready), ("replicas_total", total),
                           ("canary_replicas", canary)):
            series = cap[key]
            if series and series[-1][0] == now:
                series[-1] = (now, value)
            elif not series or series[-1][1] != value:
                series.append((now, value))

    # ------------------------------------------------------------------ faults
    def _replica_fault(self, w):
        """Crash or slow down replicas for one fault window (a generator run as a SimPy process)."""
        env = self.env
        cfg = next(f for f in self.sc.faults.inference if f.name == w.name and f.start_s == w.start_s)
        victims = [u for u, s in enumerate(self.pool.state) if s == READY][:cfg.replicas]
        if w.kind == "crash":
            lost = 0
            for u in victims:
                lost += len(self.pool.crash(u))
            self.events.append((env.now, "replica_crashed", self.component,
                                f"{len(victims)} replica(s) crashed, {lost} request(s) in flight lost"))
            replacements = [self.pool.add_unit(ready=False) for _ in victims]
            yield env.timeout(cfg.restart_s)
            for u in replacements:
                self.pool.make_ready(u)
            if replacements:
                self.events.append((env.now, "replica_ready", self.component,
                                    f"{len(replacements)} replacement replica(s) ready"))
        else:  # memory pressure
            for u in victims:
                self.pool.slowdown[u] *= w.factor
            yield env.timeout(w.end_s - w.start_s)
            for u in victims:
                self.pool.slowdown[u] /= w.factor

    # ------------------------------------------------------------------ canary
    def release(self, rel: Release) -> None:
        """A new model version is released as a canary: the canary deployment's spec changes now
        (its replicas, if any, run it at once); the analysis loop picks it up at its next tick."""
        self.canary_release = rel
        self.canary_pool.speed_factor = rel.latency_factor * service_factor(self.sc.model, self.sc.inference.precision)
        self.canary_error_rate = rel.error_rate
        if self.decisions is not None:  # a graph's other models have no retrainable decisions
            self.decisions.set_candidate(rel.model, rel.version)
        self.canary.new_revision()
        self._audit(self.env.now, "deploy_canary", "automation", f"{rel.version} released as a canary")
        if not self._canary_loop_running:
            self._canary_loop_running = True
            self.env.process(self._canary_loop())

    def _canary_loop(self):
        """Flagger's analysis loop: one tick per interval for the rest of the run, on the
        canary's own traffic over the last interval."""
        env, interval_s = self.env, self.sc.canary.interval_s
        while True:
            stats, self.canary_stats = self.canary_stats, []
            n = len(stats)
            ok = sum(1 for _, good in stats if good)
            p99_ms = float(np.percentile([lat for lat, _ in stats], 99)) * 1000 if n else math.nan
            share = self.canary.new_version_share_pct
            for kind, detail in self.canary.tick(env.now, n, ok, p99_ms):
                self._on_canary_event(kind, detail)
            if self.canary.new_version_share_pct != share:
                self.canary_weights.append((env.now, float(self.canary.new_version_share_pct)))
            yield env.timeout(interval_s)

    def _on_canary_event(self, kind: str, detail: dict) -> None:
        now = self.env.now
        rel = self.canary_release
        if kind in ("canary_started", "canary_promoting", "canary_promoted", "canary_succeeded"):
            detail = {**detail, "version": (self.promoting_release or rel).version if kind in (
                "canary_promoted", "canary_succeeded") else rel.version}
        self.events.append((now, kind, "canary", ", ".join(f"{k} {v}" for k, v in detail.items())))
        if kind == "canary_started":
            if not self.canary_pool.ready_units:
                for _ in range(self.sc.canary.replicas):
                    self.canary_pool.add_unit()
        elif kind == "canary_promoting":
            self.promoting_release = rel
            self._audit(now, "promote", "automation", f"canary {rel.version} passed; copied to the primary")
        elif kind == "canary_promoted":
            # the primary's rollout is done: from now on it runs the promoted version
            promoted = self.promoting_release
            self.pool.speed_factor = promoted.latency_factor * service_factor(self.sc.model, self.sc.inference.precision)
            self.model_error_rate = promoted.error_rate
            if self.decisions is not None:
                self.decisions.promote(promoted.model, promoted.version)
            self.served_version = promoted.version
        elif kind == "canary_succeeded":
            self._audit(now, "promotion_finished", "automation", f"{self.served_version} serves all traffic")
            self.promoting_release = None
            self._retire_canary()
        elif kind == "canary_rolled_back":
            self._audit(now, "rollback", "automation", f"canary {rel.version} rolled back")
            self._retire_canary()

    def _audit(self, t: float, action: str, role: str, detail: str) -> None:
        if self.gov is not None:
            self.gov.audit.append((t, action, role, detail))
        else:
            self.audit.append((t, action, role, detail))

    def deploy_new_version(self, model, version: str, via_canary: bool) -> None:
        """A retrained model goes live: through the canary analysis, or straight to the primary."""
        now = self.env.now
        if via_canary:
            self.release(Release(version, 1.0, 0.0, model))
        else:
            self.decisions.promote(model, version)
            self.served_version = version
            self.events.append((now, "model_deployed", "model", f"{version} now serves all traffic"))
            self._audit(now, "deploy", "automation", f"{version} deployed to all replicas")

    def _retire_canary(self) -> None:
        """Scale the canary to zero; anything still queued for it goes back to the primary."""
        for u, s in enumerate(self.canary_pool.state):
            if s <= READY:
                self.canary_pool.drain(u)
        while self.canary_pool.queue:
            self.pool.enter_rid(self.canary_pool.queue.popleft())

    def _configured_release(self):
        """The scenario's own canary release at ``canary.start_s``."""
        yield self.env.timeout(self.sc.canary.start_s)
        c = self.sc.canary
        self.release(Release(c.version, c.latency_factor, c.error_rate, None))
