"""Cost model and business value of decisions: pure arithmetic, no simulation.

Compute is billed per node, not per replica: replicas of one size are packed onto nodes by
memory, and the node-seconds a run uses are split into busy, idle and cold-start shares in
proportion to the replica-seconds spent in each state (so packing waste is shared out, not
hidden). Usage-priced services (stream partitions, feature-store lookups, external API
calls, human review) are priced per unit. The monthly projection extrapolates the run's
mean cost rate, so it is only as representative as the simulated window.

All prices here are illustrative placeholders, not quotes from any provider: replace them
with your own rates.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import Field, field_validator

from simulator.common.limits import MAX_NAME_CHARS, MAX_USD
from simulator.common.section import Section

SECONDS_PER_HOUR = 3600.0
EPS = 1e-9   # float guard for "how many replicas fit": 0.3 / 0.1 is 2.9999999999999996


class InstanceType(Section):
    """A node type that replicas are packed onto."""

    name: str = Field(..., min_length=1, max_length=MAX_NAME_CHARS, description="Catalog key, e.g. 'cpu-medium'")
    price_usd_per_hour: float = Field(
        ..., ge=0, le=10_000, description="Illustrative on-demand list price per node-hour (USD); not a vendor quote")
    vcpu: int = Field(..., ge=1, le=1024, description="vCPUs per node")
    memory_gib: float = Field(..., gt=0, le=65_536, description="Memory per node (GiB)")
    gpus: int = Field(0, ge=0, le=64, description="Accelerators per node")


# Round illustrative prices of the order public clouds charge for general-purpose on-demand
# nodes (about $0.05 per vCPU-hour); they are NOT taken from any price sheet.
CATALOG: dict[str, InstanceType] = {
    it.name: it for it in (
        InstanceType(name="cpu-small", price_usd_per_hour=0.10, vcpu=2, memory_gib=8),
        InstanceType(name="cpu-medium", price_usd_per_hour=0.20, vcpu=4, memory_gib=16),
        InstanceType(name="cpu-large", price_usd_per_hour=0.40, vcpu=8, memory_gib=32),
        InstanceType(name="gpu-t4", price_usd_per_hour=0.55, vcpu=4, memory_gib=16, gpus=1),
    )
}


class CostConfig(Section):
    """Unit prices. Defaults are illustrative placeholders, not provider quotes."""

    instance_type: str = Field("cpu-medium", max_length=MAX_NAME_CHARS,
                               description=f"Node type from the catalog: {', '.join(CATALOG)}")
    system_reserved_memory_gib: float = Field(
        1.0, ge=0, le=1024, description="Memory per node held back for the OS, kubelet and daemons")
    stream_usd_per_partition_hour: float = Field(
        0.015, ge=0, le=MAX_USD, description="Illustrative price of one stream partition (shard) per hour (USD)")
    feature_store_usd_per_million_lookups: float = Field(
        0.25, ge=0, le=MAX_USD, description="Illustrative online feature-store price per million lookups (USD)")
    external_api_usd_per_1k_calls: float = Field(
        0.02, ge=0, le=MAX_USD, description="Illustrative external API (e.g. enrichment) price per 1,000 calls (USD)")
    review_usd_per_case: float = Field(
        3.0, ge=0, le=MAX_USD, description="Illustrative cost of one human review of a flagged case (USD)")
    hours_per_month: float = Field(
        730.0, ge=1, le=744, description="Hours in the monthly projection (365 x 24 / 12 = 730; a month has at most 744)")

    @field_validator("instance_type")
    @classmethod
    def _known_instance(cls, name: str) -> str:
        if name not in CATALOG:
            raise ValueError(f"unknown instance_type {name!r}; choose one of {sorted(CATALOG)}")
        return name

    @property
    def instance(self) -> InstanceType:
        return CATALOG[self.instance_type]


class ValueConfig(Section):
    """Business value of a fraud decision, per outcome. Defaults are illustrative assumptions."""

    fraud_rate: float = Field(0.01, ge=0, le=1, description="Share of transactions that are fraud")
    mean_fraud_amount_usd: float = Field(
        150.0, ge=0, le=MAX_USD, description="Mean amount of a fraudulent transaction (USD); a missed fraud loses all of it")
    caught_saves_fraction: float = Field(
        0.9, ge=0, le=1, description="Share of a caught fraud's amount that is actually saved")
    false_alarm_cost_usd: float = Field(
        5.0, ge=0, le=MAX_USD, description="Cost of blocking a legitimate transaction (lost margin, goodwill)")


# =========================================================================== compute
def replicas_per_node(memory_gib_per_replica: float, instance: InstanceType,
                      reserved_memory_gib: float) -> int:
    """How many equal replicas fit on one node: floor(usable memory / replica memory)."""
    if memory_gib_per_replica <= 0:
        raise ValueError("memory_gib_per_replica must be > 0")
    fit = math.floor((instance.memory_gib - reserved_memory_gib) / memory_gib_per_replica + EPS)
    if fit < 1:
        raise ValueError(
            f"a {memory_gib_per_replica} GiB replica does not fit on {instance.name} "
            f"({instance.memory_gib} GiB minus {reserved_memory_gib} GiB reserved)")
    return fit


def nodes_needed(replicas: int, memory_gib_per_replica: float, instance: InstanceType,
                 reserved_memory_gib: float) -> int:
    """Nodes for ``replicas`` equal replicas packed by memory (0 replicas -> 0 nodes)."""
    if replicas <= 0:
        return 0
    return math.ceil(replicas / replicas_per_node(memory_gib_per_replica, instance, reserved_memory_gib))


def node_seconds(level_t_s: Sequence[float], level_replicas: Sequence[int], end_s: float,
                 memory_gib_per_replica: float, instance: InstanceType,
                 reserved_memory_gib: float) -> float:
    """Integral of nodes over time for a replica step function.

    ``level_replicas[i]`` holds from ``level_t_s[i]`` to the next change (the last one to
    ``end_s``); times must be sorted.
    """
    per_node = replicas_per_node(memory_gib_per_replica, instance, reserved_memory_gib)
    total = 0.0
    for i, (t_s, reps) in enumerate(zip(level_t_s, level_replicas)):
        until_s = level_t_s[i + 1] if i + 1 < len(level_t_s) else end_s
        if until_s > t_s and reps > 0:
            total += math.ceil(reps / per_node) * (until_s - t_s)
    return total


def compute_cost_split(busy_replica_s: float, idle_replica_s: float, cold_start_replica_s: float,
                       node_s: float, price_usd_per_hour: float) -> dict[str, float]:
    """Node cost split into compute_busy / compute_idle / cold_start by replica-second shares.

    With no replica-seconds at all, any node time left is idle.
    """
    cost = node_s * price_usd_per_hour / SECONDS_PER_HOUR
    replica_s = busy_replica_s + idle_replica_s + cold_start_replica_s
    if replica_s <= 0:
        return {"compute_busy": 0.0, "compute_idle": cost, "cold_start": 0.0}
    return {"compute_busy": cost * busy_replica_s / replica_s,
            "compute_idle": cost * idle_replica_s / replica_s,
            "cold_start": cost * cold_start_replica_s / replica_s}


def cost_series(level_t_s: Sequence[float], level_replicas: Sequence[int], end_s: float, bin_s: float,
                memory_gib_per_replica: float, stream_partitions: int,
                cfg: CostConfig) -> list[tuple[float, float, float]]:
    """Compute and stream cost per time bin: ``[(bin_start_s, compute_usd, stream_usd), ...]``.

    Usage-priced items (lookups, API calls, reviews) are counted per bin by the caller and
    priced with the same unit prices as :func:`cost_summary`.
    """
    if bin_s <= 0:
        raise ValueError("bin_s must be > 0")
    instance = cfg.instance
    per_node = replicas_per_node(memory_gib_per_replica, instance, cfg.system_reserved_memory_gib)
    usd_per_node_s = instance.price_usd_per_hour / SECONDS_PER_HOUR
    usd_per_stream_s = stream_partitions * cfg.stream_usd_per_partition_hour / SECONDS_PER_HOUR
    n_bins = math.ceil(end_s / bin_s - EPS)
    compute = [0.0] * n_bins
    for i, (t_s, reps) in enumerate(zip(level_t_s, level_replicas)):
        until_s = min(level_t_s[i + 1] if i + 1 < len(level_t_s) else end_s, end_s)
        rate = math.ceil(max(reps, 0) / per_node) * usd_per_node_s
        b = int(t_s // bin_s)
        while t_s < until_s and b < n_bins:
            piece_end_s = min(until_s, (b + 1) * bin_s)
            compute[b] += rate * (piece_end_s - t_s)
            t_s, b = piece_end_s, b + 1
    return [(b * bin_s, compute[b], usd_per_stream_s * (min(end_s, (b + 1) * bin_s) - b * bin_s))
            for b in range(n_bins)]


# =========================================================================== totals
def cost_summary(*, duration_s: float, node_s: float, busy_replica_s: float, idle_replica_s: float,
                 cold_start_replica_s: float, requests: int, stream_partitions: int,
                 feature_lookups: int, external_api_calls: int, review_cases: int,
                 cfg: CostConfig) -> dict[str, float]:
    """Run totals in USD.

    Keys: total, per_1k_requests (NaN with no requests), compute_busy, compute_idle,
    cold_start, stream, feature_store, external_api, review, monthly_projection
    (= total / duration_s x hours_per_month x 3600: the run's mean cost rate held for a month).
    """
    if duration_s <= 0:
        raise ValueError("duration_s must be > 0")
    out = compute_cost_split(busy_replica_s, idle_replica_s, cold_start_replica_s,
                             node_s, cfg.instance.price_usd_per_hour)
    out["stream"] = stream_partitions * duration_s / SECONDS_PER_HOUR * cfg.stream_usd_per_partition_hour
    out["feature_store"] = feature_lookups / 1e6 * cfg.feature_store_usd_per_million_lookups
    out["external_api"] = external_api_calls / 1e3 * cfg.external_api_usd_per_1k_calls
    out["review"] = review_cases * cfg.review_usd_per_case
    total = sum(out.values())
    out["total"] = total
    out["per_1k_requests"] = total / requests * 1000 if requests > 0 else math.nan
    out["monthly_projection"] = total / duration_s * cfg.hours_per_month * SECONDS_PER_HOUR
    return out


# =========================================================================== value
def decision_value_usd(tp: int, fp: int, fn: int, tn: int, cfg: ValueConfig) -> dict[str, float]:
    """Money moved by each outcome and in total (USD), as a payoff matrix.

    A caught fraud (tp) saves ``caught_saves_fraction`` of the mean amount, a false alarm
    (fp) costs ``false_alarm_cost_usd``, a missed fraud (fn) loses the whole amount, a
    correct pass (tn) moves nothing. Review and infrastructure costs are left to
    :func:`cost_summary` so they are not counted twice.
    """
    out = {"tp": tp * cfg.caught_saves_fraction * cfg.mean_fraud_amount_usd,
           "fp": -fp * cfg.false_alarm_cost_usd,
           "fn": -fn * cfg.mean_fraud_amount_usd,
           "tn": 0.0}
    decisions = tp + fp + fn + tn
    out["net"] = out["tp"] + out["fp"] + out["fn"]
    out["per_decision"] = out["net"] / decisions if decisions > 0 else math.nan
    return out


def expected_value_per_decision_usd(tpr: float, fpr: float, cfg: ValueConfig) -> float:
    """Expected payoff of one decision for a model with recall ``tpr`` and false-positive rate ``fpr``.

    Same payoff matrix as :func:`decision_value_usd`, weighted by ``fraud_rate``.
    """
    amount = cfg.mean_fraud_amount_usd
    fraud = cfg.fraud_rate * (tpr * cfg.caught_saves_fraction * amount - (1 - tpr) * amount)
    legit = (1 - cfg.fraud_rate) * fpr * -cfg.false_alarm_cost_usd
    return fraud + legit
