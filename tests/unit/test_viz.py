"""Figure, diagram, KPI and report builders (pure: no streamlit, no simulation needed).

Inputs are small hand-written frames, summaries and findings, so every expected value below
follows from the documented rules in the modules (clock times from start_time_of_day_h, colours
and words from the findings' severities, arrow rates from the service-level evidence, event
windows from start to end kind). The findings themselves are checked against raw frames in
tests/truth; here the renderers are checked for rendering what they are given.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from simulator.report.findings import Finding, Findings
from simulator.report.words import money
from simulator.scenario.config import Scenario, with_overrides
from simulator.viz import charts, diagram, kpis, report
from tests.summaries import make_summary


def scenario(**overrides) -> Scenario:
    """Baseline-like pipeline: stream, online feature store, weather API, 4 model replicas, from 14:00."""
    base = {"start_time_of_day_h": 14, "duration_s": 600, "warmup_s": 0, "slo_latency_ms": 300,
            "ingestion.mode": "stream", "traffic.rate_per_s": 80}
    return with_overrides(Scenario(), {**base, **overrides})


def timeseries(n: int = 6, width_s: float = 100.0) -> pd.DataFrame:
    t = np.arange(n) * width_s
    return pd.DataFrame({
        "t_s": t, "t_end_s": t + width_s, "arrivals": 8000, "completions": 8000, "failures": 0, "degraded": 0,
        "arrival_rate_per_s": 80.0, "throughput_rps": 80.0,
        "latency_p50_ms": 90.0, "latency_p95_ms": 150.0, "latency_p99_ms": 200.0,
        "ingestion_backlog": 0.2, "utilization_ingestion": 0.03, "feature_db_queue": 0.0,
        "utilization_feature_store": 0.02, "inference_queue": np.linspace(0, 50, n),
        "utilization_inference": np.linspace(0.5, 0.95, n), "replicas": 4.0,
    })


def events(rows: list[tuple[float, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["t_s", "kind", "component", "detail"])


SUMMARY = make_summary(
    requests={"arrived": 48_000, "ok": 47_000, "degraded": 0, "failed": 1000, "in_flight": 0},
    throughput_rps=78.3, availability=0.979, on_time_fraction=0.97,
    latency_ms={"mean": 100.0, "p50": 90.0, "p95": 150.0, "p99": 250.0}, failures_by_reason={"timeout": 1000},
    stages={"ingestion": {"utilization": 0.03, "served": 48_000}, "feature_store": {"utilization": 0.75},
            "inference": {"utilization": 0.93, "served": 47_000, "wait_ms_mean": 40.0}})


def finding(key: str, topic: str, severity: str, component: str | None = None, value: str = "v", status: str = "s",
            **evidence) -> Finding:
    return Finding(topic, severity, f"{key}: a sentence.", f"{key} title", value, status, evidence, None, component,
                   key)


# 48,000 arrivals in 600 s (80/s): 78.3 answered and 1.7 failed per second, all at the model
LEVEL = finding("service_level", "service_level", "watch", "decision", "97.0 %", "missed", arrival_rate_per_s=80.0,
                answer_rate_per_s=78.3, failure_rate_per_s=1.7, failed_at_inference=1000)
FOUND = Findings((LEVEL, finding("capacity.inference", "capacity", "breach", "inference", "93 % busy", "overloaded",
                                 peak_utilization=0.93),
                  finding("capacity.feature_store", "capacity", "watch", "feature_db", "75 % busy", "busy",
                          peak_utilization=0.75)))


# --------------------------------------------------------------------------- charts
def test_clock_axis_starts_at_the_scenario_clock_time():
    """t = 0 is 14:00 and t = 330 s is 14:05:30 for a scenario starting at 14 h."""
    x = charts.clock_axis(scenario(), [0, 330])
    assert [v.strftime("%H:%M:%S") for v in x] == ["14:00:00", "14:05:30"]


@pytest.mark.parametrize("max_ms, unit", [(500, "ms"), (9_999, "ms"), (10_000, "s"), (300_000, "min"),
                                           (8_000_000, "h")])
def test_latency_unit_follows_the_size(max_ms, unit):
    assert charts.latency_unit(max_ms)[1] == unit


def test_event_windows_pair_starts_with_ends_and_merge_reopenings():
    """A fault (100-190 s) and a breaker that opens at 101 s, re-opens at 130 s and closes at
    200 s give two bands: the fault, and one breaker band 101-200 s. A spike without an end
    runs to the end of the run (600 s)."""
    ev = events([(100, "fault_started", "external_api", "api outage (outage errors)"),
                 (101, "breaker_opened", "external_api", "CLOSED -> OPEN"),
                 (120, "breaker_half_opened", "external_api", "OPEN -> HALF_OPEN"),
                 (130, "breaker_opened", "external_api", "HALF_OPEN -> OPEN"),
                 (190, "fault_ended", "external_api", "api outage"),
                 (200, "breaker_closed", "external_api", "HALF_OPEN -> CLOSED"),
                 (400, "spike_started", "traffic", "lunch: up to 3x")])
    windows = charts.event_windows(ev, 600)
    assert [(w[0], w[1], w[2], w[4]) for w in windows] == [
        (100, 190, "fault_started", "api outage"),
        (101, 200, "breaker_opened", "safety switch open"),
        (400, 600, "spike_started", "lunch")]


def test_every_event_is_on_the_chart():
    """Each event is one diamond on the events strip; the two periods are shaded bands with labels,
    the one-off rollback a dashed line with its label."""
    ev = events([(100, "fault_started", "external_api", "api outage"),
                 (190, "fault_ended", "external_api", "api outage"),
                 (250, "scale_decision", "inference", "4 -> 6"),
                 (300, "canary_rolled_back", "canary", "failed checks")])
    fig = charts.throughput_figure(scenario(), timeseries(), ev)
    strip = next(t for t in fig.data if t.name == "events")
    assert len(strip.x) == 4
    kinds = [s.type for s in fig.layout.shapes]
    assert kinds.count("rect") == 1 and kinds.count("line") == 1
    assert {a.text for a in fig.layout.annotations} == {"api outage", "rollback"}


def test_titles_and_traces_use_business_words():
    sc, ts = scenario(), timeseries()
    figs = charts.run_figures(sc, ts, None)
    assert figs["throughput"].layout.title.text == "Card payments arriving and answered (per second)"
    assert [t.name for t in figs["latency"].data][:3] == ["typical customer (p50)", "slowest 5 % (p95)",
                                                         "slowest 1 % (p99)"]
    assert "card payment events not yet read (consumer lag)" in [t.name for t in figs["queues"].data]
    util = figs["utilization"]
    assert [t.name for t in util.data] == ["Card payment event stream", "Profile database", "Fraud model"]
    assert np.allclose(util.data[2].y, 100 * ts["utilization_inference"])


def test_latency_chart_switches_to_hours_for_a_batch_job():
    """A p99 of 20 hours is plotted in hours, not as 72,000,000 ms."""
    ts = timeseries()
    ts["latency_p99_ms"] = 20 * 3_600_000.0
    fig = charts.latency_figure(scenario(), ts)
    assert fig.layout.yaxis.title.text == "wait (h)"
    assert np.allclose(fig.data[2].y, 20.0)


def test_compare_overlays_one_trace_per_run():
    sc = scenario()
    fig = charts.compare_figure([("A", sc, timeseries()), ("B", sc, timeseries())], "latency_p99_ms")
    assert [t.name for t in fig.data] == ["A", "B"]
    assert fig.layout.yaxis.title.text == "wait (ms)"


# --------------------------------------------------------------------------- diagram
def nodes_of(dot: str) -> dict[str, str]:
    return dict(re.findall(r'^  (\w+) \[label="([^"]*)"', dot, flags=re.MULTILINE))


def fill_of(dot: str, node: str) -> str:
    return re.search(rf'^  {node} \[.*fillcolor="([^"]+)"', dot, flags=re.MULTILINE).group(1)


def test_diagram_is_built_from_the_scenario():
    """Every stage that is on is a box with business word + technical term; stages that are off are not."""
    dot = diagram.architecture_dot(scenario(**{"ingestion.stream.partitions": 12, "ingestion.stream.consumers": 6}))
    labels = nodes_of(dot)
    assert labels["ingestion"].startswith("Card payment events\\n(Kafka topic,")
    assert "12 partitions" in labels["ingestion"] and "6 consumers)" in labels["ingestion"]
    assert list(labels) == ["customers", "ingestion", "feature_store", "feature_db", "external_api", "inference",
                            "decision"]
    bare = diagram.architecture_dot(scenario(**{"ingestion.mode": "direct", "feature_store.mode": "off",
                                                "external_api.enabled": False}))
    assert list(nodes_of(bare)) == ["customers", "inference", "decision"]
    assert "customers -> inference" in bare and "inference -> decision" in bare


def test_diagram_speaks_the_scenario_vocabulary():
    """A lending scenario's boxes say loan applications and the credit model, never payments or fraud."""
    sc = scenario(**{"vocabulary.request": "loan application", "vocabulary.requests": "loan applications",
                     "vocabulary.model": "credit model", "vocabulary.customer": "applicant",
                     "vocabulary.customers": "applicants", "vocabulary.decision": "loan decision"})
    dot = diagram.architecture_dot(sc, FOUND, SUMMARY)
    labels = nodes_of(dot)
    assert labels["customers"].startswith("Loan applications") and labels["inference"].startswith("Credit model")
    assert "payment" not in dot.lower() and "fraud" not in dot.lower()


def test_diagram_colours_and_words_come_from_the_findings():
    """Breach: red; watch: amber; no finding: neutral grey; every coloured box also says its status in words."""
    dot = diagram.architecture_dot(scenario(), FOUND, SUMMARY, theme="light")
    themes = diagram.THEMES["light"]
    assert fill_of(dot, "inference") == themes["bad"][0]
    assert fill_of(dot, "feature_db") == themes["warn"][0]
    assert fill_of(dot, "decision") == themes["warn"][0]
    assert fill_of(dot, "external_api") == themes["none"][0]
    labels = nodes_of(dot)
    assert "93 % busy · overloaded" in labels["inference"] and "97.0 % · missed" in labels["decision"]


def test_a_box_with_several_findings_shows_the_worst_colour_and_every_status_that_needs_attention():
    """Capacity ok but a drift finding (watch) on the model: amber, with 'headroom' and the drift's status."""
    found = Findings((LEVEL, finding("capacity.inference", "capacity", "ok", "inference", "40 % busy", "headroom"),
                      finding("drift", "drift", "watch", "inference", "10:30", "retrained")))
    dot = diagram.architecture_dot(scenario(), found, SUMMARY, theme="light")
    assert fill_of(dot, "inference") == diagram.THEMES["light"]["warn"][0]
    assert "40 % busy · headroom, retrained" in nodes_of(dot)["inference"].replace("\\n", " ")


def test_arrows_carry_arrivals_answers_and_failures_apart():
    """Arrivals 80/s are the widest arrow (6); the miss path 5 % of that (4/s) gets 1 + 5 x 4/80 = 1.25; answers
    (78.3/s) and failures (1.7/s, red, from the model where they happened) are separate arrows, as on the chart."""
    dot = diagram.architecture_dot(scenario(**{"feature_store.hit_ratio": 0.95}), FOUND, SUMMARY)
    assert re.search(r"customers -> ingestion \[penwidth=6\.00", dot)
    assert re.search(r"feature_store -> feature_db \[penwidth=1\.25, style=dashed, label=\"miss 4\.0/s\"", dot)
    assert re.search(r'inference -> decision \[penwidth=[\d.]+, label="answered 78/s"', dot)
    assert re.search(r'inference -> failed \[penwidth=[\d.]+, color="[^"]+", fontcolor="[^"]+", label="failed 1\.7/s"',
                     dot)


def test_no_failure_arrow_without_failures():
    level = finding("service_level", "service_level", "ok", "decision", arrival_rate_per_s=80.0,
                    answer_rate_per_s=80.0, failure_rate_per_s=0.0)
    dot = diagram.architecture_dot(scenario(), Findings((level,)), SUMMARY)
    assert "failed" not in nodes_of(dot)


def test_breaker_sits_in_front_of_the_service_it_guards():
    sc = scenario(**{"external_api.breaker.enabled": True, "external_api.fallback": "cached"})
    dot = diagram.architecture_dot(sc, FOUND, SUMMARY)
    assert "breaker -> external_api" in dot
    assert nodes_of(dot)["breaker"].startswith("Safety switch\\n(circuit breaker)")
    assert "external_api -> fallback" in dot


def test_a_moment_is_titled_with_its_clock_time():
    """Replay draws one moment's findings: the picture says 'State at 14:04' and the switch's state in words."""
    sc = scenario(**{"external_api.breaker.enabled": True})
    now = Findings((finding("breaker", "breaker", "breach", "breaker", "open", "open: calls stopped"),))
    dot = diagram.architecture_dot(sc, now, SUMMARY, moment_s=250.0, theme="light")
    assert 'label="State at 14:04"' in dot
    assert fill_of(dot, "breaker") == diagram.THEMES["light"]["bad"][0]
    assert "open: calls stopped" in nodes_of(dot)["breaker"]


def test_rows_layout_puts_the_path_in_rows_of_three_without_technical_lines():
    """For a full-width picture: the seven main boxes in rows of at most three, each row one rank."""
    dot = diagram.architecture_dot(scenario(), FOUND, SUMMARY, rankdir="rows")
    rows = re.findall(r"\{ rank=same; ([^}]*); \}", dot)
    assert [len(r.split("; ")) for r in rows] == [3, 2, 2] or all(len(r.split("; ")) <= 3 for r in rows)
    assert "Kafka topic" not in dot


def test_diagram_text_is_dark_on_pastel_by_default():
    """The default palette reads on light and dark pages: dark text on pastel fills."""
    dot = diagram.architecture_dot(scenario(), FOUND, SUMMARY)
    assert 'fontcolor="#1b1b1b"' in dot
    assert diagram.THEMES["auto"]["ok"][0] == "#d3f9d8"


# --------------------------------------------------------------------------- kpis
def test_overview_tiles_lead_with_service_level_capacity_and_money_then_by_severity():
    """Service level, the most stretched capacity (breach before watch), the incident's cost over the running
    cost, then every other finding, breach before watch before ok."""
    found = Findings((LEVEL, FOUND.items[1], FOUND.items[2], finding("cost", "cost", "ok"),
                      finding("incident_cost", "cost", "watch"), finding("release", "release", "ok"),
                      finding("fairness", "fairness", "breach", "fairness"), finding("drift", "drift", "watch")))
    tiles = kpis.overview_tiles(found)
    assert [t.key for t in tiles] == ["service_level", "capacity.inference", "incident_cost", "fairness", "drift",
                                      "release"]
    assert tiles[0].status == "missed" and tiles[0].severity == "watch" and tiles[0].help == LEVEL.headline
    assert [t.key for t in kpis.overview_tiles(found, max_tiles=3)] == ["service_level", "capacity.inference",
                                                                        "incident_cost"]


def test_compare_tiles_are_per_decision_and_deltas_coloured_by_direction():
    """Cost per 1,000 decisions = total / answered x 1,000; deltas in the tile's unit, green the better way."""
    from simulator.report.results import RunResult

    def result(total: float, answered: int, on_time: float, p99: float) -> RunResult:
        s = make_summary(requests={"arrived": answered, "ok": answered}, on_time_fraction=on_time, availability=1.0,
                         latency_ms={"p99": p99}, cost_usd={"total": total},
                         value_usd={"gross": answered * 0.5, "net": 0.0, "per_decision": 0.5, "gross_per_hour": 0.0,
                                    "cost_per_hour": 0.0, "net_per_hour": 0.0})
        return RunResult(scenario(), 1, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), s)

    a = kpis.compare_tiles(result(10.0, 100_000, 0.97, 250.0))
    b = kpis.compare_tiles(result(10.0, 50_000, 0.98, 238.0))     # half the traffic at the same total cost
    assert a[3].value == "$0.10" and b[3].value == "$0.20"           # per 1,000: B is dearer, not cheaper
    assert kpis.delta_text(a[0], b[0]) == "+1.00 pp" and kpis.delta_text(a[2], b[2]) == "-12 ms"
    assert kpis.delta_text(a[3], b[3]) == "+$0.10"
    assert kpis.delta_colour(a[0]) == "normal" and kpis.delta_colour(a[3]) == "inverse"
    assert kpis.delta_text(a[1], b[1]) is None          # availability unchanged: no arrow


@pytest.mark.parametrize("x, text", [(0.0225, "$0.022"), (0.00044, "$0.0004"), (0.2, "$0.20"), (12.3, "$12.30"),
                                     (4531.2, "$4,531"), (2.5e6, "$2.5 M"), (-10.32, "−$10.32"), (0.0, "$0")])
def test_money_format(x, text):
    assert money(x) == text


# --------------------------------------------------------------------------- report
def test_report_is_self_contained_with_the_diagram_as_svg():
    """The HTML embeds plotly.js (no CDN script tag), the tiles with their status words, the findings and the
    narrative, and the diagram as SVG drawn by Graphviz (which `make` installs), never as DOT source."""
    sc = scenario()
    fig = charts.throughput_figure(sc, timeseries())
    dot = diagram.architecture_dot(sc, FOUND, SUMMARY)
    html = report.html_report("Pipeline Twin: test", "seed 1", kpis.overview_tiles(FOUND),
                              ["At 14:05 the weather service went down."], [fig, fig], dot, findings=FOUND)
    assert not re.search(r"<script[^>]*\ssrc=", html)              # nothing loaded from elsewhere
    assert html.count("Plotly.newPlot") == 2
    assert len(html) > 1_000_000                      # plotly.js itself is inline
    assert "service_level title" in html and "<span class='status watch'>missed</span>" in html
    assert "capacity.inference: a sentence." in html and "At 14:05 the weather service went down." in html
    assert "<svg" in html and "digraph" not in html and "<?xml" not in html


def test_report_says_so_when_graphviz_is_missing(monkeypatch):
    """Without the dot program the report explains the missing picture instead of pasting DOT source."""
    import graphviz

    def missing(*args, **kwargs):
        raise graphviz.ExecutableNotFound(("dot",))

    monkeypatch.setattr(graphviz.Source, "pipe", missing)
    html = report.html_report("t", dot=diagram.architecture_dot(scenario(), FOUND, SUMMARY))
    assert "could not be drawn" in html and "digraph" not in html


def test_warmup_band_shades_the_configured_and_the_detected_warmup():
    """Two grey bands: [0, warmup_s] and, when MSER-5 finds a longer transient, [warmup_s, detected]."""
    import plotly.graph_objects as go

    from simulator.scenario.config import Scenario
    from simulator.viz.charts import add_warmup_band

    sc = Scenario(duration_s=3600, warmup_s=300, start_time_of_day_h=10)
    fig = add_warmup_band(go.Figure(), sc, detected_s=600)
    shapes = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(shapes) == 2
    assert "10:00" in str(shapes[0].x0)
    assert "10:05" in str(shapes[0].x1) and "10:10" in str(shapes[1].x1)
    assert len([s for s in add_warmup_band(go.Figure(), sc, detected_s=100).layout.shapes]) == 1
