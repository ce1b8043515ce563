"""Autoscaling, cold starts and cost inside a running simulation, checked by hand."""
import re

import numpy as np
import pandas as pd
import pytest

from simulator.runner import run
from simulator.scenario.config import with_overrides


def hpa(tiny, **over):
    base = {"duration_s": 900, "warmup_s": 0, "traffic.rate_per_s": 40,
            "traffic.profile_points": [[0, 1], [300, 1], [300, 4], [900, 4]],
            "inference.replicas": 2, "inference.service_ms": 30, "inference.queue_limit": None,
            "inference.timeout_ms": None, "autoscaler.enabled": True, "autoscaler.metric": "utilization",
            "autoscaler.target": 0.6, "autoscaler.min_replicas": 2, "autoscaler.max_replicas": 20,
            "cold_start.node_provisioning_s": 0.0}
    base.update(over)
    return with_overrides(tiny, base)


def test_replica_is_ready_exactly_its_cold_start_after_it_was_started(tiny):
    """Ready at t + provisioning 5 + pull 20 + load 10 s/GB x 0.438 GB + 10 warm-ups x 30 ms = t + 29.68 s."""
    ev = run(hpa(tiny), seed=1).events
    started = ev[ev.kind == "replica_started"]
    ready = ev[ev.kind == "replica_ready"]
    assert len(started) >= 2
    ready_at = {int(re.search(r"replica (\d+)", d).group(1)): t for t, d in zip(ready.t_s, ready.detail)}
    for t, d in zip(started.t_s, started.detail):
        unit = int(re.search(r"replica (\d+)", d).group(1))
        assert ready_at[unit] == pytest.approx(t + 5 + 20 + 10 * 0.438 + 10 * 0.030, abs=1e-9)


def test_step_in_load_is_followed_by_scale_ups_at_sync_boundaries(tiny):
    """Decisions happen only at multiples of the 15 s sync period; the first scale-up follows the step."""
    ev = run(hpa(tiny), seed=2).events
    decisions = ev[ev.kind == "scale_decision"]
    assert len(decisions) >= 1
    assert np.allclose(decisions.t_s % 15, 0)
    ups = decisions[decisions.detail.str.startswith("up")]
    assert 300 < ups.t_s.iloc[0] <= 330
    # 160/s x 30 ms = 4.8 busy slots at target 0.6 -> 8 replicas; nothing scales up before the step
    assert (ups.t_s > 300).all()
    assert "to 8" in " ".join(ups.detail) or "to 4" in ups.detail.iloc[0]


def test_autoscaler_pinned_to_the_pool_size_equals_the_fixed_pool(tiny):
    """min = max = replicas: the autoscaler can never act, so every request is identical."""
    fixed = with_overrides(tiny, {"inference.replicas": 3})
    pinned = with_overrides(fixed, {"autoscaler.enabled": True, "autoscaler.min_replicas": 3,
                                    "autoscaler.max_replicas": 3})
    a, b = run(fixed, seed=3), run(pinned, seed=3)
    pd.testing.assert_frame_equal(a.requests, b.requests)
    assert b.summary.events.get("scale_decision", 0) == 0


def test_cost_arithmetic_by_hand(tiny):
    """2 replicas x 1.876 GiB fit one cpu-small node ($0.10/h): one hour costs node + stream + calls + lookups."""
    sc = with_overrides(tiny, {"duration_s": 3600, "warmup_s": 0, "traffic.rate_per_s": 5,
                               "inference.replicas": 2, "cost.instance_type": "cpu-small"})
    r = run(sc, seed=4)
    c = r.summary.cost_usd
    req = r.requests
    calls = int(req.external_api_calls.sum())
    lookups = int((req.feature_store_hit >= 0).sum())
    assert c.replicas_per_node == 3  # floor((8 - 1) / (1 + 0.438 x 2))
    assert c.compute_busy + c.compute_idle == pytest.approx(0.10, rel=1e-6)
    assert c.stream == pytest.approx(12 * 1 * 0.015)
    assert c.external_api == pytest.approx(calls * 0.02 / 1000, rel=1e-6)
    assert c.feature_store == pytest.approx(lookups * 0.25 / 1e6, rel=1e-6)
    assert c.total == pytest.approx(0.10 + 0.18 + calls * 0.02 / 1000 + lookups * 0.25 / 1e6, rel=1e-6)
    answered = int(req.outcome.isin(["ok", "degraded"]).sum())
    assert c.per_1k_requests == pytest.approx(c.total / answered * 1000, rel=1e-6)
    assert c.monthly_projection == pytest.approx(c.total * 730, rel=1e-6)
    # busy share: 2 replicas, busy replica-seconds = sum of service times
    busy_s = (req.inference_service_ms.fillna(0).sum() / 1000)
    assert c.compute_busy == pytest.approx(0.10 * busy_s / (2 * 3600), rel=1e-3)


def test_zero_traffic_costs_only_idle_capacity(tiny):
    """No requests: zero busy time; the node and the stream partitions are still paid for."""
    sc = with_overrides(tiny, {"duration_s": 3600, "warmup_s": 0, "traffic.rate_per_s": 0,
                               "inference.replicas": 2, "cost.instance_type": "cpu-small"})
    c = run(sc, seed=5).summary.cost_usd
    assert c.compute_busy == 0
    assert c.compute_idle == pytest.approx(0.10)
    assert c.external_api == 0 and c.feature_store == 0
    assert c.total == pytest.approx(0.10 + 12 * 0.015)


def test_scale_from_zero_holds_requests_until_the_first_replica_is_ready(tiny):
    """KPA at zero: the first request waits for a cold start; idle replicas go after 60 s + 30 s grace."""
    sc = with_overrides(tiny, {
        "duration_s": 600, "warmup_s": 0, "traffic.rate_per_s": 2, "ingestion.mode": "direct",
        "traffic.profile_points": [[0, 0], [100, 0], [100, 1], [160, 1], [160, 0], [600, 0]],
        "inference.replicas": 0, "inference.timeout_ms": None, "inference.queue_limit": None,
        "autoscaler.enabled": True, "autoscaler.kind": "kpa", "autoscaler.min_replicas": 0,
        "autoscaler.max_replicas": 3, "autoscaler.target_concurrency_per_replica": 0.7,
        "cold_start.node_provisioning_s": 0.0})
    r = run(sc, seed=6)
    req = r.requests.sort_values("arrival_s")
    first = req.iloc[0]
    cold = 5 + 20 + 10 * 0.438 + 10 * 0.020
    assert first.inference_wait_ms / 1000 == pytest.approx(cold, abs=1.1)  # + up to one 1 s sample
    ev = r.events
    stops = ev[ev.kind == "replica_stopped"].t_s
    assert len(stops) >= 1 and stops.iloc[-1] >= 160 + 60 + 30 - 2
    assert r.summary.replicas.min == 0
    assert r.summary.cost_usd.cold_start > 0
