"""One run, end to end: Scenario + seed -> the engine's trace -> tidy frames and summary."""
from __future__ import annotations

from collections.abc import Callable

from simulator.engine.simulation import Simulation
from simulator.report.results import RunResult, build_result
from simulator.scenario.budget import check_budget
from simulator.scenario.config import Scenario


def run(scenario: Scenario, seed: int | None = None,
        progress: Callable[[float], None] | None = None) -> RunResult:
    """Simulate ``scenario`` once. Deterministic for a seed (default: the scenario's seed)."""
    check_budget(scenario)
    seed = scenario.seed if seed is None else int(seed)
    trace = Simulation(scenario, seed, progress).run()
    return build_result(scenario, seed, trace, wall_s=trace.wall_s)
