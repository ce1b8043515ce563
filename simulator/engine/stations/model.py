"""Model station: a pool of replicas (and, during a release, the canary's own pool) with its control loops.

Requests reaching the model are routed between the primary and the canary by the request's own
uniform draw against the canary weight, at the moment they reach it; a request already on its
way when the canary pool was created goes to the primary, as on the event path. Both pools are
:class:`~simulator.engine.stations.pool.PoolStation` kernels. What happens at control events
(autoscaling, replica faults, the canary analysis, promotions and rollbacks) is the event path's
code: this class is a :class:`~simulator.engine.control.ModelControl`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.engine.control import ModelControl
from simulator.engine.elastic import Elastic, initial_replicas
from simulator.engine.stations.pending import Pending
from simulator.engine.stations.pool import PoolStation
from simulator.engine.stations.windows import windows_at
from simulator.mechanisms.canary import CanaryAnalysis
from simulator.scenario.serving import service_factor


@dataclass(frozen=True)
class Outcomes:
    """Codes the model writes into the run's columns."""

    rejected: int
    timeout: int
    crash: int
    model_error: int
    v_primary: int
    v_canary: int
    outage: int


class ModelService(ModelControl):
    """One model component: its pools, its decisions and its control loops.

    ``sc`` is the scenario as this model sees it (its own ``inference``, ``autoscaler`` and
    ``canary`` sections). ``names`` maps roles (``service``, ``enter``, ``start``, ``end``,
    ``route_u``, ``err_u``, ``version``, ``approve``, ``approve_alt``) to column names.
    ``complete(rids, t)`` and ``fail(rids, t, reasons)`` end requests.
    """

    def __init__(self, engine, sc, component: str, names: dict[str, str], codes: Outcomes, complete, fail,
                 decisions=None):
        self.engine = engine
        self.env = engine.env
        self.sc = sc
        self.component = component
        self.names = names
        self.codes = codes
        self.columns = engine.columns
        self.events = engine.events
        self.audit = engine.audit
        self.complete_requests, self.fail_requests = complete, fail
        self.decisions = decisions
        self.gov = None
        self.review = None  # the fairness review's queue (a stations.review.FlaggedReview), with gov
        self.capacity: dict[str, list[tuple[float, float]]] = {
            "inference": [], "replicas": [], "replicas_total": [], "canary_replicas": []}
        self.canary_weights: list[tuple[float, float]] = [(0.0, 0.0)]
        self.canary_pool = None
        self.canary = None
        self.model_error_rate = 0.0
        inf = sc.inference
        self.pool = self._new_pool(self._primary_done)
        self.pool.speed_factor = service_factor(sc.model, inf.precision)
        for _ in range(initial_replicas(sc)):
            self.pool.add_unit()
        self.elastic = Elastic(self) if sc.autoscaler.enabled else None
        retrains_via_canary = decisions is not None and sc.retraining.enabled and sc.retraining.deploy == "canary"
        if sc.canary.enabled or retrains_via_canary:
            self.canary = CanaryAnalysis(sc.canary)
            self.canary_pool = self._new_pool(self._canary_done)
        self._record_capacity(0.0)
        self.canary_stats: list[tuple[float, bool]] = []  # (latency_s, success) of the canary this interval
        self.canary_release = None  # the canary deployment's current spec (a control.Release)
        self.promoting_release = None  # the spec copied to the primary
        self.canary_error_rate = 0.0
        self._canary_loop_running = False
        self.served_version = sc.model.version
        # requests on their way, flagged when a canary pool existed as they were sent
        self.pending = Pending()
        self.outage: tuple[np.ndarray, np.ndarray] | None = None  # (starts, ends) of the component's outages
        self._reviews: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    # ------------------------------------------------------------------ pools
    def _new_pool(self, on_output) -> PoolStation:
        inf = self.sc.inference
        n = self.names
        return PoolStation(self.env, self.columns, n["service"], n["enter"], n["start"], n["end"], 0, inf.concurrency,
                           on_output, queue_limit=inf.queue_limit,
                           timeout_s=None if inf.timeout_ms is None else inf.timeout_ms / 1000.0,
                           reject_reason=self.codes.rejected, timeout_reason=self.codes.timeout,
                           crash_reason=self.codes.crash, on_unit_change=self._record_capacity)

    def start(self) -> None:
        if self.canary is not None and self.sc.canary.enabled:
            self.env.process(self._configured_release())
        if self.elastic is not None:
            self.elastic.start()

    # ------------------------------------------------------------------ requests
    def push(self, rids: np.ndarray, times: np.ndarray) -> None:
        self.pending.push(rids, times, self.canary_pool is not None)

    def advance(self, t_end: float) -> None:
        if self.pending.earliest() >= t_end and self.pool.next_time() >= t_end and (
                self.canary_pool is None or self.canary_pool.next_time() >= t_end):
            return  # nothing reaches or leaves the model before t_end
        rids, times, routable = self.pending.take_before(t_end)
        if self.outage is not None and len(rids):  # a component outage fails what reaches the model
            down = windows_at(*self.outage, times) >= 0
            if down.any():
                self.fail_requests(rids[down], times[down], self.codes.outage)
                rids, times, routable = rids[~down], times[~down], routable[~down]
        if len(rids):
            canary = self.canary_pool
            if canary is not None and canary.ready_units:
                to_canary = routable & (self.columns[self.names["route_u"]][rids] * 100.0 < self.canary.weight_pct)
                canary.push(rids[to_canary], times[to_canary])
                self.pool.push(rids[~to_canary], times[~to_canary])
            else:
                self.pool.push(rids, times)
        self.pool.advance(t_end)
        if self.canary_pool is not None:
            self.canary_pool.advance(t_end)
        self._send_reviews()

    def apply_stops(self) -> None:
        """Stops of draining replicas in time order, so capacity is recorded step by step."""
        pools = [p for p in (self.pool, self.canary_pool) if p is not None and p.stops]
        if not pools:
            return
        stops = sorted((t, i, unit) for i, p in enumerate(pools) for t, unit in p.stops)
        for t, i, unit in stops:
            pools[i].apply_stop(t, unit)
        for p in pools:
            p.stops.clear()

    # ------------------------------------------------------------------ outputs
    def _split(self, rids, times, codes):
        done = codes == 0
        if not done.all():
            self.fail_requests(rids[~done], times[~done], codes[~done])
            return rids[done], times[done]
        return rids, times

    def _primary_done(self, rids: np.ndarray, times: np.ndarray, codes: np.ndarray) -> None:
        rids, times = self._split(rids, times, codes)
        c, n = self.columns, self.names
        c[n["version"]][rids] = self.codes.v_primary
        if self.model_error_rate:
            bad = c[n["err_u"]][rids] < self.model_error_rate
            if bad.any():
                self.fail_requests(rids[bad], times[bad], self.codes.model_error)
                rids, times = rids[~bad], times[~bad]
        self.complete_requests(rids, times)
        self._review(rids, times, c[n["approve"]][rids])

    def _canary_done(self, rids: np.ndarray, times: np.ndarray, codes: np.ndarray) -> None:
        rids, times = self._split(rids, times, codes)
        c, n = self.columns, self.names
        c[n["version"]][rids] = self.codes.v_canary
        ok = c[n["err_u"]][rids] >= self.canary_error_rate
        self.canary_stats.extend(zip((times - c[n["enter"]][rids]).tolist(), ok.tolist()))
        self.complete_requests(rids[ok], times[ok])
        if not ok.all():
            self.fail_requests(rids[~ok], times[~ok], self.codes.model_error)
        self._review(rids[ok], times[ok], c[n["approve_alt"]][rids[ok]])

    # ------------------------------------------------------------------ human review of flagged decisions
    def _review(self, rids: np.ndarray, times: np.ndarray, approved: np.ndarray) -> None:
        gov = self.gov
        if gov is not None and gov.flag_group >= 0 and len(rids):
            self._reviews.append((times, rids, approved))

    def _send_reviews(self) -> None:
        """Answered decisions reach the fairness review at their answer time, in time order."""
        if not self._reviews:
            return
        times, rids, approved = (np.concatenate(x) for x in zip(*self._reviews))
        self._reviews.clear()
        order = np.argsort(times, kind="stable")
        self.review.enter(times[order], rids[order], approved[order])
