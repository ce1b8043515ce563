"""Blast radius of a fan-out branch (simulator.scenario.graph): the other branches' own failures count.

The probabilities of a call failing are checked against scipy.stats' distributions, and the join's
outcome against a hand enumeration; the simulation check is in tests/integration/test_graph_engine.py.
"""
from __future__ import annotations

import math

import pytest
from scipy import stats

from simulator.scenario.config import parse_scenario
from simulator.scenario.graph import blast_radius, build_graph, flows, latency_above

FOREVER = 600_000


@pytest.mark.parametrize(("mean_ms", "cv", "limit_ms"), [(180, 1.5, 600), (80, 0.5, 500), (25, 0.5, 300)])
def test_slow_calls_follow_the_latency_distribution(mean_ms, cv, limit_ms):
    sigma2 = math.log(1 + cv * cv)
    lognormal = stats.lognorm(s=sigma2 ** 0.5, scale=mean_ms / (1 + cv * cv) ** 0.5)
    assert lognormal.mean() == pytest.approx(mean_ms)
    assert latency_above("lognormal", mean_ms, cv, limit_ms) == pytest.approx(lognormal.sf(limit_ms), rel=1e-9)
    shape = 1 / cv ** 2
    assert latency_above("gamma", mean_ms, cv, limit_ms) == pytest.approx(
        stats.gamma(a=shape, scale=mean_ms / shape).sf(limit_ms), rel=1e-9)
    assert latency_above("exponential", mean_ms, cv, limit_ms) == pytest.approx(stats.expon(scale=mean_ms).sf(limit_ms))
    assert latency_above("constant", mean_ms, cv, limit_ms) == 0.0
    assert latency_above("constant", limit_ms + 1, cv, limit_ms) == 1.0


def test_a_branch_down_leaves_the_join_to_the_others_own_failures():
    """Two of three; c is down. a fails 10 % (no fallback), b fails 20 % (default answer). By hand: both
    answer 0.9 x 0.8 = 72 % (unaffected); a answers and b falls back 0.9 x 0.2 = 18 % (degraded); a fails:
    only one answer is possible, 10 % (failed)."""
    def dep(cid, error_rate, **extra):
        return {"id": cid, "kind": "dependency",
                "dependency": {"latency_ms": 10, "timeout_ms": FOREVER, "error_rate": error_rate, **extra}}

    sc = parse_scenario({"ingestion": {"mode": "direct"}, "topology": {
        "components": [{"id": "events", "kind": "ingestion"}, dep("a", 0.1), dep("b", 0.2, fallback="default"),
                       dep("c", 0.0), {"id": "decide", "kind": "model"}],
        "edges": [{"from": "events", "parallel": ["a", "b", "c"], "join": "first_k", "k": 2, "to": "decide"}]}})
    g = build_graph(sc)
    flow_list = flows(sc, g)
    down_c = blast_radius(sc, g, "c", flow_list)
    assert down_c.fails == pytest.approx(0.10) and down_c.degrades == pytest.approx(0.18)
    assert down_c.unaffected == pytest.approx(0.72)
    # c never fails on its own, so with a down: b must answer (20 % fall back), c always does
    down_a = blast_radius(sc, g, "a", flow_list)
    assert down_a.fails == pytest.approx(0.0) and down_a.degrades == pytest.approx(0.2)
