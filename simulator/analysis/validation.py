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

Verdicts: a check *passes* only when its whole 95 % confidence interval lies inside the
tolerance band around the formula's value, *fails* when the whole interval lies outside it,
and is *inconclusive* otherwise: the run was too small to tell, and the report says about how
many more customers would decide it (the interval narrows with the square root of the number
of customers, so deciding needs the half-width shrunk to the distance between the simulated
mean and the nearest edge of the band).

Tolerances: 5 % on mean waits and latency, 1 % on utilization. At the standard size (about
400,000 customers per case in 4 replications) the standard error of a mean wait is about
1-1.5 %, so 5 % is 3-4 standard errors: a correct simulator passes essentially always, and a
bias of a few percent (a wrong formula, a lost customer class) fails. Smaller runs (``scale`` < 1)
widen the tolerances by 1/sqrt(scale), as the standard error grows.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import pandas as pd

from simulator.analysis import stats
from simulator.analysis.analytic import pollaczek_khinchine_wait_s
from simulator.analysis.backends import Backend, SerialBackend, simulate_summary
from simulator.analysis.experiments import flatten_summary, replication_seeds
from simulator.analysis.preview import preview_scenario
from simulator.common.queueing import mmc_mean_wait_s
from simulator.scenario.config import Scenario, parse_scenario

CUSTOMERS_PER_CASE = 400_000
WARMUP_SERVICES = 2_000  # warm-up per replication, in mean service times
WAIT_TOLERANCE = 0.05
UTILIZATION_TOLERANCE = 0.01


class Check(NamedTuple):
    """One number to reproduce: a summary KPI, its closed-form value and the tolerance."""

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
                    customers: int, stream: dict | None = None) -> Scenario:
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
                      "service_dist": dist, "service_cv": cv, "queue_limit": None, "timeout_ms": None},
    }
    return parse_scenario(data)


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
    return out


def _preview_value(pv: dict, kpi: str) -> float:
    """The analytic preview's number for a summary KPI (NaN when it has none)."""
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
    error_pct, tolerance_pct, verdict (pass | fail | inconclusive), passed, more_customers (to
    decide an inconclusive check, else 0), customers, reps, wall_s.
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
        pv = preview_scenario(case.scenario)
        wall_s = sum(f["wall_s"] for f in flat)
        for check in case.checks:
            ci = stats.mean_ci([f[check.kpi] for f in flat])
            error = (ci.mean - check.theory) / check.theory
            tolerance = check.tolerance / math.sqrt(min(scale, 1.0))
            verdict, more = judge(check.theory, tolerance, ci.mean, ci.lo, ci.hi, per_rep * reps)
            rows.append({"case": case.name, "story": case.story, "metric": check.metric, "kpi": check.kpi,
                         "theory": check.theory, "preview": _preview_value(pv, check.kpi), "simulated": ci.mean,
                         "ci_lo": ci.lo, "ci_hi": ci.hi, "error_pct": 100 * error,
                         "tolerance_pct": 100 * tolerance, "verdict": verdict, "passed": verdict == "pass",
                         "more_customers": more, "customers": per_rep * reps, "reps": reps, "wall_s": wall_s})
    return pd.DataFrame(rows)


def judge(theory: float, tolerance: float, mean: float, lo: float, hi: float, customers: int) -> tuple[str, int]:
    """(verdict, more customers needed to decide) for one check (see the module docstring)."""
    band_lo, band_hi = theory - abs(theory) * tolerance, theory + abs(theory) * tolerance
    if band_lo <= lo and hi <= band_hi:
        return "pass", 0
    if hi < band_lo or lo > band_hi:
        return "fail", 0
    half = (hi - lo) / 2
    gap = min(abs(mean - band_lo), abs(mean - band_hi))
    if gap <= 0 or not math.isfinite(half):
        return "inconclusive", -1  # the mean sits on the edge: no number of customers decides it
    return "inconclusive", max(1, math.ceil(customers * (half / gap) ** 2) - customers)


def validation_sentence(frame: pd.DataFrame) -> str:
    """One line for people: how many checks passed, failed, or could not be decided yet, and what that means."""
    verdict = frame["verdict"] if "verdict" in frame else frame["passed"].map({True: "pass", False: "fail"})
    n, ok = len(frame), int((verdict == "pass").sum())
    if ok == n:
        return (f"All {n} checks passed: on {frame['case'].nunique()} textbook queues the simulator matches the "
                f"closed-form answers, with each 95 % interval inside its tolerance.")
    parts = [f"{ok} of {n} checks passed"]
    failed = frame[verdict == "fail"]
    if len(failed):
        parts.append(f"{len(failed)} failed ({', '.join(f'{r.case} {r.metric}' for r in failed.itertuples())}): "
                     f"the simulator disagrees with queueing theory there")
    unsure = frame[verdict == "inconclusive"]
    if len(unsure):
        more = [int(m) for m in unsure["more_customers"] if m > 0]
        need = (f"; about {max(more):,} more customers per case would decide "
                f"{'it' if len(unsure) == 1 else 'them'}" if more else "")
        parts.append(f"{len(unsure)} {'is' if len(unsure) == 1 else 'are'} inconclusive "
                     f"({', '.join(f'{r.case} {r.metric}' for r in unsure.itertuples())}): the 95 % interval runs past "
                     f"the tolerance{need}")
    return "; ".join(parts) + "."
