"""Figure, diagram, KPI and report builders (pure: no streamlit, no simulation needed).

Inputs are small hand-written frames and summaries, so every expected value below follows
from the documented rules in the modules (clock times from start_time_of_day_h, health
thresholds 70 % / 90 % busy and 99 % / 95 % on time, event windows from start to end kind).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from simulator.scenario.config import Scenario, with_overrides
from simulator.viz import charts, diagram, kpis, report


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


SUMMARY = {
    "requests": {"arrived": 48_000, "ok": 47_000, "degraded": 0, "failed": 1000, "in_flight": 0},
    "throughput_rps": 78.3, "availability": 0.979, "on_time_fraction": 0.97,
    "latency_ms": {"mean": 100.0, "p50": 90.0, "p95": 150.0, "p99": 250.0},
    "failures_by_reason": {"timeout": 1000},
    "stages": {"ingestion": {"utilization": 0.03, "served": 48_000, "wait_ms_mean": 0.1},
               "feature_store": {"utilization": 0.75, "served": 48_000, "wait_ms_mean": 0.0},
               "external_api": {"utilization": None, "served": 48_000},
               "inference": {"utilization": 0.93, "served": 47_000, "wait_ms_mean": 40.0}},
    "events": {},
}


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
    assert figs["throughput"].layout.title.text == "Payments arriving and decisions made (per second)"
    assert [t.name for t in figs["latency"].data][:3] == ["typical customer (p50)", "slowest 5 % (p95)",
                                                         "slowest 1 % (p99)"]
    assert "payment events not yet read (consumer lag)" in [t.name for t in figs["queues"].data]
    util = figs["utilization"]
    assert [t.name for t in util.data] == ["Payment event stream", "Profile database", "Fraud model"]
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
    assert labels["ingestion"].startswith("Payment events\\n(Kafka topic, 12 partitions,\\n6 consumers)")
    assert list(labels) == ["customers", "ingestion", "feature_store", "feature_db", "external_api", "inference",
                            "decision"]
    bare = diagram.architecture_dot(scenario(**{"ingestion.mode": "direct", "feature_store.mode": "off",
                                                "external_api.enabled": False}))
    assert list(nodes_of(bare)) == ["customers", "inference", "decision"]
    assert "customers -> inference" in bare and "inference -> decision" in bare


def test_diagram_colours_follow_the_health_thresholds():
    """93 % busy model: red; 75 % busy database: amber; 97 % on time (below 99 %): amber answer."""
    dot = diagram.architecture_dot(scenario(), SUMMARY, theme="light")
    red, amber, _ = diagram.THEMES["light"]["bad"][0], diagram.THEMES["light"]["warn"][0], None
    assert fill_of(dot, "inference") == red
    assert fill_of(dot, "feature_db") == amber
    assert fill_of(dot, "decision") == amber
    assert "93 % busy" in nodes_of(dot)["inference"]


@pytest.mark.parametrize("util, health", [(None, "none"), (0.5, "ok"), (0.7, "warn"), (0.89, "warn"), (0.9, "bad")])
def test_utilization_health_bands(util, health):
    assert diagram.health_of_utilization(util) == health


def test_edge_width_grows_with_throughput():
    """The 48,000 arrivals over 600 s (80/s) are the widest arrow (6); the miss path carries
    5 % of that (4/s) and gets 1 + 5 x 4/80 = 1.25."""
    dot = diagram.architecture_dot(scenario(**{"feature_store.hit_ratio": 0.95}), SUMMARY)
    assert re.search(r"customers -> ingestion \[penwidth=6\.00", dot)
    assert re.search(r"feature_store -> feature_db \[penwidth=1\.25, style=dashed, label=\"miss 4\.0/s\"", dot)


def test_breaker_sits_in_front_of_the_service_it_guards():
    sc = scenario(**{"external_api.breaker.enabled": True, "external_api.fallback": "cached"})
    dot = diagram.architecture_dot(sc, SUMMARY)
    assert "breaker -> external_api" in dot
    assert nodes_of(dot)["breaker"].startswith("Safety switch\\n(circuit breaker)")
    assert "external_api -> fallback" in dot


def test_snapshot_reads_the_bin_and_derives_breaker_state_from_events():
    """At t = 250 s (bin 2 of 100 s bins) the queue is 20 and the breaker, opened at 101 s and not
    closed, is OPEN; the diagram then shows the switch red and the moment's clock time."""
    sc = scenario(**{"external_api.breaker.enabled": True})
    ts = timeseries()
    ev = events([(101, "breaker_opened", "external_api", "CLOSED -> OPEN")])
    snap = diagram.snapshot_at(sc, ts, ev, 250.0)
    assert snap["bin"] == 2 and snap["queue"]["inference"] == pytest.approx(20.0)
    assert snap["breaker_state"] == "OPEN" and snap["clock"] == "14:04"
    dot = diagram.architecture_dot(sc, None, snap, theme="light")
    assert fill_of(dot, "breaker") == diagram.THEMES["light"]["bad"][0]
    assert 'label="State at 14:04"' in dot


def test_snapshot_prefers_the_engine_breaker_column():
    """The engine's breaker_state column (0 closed, 1 half-open, 2 open) wins over events."""
    ts = timeseries()
    ts["breaker_state"] = [0, 0, 1, 2, 2, 0]
    snap = diagram.snapshot_at(scenario(), ts, events([]), 250.0)
    assert snap["breaker_state"] == "HALF_OPEN"


def test_diagram_text_is_dark_on_pastel_by_default():
    """The default palette reads on light and dark pages: dark text on pastel fills."""
    dot = diagram.architecture_dot(scenario(), SUMMARY)
    assert 'fontcolor="#1b1b1b"' in dot
    assert diagram.THEMES["auto"]["ok"][0] == "#d3f9d8"


# --------------------------------------------------------------------------- kpis
def test_overview_tiles_without_cost_fall_back_to_throughput_and_busiest():
    tiles = kpis.overview_tiles(scenario(), SUMMARY)
    assert [t.key for t in tiles] == ["on_time", "availability", "p99", "throughput", "busiest"]
    assert tiles[0].value == "97.0 %" and tiles[2].value == "250 ms"
    assert tiles[4].label == "Busiest: Fraud model" and tiles[4].value == "93 % busy"
    assert all(t.help for t in tiles)


def test_overview_tiles_show_cost_incidents_and_fairness_when_present():
    summary = {**SUMMARY, "cost_usd": {"per_1k_requests": 0.0225, "monthly_projection": 4531.2},
               "recovery": [{"target": "external_api", "recovered_s": 2400}, {"target": "inference",
                                                                             "recovered_s": None}],
               "fairness": {"enabled": True, "flagged": True, "min_ratio": 0.72}}
    tiles = {t.key: t for t in kpis.overview_tiles(scenario(), summary)}
    assert list(tiles) == ["on_time", "availability", "p99", "cost_per_1k", "monthly_cost", "incidents"]
    assert tiles["cost_per_1k"].value == "$0.022" and tiles["monthly_cost"].value == "$4,531"
    assert tiles["incidents"].value == "1 of 2"
    more = {t.key: t for t in kpis.overview_tiles(scenario(), summary, max_tiles=10)}
    assert more["fairness"].value == "Gap flagged (0.72)"


def test_deltas_are_in_the_tile_unit_and_coloured_by_direction():
    a = kpis.overview_tiles(scenario(), SUMMARY)
    b = kpis.overview_tiles(scenario(), {**SUMMARY, "on_time_fraction": 0.98,
                                         "latency_ms": {**SUMMARY["latency_ms"], "p99": 238.0}})
    assert kpis.delta_text(a[0], b[0]) == "+1.00 pp"
    assert kpis.delta_text(a[2], b[2]) == "-12 ms"
    assert kpis.delta_colour(a[0]) == "normal" and kpis.delta_colour(a[2]) == "inverse"
    assert kpis.delta_text(a[1], b[1]) is None          # availability unchanged: no arrow


@pytest.mark.parametrize("x, text", [(0.0225, "$0.022"), (0.00044, "$0.0004"), (12.3, "$12.30"), (4531.2, "$4,531"),
                                     (2.5e6, "$2.5 M")])
def test_money_format(x, text):
    assert kpis.money(x) == text


# --------------------------------------------------------------------------- report
def test_report_is_self_contained():
    """The HTML embeds plotly.js (no CDN script tag), the tiles and the narrative, and shows the
    diagram either as SVG or, without the graphviz program, as DOT source."""
    sc = scenario()
    fig = charts.throughput_figure(sc, timeseries())
    dot = diagram.architecture_dot(sc, SUMMARY)
    html = report.html_report("Pipeline Twin: test", "seed 1", kpis.overview_tiles(sc, SUMMARY),
                              ["At 14:05 the weather service went down."], [fig, fig], dot)
    assert not re.search(r"<script[^>]*\ssrc=", html)              # nothing loaded from elsewhere
    assert html.count("Plotly.newPlot") == 2
    assert len(html) > 1_000_000                      # plotly.js itself is inline
    assert "Answered on time" in html and "At 14:05 the weather service went down." in html
    assert "<svg" in html or "digraph pipeline" in html


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
