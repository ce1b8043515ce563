"""Property: for random valid scenarios, no rendered headline contradicts the raw frames.

Hypothesis draws small scenarios across the pipeline's shapes (stages on and off, overload and
idle, queue limits and deadlines, an outage with or without a safety switch and fallbacks, a
canary, a fairness monitor, a one-off period priced against its incident-free twin), runs each
for a few simulated minutes, and applies the truth suite's checks
(:func:`tests.truth.checks.check_run`). ``derandomize`` keeps the examples the same on every run.
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.report.findings import findings
from simulator.runner import run
from simulator.scenario.config import load_scenario, with_overrides, without_incident
from tests.conftest import SCENARIOS
from tests.truth.checks import check_run

BASE = load_scenario(SCENARIOS / "baseline.yaml")


@st.composite
def scenarios(draw):
    over = {
        "duration_s": draw(st.sampled_from([150, 240])), "warmup_s": 20,
        "slo_latency_ms": draw(st.sampled_from([100, 300, 1000])),
        "traffic.rate_per_s": draw(st.floats(2, 240)),
        "ingestion.mode": draw(st.sampled_from(["direct", "stream"])),
        "feature_store.mode": draw(st.sampled_from(["online_store", "compute", "off"])),
        "feature_store.db_connections": draw(st.integers(1, 8)),
        "external_api.enabled": draw(st.booleans()),
        "inference.replicas": draw(st.integers(1, 8)),
        "inference.service_ms": draw(st.floats(5, 120)),
        "inference.queue_limit": draw(st.one_of(st.none(), st.integers(0, 400))),
        "inference.timeout_ms": draw(st.one_of(st.none(), st.floats(100, 3000))),
    }
    if over["external_api.enabled"] and draw(st.booleans()):
        over["faults.external_api"] = [{"name": "weather outage", "kind": draw(st.sampled_from(
            ["outage_errors", "outage_timeouts"])), "start_s": 60, "duration_s": 60}]
        over["external_api.fallback"] = draw(st.sampled_from(["none", "cached", "default"]))
        over["external_api.breaker.enabled"] = draw(st.booleans())
        if draw(st.booleans()):
            over.update({"period.kind": "one_off", "period.incident": "the outage",
                         "period.without_incident": {"faults.external_api": []}})
    if draw(st.booleans()):
        over.update({"canary.enabled": True, "canary.start_s": 40, "canary.interval_s": 20,
                     "canary.error_rate": draw(st.sampled_from([0.0, 0.1])), "canary.threshold": 2})
    if draw(st.booleans()):
        over.update({"fairness.enabled": True, "fairness.window_s": 60, "fairness.min_samples_per_group": 20})
    return with_overrides(BASE, over)


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_no_headline_contradicts_the_frames(sc):
    """Service level, capacity, fairness, release, incidents, money and words: as the frames say."""
    result = run(sc)
    twin = without_incident(sc)
    reference = run(twin, result.seed).summary if twin is not None else None
    problems = check_run(sc, result, findings(sc, result, reference), reference)
    assert not problems, "\n".join(problems) + "\n" + sc.model_dump_json(exclude_defaults=True)
