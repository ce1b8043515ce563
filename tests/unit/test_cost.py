"""Cost model arithmetic, each expected value computed by hand in the docstring."""
import math

import pytest
from pydantic import ValidationError

from simulator.mechanisms.cost import (
    CATALOG,
    CostConfig,
    InstanceType,
    ValueConfig,
    compute_cost_split,
    cost_series,
    cost_summary,
    decision_value_usd,
    expected_value_per_decision_usd,
    node_seconds,
    nodes_needed,
    replicas_per_node,
)

NODE = InstanceType(name="test-node", price_usd_per_hour=0.36, vcpu=4, memory_gib=16)


def test_bin_packing_by_memory():
    """16 GiB node, 1 GiB reserved -> 15 GiB usable.

    - 2.5 GiB replicas: floor(15 / 2.5) = 6 per node; 7 replicas -> 2 nodes, 12 -> 2, 13 -> 3.
    - 4 GiB replicas: floor(15 / 4) = 3 per node; 3 -> 1 node, 4 -> 2 nodes.
    - 0 replicas -> 0 nodes. A 15 GiB replica fits exactly (1 per node); 16 GiB does not fit.
    - 0.3 GiB usable / 0.1 GiB replicas is 3 per node despite 0.3 / 0.1 = 2.999... in floats.
    """
    assert replicas_per_node(2.5, NODE, 1.0) == 6
    assert [nodes_needed(n, 2.5, NODE, 1.0) for n in (7, 12, 13)] == [2, 2, 3]
    assert [nodes_needed(n, 4.0, NODE, 1.0) for n in (3, 4)] == [1, 2]
    assert nodes_needed(0, 4.0, NODE, 1.0) == 0
    assert replicas_per_node(15.0, NODE, 1.0) == 1
    with pytest.raises(ValueError, match="does not fit"):
        replicas_per_node(16.0, NODE, 1.0)
    tiny = InstanceType(name="tiny", price_usd_per_hour=0.0, vcpu=1, memory_gib=0.3)
    assert replicas_per_node(0.1, tiny, 0.0) == 3


def test_node_seconds_of_a_replica_step_function():
    """4 GiB replicas on the 15-GiB-usable node (3 per node).

    2 replicas for 0-100 s (1 node), 5 for 100-160 s (2 nodes), 0 for 160-200 s:
    1 x 100 + 2 x 60 + 0 x 40 = 220 node-seconds.
    """
    assert node_seconds([0.0, 100.0, 160.0], [2, 5, 0], 200.0, 4.0, NODE, 1.0) == pytest.approx(220.0)


def test_cost_split_tiny_case():
    """Hand computation: 3,600 node-seconds at $0.36/h = $0.36.

    Replica-seconds: busy 1,800, idle 1,200, cold start 600 (total 3,600), so the shares are
    1/2, 1/3, 1/6: busy $0.18, idle $0.12, cold start $0.06.
    """
    split = compute_cost_split(1800.0, 1200.0, 600.0, 3600.0, 0.36)
    assert split["compute_busy"] == pytest.approx(0.18)
    assert split["compute_idle"] == pytest.approx(0.12)
    assert split["cold_start"] == pytest.approx(0.06)


def test_cost_summary_tiny_case():
    """Hand computation for a 30-minute run (1,800 s) on cpu-medium at its catalog price p.

    - compute: 2 nodes for 1,800 s = 3,600 node-s = 1 node-hour -> p; busy/idle/cold
      replica-seconds 2,700 / 900 / 0 -> busy 3/4 p, idle 1/4 p.
    - stream: 4 partitions x 0.5 h x $0.02 = $0.04.
    - feature store: 2,000,000 lookups x $0.50 / 1M = $1.00.
    - external API: 3,000 calls x $2 / 1k = $6.00.
    - review: 10 cases x $1.50 = $15.00.
    - total = p + 22.04; per 1k requests (20,000 requests) = total / 20;
      monthly = total / 1,800 s x 730 h x 3,600 s/h = total x 1,460.
    """
    cfg = CostConfig(instance_type="cpu-medium", stream_usd_per_partition_hour=0.02,
                     feature_store_usd_per_million_lookups=0.5, external_api_usd_per_1k_calls=2.0,
                     review_usd_per_case=1.5)
    p = CATALOG["cpu-medium"].price_usd_per_hour
    s = cost_summary(duration_s=1800.0, node_s=3600.0, busy_replica_s=2700.0, idle_replica_s=900.0,
                     cold_start_replica_s=0.0, requests=20_000, stream_partitions=4,
                     feature_lookups=2_000_000, external_api_calls=3_000, review_cases=10, cfg=cfg)
    assert s["compute_busy"] == pytest.approx(0.75 * p)
    assert s["compute_idle"] == pytest.approx(0.25 * p)
    assert s["cold_start"] == 0.0
    assert s["stream"] == pytest.approx(0.04)
    assert s["feature_store"] == pytest.approx(1.0)
    assert s["external_api"] == pytest.approx(6.0)
    assert s["review"] == pytest.approx(15.0)
    assert s["total"] == pytest.approx(p + 22.04)
    assert s["per_1k_requests"] == pytest.approx((p + 22.04) / 20)
    assert s["monthly_projection"] == pytest.approx((p + 22.04) * 1460)


def test_zero_traffic_costs_only_idle_compute():
    """No requests: 1 idle replica for an hour on 1 node -> busy 0, cold start 0, idle = one
    node-hour at the catalog price; no usage charges; per-1k-requests is undefined (NaN)."""
    cfg = CostConfig(stream_usd_per_partition_hour=0.0)
    s = cost_summary(duration_s=3600.0, node_s=3600.0, busy_replica_s=0.0, idle_replica_s=3600.0,
                     cold_start_replica_s=0.0, requests=0, stream_partitions=0, feature_lookups=0,
                     external_api_calls=0, review_cases=0, cfg=cfg)
    assert s["compute_busy"] == 0.0
    assert s["cold_start"] == 0.0
    assert s["compute_idle"] == pytest.approx(cfg.instance.price_usd_per_hour)
    assert s["total"] == pytest.approx(cfg.instance.price_usd_per_hour)
    assert math.isnan(s["per_1k_requests"])
    # Node time with no replica-seconds at all is idle too.
    assert compute_cost_split(0.0, 0.0, 0.0, 7200.0, 0.5) == {
        "compute_busy": 0.0, "compute_idle": pytest.approx(1.0), "cold_start": 0.0}


def test_monthly_projection_scales_the_run_rate_to_730_hours():
    """A 2-hour run costing $3 runs at $1.50/h -> 730 h x $1.50 = $1,095 per month."""
    cfg = CostConfig(stream_usd_per_partition_hour=0.0, review_usd_per_case=3.0)
    s = cost_summary(duration_s=7200.0, node_s=0.0, busy_replica_s=0.0, idle_replica_s=0.0,
                     cold_start_replica_s=0.0, requests=100, stream_partitions=0, feature_lookups=0,
                     external_api_calls=0, review_cases=1, cfg=cfg)
    assert s["total"] == pytest.approx(3.0)
    assert s["monthly_projection"] == pytest.approx(1095.0)


def test_cost_series_bins_compute_and_stream():
    """cpu-small (8 GiB, 1 GiB reserved -> 7 GiB), 3.5 GiB replicas -> 2 per node; 60 s bins over 150 s.

    Replicas: 1 (1 node) for 0-90 s, 3 (2 nodes) for 90-150 s. Node-seconds per bin:
    [0, 60): 60; [60, 120): 30 + 2 x 30 = 90; [120, 150): 2 x 30 = 60.
    Stream: 2 partitions x $0.036/h = $0.00002/s -> 60 s bins $0.0012, the last (30 s) $0.0006.
    """
    cfg = CostConfig(instance_type="cpu-small", stream_usd_per_partition_hour=0.036)
    usd_per_node_s = CATALOG["cpu-small"].price_usd_per_hour / 3600
    rows = cost_series([0.0, 90.0], [1, 3], 150.0, 60.0, 3.5, 2, cfg)
    assert [r[0] for r in rows] == [0.0, 60.0, 120.0]
    assert [r[1] for r in rows] == pytest.approx([60 * usd_per_node_s, 90 * usd_per_node_s, 60 * usd_per_node_s])
    assert [r[2] for r in rows] == pytest.approx([0.0012, 0.0012, 0.0006])


def test_decision_value_payoff_matrix():
    """Mean fraud $200, 80 % of a caught fraud saved, false alarm $10.

    tp 3 -> 3 x 0.8 x 200 = +480; fp 5 -> -50; fn 1 -> -200; tn 91 -> 0.
    Net = 230 over 100 decisions -> $2.30 per decision.
    """
    cfg = ValueConfig(mean_fraud_amount_usd=200.0, caught_saves_fraction=0.8, false_alarm_cost_usd=10.0)
    v = decision_value_usd(3, 5, 1, 91, cfg)
    assert v["tp"] == pytest.approx(480.0)
    assert v["fp"] == pytest.approx(-50.0)
    assert v["fn"] == pytest.approx(-200.0)
    assert v["tn"] == 0.0
    assert v["net"] == pytest.approx(230.0)
    assert v["per_decision"] == pytest.approx(2.30)


def test_expected_value_per_decision():
    """fraud rate 1 %, $200, 80 % saved, false alarm $10, recall 0.75, FPR 0.02:

    fraud: 0.01 x (0.75 x 160 - 0.25 x 200) = 0.01 x 70 = 0.70;
    legit: 0.99 x 0.02 x (-10) = -0.198; total $0.502 per decision.
    """
    cfg = ValueConfig(fraud_rate=0.01, mean_fraud_amount_usd=200.0, caught_saves_fraction=0.8,
                      false_alarm_cost_usd=10.0)
    assert expected_value_per_decision_usd(0.75, 0.02, cfg) == pytest.approx(0.502)


def test_config_validation():
    """Unknown instance types and unknown keys are rejected; the catalog resolves names."""
    with pytest.raises(ValidationError, match="unknown instance_type"):
        CostConfig(instance_type="m5.huge")
    with pytest.raises(ValidationError):
        CostConfig(review_cost=1.0)
    assert CostConfig(instance_type="gpu-t4").instance.gpus == 1
    assert {"cpu-small", "cpu-medium", "cpu-large", "gpu-t4"} <= set(CATALOG)
