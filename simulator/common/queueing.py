"""Closed-form queueing results (Erlang B, Erlang C, M/M/c) for staffing hints and theory checks.

Why: the simulator's queues (inference replicas, the human review queue) must agree with these
formulas when their assumptions hold (Poisson arrivals, exponential service, FCFS), which is how
the theory tests validate the simulator; the same formulas size the review team.

Notation: arrival rate ``lambda`` per second, mean service time ``service_s`` (``mu = 1/service_s``),
``c`` servers, offered load ``a = lambda * service_s`` in erlangs, utilisation ``rho = a / c``.
"""
from __future__ import annotations

import math
from typing import NamedTuple


def erlang_b(c: int, offered_load: float) -> float:
    """Blocking probability of M/M/c/c (Erlang B), by the stable recursion B(k) = aB/(k + aB)."""
    if c < 0 or offered_load < 0:
        raise ValueError("c and offered_load must be >= 0")
    b = 1.0
    for k in range(1, c + 1):
        b = offered_load * b / (k + offered_load * b)
    return b


def erlang_c_wait_probability(c: int, offered_load: float) -> float:
    """P(an arrival waits) in M/M/c (Erlang C): ``c*B / (c - a*(1 - B))``; 1.0 when a >= c."""
    if c < 1:
        raise ValueError("c must be >= 1")
    if offered_load <= 0:
        return 0.0
    if offered_load >= c:
        return 1.0
    b = erlang_b(c, offered_load)
    return c * b / (c - offered_load * (1.0 - b))


def mmc_mean_wait_s(arrival_rate_per_s: float, service_s: float, c: int) -> float:
    """Mean time in queue (before service) Wq = C / (c*mu - lambda); inf when unstable."""
    mu = 1.0 / service_s
    if arrival_rate_per_s >= c * mu:
        return math.inf
    wait_p = erlang_c_wait_probability(c, arrival_rate_per_s * service_s)
    return wait_p / (c * mu - arrival_rate_per_s)


def mmc_mean_response_s(arrival_rate_per_s: float, service_s: float, c: int) -> float:
    """Mean time in system W = Wq + service_s."""
    return mmc_mean_wait_s(arrival_rate_per_s, service_s, c) + service_s


def mmc_mean_queue_length(arrival_rate_per_s: float, service_s: float, c: int) -> float:
    """Mean number waiting Lq = lambda * Wq (Little's law)."""
    wait_s = mmc_mean_wait_s(arrival_rate_per_s, service_s, c)
    return math.inf if math.isinf(wait_s) else arrival_rate_per_s * wait_s


def mmc_wait_within_probability(
    arrival_rate_per_s: float, service_s: float, c: int, t_s: float
) -> float:
    """P(Wq <= t) = 1 - C * exp(-(c*mu - lambda) * t) for FCFS M/M/c; 0 when unstable."""
    mu = 1.0 / service_s
    if arrival_rate_per_s >= c * mu:
        return 0.0
    wait_p = erlang_c_wait_probability(c, arrival_rate_per_s * service_s)
    return 1.0 - wait_p * math.exp(-(c * mu - arrival_rate_per_s) * t_s)


def servers_needed_for_sla(
    arrival_rate_per_s: float,
    service_s: float,
    sla_s: float,
    target_fraction: float = 0.8,
    max_servers: int = 100_000,
) -> int:
    """Smallest c with P(Wq <= sla_s) >= target_fraction (the "80 % answered in 20 s" rule).

    Starts from the smallest stable c (> offered load) and counts up; raises if ``max_servers``
    is not enough.
    """
    if not 0 < target_fraction < 1:
        raise ValueError("target_fraction must be in (0, 1)")
    if arrival_rate_per_s <= 0:
        return 0
    load = arrival_rate_per_s * service_s
    c = max(1, math.floor(load) + 1)
    while c <= max_servers:
        if mmc_wait_within_probability(arrival_rate_per_s, service_s, c, sla_s) >= target_fraction:
            return c
        c += 1
    raise ValueError(f"more than {max_servers} servers needed")


def mmck_blocking_probability(arrival_rate_per_s: float, service_s: float, c: int, queue_limit: int) -> float:
    """P(an arrival is rejected) in M/M/c/K with ``queue_limit`` waiting places (K = c + limit).

    Birth-death chain: p_n ~ a^n / n! for n <= c and a^c / c! rho^(n-c) above; by PASTA an
    arrival is rejected with the probability that all c + limit places are taken.
    """
    if c < 1 or queue_limit < 0:
        raise ValueError("c must be >= 1 and queue_limit >= 0")
    a = arrival_rate_per_s * service_s
    rho = a / c
    weights = [1.0]
    for n in range(1, c + queue_limit + 1):
        weights.append(weights[-1] * (a / n if n <= c else rho))
    return weights[-1] / sum(weights)


class DeadlineQueue(NamedTuple):
    """Long-run shares of arrivals (and the mean wait of those served) in M/M/c+D."""

    wait_probability: float          # the arrival finds every server busy
    timeout_in_queue: float          # still waiting at its deadline: leaves unserved
    timeout_in_service: float        # served, but wait + service passes the deadline
    served_mean_wait_s: float        # mean wait of the arrivals that entered service


def mmc_deadline(arrival_rate_per_s: float, service_s: float, c: int, deadline_s: float) -> DeadlineQueue:
    """M/M/c with one deadline ``deadline_s`` from arrival, no waiting-room limit (M/M/c+D).

    A request still queued at its deadline leaves unserved; one in service at its deadline
    fails but keeps its server until its service ends. Exact, from the offered waiting time V
    (what an arrival would wait): with every server busy, a joining request adds one
    Exp(c mu) gap to V and V falls at rate 1, so by level crossing its density is
    ``f(v) = lam p exp((lam - c mu) v)`` up to D and ``f(D) exp(-c mu (v - D))`` beyond, where p is
    the (birth-death) probability of c - 1 busy servers. An arrival times out in the queue when
    V > D, and in service when V <= D < V + S with S ~ Exp(mu) (PASTA).
    """
    if c < 1 or service_s <= 0 or deadline_s < 0:
        raise ValueError("c must be >= 1, service_s > 0 and deadline_s >= 0")
    lam, mu, d = arrival_rate_per_s, 1.0 / service_s, deadline_s
    a = lam * service_s
    idle = [1.0]
    for k in range(1, c):
        idle.append(idle[-1] * a / k)          # c - 1 or fewer busy: V = 0
    p = idle[-1]
    beta = lam - c * mu
    # every mass is scaled by exp(-max(beta, 0) d) so that an overloaded queue with a long
    # deadline does not overflow; the shares are ratios, so the scale cancels
    if beta > 0:
        scale = math.exp(-beta * d)
        join = -math.expm1(-beta * d) / beta                  # int_0^d exp(beta v) dv, scaled
        late = 1.0                                            # exp(beta d), scaled
        moment = (beta * d - 1 + math.exp(-beta * d)) / beta**2
        shift = -math.expm1(-(beta + mu) * d) / (beta + mu)   # int_0^d exp(beta v - mu (d - v)) dv, scaled
    else:
        scale = 1.0
        join = d if beta == 0 else math.expm1(beta * d) / beta
        late = math.exp(beta * d)
        moment = d * d / 2 if beta == 0 else (math.exp(beta * d) * (beta * d - 1) + 1) / beta**2
        shift = d * math.exp(-mu * d) if beta + mu == 0 else (math.exp(beta * d) - math.exp(-mu * d)) / (beta + mu)
    m_idle = sum(idle) * scale
    m_join = lam * p * join                     # 0 < V <= D: will be served
    m_late = lam * p * late / (c * mu)          # V > D: times out in the queue
    total = m_idle + m_join + m_late
    in_service = math.exp(-mu * d) * m_idle + lam * p * shift
    return DeadlineQueue((m_join + m_late) / total, m_late / total, in_service / total,
                         lam * p * moment / (m_idle + m_join))
