"""Capacity planner: known optimum, confidence rule, Pareto frontier, and the CLI."""
import math
import subprocess
import sys

import pytest

from simulator.analysis import planner as pl
from simulator.analysis.stats import MeanCI
from simulator.scenario.config import with_overrides
from tests.conftest import ROOT, only_inference


def erlang_c_wait_ms(lam: float, service_s: float, c: int) -> float:
    """Textbook M/M/c mean wait (written here, independent of the code)."""
    a = lam * service_s
    if a >= c:
        return math.inf
    top = a**c / math.factorial(c) * c / (c - a)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return 1000 * p_wait / (c / service_s - lam)


def test_planner_finds_the_smallest_replica_count_meeting_an_erlang_c_wait_target():
    """λ = 100/s, S = 30 ms, mean-wait target 8 ms: Erlang C gives 15.3 ms at 4 replicas and 3.5 ms
    at 5, so the answer is 5; 1-3 replicas are unstable and need no simulation."""
    lam, service_s, target_ms = 100.0, 0.030, 8.0
    expected = min(c for c in range(1, 20) if erlang_c_wait_ms(lam, service_s, c) <= target_ms)
    assert expected == 5
    sc = with_overrides(only_inference(replicas=4, service_ms=30),
                        {"traffic.rate_per_s": lam, "duration_s": 330, "warmup_s": 30})
    wait = pl.Constraint("stages.inference.wait_ms_mean", "<=", target_ms, "mean wait ≤ 8 ms")
    plan = pl.plan(sc, [wait], replicas=(1, 10), reps=4, max_reps=8)
    assert plan.recommendation is not None and plan.recommendation["replicas"] == expected
    ev = plan.evaluations.set_index(["replicas", "stage"])
    assert ev.loc[(expected, "simulated"), "feasible"]
    # one fewer was simulated and failed with confidence: its whole interval is above the target
    assert ev.loc[(expected - 1, "simulated"), "stages.inference.wait_ms_mean.lo"] > target_ms
    # unstable counts (λS = 3 Erlangs) were ruled out by the preview, not simulated
    assert {(c, "screened out") for c in (1, 2, 3)} <= set(ev.index)
    assert "Recommended: 5 replicas" in plan.explanation


@pytest.mark.parametrize("sense,limit,ci,status", [
    ("<=", 100, MeanCI(90, 5, 85, 95, 5), "met"),          # whole interval below
    ("<=", 100, MeanCI(98, 5, 93, 103, 5), "uncertain"),   # mean below, upper end above: not proven
    ("<=", 100, MeanCI(110, 5, 105, 115, 5), "failed"),
    (">=", 0.999, MeanCI(0.9995, 0.0002, 0.9993, 0.9997, 5), "met"),
    (">=", 0.999, MeanCI(0.9992, 0.0005, 0.9987, 0.9997, 5), "uncertain"),
])
def test_a_constraint_is_met_only_when_the_whole_interval_meets_it(sense, limit, ci, status):
    """Statistical confidence: the unfavourable end of the 95 % interval must meet the limit."""
    assert pl.Constraint("k", sense, limit, "label").status(ci) == status


def test_pareto_frontier_keeps_only_undominated_points():
    """(cost, p99): (1, 300), (2, 200), (3, 100) trade off; (2, 250) and (3, 200) are dominated."""
    cost = [1, 2, 3, 2, 3]
    p99 = [300, 200, 100, 250, 200]
    assert pl.pareto_mask(cost, p99) == [True, True, True, False, False]


def test_optional_fairness_constraint_is_dropped_when_not_reported_and_a_required_one_is_an_error():
    """DI ≥ 0.8 applies only where fairness is modelled; an unknown required KPI is refused by name."""
    sc = with_overrides(only_inference(replicas=4), {"duration_s": 60, "warmup_s": 5})
    missing = pl.Constraint("no_such.kpi", ">=", 1.0, "no_such.kpi ≥ 1", optional=True)
    plan = pl.plan(sc, [pl.p99_at_most(1000), missing], replicas=(4, 4), reps=2, max_reps=2)
    assert [c.kpi for c in plan.constraints] == ["latency_ms.p99"]
    assert any("no_such.kpi" in n for n in plan.notes)
    with pytest.raises(pl.MissingKpi, match="no_such.kpi"):
        pl.plan(sc, [missing._replace(optional=False)], replicas=(4, 4), reps=2, max_reps=2)


def test_search_knobs_follow_the_scenario_model():
    """Knobs resolve to fields that exist; choices come from the model (Literal values)."""
    path = pl.knob_path("precision")
    if path is not None:
        assert set(pl.allowed_values(path)) >= {"fp32", "int8"}
    assert pl.field_info("inference.replicas") is not None
    assert pl.field_info("inference.no_such_field") is None


def cli(*args):
    return subprocess.run([sys.executable, "-m", "simulator", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def test_plan_cli_prints_a_recommendation_and_writes_the_frontier(tmp_path):
    """`plan mmc` prints the table and one-paragraph explanation, and writes the frontier chart."""
    p = cli("plan", "mmc", "--set", "duration_s=200", "--set", "warmup_s=20", "--p99-ms", "150",
            "--replicas", "3:8", "--reps", "2", "--max-reps", "4", "--workers", "1", "--out", str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert "Recommended:" in p.stdout and "95 %" in p.stdout
    assert (tmp_path / "frontier.html").exists() and (tmp_path / "evaluations.csv").exists()


@pytest.mark.parametrize("args,needle", [
    (["plan", "mmc", "--replicas", "8:2"], "--replicas"),
    (["plan", "mmc", "--replicas", "two"], "--replicas"),
    (["plan", "mmc", "--availability", "99.9"], "--availability"),
    (["plan", "mmc", "--reps", "1"], "--reps"),
    (["plan", "mmc", "--space", "inference.nope=1,2"], "inference.nope"),
    (["plan", "mmc", "--precisions", "fp99"], "inference.precision"),
    (["plan", "mmc", "--max", "latency_ms.p99"], "--max"),
])
def test_bad_plan_input_exits_2_naming_the_option(args, needle):
    """Each mistake: exit 2, the option or field named, no traceback."""
    p = cli(*args)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert needle in p.stderr and "Traceback" not in p.stderr


def test_the_peak_window_is_the_busiest_stretch_of_the_expected_traffic():
    """black_friday: the busiest 30 minutes hold the eightfold plateau with the doorbuster surge
    (10,800-11,440 s); the expected count over it is the highest of any 30-minute stretch (checked here
    on a 1-second grid of the rate, independently of the planner). A flat scenario says so; a window as
    long as the run is the whole scenario."""
    import numpy as np

    from simulator.scenario.config import load_scenario
    from simulator.scenario.rates import rate_at
    from tests.conftest import SCENARIOS

    bf = load_scenario(SCENARIOS / "black_friday.yaml")
    w = pl.peak_window(bf, 30)
    assert w.end_s - w.start_s == pytest.approx(1800, abs=1)
    assert w.start_s <= 10_800 <= w.end_s and w.start_s >= bf.warmup_s
    t = np.arange(bf.warmup_s, bf.duration_s) + 0.5
    counts = np.convolve(rate_at(bf, t), np.ones(1800), "valid")
    chosen = rate_at(bf, np.arange(w.start_s, w.end_s) + 0.5).sum()
    assert chosen >= counts.max() - 1.0
    base = load_scenario(SCENARIOS / "baseline.yaml")
    assert pl.peak_window(base, 15).reason.startswith("traffic is flat")
    assert pl.peak_window(base, 120) == pl.Window(base.warmup_s, base.duration_s, "the whole scenario")
    counted = pl.window_scenario(bf, w)
    assert (counted.warmup_s, counted.duration_s) == (w.start_s, w.end_s)


def test_plan_json_gives_overrides_that_apply_to_the_scenario():
    """`plan mmc --json`: the recommended replicas as a dotted override and as --set arguments."""
    import json

    p = cli("plan", "mmc", "--json", "--set", "duration_s=200", "--set", "warmup_s=20", "--p99-ms", "150",
            "--replicas", "3:8", "--reps", "2", "--max-reps", "4", "--workers", "1")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["feasible"] and list(out["recommended_overrides"]) == ["inference.replicas"]
    n = out["recommended_overrides"]["inference.replicas"]
    assert out["set_args"] == [f"--set inference.replicas={n}"]
    assert out["evidence"]["latency_ms.p99"]["hi"] <= 150


@pytest.mark.slow
def test_a_black_friday_plan_for_its_peak_holds_on_the_whole_scenario():
    """`plan black_friday --json --peak-minutes 30` plans for the busiest half hour (the doorbuster surge on
    the eightfold plateau), simulated with everything before it as warm-up. Its recommendation, applied to the
    full scenario with `run --set ...`, meets the same constraints: at least 99 % answered and p99 within 5 s.
    (The old planner simulated the quiet first 15 minutes and recommended 2 servers, which answered 55 %.)"""
    import json

    p = cli("plan", "black_friday", "--json", "--peak-minutes", "30", "--replicas", "3:8", "--reps", "3",
            "--max-reps", "3", "--p99-ms", "5000", "--availability", "0.99", "--min-di", "0.5", "--workers", "2")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["feasible"], out["explanation"]
    assert out["window_s"]["start"] <= 10_800 <= out["window_s"]["end"]
    sets = [a for arg in out["set_args"] for a in arg.split(" ", 1)]
    run = cli("run", "black_friday", "--json", *sets)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["availability"] >= 0.99 and summary["latency_ms"]["p99"] <= 5000
    two = json.loads(cli("run", "black_friday", "--json", "--set", "autoscaler.max_replicas=2").stdout)
    assert two["availability"] < 0.99        # the plan of the quiet minutes would not hold
