"""Replica life cycle of the primary model pool: cold starts, HPA/KPA control loops, node packing.

The controllers themselves are pure (simulator.mechanisms.autoscaler); this module only measures the
metric they need from the pool's running integrals, calls them at their own cadence (HPA every
``sync_period_s``, KPA every ``kpa_tick_s`` with 1-second concurrency samples), and turns
their answer into replicas that start (ready after a cold start), or drain and stop.

What the HPA sees is per pod, as in Kubernetes: a scrape every ``metric_resolution_s`` takes
one sample per ready replica (its busy fraction, or its in-flight or queued requests, the
shared queue split evenly over the ready replicas) averaged since the previous scrape or since
it became ready. A replica still starting is a pending pod; one that became ready after the
last scrape has no sample yet (a *missing* pod); a draining one is terminating and ignored.
"""
from __future__ import annotations

import math
from collections import deque

from simulator.engine.pool import DRAINING, READY, STARTING
from simulator.mechanisms.autoscaler import (
    POD_PENDING,
    POD_READY,
    POD_UNREADY,
    HpaController,
    KpaController,
    Pod,
    cpu_sample_unready,
)
from simulator.mechanisms.cost import replicas_per_node
from simulator.scenario.serving import cold_start_s, replica_memory_gib


class Elastic:
    """Starts, stops and times the replicas of ``sim.pool`` for one run."""

    def __init__(self, sim):
        self.sim = sim
        self.env = sim.env
        sc = sim.sc
        self.sc = sc
        self.cfg = sc.autoscaler
        self.pool = sim.pool
        self.memory_gib = replica_memory_gib(sc.model, sc.inference.precision)
        self.per_node = replicas_per_node(self.memory_gib, sc.cost.instance, sc.cost.system_reserved_memory_gib)
        self.requested_at: dict[int, float] = {}
        self.cold_spans: list[tuple[float, float]] = []  # (start, end) of each cold start
        self.samples: dict[int, tuple[float, float]] = {}  # unit -> (scrape time, value)

    # ------------------------------------------------------------------ counts
    def provisioned(self) -> int:
        """spec.replicas: replicas requested (starting or ready), not those draining away."""
        return sum(1 for s in self.pool.state if s in (STARTING, READY))

    def existing(self) -> int:
        return sum(1 for s in self.pool.state if s in (STARTING, READY, DRAINING))

    # ------------------------------------------------------------------ start / stop
    def start_replica(self, now: float) -> None:
        needs_node = self.existing() % self.per_node == 0
        delay = cold_start_s(self.sc.cold_start, self.sc.model, self.sc.inference.precision,
                             self.sc.inference.service_ms, needs_node)
        unit = self.pool.add_unit(ready=False)
        self.requested_at[unit] = now
        self.sim.events.append((now, "replica_started", self.sim.component,
                                f"replica {unit} starting, ready in {delay:.0f} s"
                                + (" (needs a new node)" if needs_node else "")))
        self.env.process(self._become_ready(unit, delay))

    def _become_ready(self, unit: int, delay: float):
        yield self.env.timeout(delay)
        if self.pool.state[unit] == STARTING:
            self.pool.make_ready(unit)
            now = self.env.now
            self.cold_spans.append((self.requested_at[unit], now))
            self.sim.events.append((now, "replica_ready", self.sim.component, f"replica {unit} ready"))

    def stop_replica(self, now: float) -> None:
        """Remove one replica: a still-starting one first (newest), else the least busy ready one."""
        state = self.pool.state
        starting = [u for u, s in enumerate(state) if s == STARTING]
        if starting:
            unit = starting[-1]
            self.cold_spans.append((self.requested_at[unit], now))
        else:
            ready = [u for u, s in enumerate(state) if s == READY]
            if not ready:
                return
            unit = min(ready, key=lambda u: len(self.pool.inflight[u]))
        self.pool.drain(unit)
        self.sim.events.append((now, "replica_stopped", self.sim.component, f"replica {unit} stopped"))

    def scale_to(self, desired: int, now: float) -> None:
        current = self.provisioned()
        for _ in range(desired - current):
            self.start_replica(now)
        for _ in range(current - desired):
            self.stop_replica(now)

    # ------------------------------------------------------------------ HPA
    def scrape_loop(self):
        """metrics-server: every ``metric_resolution_s`` one sample per ready replica."""
        cfg, env, pool = self.cfg, self.env, self.pool
        last_s = env.now
        marks: dict[int, float] = {}      # unit -> busy area at the last scrape
        _, queued0 = pool.areas()
        while True:
            yield env.timeout(cfg.metric_resolution_s)
            now = env.now
            _, queued1 = pool.areas()
            ready = [u for u, s in enumerate(pool.state) if s == READY]
            queue_share = (queued1 - queued0) / (now - last_s) / len(ready) if ready else 0.0
            queued0 = queued1
            for u in ready:
                since_s = max(last_s, pool.ready_since_s[u])
                area = pool.unit_busy_area(u)
                if now <= since_s:
                    continue
                busy = (area - marks.get(u, 0.0)) / (now - since_s)
                marks[u] = area
                if cfg.metric == "utilization":
                    value = busy / pool.slots_per_unit
                elif cfg.metric == "inflight_per_replica":
                    value = busy + queue_share
                else:
                    value = queue_share
                self.samples[u] = (now, value)
            last_s = now

    def pods(self, now: float) -> list[Pod]:
        """The pods behind ``spec.replicas`` as the HPA's replica calculator sees them."""
        cfg, pool = self.cfg, self.pool
        out = []
        for u, state in enumerate(pool.state):
            if state == STARTING:
                out.append(Pod(POD_PENDING))
            elif state == READY:
                sample = self.samples.get(u)
                if sample is None:
                    out.append(Pod(POD_READY, None))
                    continue
                end_s, value = sample
                unready = cfg.metric == "utilization" and cpu_sample_unready(
                    now, self.requested_at.get(u, -math.inf), True, pool.ready_since_s[u], end_s,
                    cfg.metric_resolution_s, cfg.cpu_initialization_period_s, cfg.initial_readiness_delay_s)
                out.append(Pod(POD_UNREADY if unready else POD_READY, value))
        return out

    def hpa_loop(self):
        cfg, env = self.cfg, self.env
        ctrl = HpaController(cfg)
        while True:
            yield env.timeout(cfg.sync_period_s)
            now = env.now
            current = self.provisioned()
            desired, detail = ctrl.decide(now, current, self.pods(now))
            if desired != current:
                value = detail["metric_value"]
                seen = f"{cfg.metric.replace('_', ' ')} {value:.2f}, " if value is not None else ""
                self.sim.events.append((now, "scale_decision", self.sim.component,
                                        f"{'up' if desired > current else 'down'} from {current} to {desired} "
                                        f"({seen}target {cfg.target:g})"))
                self.scale_to(desired, now)

    # ------------------------------------------------------------------ KPA
    def kpa_loop(self):
        """Knative: 1 s concurrency samples; decide every tick from stable and panic averages."""
        cfg, env, pool = self.cfg, self.env, self.pool
        ctrl = KpaController(cfg, initial_ready_pods=pool.ready_units, start_s=env.now)
        stable_n = max(1, int(round(cfg.stable_window_s)))
        panic_n = max(1, int(round(cfg.panic_window_s)))
        samples: deque = deque(maxlen=stable_n)
        ticks_per_decision = max(1, int(round(cfg.kpa_tick_s)))
        busy0, queue0 = pool.areas()
        k = 0
        while True:
            yield env.timeout(1.0)
            busy1, queue1 = pool.areas()
            samples.append((busy1 - busy0) + (queue1 - queue0))  # mean concurrency over the last second
            busy0, queue0 = busy1, queue1
            k += 1
            # the activator holds requests while there is no replica: poke the autoscaler at once
            cold_demand = pool.ready_units == 0 and self.provisioned() == 0 and pool.queue
            if k % ticks_per_decision and not cold_demand:
                continue
            now = env.now
            stable = sum(samples) / len(samples)
            recent = list(samples)[-panic_n:]
            panic = sum(recent) / len(recent)
            current = self.provisioned()
            desired = ctrl.decide(now, pool.ready_units, stable, panic)
            if cold_demand and desired == 0:
                desired = 1
            if desired != current:
                self.sim.events.append((now, "scale_decision", self.sim.component,
                                        f"{'up' if desired > current else 'down'} from {current} to {desired} "
                                        f"(concurrency {stable:.1f} stable, {panic:.1f} panic; "
                                        f"target {cfg.target_concurrency_per_replica:g} per replica"
                                        f"{', panic mode' if ctrl.in_panic else ''})"))
                self.scale_to(desired, now)

    def start(self) -> None:
        if self.cfg.kind == "kpa":
            self.env.process(self.kpa_loop())
        else:
            self.env.process(self.scrape_loop())  # first, so a scrape at a sync time comes before it
            self.env.process(self.hpa_loop())


def initial_replicas(sc) -> int:
    """Replicas ready at t = 0: the fixed pool, or with autoscaling the pool clamped to [min, max]."""
    n = sc.inference.replicas
    if sc.autoscaler.enabled:
        n = min(max(n, sc.autoscaler.min_replicas), sc.autoscaler.max_replicas)
    return n


def nodes_for(replicas: int, per_node: int) -> int:
    return math.ceil(replicas / per_node) if replicas > 0 else 0
