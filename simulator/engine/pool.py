"""A FIFO multi-server station driven by callbacks instead of a process per request.

Why not ``simpy.Resource``: a request/release cycle costs several events and a generator
per request. Here a station is a free-slot stack plus a deque, and each service is one
scheduled event whose callback starts the next queued request. Slots belong to *units*
(model replicas, DB connections) so that autoscaling and faults can start, drain, crash
or slow down a unit.

Unit life cycle: STARTING (cold start, no slots) -> READY -> DRAINING (finishes its work,
takes no more) -> STOPPED, or READY -> CRASHED (its in-flight requests fail at once).

Per-request times are written into columnar arrays owned by the caller
(``enter_s``, ``start_s``, ``end_s``), never into per-request dicts. The pool keeps running
integrals of busy slots (in total and per unit) and of queue length so controllers can read
averages over any period.

Deadlines: with ``timeout_s`` a request still queued at ``enter + timeout_s`` has timed out
(the client gave up). The queue is FIFO with one deadline, so it is ordered by deadline and
the expired requests are always at its head: they are dropped from there when a slot frees
up and before the queue limit is checked, so ``queue_limit`` counts only live requests. A
request that timed out in the queue leaves it at its deadline (``start_s = end_s =
enter + timeout_s``).
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from heapq import heappush

import simpy

NORMAL = 1  # simpy.events.NORMAL
STARTING, READY, DRAINING, STOPPED, CRASHED = 0, 1, 2, 3, 4


class Hop:
    """The smallest object SimPy's event loop can process: one callback, one request id."""

    __slots__ = ("_ok", "callbacks", "rid", "unit")


def schedule_at(env: simpy.Environment, event, t_s: float) -> None:
    """Put ``event`` on SimPy's heap at the absolute time ``t_s`` (not before now).

    ``env.schedule`` takes a delay and adds it to now, which can land an ulp away from ``t_s``;
    scheduling at the time itself keeps every engine on exactly the same clock values.
    """
    now = env._now
    heappush(env._queue, (t_s if t_s > now else now, NORMAL, next(env._eid), event))


class Pool:
    """``units`` x ``slots_per_unit`` servers in front of one FIFO queue.

    ``service_s[rid]`` is the request's own service time (drawn in advance, so that two
    scenarios with the same seed give a request the same work); a unit's ``slowdown``
    factor and the pool's ``speed_factor`` multiply it. ``on_done(rid, now)`` hands the
    request on; ``on_fail(rid, t_s, reason)`` ends it.
    """

    def __init__(self, env: simpy.Environment, units: int, slots_per_unit: int,
                 service_s, enter_s, start_s, end_s,
                 on_done: Callable, on_fail: Callable,
                 queue_limit: int | None = None, timeout_s: float | None = None,
                 reject_reason: int = 1, timeout_reason: int = 2, crash_reason: int = 2,
                 on_unit_change: Callable | None = None):
        self.env = env
        self._heap, self._eid = env._queue, env._eid  # push hops straight onto SimPy's heap
        self.slots_per_unit = slots_per_unit
        self.service_s = service_s
        self.enter_s, self.start_s, self.end_s = enter_s, start_s, end_s
        self.on_done, self.on_fail = on_done, on_fail
        self.queue_limit = queue_limit
        self.timeout_s = timeout_s
        self.reject_reason, self.timeout_reason, self.crash_reason = reject_reason, timeout_reason, crash_reason
        self.on_unit_change = on_unit_change
        self.speed_factor = 1.0
        self.queue: deque = deque()
        self.free: list[int] = []
        self.slowdown: list[float] = []
        self.state: list[int] = []
        self.inflight: list[set] = []
        self.unit_busy_s: list[float] = []  # finished busy slot-seconds per unit
        self.ready_since_s: list[float] = []  # when each unit became ready (NaN: not yet)
        self.busy = 0
        self.ready_units = 0  # units in READY (kept as a counter: routing reads it per request)
        # finished parts of the busy and queued integrals; the open parts are added on demand
        self.done_service_s = 0.0
        self.done_wait_s = 0.0
        for _ in range(units):
            self.add_unit()

    # ------------------------------------------------------------------ accounting
    def areas(self) -> tuple[float, float]:
        """(busy slot-seconds, queued request-seconds) since the start, up to now.

        Finished services and waits are summed as they end (one addition each on the hot
        path); the requests still in service or queued are added here, when a controller asks.
        The requests in service are summed exactly (``math.fsum``), so the result does not
        depend on the order in which the units' sets list them.
        """
        now = self.env._now
        start, enter = self.start_s, self.enter_s
        busy = self.done_service_s + math.fsum(now - start[r] for units in self.inflight for r in units)
        timeout = self.timeout_s if self.timeout_s is not None else float("inf")
        queued = self.done_wait_s + sum(min(now - enter[r], timeout) for r in self.queue)
        return busy, queued

    def unit_busy_area(self, unit: int) -> float:
        """Busy slot-seconds of one unit since it was added, up to now (in-flight part summed exactly)."""
        now = self.env._now
        start = self.start_s
        return self.unit_busy_s[unit] + math.fsum(now - start[r] for r in self.inflight[unit])

    def count(self, state: int) -> int:
        return sum(1 for s in self.state if s == state)

    @property
    def capacity(self) -> int:
        return self.ready_units * self.slots_per_unit

    # ------------------------------------------------------------------ unit life cycle
    def add_unit(self, ready: bool = True) -> int:
        """Add a unit; a ready one takes queued requests at once, a starting one waits for ``make_ready``."""
        unit = len(self.state)
        self.state.append(STARTING)
        self.slowdown.append(1.0)
        self.inflight.append(set())
        self.unit_busy_s.append(0.0)
        self.ready_since_s.append(float("nan"))
        if ready:
            self.make_ready(unit)
        elif self.on_unit_change:
            self.on_unit_change(self.env._now)
        return unit

    def make_ready(self, unit: int) -> None:
        if self.state[unit] != STARTING:
            return
        self.state[unit] = READY
        self.ready_units += 1
        now = self.env._now
        self.ready_since_s[unit] = now
        for _ in range(self.slots_per_unit):
            self._release(unit, now)
        if self.on_unit_change:
            self.on_unit_change(now)

    def drain(self, unit: int) -> None:
        """Stop a unit gracefully: no new work; it stops once its in-flight requests finish."""
        if self.state[unit] == STARTING:
            self.state[unit] = STOPPED
        elif self.state[unit] == READY:
            self.free = [u for u in self.free if u != unit]
            self.state[unit] = DRAINING if self.inflight[unit] else STOPPED
            self.ready_units -= 1
        if self.on_unit_change:
            self.on_unit_change(self.env._now)

    def crash(self, unit: int) -> list[int]:
        """Kill a unit at once: its in-flight requests fail now. Returns their ids."""
        now = self.env._now
        lost = sorted(self.inflight[unit])
        if self.state[unit] in (READY, DRAINING, STARTING):
            self.free = [u for u in self.free if u != unit]
            self.ready_units -= self.state[unit] == READY
            self.state[unit] = CRASHED
            for rid in lost:
                self.busy -= 1
                self.done_service_s += now - self.start_s[rid]
                self.unit_busy_s[unit] += now - self.start_s[rid]
                self.end_s[rid] = now
                self.on_fail(rid, now, self.crash_reason)
            self.inflight[unit].clear()
        if self.on_unit_change:
            self.on_unit_change(now)
        return lost

    # ------------------------------------------------------------------ hot path
    def enter(self, hop: Hop) -> None:
        """Callback: request ``hop.rid`` arrives at the station now (its hop is reused for the service)."""
        self.enter_rid(hop.rid, hop)

    def enter_rid(self, rid: int, hop: Hop | None = None) -> None:
        now = self.env._now
        self.enter_s[rid] = now
        if self.free:
            self._start(rid, self.free.pop(), now, hop)
            return
        limit = self.queue_limit
        if limit is not None and len(self.queue) >= limit:
            if self.timeout_s is not None:
                self._drop_expired(now)
            if len(self.queue) >= limit:
                self.start_s[rid] = now
                self.end_s[rid] = now
                self.on_fail(rid, now, self.reject_reason)
                return
        self.queue.append(rid)

    def _drop_expired(self, now: float) -> None:
        """Drop the timed-out requests at the head of the queue (all of them: it is deadline-ordered)."""
        queue, enter, timeout = self.queue, self.enter_s, self.timeout_s
        while queue and now - enter[queue[0]] > timeout:
            self._expire(queue.popleft())

    def _expire(self, rid: int) -> None:
        """A request timed out while queued: it left the queue at its deadline, unserved."""
        deadline = self.enter_s[rid] + self.timeout_s
        self.done_wait_s += self.timeout_s
        self.start_s[rid] = deadline
        self.end_s[rid] = deadline
        self.on_fail(rid, deadline, self.timeout_reason)

    def _start(self, rid: int, unit: int, now: float, hop: Hop | None = None) -> None:
        self.done_wait_s += now - self.enter_s[rid]
        self.start_s[rid] = now
        self.busy += 1
        self.inflight[unit].add(rid)
        if hop is None:  # a request taken from the queue; otherwise its arrival hop is reused
            hop = Hop()
            hop._ok = True
            hop.rid = rid
        hop.callbacks = [self._done]
        hop.unit = unit
        # same as env.schedule(hop, NORMAL, delay), without the method call
        heappush(self._heap, (now + self.service_s[rid] * self.slowdown[unit] * self.speed_factor,
                              NORMAL, next(self._eid), hop))

    def _done(self, hop: Hop) -> None:
        unit = hop.unit
        state = self.state[unit]
        if state == CRASHED:
            return  # already failed when the unit crashed
        rid = hop.rid
        now = self.env._now
        served_s = now - self.start_s[rid]
        self.done_service_s += served_s
        self.unit_busy_s[unit] += served_s
        self.busy -= 1
        self.inflight[unit].discard(rid)
        self.end_s[rid] = now
        timeout = self.timeout_s
        if timeout is not None and now - self.enter_s[rid] > timeout:
            self.on_fail(rid, self.enter_s[rid] + timeout, self.timeout_reason)
        else:
            self.on_done(rid, now)
        if state == READY:
            if self.queue:
                self._release(unit, now)
            else:
                self.free.append(unit)
        elif state == DRAINING and not self.inflight[unit]:
            self.state[unit] = STOPPED
            if self.on_unit_change:
                self.on_unit_change(now)

    def _release(self, unit: int, now: float) -> None:
        """A slot of ``unit`` is free: give it to the next live queued request."""
        queue = self.queue
        timeout = self.timeout_s
        while queue:
            rid = queue.popleft()
            if timeout is not None and now - self.enter_s[rid] > timeout:
                self._expire(rid)  # the client gave up while queued; the server discards it
                continue
            self._start(rid, unit, now)
            return
        self.free.append(unit)
