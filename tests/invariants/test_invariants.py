"""Invariants every run must satisfy, whatever the scenario."""
import numpy as np
import pytest

from simulator.report.summary_model import Summary
from simulator.runner import run
from simulator.scenario.config import load_scenario, with_overrides
from tests.conftest import SCENARIOS
from tests.unit.test_summary_stream import assert_streamed_matches


def test_conservation_of_requests(tiny):
    """Every arrival after warm-up ends as exactly one of ok/degraded/failed/in_flight."""
    s = run(tiny, seed=1).summary
    r = s.requests
    assert r.arrived == r.ok + r.degraded + r.failed + r.in_flight
    assert r.arrived > 3000


def test_conservation_under_overload(tiny):
    """Still conserved when the pool is overloaded, with rejections and timeouts."""
    sc = with_overrides(tiny, {"traffic.rate_per_s": 400, "inference.queue_limit": 20, "inference.timeout_ms": 200})
    result = run(sc, seed=2)
    s = result.summary
    r = s.requests
    assert r.failed > 0
    assert r.arrived == r.ok + r.degraded + r.failed + r.in_flight
    req = result.requests
    assert set(req.loc[req.outcome == "failed", "reason"].unique()) >= {"rejected", "timeout"}


def test_utilization_in_unit_interval_and_waits_non_negative(tiny):
    """Utilizations lie in [0, 1]; no wait or service time is negative."""
    sc = with_overrides(tiny, {"traffic.rate_per_s": 300, "feature_store.hit_ratio": 0.3})
    result = run(sc, seed=3)
    for name, st in result.summary.stages.items():
        if st.utilization is not None:
            assert 0.0 <= st.utilization <= 1.0 + 1e-9, name
    for col in [c for c in result.requests.columns if c.endswith("_ms")]:
        values = result.requests[col].dropna()
        assert (values >= -1e-9).all(), col
    for col in [c for c in result.timeseries.columns if c.startswith("utilization_")]:
        values = result.timeseries[col].dropna()
        assert ((values >= 0) & (values <= 1 + 1e-9)).all(), col


@pytest.mark.parametrize("override,columns", [
    ({"ingestion.mode": "direct"}, ["ingestion_wait_ms", "ingestion_service_ms"]),
    ({"feature_store.mode": "off"}, ["feature_store_wait_ms", "feature_store_service_ms"]),
    ({"external_api.enabled": False}, ["external_api_service_ms"]),
])
def test_stage_switched_off_adds_zero_time(tiny, override, columns):
    """A stage switched off contributes exactly 0 ms, and latency is the sum of the stages that remain."""
    result = run(with_overrides(tiny, override), seed=4)
    req = result.requests
    for col in columns:
        assert (req[col] == 0).all(), col
    ok = req[req.outcome == "ok"]
    parts = ok[["ingestion_wait_ms", "ingestion_service_ms", "feature_store_wait_ms", "feature_store_service_ms",
                "external_api_service_ms", "inference_wait_ms", "inference_service_ms"]].sum(axis=1)
    np.testing.assert_allclose(parts, (ok["end_s"] - ok["arrival_s"]) * 1000.0, rtol=1e-9, atol=1e-6)


def test_inference_off_adds_zero_time(tiny):
    """With inference off a request is done when its features and API call are."""
    result = run(with_overrides(tiny, {"inference.enabled": False}), seed=4)
    ok = result.requests[result.requests.outcome == "ok"]
    assert ok["inference_service_ms"].isna().all()
    assert result.summary.stages.inference.served == 0


def test_queue_limit_zero_rejects_exactly_those_that_find_all_replicas_busy(tiny):
    """queue_limit 0: nobody waits, and each rejected request found every slot busy."""
    sc = with_overrides(tiny, {"traffic.rate_per_s": 150, "inference.queue_limit": 0, "inference.replicas": 4})
    req = run(sc, seed=5).requests
    served = req[req.inference_start_s.notna() & (req.reason != "rejected")]
    assert (served["inference_wait_ms"].abs() < 1e-9).all()
    rejected = req[req.reason == "rejected"]
    assert len(rejected) > 50
    starts = np.sort(served["inference_start_s"].to_numpy())
    ends = np.sort(served["inference_end_s"].dropna().to_numpy())
    t = rejected["inference_start_s"].to_numpy()  # the moment of rejection
    busy = np.searchsorted(starts, t, side="right") - np.searchsorted(ends, t, side="right")
    assert (busy == 4).all()


def test_same_seed_same_summary_different_seed_differs(tiny):
    """Deterministic for a seed (apart from wall time); another seed gives another run."""
    a, b, c = (run(tiny, seed=seed).summary.to_dict() for seed in (9, 9, 10))
    for s in (a, b, c):
        s.pop("wall_s")
    assert a == b
    assert a != c


@pytest.mark.parametrize("overrides", [{}, {"traffic.rate_per_s": 400, "inference.queue_limit": 20,
                                            "inference.timeout_ms": 200, "feature_store.hit_ratio": 0.3}])
def test_the_summary_only_path_gives_the_full_runs_summary(tiny, overrides):
    """Replications and sweeps use frames=False: no requests frame and no spans, the same typed summary
    (percentiles from the stream's histogram)."""
    sc = with_overrides(tiny, overrides)
    _same_summary_without_frames(sc)


@pytest.mark.parametrize("name", ["fraud_enrichment", "loan_cascade"])
def test_the_summary_only_path_of_a_topology_gives_the_full_runs_summary(name):
    """The same for a topology: its architecture section (components, bottleneck, critical path, blast
    radius, who decided) is the full run's too."""
    sc = with_overrides(load_scenario(SCENARIOS / f"{name}.yaml"), {"duration_s": 900, "warmup_s": 60})
    lean = _same_summary_without_frames(sc)
    assert lean.architecture.decided_by and set(lean.architecture.components) == {
        c.id for c in sc.topology.components}


def _same_summary_without_frames(sc) -> Summary:
    full = run(sc, seed=6)
    lean = run(sc, seed=6, frames=False)
    assert lean.requests.empty and lean.spans.empty
    assert isinstance(lean.summary, Summary) and isinstance(full.summary, Summary)
    # counts equal, percentiles within the stream's stated error (tests/unit/test_summary_stream.py)
    assert_streamed_matches(full, lean)
    return lean.summary
