"""The pre-run budget: its estimate against counted events and measured memory, and refusals that name the field."""
import json
import math
import subprocess
import sys
import time

import pytest

import simulator.engine.simulation as simulation_module
from simulator.runner import run
from simulator.scenario.budget import Budget, check_budget, estimate, use_budget
from simulator.scenario.config import Scenario, ScenarioError, load_scenario, with_overrides
from tests.conftest import SCENARIOS
from tests.hostile.inputs import ROOT, run_cli

MONTH_S = 30 * 86_400


@pytest.mark.parametrize("name", ["baseline", "black_friday", "weather_api_outage", "db_contention", "cold_start",
                                  "bad_canary", "fairness_drift", "nightly_batch", "mmc"])
def test_estimated_events_bound_the_counted_ones(name, monkeypatch):
    """SimPy numbers every scheduled event; the estimate is at least that count and not wildly above."""
    sc = with_overrides(load_scenario(SCENARIOS / f"{name}.yaml"), {"duration_s": 900, "warmup_s": 0})
    seen = {}
    real = simulation_module.run_until

    def counting(env, until_s):
        real(env, until_s)
        seen["events"] = next(env._eid)

    monkeypatch.setattr(simulation_module, "run_until", counting)
    run(sc, 3, engine="event", frames=False)  # the event-driven reference path: every event is counted
    # the retraining fit is compute priced in events, not scheduled events: leave it out here
    est = sum(p.events for p in estimate(sc).parts if p.field != "retraining.training_rows")
    assert seen["events"] <= est <= 6 * seen["events"] + 20_000, (seen["events"], est)


def test_estimated_memory_bounds_the_measured_peak():
    """Peak resident memory of a fresh process running 300,000 requests stays under the estimate.

    The peak is the process's own VmHWM: ru_maxrss would also count the test process it was forked
    from, since it survives exec."""
    code = ("from simulator.runner import run; "
            "from simulator.scenario.config import load_scenario, with_overrides; "
            f"sc = with_overrides(load_scenario({str(SCENARIOS / 'baseline.yaml')!r}), "
            "{'traffic.rate_per_s': 150, 'duration_s': 2000, 'warmup_s': 0}); r = run(sc, 1); "
            "hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')); "
            "print(len(r.requests), hwm * 1024)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    requests, peak = (int(x) for x in out.stdout.split())
    sc = with_overrides(load_scenario(SCENARIOS / "baseline.yaml"),
                        {"traffic.rate_per_s": 150, "duration_s": 2000, "warmup_s": 0})
    est = estimate(sc)
    assert abs(est.arrivals - requests) < 5 * requests ** 0.5
    assert peak <= est.memory_bytes <= 3 * peak, (peak, est.memory_bytes)


QUIET = {"duration_s": MONTH_S, "traffic.rate_per_s": 0.001}


@pytest.mark.parametrize("overrides, field", [
    ({"autoscaler.enabled": True, "autoscaler.sync_period_s": 1}, "autoscaler.sync_period_s"),
    ({"autoscaler.enabled": True, "autoscaler.kind": "kpa", "autoscaler.min_replicas": 0,
      "autoscaler.kpa_tick_s": 1}, "autoscaler.kpa_tick_s"),
    ({"canary.enabled": True, "canary.interval_s": 10}, "canary.interval_s"),
    ({"ingestion.mode": "batch", "ingestion.batch.interval_s": 1}, "ingestion.batch.interval_s"),
    ({"fairness.enabled": True, "fairness.window_s": 60}, "fairness.window_s"),
    ({"retraining.enabled": True, "retraining.training_rows": 1_000_000}, "retraining.training_rows"),
    ({"faults.external_api_flapping.enabled": True, "faults.external_api_flapping.mtbf_s": 1,
      "faults.external_api_flapping.mttr_s": 1}, "faults.external_api_flapping.mtbf_s"),
    ({"traffic.rate_per_s": 5}, "traffic.rate_per_s"),
])
def test_a_runaway_is_refused_naming_the_field_that_drives_it(overrides, field):
    sc = with_overrides(Scenario(), {**QUIET, **overrides})
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError) as err:
        check_budget(sc, Budget(max_events=30_000, max_memory_bytes=1e12))
    assert time.perf_counter() - t0 < 5
    (line,) = err.value.lines
    assert line.startswith(f"{field}: ") and "budget" in line


def test_memory_refusal_names_the_traffic():
    sc = with_overrides(Scenario(), {"duration_s": 86_400, "traffic.rate_per_s": 100})
    with pytest.raises(ScenarioError) as err:
        check_budget(sc, Budget(max_events=1e12, max_memory_bytes=2 * 2**30))
    assert err.value.lines[0].startswith("traffic.rate_per_s: ") and "GB of memory" in err.value.lines[0]


def test_the_run_itself_checks_the_budget_in_force():
    sc = with_overrides(Scenario(), {"duration_s": 600})
    with use_budget(Budget(max_events=100)), pytest.raises(ScenarioError):
        run(sc, 1)


def test_cli_budget_options_and_validate_report():
    p = run_cli("validate", "baseline")
    assert p.returncode == 0 and "simulation events" in p.stdout and "GB of memory" in p.stdout
    p = run_cli("run", "baseline", "--max-events", "1e5")
    assert p.returncode == 2 and p.stderr.startswith("error: traffic.rate_per_s:") and "budget of 100,000" in p.stderr
    p = run_cli("run", "baseline", "--max-memory-mb", "200")
    assert p.returncode == 2 and "memory" in p.stderr and len(p.stderr.splitlines()) == 1
    p = run_cli("run", "baseline", "--set", "duration_s=60", "--set", "warmup_s=0", "--max-events", "1e6", "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["requests"]["arrived"] > 0


@pytest.mark.parametrize("scenario, field, floor", [
    ("baseline", "duration_s", "≥ 1"),  # found by the fuzz (seed 988736474): the report divided by it
    ("cold_start", "autoscaler.target_concurrency_per_replica", "≥ 0.01"),  # Knative's TargetMin
])
def test_a_vanishing_positive_number_is_refused_naming_its_floor(scenario, field, floor):
    """5e-324 passed "greater than 0" and a division by it overflowed; each such field has a floor."""
    p = run_cli("run", scenario, "--set", "warmup_s=0", "--set", f"{field}=5e-324")
    assert p.returncode == 2 and p.stderr.startswith(f"error: {field}:") and floor in p.stderr, p.stderr
    assert len(p.stderr.splitlines()) == 1


def test_the_shortest_run_reports_finite_numbers():
    p = run_cli("run", "baseline", "--set", "warmup_s=0", "--set", "duration_s=1", "--json")
    assert p.returncode == 0, p.stderr
    numbers, stack = [], [json.loads(p.stdout)]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, float):
            numbers.append(item)
    assert numbers and all(math.isfinite(x) for x in numbers)
