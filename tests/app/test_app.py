"""AppTest (in-process, no browser) for every dashboard page.

Runs the real ``app.py`` on small copies of the bundled scenarios (four simulated minutes)
with the in-process runner, and checks that pages render without exceptions, that widget
changes reach the charts and the diagram (plotly layout titles and the diagram's words), and that
query parameters select the scenario.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.widgets import all_fields, parse_uploaded, place_errors, schema_groups, unit_of
from simulator.scenario.config import Scenario
from tests.app.chart_specs import chart_specs, diagram_svgs, diagram_texts
from tests.app.conftest import ROOT, SMALL, write_scenarios

APP = "../../app.py"          # AppTest resolves paths against this test file


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory) -> Path:
    """Short versions of three bundled scenarios (the outage moved into the short window)."""
    folder = tmp_path_factory.mktemp("scenarios")
    outage = {"faults.external_api": [{"name": "weather service outage", "kind": "outage_timeouts",
                                       "start_s": 60, "duration_s": 60}]}
    return write_scenarios(folder, {"baseline": SMALL, "mmc": SMALL, "weather_api_outage": {**SMALL, **outage}})


def make(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    return at


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def chart_titles(at: AppTest) -> list[str]:
    return [spec["layout"]["title"]["text"] for spec in chart_specs(at)]


def dots(at: AppTest) -> list[str]:
    return diagram_texts(at)


def trace_y(at: AppTest, chart: int, name: str):
    """The y values of a named trace (plotly 7 sends arrays base64-encoded as 'bdata')."""
    import base64

    import numpy as np

    trace = next(t for t in chart_specs(at)[chart]["data"] if t.get("name") == name)
    y = trace["y"]
    return np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]) if isinstance(y, dict) else np.asarray(y)


def markdown_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


# --------------------------------------------------------------------------- pages
def test_overview_shows_verdict_tiles_story_diagram_and_chart():
    """The landing page has verdict tiles (service level, the busiest part, money) with a status word and the
    finding's sentence as tooltip, the narrative, the DOT diagram built from the scenario (stream with 12
    partitions) and the throughput chart."""
    at = ok(make().run())
    assert at.title[0].value == "Overview"
    labels = [m.label for m in at.metric]
    assert labels[:3] == ["On time (service level)", "Fraud model: busiest minute", "Cost per 1,000 decisions"]
    assert all(m.help for m in at.metric)
    assert at.metric[0].delta in ("met", "missed", "met, with a dip")
    assert "card payments arrived, about 40 a second" in markdown_text(at)
    (dot,) = dots(at)
    assert "Kafka topic," in dot and "12 partitions" in dot and "6 consumers" in dot
    assert "Fraud model" in dot and "4 model servers" in dot
    assert chart_titles(at) == ["Card payments arriving and answered (per second)"]
    assert at.sidebar.selectbox(key="scenario").value == "baseline"


def test_presentation_mode_shows_three_big_tiles_and_a_wide_diagram():
    """?present=true: exactly three tiles, and the diagram in rows of at most three boxes (wide and short)."""
    at = ok(make(present="true").run())
    assert len(at.metric) == 3
    (dot,) = dots(at)
    assert "Kafka topic" not in dot
    box = re.search(r'viewBox="[\d.]+ [\d.]+ ([\d.]+) ([\d.]+)"', diagram_svgs(at)[0])
    assert float(box[1]) > float(box[2])        # rows of boxes: wider than tall


def test_a_link_to_an_unknown_scenario_says_so():
    """A shared link naming an uploaded scenario this server does not have warns instead of silently showing
    the default."""
    at = ok(make(scenario="my upload (uploaded)").run())
    warnings = " ".join(w.value for w in at.sidebar.warning)
    assert "“my upload (uploaded)”, which is not on this server" in warnings
    assert at.caption[0].value.startswith("Scenario: baseline")


@pytest.mark.parametrize("page, title, n_charts, n_diagrams", [
    ("pages/throughput.py", "Throughput & latency", 4, 0),
    ("pages/compare.py", "Compare", 4, 2),
    ("pages/replay.py", "Replay", 1, 1),
    ("pages/lab.py", "Scenario lab", 0, 0),
    ("pages/glossary.py", "Glossary & help", 0, 0),
])
def test_every_page_renders_without_exception(page, title, n_charts, n_diagrams):
    """Each page opens from the entrypoint, raises nothing and draws its charts and diagrams."""
    at = ok(make().run())
    ok(at.switch_page(page).run())
    assert at.title[0].value == title
    assert len(chart_specs(at)) == n_charts
    assert len(diagram_texts(at)) == n_diagrams
    if page != "pages/glossary.py":
        assert at.expander[0].label == "How to read this page"


def test_throughput_page_has_the_four_charts():
    """Arrivals/throughput, latency percentiles, queues and utilization, each titled in plain words."""
    at = ok(make().run())
    ok(at.switch_page("pages/throughput.py").run())
    assert set(chart_titles(at)) == {"Card payments arriving and answered (per second)",
                                     "How long customers wait for a fraud decision",
                                     "Waiting lines (requests waiting at each stage)",
                                     "How busy each part is (% of its capacity)"}
    labels = [b.label for b in at.get("download_button")]
    assert "This page as an HTML report" in labels and "Time series (CSV)" in labels


def test_query_param_selects_the_scenario():
    """?scenario=mmc opens the textbook queue: no stream, no feature store, no weather service."""
    at = ok(make(scenario="mmc").run())
    assert at.sidebar.selectbox(key="scenario").value == "mmc"
    (dot,) = dots(at)
    assert "Kafka" not in dot and "Weather service" not in dot
    assert "customers->inference" in dot and "Requests" in dot and "payment" not in dot.lower()
    assert at.caption[0].value.startswith("Scenario: mmc")


def test_events_reach_the_charts_and_the_story():
    """The outage scenario's fault window (60-120 s after 14:00) is a labelled band on every chart
    and the narrative tells it with the clock time 14:01; the events table tells it in words."""
    at = ok(make(scenario="weather_api_outage").run())
    assert "“Weather service outage” hit the weather service at 14:01" in markdown_text(at)
    ok(at.switch_page("pages/throughput.py").run())
    for chart in chart_specs(at):
        layout = chart["layout"]
        texts = [a["text"] for a in layout.get("annotations", [])]
        assert "weather service outage" in texts
        assert "safety switch open" in texts
    table = at.dataframe[0].value
    assert list(table.columns) == ["time", "what happened", "where"]
    assert "The safety switch tripped and stopped calling the weather service" in " ".join(table["what happened"])
    assert not table["what happened"].str.contains("->|CLOSED|_", regex=True).any()


# Note: AppTest (1.67) leaves the sidebar out of its element tree after the first run of an
# st.navigation app (the browser test sees it), so later runs check sidebar values in session state.
def test_capacity_slider_changes_the_diagram_and_survives_page_switch():
    """Model servers at 200 % of the plan's 4 gives 8 model servers in the DOT source, on every page."""
    at = ok(make().run())
    ok(at.sidebar.slider(key="capacity").set_value(200).run())
    assert "8 model servers" in dots(at)[0]
    ok(at.switch_page("pages/replay.py").run())
    assert "8 model servers" in dots(at)[0]
    assert at.session_state["capacity"] == 200


def test_traffic_knob_reaches_the_chart_data():
    """?traffic=200 doubles the arrival rate (40 -> 80 per second): the chart's arrival trace
    averages about 80 instead of about 40 (Poisson noise over 220 s is about 1 %)."""
    plain = ok(make().run())
    doubled = ok(make(traffic="200").run())
    assert doubled.sidebar.slider(key="traffic").value == 200
    assert "traffic 200 % (80 per s)" in doubled.caption[0].value
    before = trace_y(plain, 0, "card payments arriving")[3:].mean()
    after = trace_y(doubled, 0, "card payments arriving")[3:].mean()
    assert 36 < before < 44 and 72 < after < 88


def test_seed_changes_the_run():
    """Another seed is another, equally likely run: the caption says which seed is shown."""
    at = ok(make().run())
    ok(at.sidebar.number_input(key="seed").set_value(7).run())
    assert "seed 7" in at.caption[0].value


def test_compare_defaults_to_the_natural_comparison():
    """Without compare_overrides in the scenario, B is the same scenario with 50 % more traffic (40 -> 60/s); as
    the two carry different traffic, a warning says money is compared per decision."""
    at = ok(make().run())
    ok(at.switch_page("pages/compare.py").run())
    assert "traffic: 40 card payments/s → 60 card payments/s" in markdown_text(at)
    assert any("carries 50 % more traffic than A" in w.value for w in at.warning)
    names = [t.get("name") for t in chart_specs(at)[0]["data"]]
    assert names == ["A: baseline", "B: 50 % more traffic"]


def test_compare_shows_deltas_paragraph_and_overlays():
    """B = same scenario with 200 % model servers: the paragraph names the change (4 -> 8 servers),
    B's tiles carry deltas, and the four overlay charts have both runs."""
    at = ok(make().run())
    ok(at.switch_page("pages/compare.py").run())
    ok(at.selectbox(key="compare_with").set_value("the same scenario").run())
    ok(at.slider(key="b_capacity").set_value(200).run())
    text = markdown_text(at)
    assert "model servers: 4 → 8" in text
    assert any(m.delta for m in at.metric)
    assert set(chart_titles(at)) == {"Card payments answered per second", "Slowest 1 % of customers wait (p99)",
                                     "Requests waiting for the fraud model", "Fraud model busy (% of capacity)"}
    assert [m.label for m in at.metric][:4] == ["Answered on time", "Got an answer", "Slowest 1 % wait over",
                                                "Cost per 1,000 decisions"]
    assert not at.warning                       # same traffic, same clock: nothing to warn about
    for chart in chart_specs(at):
        names = [t.get("name") for t in chart["data"]]
        assert names == ["A: baseline", "B: baseline, 8 servers"]
    assert "8 model servers" in dots(at)[1] and "4 model servers" in dots(at)[0]


def test_replay_slider_moves_the_moment():
    """Moving the replay slider to the bin starting 120 s after 14:00 redraws the diagram for 14:02."""
    at = ok(make().run())
    ok(at.switch_page("pages/replay.py").run())
    slider = next(s for s in at.select_slider if s.key.startswith("replay_t_"))
    ok(slider.set_value(12).run())   # bins are 10 s wide: bin 12 starts at t = 120 s
    assert "State at 14:02" in dots(at)[0]
    assert [m.label for m in at.metric][:4] == ["Arriving per s", "Answered per s", "Errors per s",
                                                 "Slowest 1 % wait (now)"]


def test_replay_play_button_starts_and_pauses():
    """Play switches the replay into playing mode (the fragment then advances on a timer); Pause stops it."""
    at = ok(make().run())
    ok(at.switch_page("pages/replay.py").run())
    assert at.button(key="replay_play").label == "▶ Play"
    ok(at.button(key="replay_play").click().run())
    assert at.session_state["replay_playing"] is True
    assert at.button(key="replay_play").label == "⏸ Pause"
    ok(at.button(key="replay_play").click().run())
    assert at.session_state["replay_playing"] is False


def test_lab_edit_can_be_used_on_every_page():
    """'Use it on every page' adds the edited copy to the sidebar list and selects it."""
    at = ok(make().run())
    ok(at.switch_page("pages/lab.py").run())
    replicas = next(w for w in at.number_input if w.key.endswith(".inference.replicas"))
    ok(replicas.set_value(5).run())
    ok(at.button(key="lab_use").click().run())
    assert at.session_state["scenario"] == "baseline (edited)"
    ok(at.switch_page("pages/overview.py").run())
    assert at.caption[0].value.startswith("Scenario: baseline (edited)")
    assert "5 model servers" in dots(at)[0]


def test_lab_shows_a_validation_error_under_the_field():
    """A warm-up longer than the run is explained under the warm-up field and blocks the run."""
    at = ok(make().run())
    ok(at.switch_page("pages/lab.py").run())
    warmup = next(w for w in at.number_input if w.key.endswith(".warmup_s"))
    ok(warmup.set_value(500.0).run())
    errors = [e.value for e in at.error]
    assert any("warmup_s: must be less than duration_s" in e for e in errors)
    assert at.button(key="lab_run_button").disabled


def test_lab_runs_the_edited_scenario():
    """Setting inference.replicas to 6 and pressing Run shows the result with 6 replicas."""
    at = ok(make().run())
    ok(at.switch_page("pages/lab.py").run())
    replicas = next(w for w in at.number_input if w.key.endswith(".inference.replicas"))
    ok(replicas.set_value(6).run())
    assert any("You changed 1 setting" in i.value for i in at.info)
    ok(at.button(key="lab_run_button").click().run())
    assert "6 model servers" in dots(at)[0]
    assert len(chart_specs(at)) == 2


def test_presentation_mode_hides_architect_controls():
    """?present=true turns presentation mode on and hides the seed box."""
    at = ok(make(present="true").run())
    assert at.sidebar.toggle(key="present").value is True
    assert not [w for w in at.sidebar.number_input if w.key == "seed"]


def test_glossary_explains_the_jargon():
    at = ok(make().run())
    ok(at.switch_page("pages/glossary.py").run())
    text = markdown_text(at)
    for term in ("p50, p95, p99", "Circuit breaker", "Canary release", "Disparate impact"):
        assert term in text


# --------------------------------------------------------------------------- lab helpers
def _json_leaves(data: dict, prefix: str = "") -> set[str]:
    out = set()
    for key, value in data.items():
        if isinstance(value, dict) and value:
            out |= _json_leaves(value, f"{prefix}{key}.")
        else:
            out.add(f"{prefix}{key}")
    return out


def test_schema_editor_covers_every_scenario_field():
    """Every value of a resolved scenario is editable by exactly one generated widget (a field, or a
    YAML box for a mapping or list), and every widget has a description."""
    specs = all_fields(schema_groups())
    paths = {s.path for s in specs}
    assert len(paths) == len(specs)
    for leaf in _json_leaves(Scenario().model_dump(mode="json")):
        owners = [p for p in paths if leaf == p or leaf.startswith(p + ".")]
        assert len(owners) == 1, (leaf, owners)
    assert all(s.description for s in specs)
    timeout = next(s for s in specs if s.path == "inference.timeout_ms")
    assert timeout.optional and timeout.unit == "ms" and timeout.lo == 1 and timeout.lo_incl


def _json_schema_property(schema: dict, path: str) -> dict:
    node = schema
    for part in path.split("."):
        if "$ref" in node:
            node = schema["$defs"][node["$ref"].split("/")[-1]]
        node = node["properties"][part]
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].split("/")[-1]]
    for option in node.get("anyOf", []):
        if option.get("type") != "null":
            return {**node, **option}
    return node


def test_widget_ranges_match_the_json_schema():
    """Each numeric widget's range equals the one pydantic publishes in the JSON Schema
    (minimum / exclusiveMinimum / maximum / exclusiveMaximum), an independent view of the model."""
    schema = Scenario.model_json_schema()
    numeric = [s for s in all_fields(schema_groups()) if s.kind in ("int", "float")]
    assert len(numeric) > 30
    for spec in numeric:
        prop = _json_schema_property(schema, spec.path)
        assert prop.get("type") == ("integer" if spec.kind == "int" else "number"), spec.path
        lo = prop.get("minimum", prop.get("exclusiveMinimum"))
        hi = prop.get("maximum", prop.get("exclusiveMaximum"))
        assert spec.lo == (None if lo is None else float(lo)), spec.path
        assert spec.lo_incl == ("exclusiveMinimum" not in prop), spec.path
        assert spec.hi == (None if hi is None else float(hi)), spec.path


def test_units_come_from_field_names():
    assert unit_of("timeout_ms") == ("timeout", "ms")
    assert unit_of("rate_per_s") == ("rate", "per second")
    assert unit_of("duration_s") == ("duration", "s")
    assert unit_of("partitions") == ("partitions", "")


def test_errors_are_placed_on_their_fields():
    """Field errors go to the field; a section's own check to the named field inside it."""
    known = {"inference.replicas", "traffic.segments", "traffic.spikes", "warmup_s"}
    placed, loose = place_errors([
        "inference.replicas: Input should be greater than or equal to 1 (allowed: ≥ 1 and ≤ 10000); got 0",
        "traffic: segments: shares must be >= 0 and sum to more than 0",
        "traffic.spikes.0.multiplier: Input should be less than or equal to 100",
        "warmup_s: must be less than duration_s (240), got 500",
        "something else entirely",
    ], known)
    assert set(placed) == known
    assert loose == ["something else entirely"]


@pytest.mark.parametrize("raw, expected", [
    (b"name: x\ntraffic: [unclosed", "could not be read as YAML"),
    (b"", "the file is empty"),
    (b"\xff\xfe\x00binary", "not a text file"),
    (b"name: x\ninference:\n  replicas: 0\n", "inference.replicas"),
    (b"name: x\nnot_a_field: 1\n", "unknown field"),
])
def test_bad_uploads_get_friendly_messages(raw, expected):
    """Broken YAML, empty, binary, out-of-range and misspelled files give readable lines, no exception."""
    scenario, problems = parse_uploaded(raw, "mine.yaml")
    assert scenario is None
    assert any(expected in line for line in problems), problems


def test_good_upload_is_parsed():
    scenario, problems = parse_uploaded(b"description: mine\ninference: {replicas: 7}\n", "mine.yaml")
    assert problems == [] and scenario.name == "mine" and scenario.inference.replicas == 7


def test_every_page_file_is_in_the_navigation():
    """The frame names every file of pages/ with its title and menu section."""
    from dashboard.frame import KNOWN_PAGES

    files = {p.name for p in (ROOT / "pages").glob("*.py")}
    assert files <= set(KNOWN_PAGES)


def test_overview_uncertainty_toggle_shows_confidence_intervals():
    """'How sure are these numbers?' reruns with spawned seeds (at least four: in-process there is one
    worker, so rounds of one) and lists mean and 95 % interval per headline KPI; the interval contains
    the average of the runs, and the caption says how many ran and why it stopped."""
    at = ok(make().run())
    assert not at.dataframe or all("95 % confidence interval" not in df.value.columns for df in at.dataframe)
    at.toggle(key="overview_uncertainty").set_value(True).run()
    ok(at)
    table = next(df.value for df in at.dataframe if "95 % confidence interval" in df.value.columns)
    assert "p99 latency" in set(table["number"])
    average = next(c for c in table.columns if c.startswith("average of "))
    reps = int(average.split()[2])
    assert 4 <= reps <= 16
    said = next(c.value for c in at.caption if c.value.startswith("Ran "))
    assert said.startswith(f"Ran {reps} equally likely runs in {reps} rounds on 1 worker")
    row = table.set_index("number").loc["mean latency"]
    lo, hi = (float(x.split()[0]) for x in row["95 % confidence interval"].split(" to "))
    assert lo <= float(row[average].split()[0]) <= hi


def test_planner_page_renders_for_a_short_scenario():
    """A scenario of four simulated minutes has no 'minutes per run' range to choose from: no exception."""
    at = ok(make(scenario="baseline").run())
    at.switch_page("pages/planner.py").run()
    ok(at)
    assert at.title[0].value == "Capacity planner"
    assert any("whole scenario" in c.value for c in at.caption)


def test_planner_result_is_tied_to_what_it_was_computed_for():
    """mmc (4 simulated minutes): the search runs and shows its recommendation with the --set overrides. When
    the sidebar's traffic changes, the old result stays but is marked 'Computed for mmc ...: run the search
    again' instead of showing under the new settings as if it were theirs."""
    at = ok(make(scenario="mmc").run())
    ok(at.switch_page("pages/planner.py").run())
    assert at.metric[0].label == "Keeps up with the load?" and at.metric[0].value in ("yes", "not at peaks", "no")
    submit = next(b for b in at.button if b.label == "Find the cheapest plan")
    ok(submit.click().run())
    assert not [w for w in at.warning if "Computed for" in w.value]
    assert at.success or at.error
    if at.success:
        assert any(c.value.startswith("--set inference.replicas=") for c in at.code)
    at.session_state["traffic"] = 200
    ok(at.run())
    stale = [w.value for w in at.warning if "Computed for" in w.value]
    assert stale and "mmc" in stale[0] and "run the search again" in stale[0]
