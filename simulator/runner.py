"""One run, end to end: Scenario + seed -> the engine's trace -> tidy frames and summary; and a run's
findings, with the paired incident-free run that prices a one-off event."""
from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Literal

from simulator.report.findings import Findings, findings
from simulator.report.results import RunResult, build_result
from simulator.scenario.budget import check_budget
from simulator.scenario.config import Scenario, without_incident

Engine = Literal["kernel", "event"]


def simulate(scenario: Scenario, seed: int, progress: Callable[[float], None] | None = None,
             engine: Engine = "kernel", sink=None):
    """The engine's trace of one run: the station kernels (default) or the event path (the reference).

    BLAS runs on one thread meanwhile: the run's matrix products are small (a chunk of requests
    by seven features), and extra threads only spin against the simulation (and against other
    replications running in parallel).
    """
    with _blas_controller().limit(limits=1, user_api="blas"):
        return _simulate(scenario, seed, progress, engine, sink)


_CONTROLLER: list = [None, -1]  # (threadpoolctl controller, modules loaded when it looked)


def _blas_controller():
    """threadpoolctl's view of the loaded BLAS libraries, kept while no module has been imported since:
    looking costs milliseconds, as much as a short run's simulation."""
    from threadpoolctl import ThreadpoolController

    if _CONTROLLER[0] is None or _CONTROLLER[1] != len(sys.modules):
        _CONTROLLER[0], _CONTROLLER[1] = ThreadpoolController(), len(sys.modules)
    return _CONTROLLER[0]


def _simulate(scenario: Scenario, seed: int, progress: Callable[[float], None] | None, engine: Engine, sink=None):
    if engine == "event":
        from simulator.engine.simulation import Simulation

        if scenario.topology is not None or scenario.faults.components:
            raise ValueError("engine 'event' (the reference path) runs only the default chain without component "
                             "outages; this scenario has a topology or component outages: use engine 'kernel'")

        return Simulation(scenario, seed, progress).run()
    if engine != "kernel":
        raise ValueError(f"engine: expected 'kernel' or 'event', got {engine!r}")
    from simulator.engine.kernel import KernelSimulation

    return KernelSimulation(scenario, seed, progress, sink=sink).run()


def run(scenario: Scenario, seed: int | None = None,
        progress: Callable[[float], None] | None = None, engine: Engine = "kernel", frames: bool = True) -> RunResult:
    """Simulate ``scenario`` once. Deterministic for a seed (default: the scenario's seed).

    ``engine="event"`` runs the event-driven reference path instead of the station kernels; both
    give bit-identical results for the default chain. ``frames=False`` is the summary-only path:
    the summary, timeseries and events without the requests frame and the spans; on the kernel
    engine its statistics are reduced block by block while the run goes
    (:mod:`simulator.report.stream`: exact counts, percentiles within 1 %), so its memory does not
    grow with the number of requests.
    """
    check_budget(scenario)
    seed = scenario.seed if seed is None else int(seed)
    if not frames and engine == "kernel":
        from simulator.report.stream import SummaryStream

        sink = SummaryStream(scenario)
        trace = simulate(scenario, seed, progress, engine, sink)
        return sink.result(seed, trace, trace.wall_s)
    trace = simulate(scenario, seed, progress, engine)
    return build_result(scenario, seed, trace, wall_s=trace.wall_s, frames=frames)


def run_findings(result: RunResult) -> Findings:
    """The findings of a finished run; a one-off event is priced against the same scenario without
    its incident, simulated here on the same seed (common random numbers)."""
    twin = without_incident(result.scenario)
    reference = run(twin, result.seed, frames=False).summary if twin is not None else None
    return findings(result.scenario, result, reference)
