"""A FIFO multi-server station driven by callbacks instead of a process per request.

Why not ``simpy.Resource``: a request/release cycle costs several events and a generator
per request. Here a station is a free-slot stack plus a deque, and each service is one
scheduled event whose callback starts the next queued request. Slots belong to *units*
(model replicas, DB connections) so that later features can stop, crash or slow a unit.

Per-request times are written into columnar lists owned by the caller
(``enter_s``, ``start_s``, ``end_s``), never into per-request dicts.
"""
from __future__ import annotations

from collections import deque
from typing import Callable

import simpy

NORMAL = 1  # simpy.events.NORMAL


class Hop:
    """The smallest object SimPy's event loop can process: one callback, one request id."""

    __slots__ = ("callbacks", "_ok", "rid", "unit")


class Pool:
    """``units`` x ``slots_per_unit`` servers in front of one FIFO queue.

    ``service_s[rid]`` is the request's own service time (drawn in advance, so that two
    scenarios with the same seed give a request the same work); a unit's ``slowdown``
    factor multiplies it. ``on_done(rid, now)`` hands the request to the next stage;
    ``on_fail(rid, t_s, reason)`` ends it.
    """

    def __init__(self, env: simpy.Environment, units: int, slots_per_unit: int,
                 service_s: list, enter_s: list, start_s: list, end_s: list,
                 on_done: Callable, on_fail: Callable,
                 queue_limit: int | None = None, timeout_s: float | None = None,
                 reject_reason: int = 1, timeout_reason: int = 2):
        self.env = env
        self.slots_per_unit = slots_per_unit
        self.service_s = service_s
        self.enter_s, self.start_s, self.end_s = enter_s, start_s, end_s
        self.on_done, self.on_fail = on_done, on_fail
        self.queue_limit = queue_limit
        self.timeout_s = timeout_s
        self.reject_reason, self.timeout_reason = reject_reason, timeout_reason
        self.queue: deque = deque()
        self.free: list[int] = []
        self.slowdown: list[float] = []
        self.alive: list[bool] = []
        self.busy = 0
        self.served = 0
        for _ in range(units):
            self.add_unit()

    # ------------------------------------------------------------------ units
    def add_unit(self) -> int:
        """Add a ready unit with all its slots free; queued requests start at once."""
        unit = len(self.alive)
        self.alive.append(True)
        self.slowdown.append(1.0)
        for _ in range(self.slots_per_unit):
            self._release(unit, self.env.now)
        return unit

    @property
    def capacity(self) -> int:
        return sum(self.alive) * self.slots_per_unit

    # ------------------------------------------------------------------ hot path
    def enter(self, hop: Hop) -> None:
        """Callback: request ``hop.rid`` arrives at the station now."""
        rid = hop.rid
        now = self.env._now
        self.enter_s[rid] = now
        if self.free:
            self._start(rid, self.free.pop(), now)
        elif self.queue_limit is not None and len(self.queue) >= self.queue_limit:
            self.start_s[rid] = now
            self.end_s[rid] = now
            self.on_fail(rid, now, self.reject_reason)
        else:
            self.queue.append(rid)

    def _start(self, rid: int, unit: int, now: float) -> None:
        self.start_s[rid] = now
        self.busy += 1
        hop = Hop()
        hop.callbacks = [self._done]
        hop._ok = True
        hop.rid = rid
        hop.unit = unit
        self.env.schedule(hop, NORMAL, self.service_s[rid] * self.slowdown[unit])

    def _done(self, hop: Hop) -> None:
        rid = hop.rid
        now = self.env._now
        self.busy -= 1
        self.served += 1
        self.end_s[rid] = now
        timeout = self.timeout_s
        if timeout is not None and now - self.enter_s[rid] > timeout:
            self.on_fail(rid, self.enter_s[rid] + timeout, self.timeout_reason)
        else:
            self.on_done(rid, now)
        self._release(hop.unit, now)

    def _release(self, unit: int, now: float) -> None:
        """A slot of ``unit`` is free: give it to the next live queued request."""
        queue = self.queue
        timeout = self.timeout_s
        while queue:
            rid = queue.popleft()
            if timeout is not None and now - self.enter_s[rid] > timeout:
                # the client gave up while queued; the server discards it when it surfaces
                self.start_s[rid] = now
                self.end_s[rid] = now
                self.on_fail(rid, self.enter_s[rid] + timeout, self.timeout_reason)
                continue
            self._start(rid, unit, now)
            return
        self.free.append(unit)
