"""--out is written whole or not at all, never over an existing result without --force."""
import json
import os

import pandas as pd

from tests.hostile.inputs import run_cli

SMALL = ["--set", "duration_s=60", "--set", "warmup_s=0", "--set", "traffic.rate_per_s=20"]
FILES = {"summary.json", "findings.json", "requests.parquet", "timeseries.csv", "events.csv", "scenario.resolved.yaml"}


def test_existing_result_is_kept_without_force_and_replaced_with_it(tmp_path):
    target = tmp_path / "out"
    assert run_cli("run", "baseline", *SMALL, "--seed", "1", "--out", str(target)).returncode == 0
    first = (target / "summary.json").read_text()
    p = run_cli("run", "baseline", *SMALL, "--seed", "2", "--out", str(target))
    assert p.returncode == 2 and "--out" in p.stderr and "--force" in p.stderr
    assert (target / "summary.json").read_text() == first
    p = run_cli("run", "baseline", *SMALL, "--seed", "2", "--out", str(target), "--force")
    assert p.returncode == 0, p.stderr
    assert json.loads((target / "summary.json").read_text())["seed"] == 2
    assert {p.name for p in target.iterdir()} == FILES
    assert [p.name for p in tmp_path.iterdir()] == ["out"], "no temporary folder is left behind"
    assert oct(target.stat().st_mode & 0o777) == oct(0o777 & ~_umask())


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_bad_targets_fail_before_the_run(tmp_path):
    """A bad --traces or --out is reported at once, and nothing is written anywhere."""
    (tmp_path / "a_file").write_text("x")
    for args, option in ((["--traces", str(tmp_path / "missing" / "t.json")], "--traces"),
                         (["--traces", str(tmp_path)], "--traces"),
                         (["--out", str(tmp_path / "a_file")], "--out")):
        p = run_cli("run", "baseline", "--set", "duration_s=3000", *args, "--out" if option == "--traces" else "--json",
                    *([str(tmp_path / "out")] if option == "--traces" else []))
        assert p.returncode == 2 and p.stderr.startswith(f"error: {option}:"), p.stderr
        assert "Traceback" not in p.stderr and p.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_traces_are_written_whole(tmp_path):
    p = run_cli("run", "baseline", *SMALL, "--traces", str(tmp_path / "t.json"))
    assert p.returncode == 0, p.stderr
    assert json.loads((tmp_path / "t.json").read_text())["resourceSpans"]
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]


def test_experiment_outputs_are_crash_safe_too(tmp_path):
    """replicate --out refuses an existing folder and writes its files in one piece."""
    target = tmp_path / "reps"
    assert run_cli("replicate", "baseline", *SMALL, "--reps", "2", "--workers", "1", "--out", str(target)).returncode == 0
    assert {"runs.csv", "kpis.csv", "scenario.resolved.yaml"} <= {p.name for p in target.iterdir()}
    assert len(pd.read_csv(target / "runs.csv")) == 2
    p = run_cli("replicate", "baseline", *SMALL, "--reps", "2", "--workers", "1", "--out", str(target))
    assert p.returncode == 2 and "--force" in p.stderr
