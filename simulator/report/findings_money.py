"""Findings about money: what running the service cost, what its decisions were worth, and for a
one-off event what the incident cost.

* **Cost** is told per decision (per 1,000) and per hour of the scenario's own period. A monthly
  projection appears only for a scenario that declares a typical period (``period.kind``); a
  one-off event never becomes "$200,000 a month".
* **Incident cost** (one-off events): the same scenario without the incident on the same seed
  (common random numbers) is the reference. Extra spend = cost with - cost without. Value lost =
  what the incident run's finished requests would have been worth at a reference value per
  decision, minus what they were worth: errors (worth nothing) and fallback answers (worth less)
  always count. When both runs carry the same customers (same arrivals: the incident did not
  change the traffic), the reference value per decision is the incident-free run's, so worse
  decisions (drift, a faulty model) count too; when the traffic itself is the incident (a surge),
  the two runs hold different customers and a difference in measured decision quality would be
  chance, so the incident run's own value per decision is used. The incident cost is extra spend
  plus value lost, a paired estimate from one pair of runs.
* **Value per dollar** is shown only between 1/100 and 1,000: beyond that one side is negligible
  and a ratio like "$35,000 per $1" says less than "running costs are negligible beside the value".
"""
from __future__ import annotations

from simulator.report.finding import Finding
from simulator.report.results import RunResult
from simulator.report.summary_model import Summary
from simulator.report.words import clock, human_duration, money, pct
from simulator.scenario.config import Scenario

RATIO_SHOWN = (0.01, 1000.0)
CENT = 0.01


def money_findings(sc: Scenario, result: RunResult, without_incident: Summary | None) -> list[Finding]:
    s = result.summary
    if s.cost_usd is None or s.value_usd is None or s.cost_usd.total is None:
        return []
    out = [cost(sc, s)]
    if sc.period.kind == "one_off" and without_incident is not None and without_incident.cost_usd is not None:
        out.append(incident_cost(sc, s, without_incident))
    out.append(value(sc, s))
    return out


def _per_hour(sc: Scenario, usd: float) -> float:
    return usd / max(sc.duration_s - sc.warmup_s, 1e-9) * 3600


def cost(sc: Scenario, s: Summary) -> Finding:
    c, v = s.cost_usd, sc.vocabulary
    hours = human_duration(s.measured_s)
    answered = s.requests.answered
    per_1k = c.total / answered * 1000 if answered else None
    per_hour = _per_hour(sc, c.total)
    text = (f"Running the service cost {money(c.total)} for the measured {hours}: "
            + (f"{money(per_1k)} per 1,000 {v.decision}s and " if per_1k is not None else "")
            + f"{money(per_hour)} an hour")
    evidence = {"total_usd": c.total, "per_1k_decisions_usd": per_1k, "per_hour_usd": per_hour,
                "monthly_usd": None, "period": sc.period.kind}
    if sc.period.kind == "typical" and c.monthly_projection is not None:
        evidence["monthly_usd"] = c.monthly_projection
        text += f", about {money(c.monthly_projection)} a month if every hour is like this one"
    text += " (illustrative prices)."
    if sc.period.kind == "one_off":
        text += " A one-off event is not projected to a month."
    shown = money(per_1k) if per_1k is not None else money(per_hour)
    return Finding("cost", "ok", text, "Cost per 1,000 decisions" if per_1k is not None else "Cost per hour",
                   shown, "illustrative prices", evidence, None, None, "cost")


def incident_cost(sc: Scenario, s: Summary, ref: Summary) -> Finding:
    """The incident priced against the same period without it (see the module docstring)."""
    v = sc.vocabulary
    name = sc.period.incident[:1].upper() + sc.period.incident[1:]
    span = f"{clock(sc, sc.warmup_s)}–{clock(sc, sc.duration_s)}"
    if (s.requests, s.latency_ms, s.on_time_fraction, s.cost_usd.total, s.value_usd.gross) == (
            ref.requests, ref.latency_ms, ref.on_time_fraction, ref.cost_usd.total, ref.value_usd.gross):
        return Finding("cost", "ok", f"{name} had no effect on this run: the same {human_duration(s.measured_s)} "
                       f"without it came out exactly the same (it may fall outside the measured {span}).",
                       "Cost of the incident", money(0.0), "no effect",
                       {"incident_cost_usd": 0.0, "extra_spend_usd": 0.0, "value_lost_usd": 0.0,
                        "reference_cost_usd": ref.cost_usd.total, "reference_value_usd": ref.value_usd.gross,
                        "same_customers": 1}, None, None, "incident_cost")
    extra = s.cost_usd.total - ref.cost_usd.total
    same_customers = s.requests.arrived == ref.requests.arrived
    per_decision = (ref.value_usd.per_decision if same_customers else s.value_usd.per_decision)
    lost = per_decision * s.requests.finished - s.value_usd.gross
    # money in the summary is rounded to cents: a difference smaller than that is rounding, not harm
    extra, lost = (0.0 if abs(x) < CENT else x for x in (extra, lost))
    total = extra + lost
    spend = ("no change in what running the service cost" if abs(extra) < 0.005 else
             f"{money(extra)} more spent on running the service" if extra > 0 else
             f"{money(-extra)} less spent on running the service")
    causes = "errors, fallback answers and worse decisions" if same_customers else "errors and fallback answers"
    value_part = ("no value lost" if lost == 0 else f"{money(lost)} of value lost to {causes}" if lost > 0 else
                  f"{money(-lost)} more value than without it")
    paired = f"same {v.customers}, same random numbers" if same_customers else "same random numbers"
    against = f"against the same {human_duration(s.measured_s)} without it ({paired})"
    if total > 0:
        text = f"{name} cost about {money(total)} {against}: {spend} and {value_part}."
    else:
        text = (f"{name} cost no measurable money {against} ({spend}, {value_part}); its harm was to the "
                f"{v.customers} it made wait or fail.")
    return Finding("cost", "watch" if total > 0 else "ok", text, "Cost of the incident", money(total),
                   "paired estimate", {"incident_cost_usd": total, "extra_spend_usd": extra, "value_lost_usd": lost,
                                       "reference_cost_usd": ref.cost_usd.total,
                                       "reference_value_usd": ref.value_usd.gross,
                                       "same_customers": int(same_customers)}, None, None, "incident_cost")


def value(sc: Scenario, s: Summary) -> Finding:
    val, c, v, cfg = s.value_usd, s.cost_usd, sc.vocabulary, sc.value
    per_decision = val.gross / s.requests.answered if s.requests.answered else None
    assumption = (f"This assumes each bad case the {v.model} stops saves {pct(cfg.caught_saves_fraction, 0)} of its "
                  f"average {money(cfg.mean_fraud_amount_usd)}, a missed one loses all of it, and each of the "
                  f"{v.false_alarm} costs {money(cfg.false_alarm_cost_usd)} (illustrative amounts).")
    ratio = val.gross / c.total if c.total else None
    cost_per_hour = _per_hour(sc, c.total)  # everything it cost, retraining included, as the cost finding says
    if val.gross <= 0:
        text = (f"The {v.decision}s were worth {money(val.gross)} overall ({v.caught} did not outweigh "
                f"{v.false_alarm}), against {money(cost_per_hour)} an hour of running cost. {assumption}")
        return Finding("value", "watch", text, "Value of the decisions per hour", money(val.gross_per_hour),
                       "no value", {"gross_usd": val.gross, "per_decision_usd": per_decision, "ratio": None},
                       None, None, "value")
    text = (f"The {v.decision}s were worth about {money(val.gross_per_hour)} an hour ({v.caught}, minus "
            f"{v.false_alarm}; {money(per_decision)} per {v.decision}) against {money(cost_per_hour)} an hour of "
            f"running cost")
    if ratio is not None and RATIO_SHOWN[0] <= ratio <= RATIO_SHOWN[1]:
        text += f": each $1 of running cost bought about {money(ratio)} of value."
    else:
        text += ", so running costs are negligible beside the value."
    return Finding("value", "ok", text + " " + assumption, "Value of the decisions per hour",
                   money(val.gross_per_hour), "illustrative amounts",
                   {"gross_usd": val.gross, "gross_per_hour_usd": val.gross_per_hour, "per_decision_usd": per_decision,
                    "ratio": ratio if ratio is not None and RATIO_SHOWN[0] <= ratio <= RATIO_SHOWN[1] else None},
                   None, None, "value")
