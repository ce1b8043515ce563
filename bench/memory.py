"""Peak memory of one long baseline run, above the imports: a full run and the summary-only path.

Each run is a fresh subprocess: imports and a one-minute warm-up run first (the compiled
kernels load, the model is cached), then the resident set size is taken as the base, then the
baseline is stretched to the number of arrivals asked for and run once with ``runner.run`` (full:
frames, summary, spans; summary-only: ``frames=False``, what replications and sweeps use). The
peak is the process's maximum resident set size (``ru_maxrss``).

    python bench/memory.py [--requests 1000000] [--summary-requests 1000000,5000000]

Lines ``full_peak_mib_above_imports=<x>`` (at ``--requests``) and
``summary_only_<n>_peak_mib_above_imports=<x>`` for each ``--summary-requests`` size.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mib() -> float:
    with open("/proc/self/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(mode: str, n: int) -> None:
    from simulator.runner import run
    from simulator.scenario.config import load_scenario, with_overrides

    sc = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    run(with_overrides(sc, {"duration_s": 60, "warmup_s": 6}), seed=1, frames=mode == "full")
    base = rss_mib()
    sc = with_overrides(sc, {"duration_s": n / sc.traffic.rate_per_s, "warmup_s": 300})
    t = time.perf_counter()
    result = run(sc, seed=1, frames=mode == "full")
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    arrived = result.summary.requests.arrived
    print(json.dumps({"mode": mode, "requests": arrived, "wall_s": wall, "base_mib": base, "peak_mib": peak}))


def measure(mode: str, n: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--requests", str(n)],
                         capture_output=True, text=True, check=True)
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "asked": n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1_000_000, help="arrivals of the full run")
    ap.add_argument("--summary-requests", default="1000000,5000000",
                    help="comma-separated arrivals of the summary-only runs")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.requests)
        return
    rows = [("full", measure("full", args.requests))]
    rows += [("summary_only", measure("summary_only", int(n))) for n in args.summary_requests.split(",") if n]
    print(f"{'mode':<14}{'requests':>11}{'wall s':>9}{'imports MiB':>13}{'peak MiB':>10}{'above':>8}")
    for mode, r in rows:
        print(f"{mode:<14}{r['requests']:>11,}{r['wall_s']:>9.2f}{r['base_mib']:>13.0f}{r['peak_mib']:>10.0f}"
              f"{r['peak_mib'] - r['base_mib']:>8.0f}")
    for mode, r in rows:
        size = "" if mode == "full" else f"_{r['asked']}"
        print(f"{mode}{size}_peak_mib_above_imports={r['peak_mib'] - r['base_mib']:.0f}")


if __name__ == "__main__":
    main()
