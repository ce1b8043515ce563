"""The station kernels against the event path: the same scenario and seed must give bit-identical runs.

Every request column (NaN-aware), the events, capacity, breaker states, canary weights, cold
starts, audit log and counters are compared, on every bundled scenario and on variants pushed into
each rule's corner: rejections, deadline drops, API timeouts and errors, retries with jitter,
flapping, cached and default fallbacks with and without a breaker, database overload, lock
contention and outage, canary promotion and rollback, HPA and KPA autoscaling, crashes and memory
pressure, batch ingestion, an operator's runbook on the breaker.
"""
import numpy as np
import pytest

from simulator.runner import simulate
from simulator.scenario.config import load_scenario, with_overrides
from tests.conftest import SCENARIOS

# the event path is the reference for the default chain (old scenario files); graphs run on the kernels only
BUNDLED = sorted(p.stem for p in SCENARIOS.glob("*.yaml") if load_scenario(p).topology is None)

BREAKER = {"enabled": True, "sliding_window_type": "count_based", "sliding_window_size": 50,
           "minimum_number_of_calls": 20, "failure_rate_threshold_pct": 50,
           "wait_duration_in_open_state_ms": 20_000, "permitted_number_of_calls_in_half_open_state": 10}
RETRY = {"enabled": True, "max_attempts": 3, "initial_backoff_ms": 50, "jitter": "full"}
STRESS = {
    "rejections_and_deadlines": {"traffic.rate_per_s": 300, "inference.queue_limit": 30, "inference.timeout_ms": 150},
    "api_timeouts_default_fallback": {"external_api.latency_ms": 400, "external_api.latency_cv": 1.5,
                                      "external_api.timeout_ms": 500, "external_api.fallback": "default"},
    "api_errors_retries_cached": {"external_api.error_rate": 0.2, "external_api.retry": RETRY,
                                  "external_api.fallback": "cached",
                                  "faults.external_api_flapping": {"enabled": True, "mtbf_s": 30, "mttr_s": 10}},
    "retries_equal_jitter_spike": {"external_api.retry": {**RETRY, "jitter": "equal", "max_attempts": 4},
                                   "faults.external_api": [{"name": "slow", "kind": "latency_spike", "start_s": 30,
                                                            "duration_s": 40, "factor": 30},
                                                           {"name": "flaky", "kind": "error_rate", "start_s": 60,
                                                            "duration_s": 30, "factor": 0.5}]},
    "breaker_cached_retries": {"external_api.breaker": BREAKER, "external_api.fallback": "cached",
                               "external_api.retry": RETRY,
                               "faults.external_api": [{"name": "down", "kind": "outage_errors", "start_s": 40,
                                                        "duration_s": 40}]},
    "breaker_timeouts_none": {"external_api.breaker": {**BREAKER, "automatic_transition_from_open_to_half_open_enabled":
                                                       True, "max_wait_duration_in_half_open_state_ms": 5000},
                              "faults.external_api": [{"name": "hang", "kind": "outage_timeouts", "start_s": 30,
                                                       "duration_s": 50}]},
    "breaker_operator_runbook": {"external_api.fallback": "cached", "external_api.breaker": {
        **BREAKER, "operator_actions": [{"name": "maintenance", "at_s": 20, "action": "forced_open"},
                                        {"name": "watch", "at_s": 45, "action": "metrics_only"},
                                        {"name": "off", "at_s": 70, "action": "disabled"},
                                        {"name": "back", "at_s": 90, "action": "reset"}]},
        "faults.external_api": [{"name": "down", "kind": "outage_errors", "start_s": 50, "duration_s": 50}]},
    "db_overload_lock_outage": {"feature_store.hit_ratio": 0.2, "feature_store.db_connections": 3,
                                "faults.feature_db": [{"name": "lock", "kind": "lock_contention", "start_s": 20,
                                                       "duration_s": 30, "factor": 5},
                                                      {"name": "down", "kind": "outage", "start_s": 70,
                                                       "duration_s": 20}]},
    "compute_features_direct": {"feature_store.mode": "compute", "ingestion.mode": "direct"},
    "no_stages": {"feature_store.mode": "off", "external_api.enabled": False, "ingestion.mode": "direct"},
    "no_model": {"inference.enabled": False},
    "canary_promoted": {"canary": {"enabled": True, "start_s": 10, "interval_s": 10, "step_weight_pct": 20,
                                   "max_weight_pct": 60, "replicas": 1, "version": "v2", "latency_factor": 1.2}},
    "canary_rolled_back": {"canary": {"enabled": True, "start_s": 10, "interval_s": 10, "step_weight_pct": 10,
                                      "threshold": 2, "replicas": 1, "version": "v2", "error_rate": 0.2}},
    "hpa_queue_metric": {"traffic.rate_per_s": 150, "inference.replicas": 2, "inference.concurrency": 2,
                         "autoscaler": {"enabled": True, "kind": "hpa", "metric": "queue_per_replica", "target": 1,
                                        "min_replicas": 1, "max_replicas": 10, "sync_period_s": 15},
                         "cold_start.image_pull_s": 3, "cold_start.node_provisioning_s": 5},
    "kpa_from_zero": {"traffic.rate_per_s": 20, "inference.replicas": 0, "inference.concurrency": 3,
                      "autoscaler": {"enabled": True, "kind": "kpa", "min_replicas": 0, "max_replicas": 6,
                                     "target_concurrency_per_replica": 1.0, "stable_window_s": 20,
                                     "scale_to_zero_grace_s": 5},
                      "cold_start.image_pull_s": 2},
    "crash_and_memory_pressure": {"faults.inference": [
        {"name": "crash", "kind": "crash", "start_s": 40, "replicas": 2, "restart_s": 20},
        {"name": "pressure", "kind": "memory_pressure", "start_s": 70, "replicas": 2, "duration_s": 20,
         "factor": 4}]},
    "batch": {"ingestion.mode": "batch", "ingestion.batch": {"interval_s": 30, "throughput_per_s": 300,
                                                             "startup_s": 3}},
}


def _plain(x):
    """Numpy scalars as Python numbers, so repr compares values (and NaN equals NaN)."""
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    return x.item() if isinstance(x, np.generic) else x


def assert_identical(sc, seed: int) -> None:
    a = simulate(sc, seed, engine="event")
    b = simulate(sc, seed, engine="kernel")
    assert a.n == b.n
    assert set(a.columns) == set(b.columns)
    for name, col in a.columns.items():
        x, y = np.asarray(col)[:a.n], np.asarray(b.columns[name])[:b.n]
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), name
    assert sorted(a.events) == sorted(b.events)
    for attr in ("capacity", "breaker_states", "canary_weights", "cold_spans", "audit", "counters"):
        assert getattr(a, attr) == getattr(b, attr), attr
    if a.gov is not None:
        for attr in ("windows", "case_rid", "case_enter", "case_start", "case_end", "case_outcome", "headcount",
                     "psi_series", "audit"):
            assert repr(_plain(getattr(a.gov, attr))) == repr(_plain(getattr(b.gov, attr))), attr


@pytest.mark.slow
@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_scenario_is_bit_identical(name):
    assert_identical(load_scenario(SCENARIOS / f"{name}.yaml"), seed=3)


@pytest.mark.parametrize("variant", sorted(STRESS))
def test_stressed_variants_are_bit_identical(tiny, variant):
    sc = with_overrides(tiny, {"duration_s": 120, "warmup_s": 0, **STRESS[variant]})
    assert_identical(sc, seed=5)


def test_the_event_path_refuses_a_graph():
    sc = load_scenario(SCENARIOS / "fraud_enrichment.yaml")
    with pytest.raises(ValueError, match="default chain"):
        simulate(sc, 1, engine="event")


def test_the_stressed_variants_reach_their_corners(tiny):
    """Each variant really exercises what it is named after (else equality would prove little)."""
    def run(variant):
        return simulate(with_overrides(tiny, {"duration_s": 120, "warmup_s": 0, **STRESS[variant]}), 5)

    reasons = np.asarray(run("rejections_and_deadlines").columns["reason"])
    assert {1, 2} <= set(reasons.tolist())
    t = run("breaker_cached_retries")
    assert {e[1] for e in t.events} >= {"breaker_opened", "breaker_half_opened"}
    assert (np.asarray(t.columns["api_calls"]) > 1).any() and (np.asarray(t.columns["fallback"]) == 1).any()
    t = run("db_overload_lock_outage")
    assert (np.asarray(t.columns["reason"]) == 4).any()
    assert {e[1] for e in run("canary_rolled_back").events} >= {"canary_rolled_back"}
    assert {e[1] for e in run("canary_promoted").events} >= {"canary_promoted"}
    assert {e[1] for e in run("kpa_from_zero").events} >= {"scale_decision", "replica_ready"}
    assert (np.asarray(run("crash_and_memory_pressure").columns["reason"]) == 5).any()
