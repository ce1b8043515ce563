"""The topology section: graph validation (one line naming the components), flows and blast radius.

Expected shares are computed by hand from the routes' probabilities and the traffic mix.
"""
import subprocess
import sys

import pytest

from simulator.scenario.config import Scenario, ScenarioError, parse_scenario
from simulator.scenario.graph import blast_radius, build_graph, flows, single_points_of_failure, topology_of
from tests.conftest import ROOT

DEP = {"latency_ms": 20, "timeout_ms": 500}


def comp(cid, kind, **extra):
    return {"id": cid, "kind": kind, **extra}


def scenario_with(components, edges, **top) -> Scenario:
    return parse_scenario({"topology": {"components": components, "edges": edges}, **top})


def problems_of(components, edges) -> list[str]:
    with pytest.raises(ScenarioError) as err:
        scenario_with(components, edges)
    return err.value.lines


FANOUT = [comp("events", "ingestion"), comp("device", "dependency", dependency=DEP),
          comp("weather", "dependency", dependency={**DEP, "fallback": "cached"}),
          comp("bureau", "dependency", dependency=DEP), comp("rules", "rules"), comp("fraud", "model")]


def test_old_scenarios_are_the_default_chain():
    sc = Scenario()
    g = build_graph(sc)
    assert list(g.nodes) == ["ingestion", "feature_store", "external_api", "inference"]
    assert [d for _, _, d in g.edges(data="form")] == ["sequence"] * 3
    off = parse_scenario({"feature_store": {"mode": "off"}, "external_api": {"enabled": False}})
    assert list(build_graph(off).nodes) == ["ingestion", "inference"]
    assert topology_of(off).components[-1].id == "inference"


def test_a_fanout_graph_is_accepted():
    sc = scenario_with(FANOUT, [
        {"from": "events", "parallel": ["device", "weather", "bureau"], "join": "first_k", "k": 2, "to": "rules"},
        {"from": "rules", "to": "fraud"}])
    g = build_graph(sc)
    assert {v for _, v, d in g.out_edges("events", data="form") if d == "branch"} == {"device", "weather", "bureau"}
    assert all(d["k"] == 2 for _, _, d in g.in_edges("rules", data=True))


@pytest.mark.parametrize(("components", "edges", "names"), [
    ([comp("a", "ingestion"), comp("a", "model")], [], ["a", "twice"]),
    ([comp("a", "ingestion"), comp("b", "model")], [{"from": "a", "to": "zz"}], ["zz"]),
    ([comp("a", "ingestion"), comp("b", "model"), comp("c", "model")],
     [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}, {"from": "c", "to": "b"}], ["b -> c -> b"]),
    ([comp("a", "ingestion"), comp("b", "model"), comp("c", "model")], [{"from": "a", "to": "b"}], ["c"]),
    ([comp("a", "ingestion"), comp("b", "model"), comp("c", "model")],
     [{"from": "a", "to": "b"}, {"from": "a", "to": "c"}], ["a", "2 outgoing"]),
    ([comp("a", "ingestion"), comp("b", "model"), comp("c", "rules")],
     [{"from": "a", "parallel": ["b"], "to": "c"}], ["b", "dependencies"]),
    ([comp("a", "ingestion"), comp("b", "dependency"), comp("c", "model")],
     [{"from": "a", "parallel": ["b"], "join": "first_k", "k": 2, "to": "c"}], ["a", "k=2", "b"]),
    ([comp("a", "ingestion"), comp("b", "dependency"), comp("c", "model")],
     [{"from": "a", "to": "b"}, {"from": "b", "route": [{"to": "c", "when": {"confidence_below": 0.8}}]}],
     ["b", "confidence"]),
    ([comp("a", "ingestion"), comp("b", "dependency"), comp("c", "model")],
     [{"from": "a", "to": "b"}, {"from": "b", "route": [{"to": "c", "when": {"segment": ["business"]}}]}],
     ["b", "match no route"]),
    ([comp("a", "ingestion"), comp("b", "dependency"), comp("c", "model")],
     [{"from": "a", "to": "b"}, {"from": "b", "fallback": "c"}], ["b", "c", "same kind"]),
])
def test_every_bad_graph_gets_a_line_naming_its_components(components, edges, names):
    lines = problems_of(components, edges)
    assert any(all(n in line for n in names) for line in lines), lines
    assert all("\n" not in line for line in lines)


def test_bad_graph_exits_2_on_the_cli(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("topology:\n  components: [{id: a, kind: ingestion}, {id: b, kind: model}, {id: c, kind: model}]\n"
                    "  edges: [{from: a, to: b}, {from: b, to: c}, {from: c, to: b}]\n")
    out = subprocess.run([sys.executable, "-m", "simulator", "validate", str(path)], cwd=ROOT,
                         capture_output=True, text=True, check=False)
    assert out.returncode == 2
    assert "b -> c -> b" in out.stderr + out.stdout
    assert "Traceback" not in out.stderr


def test_route_shares_and_conditions_make_the_flows():
    # rules settle nothing on the graph level; the route from the model sends business customers
    # (15 % of traffic) to review, and 30 % of the rest by probability to a second model
    comps = [comp("in", "ingestion"), comp("small", "model"), comp("large", "model"), comp("review", "review")]
    sc = scenario_with(comps, [{"from": "in", "to": "small"},
                               {"from": "small", "route": [{"to": "review", "when": {"segment": ["business"]}},
                                                           {"to": "large", "when": {"region": ["north", "south"]}}]}],
                       traffic={"segments": {"consumer": 0.85, "business": 0.15},
                                "regions": {"north": 0.3, "south": 0.3, "east": 0.2, "west": 0.2}})
    fl = flows(sc, build_graph(sc))
    by_end = {f.steps[-1].component: f.share for f in fl}
    assert by_end["review"] == pytest.approx(0.15)
    assert by_end["large"] == pytest.approx(0.85 * 0.6)     # later branches see what earlier ones left
    assert by_end["small"] == pytest.approx(0.85 * 0.4)     # matched nothing: decided by the small model
    assert sum(f.share for f in fl) == pytest.approx(1.0)


def test_blast_radius_by_hand():
    sc = scenario_with(FANOUT + [comp("backup", "model")], [
        {"from": "events", "parallel": ["device", "weather", "bureau"], "join": "first_k", "k": 2, "to": "rules"},
        {"from": "rules", "route": [{"to": "fraud", "share": 0.7}, {"to": "backup", "share": 0.3}]}])
    g = build_graph(sc)
    fl = flows(sc, g)
    blasts = {n: blast_radius(sc, g, n, fl) for n in g}
    # two of three answers suffice: one branch down changes no decision
    assert blasts["device"].affected == 0 and blasts["weather"].affected == 0
    # the entry and the rules engine are on every path without a fallback
    assert blasts["events"].fails == 1 and blasts["rules"].fails == 1
    # the rules engine settles 30 % itself (its default share); the route splits the rest 70/30
    assert blasts["fraud"].fails == pytest.approx(0.7 * 0.7) and blasts["backup"].fails == pytest.approx(0.7 * 0.3)
    assert single_points_of_failure(list(blasts.values())) == ["events", "rules"]
    assert "every decision stops" in blasts["rules"].how


def test_join_all_and_fallbacks_by_hand():
    components = [c for c in FANOUT if c["id"] != "rules"] + [comp("backup", "model")]
    sc = scenario_with(components, [
        {"from": "events", "parallel": ["device", "weather", "bureau"], "join": "all", "to": "fraud"},
        {"from": "fraud", "fallback": "backup"}])
    g = build_graph(sc)
    fl = flows(sc, g)
    # weather has a cached fallback: its outage degrades every decision; bureau has none: all stop
    assert blast_radius(sc, g, "weather", fl).degrades == 1
    assert blast_radius(sc, g, "bureau", fl).fails == 1
    # the fraud model falls back to the backup model
    fraud = blast_radius(sc, g, "fraud", fl)
    assert fraud.degrades == 1 and fraud.fails == 0
    assert blast_radius(sc, g, "backup", fl).affected == 0  # only used when fraud is down
