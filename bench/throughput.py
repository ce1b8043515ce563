"""Simulated requests per wall second: Pipeline Twin's engine vs a plain-SimPy tandem pipeline.

Both run the same number of requests in one process each (a fresh subprocess per variant so
peak memory is measured separately), each after a warm-up run of the same variant (2 % of the
requests when it is stretched, the whole scenario otherwise). Pipeline Twin's time is the mean of
as many runs as fill a second; the plain reference's one run takes about ten. The
plain reference is a 6-stage tandem network written the straightforward way: one process per
request and ``with resource.request()`` at each stage. Pipeline Twin's time is ``runner.run``
end to end (simulation, frames, summary, spans), on the default engine (the station kernels).

    python bench/throughput.py [--requests N]

Lines ``ratio_<scenario>_vs_plain_simpy=<x>`` for black_friday (autoscaling), weather_api_outage
(breaker and cached fallback) and fairness_drift (model decisions, fairness, review, retraining),
each run whole; ``fanout_time_per_request_vs_baseline=<x>`` for fraud_enrichment (three
dependencies in parallel, rules, two models) stretched to the baseline's request count; the last
line is ``ratio_vs_plain_simpy=<x>`` (the baseline over plain SimPy).
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

SCENARIOS = {"baseline": "baseline.yaml"}
for extra in ("black_friday.yaml", "weather_api_outage.yaml", "fairness_drift.yaml", "fraud_enrichment.yaml"):
    if (ROOT / "scenarios" / extra).exists():
        SCENARIOS[extra.removesuffix(".yaml")] = extra
STRETCHED = ("baseline", "fraud_enrichment")  # stretched to --requests; the others run whole


def plain_simpy(n_requests: int, rate_per_s: float, seed: int = 1) -> float:
    """A 6-stage tandem pipeline in plain SimPy; returns wall seconds."""
    import random

    import simpy

    rnd = random.Random(seed)
    env = simpy.Environment()
    # (servers, mean service s) per stage: roughly the baseline's stages, each comfortably stable
    stages = [(6, 0.002), (8, 0.004), (64, 0.06), (8, 0.004), (4, 0.03), (8, 0.002)]
    resources = [(simpy.Resource(env, capacity=c), s) for c, s in stages]
    latencies = []

    def request(env):
        t0 = env.now
        for res, mean in resources:
            with res.request() as slot:
                yield slot
                yield env.timeout(rnd.expovariate(1 / mean))
        latencies.append(env.now - t0)

    def source(env):
        for _ in range(n_requests):
            yield env.timeout(rnd.expovariate(rate_per_s))
            env.process(request(env))

    env.process(source(env))
    t = time.perf_counter()
    env.run()
    assert len(latencies) == n_requests
    return time.perf_counter() - t


def twin(name: str, n_requests: int | None) -> tuple[float, int]:
    """Run a bundled scenario, stretched to about ``n_requests`` arrivals (None: as it is)."""
    from simulator.runner import run
    from simulator.scenario.config import load_scenario, with_overrides
    from simulator.scenario.rates import expected_count

    sc = load_scenario(ROOT / "scenarios" / SCENARIOS[name])
    if n_requests is not None:
        per_s = expected_count(sc) / sc.duration_s
        duration = n_requests / per_s
        sc = with_overrides(sc, {"duration_s": duration, "warmup_s": min(sc.warmup_s, duration / 10)})
    t = time.perf_counter()
    result = run(sc, seed=1)
    return time.perf_counter() - t, result.summary.requests.arrived + int(
        (result.requests.arrival_s < sc.warmup_s).sum())


def timed(variant: str, n_requests: int | None) -> tuple[float, int]:
    """Mean wall seconds of as many runs as fill a second (as timeit's autorange): a run of a few
    tenths of a second is mostly noise on its own."""
    walls = []
    while sum(walls) < 1.0:
        wall, count = twin(variant, n_requests)
        walls.append(wall)
    return sum(walls) / len(walls), count


def child(variant: str, n: int) -> None:
    # a warm-up run first (imports, caches, first-use allocations), as benchmarks do
    if variant == "plain":
        plain_simpy(max(1000, n // 50), rate_per_s=80.0)
        wall, count = plain_simpy(n, rate_per_s=80.0), n
    elif variant in STRETCHED:
        twin(variant, max(1000, n // 50))
        wall, count = timed(variant, n)
    else:
        # other scenarios run whole (Black Friday's ramp needs its own timeline); their rate is
        # compared with the plain-SimPy rate measured on the baseline's request count. Their
        # warm-up is one whole run of the same scenario, so that what a process pays once (the
        # imports a run loads lazily, e.g. scikit-learn for a retraining; the first conversion of
        # text columns; loading each compiled kernel) is not counted against a run of a few
        # tenths of a second, as the stretched scenarios' own warm-up runs do for them.
        twin(variant, None)
        wall, count = timed(variant, None)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"variant": variant, "requests": count, "wall_s": wall, "peak_mib": peak_mib}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=300_000)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.requests)
        return
    rows = {}
    for variant in ["plain", *SCENARIOS]:
        out = subprocess.run([sys.executable, __file__, "--child", variant, "--requests", str(args.requests)],
                             capture_output=True, text=True, check=True)
        rows[variant] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{'variant':<16}{'requests':>10}{'wall s':>9}{'req per wall s':>16}{'peak MiB':>10}")
    for v, r in rows.items():
        print(f"{v:<16}{r['requests']:>10,}{r['wall_s']:>9.2f}{r['requests'] / r['wall_s']:>16,.0f}{r['peak_mib']:>10.0f}")
    plain_rate = rows["plain"]["requests"] / rows["plain"]["wall_s"]
    base = rows["baseline"]
    for v in SCENARIOS:
        if v == "fraud_enrichment":
            per_request = (rows[v]["wall_s"] / rows[v]["requests"]) / (base["wall_s"] / base["requests"])
            print(f"fanout_time_per_request_vs_baseline={per_request:.2f}")
        elif v != "baseline":
            print(f"ratio_{v}_vs_plain_simpy={rows[v]['requests'] / rows[v]['wall_s'] / plain_rate:.2f}")
    print(f"ratio_vs_plain_simpy={base['requests'] / base['wall_s'] / plain_rate:.2f}")


if __name__ == "__main__":
    main()
