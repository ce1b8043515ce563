"""The graph editor's steps (simulator.scenario.topology_edit) and the diagram drawn from a topology's graph
(simulator.viz.topology_diagram), on the bundled fraud_enrichment scenario and small hand-made graphs."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from simulator.scenario import topology_edit as te
from simulator.scenario.config import load_scenario
from simulator.viz.diagram import architecture_dot

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fraud():
    return load_scenario(ROOT / "scenarios" / "fraud_enrichment.yaml")


def arrows(dot: str) -> list[tuple[str, str, str]]:
    """(source, target, attributes) of every arrow."""
    return re.findall(r"^  (\w+) -> (\w+) \[([^\]]*)\];", dot, flags=re.MULTILINE)


def test_the_diagram_of_a_topology_follows_its_graph(fraud):
    dot = architecture_dot(fraud)
    labels = dict(re.findall(r'^  (\w+) \[label="([^"]*)"', dot, flags=re.MULTILINE))
    for cid, label in (("payments", "Payment stream"), ("bureau", "Credit bureau"), ("weather", "Weather service"),
                       ("rules", "Fraud rules"), ("fraud_model", "Large fraud model")):
        assert labels[cid].startswith(label)
    # the fan-out meets in one gate that says how it joins, then goes on to the rules
    gates = [n for n, label in labels.items() if label == "waits for 2 of 3"]
    assert len(gates) == 1
    edges = {(a, b): attrs for a, b, attrs in arrows(dot)}
    assert {("features", b) for b in ("device", "bureau", "weather")} <= set(edges)
    assert {(b, gates[0]) for b in ("device", "bureau", "weather")} <= set(edges)
    assert (gates[0], "rules") in edges
    assert "if unsure (< 75 % sure)" in edges[("quick_check", "fraud_model")]
    # every part that ends requests answers: the rules settle some, the quick check the confident, the large model
    # the rest; the dependencies never answer on their own
    answering = {a for a, b, _ in arrows(dot) if b == "decision"}
    assert answering == {"rules", "quick_check", "fraud_model"}
    assert "fallback: cached answer" in labels["weather"]


def test_a_fallback_is_dashed_and_answers_for_its_source(fraud):
    topo = te.add_component(te.start(fraud), "model", "backup_model", "backup fraud model", {"replicas": 2})
    topo = te.add_edge(topo, te.make_edge("fallback", "fraud_model", ["backup_model"]))
    topology, problems = te.check(fraud, topo)
    assert problems == []
    edges = {(a, b): attrs for a, b, attrs in arrows(architecture_dot(fraud, topology=topology))}
    assert "style=dashed" in edges[("fraud_model", "backup_model")] and "if down" in edges[("fraud_model",
                                                                                              "backup_model")]
    assert "style=dashed" in edges[("backup_model", "decision")]


def test_editing_steps_refuse_what_the_scenario_would_refuse(fraud):
    topo = te.start(fraud)
    with pytest.raises(te.EditError, match="rules is already a component"):
        te.add_component(topo, "rules", "rules")
    with pytest.raises(te.EditError, match="not a usable id"):
        te.add_component(topo, "model", "Big Model")
    with pytest.raises(te.EditError, match="join first_k with k=3 but only 2 branches"):
        te.make_edge("parallel", "features", ["device", "bureau"], to="rules", join="first_k", k=3)
    with pytest.raises(te.EditError, match="no component called nowhere"):
        te.add_edge(topo, te.make_edge("sequence", "fraud_model", ["nowhere"]))


def test_a_cycle_and_a_loose_part_are_named_and_still_drawn(fraud):
    cyclic = te.add_edge(te.start(fraud), te.make_edge("sequence", "fraud_model", ["rules"]))
    topology, problems = te.check(fraud, cyclic)
    assert problems == ["requests would go round in a circle: rules -> quick_check -> fraud_model -> rules"]
    assert "fraud_model -> rules" in architecture_dot(fraud, topology=topology)
    loose = te.add_component(te.start(fraud), "dependency", "kyc", "KYC check")
    assert te.check(fraud, loose)[1] == ["exactly one component must receive the requests (no incoming edge); got "
                                         "payments, kyc"]


def test_removing_a_component_takes_its_edges_and_says_which(fraud):
    topo, gone = te.remove_component(te.start(fraud), "quick_check")
    assert gone == ["rules -> quick_check", "quick_check -> fraud_model if confidence below 75 %"]
    assert "quick_check" not in te.ids(topo)
    assert all("quick_check" not in te.names(e) for e in topo["edges"])
    # the large model is now loose: named
    assert any("fraud_model" in p for p in te.check(fraud, topo)[1])


def test_the_default_chain_is_a_topology_the_editor_can_start_from():
    sc = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    topo = te.start(sc)
    assert te.ids(topo) == ["ingestion", "feature_store", "external_api", "inference"]
    assert [te.edge_words(e) for e in topo["edges"]] == ["ingestion -> feature_store", "feature_store -> external_api",
                                                         "external_api -> inference"]
    assert te.check(sc, topo)[1] == []


def test_changing_a_component_keeps_its_id_kind_and_edges(fraud):
    topo = te.start(fraud)
    before = te.current_settings(fraud, topo, "bureau")
    # the file gives the bureau its name, latency and timeout; error rate and fallback are the section's defaults
    assert before == {"name": "credit bureau", "latency_ms": 80.0, "timeout_ms": 500.0, "error_rate": 0.0,
                      "fallback": "none"}
    changed = te.update_component(topo, "bureau", "credit bureau (new contract)", {"latency_ms": 120.0})
    comp = te.component(changed, "bureau")
    assert comp["kind"] == "dependency" and comp["label"] == "credit bureau (new contract)"
    assert comp["dependency"] == {"name": "credit bureau", "latency_ms": 120.0, "timeout_ms": 500.0}  # the rest kept
    assert changed["edges"] == topo["edges"] and te.ids(changed) == te.ids(topo)
    assert te.current_settings(fraud, changed, "bureau")["latency_ms"] == 120.0
    topology, problems = te.check(fraud, changed)
    assert problems == [] and topology is not None
    assert "Credit bureau (new contract)" in architecture_dot(fraud, topology=topology)
    assert te.component(topo, "bureau")["dependency"]["latency_ms"] == 80.0  # the original is untouched


def test_a_component_without_settings_of_its_own_shows_and_keeps_the_scenarios(fraud):
    topo = te.start(fraud)
    # the feature store has no section of its own: it runs with the scenario's feature_store section
    assert te.current_settings(fraud, topo, "features")["db_connections"] == fraud.feature_store.db_connections
    changed = te.update_component(topo, "features", None, {"db_connections": 16})
    assert te.component(changed, "features")["feature_store"] == {"db_connections": 16}
    assert te.component(changed, "features")["label"] == "customer features"  # None leaves the name alone
    swapped = te.update_component(topo, "quick_check", architecture="standard")
    assert te.component(swapped, "quick_check")["architecture"] == "standard"


def test_a_change_the_scenario_would_refuse_is_refused_naming_the_field_and_range(fraud):
    topo = te.start(fraud)
    with pytest.raises(te.EditError, match=r"component bureau: dependency.error_rate: .*less than or equal to 1"):
        te.update_component(topo, "bureau", None, {"error_rate": 3.0})
    with pytest.raises(te.EditError, match="no component called nowhere"):
        te.update_component(topo, "nowhere", "x")
