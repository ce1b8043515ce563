"""AppTest for the Architecture page and the Scenario lab's graph editor.

The page renders the summary's ``architecture`` section and the findings on short copies of the
bundled topologies and of the default chain; its numbers are checked against the raw request frame
(what reached a component, the blast radius against the graph's own flows).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

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
    words = texts(at)
    assert "If the fraud rules go down, 100 % of fraud decisions stop" in words
    assert "goes on with the first 2 of their 3 answers" in words
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    titles = [c["layout"]["title"]["text"] for c in charts]
    assert any(t.startswith("Where the slowest 1 %") for t in titles)
    assert any(t.startswith("If one part goes down") for t in titles)
    blast = next(c for c in charts if c["layout"]["title"]["text"].startswith("If one part"))
    assert [tr["name"] for tr in blast["data"]] == ["stop", "get a fallback answer", "unaffected"]
    dot = at.get("graphviz_chart")[0].proto.spec
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
