"""A tight driver for SimPy's event loop.

``simpy.Environment.run(until)`` calls ``step()`` once per event, which costs a method call,
an exception frame and a failure check each time. This loop does the same work on the same
heap, events and callbacks (so processes, timeouts and conditions behave exactly as in SimPy),
inlined. As in ``Environment.run(until)``, events scheduled exactly at ``until_s`` are not
processed. A failed event that nobody defused still stops the run with its exception.
"""
from __future__ import annotations

from heapq import heappop

import simpy


def run_until(env: simpy.Environment, until_s: float) -> None:
    queue = env._queue
    pop = heappop
    while queue and queue[0][0] < until_s:
        t, _, _, event = pop(queue)
        env._now = t
        callbacks = event.callbacks
        event.callbacks = None
        for callback in callbacks:
            callback(event)
        if not event._ok and not hasattr(event, "_defused"):
            exc = type(event._value)(*event._value.args)
            exc.__cause__ = event._value
            raise exc
    env._now = until_s
