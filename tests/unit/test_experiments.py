"""Replications, common random numbers, sweeps and the warm-up check."""
import subprocess
import sys

import numpy as np
import pytest

from simulator.analysis import experiments as ex
from simulator.scenario.config import ScenarioError, with_overrides
from tests.conftest import ROOT, only_inference


def mmc(replicas: int, duration_s: float = 120) -> object:
    """M/M/c at 100 requests/s with a 30 ms model (4 replicas: 75 % busy)."""
    return with_overrides(only_inference(replicas=replicas, service_ms=30),
                          {"traffic.rate_per_s": 100, "duration_s": duration_s, "warmup_s": 10})


def test_replication_seeds_are_numpys_spawned_children_and_stable_when_extended():
    """Seed i is child i of SeedSequence(base), so asking for more replications keeps the earlier ones."""
    seeds = ex.replication_seeds(42, 5)
    children = np.random.SeedSequence(42).spawn(5)
    assert seeds == [int(c.generate_state(1, np.uint64)[0] >> 1) for c in children]
    assert ex.replication_seeds(42, 3) + ex.replication_seeds(42, 2, start=3) == seeds
    assert len(set(seeds)) == 5 and all(0 <= s < 2**63 for s in seeds)


def test_replications_give_one_row_per_run_and_a_t_interval_per_kpi():
    """runs: one row per replication with flattened columns; kpis: mean ± t(0.975, n-1) s / sqrt(n)."""
    from scipy import stats as sps

    rs = ex.run_replications(mmc(4), 4)
    assert list(rs.runs["replication"]) == [0, 1, 2, 3]
    assert {"latency_ms.p99", "stages.inference.wait_ms_mean", "seed"} <= set(rs.runs.columns)
    x = rs.runs["latency_ms.p99"].to_numpy()
    row = rs.kpis.set_index("kpi").loc["latency_ms.p99"]
    half = sps.t.ppf(0.975, 3) * x.std(ddof=1) / 2
    assert row["mean"] == pytest.approx(x.mean()) and row["half_width"] == pytest.approx(half)
    assert row["lo"] == pytest.approx(x.mean() - half) and row["n"] == 4


def test_common_random_numbers_make_the_paired_interval_narrower_than_the_unpaired_one():
    """4 vs 5 replicas on the same seeds: paired (B - A) half-widths are below Welch's on the same runs."""
    cmp = ex.compare(mmc(4), mmc(5), reps=6)
    table = cmp.table.set_index("kpi")
    for kpi in ("latency_ms.mean", "latency_ms.p99", "stages.inference.wait_ms_mean"):
        assert table.loc[kpi, "half_width"] < table.loc[kpi, "unpaired_half_width"], kpi
    # more replicas wait less, and with CRN that is visible with confidence
    assert table.loc["stages.inference.wait_ms_mean", "verdict"] == "B_better"
    # the same seeds reach both: arrivals are identical replication by replication
    assert (cmp.a.runs["requests.arrived"] == cmp.b.runs["requests.arrived"]).all()


def test_identical_scenarios_compared_with_crn_differ_by_exactly_zero():
    """A against itself with common random numbers: every difference is 0 and the verdict is a tie."""
    cmp = ex.compare(mmc(4, 60), mmc(4, 60), reps=3)
    assert (cmp.table["diff_mean"] == 0).all()
    assert set(cmp.table["verdict"]) == {"too_close"}


def test_grid_sweep_is_the_cartesian_product_with_one_row_per_point_and_replication():
    """2 x 2 grid x 2 replications: 8 run rows, 4 summary rows, every combination present once."""
    factors = ex.parse_grid(["inference.replicas=4,6", "inference.service_dist=exponential,constant"])
    assert factors == {"inference.replicas": [4, 6], "inference.service_dist": ["exponential", "constant"]}
    points = ex.grid_points(factors)
    assert len(points) == 4
    sweep = ex.run_sweep(mmc(4, 60), points, reps=2)
    assert len(sweep.runs) == 8 and len(sweep.summary) == 4
    combos = set(zip(sweep.summary["inference.replicas"], sweep.summary["inference.service_dist"]))
    assert combos == {(4, "exponential"), (4, "constant"), (6, "exponential"), (6, "constant")}
    assert {"latency_ms.p99.mean", "latency_ms.p99.lo", "latency_ms.p99.hi"} <= set(sweep.summary.columns)
    # the same two seeds at every point (common random numbers across the sweep)
    assert sweep.runs.groupby("point")["seed"].apply(tuple).nunique() == 1
    # sensitivity: one row per factor and KPI; replicas move the model wait more than the distribution
    sens = sweep.sensitivity[sweep.sensitivity["kpi"] == "stages.inference.wait_ms_mean"].set_index("factor")
    assert sens.loc["inference.replicas", "rank"] == 1
    assert sens.loc["inference.replicas", "kpi_at_low"] > sens.loc["inference.replicas", "kpi_at_high"]


def test_latin_hypercube_puts_exactly_one_point_in_every_stratum():
    """n samples: each of the n equal slices of every factor's range holds exactly one point."""
    ranges = ex.parse_lhs(["traffic.rate_per_s=50:150", "inference.replicas=2:12"])
    assert ranges["inference.replicas"].integer and not ranges["traffic.rate_per_s"].integer
    n = 11
    points = ex.lhs_points(ranges, n, seed=3)
    rates = np.array([p["traffic.rate_per_s"] for p in points])
    strata = np.floor((rates - 50) / (100 / n)).astype(int)
    assert sorted(strata) == list(range(n))
    # integers 2..12 are 11 values for 11 samples: each exactly once
    assert sorted(p["inference.replicas"] for p in points) == list(range(2, 13))
    # a different seed pairs the strata differently
    other = ex.lhs_points(ranges, n, seed=4)
    assert [p["inference.replicas"] for p in other] != [p["inference.replicas"] for p in points]


@pytest.mark.parametrize("texts,parser,option", [
    (["inference.replicas"], ex.parse_grid, "--grid"),
    (["inference.replicas=4,4"], ex.parse_grid, "--grid"),
    (["inference.replicas=12:2"], ex.parse_lhs, "--lhs"),
    (["inference.replicas=a:b"], ex.parse_lhs, "--lhs"),
])
def test_bad_factor_text_names_the_option(texts, parser, option):
    """Malformed --grid / --lhs values raise ScenarioError with a line naming the option."""
    with pytest.raises(ScenarioError) as err:
        parser(texts)
    assert option in err.value.lines[0]


def test_run_until_precise_stops_once_the_half_width_is_met():
    """The loop adds replications until the 95 % half-width of the chosen KPI is at most the target."""
    target = ex.PrecisionTarget("stages.inference.utilization", half_width=0.01)
    rs = ex.run_until_precise(mmc(4, 60), [target], min_reps=2, max_reps=20)
    row = rs.precision.iloc[0]
    assert row["met"] and row["half_width"] <= 0.01 and row["n"] == len(rs.runs)
    # an impossible target runs to the cap and says so
    rs = ex.run_until_precise(mmc(4, 30), [ex.PrecisionTarget("latency_ms.p99", half_width=1e-9)],
                              min_reps=2, max_reps=4)
    assert len(rs.runs) == 4 and not rs.precision.iloc[0]["met"]


def test_mser5_finds_a_planted_transient():
    """A series that starts 60 bins high then settles is cut near bin 60; a flat one is barely cut."""
    import pandas as pd

    rng = np.random.default_rng(1)
    values = np.concatenate([np.full(60, 30.0), 10 + rng.normal(0, 1, 340)])
    est = ex.detect_warmup(pd.DataFrame({"t_s": 10.0 * np.arange(400), "latency_mean_ms": values}),
                           configured_s=0)
    assert 600 <= est.truncation_s <= 650 and not est.at_search_limit
    assert est.mean_shift < -0.05  # cutting it lowers the mean: a real bias
    assert "consider warmup_s" in ex.warmup_sentence(est, 0)


def test_batch_means_interval_uses_batch_averages():
    """20 batches of 5: the interval is the t interval of the 20 batch means."""
    x = np.arange(103, dtype=float)  # 3 trailing values are dropped
    ci = ex.batch_means_ci(x, batches=20)
    means = x[:100].reshape(20, 5).mean(axis=1)
    assert ci.mean == pytest.approx(means.mean()) and ci.n == 20


def cli(*args):
    return subprocess.run([sys.executable, "-m", "simulator", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def test_sweep_cli_writes_tidy_tables_and_a_tornado_chart(tmp_path):
    """`sweep --grid` prints a table per point and writes the documented files."""
    import pandas as pd

    p = cli("sweep", "mmc", "--grid", "inference.replicas=4,5", "--reps", "2", "--workers", "1",
            "--set", "duration_s=60", "--set", "warmup_s=5", "--out", str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert "p99 latency" in p.stdout and "What matters most" in p.stdout
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert len(runs) == 4 and "inference.replicas" in runs.columns
    html = (tmp_path / "tornado.html").read_text()
    assert "plotly" in html.lower() and "inference.replicas" in html


@pytest.mark.parametrize("args,needle", [
    (["sweep", "mmc", "--reps", "2"], "--grid"),
    (["sweep", "mmc", "--grid", "inference.replicas=0,4"], "inference.replicas"),
    (["sweep", "mmc", "--grid", "inference.replicaz=4,5"], "inference.replicaz"),
    (["sweep", "mmc", "--lhs", "inference.replicas=2:12", "--samples", "1"], "--samples"),
    (["replicate", "mmc", "--reps", "0"], "--reps"),
    (["replicate", "mmc", "--precision", "p99"], "--precision"),
    (["compare", "mmc", "mmc", "--reps", "1"], "--reps"),
    (["compare", "mmc", "nope.yaml"], "nope.yaml"),
    (["replicate", "mmc", "--workers", "0"], "--workers"),
])
def test_bad_input_exits_2_with_one_line_naming_the_option(args, needle):
    """Each mistake: exit 2, the option or field named on stderr, no traceback."""
    p = cli(*args)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert needle in p.stderr and "Traceback" not in p.stderr
