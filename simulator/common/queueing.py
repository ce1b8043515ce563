"""Closed-form queueing results (Erlang B, Erlang C, M/M/c) for staffing hints, capacity estimates
and theory checks.

Why: the simulator's queues (inference replicas, the human review queue) must agree with these
formulas when their assumptions hold (Poisson arrivals, exponential service, FCFS), which is how
the theory tests validate the simulator; the same formulas size the review team.

Notation: arrival rate ``lambda`` per second, mean service time ``service_s`` (``mu = 1/service_s``),
``c`` servers, offered load ``a = lambda * service_s`` in erlangs, utilisation ``rho = a / c``.
"""
from __future__ import annotations

import math


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


def service_scv(dist: str, cv: float) -> float:
    """Squared coefficient of variation of a service time the engine samples (``rng.draw``)."""
    if dist == "constant" or cv == 0:
        return 0.0
    if dist == "exponential":
        return 1.0
    return cv * cv


def wait_longer_than_probability(arrival_rate_per_s: float, service_s: float, c: int, t_s: float,
                                 scv: float = 1.0) -> float:
    """P(Wq > t) in an M/G/c queue, approximately: Erlang C times an exponential tail whose rate
    ``c*mu - lambda`` is divided by Allen-Cunneen's factor ``(1 + scv) / 2`` (exact for M/M/c,
    ``scv = 1``); 1.0 when unstable."""
    mu = 1.0 / service_s
    if arrival_rate_per_s >= c * mu:
        return 1.0
    wait_p = erlang_c_wait_probability(c, arrival_rate_per_s * service_s)
    stretch = max((1.0 + scv) / 2.0, 1e-9)
    return wait_p * math.exp(-(c * mu - arrival_rate_per_s) * t_s / stretch)


def servers_to_keep_up(arrival_rate_per_s: float, service_s: float, wait_budget_s: float, *, scv: float = 1.0,
                       max_utilization: float = 0.8, late_fraction: float = 0.01,
                       max_servers: int = 100_000) -> int:
    """Smallest c that keeps up with ``arrival_rate_per_s``: at most ``max_utilization`` busy (headroom
    for minute-to-minute swings) and at most ``late_fraction`` of requests waiting longer than
    ``wait_budget_s`` (:func:`wait_longer_than_probability`). An estimate: the queue is assumed to
    be in steady state at that rate."""
    if not 0 < max_utilization < 1 or not 0 < late_fraction < 1:
        raise ValueError("max_utilization and late_fraction must be in (0, 1)")
    if arrival_rate_per_s <= 0 or service_s <= 0:
        return 0
    load = arrival_rate_per_s * service_s
    c = max(1, math.ceil(load / max_utilization - 1e-9))
    while c <= max_servers:
        if wait_longer_than_probability(arrival_rate_per_s, service_s, c, wait_budget_s, scv) <= late_fraction:
            return c
        c += 1
    raise ValueError(f"more than {max_servers} servers needed")
