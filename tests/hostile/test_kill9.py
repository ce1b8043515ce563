"""kill -9 at random moments of ``run --out``: the target folder is absent or complete and consistent.

Each trial starts a run with its own seed and kills it with SIGKILL at a random moment: a third of
the trials at a random time of the process's life, the others at a random delay after it starts
writing (when its hidden partial folder appears), so that kills land before, during and after the
writing. Then the target is checked. Half of the trials replace an existing result with --force,
so a kill between "old result" and "new result" is tried too: the target must hold one of the two.
"""
import json
import random
import signal
import subprocess
import sys
import time

import pandas as pd
import yaml

from tests.hostile.inputs import ROOT

TRIALS = 21
ARGS = ["--set", "duration_s=300", "--set", "warmup_s=0", "--set", "traffic.rate_per_s=30"]
FILES = {"summary.json", "findings.json", "requests.parquet", "timeseries.csv", "events.csv", "scenario.resolved.yaml"}


def _start(seed: int, target, force: bool) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "simulator", "run", "baseline", *ARGS, "--seed", str(seed),
                             "--out", str(target), *(["--force"] if force else [])],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill_at(proc: subprocess.Popen, delay_s: float) -> None:
    try:
        proc.wait(timeout=delay_s)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)


def _kill_while_writing(proc: subprocess.Popen, folder, delay_s: float) -> None:
    """Kill ``delay_s`` after the run's partial output folder appears (or when it exits first)."""
    mine = f".partial-{proc.pid}-"
    while proc.poll() is None and not any(mine in p.name for p in folder.iterdir()):
        time.sleep(0.002)
    _kill_at(proc, delay_s)


def _consistent_seed(target) -> int:
    """The seed of the complete result in ``target``; fails the test if anything is missing or mixed."""
    assert {p.name for p in target.iterdir()} == FILES, sorted(p.name for p in target.iterdir())
    summary = json.loads((target / "summary.json").read_text())
    requests = pd.read_parquet(target / "requests.parquet")
    timeseries = pd.read_csv(target / "timeseries.csv")
    scenario = yaml.safe_load((target / "scenario.resolved.yaml").read_text())
    pd.read_csv(target / "events.csv")
    assert summary["requests"]["arrived"] == len(requests)  # warm-up 0: every request counts
    assert timeseries["arrivals"].sum() == len(requests)
    assert scenario["duration_s"] == 300 and summary["scenario"] == scenario["name"]
    return summary["seed"]


def test_kill_9_leaves_the_target_absent_or_whole(tmp_path):
    t0 = time.monotonic()
    full = _start(1, tmp_path / "timing", False)
    assert full.wait(timeout=120) == 0
    lifetime_s = time.monotonic() - t0
    rng = random.Random(20261204)
    outcomes = {"absent": 0, "new": 0, "old": 0, "finished": 0}
    previous_seed = None
    target = tmp_path / "result"
    for trial in range(TRIALS):
        seed = 100 + trial
        force = trial % 2 == 1 and target.exists()
        if not force and target.exists():
            import shutil

            shutil.rmtree(target)
        old_seed = previous_seed if force else None
        proc = _start(seed, target, force)
        if trial % 3 == 0:
            _kill_at(proc, rng.uniform(0.1, 1.0) * lifetime_s)
        else:
            _kill_while_writing(proc, tmp_path, rng.uniform(0.0, 0.3) if trial % 3 == 1 else rng.uniform(0.3, 2.0))
        if proc.returncode == 0:
            outcomes["finished"] += 1
        if not target.exists():
            assert old_seed is None or proc.returncode == -signal.SIGKILL
            outcomes["absent"] += 1
            previous_seed = None
            continue
        found = _consistent_seed(target)
        assert found in (seed, old_seed), (found, seed, old_seed)
        outcomes["new" if found == seed else "old"] += 1
        previous_seed = found
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in ("timing", "result")]
    assert all(".partial-" in name or ".old-" in name for name in leftovers), leftovers
    # the kills must have landed on both sides of the finishing rename, or the test proved little
    assert outcomes["absent"] >= 3 and outcomes["new"] >= 3 and outcomes["old"] >= 1, outcomes
