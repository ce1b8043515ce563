"""AppTest for the Architecture page and the Scenario lab's graph editor.

The page renders the summary's ``architecture`` section and the findings on short copies of the
bundled topologies and of the default chain; its numbers are checked against the raw request frame
(what reached a component, the blast radius against the graph's own flows).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.chart_specs import chart_specs, diagram_svgs, diagram_texts
from tests.app.conftest import write_scenarios

APP = "../../app.py"
SHORT = {"fraud_enrichment": {"duration_s": 240, "warmup_s": 20, "traffic.rate_per_s": 40},
         "loan_cascade": {"duration_s": 1800, "warmup_s": 60, "traffic.rate_per_s": 2},
         "baseline": {"duration_s": 240, "warmup_s": 20, "traffic.rate_per_s": 40}}


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory) -> Path:
    return write_scenarios(tmp_path_factory.mktemp("architecture_scenarios"), SHORT)


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_page(page: str, scenario: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["scenario"] = scenario
    ok(at.run())
    return ok(at.switch_page(f"pages/{page}.py").run())


def texts(at: AppTest) -> str:
    return "\n".join(m.value for m in [*at.markdown, *at.caption, *at.info, *at.error, *at.warning, *at.success])


def test_architecture_page_for_fraud_enrichment_names_the_parts_and_their_outages():
    at = open_page("architecture", "fraud_enrichment")
    assert [t.value for t in at.title] == ["Architecture"]
    table = at.dataframe[0].value
    # business labels, never ids; units in the headers
    assert {"Payment stream", "Credit bureau", "Weather service", "Fraud rules", "Large fraud model"} <= set(
        table["component"])
    assert {"mean time (ms)", "utilization (%)", "if down: stop (%)"} <= set(table.columns)
    # every request arrives through the entry; the rules settle a quarter, so fewer reach the quick check
    reached = dict(zip(table["component"], table["requests reached"]))
    assert reached["Quick fraud check"] < reached["Fraud rules"] == reached["Payment stream"]
    # shares of an outage add up to all decisions; the rules stop every one (no fallback), the weather none
    row = table.set_index("component")
    sums = row["if down: stop (%)"] + row["if down: fallback (%)"] + row["if down: unaffected (%)"]
    assert ((sums - 100).abs() <= 0.2).all()
    assert row.loc["Fraud rules", "if down: stop (%)"] == 100
    assert row.loc["Weather service", "if down: unaffected (%)"] == 100
    assert row.loc["Credit bureau", "if down: fallback (%)"] == pytest.approx(12.5, abs=0.1)
    words = texts(at)
    assert "If the fraud rules go down, 100 % of fraud decisions stop" in words
    # with one enrichment service down the join needs both others, and the weather service's own failures
    # (12.5 %: 8 % errors, then 4.9 % of the rest slower than its 600 ms timeout) are answered from its cache
    assert "If the credit bureau goes down, 13 % of fraud decisions are given a fallback answer instead" in words
    charts = chart_specs(at)
    titles = [c["layout"]["title"]["text"] for c in charts]
    assert any(t.startswith("Where the slowest 1 %") for t in titles)
    assert any(t.startswith("If one part goes down") for t in titles)
    blast = next(c for c in charts if c["layout"]["title"]["text"].startswith("If one part"))
    assert [tr["name"] for tr in blast["data"]] == ["stop", "get a fallback answer", "unaffected"]
    dot = diagram_texts(at)[0]
    assert "waits for 2 of 3" in dot and "Credit bureau" in dot


def test_architecture_page_works_for_the_default_chain():
    at = open_page("architecture", "baseline")
    table = at.dataframe[0].value
    assert len(table) == 4  # ingestion, feature store, the external API, the model
    assert "yes" in set(table["single point of failure"])
    assert any("goes down, every decision stops" in m.value for m in at.markdown)


def test_architecture_page_for_a_cascade_says_who_decided():
    at = open_page("architecture", "loan_cascade")
    assert any(c.value.startswith("Who decided:") for c in at.caption)
    assert "Human underwriters" in set(at.dataframe[0].value["component"])


def open_editor(scenario: str) -> AppTest:
    at = open_page("lab", scenario)
    at.segmented_control(key="lab_mode").set_value("Architecture")
    return ok(at.run())


def key_of(at: AppTest, suffix: str) -> str:
    """The editor's widget keys carry the scenario's prefix (graph_lab_<hash>); find the one ending in ``suffix``."""
    keys = [w.key for w in [*at.selectbox, *at.text_input, *at.button, *at.radio, *at.multiselect, *at.number_input]
            if w.key and w.key.startswith("graph_lab_") and w.key.split("_", 3)[3] == suffix.lstrip("_")]
    assert len(keys) == 1, (suffix, keys)
    return keys[0]


def plain(elements) -> str:
    """Messages as the reader sees them (without the backslashes that keep markdown literal)."""
    return "\n".join(e.value.replace("\\", "") for e in elements)


def dot_of(at: AppTest) -> str:
    return diagram_texts(at)[0]


def test_graph_editor_adds_validates_a_cycle_removes_and_saves():
    at = open_editor("fraud_enrichment")
    assert "waits for 2 of 3" in dot_of(at)
    assert any("The graph is sound" in s.value for s in at.success)
    # a fallback model for the large one: add the component, then the fallback edge
    at.selectbox(key=key_of(at, "_kind")).set_value("model")
    at.text_input(key=key_of(at, "_cid")).set_value("backup_model")
    at.text_input(key=key_of(at, "_label")).set_value("backup fraud model")
    at.button(key=key_of(at, "_add_component")).click()
    ok(at.run())
    assert "Backup fraud model" in dot_of(at)
    assert "exactly one component must receive the requests (no incoming edge); got payments, backup_model" in plain(
        at.error)
    at.radio(key=key_of(at, "_form")).set_value("fallback")
    ok(at.run())
    at.selectbox(key=key_of(at, "_from")).set_value("fraud_model")
    at.selectbox(key=key_of(at, "_target")).set_value("backup_model")
    at.button(key=key_of(at, "_add_edge")).click()
    ok(at.run())
    dot = dot_of(at)
    assert "fraud_model->backup_model" in dot
    edge = re.search(r"<title>fraud_model&#45;&gt;backup_model</title>.*?</g>", diagram_svgs(at)[0], re.S)[0]
    assert "stroke-dasharray" in edge  # a fallback edge is drawn dashed
    assert any("The graph is sound" in s.value for s in at.success)
    # a cycle is refused with the cycle named
    at.radio(key=key_of(at, "_form")).set_value("sequence")
    ok(at.run())
    at.selectbox(key=key_of(at, "_from")).set_value("fraud_model")
    at.selectbox(key=key_of(at, "_target")).set_value("rules")
    at.button(key=key_of(at, "_add_edge")).click()
    ok(at.run())
    assert "requests would go round in a circle: rules -> quick_check -> fraud_model -> rules" in plain(at.error)
    assert at.button(key="graph_use").disabled
    # removing the edge that closed the circle makes it sound again
    at.selectbox(key=key_of(at, "_remove_edge")).set_value(5)  # the 6th edge
    at.button(key=key_of(at, "_remove_edge_button")).click()
    ok(at.run())
    assert any("The graph is sound" in s.value for s in at.success)
    # removing a component takes its edges with it and says so
    at.selectbox(key=key_of(at, "_remove_cid")).set_value("backup_model")
    at.button(key=key_of(at, "_remove_component")).click()
    ok(at.run())
    assert "Removed backup_model and its edges: fraud_model -> backup_model when fraud_model fails" in plain(at.success)
    assert "backup_model" not in dot_of(at)
    # a join that waits for more answers than it has branches is refused when the edge is added
    at.radio(key=key_of(at, "_form")).set_value("parallel")
    ok(at.run())
    at.selectbox(key=key_of(at, "_from")).set_value("features")
    at.multiselect(key=key_of(at, "_targets")).set_value(["device", "bureau"])
    at.radio(key=key_of(at, "_join")).set_value("the first k")
    ok(at.run())
    at.number_input(key=key_of(at, "_k")).set_value(3)
    at.selectbox(key=key_of(at, "_then")).set_value("rules")
    at.button(key=key_of(at, "_add_edge")).click()
    ok(at.run())
    assert "join first_k with k=3 but only 2 branches (device, bureau)" in plain(at.error)
    # save it to the Library (local single-user mode may save)
    at.text_input(key="graph_name").set_value("fraud with my architecture")
    at.button(key="graph_save").click()
    ok(at.run())
    from simulator.store import scenarios
    from simulator.store.db import open_store

    saved = scenarios.latest(open_store(), "fraud with my architecture")
    assert saved is not None and saved.version == 1
    from simulator.scenario.config import parse_scenario

    edges = parse_scenario(saved.body).topology.edges
    assert [e.source for e in edges] == ["payments", "features", "rules", "quick_check"]


def test_graph_editor_runs_the_architecture_it_built():
    at = open_editor("fraud_enrichment")
    _, remove_edge = key_of(at, "_remove_edge"), key_of(at, "_remove_edge_button")
    # route every unsure payment of the quick check to the large model: drop the route, then add it back by share
    at.selectbox(key=key_of(at, "_remove_edge")).set_value(3)
    at.button(key=remove_edge).click()
    ok(at.run())
    at.radio(key=key_of(at, "_form")).set_value("route")
    ok(at.run())
    at.selectbox(key=key_of(at, "_from")).set_value("quick_check")
    at.multiselect(key=key_of(at, "_targets")).set_value(["fraud_model"])
    ok(at.run())
    at.number_input(key=key_of(at, "_share_fraud_model")).set_value(40.0)
    at.button(key=key_of(at, "_add_edge")).click()
    ok(at.run())
    assert "quick_check -> fraud_model (40 %)" in plain(at.markdown)
    assert "40 %" in dot_of(at)
    at.button(key="graph_run").click()
    ok(at.run())
    assert [h.value for h in at.subheader if h.value == "Result of the last run"]
    dots = diagram_texts(at)
    assert any("quick_check->fraud_model" in d and "40 %" in d for d in dots[1:])


def edit_key(at: AppTest, cid: str, name: str) -> str:
    """The change form's widget for ``name`` of component ``cid`` (keyed by the component's revision)."""
    keys = [w.key for w in [*at.selectbox, *at.text_input, *at.number_input]
            if w.key and w.key.startswith("graph_lab_") and f"_edit_{cid}_" in w.key and w.key.endswith(f"_{name}")]
    assert len(keys) == 1, (cid, name, keys)
    return keys[0]


def test_graph_editor_changes_an_existing_components_settings():
    at = open_editor("fraud_enrichment")
    at.selectbox(key=key_of(at, "_edit_cid")).set_value("bureau")
    ok(at.run())
    # the form shows what the bureau runs with now (the file's 80 ms, the section's default 0 % errors)
    assert at.number_input(key=edit_key(at, "bureau", "latency_ms")).value == 80.0
    assert at.number_input(key=edit_key(at, "bureau", "error_rate")).value == 0.0
    assert at.text_input(key=edit_key(at, "bureau", "label")).value == ""
    at.number_input(key=edit_key(at, "bureau", "latency_ms")).set_value(120.0)
    at.text_input(key=edit_key(at, "bureau", "label")).set_value("credit bureau (new contract)")
    at.button(key=key_of(at, "_edit_component")).click()
    ok(at.run())
    assert "Changed bureau." in plain(at.success)
    assert "Credit bureau (new contract)" in dot_of(at)
    assert any("The graph is sound" in s.value for s in at.success)
    # the form now shows the saved values; unchanged settings were not written into the component
    assert at.number_input(key=edit_key(at, "bureau", "latency_ms")).value == 120.0
    topo_key = key_of(at, "_edit_cid").removesuffix("_edit_cid") + "_topology"  # the editor's topology
    bureau = next(c for c in at.session_state[topo_key]["components"] if c["id"] == "bureau")
    assert bureau["dependency"] == {"name": "credit bureau", "latency_ms": 120.0, "timeout_ms": 500.0}
    # a model's size and replicas
    at.selectbox(key=key_of(at, "_edit_cid")).set_value("quick_check")
    ok(at.run())
    assert at.selectbox(key=edit_key(at, "quick_check", "arch")).value == "compact"
    at.number_input(key=edit_key(at, "quick_check", "replicas")).set_value(3)
    at.button(key=key_of(at, "_edit_component")).click()
    ok(at.run())
    quick = next(c for c in at.session_state[topo_key]["components"] if c["id"] == "quick_check")
    assert quick["model"]["replicas"] == 3 and quick["architecture"] == "compact"


def test_graph_editor_routes_on_the_customers_region():
    at = open_editor("fraud_enrichment")
    at.selectbox(key=key_of(at, "_remove_edge")).set_value(3)  # quick_check -> fraud_model if confidence below 75 %
    at.button(key=key_of(at, "_remove_edge_button")).click()
    ok(at.run())
    at.radio(key=key_of(at, "_form")).set_value("route")
    ok(at.run())
    at.selectbox(key=key_of(at, "_from")).set_value("quick_check")
    at.multiselect(key=key_of(at, "_targets")).set_value(["fraud_model"])
    at.radio(key=key_of(at, "_route_by")).set_value("condition")
    ok(at.run())
    at.number_input(key=key_of(at, "_conf_fraud_model")).set_value(80.0)
    at.multiselect(key=key_of(at, "_reg_fraud_model")).set_value(["north", "east"])
    at.button(key=key_of(at, "_add_edge")).click()
    ok(at.run())
    assert "quick_check -> fraud_model if confidence below 80 % and region north or east" in plain(at.markdown)
    assert any("The graph is sound" in s.value for s in at.success)
    topo_key = key_of(at, "_edit_cid").removesuffix("_edit_cid") + "_topology"
    route = next(e for e in at.session_state[topo_key]["edges"] if e["from"] == "quick_check")
    assert route["route"] == [{"to": "fraud_model", "when": {"confidence_below": 0.8, "region": ["north", "east"]}}]
