"""Money findings by hand: the incident's cost as a paired estimate, and value per dollar only where it means
something (the rules in simulator/report/findings_money.py)."""
from __future__ import annotations

import pytest

from simulator.report.findings_money import cost, incident_cost, value
from simulator.scenario.config import Scenario, with_overrides
from tests.summaries import make_summary

VALUE = {"gross": 0.0, "net": 0.0, "per_decision": 0.5, "gross_per_hour": 0.0, "cost_per_hour": 0.0,
         "net_per_hour": 0.0}


def one_off() -> Scenario:
    return with_overrides(Scenario(duration_s=3600, warmup_s=0), {
        "period.kind": "one_off", "period.incident": "the outage",
        "period.without_incident": {"faults.external_api": []}})


def summary(arrived: int, failed: int, total_usd: float, gross: float, per_decision: float = 0.5):
    return make_summary(requests={"arrived": arrived, "ok": arrived - failed, "failed": failed},
                        sim_duration_s=3600.0, cost_usd={"total": total_usd},
                        value_usd={**VALUE, "gross": gross, "per_decision": per_decision})


def test_the_same_customers_are_valued_at_the_reference_value_per_decision():
    """Same 10,000 arrivals both times: the incident run answered 9,000 worth $4,000 (fallbacks worse), spent
    $8 against $10. Value lost = 0.5 x 10,000 - 4,000 = $1,000; extra spend = 8 - 10 = -$2; cost $998."""
    f = incident_cost(one_off(), summary(10_000, 1_000, 8.0, 4_000.0), summary(10_000, 0, 10.0, 5_000.0))
    assert f.evidence["value_lost_usd"] == pytest.approx(1_000.0)
    assert f.evidence["extra_spend_usd"] == pytest.approx(-2.0)
    assert f.evidence["incident_cost_usd"] == pytest.approx(998.0)
    assert f.severity == "watch" and "$2.00 less spent" in f.headline and "worse decisions" in f.headline


def test_extra_traffic_is_not_counted_as_value_lost():
    """A surge brings 30,000 arrivals against 10,000: the runs hold different customers, so the incident run's
    own value per decision (0.4) is used: lost = 0.4 x 30,000 - 11,600 = $400 (its 1,000 errors), not
    0.5 x 30,000 - 11,600 = $3,400; extra spend = 30 - 10 = $20."""
    f = incident_cost(one_off(), summary(30_000, 1_000, 30.0, 11_600.0, 0.4), summary(10_000, 0, 10.0, 5_000.0))
    assert f.evidence["value_lost_usd"] == pytest.approx(400.0)
    assert f.evidence["incident_cost_usd"] == pytest.approx(420.0)
    assert "errors and fallback answers" in f.headline and "worse decisions" not in f.headline
    assert "(same random numbers)" in f.headline  # not "the same customers": the surge brought more


def test_no_monthly_projection_for_a_one_off_event():
    typical = Scenario(duration_s=3600, warmup_s=0)
    s = summary(10_000, 0, 6.0, 5_000.0)
    s = s.model_copy(update={"cost_usd": s.cost_usd.model_copy(update={"monthly_projection": 4380.0})})
    assert cost(typical, s).evidence["monthly_usd"] == 4380.0 and "a month if" in cost(typical, s).headline
    assert cost(one_off(), s).evidence["monthly_usd"] is None and "a month if" not in cost(one_off(), s).headline


@pytest.mark.parametrize("gross, total, shown", [(5_000.0, 500.0, 10.0), (200_000.0, 6.0, None), (1.0, 500.0, None)])
def test_value_per_dollar_is_shown_only_between_one_hundredth_and_a_thousand(gross, total, shown):
    """$5,000 for $500 is $10 per $1; $200,000 for $6 (33,333) and $1 for $500 (0.002) are not shown as ratios."""
    s = make_summary(requests={"arrived": 1000, "ok": 1000}, cost_usd={"total": total},
                     value_usd={**VALUE, "gross": gross, "gross_per_hour": gross, "cost_per_hour": total})
    f = value(Scenario(), s)
    assert f.evidence["ratio"] == (pytest.approx(shown) if shown is not None else None)
    assert ("each $1 of running cost bought" in f.headline) == (shown is not None)


def test_an_incident_outside_the_run_is_said_to_have_had_no_effect():
    """weather_api_outage shortened to 15 minutes ends before its outage (at 14:20): the paired run came out
    identical, so the finding says so instead of pricing cents of rounding as the outage's cost."""
    s = summary(10_000, 0, 6.0, 5_000.0)
    f = incident_cost(one_off(), s, summary(10_000, 0, 6.0, 5_000.0))
    assert (f.severity, f.value, f.status) == ("ok", "$0", "no effect")
    assert f.headline.startswith("The outage had no effect on this run") and "cost about" not in f.headline


def test_less_than_a_cent_either_way_is_rounding_not_harm():
    """$0.004 of value 'lost' is the summary's rounding to cents: reported as no measurable money."""
    f = incident_cost(one_off(), summary(10_000, 0, 6.0, 4_999.996), summary(10_000, 0, 6.0, 5_000.0))
    assert f.evidence["incident_cost_usd"] == 0.0 and f.severity == "ok" and "no measurable money" in f.headline


def test_a_surge_that_costs_only_running_money_says_no_value_was_lost():
    """black_friday on main: '$5.91 more spent ... and $0.0021 more value than without it' (rounding):
    the value part is now 'no value lost'."""
    f = incident_cost(one_off(), summary(30_000, 0, 15.91, 15_000.0021), summary(10_000, 0, 10.0, 5_000.0))
    assert f.evidence["value_lost_usd"] == 0.0 and f.evidence["incident_cost_usd"] == pytest.approx(5.91)
    assert "$5.91 more spent on running the service and no value lost" in f.headline
