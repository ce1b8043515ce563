"""The simulator against closed-form queueing results (checked with independent formulas)."""
import math

import pytest

from simulator.runner import run
from simulator.scenario.config import load_scenario, with_overrides
from tests.conftest import SCENARIOS


def erlang_c_wait_s(lam: float, service_s: float, c: int) -> float:
    """Textbook Erlang-C mean wait in queue for M/M/c (written here, independent of the code)."""
    a = lam * service_s
    top = a**c / math.factorial(c) * c / (c - a)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c / service_s - lam)


def mmc(rate: float, replicas: int, service_ms: float, duration_s: float, warmup_s: float, **extra):
    sc = load_scenario(SCENARIOS / "mmc.yaml")
    return with_overrides(sc, {"traffic.rate_per_s": rate, "inference.replicas": replicas,
                               "inference.service_ms": service_ms, "duration_s": duration_s,
                               "warmup_s": warmup_s, **extra})


@pytest.mark.parametrize("c", [1, 4])
@pytest.mark.parametrize("rho", [0.5, 0.9])
def test_mmc_mean_wait_matches_erlang_c(c, rho):
    """M/M/c mean queueing delay is within 5 % of Erlang-C (long runs: about 0.4-1.2 M customers)."""
    service_ms = 20.0
    lam = rho * c / (service_ms / 1000)
    customers = 1_200_000 if rho == 0.9 else 300_000
    sc = mmc(lam, c, service_ms, duration_s=customers / lam, warmup_s=2000 * service_ms / 1000)
    result = run(sc, seed=11)
    wait_ms = result.summary.stages.inference.wait_ms_mean
    expected_ms = 1000 * erlang_c_wait_s(lam, service_ms / 1000, c)
    assert wait_ms == pytest.approx(expected_ms, rel=0.05), (wait_ms, expected_ms)


def test_md1_matches_pollaczek_khinchine():
    """M/D/1 mean wait = rho / (2 mu (1 - rho)) (Pollaczek-Khinchine with zero service variance)."""
    service_s, rho = 0.02, 0.8
    lam = rho / service_s
    sc = mmc(lam, 1, service_s * 1000, duration_s=500_000 / lam, warmup_s=20,
             **{"inference.service_dist": "constant"})
    wait_s = run(sc, seed=5).summary.stages.inference.wait_ms_mean / 1000
    expected = rho / (2 * (1 / service_s) * (1 - rho))
    assert wait_s == pytest.approx(expected, rel=0.05)


def test_littles_law_for_queue_and_servers():
    """Time-average queue length = lambda x mean wait, and busy servers = lambda x mean service."""
    sc = mmc(150, 4, 20, duration_s=4000, warmup_s=100)
    r = run(sc, seed=3)
    ts = r.timeseries[r.timeseries.t_s >= 100]
    lam = r.summary.throughput_rps
    inf = r.summary.stages.inference
    assert ts["inference_queue"].mean() == pytest.approx(lam * inf.wait_ms_mean / 1000, rel=0.03)
    assert ts["inference_busy"].mean() == pytest.approx(lam * inf.service_ms_mean / 1000, rel=0.02)
    # the same for the whole system: L = lambda W with W the end-to-end latency
    L = (ts["inference_queue"] + ts["inference_busy"]).mean()
    assert L == pytest.approx(lam * r.summary.latency_ms.mean / 1000, rel=0.03)


def test_mmc_scenario_accepts_the_documented_overrides():
    """mmc.yaml takes rate, replicas, service_ms, duration_s and warmup_s and reports the wait."""
    sc = mmc(20, 1, 25, duration_s=300, warmup_s=30)
    assert (sc.traffic.rate_per_s, sc.inference.replicas, sc.inference.service_ms) == (20, 1, 25)
    s = run(sc, seed=1).summary
    assert s.stages.inference.wait_ms_mean > 0
    assert s.sim_duration_s == 300 and s.warmup_s == 30
