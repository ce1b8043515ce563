"""The plain-language narrative: clock times, event sentences, grouping and comparisons.

Expected sentences follow the rules stated in simulator/narrative.py: clock = start time
plus t; an event within 5 minutes of the previous one is told relative to it; kinds such
as scale decisions are summarised in one sentence; more than three events of one kind are
told once and then summarised.
"""
from __future__ import annotations

import pandas as pd
import pytest

from simulator.report.narrative import changed_fields, compare_paragraph, events_paragraph, narrate, outcome_paragraph
from simulator.report.words import clock, human_duration, pct
from simulator.scenario.config import Scenario, with_overrides


def scenario(**overrides) -> Scenario:
    return with_overrides(Scenario(), {"start_time_of_day_h": 14, "duration_s": 3600, "warmup_s": 300,
                                       "slo_latency_ms": 300, **overrides})


def events(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["t_s", "kind", "component", "detail"])


SUMMARY = {
    "requests": {"arrived": 264_000, "ok": 262_152, "degraded": 0, "failed": 1_848, "in_flight": 0},
    "availability": 0.993, "on_time_fraction": 0.9812,
    "latency_ms": {"mean": 100.0, "p50": 93.0, "p95": 170.0, "p99": 1_250.0},
    "failures_by_reason": {"timeout": 1_500, "rejected": 348},
    "stages": {"inference": {"utilization": 0.91, "served": 262_152, "wait_ms_mean": 45.0}},
}


@pytest.mark.parametrize("start_h, t_s, text", [(14, 0, "14:00"), (14, 300, "14:05"), (9.5, 59, "09:30"),
                                                (23, 7200, "01:00 (day 2)")])
def test_clock_times(start_h, t_s, text):
    assert clock(scenario(start_time_of_day_h=start_h), t_s) == text


@pytest.mark.parametrize("seconds, text", [(9, "9 seconds"), (1, "1 second"), (89, "89 seconds"),
                                           (120, "2 minutes"), (1200, "20 minutes"), (5400, "1.5 hours")])
def test_durations_read_naturally(seconds, text):
    assert human_duration(seconds) == text


@pytest.mark.parametrize("fraction, text", [(0.9994, "99.94 %"), (0.99996, "99.99 %"), (1.0, "100.0 %"),
                                            (0.9812, "98.1 %"), (0.5, "50.0 %"), (0.0042, "0.42 %"),
                                            (0.00004, "< 0.01 %")])
def test_percentages_never_round_up_to_100(fraction, text):
    assert pct(fraction) == text


def test_outage_story_uses_clock_times_and_relative_delays():
    """The brief's example: the weather service goes down at 14:05 and the breaker trips 9 s later."""
    ev = events([(300, "fault_started", "external_api", "weather outage (outage errors)"),
                 (309, "breaker_opened", "external_api", "CLOSED -> OPEN"),
                 (1500, "fault_ended", "external_api", "weather outage"),
                 (1520, "breaker_closed", "external_api", "HALF_OPEN -> CLOSED")])
    text = events_paragraph(scenario(), ev)
    assert text.startswith("At 14:05 the weather service went down for 20 minutes.")
    assert ("9 seconds later the safety switch (circuit breaker) tripped and stopped calling the weather "
            "service.") in text
    assert "At 14:25 the weather service was healthy again." in text
    assert "20 seconds later the safety switch closed again" in text


def test_outage_story_reports_who_still_got_an_answer():
    """With a time series, the fault sentence gives the answered share in the fault window:
    990 answered and 10 failed between 300 s and 400 s is 99.00 %."""
    ts = pd.DataFrame({"t_s": [200.0, 300.0, 400.0], "t_end_s": [300.0, 400.0, 500.0],
                       "completions": [1000, 990, 1000], "failures": [0, 10, 0]})
    ev = events([(300, "fault_started", "external_api", "outage"), (400, "fault_ended", "external_api", "outage")])
    assert "during that time 99.00 % of customers still got an answer" in events_paragraph(scenario(), ev, ts)


def test_frequent_events_are_summarised():
    """Seven scale decisions become one sentence with their time span and the final count."""
    ev = events([(600 + 60 * i, "scale_decision", "inference", f"{4 + i} -> {5 + i}") for i in range(7)])
    text = events_paragraph(scenario(), ev)
    assert text == ("Between 14:10 and 14:16, the autoscaler changed the number of model servers 7 times, "
                    "ending at 11 servers.")


def test_repeated_breaker_trips_are_told_once_then_counted():
    ev = events([(600 + 40 * i, "breaker_opened", "external_api", "-> OPEN") for i in range(5)])
    text = events_paragraph(scenario(), ev)
    assert text.count("tripped") == 2
    assert "Between 14:10 and 14:12, the safety switch tripped 4 more times." in text


def test_outcome_paragraph_counts_and_judges():
    text = outcome_paragraph(scenario(), SUMMARY)
    assert "Between 14:05 and 15:00" in text
    assert "264,000 card payments arrived, about 80 a second" in text        # 264,000 / 3,300 s
    assert "98.1 % of customers got their fraud decision on time (within 300 ms)" in text
    assert "a noticeable minority was late" in text                             # 95 % <= 98.12 % < 99 %
    assert "longer than 1.2 s" in text
    assert "1,848 requests (0.70 %) failed, mostly because the fraud model could not answer before the deadline" in text


def test_narrate_without_events_says_nothing_happened_and_names_the_bottleneck():
    paragraphs = narrate(scenario(), SUMMARY, events([]))
    assert paragraphs[1] == "Nothing unusual happened during the run: no surges, faults or automatic actions."
    assert paragraphs[2].startswith("The busiest part was the fraud model, at 91 % of its capacity, close to its "
                                    "limit")


def test_compare_paragraph_names_changes_and_effects():
    a, b = scenario(), scenario(**{"inference.replicas": 6})
    assert changed_fields(a, b) == [("inference.replicas", a.inference.replicas, 6)]
    better = {**SUMMARY, "on_time_fraction": 0.999, "latency_ms": {**SUMMARY["latency_ms"], "p99": 210.0}}
    text = compare_paragraph(a, SUMMARY, b, better, "today", "six servers")
    assert text.startswith(f"Six servers differs from today in 1 setting: model servers {a.inference.replicas} → 6.")
    assert "customers answered on time went from 98.1 % to 99.90 %" in text
    assert "the slowest 1 % waited 210 ms instead of 1.2 s" in text
    assert text.endswith("Overall, six servers serves customers better.")


def test_compare_identical_setups():
    a = scenario()
    assert compare_paragraph(a, SUMMARY, a, SUMMARY, "A", "B").startswith("B uses exactly the same settings as A.")
