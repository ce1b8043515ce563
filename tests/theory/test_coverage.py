"""Do the 95 % intervals mean what they say? Coverage of the mean M/M/1 wait over many experiments.

Design: 200 independent M/M/1 experiments (λ = 15/s, S = 20 ms, ρ = 0.3; Erlang C gives
Wq = ρS/(1-ρ) = 8.571 ms). Each experiment is one run whose first 200 customers are warm-up and
whose next 10,000 customers are cut into 20 batches of 500 (batch means, experiments.batch_means_ci);
the 95 % t interval over the 20 batch means should contain 8.571 ms in about 95 % of experiments.

Accepted band: 0.90 to 0.99. With 200 experiments the binomial standard deviation of the observed
coverage is sqrt(0.95 x 0.05 / 200) = 1.5 points, so the band is about ±3 standard deviations
around 0.95 (a little wider below, since batch means of a positively correlated series cover
slightly less than nominal). Measured while building this test on 400 experiments: 0.9475.
"""
import numpy as np

from simulator.analysis import experiments as ex
from simulator.analysis.backends import LocalBackend
from simulator.runner import run
from simulator.scenario.config import Scenario, with_overrides
from tests.conftest import only_inference

EXPERIMENTS, BATCHES, PER_BATCH, WARMUP_CUSTOMERS = 200, 20, 500, 200
RATE_PER_S, SERVICE_S = 15.0, 0.020
RHO = RATE_PER_S * SERVICE_S
TRUTH_MS = 1000 * RHO * SERVICE_S / (1 - RHO)  # M/M/1 is Erlang C with one server: 8.571 ms


def experiment_covers(scenario_json: str, seed: int) -> bool:
    """One experiment: does the batch-means 95 % interval of the mean wait contain the truth?"""
    sc = Scenario.model_validate_json(scenario_json)
    req = run(sc, seed).requests
    waited = req[(req["arrival_s"] >= sc.warmup_s) & req["inference_start_s"].notna()]
    waits = waited.sort_values("arrival_s")["inference_wait_ms"].to_numpy()[:BATCHES * PER_BATCH]
    assert len(waits) == BATCHES * PER_BATCH
    ci = ex.batch_means_ci(waits, batches=BATCHES)
    return bool(ci.lo <= TRUTH_MS <= ci.hi)


def test_95_percent_intervals_cover_the_erlang_c_mean_wait_about_95_percent_of_the_time():
    """Coverage of the Erlang-C M/M/1 mean wait by batch-means 95 % intervals is within [0.90, 0.99]."""
    warmup_s = WARMUP_CUSTOMERS / RATE_PER_S
    sc = with_overrides(only_inference(replicas=1, service_ms=1000 * SERVICE_S), {
        "traffic.rate_per_s": RATE_PER_S, "warmup_s": warmup_s,
        "duration_s": warmup_s + 1.1 * BATCHES * PER_BATCH / RATE_PER_S})  # 10 % spare so all finish
    tasks = [(sc.model_dump_json(), seed) for seed in ex.replication_seeds(2026, EXPERIMENTS)]
    with LocalBackend(start_method="spawn") as backend:  # independent experiments: all cores
        covered = backend.map(experiment_covers, tasks)
    coverage = float(np.mean(covered))
    print(f"coverage={coverage:.3f} over {EXPERIMENTS} experiments")
    assert 0.90 <= coverage <= 0.99, f"coverage {coverage:.3f} over {EXPERIMENTS} experiments"
