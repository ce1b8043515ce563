"""KPI tiles: a run's summary turned into plain-language labels, values and tooltips.

Each tile carries the raw number and which direction is better, so the Compare page can
show deltas in the right colour. Tiles for cost, incidents and fairness appear only when
the summary has those keys (other modules add them), so nothing breaks without them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from simulator.report.words import busiest_stage, find_section, is_enabled, money, pct, short_ms, stage_title
from simulator.scenario.config import Scenario

HELP = {
    "on_time": "Share of payments that got their fraud decision within the promised time ({slo}), the "
               "service-level objective (SLO). Failed requests count as late.",
    "availability": "Availability: the share of customers who got an answer at all (a fallback answer "
                    "counts) instead of an error.",
    "p99": "The p99 latency (99th percentile): 99 of every 100 customers got their decision faster than "
           "this. It is what your unluckiest customers experience.",
    "throughput": "Throughput: decisions delivered per second, on average over the measured period.",
    "cost_per_1k": "What 1,000 fraud decisions cost in compute, streaming, lookups and API calls "
                   "(illustrative prices; replace them with your own).",
    "monthly_cost": "The run's average spending rate held for a whole month. Only as representative as "
                    "the simulated period.",
    "incidents": "Faults in this scenario (outages, crashes, slowdowns) and how many the service had "
                 "recovered from by the end of the run.",
    "fairness": "Disparate impact: approval rates of customer groups are compared; a ratio below 0.8 "
                "(the four-fifths rule) is flagged for review.",
    "fallback": "Customers who got a simpler answer (for example the last known weather) while a "
                "dependency was failing. Better than an error, slightly less accurate.",
    "busiest": "Utilization of the busiest part: the share of its capacity in use. Above about 85 % "
               "waiting lines grow quickly.",
    "value": "Money the fraud decisions saved (fraud caught) minus what false alarms cost, with the "
             "scenario's illustrative amounts.",
}


@dataclass
class Tile:
    """One KPI tile. ``number`` is the raw value used for deltas; ``better`` is 'higher' or 'lower'."""

    key: str
    label: str
    value: str
    help: str
    number: float | None = None
    better: str | None = None
    unit: str = ""


def _f(x) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _cost(summary: dict) -> dict:
    cost = summary.get("cost_usd")
    if isinstance(cost, dict):
        return cost
    if _f(cost) is not None:
        return {"total": _f(cost)}
    return {}


def _incidents(summary: dict) -> tuple[int, int] | None:
    """(faults, recovered) from the summary's recovery records, else None."""
    rec = summary.get("recovery")
    if isinstance(rec, list) and rec:
        done = sum(1 for r in rec if isinstance(r, dict) and r.get("recovered_s") is not None)
        return len(rec), done
    if isinstance(rec, dict) and rec:
        n = int(rec.get("faults", rec.get("count", 0)) or 0)
        return (n, int(rec.get("recovered", n) or 0)) if n else None
    n = (summary.get("events") or {}).get("fault_started", 0)
    return (n, (summary.get("events") or {}).get("fault_ended", 0)) if n else None


def _fairness(summary: dict) -> tuple[str, float | None] | None:
    """('No gap found' | 'Gap flagged', worst ratio) from the summary's fairness block."""
    fair = summary.get("fairness")
    if not isinstance(fair, dict) or not fair or fair.get("enabled") is False:
        return None
    ratio = None
    for key in ("min_ratio", "worst_ratio", "impact_ratio", "ratio"):
        if _f(fair.get(key)) is not None:
            ratio = _f(fair.get(key))
            break
    flagged = fair.get("flagged")
    if flagged is None:
        flagged = bool(fair.get("flags") or fair.get("flag_count") or fair.get("windows_flagged"))
    return ("Gap flagged" if flagged else "No gap found"), ratio


def overview_tiles(scenario: Scenario, summary: dict, max_tiles: int = 6) -> list[Tile]:
    """Up to ``max_tiles`` headline tiles: service quality first, then cost, incidents, fairness."""
    slo = short_ms(scenario.slo_latency_ms)
    lat = summary.get("latency_ms") or {}
    tiles = [
        Tile("on_time", "Answered on time", pct(summary.get("on_time_fraction")),
             HELP["on_time"].format(slo=slo), _f(summary.get("on_time_fraction")), "higher", "pct"),
        Tile("availability", "Got an answer", pct(summary.get("availability")), HELP["availability"],
             _f(summary.get("availability")), "higher", "pct"),
        Tile("p99", "Slowest 1 % wait over", short_ms(_f(lat.get("p99"))), HELP["p99"], _f(lat.get("p99")),
             "lower", "ms"),
    ]
    extra: list[Tile] = []
    cost = _cost(summary)
    if _f(cost.get("per_1k_requests")) is not None:
        extra.append(Tile("cost_per_1k", "Cost per 1,000 decisions", money(_f(cost["per_1k_requests"])),
                          HELP["cost_per_1k"], _f(cost["per_1k_requests"]), "lower", "usd"))
    if _f(cost.get("monthly_projection")) is not None:
        extra.append(Tile("monthly_cost", "Monthly cost", money(_f(cost["monthly_projection"])),
                          HELP["monthly_cost"], _f(cost["monthly_projection"]), "lower", "usd"))
    incidents = _incidents(summary)
    if incidents:
        n, done = incidents
        extra.append(Tile("incidents", "Incidents recovered", f"{done} of {n}", HELP["incidents"],
                          float(done), "higher", "count"))
    fair = _fairness(summary)
    if fair:
        text, ratio = fair
        extra.append(Tile("fairness", "Fairness check", text + (f" ({ratio:.2f})" if ratio is not None else ""),
                          HELP["fairness"], ratio, "higher", "ratio"))
    req = summary.get("requests") or {}
    arrived = req.get("arrived") or 0
    if req.get("degraded") and arrived:
        extra.append(Tile("fallback", "Fallback answers", pct(req["degraded"] / arrived), HELP["fallback"],
                          req["degraded"] / arrived, "lower", "pct"))
    tiles += extra
    if len(tiles) < 5:
        tiles.append(Tile("throughput", "Decisions per second", f"{_f(summary.get('throughput_rps')) or 0:,.1f}",
                          HELP["throughput"], _f(summary.get("throughput_rps")), "higher", "rate"))
    if len(tiles) < 5:
        busiest = busiest_stage(scenario, summary)
        if busiest:
            stage, util = busiest
            tiles.append(Tile("busiest", f"Busiest: {stage_title(scenario, stage)}", f"{100 * util:.0f} % busy",
                              HELP["busiest"], util, "lower", "pct"))
    return tiles[:max_tiles]


def delta_text(a: Tile, b: Tile) -> str | None:
    """How tile ``b`` differs from ``a`` in the tile's unit ('+0.42 pp', '-12 ms'), None if unknown."""
    if a.number is None or b.number is None:
        return None
    d = b.number - a.number
    if abs(d) <= 1e-12 * max(1.0, abs(a.number)) or (a.unit == "pct" and abs(100 * d) < 0.005):
        return None  # no visible change: no arrow
    if a.unit == "pct":
        return f"{100 * d:+.2f} pp"
    if a.unit == "ms":
        sign = "+" if d >= 0 else "-"
        return f"{sign}{short_ms(abs(d))}"
    if a.unit == "usd":
        return ("+" if d >= 0 else "-") + money(abs(d))
    if a.unit == "rate":
        return f"{d:+,.1f}"
    if a.unit == "ratio":
        return f"{d:+.2f}"
    return f"{d:+,.0f}"


def delta_colour(tile: Tile) -> str:
    """Streamlit's delta_color: green when the change is in the better direction."""
    return {"higher": "normal", "lower": "inverse"}.get(tile.better or "", "off")


def snapshot_tiles(scenario: Scenario, snap: dict) -> list[Tile]:
    """Tiles for one moment of a replay (from :func:`simulator.viz.diagram.snapshot_at`)."""
    def rate(x):
        return "-" if x is None else f"{x:,.1f}"

    tiles = [
        Tile("arrivals_now", "Payments arriving (per second)", rate(snap.get("arrival_rate_per_s")),
             "Arrival rate in this moment of the run."),
        Tile("throughput_now", "Decisions made (per second)", rate(snap.get("throughput_rps")),
             HELP["throughput"]),
        Tile("p99_now", "Slowest 1 % wait (now)", short_ms(_f(snap.get("latency_p99_ms"))), HELP["p99"]),
    ]
    queue = (snap.get("queue") or {}).get("inference")
    if queue is not None:
        tiles.append(Tile("queue_now", "Waiting for the fraud model", f"{queue:,.1f}",
                          "Requests queued in front of the model servers (time-average over this moment)."))
    if snap.get("replicas") is not None:
        tiles.append(Tile("replicas_now", "Model servers running", f"{snap['replicas']:.0f}",
                          "Replicas of the fraud model that were up and ready."))
    if snap.get("breaker_state") is not None:
        words = {"CLOSED": "Closed", "OPEN": "Open", "HALF_OPEN": "Testing", "FORCED_OPEN": "Held open",
                 "DISABLED": "Switched off", "METRICS_ONLY": "Recording only"}
        state = str(snap["breaker_state"])
        tiles.append(Tile("breaker_now", "Safety switch", words.get(state, state),
                          "The circuit breaker. Closed: normal. Open: calls to the failing service are stopped "
                          "and a fallback answers instead. Testing (half-open): a few trial calls decide "
                          "whether to close again. Held open, switched off, recording only: set by an "
                          "operator (e.g. for planned maintenance)."))
    if snap.get("canary_weight_pct") is not None and is_enabled(find_section(scenario, "canary")):
        tiles.append(Tile("canary_now", "New model's share of traffic", f"{snap['canary_weight_pct']:.0f} %",
                          "Canary release: the new model version gets a growing share of traffic while its "
                          "errors and latency are checked."))
    return tiles
