"""The what-if knobs every front end offers (traffic and servers in % of the scenario's own), as
dotted overrides, so the dashboard, the truth suite and the CLI turn them the same way."""
from __future__ import annotations

from typing import Any

from simulator.scenario.config import Scenario, with_overrides


def scaled_servers(servers: int, capacity_pct: float) -> int:
    """Servers for a capacity knob in % of a pool's own number (rounded, at least 1)."""
    return max(1, round(servers * capacity_pct / 100))


def capacity_overrides(scenario: Scenario, capacity_pct: float) -> dict[str, Any]:
    """Every model pool's servers scaled: the chain's inference pool, or each model of a topology
    (a model component without settings of its own uses the inference section, scaled with it)."""
    if capacity_pct == 100:
        return {}
    out: dict[str, Any] = {}
    if scenario.inference.enabled or scenario.topology is not None:
        out["inference.replicas"] = scaled_servers(scenario.inference.replicas, capacity_pct)
    if scenario.topology is not None:
        components = []
        for comp in scenario.topology.components:
            data = comp.model_dump(mode="json", exclude_none=True)
            if comp.kind == "model" and comp.model is not None:
                data["model"]["replicas"] = scaled_servers(comp.model.replicas, capacity_pct)
            components.append(data)
        out["topology.components"] = components
    return out


def knob_overrides(scenario: Scenario, traffic_pct: float = 100, capacity_pct: float = 100) -> dict[str, Any]:
    """Dotted overrides for the two what-if knobs (empty when both are at 100 %)."""
    out: dict[str, Any] = {}
    if traffic_pct != 100:
        out["traffic.rate_per_s"] = scenario.traffic.rate_per_s * traffic_pct / 100
    out.update(capacity_overrides(scenario, capacity_pct))
    return out


def natural_comparison(base: Scenario) -> tuple[Scenario, str]:
    """What Compare sets against a scenario first: its own comparison (``compare_overrides``), else the
    same with 50 % more traffic; with its label. (The dashboard also warms this run in advance.)"""
    overrides = getattr(base, "compare_overrides", None) or {}
    if overrides:
        return with_overrides(base, overrides), getattr(base, "compare_label", "") or "its comparison"
    return with_overrides(base, {"traffic.rate_per_s": base.traffic.rate_per_s * 1.5}), "50 % more traffic"
