"""Figure, tile and sentence builders of the Cost, Failure recovery and Fairness pages.

Inputs are small hand-written frames, summaries and findings (no simulation), so each expected
value follows from the documented rule: clock times from ``start_time_of_day_h``, the four-fifths
line at the scenario's threshold, a review backlog that goes +1 when a case enters and -1
when a reviewer picks it up, affected customers = finished x (1 - on-time share), and so on.
Tiles render the findings they are given (the findings themselves are checked against raw
frames in tests/truth).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulator.report.findings import Finding, Findings
from simulator.report.summary_model import FaultRecovery
from simulator.report.words import clock_hms
from simulator.scenario.config import Scenario, with_overrides
from simulator.viz import feature_charts as fc
from tests.summaries import make_summary


def scenario(**overrides) -> Scenario:
    """A 10-minute run starting at 14:00 (10-second bins)."""
    base = {"start_time_of_day_h": 14, "duration_s": 600, "warmup_s": 0, "slo_latency_ms": 300}
    return with_overrides(Scenario(), {**base, **overrides})


def timeseries(n: int = 6, width_s: float = 100.0, **cols) -> pd.DataFrame:
    t = np.arange(n) * width_s
    frame = pd.DataFrame({
        "t_s": t, "t_end_s": t + width_s, "arrivals": 1000, "completions": 1000, "failures": 0, "degraded": 0,
        "arrival_rate_per_s": 10.0, "throughput_rps": 10.0, "latency_p50_ms": 90.0, "latency_p99_ms": 200.0,
        "replicas": 2.0, "replicas_total": 2.0, "breaker_state": 0.0, "canary_weight_pct": 0.0,
        "fallback_answers": 0, "cost_rate_usd_per_h": 4.0, "compute_cost_rate_usd_per_h": 1.0,
        "stage_ingestion_ms": 2.0, "stage_feature_store_ms": 5.0, "stage_external_api_ms": 60.0,
        "stage_inference_ms": 30.0,
    })
    for name, values in cols.items():
        frame[name] = values
    return frame


def events(rows: list[tuple[float, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["t_s", "kind", "component", "detail"])


def names(fig) -> list[str]:
    return [t.name for t in fig.data]


def trace(fig, name: str):
    return next(t for t in fig.data if t.name == name)


# =========================================================================== shared
def test_clock_with_seconds_starts_at_the_scenario_clock():
    """t = 61 s after a 14:00 start is 14:01:01; t = 3599.6 s rounds to 15:00:00."""
    sc = scenario()
    assert clock_hms(sc, 61) == "14:01:01"
    assert clock_hms(sc, 3599.6) == "15:00:00"


def test_count_axis_has_whole_number_ticks_and_headroom():
    """Servers and reviewers are whole numbers: ticks every 1 (or 2, ...) from 0, top above the data."""
    axis = fc.count_axis(4)
    assert axis["range"][0] == 0 and axis["range"][1] > 4
    assert isinstance(axis["dtick"], int) and axis["dtick"] >= 1
    assert fc.count_axis(40)["dtick"] > 1


# =========================================================================== cost
COST = {"compute_busy": 0.5, "compute_idle": 1.5, "cold_start": 0.0, "stream": 0.25, "feature_store": 0.0,
        "external_api": 3.0, "review": 0.0, "total": 5.25, "per_1k_requests": 0.0875, "monthly_projection": 3832.5,
        "node_hours": 2.0, "replica_hours": 4.0, "instance_type": "cpu-medium", "replicas_per_node": 7}
SUMMARY_PARTS = {
    "requests": {"arrived": 60_000, "ok": 59_000, "degraded": 500, "failed": 300, "in_flight": 200},
    "on_time_fraction": 0.99, "latency_ms": {"p50": 90.0, "p99": 250.0},
    "cost_usd": COST,
    "value_usd": {"gross": 42_000.0, "net": 41_994.75, "per_decision": 0.7, "gross_per_hour": 42_000.0,
                  "cost_per_hour": 5.25, "net_per_hour": 41_994.75},
    "replicas": {"min": 2, "max": 5, "mean": 3.0, "memory_gib_per_replica": 1.876},
    "model": {"accuracy": 0.725, "accuracy_online": 0.705, "fraud_recall": 0.55, "fraud_recall_online": 0.63,
              "false_alarm_rate": 0.165, "false_alarm_rate_online": 0.246, "auc": 0.775},
}
SUMMARY = make_summary(**SUMMARY_PARTS)


def finding(key: str, topic: str, severity: str = "ok", **evidence) -> Finding:
    return Finding(topic, severity, f"{key} headline.", f"{key} title", f"{key} value", f"{key} status", evidence,
                   key=key)


def test_cost_parts_skip_zero_items_and_put_the_largest_first():
    """Only items above $0, largest first; the API line carries the API's plain name."""
    parts = fc.cost_parts(scenario(), SUMMARY.cost_usd)
    assert [label for label, _ in parts] == ["Weather service calls", "Model servers: idle, but paid for",
                                             "Model servers: working", "Event stream (Kafka)"]
    assert [usd for _, usd in parts] == [3.0, 1.5, 0.5, 0.25]


def test_cost_breakdown_bars_show_money_and_share():
    """$3.00 of the $5.25 total is 57 %; the bar text says both."""
    fig = fc.cost_breakdown_figure(scenario(), SUMMARY.cost_usd)
    assert fig.layout.title.text == "Where the money went (measured period)"
    bar = fig.data[0]
    assert bar.orientation == "h" and list(bar.x) == [3.0, 1.5, 0.5, 0.25]
    assert bar.text[0] == "$3.00 (57 %)"


def test_scale_steps_are_read_from_the_decision_details():
    """'up from 2 to 3 (...)' is a step up to 3; other kinds are ignored."""
    ev = events([(100, "scale_decision", "inference", "up from 2 to 3 (utilization 0.77, target 0.7)"),
                 (100, "replica_started", "inference", "replica 2 starting, ready in 25 s"),
                 (400, "scale_decision", "inference", "down from 3 to 2 (utilization 0.3, target 0.7)")])
    steps = fc.scale_steps(ev)
    assert steps[["direction", "from_replicas", "to_replicas"]].values.tolist() == [["up", 2, 3], ["down", 3, 2]]
    assert fc.start_times_s(ev) == [25.0]


def test_replicas_chart_has_load_servers_and_scale_markers_at_clock_times():
    """Load on the left axis, servers on the right, a green triangle at 14:01:40 at the new count 3."""
    sc = scenario()
    ts = timeseries(replicas=[2.0, 3.0, 3.0, 3.0, 2.0, 2.0], replicas_total=[3.0, 3.0, 3.0, 3.0, 2.0, 2.0])
    ev = events([(100, "scale_decision", "inference", "up from 2 to 3 (utilization 0.77, target 0.7)"),
                 (400, "scale_decision", "inference", "down from 3 to 2 (utilization 0.3, target 0.7)")])
    fig = fc.replicas_load_figure(sc, ts, ev)
    assert fig.layout.title.text == "Model servers and load over time"
    assert names(fig) == ["card payments arriving per second", "model servers ready (right axis)",
                          "incl. servers still starting (right axis)", "autoscaler adds servers",
                          "autoscaler removes servers"]
    up = trace(fig, "autoscaler adds servers")
    assert up.yaxis == "y2" and list(up.y) == [3]
    assert pd.Timestamp(up.x[0]).strftime("%H:%M:%S") == "14:01:40"
    assert fig.layout.yaxis2.range[1] > 3


def test_value_rates_follow_the_summary_rule():
    """Per bin: decisions x value per decision, minus fallbacks x penalty x mean error cost, per hour.

    Hand computation: 1000 decisions x $0.70 = $700 in a 100-s bin = $25,200 per hour; 100 cached
    fallbacks x 0.01 x (0.01 x $120 + 0.99 x $5 = $6.15) = $6.15 less in the second bin.
    """
    sc = scenario(**{"value.fraud_rate": 0.01, "value.mean_fraud_amount_usd": 120.0,
                     "value.false_alarm_cost_usd": 5.0, "external_api.fallback": "cached",
                     "external_api.cached_accuracy_penalty": 0.01})
    ts = timeseries(n=2, degraded=[0, 100])
    rates = fc.value_cost_rates(sc, ts, SUMMARY)
    assert rates["value_usd_per_h"].tolist() == pytest.approx([25_200.0, (700.0 - 6.15) * 36])
    assert rates["cost_usd_per_h"].tolist() == [4.0, 4.0]


def test_review_cost_is_added_when_cases_enter():
    """Two cases entering in the first 100-s bin at $3 each add $6 per 100 s = $216 per hour."""
    sc = scenario(**{"cost.review_usd_per_case": 3.0})
    reviews = pd.DataFrame({"enter_s": [10.0, 50.0], "start_s": [10.0, 60.0]})
    rates = fc.value_cost_rates(sc, timeseries(n=2), SUMMARY, reviews)
    assert rates["cost_usd_per_h"].tolist() == pytest.approx([4.0 + 216.0, 4.0])


def test_value_and_cost_are_separate_panels():
    """Value and cost get their own panels (value is thousands of times the cost)."""
    fig = fc.value_cost_figure(scenario(), timeseries(), SUMMARY)
    assert fig.layout.title.text == "Value created and money spent, per hour"
    assert names(fig) == ["value of the decisions", "total cost", "of which model servers"]
    assert trace(fig, "value of the decisions").yaxis == "y" and trace(fig, "total cost").yaxis == "y2"


def test_cost_tiles_render_the_money_findings_and_show_monthly_and_ratio_only_when_given():
    """The cost, incident-cost and value findings become tiles as given; a monthly tile appears only when the
    cost finding carries a monthly figure (a typical period), value per $1 only when the value finding carries a
    ratio; 2 node-hours over 10 minutes is 12 machines."""
    typical = Findings((finding("cost", "cost", monthly_usd=3832.5), finding("value", "value", ratio=8.0)))
    tiles = {t.key: t for t in fc.cost_tiles(scenario(), SUMMARY, typical)}
    assert tiles["cost"].value == "cost value" and tiles["cost"].status == "cost status"
    assert tiles["monthly"].value == "$3,832" and tiles["return"].value == "$8.00"
    assert tiles["nodes"].value == "12.0" and tiles["servers"].value == "2 to 5"
    assert all(t.help for t in tiles.values())
    one_off = Findings((finding("cost", "cost", monthly_usd=None), finding("incident_cost", "cost", "watch"),
                        finding("value", "value", ratio=None)))
    keys = [t.key for t in fc.cost_tiles(scenario(), SUMMARY, one_off)]
    assert keys[:3] == ["cost", "incident_cost", "value"] and "monthly" not in keys and "return" not in keys


def test_precision_paragraph_says_what_changed():
    """Machines, latency, accuracy difference in points and net value, with the direction in words."""
    a = {"nodes": 3.0, "servers": 9.0, "p99_ms": 234.0, "accuracy": 0.7251, "net_per_hour": 1000.0}
    b = {"nodes": 1.1, "servers": 5.1, "p99_ms": 204.0, "accuracy": 0.7244, "net_per_hour": 990.0}
    text = fc.precision_paragraph("full precision (fp32)", a, "compressed (int8)", b)
    assert "needed 1.1 machines on average instead of 3.0" in text
    assert "waited 204 ms instead of 234 ms (faster)" in text
    assert "-0.07 points: practically the same" in text
    assert "-$10.00 per hour" in text


def test_precision_table_has_one_column_per_variant():
    """One row per measure, one column per variant; 2 node-hours over 10 minutes is 12.00 machines."""
    facts = fc.precision_facts(scenario(), SUMMARY)
    table = fc.precision_table({"fp32": facts, "int8": facts})
    assert list(table.columns) == ["measure", "fp32", "int8"]
    assert table.loc[table["measure"] == "Machines (nodes) on average", "fp32"].item() == "12.00"


def test_spread_table_gives_lowest_to_highest_per_decision():
    """Three runs costing $25, $20 and $30 for 1,000,000 answered decisions: $0.025, $0.02 and $0.03 per 1,000.
    A monthly row only for a typical period."""
    runs = [make_summary(requests={"arrived": 1_000_000, "ok": 1_000_000}, on_time_fraction=0.99,
                         cost_usd={"total": v, "monthly_projection": v * 730}) for v in (25.0, 20.0, 30.0)]
    table = fc.spread_table(runs, scenario())
    row = table[table["measure"] == "Cost per 1,000 decisions"].iloc[0]
    assert row["this run"] == "$0.025" and row["range over 3 runs"] == "$0.02 to $0.03"
    assert "Monthly cost at this pace" in table["measure"].tolist()
    one_off = scenario(**{"period.kind": "one_off", "period.incident": "a surge",
                          "period.without_incident": {"traffic.spikes": []}})
    assert "Monthly cost at this pace" not in fc.spread_table(runs, one_off)["measure"].tolist()


# =========================================================================== recovery
def test_breaker_bands_merge_consecutive_bins_of_one_state():
    """States 0,2,2,1,0,2 over 100-s bins: open 100-300, testing 300-400, open 500-600."""
    ts = timeseries(breaker_state=[0, 2, 2, 1, 0, 2])
    assert fc.breaker_bands(ts) == [(100.0, 300.0, 2), (300.0, 400.0, 1), (500.0, 600.0, 2)]


def test_latency_chart_shades_the_breaker_states_and_names_the_fault():
    """Open and testing bands as shapes with legend swatches; fallback share on the right axis."""
    sc = scenario(**{"external_api.breaker.enabled": True})
    ts = timeseries(breaker_state=[0, 2, 2, 1, 0, 0], fallback_answers=[0, 1000, 1000, 500, 0, 0])
    ev = events([(100, "fault_started", "external_api", "weather service outage (outage timeouts)"),
                 (300, "fault_ended", "external_api", "weather service outage")])
    fig = fc.latency_breaker_figure(sc, ts, ev)
    assert fig.layout.title.text == "Customer wait, with the safety switch's state"
    assert "safety switch open: calls stopped, fallback answers" in names(fig)
    assert "safety switch testing (half-open)" in names(fig)
    assert list(trace(fig, "% answered by a fallback (right axis)").y) == [0, 100, 100, 50, 0, 0]
    assert "weather service outage" in [a.text for a in fig.layout.annotations]
    assert len(fig.layout.shapes) == 3   # two breaker bands + the fault window


def test_latency_chart_without_a_breaker_has_a_plain_title():
    """No breaker configured and none observed: the title does not mention the safety switch."""
    fig = fc.latency_breaker_figure(scenario(), timeseries())
    assert fig.layout.title.text == "How long customers waited"


REC = FaultRecovery(fault="weather service outage", target="external_api", started_s=1200.0, ended_s=2400.0,
                    prepared_s=None, detected_s=1201.0, mitigated_s=1210.0, recovered_s=2430.0)


def test_recovery_phases_follow_the_milestones():
    """noticing 1200-1201, reacting 1201-1210, protected 1210-2400, returning 2400-2430."""
    assert fc.recovery_phases(REC, 3600) == [("noticing", 1200.0, 1201.0), ("reacting", 1201.0, 1210.0),
                                            ("protected", 1210.0, 2400.0), ("returning", 2400.0, 2430.0)]


def test_recovery_phases_without_detection_or_recovery():
    """Nothing noticed: reacting runs from the start; never recovered: returning runs to the end of the run."""
    rec = REC.model_copy(update={"detected_s": None, "mitigated_s": 2400.0, "recovered_s": None})
    assert fc.recovery_phases(rec, 3600) == [("reacting", 1200.0, 2400.0), ("returning", 2400.0, 3600.0)]


def test_recovery_timeline_bars_start_at_clock_times_and_label_milestones():
    """Each phase is a horizontal bar based at its start (14:20:00 for the 'protected' phase starting
    at 1210 s is 14:20:10) whose length is the phase in ms; every milestone is labelled with its time."""
    sc = scenario(duration_s=3600)
    fig = fc.recovery_timeline_figure(sc, [REC])
    assert fig.layout.title.text == "From fault to recovery"
    protected = trace(fig, "fault continues, customers served")
    assert pd.Timestamp(protected.base[0]).strftime("%H:%M:%S") == "14:20:10"
    assert protected.x[0] == pytest.approx((2400 - 1210) * 1000)
    labels = [a.text for a in fig.layout.annotations]
    for text in ("14:20:00 fault starts", "14:20:01 noticed", "14:20:10 customers served again",
                 "14:40:00 fault ends", "14:40:30 back to normal"):
        assert text in labels
    assert list(fig.layout.yaxis.ticktext) == ["Weather service outage"]


def test_customers_affected_uses_the_on_time_rule():
    """60,000 arrived - 200 in flight = 59,800 finished; 1 % not on time = 598 affected: 300 errors + 298 late."""
    assert fc.customers_affected(SUMMARY) == {"finished": 59_800, "failed": 300, "late": 298, "affected": 598,
                                              "fallback": 500}


def test_protection_paragraph_counts_the_customers_spared():
    """On time 99 % vs 90 % of 59,800 finished: 598 vs 5,980 affected, so 5,382 spared."""
    worse = make_summary(**{**SUMMARY_PARTS, "on_time_fraction": 0.9,
                            "requests": {**SUMMARY_PARTS["requests"], "failed": 1000}})
    text = fc.protection_paragraph("the safety switch", SUMMARY, worse)
    assert "Without the safety switch, 5,980 customers" in text and "against 598 with it" in text
    assert "spared 5,382 customers" in text


def test_canary_chart_marks_failed_checks_and_the_rollback():
    """Weight 5 % from 14:01:40; two failed checks; rollback at 14:05 shown as a marker and a label."""
    sc = scenario(**{"canary.enabled": True, "canary.max_weight_pct": 50})
    ts = timeseries(canary_weight_pct=[0, 5, 5, 0, 0, 0])
    ev = events([(100, "canary_started", "canary", "version v2"),
                 (200, "canary_check_failed", "canary", "failed_checks 1"),
                 (250, "canary_check_failed", "canary", "failed_checks 2"),
                 (300, "canary_rolled_back", "canary", "failed checks reached threshold")])
    fig = fc.canary_figure(sc, ts, ev)
    assert fig.layout.title.text == "New model version's share of traffic (canary)"
    assert list(trace(fig, "automatic check failed").y) == [5.0, 5.0]
    assert list(trace(fig, "rolled back").y) == [5.0]
    assert "rolled back at 14:05" in [a.text for a in fig.layout.annotations]
    assert list(trace(fig, "planned maximum share (50 %)").y) == [50.0, 50.0]


def test_stage_chart_stacks_the_stages_with_time_and_shades_the_windows():
    """Stages with time are stacked in one group; an all-zero stage is left out; windows are labelled."""
    ts = timeseries(stage_ingestion_ms=0.0)
    fig = fc.stage_time_figure(scenario(), ts, {"baseline_window_s": [0, 200], "slow_window_s": [200, 400]})
    assert fig.layout.title.text == "Where did the time go? Time per request in each stage"
    assert names(fig) == ["Customer-profile store", "Weather service", "Fraud model"]
    assert {t.stackgroup for t in fig.data} == {"stages"}
    assert {"calm period", "slow period"} <= {a.text for a in fig.layout.annotations}


def test_recovery_tiles_render_incident_and_release_findings_then_the_timings():
    """Incident and release findings first, as given; then notice 1201-1200 = 1 s, served again 1210-1200 = 10 s,
    598 affected (1 % of 59,800 finished) and the safety switch's trips."""
    summary = make_summary(**{**SUMMARY_PARTS, "recovery": [REC.model_dump()],
                              "breaker": {"enabled": True, "opened": 3, "open_s_total": 1170.0}})
    found = Findings((finding("incident.0", "incident", "watch"), finding("release", "release", "watch")))
    tiles = fc.recovery_tiles(scenario(), summary, found)
    assert [t.key for t in tiles][:2] == ["incident.0", "release"]
    by_key = {t.key: t for t in tiles}
    assert by_key["noticed"].value == "1 second" and by_key["served_again"].value == "10 seconds"
    assert by_key["affected"].value == "598" and by_key["breaker"].value == "3 times"


# =========================================================================== fairness
def fairness_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "t_s": [1800.0, 3600.0, 5400.0], "ratio": [0.95, 0.66, 0.86], "ratio_lo": [0.85, 0.58, 0.77],
        "ratio_hi": [1.05, 0.76, 0.96], "status": ["ok", "flagged", "ok"], "flagged": [False, True, False],
        "event": ["", "fairness_flagged", ""], "worst_group": ["south", "south", "west"],
        "comparison_group": ["north", "north", "north"], "rate_north": [0.72, 0.74, 0.73],
        "count_north": [280, 290, 285], "rate_south": [0.68, 0.49, 0.65], "count_south": [270, 273, 268]})


def test_di_chart_has_the_four_fifths_line_the_band_and_the_flags():
    """The 0.8 line spans the run, the 95 % band lies between lo and hi, the flagged window is circled."""
    sc = scenario(duration_s=7200, **{"fairness.enabled": True, "fairness.window_s": 1800})
    ev = events([(3600, "fairness_flagged", "fairness", "south: approval ratio 0.66 vs north"),
                 (5400, "fairness_cleared", "fairness", "approval ratio back to 0.86")])
    fig = fc.di_figure(sc, fairness_frame(), ev)
    assert fig.layout.title.text == "Approval-rate ratio between regions (disparate impact)"
    line = trace(fig, "four-fifths line (0.8)")
    assert list(line.y) == [0.8, 0.8]
    band = trace(fig, "95 % confidence band")
    assert band.fill == "tonexty" and list(band.y) == [0.85, 0.58, 0.77]
    assert list(trace(fig, "flagged: decisions sent to human review").y) == [0.66]
    hover = trace(fig, "ratio per window").hovertext[1]
    assert "window 14:30 to 15:00" in hover and "south approved 49 % vs north 74 %" in hover
    assert "fairness flag up" in [a.text for a in fig.layout.annotations]
    assert len(fig.layout.shapes) == 1   # the flag period 15:00-15:30 as a band


def test_governance_events_are_labelled_lines_on_separate_heights():
    """Drift, retrained model and promotion are dashed lines; labels close in time get different heights."""
    sc = scenario(duration_s=7200)
    ev = events([(3600, "fairness_flagged", "fairness", "south"), (3700, "drift_detected", "model", "PSI 0.14"),
                 (3800, "retraining_finished", "model", "v2"), (5400, "fairness_cleared", "fairness", "ok")])
    fig = fc.mark_events(fc.base_figure("t", "y", 13), sc, ev)
    labels = {a.text: a.yshift for a in fig.layout.annotations}
    assert set(labels) == {"fairness flag up", "drift detected", "retrained model ready"}
    assert len(set(labels.values())) == 3
    assert len(fig.layout.shapes) == 3   # one band and two lines


def test_group_rates_and_whole_run_rates():
    """Per-window lines per region; whole-run bars with 0.8 x the highest rate (0.8 x 72 % = 57.6 %)."""
    sc = scenario(duration_s=7200)
    assert names(fc.group_rates_figure(sc, fairness_frame())) == ["north", "south"]
    fig = fc.approval_rates_figure({"north": 0.72, "south": 0.55, "east": 0.70}, 0.8)
    assert list(fig.data[0].y) == pytest.approx([72.0, 55.0, 70.0])
    assert list(fig.data[0].marker.color) == [fc.BLUE, fc.RED, fc.BLUE]   # 55 % < 57.6 %
    assert fig.data[1].y[0] == pytest.approx(57.6)


def test_review_backlog_counts_waiting_cases():
    """Cases enter at 0, 10, 20 and are picked up at 0 (at once), 30 and never: waiting 0, 1, 2, 1."""
    reviews = pd.DataFrame({"enter_s": [0.0, 10.0, 20.0], "start_s": [0.0, 30.0, np.nan]})
    backlog = fc.review_backlog(reviews)
    assert backlog["t_s"].tolist() == [0.0, 10.0, 20.0, 30.0]
    assert backlog["waiting"].tolist() == [0, 1, 2, 1]


def test_review_backlog_chart_has_backlog_and_reviewers_on_duty():
    """Reviewers on duty (4, then 2 from 15:00) are a step line on the right axis, held to the end of the run."""
    sc = scenario(duration_s=7200)
    reviews = pd.DataFrame({"enter_s": [0.0, 10.0, 20.0], "start_s": [0.0, 30.0, np.nan]})
    reviewers = pd.DataFrame({"t_s": [0.0, 3600.0], "reviewers": [4, 2]})
    fig = fc.review_backlog_figure(sc, reviews, reviewers)
    assert fig.layout.title.text == "Cases waiting for a human reviewer"
    staff = trace(fig, "reviewers on duty (right axis)")
    assert staff.yaxis == "y2" and list(staff.y) == [4.0, 2.0, 2.0]


def test_fairness_tiles_render_the_findings_then_the_numbers_behind_them():
    """The fairness and review findings first; then the first flag (from the finding's evidence, 3600 s =
    15:00, 30 minutes after the shock at 1800 s), the windows flagged and the review load."""
    sc = scenario(duration_s=7200, **{"fairness.enabled": True, "fairness.window_s": 1800,
                                      "drift.covariate": [{"feature": "income_k_usd", "multiplier": 0.6,
                                                           "group": "south", "start_s": 1800}]})
    summary = make_summary(**{**SUMMARY_PARTS, "fairness": {
        "enabled": True, "min_di": 0.66, "di_overall": 0.8, "di_by_group": {}, "flagged_windows": 1, "windows": 3,
        "first_flag_s": 3600.0, "status": "ok"},
        "review": {"cases": 120, "done": 100, "backlog_max": 30, "wait_p95_min": 90.0, "wait_mean_min": 30.0,
                   "cost_usd": 360.0, "reviewer_utilization": 0.9, "reviewers_needed": 6, "sla_min": 60.0,
                   "reviewers_on_duty_max": 4}})
    found = Findings((finding("fairness", "fairness", "breach", first_flag_s=3600.0),
                      finding("review", "review", "breach")))
    tiles = {t.key: t for t in fc.fairness_tiles(sc, summary, found, fairness_frame())}
    assert list(tiles)[:2] == ["fairness", "review"] and tiles["fairness"].severity == "breach"
    assert tiles["first_flag"].value == "15:00" and "30 minutes after the shock" in tiles["first_flag"].label
    assert tiles["windows"].value == "1 of 3" and tiles["cases"].value == "120"


def test_model_quality_table_and_skew_sentence():
    """Live accuracy 70.5 % against 72.5 % on test data is -2.0 points; compute mode explains skew."""
    table = fc.model_quality_table(scenario(), SUMMARY)
    assert table.iloc[0].tolist() == ["Accuracy (right decisions)", "72.5 %", "70.5 %", "-2.0 points"]
    text = fc.skew_sentence(scenario(**{"feature_store.mode": "compute"}), SUMMARY)
    assert "-2.0 points" in text and "training-serving skew" in text


def test_audit_table_and_summary_use_plain_words():
    """Clock times from 08:00, plain action names, counts per action and role (most frequent first)."""
    audit = pd.DataFrame({"t_s": [0.0, 9000.0, 9052.0, 9100.0], "action": ["deploy", "fairness_flag",
                                                                           "review_decision", "review_decision"],
                          "role": ["automation", "automation", "reviewer", "reviewer"],
                          "detail": ["model v1", "south routed", "request 1: rejected", "request 2: approved"]})
    table = fc.audit_table(scenario(start_time_of_day_h=8), audit)
    assert table["time"].tolist() == ["08:00", "10:30", "10:30", "10:31"]
    assert table["action"].tolist()[:2] == ["model deployed", "fairness flag raised"]
    assert fc.audit_summary(audit).startswith("4 entries: 2 × review decision (reviewer)")


def test_explanation_examples_put_rejections_from_the_focus_group_first():
    """Order of preference: rejections in the focus region, other rejections, then approvals; shown in time order."""
    explanations = pd.DataFrame({"request_id": [1, 2, 3, 4], "approved": [True, False, False, True],
                                 "reason": ["approved mainly because of: low debt ratio",
                                            "rejected mainly because of: high debt ratio",
                                            "rejected mainly because of: low income, short credit history",
                                            "approved mainly because of: long credit history"]})
    requests = pd.DataFrame({"request_id": [1, 2, 3, 4], "arrival_s": [0.0, 60.0, 120.0, 180.0],
                             "region": ["north", "north", "south", "south"]})
    out = fc.explanation_examples(scenario(), explanations, requests, n=2, focus_group="south")
    assert out["region"].tolist() == ["north", "south"]          # picked: south rejection, then other rejection
    assert out["decision"].tolist() == ["rejected", "rejected"]
    assert out["why"].tolist()[1] == "mainly because of: low income, short credit history"
    assert out["time"].tolist() == ["14:01:00", "14:02:00"]
