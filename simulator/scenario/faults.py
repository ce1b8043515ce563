"""Scenario sections for injected faults: scheduled windows and MTBF/MTTR flapping."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from simulator.common.limits import MAX_DURATION_S, MAX_ENTRIES, MAX_NAME_CHARS, MAX_REPLICAS
from simulator.common.section import Section

ApiFaultKind = Literal["outage_errors", "outage_timeouts", "latency_spike", "error_rate"]


DbFaultKind = Literal["lock_contention", "outage"]


ReplicaFaultKind = Literal["crash", "memory_pressure"]


class ApiFault(Section):
    """A window in which the external API misbehaves."""

    name: str = Field("api outage", max_length=MAX_NAME_CHARS, description="Name shown on charts and in the narrative")
    kind: ApiFaultKind = Field("outage_errors", description=(
        "outage_errors: calls fail fast; outage_timeouts: calls hang until the client timeout; "
        "latency_spike: latency x factor; error_rate: a share of calls fail"))
    start_s: float = Field(600.0, ge=0, le=MAX_DURATION_S, description="Start of the window (s)")
    duration_s: float = Field(1200.0, gt=0, le=MAX_DURATION_S, description="Length of the window (s)")
    factor: float = Field(5.0, gt=0, le=1000, description="Latency multiplier (latency_spike) or failing share (error_rate, 0-1)")


class ApiFlapping(Section):
    """Alternating up/down periods drawn from exponential MTBF/MTTR."""

    enabled: bool = Field(False, description="Let the API fail and recover at random")
    mtbf_s: float = Field(3600.0, ge=1, le=MAX_DURATION_S, description="Mean time between failures (s, at least 1)")
    mttr_s: float = Field(300.0, ge=1, le=MAX_DURATION_S, description="Mean time to repair (s, at least 1)")
    kind: Literal["outage_errors", "outage_timeouts"] = Field("outage_errors", description="What a down period looks like")


class DbFault(Section):
    """A window of trouble on the feature store's source database."""

    name: str = Field("db lock contention", max_length=MAX_NAME_CHARS,
                      description="Name shown on charts and in the narrative")
    kind: DbFaultKind = Field("lock_contention", description=(
        "lock_contention: each query holds its connection factor x longer; outage: queries fail"))
    start_s: float = Field(600.0, ge=0, le=MAX_DURATION_S, description="Start of the window (s)")
    duration_s: float = Field(900.0, gt=0, le=MAX_DURATION_S, description="Length of the window (s)")
    factor: float = Field(8.0, ge=1, le=1000, description="Connection hold-time multiplier (lock_contention)")


class ReplicaFault(Section):
    """Model replicas crash or slow down."""

    name: str = Field("replica crash", max_length=MAX_NAME_CHARS, description="Name shown on charts and in the narrative")
    kind: ReplicaFaultKind = Field("crash", description=(
        "crash: N replicas die (their in-flight requests fail) and restart after restart_s; "
        "memory_pressure: N replicas serve factor x slower for duration_s"))
    start_s: float = Field(600.0, ge=0, le=MAX_DURATION_S, description="When it happens (s)")
    replicas: int = Field(1, ge=1, le=MAX_REPLICAS, description="How many replicas are affected")
    duration_s: float = Field(600.0, gt=0, le=MAX_DURATION_S, description="Length of a memory-pressure window (s)")
    restart_s: float = Field(60.0, ge=0, le=86_400, description="Time until a crashed replica is replaced and ready (s)")
    factor: float = Field(3.0, ge=1, le=1000, description="Service-time multiplier (memory_pressure)")


class ComponentFault(Section):
    """An outage of one component of the topology: every request reaching it in the window fails there.

    A dependency's calls fail at once (its fallback, or a fallback edge, then applies); any other
    component fails the requests that reach it (a fallback edge from a model still applies).
    """

    name: str = Field("outage", max_length=MAX_NAME_CHARS, description="Name shown on charts and in the narrative")
    component: str = Field(..., pattern=r"^[a-z][a-z0-9_]{0,39}$", description="Id of the component that is down")
    start_s: float = Field(0.0, ge=0, le=MAX_DURATION_S, description="Start of the outage (s)")
    duration_s: float = Field(600.0, gt=0, le=MAX_DURATION_S, description="Length of the outage (s)")


class FaultsConfig(Section):
    """Every injected fault of a scenario."""

    external_api: tuple[ApiFault, ...] = Field((), max_length=MAX_ENTRIES, description="Scheduled API fault windows")
    external_api_flapping: ApiFlapping = ApiFlapping()
    feature_db: tuple[DbFault, ...] = Field((), max_length=MAX_ENTRIES, description="Scheduled database fault windows")
    inference: tuple[ReplicaFault, ...] = Field(
        (), max_length=MAX_ENTRIES, description="Replica crashes and memory pressure")
    components: tuple[ComponentFault, ...] = Field(
        (), max_length=MAX_ENTRIES,
        description="Outages of any component of the topology, by id (to see its blast radius happen)")
