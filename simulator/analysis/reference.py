"""An independent reference for a FIFO multi-server queue with a queue limit and a deadline.

Why: M/M/c/K with a deadline has no closed form, yet it is exactly the model pool's
behaviour under overload (``inference.queue_limit`` and ``inference.timeout_ms``). This
reference shares no code with the engine: no events, no SimPy, only the Kiefer-Wolfowitz
recursion for FIFO c-server queues (in arrival order, a request takes the server that frees
first), with the two rules written out directly:

* a request waiting longer than the deadline leaves unserved (it would start after
  ``arrival + deadline``) and never occupies a server; one that started but finishes after
  its deadline has timed out in service, its server busy to the end;
* an arrival that finds every server busy is rejected when ``queue_limit`` requests are
  already waiting and not yet past their deadline (FIFO with one deadline: the waiting
  requests are ordered by deadline, so those past it are exactly the oldest ones).
"""
from __future__ import annotations

import heapq
import math
from collections import deque

import numpy as np

SERVED, TIMEOUT_IN_SERVICE, TIMEOUT_IN_QUEUE, REJECTED = 0, 1, 2, 3


def fifo_deadline_queue(arrival_s: np.ndarray, service_s: np.ndarray, servers: int,
                        queue_limit: int | None, deadline_s: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Outcome code and queue wait (s; NaN when rejected) of each request, in arrival order."""
    deadline = math.inf if deadline_s is None else deadline_s
    limit = math.inf if queue_limit is None else queue_limit
    free = [0.0] * servers                     # when each server is next free (a heap)
    waiting: deque[tuple[float, float]] = deque()   # (arrival, start or inf) of requests that may still wait
    outcome = np.empty(len(arrival_s), dtype=np.int8)
    wait = np.full(len(arrival_s), math.nan)
    for i, (a, s) in enumerate(zip(arrival_s.tolist(), service_s.tolist())):
        # gone from the queue by now: started, or past the deadline (the oldest ones first)
        while waiting and (waiting[0][1] <= a or a - waiting[0][0] > deadline):
            waiting.popleft()
        first_free = free[0]
        if first_free > a and len(waiting) >= limit:
            outcome[i] = REJECTED
            continue
        start = a if first_free <= a else first_free
        if start - a > deadline:
            outcome[i] = TIMEOUT_IN_QUEUE      # its server goes to a later request
            wait[i] = deadline
            waiting.append((a, math.inf))
            continue
        heapq.heapreplace(free, start + s)
        wait[i] = start - a
        outcome[i] = TIMEOUT_IN_SERVICE if start + s - a > deadline else SERVED
        if start > a:
            waiting.append((a, start))
    return outcome, wait


def mmck_deadline_shares(arrival_rate_per_s: float, service_s: float, servers: int, queue_limit: int | None,
                         deadline_s: float | None, customers: int, seed: int) -> dict[str, float]:
    """Long-run shares of M/M/c/K+D from one long reference run (the first 5 % discarded)."""
    rng = np.random.default_rng(seed)
    arrival = np.cumsum(rng.exponential(1.0 / arrival_rate_per_s, customers))
    outcome, wait = fifo_deadline_queue(arrival, rng.exponential(service_s, customers), servers,
                                        queue_limit, deadline_s)
    keep = slice(customers // 20, None)
    outcome, wait = outcome[keep], wait[keep]
    entered = outcome <= TIMEOUT_IN_SERVICE
    return {"rejected": float(np.mean(outcome == REJECTED)),
            "timeout_in_queue": float(np.mean(outcome == TIMEOUT_IN_QUEUE)),
            "timeout": float(np.mean((outcome == TIMEOUT_IN_QUEUE) | (outcome == TIMEOUT_IN_SERVICE))),
            "served_mean_wait_s": float(wait[entered].mean())}
