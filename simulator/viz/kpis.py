"""KPI tiles: findings (and, for Compare, measured numbers) as labels, values, status words and tooltips.

A verdict tile renders one finding: its short title and value, its status word and severity
(shown as a coloured word, never colour alone), and the finding's full sentence as the tooltip.
No tile compares a number with a threshold. Compare's tiles carry the raw number and which
direction is better, so deltas get the right colour; money there is per decision only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from simulator.report.compare import cost_per_1k
from simulator.report.finding import SEVERITY_ORDER, Finding, Findings
from simulator.report.results import RunResult
from simulator.report.words import money, pct, short_ms

SEVERITY_COLOUR = {"ok": "green", "watch": "orange", "breach": "red"}
# after the service level, capacity and money, the other findings by severity, then in this order
OK_ORDER = ("incident", "release", "fairness", "review", "value", "scaling", "traffic", "drift")


@dataclass
class Tile:
    """One tile. ``number``/``better`` ('higher' | 'lower') drive Compare's deltas; ``severity`` and
    ``status`` come from a finding."""

    key: str
    label: str
    value: str
    help: str
    number: float | None = None
    better: str | None = None
    unit: str = ""
    status: str = ""
    severity: str | None = None


def finding_tile(f: Finding) -> Tile:
    return Tile(f.key, f.title, f.value, f.headline, status=f.status, severity=f.severity)


def _lead(found: Findings) -> list[Finding]:
    """The service level, the most stretched capacity, and money (the incident's cost when priced)."""
    out = [f for f in found.of("service_level")]
    capacity = found.of("capacity")
    if capacity:
        out.append(max(capacity, key=lambda f: (SEVERITY_ORDER[f.severity], f.evidence.get("peak_utilization") or 0)))
    money_f = found.get("incident_cost") or found.get("cost")
    if money_f is not None:
        out.append(money_f)
    return out


def overview_tiles(found: Findings, max_tiles: int = 6) -> list[Tile]:
    """Service level, capacity and money first, then every other finding that needs attention
    (breach before watch), then the remaining ones, up to ``max_tiles``."""
    lead = _lead(found)
    seen = {id(f) for f in lead}
    rest = [f for f in found if id(f) not in seen and f.topic not in ("capacity", "cost")]
    rest.sort(key=lambda f: (-SEVERITY_ORDER[f.severity], OK_ORDER.index(f.topic) if f.topic in OK_ORDER else 99))
    return [finding_tile(f) for f in (lead + rest)[:max_tiles]]


def moment_tiles(found: Findings) -> list[Tile]:
    """Tiles for one moment of a replay (from :func:`simulator.report.findings.moment`): short labels
    so they never wrap mid-word."""
    level = found.first("service_level")
    e = level.evidence if level else {}

    def rate(x) -> str:
        return "-" if x is None else f"{x:,.1f}"

    tiles = [Tile("arrivals_now", "Arriving per s", rate(e.get("arrival_rate_per_s")),
                  "Requests arriving per second in this moment of the run."),
             Tile("answers_now", "Answered per s", rate(e.get("answer_rate_per_s")),
                  "Decisions delivered per second in this moment (fallback answers count)."),
             Tile("failures_now", "Errors per s", rate(e.get("failure_rate_per_s")),
                  "Requests that got no answer, per second, in this moment.")]
    if level is not None:
        tiles.append(finding_tile(level))
    for f in found:
        if f.topic in ("capacity", "breaker", "release", "incident") and f.component in (
                "inference", "breaker", "canary", "external_api", "feature_db"):
            tiles.append(finding_tile(f))
    return tiles


# --------------------------------------------------------------------------- compare
def compare_tiles(result: RunResult) -> list[Tile]:
    """Measured numbers for a side-by-side: service quality and money per decision (never totals)."""
    s = result.summary
    v = result.scenario.vocabulary
    per_1k = cost_per_1k(result)
    value = s.value_usd.gross / s.requests.answered if s.value_usd is not None and s.requests.answered else None
    return [
        Tile("on_time", "Answered on time", pct(s.on_time_fraction),
             f"Share of {v.requests} answered within the promised time; failed ones count as late.",
             s.on_time_fraction, "higher", "pct"),
        Tile("availability", "Got an answer", pct(s.availability),
             f"Share of {v.customers} who got an answer at all (a fallback answer counts).", s.availability,
             "higher", "pct"),
        Tile("p99", "Slowest 1 % wait over", short_ms(s.latency_ms.p99),
             "The p99 latency: 99 of every 100 answers were faster than this.", s.latency_ms.p99, "lower", "ms"),
        Tile("cost_per_1k", "Cost per 1,000 decisions", money(per_1k),
             "Everything the service cost divided by the decisions it made (illustrative prices). Per decision, so "
             "a run with less traffic does not look cheaper just for that.", per_1k, "lower", "usd"),
        Tile("value_per_decision", "Value per decision", money(value),
             "What one decision was worth on average (the scenario's illustrative amounts).", value, "higher", "usd"),
    ]


def delta_text(a: Tile, b: Tile) -> str | None:
    """How tile ``b`` differs from ``a`` in the tile's unit ('+0.42 pp', '-12 ms'), None if unknown."""
    if a.number is None or b.number is None or not (math.isfinite(a.number) and math.isfinite(b.number)):
        return None
    d = b.number - a.number
    if abs(d) <= 1e-12 * max(1.0, abs(a.number)) or (a.unit == "pct" and abs(100 * d) < 0.005):
        return None  # no visible change: no arrow
    if a.unit == "pct":
        return f"{100 * d:+.2f} pp"
    if a.unit == "ms":
        return ("+" if d >= 0 else "-") + short_ms(abs(d))
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
