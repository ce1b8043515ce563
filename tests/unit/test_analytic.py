"""Analytic queueing preview checked against textbook closed forms and hand computations."""
import math

import numpy as np
import pytest

from simulator.analysis.analytic import (
    StageSpec,
    allen_cunneen_wait_s,
    departure_scv,
    erlang_c_wait_probability,
    fluid_queue,
    kingman_wait_s,
    mmc_wait_s,
    pollaczek_khinchine_wait_s,
    preview,
)


def test_mm1_wait_matches_closed_form():
    """M/M/1, λ = 0.8, μ = 1: Wq = ρ/(μ - λ) = 0.8/0.2 = 4 s."""
    assert mmc_wait_s(0.8, 1.0, 1) == pytest.approx(4.0)


def test_mmc_wait_matches_hand_erlang_c():
    """M/M/2, λ = 1.5, S = 1: P0 = 1/(1 + 1.5 + 2.25/(2·0.25)) = 1/7, C = 4.5/7 = 0.642857,
    Wq = C/(cμ - λ) = 0.642857/0.5 = 1.285714 s."""
    assert erlang_c_wait_probability(2, 1.5) == pytest.approx(4.5 / 7)
    assert mmc_wait_s(1.5, 1.0, 2) == pytest.approx(4.5 / 7 / 0.5)


def test_md1_wait_matches_closed_form():
    """M/D/1, λ = 0.5, μ = 1: Wq = ρ/(2μ(1 - ρ)) = 0.5/(2·0.5) = 0.5 s (P-K with cs² = 0)."""
    assert pollaczek_khinchine_wait_s(0.5, 1.0, 0.0) == pytest.approx(0.5)
    # and P-K with exponential service is M/M/1: 0.5/(1 - 0.5) = 1 s
    assert pollaczek_khinchine_wait_s(0.5, 1.0, 1.0) == pytest.approx(1.0)


def test_allen_cunneen_reduces_to_erlang_c():
    """With ca² = cs² = 1 the (ca² + cs²)/2 factor is 1: the M/M/2 value 1.285714 s."""
    assert allen_cunneen_wait_s(1.5, 1.0, 2, 1.0, 1.0) == pytest.approx(4.5 / 7 / 0.5)
    # deterministic service halves the M/M/c wait in this approximation
    assert allen_cunneen_wait_s(1.5, 1.0, 2, 1.0, 0.0) == pytest.approx(4.5 / 7 / 0.5 / 2)


def test_kingman_reduces_to_mm1():
    """Kingman with ca = cs = 1 is M/M/1: 4 s at λ = 0.8, μ = 1; with ca² = 1 it is P-K."""
    assert kingman_wait_s(0.8, 1.0, 1.0, 1.0) == pytest.approx(4.0)
    assert kingman_wait_s(0.5, 1.0, 1.0, 0.0) == pytest.approx(0.5)


def test_unstable_queues_return_inf():
    """ρ >= 1 has no steady state: every formula returns +inf."""
    assert mmc_wait_s(1.0, 1.0, 1) == math.inf
    assert mmc_wait_s(5.0, 1.0, 4) == math.inf
    assert kingman_wait_s(2.0, 1.0, 1.0, 1.0) == math.inf
    assert pollaczek_khinchine_wait_s(1.0, 1.0, 0.0) == math.inf
    assert allen_cunneen_wait_s(3.0, 1.0, 3, 1.0, 1.0) == math.inf


def test_zero_load_has_no_wait():
    """No arrivals, no queue."""
    assert mmc_wait_s(0.0, 1.0, 3) == 0.0


def test_departure_scv_linking_equation():
    """Poisson in, exponential service: departures are Poisson (Burke), cd² = 1.
    c = 1, ρ = 0.5, ca² = 2, cs² = 0: 1 + 0.75·1 + 0.25·(-1)/1 = 1.5."""
    assert departure_scv(1.0, 1.0, 0.7, 3) == pytest.approx(1.0)
    assert departure_scv(2.0, 0.0, 0.5, 1) == pytest.approx(1.5)
    # c = 4, ρ = 0.5, ca² = 1, cs² = 0: 1 + 0.25·(-1)/2 = 0.875
    assert departure_scv(1.0, 0.0, 0.5, 4) == pytest.approx(0.875)


def test_fluid_backlog_on_step_overload():
    """Capacity 10/s, dt 1 s, rate 5,5,15,15,15,5,5,5,5: backlog grows 5/s for 3 s then drains
    5/s -> 0,0,5,10,15,10,5,0,0; wait = backlog/10."""
    result = fluid_queue([5, 5, 15, 15, 15, 5, 5, 5, 5], 1.0, 10.0)
    expected = np.array([0, 0, 5, 10, 15, 10, 5, 0, 0], dtype=float)
    np.testing.assert_allclose(result.backlog, expected, atol=1e-12)
    np.testing.assert_allclose(result.wait_s, expected / 10.0, atol=1e-12)


def test_fluid_initial_backlog_and_varying_capacity():
    """Start with 20 queued, rate 5, capacity 10 then 15 (dt 2 s): 20 - 10 = 10, 10 - 20 -> 0."""
    result = fluid_queue([5, 5], 2.0, np.array([10.0, 15.0]), initial_backlog=20.0)
    np.testing.assert_allclose(result.backlog, [10.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(result.wait_s, [1.0, 0.0], atol=1e-12)


def test_preview_single_mm1_stage():
    """M/M/1, λ = 0.5, S = 1: ρ = 0.5, Wq = 1, latency = Wq + S = 2 s. The sojourn time is
    exponential with rate μ - λ = 0.5, so p99 = ln(100)/0.5 = 9.2103 s; the waiting time tail
    P(W > t) = ρ·exp(-(μ - λ)t) gives wait p99 = ln(0.5/0.01)/0.5 = 7.8240 s."""
    out = preview([StageSpec("inference", servers=1, service_mean_s=1.0)], 0.5)
    stage = out["stages"][0]
    assert out["stable"]
    assert stage["utilization"] == pytest.approx(0.5)
    assert stage["wait_s"] == pytest.approx(1.0)
    assert stage["wait_p99_s"] == pytest.approx(math.log(50) / 0.5)
    assert out["latency_s"] == pytest.approx(2.0)
    assert out["latency_p99_s"] == pytest.approx(math.log(100) / 0.5, rel=1e-6)


def test_preview_pipeline_adds_fixed_delay_and_partial_visits():
    """Latency = Σ visit_fraction · (Wq + S + fixed delay): an uncontended 50 ms API call, a DB
    visited by 20 % of requests (λ_db = 2/s, S = 0.1, c = 1: M/M/1 Wq = 0.2/(10 - 2) = 0.025,
    sojourn 0.125) and M/M/2 inference at λ = 10, S = 0.15 (a = 1.5: Wq = 0.642857/(13.33 - 10))."""
    stages = [
        StageSpec("external_api", servers=None, fixed_delay_s=0.05, service_scv=0.0),
        StageSpec("feature_store_db", servers=1, service_mean_s=0.1, visit_fraction=0.2),
        StageSpec("inference", servers=2, service_mean_s=0.15),
    ]
    out = preview(stages, 10.0)
    api, db, inf = out["stages"]
    assert db["arrival_rate_per_s"] == pytest.approx(2.0)
    assert db["wait_s"] == pytest.approx(0.025)
    # Poisson thinned is Poisson, and M/M/1 departures are Poisson: inference sees ca² = 1
    assert inf["arrival_scv"] == pytest.approx(1.0)
    inf_wait_s = (4.5 / 7) / (2 / 0.15 - 10.0)
    assert inf["wait_s"] == pytest.approx(inf_wait_s)
    assert math.isnan(api["utilization"]) and api["wait_s"] == 0.0
    assert out["latency_s"] == pytest.approx(0.05 + 0.2 * 0.125 + inf_wait_s + 0.15)
    assert out["bottleneck"] == "inference"  # ρ = 0.75 vs 0.2
    assert out["latency_p99_s"] > out["latency_s"]


def test_preview_flags_unstable_pipeline():
    """λS/c = 1.2 at the DB: unstable stage, infinite latency and p99, stable flag False."""
    stages = [StageSpec("db", servers=2, service_mean_s=0.24), StageSpec("inference", servers=8,
                                                                        service_mean_s=0.1)]
    out = preview(stages, 10.0)
    assert not out["stable"] and not out["stages"][0]["stable"] and out["stages"][1]["stable"]
    assert out["latency_s"] == math.inf and out["latency_p99_s"] == math.inf
    assert out["stages"][0]["wait_s"] == math.inf


def test_stage_spec_rejects_bad_values():
    """Zero servers or a visit fraction above 1 are configuration errors."""
    with pytest.raises(ValueError):
        StageSpec("x", servers=0)
    with pytest.raises(ValueError):
        StageSpec("x", servers=1, visit_fraction=1.5)
