"""What the engine hands over at the end of a run: equal-length columns plus control events."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Trace:
    """What the engine hands over: columns of equal length ``n`` plus control events."""

    n: int
    columns: dict[str, list]
    events: list[tuple[float, str, str, str]]
    capacity: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    breaker_states: list[tuple[float, str]] = field(default_factory=list)
    canary_weights: list[tuple[float, float]] = field(default_factory=list)
    cold_spans: list[tuple[float, float]] = field(default_factory=list)
    # per pool component (graph topologies): its capacity series as ``capacity`` has them for the
    # model ("inference" = slots, "replicas", "replicas_total", "canary_replicas"; reviewers: "inference")
    component_capacity: dict[str, dict[str, list[tuple[float, float]]]] = field(default_factory=dict)
    counters: dict = field(default_factory=dict)
    gov: object = None
    decisions: object = None
    audit: list = field(default_factory=list)
    wall_s: float = 0.0  # wall-clock seconds the simulation took
