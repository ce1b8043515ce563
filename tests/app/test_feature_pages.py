"""AppTest (in-process, no browser) for the Cost & capacity, Failure recovery and Fairness pages.

Runs the real ``app.py`` on short copies of the bundled scenarios with the in-process runner,
selects the scenario through the query parameter as a shared link would, switches to the page
and checks that it renders without exceptions, with its titled charts and its words. Pages
must also degrade gracefully: a scenario without the feature gets a hint, not an empty chart.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.chart_specs import chart_specs, diagram_texts
from tests.app.conftest import SMALL, write_scenarios

APP = "../../app.py"          # AppTest resolves paths against this test file
SHORT = {
    "baseline": {},
    "no_feature_store": {},
    "quantization": {"traffic.rate_per_s": 60},
    "weather_api_outage": {"faults.external_api": [{"name": "weather service outage", "kind": "outage_timeouts",
                                                    "start_s": 60, "duration_s": 60}]},
    "bad_canary": {"canary.start_s": 40, "canary.interval_s": 20},
    # a regional shock at 30 min, monitored in 10-minute windows, over 80 minutes at one applicant a second
    "fairness_drift": {"duration_s": 4800, "warmup_s": 0, "traffic.rate_per_s": 1.0, "fairness.window_s": 600,
                       "fairness.min_samples_per_group": 30, "drift.concept": [],
                       "drift.covariate": [{"feature": "income_k_usd", "multiplier": 0.5, "group": "south",
                                            "start_s": 1800}],
                       "retraining.psi_window_s": 600, "retraining.min_samples": 200, "retraining.duration_s": 600,
                       "canary.interval_s": 300},
}


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory) -> Path:
    """Short versions of the scenarios these pages are about (faults moved into the short window)."""
    folder = tmp_path_factory.mktemp("feature_scenarios")
    return write_scenarios(folder, {name: {**(SMALL if name != "fairness_drift" else {}), **extra}
                                    for name, extra in SHORT.items()})


def open_page(page: str, **query) -> AppTest:
    """The app with ``query`` in the address bar, switched to ``pages/<page>.py``."""
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    ok(at.run())
    return ok(at.switch_page(f"pages/{page}.py").run())


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def specs(at: AppTest) -> list[dict]:
    return chart_specs(at)


def titles(at: AppTest) -> list[str]:
    return [s["layout"]["title"]["text"] for s in specs(at)]


def trace_names(spec: dict) -> list[str]:
    return [t.get("name") for t in spec["data"]]


def text(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info])


# --------------------------------------------------------------------------- cost
def test_cost_page_shows_capacity_money_and_the_precision_comparison():
    """quantization: tiles, the three cost charts, and the fp32/int8 comparison run with the same seed,
    told in words (machines, latency, accuracy, net value) with a table and the latency overlay."""
    at = open_page("cost", scenario="quantization")
    assert at.title[0].value == "Cost & capacity"
    assert at.expander[0].label == "How to read this page"
    labels = [m.label for m in at.metric]
    assert labels[:3] == ["Cost per 1,000 decisions", "Value of the decisions per hour", "Monthly cost at this pace"]
    assert all(m.help for m in at.metric)
    assert titles(at)[:3] == ["Model servers and load over time", "Where the money went (measured period)",
                              "Value created and money spent, per hour"]
    assert "Slowest 1 % of customers wait (p99): fp32 against int8" in titles(at)
    words = text(at)
    assert "This scenario runs the **compressed (int8)** model." in words
    assert "With the compressed (int8) model the service" in words and "machines" in words
    assert "accuracy was" in words and "Net value came to" in words
    table = at.dataframe[0].value
    assert list(table.columns) == ["measure", "Full precision (fp32)", "Compressed (int8)"]
    memory = table.set_index("measure").loc["Memory per model server"]
    assert memory["Compressed (int8)"] != memory["Full precision (fp32)"]   # int8 weights take fewer bytes
    overlay = specs(at)[titles(at).index("Slowest 1 % of customers wait (p99): fp32 against int8")]
    assert trace_names(overlay) == ["full precision (fp32)", "compressed (int8)"]
    assert "This page as an HTML report" in [b.label for b in at.get("download_button")]


def test_cost_page_spread_over_other_seeds():
    """The 'how sure' toggle runs three more seeds and shows a range per headline number."""
    at = open_page("cost", scenario="baseline")
    ok(at.toggle(key="cost_compare_precision").set_value(False).run())
    ok(at.toggle(key="cost_spread").set_value(True).run())
    table = at.dataframe[-1].value
    assert "range over 4 runs" in table.columns
    assert "Cost per 1,000 decisions" in table["measure"].tolist()


def test_cost_page_on_a_fixed_fleet_says_so():
    """baseline has no autoscaler: the page says the number of servers is fixed and names scenarios that scale."""
    at = open_page("cost", scenario="baseline")
    assert "The number of model servers is fixed here" in text(at)
    assert "black_friday" in text(at)


# --------------------------------------------------------------------------- recovery
def test_recovery_page_tells_the_outage_from_fault_to_recovery():
    """weather_api_outage (outage at 60-120 s after 14:00): the timeline, the latency chart with the breaker
    band and the stage breakdown; the story starts 'At 14:01 the fault ... began'."""
    at = open_page("recovery", scenario="weather_api_outage")
    assert at.title[0].value == "Failure recovery"
    assert at.expander[0].label == "How to read this page"
    assert titles(at)[:3] == ["From fault to recovery", "Customer wait, with the safety switch's state",
                              "Where did the time go? Time per request in each stage"]
    latency = specs(at)[1]
    assert "safety switch open: calls stopped, fallback answers" in trace_names(latency)
    assert "“Weather service outage” hit the weather service at 14:01" in text(at)
    labels = [m.label for m in at.metric]
    assert labels[0] == "Weather service outage"
    assert "Time to notice" in labels and "Safety switch tripped" in labels
    assert "Cost of the incident" not in labels      # money lives on the Cost page; the paragraph tells it
    assert "the same" in text(at) and "without it (same customers, same random numbers)" in text(at)


def test_cost_page_prices_a_one_off_event_instead_of_projecting_a_month():
    """weather_api_outage is a one-off: the incident's cost (paired run without it), no monthly tile."""
    at = open_page("cost", scenario="weather_api_outage")
    labels = [m.label for m in at.metric]
    assert "Cost of the incident" in labels and "Monthly cost at this pace" not in labels
    story = next(m.value for m in at.markdown if m.value.startswith("Running the service cost"))
    assert "a month if" not in story and "not projected to a month" in story


def test_recovery_rerun_without_the_breaker_shows_what_it_is_worth():
    """Without the breaker every call in the outage waits for the 1 s timeout, longer than the 300 ms
    promise, so about 60 s x 40 customers/s are late: far more customers are affected than with it."""
    at = open_page("recovery", scenario="weather_api_outage")
    ok(at.radio(key="recovery_without").set_value("without the safety switch").run())
    words = text(at)
    assert "Without the safety switch, " in words
    line = next(m.value for m in at.markdown if m.value.startswith("Without the safety switch, "))
    without = int(line.split("Without the safety switch, ")[1].split(" customers")[0].replace(",", ""))
    with_it = int(line.split("against ")[1].split(" with it")[0].replace(",", ""))
    assert without > 1500 and with_it < without / 3
    assert "Slowest 1 % of customers wait (p99)" in titles(at)
    overlay = specs(at)[titles(at).index("Slowest 1 % of customers wait (p99)")]
    assert trace_names(overlay) == ["as designed", "without the safety switch"]
    assert any(m.delta for m in at.metric)


def test_recovery_page_shows_the_canary_and_its_blast_radius():
    """bad_canary: the canary chart with failed checks and the rollback; blast radius tiles."""
    at = open_page("recovery", scenario="bad_canary")
    assert "New model version's share of traffic (canary)" in titles(at)
    canary = specs(at)[titles(at).index("New model version's share of traffic (canary)")]
    assert "automatic check failed" in trace_names(canary) and "rolled back" in trace_names(canary)
    labels = [m.label for m in at.metric]
    assert labels[0] == "New model v2" and at.metric[0].value == "rolled back"
    assert at.metric[0].delta == "caught by its checks"
    assert "Model v2 was released at 10:00 to 5 % of card payments" in text(at)   # canary.start_s: 40 s
    assert "rolled back at" in text(at) and "customers were served by it" in text(at)


def test_recovery_page_without_faults_gives_a_hint_not_an_empty_chart():
    """baseline injects nothing: a hint naming the resilience scenarios, no chart, no exception."""
    at = open_page("recovery", scenario="baseline")
    assert "injects no faults" in at.info[0].value and "weather_api_outage" in at.info[0].value
    assert len(chart_specs(at)) == 0


# --------------------------------------------------------------------------- fairness
def test_fairness_page_shows_disparate_impact_with_the_four_fifths_line():
    """fairness_drift: the ratio per window with its confidence band and the 0.8 line, rates per region,
    the audit log and the model-quality table."""
    at = open_page("fairness", scenario="fairness_drift")
    assert at.title[0].value == "Fairness & governance"
    assert at.expander[0].label == "How to read this page"
    assert titles(at)[:3] == ["Approval-rate ratio between regions (disparate impact)",
                              "Approval rate per region, per monitoring window", "Approval rate per region (whole run)"]
    di = specs(at)[0]
    assert "four-fifths line (0.8)" in trace_names(di) and "95 % confidence band" in trace_names(di)
    line = next(t for t in di["data"] if t.get("name") == "four-fifths line (0.8)")
    assert line["y"] == [0.8, 0.8]
    assert "Every 10 minutes the monitor compares" in text(at)
    headers = [s.value for s in at.subheader]
    assert "Audit log" in headers and "Is the model as good on live traffic as in testing?" in headers
    assert "model deployed" in at.dataframe[-1].value["action"].tolist()


def test_fairness_page_shows_review_backlog_when_cases_were_sent():
    """When decisions went to review, the backlog chart and the Erlang-C staffing sentence appear."""
    at = open_page("fairness", scenario="fairness_drift")
    if "Human review" not in [s.value for s in at.subheader]:
        pytest.skip("the short run raised no flag")
    assert "Cases waiting for a human reviewer" in titles(at)
    assert "Erlang-C" in text(at)


def test_fairness_explanations_in_plain_words():
    """fairness_drift explains a sample of its decisions: the page lists decisions with 'mainly
    because of' reasons, without a toggle."""
    at = open_page("fairness", scenario="fairness_drift")
    assert not [t for t in at.toggle if t.key == "fair_explain"]
    examples = next(d.value for d in at.dataframe if "why" in d.value.columns)
    assert len(examples) > 0
    assert examples["why"].str.startswith("mainly because of:").all()
    assert set(examples["decision"]) <= {"approved", "rejected"}


def test_fairness_explanations_toggle_reruns_with_sampled_explanations():
    """Explanations are off in no_feature_store; the toggle reruns with sampled explanations."""
    at = open_page("fairness", scenario="no_feature_store")
    ok(at.toggle(key="fair_explain").set_value(True).run())
    examples = next(d.value for d in at.dataframe if "why" in d.value.columns)
    assert len(examples) > 0
    assert examples["why"].str.startswith("mainly because of:").all()
    assert set(examples["decision"]) <= {"approved", "rejected"}


def test_fairness_page_without_the_monitor_explains_skew():
    """no_feature_store: the monitor is off (a hint names fairness_drift), the whole-run approval rates are
    still shown, and the quality table explains training-serving skew."""
    at = open_page("fairness", scenario="no_feature_store")
    assert "fairness monitor is switched off" in at.info[0].value
    assert titles(at) == ["Approval rate per region (whole run)"]
    assert "training-serving skew" in text(at)
    quality = next(d.value for d in at.dataframe if "live, in this run" in d.value.columns)
    assert quality["measure"].tolist()[0] == "Accuracy (right decisions)"


def test_overview_fairness_headline_matches_the_flagged_windows(small_dir):
    """The bug this suite was born from: the Overview said 'no gap' while the monitor had flagged windows.
    The tile, the story and the diagram's monitor box must say 'gap flagged' exactly when the same run has
    flagged windows."""
    from simulator.runner import run
    from simulator.scenario.config import load_scenario

    result = run(load_scenario(small_dir / "fairness_drift.yaml"))
    flagged = bool(result.extra["fairness"]["flagged"].astype(bool).any())
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["scenario"] = "fairness_drift"
    ok(at.run())
    tile = next(m for m in at.metric if m.label.startswith("Fairness"))
    assert (tile.delta == "gap flagged") == flagged
    dot = diagram_texts(at)[0]
    assert ("gap flagged" in dot) == flagged
    assert ("Fairness gap flagged" in "\n".join(m.value for m in at.markdown)) == flagged
    assert "payment" not in dot.lower() and "fraud" not in dot.lower()


@pytest.mark.parametrize("page", ["cost", "recovery", "fairness"])
def test_pages_render_in_presentation_mode(page):
    """?present=true (one wide column, larger type) renders every page without an exception."""
    scenario = {"cost": "quantization", "recovery": "weather_api_outage", "fairness": "fairness_drift"}[page]
    at = open_page(page, scenario=scenario, present="true")
    assert len(chart_specs(at)) >= 2
