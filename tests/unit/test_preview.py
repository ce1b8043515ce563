"""The instant analytic preview against the simulation and against hand calculations.

Stated tolerances (preview vs one simulated run of about 100,000 customers): mean latency within
5 %, utilization within 2 %, p99 latency within 20 % (the p99 is a two-moment gamma fit; it is
exact only for M/M/1 and worst for constant service times).
"""
import math

import pytest

from simulator.analysis.preview import compare_preview, consumer_shares, preview_scenario, stage_specs
from simulator.analysis.validation import cases
from simulator.runner import run
from simulator.scenario.config import with_overrides
from tests.conftest import only_inference

MEAN_TOL, UTIL_TOL, P99_TOL = 0.05, 0.02, 0.20
# the preview has no queue limit, deadline, fallback or sub-second surge: the cases about those are left out
PREVIEWED = [c for c in cases(100_000) if c.scenario.inference.enabled and c.scenario.inference.queue_limit is None
             and c.scenario.inference.timeout_ms is None]


@pytest.mark.parametrize("case", PREVIEWED, ids=lambda c: c.name)
def test_preview_is_within_the_stated_tolerance_of_the_simulation_on_the_validation_cases(case):
    """Mean latency within 5 %, utilization within 2 %, p99 within 20 % of a simulated run."""
    pv = preview_scenario(case.scenario)
    summary = run(case.scenario, seed=5).summary
    assert pv["stable"]
    assert pv["latency_ms"]["mean"] == pytest.approx(summary["latency_ms"]["mean"], rel=MEAN_TOL)
    assert pv["latency_ms"]["p99"] == pytest.approx(summary["latency_ms"]["p99"], rel=P99_TOL)
    for stage in ("ingestion", "inference"):
        if summary["stages"][stage]["utilization"] is not None:
            assert pv["stages"][stage]["utilization"] == pytest.approx(summary["stages"][stage]["utilization"],
                                                                       rel=UTIL_TOL)
    check = compare_preview(pv, summary)
    assert check.table["metric"].iloc[0] == "mean latency (ms)" and "simulated mean latency" in check.sentence


def test_preview_of_the_full_baseline_pipeline_is_close(tiny):
    """All four stages on: mean latency within 5 % and p99 within 20 % of the simulation."""
    sc = with_overrides(tiny, {"duration_s": 600, "warmup_s": 60, "traffic.rate_per_s": 80})
    pv = preview_scenario(sc)
    summary = run(sc, seed=2).summary
    assert pv["latency_ms"]["mean"] == pytest.approx(summary["latency_ms"]["mean"], rel=MEAN_TOL)
    assert pv["latency_ms"]["p99"] == pytest.approx(summary["latency_ms"]["p99"], rel=P99_TOL)


def test_mm1_numbers_match_the_hand_calculation():
    """M/M/1, λ = 35/s, S = 20 ms: ρ = 0.7, Wq = ρS/(1-ρ) = 46.67 ms, p99 sojourn = ln(100)/(μ-λ)."""
    sc = with_overrides(only_inference(replicas=1, service_ms=20), {"traffic.rate_per_s": 35})
    pv = preview_scenario(sc)
    assert pv["stages"]["inference"]["utilization"] == pytest.approx(0.7)
    assert pv["stages"]["inference"]["wait_ms_mean"] == pytest.approx(1000 * 0.7 * 0.02 / 0.3)
    assert pv["latency_ms"]["p99"] == pytest.approx(1000 * math.log(100) / (50 - 35))


def test_stream_partitions_are_owned_round_robin():
    """12 partitions over 5 consumers: consumers own 3, 3, 2, 2, 2 partitions (p mod 5)."""
    assert consumer_shares(12, 5) == [3 / 12, 3 / 12, 2 / 12, 2 / 12, 2 / 12]
    assert consumer_shares(3, 8) == [1 / 3] * 3  # extra consumers sit idle


def test_feature_store_db_is_visited_by_the_miss_fraction(tiny):
    """With a 90 % hit ratio the DB station sees 10 % of requests."""
    sc = with_overrides(tiny, {"feature_store.hit_ratio": 0.9})
    db = [s for s in stage_specs(sc, 50.0) if s.name == "feature_store.db"][0]
    assert db.visit_fraction == pytest.approx(0.1) and db.servers == sc.feature_store.db_connections


def test_overload_is_flagged_and_a_spike_shows_up_in_the_fluid_check():
    """λS > c: unstable with infinite latency; a 3x spike over a 60 % base overloads only at the peak."""
    over = with_overrides(only_inference(replicas=2, service_ms=20), {"traffic.rate_per_s": 150})
    pv = preview_scenario(over)
    assert not pv["stable"] and math.isinf(pv["latency_ms"]["mean"]) and pv["notes"]
    spike = with_overrides(only_inference(replicas=2, service_ms=20), {
        "traffic.rate_per_s": 60, "duration_s": 1200, "warmup_s": 0,
        "traffic.spikes": [{"name": "rush", "start_s": 300, "multiplier": 3, "ramp_s": 0, "duration_s": 120}]})
    pv = preview_scenario(spike)
    assert pv["stable"] and pv["peak"]["overloaded"] and pv["peak"]["stage"] == "inference"
    # fluid backlog: (180 - 100)/s for 120 s = 9,600 requests at the end of the spike
    assert pv["peak"]["max_backlog"] == pytest.approx(80 * 120, rel=0.02)
