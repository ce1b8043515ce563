"""What a run will cost, estimated before it starts, and the budget it must fit.

Why: a valid scenario can still be a runaway (a control loop every millisecond for a month,
twenty million requests on a machine with 8 GB). Every entry point (CLI, dashboard, sweeps)
calls :func:`check_budget` before any work starts and refuses what does not fit with one line
naming the field to change.

The estimate follows the engine's structure:

* **events**: the arrival integral times the events one request causes on its way (two for
  the model pool, three for a feature-store miss through the database pool, two per external
  call when the breaker makes calls events, one for a request deadline), plus the control
  ticks of every periodic mechanism (duration / its period); a retraining fit is priced as
  five events per training row;
* **memory**: the per-request records and result frames (about 700 bytes a request,
  measured, and 100 more for each component of a topology beyond the default four), the rate
  grid, fault windows and fairness windows, plus the interpreter with its libraries.

The constants were measured on this project's machine with ``/tmp``-style calibration runs
of the bundled scenarios (see the README, "Budgets"); they are deliberately rounded up.
"""
from __future__ import annotations

import contextlib
import contextvars
import math
import os
from dataclasses import dataclass
from typing import NamedTuple

from simulator.scenario.config import Scenario, ScenarioError
from simulator.scenario.rates import GRID_STEPS_MAX, expected_arrivals

BYTES_PER_REQUEST = 700          # records + result frames: 545 B measured at 1 M requests, rounded up
BYTES_PER_EXTRA_COMPONENT = 100  # per request, for each component of a topology beyond the default four
BASE_BYTES = 350 * 2**20         # interpreter, numpy, pandas, simpy, scikit-learn, numba's compiled kernels
BYTES_PER_GRID_STEP = 48         # rate grid: edges, rates, cumulative integral
BYTES_PER_FAULT_WINDOW = 400
BYTES_PER_FAIRNESS_WINDOW = 2_000
EVENTS_PER_TRAINING_ROW = 5      # retraining fits a logistic regression on recent rows
MAX_EVENTS_ENV = "PIPELINE_TWIN_MAX_EVENTS"
MAX_MEMORY_ENV = "PIPELINE_TWIN_MAX_MEMORY_MB"
DEFAULT_MAX_EVENTS = 1e9         # about an hour and a half of computing at the measured 5 µs per event


@dataclass(frozen=True)
class Budget:
    """The most one run may take: simulation events (time) and bytes (memory)."""

    max_events: float = DEFAULT_MAX_EVENTS
    max_memory_bytes: float = 8 * 2**30

    @staticmethod
    def for_this_machine(memory_share: float = 0.8) -> Budget:
        """Events from ``PIPELINE_TWIN_MAX_EVENTS`` (default 1e9); memory from
        ``PIPELINE_TWIN_MAX_MEMORY_MB``, else ``memory_share`` of the memory available now."""
        events = _env_number(MAX_EVENTS_ENV, DEFAULT_MAX_EVENTS)
        mb = _env_number(MAX_MEMORY_ENV, None)
        if mb is None:
            import psutil

            memory = psutil.virtual_memory().available * memory_share
        else:
            memory = mb * 2**20
        return Budget(events, memory)


def _env_number(name: str, default: float | None) -> float | None:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ScenarioError([f"{name}: expected a number, got {text[:20]!r}"]) from None
    if not math.isfinite(value) or value <= 0:
        raise ScenarioError([f"{name}: must be a positive number, got {text[:20]!r}"])
    return value


_current: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("pipeline_twin_budget", default=None)


def current_budget() -> Budget:
    """The budget set with :func:`use_budget`, else the one for this machine."""
    return _current.get() or Budget.for_this_machine()


@contextlib.contextmanager
def use_budget(budget: Budget):
    """Run the block (and every :func:`check_budget` inside it) under ``budget``."""
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


class Part(NamedTuple):
    """One contribution to the estimate and the field that drives it."""

    field: str
    events: float
    memory_bytes: float
    what: str


class Estimate(NamedTuple):
    arrivals: float
    events: float
    memory_bytes: float
    parts: list[Part]


def events_per_request(sc: Scenario) -> float:
    """Simulation events one request causes on its way through the enabled stages.

    With a topology of its own, every component counts as a pool the request enters and leaves
    plus a hop (an upper bound: a route sends a request down one branch only).
    """
    if sc.topology is not None:
        return 1.0 + 3.0 * len(sc.topology.components)
    n = 1.0
    if sc.inference.enabled:
        n += 2.0 + (1.0 if sc.inference.timeout_ms is not None else 0.0)
    fs = sc.feature_store
    if fs.mode == "compute":
        n += 3.0
    elif fs.mode == "online_store":
        n += 3.0 * (1.0 - fs.hit_ratio)
    api = sc.external_api
    if api.enabled and api.breaker.enabled:
        n += 2.0 * (api.retry.max_attempts if api.retry.enabled else 1)
    return n


def _ticks(duration_s: float, period_s: float) -> float:
    return duration_s / period_s


def estimate(sc: Scenario) -> Estimate:
    """Events and memory of one run of ``sc`` (see the module docstring for the model)."""
    d = sc.duration_s
    arrivals = expected_arrivals(sc)
    driver = "traffic.replay_csv" if sc.traffic.kind == "replay" else "traffic.rate_per_s"
    per_request = events_per_request(sc)
    extra = max(0, len(sc.topology.components) - 4) if sc.topology is not None else 0
    # the arrival loop wakes once per block of about 1,000 arrivals, at least every minute (engine.simulation)
    horizon_s = min(60.0, max(0.05, 1000.0 / max(arrivals / d, 1e-9)))
    parts = [Part(driver, arrivals * per_request, arrivals * (BYTES_PER_REQUEST + extra * BYTES_PER_EXTRA_COMPONENT),
                  f"about {arrivals:,.0f} requests, {per_request:.1f} events each"),
             Part("duration_s", _ticks(d, horizon_s), min(GRID_STEPS_MAX, math.ceil(d)) * BYTES_PER_GRID_STEP,
                  "the arrival clock and rate grid")]
    a = sc.autoscaler
    if a.enabled and sc.inference.enabled:
        if a.kind == "hpa":
            parts.append(Part("autoscaler.sync_period_s", _ticks(d, a.sync_period_s), 0.0,
                              f"{_ticks(d, a.sync_period_s):,.0f} autoscaler decisions"))
        else:  # KPA samples every second and averages its whole stable window at each decision
            work = d + _ticks(d, a.kpa_tick_s) * a.stable_window_s / 50
            parts.append(Part("autoscaler.kpa_tick_s", work, 0.0,
                              f"{_ticks(d, a.kpa_tick_s):,.0f} autoscaler decisions over a {a.stable_window_s:g} s window"))
    if sc.canary.enabled and sc.inference.enabled:
        ticks = _ticks(d, sc.canary.interval_s)
        parts.append(Part("canary.interval_s", ticks, 0.0, f"{ticks:,.0f} canary checks"))
    if sc.ingestion.mode == "batch":
        ticks = _ticks(d, sc.ingestion.batch.interval_s)
        parts.append(Part("ingestion.batch.interval_s", ticks, 0.0, f"{ticks:,.0f} batch jobs"))
    if sc.fairness.enabled and sc.inference.enabled:
        windows = _ticks(d, sc.fairness.window_s)
        parts.append(Part("fairness.window_s", windows * len(sc.traffic.regions), windows * BYTES_PER_FAIRNESS_WINDOW,
                          f"{windows:,.0f} fairness windows"))
    if sc.retraining.enabled and sc.inference.enabled:
        windows = _ticks(d, sc.retraining.psi_window_s)
        parts.append(Part("retraining.psi_window_s", windows, 0.0, f"{windows:,.0f} drift checks"))
        rows = sc.retraining.training_rows
        parts.append(Part("retraining.training_rows", rows * EVENTS_PER_TRAINING_ROW, rows * 7 * 8 * 4,
                          f"retraining on {rows:,} rows"))
    fl = sc.faults.external_api_flapping
    if fl.enabled and sc.external_api.enabled:
        windows = d / (fl.mtbf_s + fl.mttr_s)
        parts.append(Part("faults.external_api_flapping.mtbf_s", 2 * windows, windows * BYTES_PER_FAULT_WINDOW,
                          f"about {windows:,.0f} API failures"))
    events = sum(p.events for p in parts)
    memory = BASE_BYTES + sum(p.memory_bytes for p in parts)
    return Estimate(arrivals, events, memory, parts)


def _gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GB"


def check_budget(sc: Scenario, budget: Budget | None = None) -> Estimate:
    """The estimate of one run, or ScenarioError naming the field that makes it too big."""
    est = estimate(sc)
    if not math.isfinite(est.arrivals) or est.arrivals > sc.max_requests:
        raise ScenarioError([
            f"max_requests: this scenario would simulate about {est.arrivals:,.0f} requests, more than the cap of "
            f"{sc.max_requests:,} (lower traffic.rate_per_s or duration_s, or raise max_requests)"])
    budget = budget or current_budget()
    if est.events > budget.max_events:
        worst = max(est.parts, key=lambda p: p.events)
        raise ScenarioError([
            f"{worst.field}: this run would take about {est.events:,.0f} simulation events ({worst.what}), more than "
            f"the budget of {budget.max_events:,.0f}; {advice(worst.field)}"])
    if est.memory_bytes > budget.max_memory_bytes:
        worst = max(est.parts, key=lambda p: p.memory_bytes)
        raise ScenarioError([
            f"{worst.field}: this run would need about {_gib(est.memory_bytes)} of memory ({worst.what}), more than "
            f"the {_gib(budget.max_memory_bytes)} it may use here; {advice(worst.field)}"])
    return est


def cost_driver(est: Estimate) -> str:
    """The field behind most of a run's events (what to change to make it cheaper)."""
    return max(est.parts, key=lambda p: p.events).field


def advice(field: str) -> str:
    """How to make a run cheaper when ``field`` drives its cost, in one clause."""
    if field in ("traffic.rate_per_s", "traffic.replay_csv", "duration_s"):
        return "lower traffic.rate_per_s or shorten duration_s"
    if field == "retraining.training_rows":
        return "train on fewer rows"
    if field == "faults.external_api_flapping.mtbf_s":
        return "make failures rarer (raise mtbf_s or mttr_s) or shorten duration_s"
    return f"raise {field} or shorten duration_s"
