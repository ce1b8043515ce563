"""One run, end to end: Scenario + seed -> the engine's trace -> tidy frames and summary; and a run's
findings, with the paired incident-free run that prices a one-off event."""
from __future__ import annotations

from collections.abc import Callable

from simulator.engine.simulation import Simulation
from simulator.report.findings import Findings, findings
from simulator.report.results import RunResult, build_result
from simulator.scenario.config import Scenario, without_incident
from simulator.scenario.rates import check_size


def run(scenario: Scenario, seed: int | None = None,
        progress: Callable[[float], None] | None = None) -> RunResult:
    """Simulate ``scenario`` once. Deterministic for a seed (default: the scenario's seed)."""
    check_size(scenario)
    seed = scenario.seed if seed is None else int(seed)
    trace = Simulation(scenario, seed, progress).run()
    return build_result(scenario, seed, trace, wall_s=trace.wall_s)


def run_findings(result: RunResult) -> Findings:
    """The findings of a finished run; a one-off event is priced against the same scenario without
    its incident, simulated here on the same seed (common random numbers)."""
    twin = without_incident(result.scenario)
    reference = run(twin, result.seed).summary if twin is not None else None
    return findings(result.scenario, result, reference)
