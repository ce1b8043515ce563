"""The model pool with a queue limit and a deadline, against references that share no code with it.

Method:
* the pool (driven directly with SimPy) and ``simulator.analysis.reference`` (the event-free
  Kiefer-Wolfowitz recursion for FIFO c-server queues) get the *same* arrival and service
  times, so every request must end the same way in both, to the last bit;
* that reference is checked in its two limits against closed forms: no deadline is M/M/c/K
  (birth-death chain), no queue limit is M/M/c+D (offered-waiting-time density, here
  recomputed by numerical integration of its level-crossing equation, independently of the
  closed form in ``simulator.common.queueing``); with both, the issue's M/M/4 case at rho 1.2,
  limit 10, deadline 30 ms rejects 3.3 % of arrivals, not 5.3 %.
"""
import math

import numpy as np
import pytest
import simpy

from simulator.analysis.reference import (
    REJECTED,
    SERVED,
    TIMEOUT_IN_QUEUE,
    TIMEOUT_IN_SERVICE,
    fifo_deadline_queue,
    mmck_deadline_shares,
)
from simulator.common.queueing import mmc_deadline, mmck_blocking_probability
from simulator.engine.loop import run_until
from simulator.engine.pool import NORMAL, Hop, Pool

LAM, S, C, LIMIT, DEADLINE = 240.0, 0.020, 4, 10, 0.030   # M/M/4 at rho 1.2


def draws(n, seed):
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.exponential(1 / LAM, n)), rng.exponential(S, n)


def run_pool(arrival, service, queue_limit, deadline_s):
    """Feed the arrivals to a Pool of C single-slot units; return (outcome code, queue wait) per request."""
    n = len(arrival)
    env = simpy.Environment()
    enter, start, end = [math.nan] * n, [math.nan] * n, [math.nan] * n
    outcome = np.full(n, -1, dtype=np.int8)

    def done(rid, now):
        outcome[rid] = SERVED

    def fail(rid, t_s, reason):
        if reason == 1:
            outcome[rid] = REJECTED
        else:  # a timeout: in the queue it never got service time
            outcome[rid] = TIMEOUT_IN_QUEUE if end[rid] == start[rid] else TIMEOUT_IN_SERVICE

    pool = Pool(env, C, 1, service.tolist(), enter, start, end, on_done=done, on_fail=fail,
                queue_limit=queue_limit, timeout_s=deadline_s, reject_reason=1, timeout_reason=2)
    for rid, t in enumerate(arrival.tolist()):
        hop = Hop()
        hop.callbacks, hop._ok, hop.rid = [pool.enter], True, rid
        env.schedule(hop, NORMAL, t)
    run_until(env, math.inf)
    wait = np.where(outcome == REJECTED, math.nan, np.array(start) - np.array(enter))
    return outcome, wait


@pytest.mark.parametrize("queue_limit, deadline_s", [(LIMIT, DEADLINE), (None, DEADLINE), (LIMIT, None), (0, DEADLINE)])
def test_pool_ends_every_request_as_the_reference_does(queue_limit, deadline_s):
    """Same draws, same rules: identical outcome and queue wait (to rounding) for each of 50,000 requests."""
    arrival, service = draws(50_000, 1)
    got, got_wait = run_pool(arrival, service, queue_limit, deadline_s)
    want, want_wait = fifo_deadline_queue(arrival, service, C, queue_limit, deadline_s)
    assert (got == want).all(), np.nonzero(got != want)[0][:5]
    np.testing.assert_allclose(got_wait, want_wait, rtol=0, atol=1e-12)  # (a + D) - a is D to rounding
    if queue_limit is not None and deadline_s is not None and queue_limit > 0:
        assert (got == REJECTED).any() and (got == TIMEOUT_IN_QUEUE).any() and (got == TIMEOUT_IN_SERVICE).any()


def offered_wait_shares(lam, s, c, d, grid=200_000):
    """M/M/c+D by integrating the offered-wait density's level-crossing equation numerically:
    f(v) = lam p exp(-c mu v) + lam int_0^min(v, D) f(u) exp(-c mu (v - u)) du (trapezoid steps)."""
    mu = 1 / s
    idle = [1.0]
    for k in range(1, c):
        idle.append(idle[-1] * lam * s / k)
    p = idle[-1]
    v = np.linspace(0.0, d, grid + 1)
    h = v[1] - v[0]
    f = np.empty_like(v)
    f[0] = lam * p
    conv = 0.0  # int_0^v f(u) exp(-c mu (v - u)) du, advanced one step at a time
    for i in range(1, len(v)):
        decay = math.exp(-c * mu * h)
        # f_i = lam p e^{-c mu v_i} + lam (conv_{i-1} decay + h/2 (f_{i-1} decay + f_i))
        rhs = lam * p * math.exp(-c * mu * v[i]) + lam * (conv * decay + h / 2 * f[i - 1] * decay)
        f[i] = rhs / (1 - lam * h / 2)
        conv = conv * decay + h / 2 * (f[i - 1] * decay + f[i])
    join = np.trapezoid(f, v)
    late = f[-1] / (c * mu)
    total = sum(idle) + join + late
    return late / total, np.trapezoid(v * f, v) / (sum(idle) + join)


def test_closed_form_for_a_deadline_without_queue_limit_matches_numerical_integration():
    """The M/M/c+D closed form used by validate-model agrees with a numerical solution of its equation."""
    for lam, d in ((240.0, 0.030), (160.0, 0.010), (200.0, 0.050)):
        late, wait = offered_wait_shares(lam, S, C, d)
        exact = mmc_deadline(lam, S, C, d)
        assert exact.timeout_in_queue == pytest.approx(late, rel=1e-4)
        assert exact.served_mean_wait_s == pytest.approx(wait, rel=1e-4)


def test_reference_in_its_limits_against_closed_forms():
    """No deadline: M/M/4/K blocking; no queue limit: M/M/4+D timeouts and the wait of those served."""
    no_deadline = mmck_deadline_shares(LAM, S, C, LIMIT, None, 600_000, 3)
    assert no_deadline["rejected"] == pytest.approx(mmck_blocking_probability(LAM, S, C, LIMIT), rel=0.03)
    no_limit = mmck_deadline_shares(LAM, S, C, None, DEADLINE, 600_000, 4)
    exact = mmc_deadline(LAM, S, C, DEADLINE)
    assert no_limit["timeout_in_queue"] == pytest.approx(exact.timeout_in_queue, rel=0.03)
    assert no_limit["timeout"] == pytest.approx(exact.timeout_in_queue + exact.timeout_in_service, rel=0.02)
    assert no_limit["served_mean_wait_s"] == pytest.approx(exact.served_mean_wait_s, rel=0.03)


def test_issue_case_rejects_three_percent_when_only_live_requests_count():
    """M/M/4, rho 1.2, limit 10, deadline 30 ms: about 3.3 % rejected (5.3 % if expired ones counted)."""
    shares = mmck_deadline_shares(LAM, S, C, LIMIT, DEADLINE, 600_000, 5)
    assert 0.030 < shares["rejected"] < 0.037
