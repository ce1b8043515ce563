"""Instant queueing-theory preview of a pipeline, shown before (or beside) a simulation.

Why: a simulation takes seconds; a closed-form approximation takes microseconds and tells the user
at once whether a configuration is stable and roughly how slow it will be. The numbers here are
*approximations* (exact only for M/M/c, M/M/1 and M/G/1 means); the simulation is the reference.

Formulas (Wq = mean time in queue, S = mean service time, μ = 1/S, ρ = λS/c, a = λS):
- Erlang-C (M/M/c):           Wq = C(c, a) / (cμ - λ)
- Allen–Cunneen (G/G/c):      Wq ≈ C(c, a) / (cμ - λ) · (ca² + cs²) / 2
- Kingman (G/G/1):            Wq ≈ ρ / (1 - ρ) · (ca² + cs²) / 2 · S
- Pollaczek–Khinchine (M/G/1): Wq = ρ S (1 + cs²) / (2 (1 - ρ));  M/D/1 is cs² = 0
- Whitt's QNA linking equation for the departure SCV of a c-server station (tandem decomposition):
  cd² = 1 + (1 - ρ²)(ca² - 1) + ρ² (cs² - 1) / sqrt(c)
Unstable stations (ρ >= 1) have Wq = +inf and are flagged ``stable = False``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaincinv

_P99 = 0.99


def _erlang_c(servers: int, offered_load: float) -> float:
    """Probability an arrival waits in M/M/c (Erlang C), via the stable Erlang-B recursion."""
    if offered_load <= 0.0:
        return 0.0
    if offered_load >= servers:
        return 1.0
    erlang_b = 1.0
    for k in range(1, servers + 1):
        erlang_b = offered_load * erlang_b / (k + offered_load * erlang_b)
    rho = offered_load / servers
    return erlang_b / (1.0 - rho * (1.0 - erlang_b))


def erlang_c_wait_probability(servers: int, offered_load: float) -> float:
    """P(wait > 0) in M/M/c with ``offered_load`` = λS Erlangs (1.0 when unstable)."""
    _check_servers(servers)
    return _erlang_c(servers, offered_load)


def _check_servers(servers: int) -> None:
    if servers < 1:
        raise ValueError(f"servers must be >= 1, got {servers}")


def mmc_wait_s(arrival_rate_per_s: float, service_mean_s: float, servers: int) -> float:
    """Mean M/M/c queueing delay (Erlang C); +inf when λS >= c."""
    return allen_cunneen_wait_s(arrival_rate_per_s, service_mean_s, servers, 1.0, 1.0)


def allen_cunneen_wait_s(
    arrival_rate_per_s: float,
    service_mean_s: float,
    servers: int,
    arrival_scv: float,
    service_scv: float,
) -> float:
    """Allen–Cunneen G/G/c mean queueing delay; equals Erlang C when ca² = cs² = 1."""
    _check_servers(servers)
    offered = arrival_rate_per_s * service_mean_s
    if offered <= 0.0:
        return 0.0
    if offered >= servers:
        return math.inf
    spare_rate_per_s = servers / service_mean_s - arrival_rate_per_s  # cμ - λ
    return _erlang_c(servers, offered) / spare_rate_per_s * (arrival_scv + service_scv) / 2.0


def kingman_wait_s(
    arrival_rate_per_s: float, service_mean_s: float, arrival_scv: float, service_scv: float
) -> float:
    """Kingman's G/G/1 approximation; equals M/M/1 when ca² = cs² = 1."""
    rho = arrival_rate_per_s * service_mean_s
    if rho <= 0.0:
        return 0.0
    if rho >= 1.0:
        return math.inf
    return rho / (1.0 - rho) * (arrival_scv + service_scv) / 2.0 * service_mean_s


def pollaczek_khinchine_wait_s(
    arrival_rate_per_s: float, service_mean_s: float, service_scv: float
) -> float:
    """Exact M/G/1 mean queueing delay (M/D/1 with ``service_scv=0``, M/M/1 with 1)."""
    rho = arrival_rate_per_s * service_mean_s
    if rho <= 0.0:
        return 0.0
    if rho >= 1.0:
        return math.inf
    return rho * service_mean_s * (1.0 + service_scv) / (2.0 * (1.0 - rho))


def departure_scv(arrival_scv: float, service_scv: float, utilization: float, servers: int) -> float:
    """Whitt's QNA linking equation: SCV of a c-server station's departure process."""
    _check_servers(servers)
    rho2 = min(utilization, 1.0) ** 2
    return 1.0 + (1.0 - rho2) * (arrival_scv - 1.0) + rho2 * (service_scv - 1.0) / math.sqrt(servers)


@dataclass(frozen=True)
class FluidResult:
    """Backlog (requests) and approximate wait at the end of each grid step."""

    backlog: np.ndarray
    wait_s: np.ndarray


def fluid_queue(
    rate_per_s: np.ndarray | list[float],
    dt_s: float,
    capacity_per_s: float | np.ndarray,
    initial_backlog: float = 0.0,
) -> FluidResult:
    """Deterministic fluid model for time-varying load (bursts, diurnal peaks, cold starts).

    Step i covers [t_i, t_i + dt) with constant arrival rate ``rate_per_s[i]`` and capacity
    ``capacity_per_s`` (scalar or per step): backlog_{i+1} = max(0, backlog_i + (rate - capacity)·dt),
    and a request arriving then waits ≈ backlog / capacity (+inf at zero capacity with a backlog).
    Ignores randomness, so it shows overload build-up and drain but no queueing below capacity.
    Computed without a Python loop: with S_i the cumulative net inflow, the reflected walk is
    backlog_i = S_i - min(-initial_backlog, min_{j<=i} S_j).
    """
    if dt_s <= 0.0:
        raise ValueError(f"dt_s must be > 0, got {dt_s}")
    rate = np.asarray(rate_per_s, dtype=float)
    capacity = np.broadcast_to(np.asarray(capacity_per_s, dtype=float), rate.shape)
    net = np.cumsum((rate - capacity) * dt_s)
    backlog = net - np.minimum(np.minimum.accumulate(net), -float(initial_backlog))
    backlog = np.maximum(backlog, 0.0)  # guard against -0.0 / rounding
    with np.errstate(divide="ignore", invalid="ignore"):
        wait_s = np.where(backlog > 0.0, backlog / capacity, 0.0)
    return FluidResult(backlog=backlog, wait_s=wait_s)


@dataclass(frozen=True)
class StageSpec:
    """One pipeline stage as the preview sees it.

    ``servers=None`` means uncontended (infinite servers, e.g. a third-party API with no local
    limit): no queueing, only ``service_mean_s + fixed_delay_s``. ``visit_fraction`` is the share
    of requests that go through the stage (e.g. the feature-store miss ratio for the database).
    """

    name: str
    servers: int | None
    service_mean_s: float = 0.0
    service_scv: float = 1.0
    fixed_delay_s: float = 0.0
    visit_fraction: float = 1.0

    def __post_init__(self) -> None:
        if self.servers is not None and self.servers < 1:
            raise ValueError(f"{self.name}: servers must be >= 1 or None, got {self.servers}")
        if self.service_mean_s < 0.0 or self.fixed_delay_s < 0.0 or self.service_scv < 0.0:
            raise ValueError(f"{self.name}: service_mean_s, fixed_delay_s, service_scv must be >= 0")
        if not 0.0 <= self.visit_fraction <= 1.0:
            raise ValueError(f"{self.name}: visit_fraction must be in [0, 1]")


def _stage_estimate(spec: StageSpec, rate_per_s: float, arrival_scv: float) -> dict:
    """Queue metrics for one stage, including the exponential waiting-time tail.

    Tail model: P(W > t) = P_wait · exp(-θ t), with P_wait = Erlang C and θ chosen so the mean
    matches Allen–Cunneen (θ = P_wait / Wq). For M/M/c this is exact: θ = cμ - λ.
    """
    service_s = spec.service_mean_s
    out = {
        "name": spec.name,
        "arrival_rate_per_s": rate_per_s,
        "arrival_scv": arrival_scv,
        "utilization": math.nan,
        "wait_probability": 0.0,
        "wait_s": 0.0,
        "wait_p99_s": 0.0,
        "service_s": service_s,
        "fixed_delay_s": spec.fixed_delay_s,
        "stable": True,
        "departure_scv": arrival_scv,
        "_wait_var_s2": 0.0,
    }
    if spec.servers is None:
        return out
    c = spec.servers
    offered = rate_per_s * service_s
    rho = offered / c
    wait_s = allen_cunneen_wait_s(rate_per_s, service_s, c, arrival_scv, spec.service_scv)
    p_wait = _erlang_c(c, offered)
    out.update(utilization=rho, wait_probability=p_wait, wait_s=wait_s, stable=rho < 1.0)
    out["departure_scv"] = departure_scv(arrival_scv, spec.service_scv, rho, c)
    if math.isinf(wait_s):
        out.update(wait_p99_s=math.inf, _wait_var_s2=math.inf)
    elif wait_s > 0.0:
        theta = p_wait / wait_s
        out["wait_p99_s"] = math.log(p_wait / (1.0 - _P99)) / theta if p_wait > 1.0 - _P99 else 0.0
        out["_wait_var_s2"] = 2.0 * p_wait / theta**2 - wait_s**2
    return out


def preview(stages: list[StageSpec], arrival_rate_per_s: float, arrival_scv: float = 1.0) -> dict:
    """Approximate per-stage utilization/wait and end-to-end latency for a tandem pipeline.

    Decomposition (QNA): each stage is an independent G/G/c queue whose arrival SCV is the
    departure SCV of the flow before it. A stage visited by a fraction p of requests sees a random
    split of that flow (ca² = p·c² + 1 - p); afterwards the visited and bypassing flows merge
    again (rate-weighted SCV), which is what the next stage sees.

    Mean latency = Σ p · (Wq + S + fixed delay). The p99 is a two-moment approximation: each
    stage's time is (wait with the exponential tail above) + (service with variance cs²·S²) +
    (fixed delay), visited with probability p; stages are treated as independent, their means and
    variances add, and the random part beyond the deterministic floor is fitted with a gamma
    distribution. For a single M/M/1 stage this gives the exact sojourn-time p99, ln(100)/(μ - λ);
    otherwise expect tens of percent error, more near saturation, where waits are correlated.
    """
    stage_rows = []
    flow_scv = arrival_scv
    floor_s = mean_s = var_s2 = 0.0
    for spec in stages:
        p = spec.visit_fraction
        row = _stage_estimate(spec, arrival_rate_per_s * p, p * flow_scv + 1.0 - p)
        bypass_scv = (1.0 - p) * flow_scv + p
        flow_scv = p * row["departure_scv"] + (1.0 - p) * bypass_scv

        stage_mean_s = row["wait_s"] + spec.service_mean_s + spec.fixed_delay_s
        second_moment = (
            row["_wait_var_s2"] + spec.service_scv * spec.service_mean_s**2 + stage_mean_s**2
        )
        row["sojourn_s"] = stage_mean_s
        row["latency_contribution_s"] = p * stage_mean_s
        mean_s += p * stage_mean_s
        var_s2 += p * second_moment - (p * stage_mean_s) ** 2
        if p == 1.0:
            floor_s += spec.fixed_delay_s + (spec.service_mean_s if spec.service_scv == 0.0 else 0.0)
        del row["_wait_var_s2"]
        stage_rows.append(row)

    stable = all(row["stable"] for row in stage_rows)
    return {
        "stages": stage_rows,
        "arrival_rate_per_s": arrival_rate_per_s,
        "stable": stable,
        "latency_s": mean_s if stable else math.inf,
        "latency_p99_s": _gamma_p99(floor_s, mean_s, var_s2) if stable else math.inf,
        "bottleneck": max(
            (r for r in stage_rows if not math.isnan(r["utilization"])),
            key=lambda r: r["utilization"],
            default={"name": None},
        )["name"],
    }


def _gamma_p99(floor_s: float, mean_s: float, var_s2: float) -> float:
    """p99 of floor + Gamma(mean - floor, var), moments matched; the floor alone if var ~ 0."""
    random_mean_s = mean_s - floor_s
    if var_s2 <= 1e-18 or random_mean_s <= 0.0:
        return mean_s
    shape = random_mean_s**2 / var_s2
    scale_s = var_s2 / random_mean_s
    return floor_s + scale_s * float(gammaincinv(shape, _P99))
