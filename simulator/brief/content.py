"""What a decision brief says, built once; the PDF and the slides only lay it out.

Every number comes from the paired comparison (``simulator.analysis.experiments.compare``) and is
formatted with the same helpers as ``python -m simulator compare``; every risk is a finding of one
of the two runs; the verdict is read off the comparison's verdicts (``simulator.brief.verdict``).
Text stays plain here: each renderer escapes it for its own format.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from simulator.analysis.experiments import Comparison, format_signed, format_value
from simulator.brief.chart import Bar, forest_svg, signed_pct
from simulator.brief.verdict import plain_verdict, relative_range
from simulator.report.compare import compare_runs as compare_single_runs
from simulator.report.finding import Findings
from simulator.report.narrative import change_lines
from simulator.report.results import RunResult
from simulator.scenario.config import Scenario
from simulator.viz.diagram import architecture_dot
from simulator.viz.report import diagram_svg

# measures of one decision; the others describe the whole simulated period
PER_PERIOD = ("throughput_rps", "cost_usd.total", "cost_usd.monthly_projection", "value_usd.net_per_hour")
# the chart leaves out what has no better side (utilization) and near-duplicates (the window's cost)
CHART_SKIP = ("stages.inference.utilization", "cost_usd.total", "model.accuracy_online")
RISKS_PER_OPTION = 5
KEY_KPIS = ("cost_usd.per_1k_requests", "on_time_fraction", "latency_ms.p99", "availability")  # the first page's
DESCRIPTION_CHARS = 360  # about four lines beside the other option
VERDICT_WORDS = {"B_better": "B better", "A_better": "A better", "too_close": "too close to call",
                 "B_higher": "B higher", "B_lower": "B lower"}


@dataclass(frozen=True)
class Option:
    letter: str          # "A" | "B"
    label: str           # "baseline", "black_friday (inference.replicas=8)"
    description: str
    version: str = ""    # "baseline v3" when the scenario is a saved version in the Library


@dataclass(frozen=True)
class Row:
    """One measure: both means, the paired difference B - A with its 95 % interval, and its verdict."""

    kpi: str
    label: str
    group: str           # "per decision" | "per period"
    a: str
    b: str
    difference: str
    interval: str
    relative: str        # "-13.2 % to -11.8 %" of A's value, "" when A's value is zero
    verdict: str         # "B is better with 95 % confidence"
    code: str            # B_better | A_better | too_close | B_higher | B_lower

    @property
    def verdict_short(self) -> str:
        """'B better' for a table cell whose header says 95 % confidence."""
        return VERDICT_WORDS.get(self.code, self.verdict)


@dataclass(frozen=True)
class Risk:
    option: str          # "A" | "B" | "A and B"
    severity: str        # "watch" | "breach"
    status: str
    text: str


@dataclass(frozen=True)
class Brief:
    title: str
    question: str
    options: tuple[Option, Option]
    changes: list[str]
    rows: list[Row]
    verdict: str
    confidence: str
    risks: list[Risk]
    more_risks: dict[str, int]
    assumptions: list[str]
    chart_svg: str
    diagrams: dict[str, str | None]   # letter -> SVG in rows of three boxes (None when Graphviz is missing)
    footer: list[str]    # every line needed to reproduce it
    stamp: str           # the same, short enough for the bottom of each page
    replications: int
    warnings: list[str] = field(default_factory=list)  # the two runs are not alike (traffic, clock)
    chosen: str = ""
    rationale: str = ""


def shorten(text: str, limit: int = DESCRIPTION_CHARS) -> str:
    """At most ``limit`` characters, cut at a word with '…' (a brief is no place for a scenario's essay)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def scenario_hash(scenario: Scenario) -> str:
    """First 12 hex digits of the SHA-256 of the scenario's full JSON: same hash, same settings."""
    return hashlib.sha256(scenario.model_dump_json().encode("utf-8")).hexdigest()[:12]


def _rows(comparison: Comparison) -> list[Row]:
    rows = []
    for r in comparison.table.to_dict("records"):
        rel = relative_range(r)
        rows.append(Row(
            kpi=r["kpi"], label=r["label"], group="per period" if r["kpi"] in PER_PERIOD else "per decision",
            a=format_value(r["kpi"], r["a_mean"]), b=format_value(r["kpi"], r["b_mean"]),
            difference=format_signed(r["kpi"], r["diff_mean"]),
            interval=f"{format_signed(r['kpi'], r['lo'])} to {format_signed(r['kpi'], r['hi'])}"
            if math.isfinite(r["lo"]) and math.isfinite(r["hi"]) else "needs ≥ 2 replications",
            relative=f"{signed_pct(rel[0])} % to {signed_pct(rel[1])} %" if rel else "",
            verdict=r["sentence"], code=r["verdict"]))
    return sorted(rows, key=lambda row: row.group != "per decision")  # stable: the KPI order within a group


def _bars(comparison: Comparison) -> list[Bar]:
    bars = []
    for r in comparison.table.to_dict("records"):
        rel = relative_range(r)
        if r["kpi"] in CHART_SKIP or rel is None:
            continue
        bars.append(Bar(r["label"], 100 * r["diff_mean"] / abs(r["a_mean"]), rel[0], rel[1], r["verdict"]))
    return bars


def _risks(found_a: Findings, found_b: Findings) -> tuple[list[Risk], dict[str, int]]:
    """The findings that need attention, breaches first; one the two runs share is told once, as 'A and B'."""
    def notable(found: Findings):
        return sorted(found.notable(), key=lambda f: f.severity != "breach")  # stable: the findings' own order

    in_a = {f.headline for f in found_a.notable()}
    in_b = {f.headline for f in found_b.notable()}
    risks, more = [], {"A": 0, "B": 0}
    for letter, found, other in (("B", found_b, in_a), ("A", found_a, in_b)):
        mine = [f for f in notable(found) if not (letter == "A" and f.headline in in_b)]
        for f in mine[:RISKS_PER_OPTION]:
            risks.append(Risk("A and B" if f.headline in other else letter, f.severity, f.status, f.headline))
        more[letter] = max(0, len(mine) - RISKS_PER_OPTION)
    return sorted(risks, key=lambda r: r.severity != "breach"), more


def _assumptions(comparison: Comparison, run_a: RunResult) -> list[str]:
    reps = len(comparison.a.runs)
    cost = run_a.summary.cost_usd
    out = [f"Each option was simulated {reps} times; replication i of A and of B share seed i, so the same "
           f"{run_a.scenario.vocabulary.customers} arrive at the same moments in both (common random numbers). "
           f"Intervals are 95 % paired-t intervals of B - A over those {reps} pairs."]
    if cost is not None:
        out.append(f"Prices are illustrative list prices from the scenario (node type {cost.instance_type}), not a "
                   f"vendor quote; a monthly figure holds the simulated period's cost rate for every hour of a month.")
    out.append("Only what the scenarios describe is simulated: traffic, faults and components that are not in "
               "them (other services on the same machines, network between sites, deployments, people on call) "
               "are left out.")
    out.append(f"A: {comparison.a.warmup_sentence}")
    out.append(f"B: {comparison.b.warmup_sentence}")
    return out


def build_brief(comparison: Comparison, run_a: RunResult, run_b: RunResult, found_a: Findings, found_b: Findings,
                option_a: Option, option_b: Option, *, seed: int, code_version: str, question: str = "",
                chosen: str = "", rationale: str = "", created: datetime | None = None, command: str = "") -> Brief:
    """The whole brief. ``run_a``/``run_b`` are single runs at the base seed (their findings give the risks and
    colour the diagrams); the numbers all come from ``comparison``. ``command`` is the command line that makes the
    same brief, when there is one."""
    sc_a, sc_b = comparison.a.scenario, comparison.b.scenario
    changes = change_lines(sc_a, sc_b)
    question = question or f"Should we run {option_b.label} instead of {option_a.label}?"
    verdict = plain_verdict(comparison.table, "B", sc_a.vocabulary.customers)
    risks, more_risks = _risks(found_a, found_b)
    single = compare_single_runs(run_a, run_b)
    reps = len(comparison.a.runs)
    seeds = [int(s) for s in comparison.a.runs["seed"]]
    shown = ", ".join(map(str, seeds[:3])) + (f" … ({reps} in all)" if reps > 3 else "")
    created = created or datetime.now(UTC)
    footer = [f"{o.letter}: {sc.name}" + (f" (saved as {o.version})" if o.version else "")
              + f" · settings hash {scenario_hash(sc)}" for o, sc in ((option_a, sc_a), (option_b, sc_b))]
    footer += [f"Base seed {seed}; replication seeds {shown}; diagrams and risks from the runs at seed {run_a.seed}",
               f"Pipeline Twin {code_version} · made {created:%Y-%m-%d %H:%M} UTC"]
    if command:
        footer.append(f"Command: {command}")
    stamp = (f"A: {sc_a.name} ({scenario_hash(sc_a)}) · B: {sc_b.name} ({scenario_hash(sc_b)}) · base seed {seed}, "
             f"{reps} replications · Pipeline Twin {code_version} · {created:%Y-%m-%d %H:%M} UTC")
    diagrams = {letter: diagram_svg(architecture_dot(run.scenario, found, run.summary, rankdir="rows"))
                for letter, run, found in (("A", run_a, found_a), ("B", run_b, found_b))}
    return Brief(
        title=f"Decision brief: {sc_a.name}" + (f" or {sc_b.name}" if sc_b.name != sc_a.name else ""),
        question=question,
        options=tuple(Option(o.letter, o.label, shorten(o.description), o.version) for o in (option_a, option_b)), changes=changes, rows=_rows(comparison),
        verdict=verdict.sentence, confidence=verdict.confidence, risks=risks, more_risks=more_risks,
        assumptions=_assumptions(comparison, run_a),
        # the Compare page's warnings, less what they say about its time charts (a brief has none)
        warnings=[w.split(", so the charts")[0].rstrip(".") + "." for w in single["warnings"]],
        chart_svg=forest_svg(_bars(comparison)),
        diagrams=diagrams, footer=footer, stamp=stamp, replications=reps, chosen=chosen, rationale=rationale)
