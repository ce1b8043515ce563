"""The pre-run budget's estimate against what runs really take: events, peak memory, wall time.

Each case runs in a fresh subprocess (so peak memory is its own), with the default kernel engine
for wall time and memory. Events are SimPy's count of scheduled events on the event-driven
reference path (``engine="event"``, the same run), which the estimate models; memory is the
process's peak resident set; the estimate comes from
``simulator.scenario.budget.estimate``. Peak memory is the child's VmHWM (its own address
space: ``ru_maxrss`` would survive ``exec`` from a larger parent). The estimate should be at least the measured values
(it refuses before starting, so it must not underestimate); ``µs per estimated event`` is
what turns the dashboard's event budget into a wall time on this machine.

    python bench/budget.py
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASES = [  # (label, scenario, overrides)
    ("baseline 100k", "baseline", {"traffic.rate_per_s": 50, "duration_s": 2000, "warmup_s": 0}),
    ("baseline 400k", "baseline", {"traffic.rate_per_s": 200, "duration_s": 2000, "warmup_s": 0}),
    ("baseline 1M", "baseline", {"traffic.rate_per_s": 500, "duration_s": 2000, "warmup_s": 0}),
    ("weather_api_outage", "weather_api_outage", {}),
    ("black_friday", "black_friday", {}),
    ("kpa one day", "cold_start", {"duration_s": 86_400, "autoscaler.stable_window_s": 3600,
                                   "autoscaler.kpa_tick_s": 1}),
    ("fraud_enrichment", "fraud_enrichment", {}),   # topologies: the event path cannot count them
    ("loan_cascade x100", "loan_cascade", {"traffic.rate_per_s": 50}),
]

CHILD = """
import json, sys, time
import simulator.engine.simulation as sim
from simulator.runner import run
from simulator.scenario.config import load_scenario, with_overrides
name, overrides = sys.argv[1], json.loads(sys.argv[2])
sc = with_overrides(load_scenario(f"scenarios/{name}.yaml"), overrides)
run(with_overrides(sc, {"duration_s": 60, "warmup_s": 0}), 1)  # compiled kernels loaded (or compiled) first
t0 = time.perf_counter()
result = run(sc, 1)
wall = time.perf_counter() - t0
hwm_kib = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
real, seen = sim.run_until, {"events": None}
def counting(env, until_s):
    real(env, until_s)
    seen["events"] = next(env._eid)
sim.run_until = counting
if sc.topology is None:
    run(sc, 1, engine="event", frames=False)
print(json.dumps({"requests": len(result.requests), "events": seen["events"], "wall_s": wall,
                  "peak_bytes": hwm_kib * 1024}))
"""


def main() -> None:
    from simulator.scenario.budget import estimate
    from simulator.scenario.config import load_scenario, with_overrides

    print(f"{'case':<20}{'requests':>10}{'events':>12}{'est events':>12}{'peak MiB':>10}{'est MiB':>9}"
          f"{'wall s':>8}{'µs/est ev':>10}")
    for label, name, overrides in CASES:
        out = subprocess.run([sys.executable, "-c", CHILD, name, json.dumps(overrides)], capture_output=True,
                             text=True, cwd=ROOT, check=True)
        m = json.loads(out.stdout.strip().splitlines()[-1])
        est = estimate(with_overrides(load_scenario(ROOT / "scenarios" / f"{name}.yaml"), overrides))
        events = "-" if m["events"] is None else f"{m['events']:,}"
        print(f"{label:<20}{m['requests']:>10,}{events:>12}{est.events:>12,.0f}"
              f"{m['peak_bytes'] / 2**20:>10,.0f}{est.memory_bytes / 2**20:>9,.0f}{m['wall_s']:>8.2f}"
              f"{1e6 * m['wall_s'] / est.events:>10.2f}")


if __name__ == "__main__":
    main()
