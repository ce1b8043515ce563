"""The plain-language story: clock times, event sentences in the scenario's words, grouping, and
paragraphs that tell the findings they are given (the findings are checked in tests/truth).

Expected sentences follow the rules stated in simulator/report/narrative.py: clock = start time
plus t (the day named only when it changes); an event within 5 minutes of the previous one is
told relative to it; scaling is one sentence; more than three events of one kind are told once
and then summarised; "nothing unusual" only without events and with every finding ok.
"""
from __future__ import annotations

import pandas as pd
import pytest

from simulator.report.findings import Finding, Findings
from simulator.report.narrative import NOTHING_UNUSUAL, changed_fields, compare_paragraph, events_paragraph, narrate
from simulator.report.results import RunResult
from simulator.report.words import clock, human_duration, pct
from simulator.scenario.config import Scenario, with_overrides
from tests.summaries import make_summary


def scenario(**overrides) -> Scenario:
    return with_overrides(Scenario(), {"start_time_of_day_h": 14, "duration_s": 3600, "warmup_s": 300,
                                       "slo_latency_ms": 300, **overrides})


def events(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["t_s", "kind", "component", "detail"])


SUMMARY = make_summary(requests={"arrived": 264_000, "ok": 262_152, "failed": 1_848}, availability=0.993,
                       on_time_fraction=0.9812, sim_duration_s=3600.0, warmup_s=300.0,
                       latency_ms={"mean": 100.0, "p50": 93.0, "p95": 170.0, "p99": 1_250.0})


def finding(key: str, topic: str, severity: str, at_s: float | None = None) -> Finding:
    return Finding(topic, severity, f"{key} sentence.", key, "v", "s", {}, at_s, None, key)


def result(ev: pd.DataFrame, sc: Scenario | None = None) -> RunResult:
    return RunResult(sc or scenario(), 1, pd.DataFrame(), pd.DataFrame(), ev, SUMMARY)


@pytest.mark.parametrize("start_h, t_s, text", [(14, 0, "14:00"), (14, 300, "14:05"), (9.5, 59, "09:30"),
                                                (23, 7200, "01:00 the next day"), (23, 93_600, "01:00 on day 3")])
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


def test_outage_story_uses_clock_times_relative_delays_and_plain_words():
    """The weather service goes down at 14:05 and the breaker trips 9 s later; no raw field names."""
    ev = events([(300, "fault_started", "external_api", "weather outage (outage errors)"),
                 (309, "breaker_opened", "external_api", "CLOSED -> OPEN"),
                 (1500, "fault_ended", "external_api", "weather outage"),
                 (1520, "breaker_closed", "external_api", "HALF_OPEN -> CLOSED")])
    text = events_paragraph(scenario(), ev)
    assert text.startswith("At 14:05, “Weather outage” began (the weather service: calls fail at once).")
    assert "9 seconds later, the safety switch tripped and stopped calling the weather service." in text
    assert "At 14:25, “Weather outage” ended." in text
    assert "20 seconds later, the safety switch closed again" in text
    assert "->" not in text and "CLOSED" not in text


def test_canary_steps_are_told_in_words_not_fields():
    """'weight_pct 25, previous_weight_pct 0' becomes a share rising; a lending scenario says loan applications."""
    sc = scenario(**{"vocabulary.request": "loan application", "vocabulary.requests": "loan applications"})
    ev = events([(600, "canary_started", "canary", "version v2"),
                 (600, "canary_weight", "canary", "weight_pct 25, previous_weight_pct 0"),
                 (1200, "canary_weight", "canary", "weight_pct 50, previous_weight_pct 25"),
                 (1800, "canary_promoted", "canary", "weight_pct 50, version v2")])
    text = events_paragraph(sc, ev)
    assert "the new model version v2 started answering a small share of loan applications" in text
    assert "grew step by step up to 50 %" in text
    assert "took over all loan applications" in text
    assert "weight_pct" not in text and "payment" not in text


def test_scaling_is_one_sentence():
    """Seven decisions, seven servers started: one sentence with the time span and the final count."""
    ev = events([(600 + 60 * i, "scale_decision", "inference", f"up from {4 + i} to {5 + i} (x)") for i in range(7)]
                + [(600 + 60 * i, "replica_started", "inference", "replica starting, ready in 25 s") for i in range(7)])
    assert events_paragraph(scenario(), ev) == (
        "Between 14:10 and 14:16, the autoscaler changed the number of model servers 7 times and started 7 servers, "
        "ending at 11 model servers.")


def test_repeated_breaker_trips_are_told_once_then_counted():
    ev = events([(600 + 40 * i, "breaker_opened", "external_api", "-> OPEN") for i in range(5)])
    text = events_paragraph(scenario(), ev)
    assert text.count("tripped") == 2
    assert "Between 14:10 and 14:12, the safety switch tripped 4 more times." in text


def test_batch_jobs_are_counted_in_words_and_the_day_named_once():
    """A job of 259524 records after midnight: '259,524 card payments', 'the next day' said once."""
    sc = scenario(start_time_of_day_h=22, duration_s=14_400, warmup_s=0)
    ev = events([(7200, "batch_job_started", "ingestion", "259524 records"),
                 (7380, "batch_job_finished", "ingestion", "259524 records")])
    text = events_paragraph(sc, ev)
    assert text == ("At 00:00 the next day, the batch job started with 259,524 card payments to score. "
                    "3 minutes later, the batch job finished (259,524 card payments scored).")


def test_incidents_are_told_by_their_findings_instead_of_raw_fault_events():
    """With an incident finding, its sentence replaces the fault and breaker events in the timeline."""
    ev = events([(300, "fault_started", "external_api", "weather outage (outage errors)"),
                 (309, "breaker_opened", "external_api", "CLOSED -> OPEN"),
                 (900, "spike_started", "traffic", "lunch rush: up to 2x")])
    found = Findings((finding("incident.0", "incident", "watch", at_s=300.0),))
    text = events_paragraph(scenario(), ev, found=found)
    assert text.startswith("incident.0 sentence. At 14:15, the lunch rush began")
    assert "tripped" not in text


def test_nothing_unusual_only_without_events_and_with_every_finding_ok():
    """No events and all findings ok: the second paragraph says nothing unusual happened. A breach, a watch or
    an event removes that sentence; the first paragraph leads with arrivals, then the service level and breaches."""
    calm = Findings((finding("service_level", "service_level", "ok"), finding("capacity.inference", "capacity", "ok")))
    paragraphs = narrate(result(events([])), calm)
    assert paragraphs[1] == NOTHING_UNUSUAL
    assert paragraphs[0].startswith("Between 14:05 and 15:00") and "264,000 card payments arrived" in paragraphs[0]
    for worse in ("watch", "breach"):
        found = Findings((finding("service_level", "service_level", worse),))
        assert NOTHING_UNUSUAL not in narrate(result(events([])), found)
    busy = narrate(result(events([(900, "spike_started", "traffic", "lunch rush: up to 2x")])), calm)
    assert NOTHING_UNUSUAL not in busy
    breach = Findings((finding("service_level", "service_level", "breach"),
                       finding("fairness", "fairness", "breach"), finding("cost", "cost", "ok")))
    first = narrate(result(events([])), breach)[0]
    assert first.endswith("service_level sentence. fairness sentence.")


def test_compare_paragraph_names_changes_effects_and_warnings():
    a, b = scenario(), scenario(**{"inference.replicas": 6})
    assert changed_fields(a, b) == [("inference.replicas", a.inference.replicas, 6)]
    better = make_summary(requests={"arrived": 264_000, "ok": 264_000}, availability=0.993, on_time_fraction=0.999,
                          latency_ms={"p99": 210.0})
    cmp = {"verdict": "Overall, six servers serves customers better.", "warnings": ["A warning."],
           "cost_per_1k_a": 0.022, "cost_per_1k_b": 0.031}
    text = compare_paragraph(a, SUMMARY, b, better, cmp, "today", "six servers")
    assert text.startswith(f"Six servers differs from today in 1 setting: model servers: {a.inference.replicas} → 6.")
    assert "customers answered on time went from 98.1 % to 99.90 %" in text
    assert "the slowest 1 % waited 210 ms instead of 1.2 s" in text
    assert "the cost per 1,000 fraud decisions went from $0.022 to $0.031" in text
    assert text.endswith("Overall, six servers serves customers better. A warning.")


def test_compare_identical_setups():
    a = scenario()
    assert compare_paragraph(a, SUMMARY, a, SUMMARY, {}, "A", "B").startswith("B uses exactly the same settings as A.")


def test_a_changed_architecture_is_told_by_its_parts_not_by_entry_counts():
    """The bundled comparisons, read off their YAML: fraud_enrichment waits for all three services instead
    of the first two; loan_cascade drops the small model and sends every application to the large one."""
    from simulator.report.narrative import change_lines
    from simulator.scenario.config import load_scenario, with_overrides
    from tests.conftest import SCENARIOS

    a = load_scenario(SCENARIOS / "fraud_enrichment.yaml")
    lines = change_lines(a, with_overrides(a, a.compare_overrides))
    assert lines == ["customer features: calls device fingerprint, credit bureau and weather service at once and goes "
                     "on to fraud rules after the first 2 of 3 answered → calls device fingerprint, credit bureau and "
                     "weather service at once and goes on to fraud rules after all 3 answered"]
    a = load_scenario(SCENARIOS / "loan_cascade.yaml")
    lines = change_lines(a, with_overrides(a, a.compare_overrides))
    assert lines == ["without small loan model",
                     "credit bureau: goes on to small loan model → goes on to large loan model"]
    assert not any("entries" in line for line in lines)
