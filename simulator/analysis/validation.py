"""Textbook validation: the simulator against closed-form queueing results, rerun on demand.

Why: an architect should not have to take the simulator on faith. Each case switches every
stage off except the ones it needs, so that a formula from a queueing textbook gives the
exact long-run answer, runs a few independent replications, and passes when the simulated
mean is within the stated relative tolerance of the formula.

Cases (λ arrival rate, S mean service time, ρ utilization, Wq mean wait in queue):
- M/M/1, ρ = 0.7:           Wq = ρ S / (1 - ρ)
- M/M/4, ρ = 0.8:           Wq = C(c, λS) / (c/S - λ)                        (Erlang C)
- M/D/1, ρ = 0.8:           Wq = ρ S / (2 (1 - ρ))                           (Pollaczek-Khinchine)
- M/G/1, gamma service with cv 1.5, ρ = 0.6:  Wq = ρ S (1 + cv²) / (2 (1 - ρ))
- Tandem Jackson network: a stream consumer (M/M/1, ρ = 0.5) feeding the model pool (M/M/2,
  ρ = 0.75). By Burke's theorem the consumer's departures are Poisson, so each station is
  its own M/M/c and the mean latency is the sum of both stations' Wq + S.
- M/M/4/10 (a queue limit of 10), ρ = 1.2: P(rejected) from the birth-death chain.
- M/M/4+D (a 30 ms deadline, no limit), ρ = 1.2: the shares that time out in the queue and in
  all, and the mean wait of those served, from the offered-waiting-time density
  (``simulator.common.queueing.mmc_deadline``).
- M/M/4/10+D (both), ρ = 1.2: no closed form; the reference is an independent event-free
  FIFO recursion (``simulator.analysis.reference``) over a million customers.
- Cached fallback: no breaker, lognormal 60 ms (cv 1.5) calls with a 100 ms timeout, cached
  answers at most 50 ms old: a failed call finds a success of its region completed within
  50 ms with probability 1 - exp(-λ_r P(ok) · 0.05), since those completions are Poisson.
- Arrivals around a 0.3 s surge (×20, no ramp) starting at 4.35 s: the count in
  [4.0 s, 4.65 s) is λ (0.35 + 20 · 0.3).

Tolerances: 5 % on mean waits, latency, shares and counts, 1 % on utilization, 12 % on the
rare M/M/4/10+D rejections (3 % of customers: the standard error of that share is about
2.5 % of it at the standard size, plus the reference's own 1.3 %). At the standard size (about
400,000 customers per case in 4 replications) the standard error of a mean wait is about
1-1.5 %, so 5 % is 3-4 standard errors: a correct simulator passes essentially always, and a
bias of a few percent (a wrong formula, a lost customer class) fails. Smaller runs (``scale`` < 1)
widen the tolerances by 1/sqrt(scale), as the standard error grows.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import pandas as pd
from scipy.stats import norm

from simulator.analysis import stats
from simulator.analysis.analytic import pollaczek_khinchine_wait_s
from simulator.analysis.backends import Backend, SerialBackend, simulate_summary
from simulator.analysis.experiments import flatten_summary, replication_seeds
from simulator.analysis.preview import preview_scenario
from simulator.analysis.reference import mmck_deadline_shares
from simulator.common.queueing import mmc_deadline, mmc_mean_wait_s, mmck_blocking_probability
from simulator.scenario.config import Scenario, parse_scenario

CUSTOMERS_PER_CASE = 400_000
WARMUP_SERVICES = 2_000  # warm-up per replication, in mean service times
WAIT_TOLERANCE = 0.05
UTILIZATION_TOLERANCE = 0.01
RARE_SHARE_TOLERANCE = 0.12  # a 3 % share: its standard error is about 2.5 % of it at the standard size


class Check(NamedTuple):
    """One number to reproduce: a summary KPI, its closed-form value and the tolerance.

    A KPI written ``share:<kpi>`` is that count as a share of the finished requests.
    """

    metric: str
    kpi: str
    theory: float
    tolerance: float  # relative


class Case(NamedTuple):
    """A textbook queue as a scenario, with the closed forms it must reproduce."""

    name: str
    story: str
    scenario: Scenario
    checks: tuple[Check, ...]


def _queue_scenario(name: str, rate_per_s: float, service_ms: float, servers: int, dist: str, cv: float,
                    customers: int, stream: dict | None = None, queue_limit: int | None = None,
                    timeout_ms: float | None = None) -> Scenario:
    """Only the model pool (and optionally one stream consumer) switched on; Poisson arrivals."""
    slowest_ms = max(service_ms, stream["process_ms"] if stream else 0.0)
    warmup_s = WARMUP_SERVICES * slowest_ms / 1000
    data = {
        "name": name, "seed": 2024, "duration_s": warmup_s + customers / rate_per_s, "warmup_s": warmup_s,
        "slo_latency_ms": 60_000,
        "traffic": {"kind": "poisson", "rate_per_s": rate_per_s, "segments": {"all": 1.0}, "regions": {"all": 1.0}},
        "ingestion": {"mode": "stream", "stream": stream} if stream else {"mode": "direct"},
        "feature_store": {"mode": "off"},
        "external_api": {"enabled": False},
        "inference": {"enabled": True, "replicas": servers, "concurrency": 1, "service_ms": service_ms,
                      "service_dist": dist, "service_cv": cv, "queue_limit": queue_limit, "timeout_ms": timeout_ms},
    }
    return parse_scenario(data)


REGIONS = {"north": 0.3, "south": 0.3, "east": 0.2, "west": 0.2}


def _cached_fallback_scenario(customers: int) -> tuple[Scenario, float]:
    """The weather call alone, no breaker; returns the scenario and its causal failure share."""
    rate, cv, mean_s, timeout_s, max_age_s = 80.0, 1.5, 0.060, 0.100, 0.050
    data = {"name": "cached_fallback", "seed": 2024, "duration_s": 60 + customers / rate, "warmup_s": 60,
            "traffic": {"rate_per_s": rate, "segments": {"all": 1.0}, "regions": REGIONS},
            "ingestion": {"mode": "direct"}, "feature_store": {"mode": "off"}, "inference": {"enabled": False},
            "external_api": {"latency_ms": 1000 * mean_s, "latency_cv": cv, "latency_dist": "lognormal",
                             "timeout_ms": 1000 * timeout_s, "fallback": "cached",
                             "cache_max_staleness_s": max_age_s}}
    sigma2 = math.log1p(cv * cv)
    p_ok = norm.cdf((math.log(timeout_s) - (math.log(mean_s) - sigma2 / 2)) / math.sqrt(sigma2))
    failed = (1 - p_ok) * sum(share * math.exp(-rate * share * p_ok * max_age_s) for share in REGIONS.values())
    return parse_scenario(data), failed


def _surge_scenario(customers: int) -> tuple[Scenario, float]:
    """Arrivals counted in [4.0 s, 4.65 s) around a 0.3 s surge; returns the scenario and the rate integral."""
    window_per_rate = 0.35 + 20 * 0.3
    rate = min(150_000.0, customers / window_per_rate)
    data = {"name": "surge_arrivals", "seed": 2024, "duration_s": 4.65, "warmup_s": 4.0,
            "traffic": {"rate_per_s": rate, "segments": {"all": 1.0}, "regions": {"all": 1.0},
                        "spikes": [{"name": "surge", "start_s": 4.35, "ramp_s": 0, "duration_s": 0.3,
                                    "multiplier": 20}]},
            "ingestion": {"mode": "direct"}, "feature_store": {"mode": "off"}, "external_api": {"enabled": False},
            "inference": {"enabled": False}}
    return parse_scenario(data), rate * window_per_rate


@functools.lru_cache(maxsize=4)
def _reference_shares(rate_per_s: float, service_s: float, servers: int, queue_limit: int,
                      deadline_s: float) -> dict[str, float]:
    """The independent FIFO recursion over a million customers (computed once per process)."""
    return mmck_deadline_shares(rate_per_s, service_s, servers, queue_limit, deadline_s, 1_000_000, seed=2024)


def cases(customers: int = CUSTOMERS_PER_CASE) -> list[Case]:
    """The validation cases, each sized to about ``customers`` arrivals after warm-up."""
    out = []
    s = 0.020  # 20 ms model
    wait, util = "mean wait for the model (ms)", "model utilization"
    w_key, u_key = "stages.inference.wait_ms_mean", "stages.inference.utilization"

    lam = 0.7 / s
    out.append(Case("M/M/1", "one model replica, random arrivals and exponential scoring times, 70 % busy",
                    _queue_scenario("mm1", lam, 20, 1, "exponential", 1.0, customers),
                    (Check(wait, w_key, 1000 * 0.7 * s / 0.3, WAIT_TOLERANCE),
                     Check(util, u_key, 0.7, UTILIZATION_TOLERANCE))))

    lam = 0.8 * 4 / s
    out.append(Case("M/M/4", "four replicas sharing one queue, 80 % busy (Erlang C)",
                    _queue_scenario("mmc", lam, 20, 4, "exponential", 1.0, customers),
                    (Check(wait, w_key, 1000 * mmc_mean_wait_s(lam, s, 4), WAIT_TOLERANCE),
                     Check(util, u_key, 0.8, UTILIZATION_TOLERANCE))))

    lam = 0.8 / s
    out.append(Case("M/D/1", "one replica with a constant scoring time, 80 % busy (Pollaczek-Khinchine)",
                    _queue_scenario("md1", lam, 20, 1, "constant", 0.0, customers),
                    (Check(wait, w_key, 1000 * pollaczek_khinchine_wait_s(lam, s, 0.0), WAIT_TOLERANCE),
                     Check(util, u_key, 0.8, UTILIZATION_TOLERANCE))))

    lam = 0.6 / s
    out.append(Case("M/G/1", "one replica with very variable (gamma, cv 1.5) scoring times, 60 % busy",
                    _queue_scenario("mg1", lam, 20, 1, "gamma", 1.5, customers),
                    (Check(wait, w_key, 1000 * pollaczek_khinchine_wait_s(lam, s, 1.5**2), WAIT_TOLERANCE),
                     Check(util, u_key, 0.6, UTILIZATION_TOLERANCE))))

    lam, s1, s2 = 50.0, 0.010, 0.030
    stream = {"partitions": 1, "consumers": 1, "process_ms": 10.0, "process_dist": "exponential",
              "process_cv": 1.0}
    w1, w2 = s1 * 0.5 / 0.5, mmc_mean_wait_s(lam, s2, 2)
    out.append(Case("Tandem (Jackson)", "a stream consumer (50 % busy) feeding two model replicas (75 % busy)",
                    _queue_scenario("tandem", lam, 30, 2, "exponential", 1.0, customers, stream),
                    (Check("mean wait for the consumer (ms)", "stages.ingestion.wait_ms_mean", 1000 * w1,
                           WAIT_TOLERANCE),
                     Check(wait, w_key, 1000 * w2, WAIT_TOLERANCE),
                     Check("mean end-to-end latency (ms)", "latency_ms.mean", 1000 * (w1 + s1 + w2 + s2),
                           WAIT_TOLERANCE))))

    lam, limit, deadline_s = 1.2 * 4 / s, 10, 0.030
    rejected, timed_out = "share of customers turned away", "share of customers timed out"
    out.append(Case("M/M/4/10", "four replicas, at most 10 waiting, 120 % of capacity offered (birth-death chain)",
                    _queue_scenario("mmck", lam, 20, 4, "exponential", 1.0, customers, queue_limit=limit),
                    (Check(rejected, "share:failures_by_reason.rejected",
                           mmck_blocking_probability(lam, s, 4, limit), WAIT_TOLERANCE),)))
    exact = mmc_deadline(lam, s, 4, deadline_s)
    out.append(Case("M/M/4+D", "four replicas, 120 % offered, each request gives up 30 ms after it joins the queue",
                    _queue_scenario("mmc_deadline", lam, 20, 4, "exponential", 1.0, customers,
                                    timeout_ms=1000 * deadline_s),
                    (Check("share timed out while waiting", "share:stages.inference.timed_out_in_queue",
                           exact.timeout_in_queue, WAIT_TOLERANCE),
                     Check(timed_out, "share:failures_by_reason.timeout",
                           exact.timeout_in_queue + exact.timeout_in_service, WAIT_TOLERANCE),
                     Check("mean wait of those served (ms)", w_key, 1000 * exact.served_mean_wait_s,
                           WAIT_TOLERANCE))))
    ref = _reference_shares(lam, s, 4, limit, deadline_s)
    out.append(Case("M/M/4/10+D", "both at once: at most 10 live requests waiting, 30 ms deadline, 120 % offered "
                                  "(reference: an independent event-free FIFO recursion)",
                    _queue_scenario("mmck_deadline", lam, 20, 4, "exponential", 1.0, customers, queue_limit=limit,
                                    timeout_ms=1000 * deadline_s),
                    (Check(rejected, "share:failures_by_reason.rejected", ref["rejected"], RARE_SHARE_TOLERANCE),
                     Check(timed_out, "share:failures_by_reason.timeout", ref["timeout"], WAIT_TOLERANCE))))
    scenario, failed = _cached_fallback_scenario(customers)
    out.append(Case("Cached fallback", "the weather call alone, no breaker: 16 % of calls time out at 100 ms and are "
                                       "answered from the region's last good answer if it is at most 50 ms old",
                    scenario, (Check("share of customers not answered", "share:requests.failed", failed,
                                     WAIT_TOLERANCE),)))
    scenario, expected = _surge_scenario(customers)
    out.append(Case("Sub-second surge", "arrivals from 4.0 s to 4.65 s around a 0.3-second surge to 20x the rate",
                    scenario, (Check("arrivals in the window", "requests.arrived", expected, WAIT_TOLERANCE),)))
    return out


def kpi_value(flat: dict[str, float], kpi: str) -> float:
    """A check's KPI from a flattened summary (a ``share:`` KPI over the finished requests)."""
    if kpi.startswith("share:"):
        finished = flat["requests.arrived"] - flat["requests.in_flight"]
        return flat.get(kpi[len("share:"):], 0.0) / finished
    return flat[kpi]


def _preview_value(pv: dict | None, kpi: str) -> float:
    """The analytic preview's number for a summary KPI (NaN when it has none)."""
    if pv is None:
        return math.nan
    if kpi == "latency_ms.mean":
        return pv["latency_ms"]["mean"]
    parts = kpi.split(".")
    if len(parts) == 3 and parts[0] == "stages":
        value = pv["stages"].get(parts[1], {}).get(parts[2])
        return math.nan if value is None else float(value)
    return math.nan


def run_validation(scale: float = 1.0, reps: int = 4, *, backend: Backend | None = None, seed: int = 2024,
                   names: list[str] | None = None) -> pd.DataFrame:
    """Run every case (``scale`` x the standard size, split over ``reps`` replications).

    Returns one row per check: case, metric, kpi, theory, preview, simulated, ci_lo, ci_hi,
    error_pct, tolerance_pct, passed, customers, reps, wall_s.
    """
    if reps < 2:
        raise ValueError(f"reps must be ≥ 2 for an interval, got {reps}")
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    per_rep = max(1_000, int(CUSTOMERS_PER_CASE * scale / reps))
    chosen = [c for c in cases(per_rep) if names is None or c.name in names]
    seeds = replication_seeds(seed, reps)
    tasks = [(c.scenario.model_dump_json(), sd) for c in chosen for sd in seeds]
    summaries = (backend or SerialBackend()).map(simulate_summary, tasks)
    rows = []
    for i, case in enumerate(chosen):
        flat = [flatten_summary(s) for s in summaries[i * reps:(i + 1) * reps]]
        inf = case.scenario.inference
        # the preview models neither a queue limit nor a deadline: no preview for those cases
        pv = preview_scenario(case.scenario) if inf.queue_limit is None and inf.timeout_ms is None else None
        wall_s = sum(f["wall_s"] for f in flat)
        for check in case.checks:
            ci = stats.mean_ci([kpi_value(f, check.kpi) for f in flat])
            error = (ci.mean - check.theory) / check.theory
            tolerance = check.tolerance / math.sqrt(min(scale, 1.0))
            rows.append({"case": case.name, "story": case.story, "metric": check.metric, "kpi": check.kpi,
                         "theory": check.theory, "preview": _preview_value(pv, check.kpi), "simulated": ci.mean,
                         "ci_lo": ci.lo, "ci_hi": ci.hi, "error_pct": 100 * error,
                         "tolerance_pct": 100 * tolerance, "passed": bool(abs(error) <= tolerance),
                         "customers": per_rep * reps, "reps": reps, "wall_s": wall_s})
    return pd.DataFrame(rows)


def validation_sentence(frame: pd.DataFrame) -> str:
    """One line for people: how many checks passed and what that means."""
    n, ok = len(frame), int(frame["passed"].sum())
    if ok == n:
        return (f"All {n} checks passed: on {frame['case'].nunique()} textbook cases the simulator matches the "
                f"closed-form (or independent reference) answers within the stated tolerances.")
    failed = ", ".join(f"{r.case} {r.metric}" for r in frame[~frame["passed"]].itertuples())
    return f"{n - ok} of {n} checks failed ({failed}); the simulator disagrees with the reference there."
