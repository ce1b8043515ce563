"""The wrong statements observed on the old main, one test each (short runs of the bundled scenarios).

Each test reproduces the situation the issue describes and checks what is rendered against the run's
raw frames, so the old behaviour (a key that did not exist, a configured time instead of the event's,
a monthly projection of a one-off incident, a run average instead of the busiest minute) fails here.
"""
from __future__ import annotations

import re

import pytest

from simulator.report.compare import compare_runs
from simulator.report.findings import findings
from simulator.report.narrative import NOTHING_UNUSUAL, narrate
from simulator.report.words import clock, pct
from simulator.runner import run
from simulator.scenario.config import load_scenario, with_overrides, without_incident
from simulator.viz.diagram import architecture_dot
from simulator.viz.kpis import compare_tiles, delta_colour, delta_text, overview_tiles
from tests.conftest import SCENARIOS


def scenario(name: str, **overrides):
    return with_overrides(load_scenario(SCENARIOS / f"{name}.yaml"), overrides)


def found_for(sc, result):
    twin = without_incident(sc)
    return findings(sc, result, run(twin, result.seed).summary if twin is not None else None)


@pytest.fixture(scope="module")
def drift():
    """fairness_drift to 13:00 (the flag at 10:30, the release at 11:30 and its promotion at 11:50 included)."""
    sc = scenario("fairness_drift", duration_s=18_000)
    result = run(sc)
    return sc, result, found_for(sc, result)


def test_a_flagged_fairness_gap_is_told_on_every_overview_headline(drift):
    """Old: tile 'No gap found', story 'found no worrying gap', green 'no gap' box, while the Fairness page
    said 'Gap flagged' (the readers looked for summary keys that did not exist)."""
    sc, result, found = drift
    flagged = int(result.extra["fairness"]["flagged"].sum())
    assert flagged > 0
    tile = next(t for t in overview_tiles(found) if t.key == "fairness")
    assert tile.status == "gap flagged" and tile.severity == "breach"
    assert f"{flagged} of {len(result.extra['fairness'])}" in tile.help
    assert "Fairness gap flagged" in narrate(result, found)[0]
    assert "gap flagged" in architecture_dot(sc, found, result.summary)


def test_the_release_is_told_at_the_events_time_with_every_version_counted(drift):
    """Old: 'At 08:00 model version v2 was released' (the configured start) and 'Only 481 customers were served
    by the new version' although v2 was promoted and then served everyone."""
    sc, result, found = drift
    ev = result.events
    started = float(ev.loc[ev["kind"] == "canary_started", "t_s"].iloc[0])
    promoted = float(ev.loc[ev["kind"] == "canary_promoted", "t_s"].iloc[0])
    release = found.get("release")
    assert clock(sc, started) == "11:30" and f"released at {clock(sc, started)}" in release.headline
    assert f"at {clock(sc, promoted)}" in release.headline and "08:00" not in release.headline
    answered = result.requests[result.requests["outcome"].isin(["ok", "degraded"])]
    after = int(((answered["model_version"] == "v2") & (answered["inference_start_s"] >= promoted)).sum())
    assert after > 1000 and f"{after:,} after it" in release.headline


def test_an_overloaded_service_is_not_nothing_unusual():
    """Old, baseline at 200 % traffic: 67.5 % failed, 0.0 % on time, yet 'Nothing unusual happened', grey tiles,
    and the last arrow said 133/s while the chart showed about 50 decisions per second."""
    sc = scenario("baseline", duration_s=600, warmup_s=60, **{"traffic.rate_per_s": 160})
    result = run(sc)
    found = found_for(sc, result)
    paragraphs = narrate(result, found)
    assert NOTHING_UNUSUAL not in paragraphs
    tiles = overview_tiles(found)
    assert tiles[0].severity == "breach" and tiles[0].status == "missed"
    assert tiles[1].key == "capacity.inference" and tiles[1].severity == "breach"
    assert "needs about" in tiles[1].help                                    # the capacity that would keep up
    ts = result.timeseries[result.timeseries["t_s"] >= sc.warmup_s]
    chart_answers = float(ts["throughput_rps"].mean())
    label = re.search(r'inference -> decision \[[^]]*label="answered ([\d.]+)/s"', architecture_dot(sc, found,
                                                                                                     result.summary))
    assert float(label.group(1)) == pytest.approx(chart_answers, rel=0.05)
    assert chart_answers < 0.5 * 160                                         # most did not get an answer


def test_one_off_events_are_priced_not_projected_and_outages_are_not_savings():
    """Old: the weather outage's monthly cost ($2,988) was below baseline's ($4,531), so an outage read as a
    saving; a 10-hour incident was projected to '$202,284 a month'; 'Value per $1 spent: $35,815'."""
    sc = scenario("weather_api_outage", duration_s=900, warmup_s=60, **{"faults.external_api": [
        {"name": "weather service outage", "kind": "outage_timeouts", "start_s": 300, "duration_s": 300}]})
    result = run(sc)
    found = found_for(sc, result)
    cost, incident = found.get("cost"), found.get("incident_cost")
    assert cost.evidence["monthly_usd"] is None and "a month if" not in cost.headline
    assert incident.evidence["extra_spend_usd"] < 0 < incident.evidence["value_lost_usd"]   # fewer calls, worse answers
    assert incident.evidence["incident_cost_usd"] > 0 and "less spent" in incident.headline
    value = found.get("value")
    assert value.evidence["ratio"] is None and "negligible" in value.headline   # not "$35,000 per $1"
    assert "Value per $1 spent" not in [t.label for t in overview_tiles(found, max_tiles=20)]


def test_compare_never_colours_lower_traffic_green():
    """Old: baseline -> black_friday coloured '−$2,641' (monthly) in green because Black Friday's hours are
    mostly quiet. Per 1,000 decisions Black Friday costs more; the tile says so, in red, and a warning names
    the different traffic and clocks."""
    a_sc = scenario("baseline", duration_s=600, warmup_s=60)
    b_sc = scenario("black_friday", duration_s=1800, warmup_s=60)
    a, b = run(a_sc), run(b_sc)
    ta, tb = compare_tiles(a), compare_tiles(b)
    cost_a, cost_b = ta[3], tb[3]
    assert cost_a.label == "Cost per 1,000 decisions"
    per_1k = b.summary.cost_usd.total / b.summary.requests.answered * 1000
    assert cost_b.number == pytest.approx(per_1k)
    assert cost_b.number > cost_a.number and delta_text(cost_a, cost_b).startswith("+")
    assert delta_colour(cost_a) == "inverse"                                 # a rise in cost shows red
    cmp = compare_runs(a, b)
    assert not cmp["same_clock"] and any("less traffic" in w for w in cmp["warnings"])


def test_the_loan_scenario_speaks_of_loan_applications(drift):
    """Old: the loan scenario talked about 'card payments', 'fraud model', 'fraud stopped'."""
    sc, result, found = drift
    text = " ".join(narrate(result, found) + [t.label + t.value + t.help for t in overview_tiles(found, 20)])
    text += architecture_dot(sc, found, result.summary)
    assert "loan application" in text and "credit model" in text
    assert not re.search(r"payment|fraud", text, flags=re.IGNORECASE)


def test_the_diagram_colours_a_surge_by_its_busiest_minute_not_the_run_average():
    """Old: a model pool saturated during a surge was drawn green '52 % busy' (the run average)."""
    sc = scenario("black_friday", duration_s=3300, warmup_s=150, **{
        "traffic.profile_points": [[0, 1], [450, 1], [2250, 8], [2700, 8], [3150, 1], [3300, 1]],
        "traffic.spikes": [{"name": "doorbuster surge", "start_s": 2700, "multiplier": 1.8, "ramp_s": 10,
                            "duration_s": 150}], "traffic.rate_per_s": 12})
    result = run(sc)
    found = found_for(sc, result)
    capacity = found.get("capacity.inference")
    busy = result.timeseries[result.timeseries["t_s"] >= sc.warmup_s]["utilization_inference"]
    assert capacity.severity in ("watch", "breach")
    assert busy.mean() < 0.8 <= capacity.evidence["peak_utilization"]
    assert f"{100 * capacity.evidence['peak_utilization']:.0f} % busy" in architecture_dot(sc, found,
                                                                                          result.summary)
    assert pct(result.summary.on_time_fraction) in overview_tiles(found)[0].value
