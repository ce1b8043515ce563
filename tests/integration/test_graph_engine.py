"""Graph topologies on the kernel engine, against closed forms and against the graph's own analysis.

* fan-out joins: with exponential call latencies, the join of all branches waits for the maximum
  of independent exponentials (inclusion-exclusion: E[max] = sum 1/l_i - sum 1/(l_i + l_j) + ...),
  the first k of n iid ones for the k-th order statistic (E = mean * sum_{j<k} 1/(n - j));
* routes by share within binomial error, routes by condition exactly by the request's attributes;
* a fallback edge is taken by exactly the requests whose call failed or was refused by the open
  breaker;
* the blast radius the graph predicts for each component is the share of decisions that fail or
  degrade when that component is down in a simulation.
"""
import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from simulator.engine.dependency import CALL_OK, CALL_REJECTED
from simulator.engine.kernel import KernelSimulation
from simulator.runner import run
from simulator.scenario.config import load_scenario, parse_scenario, with_overrides
from simulator.scenario.graph import blast_radius, build_graph, flows

SLOW_TIMEOUT = {"timeout_ms": 600_000}


def graph_scenario(components, edges, **top):
    base = {"duration_s": 100, "warmup_s": 0, "traffic": {"rate_per_s": 200}, "ingestion": {"mode": "direct"},
            "topology": {"components": components, "edges": edges}}
    return parse_scenario({**base, **top})


def dep(cid, mean_ms, **extra):
    return {"id": cid, "kind": "dependency",
            "dependency": {"latency_ms": mean_ms, "latency_dist": "exponential", **SLOW_TIMEOUT, **extra}}


def columns(sc, seed=1):
    sim = KernelSimulation(sc, seed)
    sim.run()
    return sim, sim.columns.trimmed()


def mean_and_se(x: np.ndarray) -> tuple[float, float]:
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x)))


def expected_max(means_s: list[float]) -> float:
    """E[max of independent exponentials] by inclusion-exclusion over the rates."""
    rates = [1 / m for m in means_s]
    total = 0.0
    for r in range(1, len(rates) + 1):
        for subset in itertools.combinations(rates, r):
            total += (-1) ** (r + 1) / sum(subset)
    return total


def test_join_all_waits_for_the_maximum_of_independent_exponentials():
    means_ms = [20.0, 50.0, 80.0]
    sc = graph_scenario([{"id": "events", "kind": "ingestion"}, dep("a", 20), dep("b", 50), dep("c", 80),
                         {"id": "decide", "kind": "rules", "rules": {"cost_ms": 0}}],
                        [{"from": "events", "parallel": ["a", "b", "c"], "join": "all", "to": "decide"}])
    _, c = columns(sc)
    done = c["outcome"] == 0
    latency = (c["end_s"] - c["arrival_s"])[done]
    mean, se = mean_and_se(latency)
    theory = expected_max([m / 1000 for m in means_ms])
    assert done.sum() > 15_000
    assert abs(mean - theory) < 4 * se, (mean, theory, se)


@pytest.mark.parametrize("k", [1, 2])
def test_first_k_joins_follow_the_order_statistics(k):
    mean_ms = 40.0
    sc = graph_scenario([{"id": "events", "kind": "ingestion"}, dep("a", mean_ms), dep("b", mean_ms),
                         dep("c", mean_ms), {"id": "decide", "kind": "rules", "rules": {"cost_ms": 0}}],
                        [{"from": "events", "parallel": ["a", "b", "c"], "join": "first_k", "k": k, "to": "decide"}])
    _, c = columns(sc)
    done = c["outcome"] == 0
    mean, se = mean_and_se((c["end_s"] - c["arrival_s"])[done])
    theory = mean_ms / 1000 * sum(1 / (3 - j) for j in range(k))
    assert abs(mean - theory) < 4 * se, (mean, theory, se)


def test_routes_by_share_split_within_binomial_error():
    shares = [0.2, 0.3, 0.5]
    comps = [{"id": "events", "kind": "ingestion"}] + [{"id": f"r{i}", "kind": "rules"} for i in range(3)]
    sc = graph_scenario(comps, [{"from": "events", "route": [{"to": f"r{i}", "share": s}
                                                             for i, s in enumerate(shares)]}])
    sim, c = columns(sc)
    n = len(c["decided_by"])
    for i, share in enumerate(shares):
        got = (c["decided_by"] == sim.plane.index[f"r{i}"]).sum()
        assert abs(got - n * share) < 4 * math.sqrt(n * share * (1 - share)), (i, got, n * share)


def test_routes_by_condition_follow_the_request_exactly():
    comps = [{"id": "events", "kind": "ingestion"}] + [{"id": r, "kind": "rules"} for r in ("firms", "north", "rest")]
    sc = graph_scenario(comps, [{"from": "events", "route": [
        {"to": "firms", "when": {"segment": ["business"]}}, {"to": "north", "when": {"region": ["north"]}},
        {"to": "rest", "when": {}}]}])
    sim, c = columns(sc)
    business = c["segment"] == list(sc.traffic.segments).index("business")
    north = c["region"] == list(sc.traffic.regions).index("north")
    by = c["decided_by"]
    idx = sim.plane.index
    assert (by[business] == idx["firms"]).all()
    assert (by[~business & north] == idx["north"]).all()
    assert (by[~business & ~north] == idx["rest"]).all()


def test_fallback_edge_is_taken_exactly_when_the_call_fails_or_the_breaker_is_open():
    breaker = {"enabled": True, "sliding_window_size": 50, "minimum_number_of_calls": 20,
               "failure_rate_threshold_pct": 50, "wait_duration_in_open_state_ms": 10_000,
               "permitted_number_of_calls_in_half_open_state": 5}
    sc = graph_scenario([{"id": "events", "kind": "ingestion"},
                         {"id": "bureau", "kind": "dependency", "dependency": {"latency_ms": 30, "breaker": breaker}},
                         {"id": "backup", "kind": "dependency", "dependency": {"latency_ms": 60}},
                         {"id": "decide", "kind": "rules"}],
                        [{"from": "events", "to": "bureau"}, {"from": "bureau", "fallback": "backup"},
                         {"from": "bureau", "to": "decide"}],
                        duration_s=120, faults={"external_api": [{"name": "down", "kind": "outage_errors",
                                                                  "start_s": 40, "duration_s": 40}]})
    sim, c = columns(sc)
    status = c["api_status"]  # the first dependency reports in the chain's columns
    took_fallback = ~np.isnan(c["backup.start_s"])
    failed_or_refused = (status != CALL_OK) & (status != 4)
    assert took_fallback.sum() > 1000
    assert np.array_equal(took_fallback, failed_or_refused)
    # while the breaker is open every call is refused, and those requests are served by the backup
    states = sim.breaker_states + [(sc.duration_s, "END")]
    open_spans = [(t0, t1) for (t0, s), (t1, _) in zip(states, states[1:]) if s == "OPEN"]
    assert open_spans
    start = c["api_start_s"]
    in_open = np.zeros(len(start), np.bool_)
    for t0, t1 in open_spans:
        in_open |= (start > t0) & (start < t1) & (start <= t0 + 10.0)  # before the wait ends: refused
    assert in_open.sum() > 500
    assert (status[in_open] == CALL_REJECTED).all() and took_fallback[in_open].all()
    assert (c["outcome"][took_fallback] == 1).all()  # answered, degraded
    assert (c["fallback"][took_fallback] == 3).all()


BLAST = [
    {"id": "events", "kind": "ingestion"},
    dep("device", 20), dep("bureau", 40), dep("weather", 60, fallback="default"),
    {"id": "rules", "kind": "rules", "rules": {"settle_share": 0.2}},
    {"id": "fraud", "kind": "model", "model": {"replicas": 6, "service_ms": 10}},
    {"id": "small", "kind": "model", "architecture": "compact", "model": {"replicas": 6, "service_ms": 5}},
    {"id": "backup", "kind": "model", "model": {"replicas": 6, "service_ms": 10}},
]
BLAST_EDGES = [
    {"from": "events", "parallel": ["device", "bureau", "weather"], "join": "first_k", "k": 2, "to": "rules"},
    {"from": "rules", "route": [{"to": "fraud", "share": 0.6}, {"to": "small", "share": 0.4}]},
    {"from": "fraud", "fallback": "backup"},
]


@pytest.mark.parametrize("component", [c["id"] for c in BLAST])
def test_blast_radius_from_the_graph_is_what_a_simulated_outage_does(component):
    base = dict(duration_s=60, traffic={"rate_per_s": 150})
    sc = graph_scenario(BLAST, BLAST_EDGES, **base,
                        faults={"components": [{"name": "down", "component": component, "start_s": 0,
                                                "duration_s": 60}]})
    g = build_graph(sc)
    predicted = blast_radius(sc, g, component, flows(sc, g))
    r = run(sc, seed=4)
    req = r.requests
    finished = req[req.outcome != "in_flight"]
    n = len(finished)
    assert n > 7000
    for share, outcome in ((predicted.fails, "failed"), (predicted.degrades, "degraded")):
        got = (finished.outcome == outcome).mean()
        sd = math.sqrt(max(share * (1 - share), 1e-12) / n)
        assert abs(got - share) < 4 * sd + 1e-12, (component, outcome, got, share)


def test_the_large_model_decides_better_than_the_compact_one_on_the_same_requests():
    """The cascade's point: the same applications, scored by both, are decided right more often by the large one."""
    comps = [{"id": "events", "kind": "ingestion"},
             {"id": "quick", "kind": "model", "architecture": "compact"},
             {"id": "deep", "kind": "model", "architecture": "large"}]
    sc = graph_scenario(comps, [{"from": "events", "to": "quick"}, {"from": "quick", "to": "deep"}])
    _, c = columns(sc)
    label = c["label"]
    quick = (c["p"] >= 0.5) == label
    deep = c["deep.approve"] == label
    assert deep.mean() > quick.mean() + 0.02


def test_the_critical_path_follows_the_branch_the_join_waited_for():
    """Constant latencies 10, 100 and 1000 ms joined by the first 2: the 100 ms branch is always the
    one the join waited for, and the parts of the path add up to the latency."""
    comps = [{"id": "events", "kind": "ingestion"},
             {"id": "fast", "kind": "dependency", "dependency": {"latency_ms": 10, "latency_dist": "constant"}},
             {"id": "mid", "kind": "dependency", "dependency": {"latency_ms": 100, "latency_dist": "constant"}},
             {"id": "slow", "kind": "dependency", "dependency": {"latency_ms": 1000, "latency_dist": "constant",
                                                                 "timeout_ms": 5000}},
             {"id": "fraud", "kind": "model", "model": {"replicas": 4, "service_ms": 20}}]
    sc = graph_scenario(comps, [{"from": "events", "parallel": ["fast", "mid", "slow"], "join": "first_k", "k": 2,
                                 "to": "fraud"}], duration_s=60, traffic={"rate_per_s": 100})
    path = run(sc, seed=2).summary.architecture.critical_path
    parts = {row.component: row for row in path.components}
    assert parts["mid"].on_path_share == 1.0 and "slow" not in parts and "fast" not in parts
    assert parts["mid"].ms_mean == pytest.approx(100.0, rel=1e-9)
    assert sum(row.ms_mean for row in path.components) == pytest.approx(path.latency_ms_mean, rel=1e-6)
    assert "slower than" in path.finding


def test_component_utilization_is_the_offered_load_per_slot():
    """A model pool's utilization is arrival rate x mean service / slots (offered load, no losses)."""
    comps = [{"id": "events", "kind": "ingestion"},
             {"id": "fraud", "kind": "model", "model": {"replicas": 4, "service_ms": 20, "service_dist": "exponential"}},
             {"id": "review", "kind": "model", "model": {"replicas": 2, "service_ms": 50,
                                                           "service_dist": "exponential"}}]
    sc = graph_scenario(comps, [{"from": "events", "route": [{"to": "fraud", "share": 0.75},
                                                             {"to": "review", "share": 0.25}]}],
                        duration_s=600, warmup_s=60, traffic={"rate_per_s": 100})
    arch = run(sc, seed=3).summary.architecture
    stats = arch.components
    assert stats["fraud"].utilization == pytest.approx(100 * 0.75 * 0.020 / 4, rel=0.05)
    assert stats["review"].utilization == pytest.approx(100 * 0.25 * 0.050 / 2, rel=0.05)
    assert arch.bottleneck.component == "review"  # 0.625 against 0.375
    assert stats["fraud"].reached + stats["review"].reached == stats["events"].reached


def test_cost_counts_every_dependency_call_and_every_model_pools_busy_time():
    """Three dependencies called by every request cost three calls each; the busy share of the node
    cost follows the offered load of both model pools (rate x mean service / concurrency)."""
    comps = [{"id": "events", "kind": "ingestion"},
             dep("device", 5), dep("bureau", 5), dep("weather", 5),
             {"id": "quick", "kind": "model", "model": {"replicas": 2, "service_ms": 10, "service_dist": "exponential"}},
             {"id": "large", "kind": "model", "model": {"replicas": 2, "service_ms": 40,
                                                          "service_dist": "exponential"}}]
    edges = [{"from": "events", "parallel": ["device", "bureau", "weather"], "join": "all", "to": "quick"},
             {"from": "quick", "route": [{"to": "large", "share": 0.5}]}]
    sc = graph_scenario(comps, edges, duration_s=600, warmup_s=60, traffic={"rate_per_s": 50})
    summary = run(sc, seed=5).summary
    cost = summary.cost_usd
    measured = summary.requests.arrived
    assert cost.external_api == pytest.approx(3 * measured / 1000 * sc.cost.external_api_usd_per_1k_calls, rel=0.01)
    busy_replica_s = 540 * 50 * (0.010 + 0.5 * 0.040)  # both pools' offered load over the measured 540 s
    node_usd = cost.compute_busy + cost.compute_idle + cost.cold_start
    assert cost.compute_busy / node_usd == pytest.approx(busy_replica_s / (4 * 540), rel=0.08)


# with the bureau (or the device service) down the join needs both other answers, so the weather service's
# own errors and timeouts (answered from its cache) degrade about one decision in eight
BUNDLED_OUTAGES = [("fraud_enrichment", "weather"), ("fraud_enrichment", "bureau"), ("fraud_enrichment", "device"),
                   ("fraud_enrichment", "rules"),
                   ("fraud_enrichment", "fraud_model"), ("loan_cascade", "bureau"), ("loan_cascade", "small_model"),
                   ("loan_cascade", "large_model"), ("loan_cascade", "underwriters")]


@pytest.mark.parametrize(("name", "component"), BUNDLED_OUTAGES)
def test_bundled_blast_radius_is_what_an_outage_of_the_whole_window_does(name, component):
    """The summary's blast radius (graph flows with the run's own share of unsure decisions) against the
    same scenario with that component down for the whole measured window, on the same seed."""
    sc = load_scenario(Path("scenarios") / f"{name}.yaml")
    short = {"duration_s": 600, "warmup_s": 60} if name == "fraud_enrichment" else {"duration_s": 7200}
    sc = with_overrides(sc, short)
    base = run(sc, seed=3)
    predicted = base.summary.architecture.components[component].blast_radius
    down = with_overrides(sc, {"compare_overrides": {}, "faults.components": [{"name": "down", "component": component, "start_s": 0,
                                                      "duration_s": sc.duration_s}]})

    def measured(requests):
        return requests[(requests.outcome != "in_flight") & (requests.arrival_s >= sc.warmup_s)]

    background, finished = measured(base.requests), measured(run(down, seed=3).requests)
    n = len(finished)
    assert n > 3000
    for share, outcome in ((predicted.fails, "failed"), (predicted.degrades, "degraded")):
        # the unaffected decisions keep the failures and fallbacks they have without the outage (a few timeouts)
        expected = share + predicted.unaffected * (background.outcome == outcome).mean()
        got = (finished.outcome == outcome).mean()
        sd = math.sqrt(max(expected * (1 - expected), 1 / n) / n)
        assert abs(got - expected) < 4 * sd, (component, outcome, got, expected)
