"""The truth suite: every bundled scenario at the knob extremes, every headline checked against the raw frames.

Grid: traffic at 25 %, 100 %, 200 % and 300 % of the scenario's rate and model servers at 50 %,
100 % and 200 % of its count (the sidebar's knobs: ``traffic.rate_per_s`` scaled, and
``inference.replicas`` scaled and rounded, at least 1). For each point the scenario runs (a one-off
event also without its incident, on the same seed), its findings are derived and rendered, and
:func:`tests.truth.checks.check_run` compares tiles, story, diagram and report with the frames.
Where a capacity finding names the servers that would keep up, the scenario runs again with that
many servers (a fixed pool) and that stage must then keep up: its busiest minute below 95 %, leaving
out the minutes from a fault's start until service was back to normal (a crash of two servers is
told as an incident; the estimate is about capacity, and says so when a fault was involved).

Runtime: 13 scenarios x 12 points, plus the incident-free twins, on two worker processes. To keep
it to a few minutes each scenario is shortened in a way that keeps its story (``SHORT``): the
steady ones simulate 10 minutes; the fault windows, the maintenance, the canary and the crash move earlier with
the same lengths; Black Friday's curve is compressed four times (the climb, the plateau and the
doorbuster surge keep their shape; the autoscaler's cold starts then weigh more, so the surge
bites harder); the nightly batch starts at 22:00 so midnight's job comes after two hours; the
regional shock keeps its timeline up to the flag being cleared (5 hours instead of 10).
"""
from __future__ import annotations

import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from tests.conftest import SCENARIOS

TRAFFIC_PCT = (25, 100, 200, 300)
SERVERS_PCT = (50, 100, 200)
NAMES = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))
TEN_MINUTES = {"duration_s": 600, "warmup_s": 60}
SHORT: dict[str, dict] = {
    "baseline": TEN_MINUTES, "no_feature_store": TEN_MINUTES, "quantization": TEN_MINUTES,
    "mmc": {"duration_s": 400, "warmup_s": 40},
    "weather_api_outage": {"duration_s": 900, "warmup_s": 60, "faults.external_api": [
        {"name": "weather service outage", "kind": "outage_timeouts", "start_s": 300, "duration_s": 300}]},
    "db_contention": {"duration_s": 900, "warmup_s": 60, "faults.feature_db": [
        {"name": "reporting job locks tables", "kind": "lock_contention", "start_s": 300, "duration_s": 300,
         "factor": 11}]},
    "replica_crash": {"duration_s": 600, "warmup_s": 60, "faults.inference": [
        {"name": "two model servers crash", "kind": "crash", "start_s": 300, "replicas": 2, "restart_s": 90}]},
    "bad_canary": {"duration_s": 900, "warmup_s": 60, "canary.start_s": 240},
    "black_friday": {"duration_s": 3300, "warmup_s": 150,
                     "traffic.profile_points": [[0, 1], [450, 1], [2250, 8], [2700, 8], [3150, 1], [3300, 1]],
                     "traffic.spikes": [{"name": "doorbuster surge", "start_s": 2700, "multiplier": 1.8, "ramp_s": 10,
                                         "duration_s": 150}]},
    "cold_start": {},
    "planned_maintenance": {"duration_s": 900, "warmup_s": 60, "faults.external_api": [
        {"name": "weather service maintenance", "kind": "outage_errors", "start_s": 300, "duration_s": 300}],
        "external_api.breaker.operator_actions": [
            {"name": "weather service maintenance (runbook)", "at_s": 240, "action": "forced_open"},
            {"name": "maintenance over (runbook)", "at_s": 660, "action": "closed"}]},
    "nightly_batch": {"start_time_of_day_h": 22, "duration_s": 10_800},
    "fairness_drift": {"duration_s": 18_000},
    "fraud_enrichment": TEN_MINUTES,
    "loan_cascade": {"duration_s": 3600, "warmup_s": 300},
}


def knobs(sc, traffic_pct: int, servers_pct: int) -> dict:
    """The sidebar's what-if knobs as overrides (dashboard.state.knob_overrides makes them the same way)."""
    from simulator.scenario.knobs import knob_overrides

    return knob_overrides(sc, traffic_pct, servers_pct)


def check_point(name: str, traffic_pct: int, servers_pct: int) -> list[str]:
    """Run one grid point and check it; problems are prefixed with the point."""
    from simulator.report.findings import findings
    from simulator.runner import run
    from simulator.scenario.config import load_scenario, with_overrides, without_incident
    from tests.truth.checks import check_run, raw_busiest_minute

    base = with_overrides(load_scenario(SCENARIOS / f"{name}.yaml"), SHORT[name])
    sc = with_overrides(base, knobs(base, traffic_pct, servers_pct))
    result = run(sc)
    twin = without_incident(sc)
    reference = run(twin, result.seed).summary if twin is not None else None
    found = findings(sc, result, reference)
    problems = check_run(sc, result, found, reference)
    for stage, path, column in (("inference", "inference.replicas", "utilization_inference"),
                                ("feature_store", "feature_store.db_connections", "utilization_feature_store")):
        f = found.get(f"capacity.{stage}")
        needed = None if f is None else f.evidence.get("servers_needed")
        if needed is None or needed <= f.evidence["servers_had"]:
            continue
        bigger = with_overrides(sc, {path: needed, "autoscaler.enabled": False})
        rerun = run(bigger, result.seed)
        faults = [(r.started_s, r.recovered_s or bigger.duration_s) for r in rerun.summary.recovery]
        peak = raw_busiest_minute(bigger, rerun.timeseries, column, outside=faults)
        if peak is None or peak >= 0.95:
            problems.append(f"{stage}: the estimate of {needed} servers does not keep up in a rerun "
                            f"(busiest minute outside faults {peak})")
    return [f"{name} traffic {traffic_pct} % servers {servers_pct} %: {p}" for p in problems]


@pytest.fixture(scope="module")
def grid_problems() -> dict[str, list[str]]:
    """Every grid point of every bundled scenario, checked on two worker processes."""
    points = [(n, t, s) for n in NAMES for t in TRAFFIC_PCT for s in SERVERS_PCT]
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(check_point, *zip(*points), chunksize=1))
    out: dict[str, list[str]] = {n: [] for n in NAMES}
    for (name, _, _), problems in zip(points, results):
        out[name] += problems
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_every_headline_of_every_scenario_tells_the_truth_at_every_knob_setting(grid_problems, name):
    """Tiles, story, diagram and report agree with the raw frames at all 12 knob settings."""
    assert not grid_problems[name], "\n".join(grid_problems[name])


def test_the_grid_covers_every_bundled_scenario():
    """A new scenario needs its shortened version here (or {} when it is already short)."""
    assert set(SHORT) == set(NAMES)
    assert math.prod((len(TRAFFIC_PCT), len(SERVERS_PCT))) == 12
