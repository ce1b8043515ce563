"""The external API call site: faults, per-call timeout, retries, circuit breaker, fallbacks.

Two paths, same rules:

* **arithmetic** (no breaker): a call's outcome depends only on the request's own latency
  draw and the fault timeline at the call's start, so the whole call sequence (with
  retries) is computed when the request reaches the API, without events;
* **event-driven** (breaker on): the breaker is a state machine fed in time order, so each
  call start (``try_acquire``) and call end (``on_result``) is a SimPy event.

A failed call ends in a fallback: ``cached`` (the region's last good answer, if one exists
and is not older than ``cache_max_staleness_s``), ``default`` (a constant), or ``none``
(the request fails). Fallback answers are *degraded*: served, with an accuracy penalty.

The cached answer is causal: it is the latest success *completed* by the moment the
fallback is needed. Requests are processed ahead of the clock (the arithmetic path knows a
call's end when the call starts), so successes are recorded with their completion time and a
cached fallback is looked up by an event at the moment it is needed (``LastGoodAnswers``).

Every failing call returns its error after ``error_latency_ms`` (base error rate, error-rate
faults and outages alike); an error that would come after the client timeout is a timeout.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from heapq import heappop, heappush

from simulator.engine.faults import Timeline
from simulator.engine.pool import NORMAL, Hop, schedule_at
from simulator.mechanisms.breaker import CircuitBreaker, backoff_ms

CALL_OK, CALL_ERROR, CALL_TIMEOUT, CALL_REJECTED, NOT_CALLED = 0, 1, 2, 3, 4
FB_NONE, FB_CACHED, FB_DEFAULT = 0, 1, 2
BREAKER_EVENT = {"OPEN": "breaker_opened", "HALF_OPEN": "breaker_half_opened", "CLOSED": "breaker_closed",
                 "FORCED_OPEN": "breaker_forced_open", "DISABLED": "breaker_disabled",
                 "METRICS_ONLY": "breaker_metrics_only"}
OPERATOR_ACTION = {"forced_open": "transition_to_forced_open", "disabled": "transition_to_disabled",
                   "metrics_only": "transition_to_metrics_only", "closed": "transition_to_closed", "reset": "reset"}


class LastGoodAnswers:
    """Per region, the completion time of the latest successful call, as known at a time.

    ``record`` may be called before the success completes (by at most the look-ahead of the
    arithmetic path); ``latest_by(region, t)`` must be called at simulation time ``t`` and
    with non-decreasing times, and then sees exactly the successes completed by ``t``.
    """

    def __init__(self, regions: int):
        self._pending: list[list[float]] = [[] for _ in range(regions)]  # min-heaps of future completions
        self._latest = [-math.inf] * regions

    def record(self, region: int, done_s: float, now_s: float) -> None:
        """A call of ``region`` succeeds at ``done_s`` (>= ``now_s``, the current time)."""
        heap = self._pending[region]
        heappush(heap, done_s)
        if heap[0] <= now_s:  # keep only future completions pending
            self.latest_by(region, now_s)

    def latest_by(self, region: int, t_s: float) -> float:
        """Completion time of the latest success at or before ``t_s`` (-inf if none)."""
        heap = self._pending[region]
        latest = self._latest[region]
        while heap and heap[0] <= t_s:
            done_s = heappop(heap)
            if done_s > latest:
                latest = done_s
        self._latest[region] = latest
        return latest


class ExternalApi:
    """Decides each request's API outcome and hands it on with ``proceed(rid, t_s)``."""

    def __init__(self, sim, faults: Timeline,
                 proceed: Callable[[int, float], None], fail: Callable[[int, float, int], None],
                 fail_reason: int):
        self.sim = sim
        self.env = sim.env
        self.cfg = cfg = sim.sc.external_api
        self.faults = faults
        self.proceed, self.fail, self.fail_reason = proceed, fail, fail_reason
        self.timeout_s = cfg.timeout_ms / 1000.0
        error_s = cfg.error_latency_ms / 1000.0
        # a failing call returns its error after error_latency_ms, unless the client gives up first
        self._error = (error_s, CALL_ERROR) if error_s <= self.timeout_s else (self.timeout_s, CALL_TIMEOUT)
        self.breaker = CircuitBreaker(cfg.breaker) if cfg.breaker.enabled else None
        self.retry = cfg.retry if cfg.retry.enabled else None
        self.event_driven = self.breaker is not None
        self.retries = self.retry.max_attempts - 1 if self.retry is not None else 0
        self.answers = LastGoodAnswers(len(sim.sc.traffic.regions)) if cfg.fallback == "cached" else None
        self._n_transitions = 0
        self._timer_armed_s = math.nan
        # per-request columns
        self.status = sim.api_status
        self.attempts = sim.api_calls
        self.fallback = sim.fallback
        self.staleness_s = sim.staleness_s
        self.call_t0_s = sim.api_call_t0_s  # start of the call in flight (event path only)

    # ------------------------------------------------------------------ one call
    def _jitter_u(self, rid: int, retry: int) -> float:
        """The request's own jitter draw for retry number ``retry`` (1 = first retry)."""
        return self.sim.jitter_u[rid * self.retries + retry - 1]

    def call_outcome(self, rid: int, t_s: float, attempt: int) -> tuple[float, int]:
        """(duration_s, status) of attempt ``attempt`` (0 = first) made at ``t_s``."""
        if attempt == 0:
            lat, u = self.sim.api_lat_s[rid], self.sim.api_err_u[rid]
        else:  # the request's own draws for this retry
            i = rid * self.retries + attempt - 1
            lat, u = self.sim.retry_lat_s[i], self.sim.retry_err_u[i]
        w = self.faults.at(t_s) if self.faults.active else None
        if w is not None:
            if w.kind == "outage_errors":
                return self._error
            if w.kind == "outage_timeouts":
                return self.timeout_s, CALL_TIMEOUT
            if w.kind == "latency_spike":
                lat *= w.factor
            elif w.kind == "error_rate" and u < w.factor:
                return self._error
        if u < self.cfg.error_rate:
            return self._error
        if lat > self.timeout_s:
            return self.timeout_s, CALL_TIMEOUT
        return lat, CALL_OK

    # ------------------------------------------------------------------ entry
    def start(self, rid: int, t_s: float) -> None:
        """The request reaches the API at ``t_s`` (>= now)."""
        self.sim.api_start_s[rid] = t_s
        if self.event_driven:
            self._schedule_at(self._on_call_start, rid, t_s, 0)
            return
        # arithmetic path: the whole retry sequence at once
        t = t_s
        attempt = 0
        while True:
            d, status = self.call_outcome(rid, t, attempt)
            t += d
            if status == CALL_OK:
                self.attempts[rid] = attempt + 1
                self.status[rid] = CALL_OK
                if self.answers is not None:
                    self.answers.record(self.sim.region[rid], t, self.env._now)
                self.sim.api_s[rid] = t - t_s
                self.proceed(rid, t)
                return
            if self.retry is not None and attempt + 1 < self.retry.max_attempts:
                t += backoff_ms(attempt + 1, self.retry, self._jitter_u(rid, attempt + 1)) / 1000.0
                attempt += 1
                continue
            self.attempts[rid] = attempt + 1
            self.status[rid] = status
            self.sim.api_s[rid] = t - t_s
            self._fallback(rid, t)
            return

    # ------------------------------------------------------------------ event path
    def _schedule(self, fn, rid: int, delay_s: float, attempt: int) -> None:
        self._schedule_at(fn, rid, self.env._now + (delay_s if delay_s > 0 else 0.0), attempt)

    def _schedule_at(self, fn, rid: int, t_s: float, attempt: int) -> None:
        """Schedule ``fn`` for request ``rid`` at the absolute time ``t_s`` (never before now)."""
        hop = Hop()
        hop.callbacks = [fn]
        hop._ok = True
        hop.rid = rid
        hop.unit = attempt
        schedule_at(self.env, hop, t_s)

    def _on_call_start(self, hop: Hop) -> None:
        rid, attempt = hop.rid, hop.unit
        now = self.env._now
        br = self.breaker
        permitted = br.try_acquire(now)
        self._transitions(now)
        if not permitted:
            self.attempts[rid] = attempt
            self.status[rid] = CALL_REJECTED
            self.sim.api_s[rid] = now - self.sim.api_start_s[rid]
            self._fallback(rid, now)
            return
        d, status = self.call_outcome(rid, now, attempt)
        self.status[rid] = status
        self.call_t0_s[rid] = now
        self._schedule(self._on_call_end, rid, d, attempt)

    def _on_call_end(self, hop: Hop) -> None:
        rid, attempt = hop.rid, hop.unit
        now = self.env._now
        status = self.status[rid]
        duration_s = now - self.call_t0_s[rid]
        self.breaker.on_result(now, duration_s * 1000.0, status != CALL_OK)
        self._transitions(now)
        if status == CALL_OK:
            self.attempts[rid] = attempt + 1
            if self.answers is not None:
                self.answers.record(self.sim.region[rid], now, now)
            self.sim.api_s[rid] = now - self.sim.api_start_s[rid]
            self.proceed(rid, now)
            return
        if self.retry is not None and attempt + 1 < self.retry.max_attempts:
            delay = backoff_ms(attempt + 1, self.retry, self._jitter_u(rid, attempt + 1)) / 1000.0
            self._schedule(self._on_call_start, rid, delay, attempt + 1)
            return
        self.attempts[rid] = attempt + 1
        self.sim.api_s[rid] = now - self.sim.api_start_s[rid]
        self._fallback(rid, now)

    def operator_action(self, action: str, name: str, now: float) -> None:
        """A runbook step: an operator moves the breaker by hand (resilience4j's explicit transitions)."""
        getattr(self.breaker, OPERATOR_ACTION[action])(now)
        self._transitions(now, by=name)

    def _transitions(self, now: float, by: str | None = None) -> None:
        tr = self.breaker.transitions
        while self._n_transitions < len(tr):
            t_s, frm, to, fail_pct, slow_pct = tr[self._n_transitions]
            self._n_transitions += 1
            detail = f"{frm} -> {to}"
            if by is not None:
                detail += f" (by an operator: {by})"
            elif to == "OPEN":
                detail += f" (failure rate {fail_pct:.0f} %, slow calls {slow_pct:.0f} %)"
            self.sim.events.append((t_s, BREAKER_EVENT[to], "external_api", detail))
            self.sim.breaker_states.append((t_s, to))
        nxt = self.breaker.next_timer_s()
        if nxt is not None and nxt != self._timer_armed_s:
            self._timer_armed_s = nxt
            hop = Hop()
            hop.callbacks = [self._on_timer]
            hop._ok = True
            hop.rid = -1
            hop.unit = 0
            self.env.schedule(hop, NORMAL, max(0.0, nxt - now))

    def _on_timer(self, hop: Hop) -> None:
        now = self.env._now
        self.breaker.on_timer(now)
        self._transitions(now)

    # ------------------------------------------------------------------ fallbacks
    def _fallback(self, rid: int, t_s: float) -> None:
        """The call failed at ``t_s`` (>= now): answer from a fallback, or fail the request."""
        kind = self.cfg.fallback
        if kind == "default":
            self.fallback[rid] = FB_DEFAULT
            self.proceed(rid, t_s)
        elif kind == "cached":
            # decided at t_s, when every success completed by then is known
            self._schedule_at(self._cached_fallback, rid, t_s, 0)
        else:
            self.fail(rid, t_s, self.fail_reason)

    def _cached_fallback(self, hop: Hop) -> None:
        rid = hop.rid
        now = self.env._now
        age = now - self.answers.latest_by(self.sim.region[rid], now)
        if age <= self.cfg.cache_max_staleness_s:
            self.fallback[rid] = FB_CACHED
            self.staleness_s[rid] = age
            self.proceed(rid, now)
        else:
            self.fail(rid, now, self.fail_reason)
