"""Speed-up of replications from one worker process to two (the local process-pool backend).

Runs the same replications of the baseline scenario (a full simulated hour each, a couple of
seconds of computing) on a pool of one worker and on a pool of two. Each pool is started and
warmed up first (workers started, the simulator imported, one short simulation per worker to
load the model cache), so the timing covers the replications themselves, which is what a sweep
or a plan spends its time on. The two pools must give identical summaries (apart from the
compute time ``wall_s``) for the same seeds.

    python bench/replications.py [--reps 8] [--duration-s 3600] [--rounds 3]

On a shared machine the two pools are timed in alternation, ``--rounds`` times (one worker, two
workers, one, two, ...), so both see the same background load; the load average is printed
before and after. The last line is ``speedup_2_workers=<x>``: the median over the rounds of
(wall time with one worker / with two).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(workers: int, tasks: list[tuple[str, int]], warm: list[tuple[str, int]]) -> tuple[float, list[dict]]:
    from simulator.analysis.backends import LocalBackend, simulate_summary

    with LocalBackend(workers, start_method="forkserver") as backend:
        backend.warm_up()
        backend.map(simulate_summary, warm)
        t0 = time.perf_counter()
        out = backend.map(simulate_summary, tasks)
        return time.perf_counter() - t0, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=8, help="replications (even, so two workers split evenly)")
    parser.add_argument("--duration-s", type=float, default=3600.0, help="simulated seconds per replication")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the one- and two-worker pools")
    args = parser.parse_args()

    from simulator.analysis.experiments import flatten_summary, replication_seeds
    from simulator.scenario.config import load_scenario, with_overrides

    scenario = with_overrides(load_scenario(ROOT / "scenarios" / "baseline.yaml"),
                              {"duration_s": args.duration_s, "warmup_s": min(300.0, args.duration_s / 10)})
    payload = scenario.model_dump_json()
    tasks = [(payload, s) for s in replication_seeds(scenario.seed, args.reps)]
    short = with_overrides(scenario, {"duration_s": 60.0, "warmup_s": 6.0}).model_dump_json()
    warm = [(short, s) for s in range(4)]

    load_before = os.getloadavg()
    rounds = []
    for _ in range(max(1, args.rounds)):
        wall_1, out_1 = timed(1, tasks, warm)
        wall_2, out_2 = timed(2, tasks, warm)
        rounds.append((wall_1, wall_2, out_1, out_2))
    load_after = os.getloadavg()

    def comparable(summary: dict) -> dict:
        return {k: v for k, v in flatten_summary(summary).items() if k != "wall_s"}

    reference = [comparable(s) for s in rounds[0][2]]
    identical = all([comparable(s) for s in out] == reference for r in rounds for out in r[2:])
    per_rep = sum(s["wall_s"] for s in rounds[0][2]) / args.reps
    print(f"machine: {os.cpu_count()} cores, load average {load_before[0]:.1f} before and {load_after[0]:.1f} "
          f"after; {args.reps} replications of baseline ({args.duration_s:g} simulated s, about {per_rep:.2f} s "
          f"of computing each)")
    print(f"{'round':>6} {'1 worker s':>11} {'2 workers s':>12} {'speed-up':>9}")
    for i, (wall_1, wall_2, _, _) in enumerate(rounds, 1):
        print(f"{i:>6} {wall_1:>11.2f} {wall_2:>12.2f} {wall_1 / wall_2:>9.2f}")
    print(f"identical_results={identical}")
    print(f"speedup_2_workers={statistics.median(w1 / w2 for w1, w2, _, _ in rounds):.2f}")


if __name__ == "__main__":
    main()
