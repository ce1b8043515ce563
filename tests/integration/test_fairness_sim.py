"""Fairness monitoring, human review, explanations and retraining inside a running simulation."""
import math

import numpy as np
import pytest

from simulator.runner import run
from simulator.scenario.config import load_scenario, with_overrides
from tests.conftest import SCENARIOS


def erlang_c_wait_s(lam: float, service_s: float, c: int) -> float:
    """Textbook M/M/c mean wait (independent of simulator.common.queueing)."""
    a = lam * service_s
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top) / (c / service_s - lam)


@pytest.fixture(scope="module")
def drift_run():
    return run(load_scenario(SCENARIOS / "fairness_drift.yaml"))


def test_drift_raises_the_flag_and_retraining_clears_it(drift_run):
    """The shock at 7200 s is flagged in the next windows; after the retrained model is promoted it clears."""
    s = drift_run.summary
    ev = drift_run.events
    flagged = ev[ev.kind == "fairness_flagged"].t_s.to_numpy()
    cleared = ev[ev.kind == "fairness_cleared"].t_s.to_numpy()
    promoted = ev[ev.kind == "canary_promoted"].t_s.to_numpy()
    assert 7200 < flagged[0] <= 7200 + 2 * 1800
    assert s.drift.detected_at_s is not None and s.drift.retrained_at_s > s.drift.detected_at_s
    assert len(promoted) == 1 and promoted[0] > s.drift.retrained_at_s
    assert len(cleared) >= 1 and cleared[0] > promoted[0]
    assert s.fairness.min_di < 0.8
    assert s.model.served_version == "v2"
    # while flagged, southern rejections went to review; the team was too small
    assert s.review.cases > 100
    assert s.review.reviewers_needed > 2 * s.review.reviewers_on_duty_max


def test_without_drift_no_flag_at_the_chosen_guard():
    """Same run without the shock: no window is flagged (minimum samples plus significance)."""
    sc = with_overrides(load_scenario(SCENARIOS / "fairness_drift.yaml"),
                        {"drift.covariate": [], "drift.concept": []})
    s = run(sc).summary
    assert s.fairness.flagged_windows == 0
    assert s.review.cases == 0
    assert s.drift.detected_at_s is None


def test_fairness_windows_match_a_hand_count(drift_run):
    """Each window's rates are the approval shares of the requests answered in it."""
    req = drift_run.requests
    fw = drift_run.extra["fairness"]
    row = fw.iloc[4]
    t1 = row.t_s
    win = req[(req.end_s >= t1 - 1800) & (req.end_s < t1) & req.outcome.isin(["ok", "degraded"])]
    for g in ("north", "south", "east", "west"):
        grp = win[win.region == g]
        assert row[f"count_{g}"] == len(grp)
        assert row[f"rate_{g}"] == pytest.approx((grp.decision == "approve").mean())
    rates = [row[f"rate_{g}"] for g in ("north", "south", "east", "west")]
    assert row.ratio == pytest.approx(min(rates) / max(rates))


def test_review_queue_mean_wait_matches_erlang_c(tiny):
    """Flag always on, every decision of one group reviewed: Poisson cases, exponential reviews."""
    lam_cases, service_s, c = 1.0, 1.6, 2  # offered load 1.6 on 2 reviewers (rho 0.8)
    sc = with_overrides(tiny, {
        "duration_s": 30000, "warmup_s": 0, "ingestion.mode": "direct", "external_api.enabled": False,
        "feature_store.mode": "off", "traffic.rate_per_s": 2 * lam_cases,
        "traffic.regions": {"a": 0.5, "b": 0.5}, "population.groups": {"a": 0.5, "b": 0.5},
        "population.income_multipliers": {"a": 0.7, "b": 1.0}, "population.history_shift_years": {},
        "fairness.enabled": True, "fairness.threshold": 1.0, "fairness.clear_threshold": 1.0,
        "fairness.window_s": 60, "fairness.min_samples_per_group": 5, "fairness.review_mode": "all",
        "fairness.review_service_s": service_s, "review.shifts": [[0, 24, c]],
        "review.review_time_dist": "exponential"})
    r = run(sc, seed=3)
    rv = r.extra["reviews"]
    assert len(rv) > 20000
    done = rv[rv.start_s.notna() & (rv.enter_s > 1000)]
    expected_min = erlang_c_wait_s(lam_cases, service_s, c) / 60
    assert done.wait_min.mean() == pytest.approx(expected_min, rel=0.10)


def test_skew_without_feature_store_costs_accuracy():
    """Computing features on the request path (skew) serves less accurate decisions than the store."""
    base = with_overrides(load_scenario(SCENARIOS / "baseline.yaml"), {"duration_s": 900, "warmup_s": 60})
    nofs = with_overrides(load_scenario(SCENARIOS / "no_feature_store.yaml"), {"duration_s": 900, "warmup_s": 60})
    a, b = run(base, seed=1).summary, run(nofs, seed=1).summary
    assert b.model.accuracy_online < a.model.accuracy_online - 0.01
    assert b.latency_ms.mean > a.latency_ms.mean + 20
    assert b.value_usd.per_decision < a.value_usd.per_decision


def test_explanations_add_their_cost_to_the_model_stage(tiny):
    """Explaining every decision with KernelSHAP adds (2M + 2048) x background x predict ms to each service."""
    base = with_overrides(tiny, {"traffic.rate_per_s": 5, "inference.replicas": 20, "inference.timeout_ms": None})
    expl = with_overrides(base, {"explanations.mode": "all", "explanations.method": "kernel_shap"})
    a, b = run(base, seed=2), run(expl, seed=2)
    cost_ms = (2 * 7 + 2048) * 100 * 0.01
    s = b.summary.explanations
    assert s.overhead_ms_mean == pytest.approx(cost_ms)
    assert s.count == len(b.requests)
    both = a.requests.inference_service_ms.notna() & b.requests.inference_service_ms.notna()
    grow = (b.requests.inference_service_ms - a.requests.inference_service_ms)[both]
    assert len(grow) > 100
    np.testing.assert_allclose(grow, cost_ms, rtol=1e-6)
    ex = b.extra["explanations"]
    assert len(ex) > 0 and ex.reason.str.contains("because of").all()


def test_accuracy_online_is_measured_on_served_decisions(tiny):
    """model.accuracy_online equals the share of answered requests whose decision matches the outcome."""
    r = run(tiny, seed=4)
    req = r.requests[(r.requests.arrival_s >= tiny.warmup_s) & r.requests.outcome.isin(["ok", "degraded"])]
    hand = ((req.decision == "approve") == (req.true_outcome == "good")).mean()
    assert r.summary.model.accuracy_online == pytest.approx(hand)
    assert 0.6 < hand < 0.8
