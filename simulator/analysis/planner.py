"""Capacity planner: the cheapest configuration that meets the service levels with 95 % confidence.

How it searches (and why it is cheap enough to run on a laptop):

1. **Families.** The search space is the replica range times every combination of the other
   knobs (precision, instance type, autoscaler target, warm pool; each only when the scenario
   model has that field). Within a family, latency falls and cost rises with replicas, so the
   answer of a family is its *smallest* replica count that meets every constraint.
2. **Analytic pre-screen.** ``simulator.analysis.preview`` predicts each replica count in microseconds.
   Counts whose model pool would be more than 100 % busy, or whose predicted latency is more
   than twice a latency limit, are ruled out without simulating. The smallest count predicted
   to meet the limits is where the simulation starts. If the first simulated point shows a
   mean service time more than 10 % off the preview's (a mechanism the preview does not
   model), the screen is redone with the measured value.
3. **Simulation with confidence.** Each candidate runs ``reps`` replications with the same
   seeds (common random numbers), adding replications up to ``max_reps`` while a constraint is
   undecided. A constraint is *met* only when the whole 95 % interval is on the right side of
   the limit (for "≤", the upper end is below it), *failed* when the whole interval is on the
   wrong side, *uncertain* otherwise; uncertain counts as not met. The search steps down from
   a feasible count and up from an infeasible one until it finds the boundary.
4. **Choice and frontier.** The recommendation is the cheapest feasible family answer (fewer
   replicas on a tie). Cost is ``cost_usd.monthly_projection`` when the summary has it,
   otherwise replica-hours per month stand in for cost (and the report says so). The Pareto
   frontier of cost against p99 is taken over every simulated configuration.

The search assumes monotonicity in replicas; a scenario where more replicas make latency worse
(e.g. through a shared bottleneck) may be missed, which the frontier table would show.

**What is simulated.** The whole scenario, or, to answer sooner, the window of a chosen length
with the most expected arrivals (:func:`peak_window`): the run then ends with that window and
counts only it, and everything before it is simulated as warm-up, so autoscalers and queues
reach the peak as they would on the day. A plan for the quiet first minutes of a surge would
promise what the peak cannot keep.
"""
from __future__ import annotations

import itertools
import math
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from simulator.analysis import stats
from simulator.analysis.backends import Backend, SerialBackend, simulate_summary
from simulator.analysis.experiments import CONFIDENCE, field_info, flatten_summary, format_value, replication_seeds
from simulator.analysis.preview import preview_scenario
from simulator.common.csv_export import frame_to_csv
from simulator.scenario.budget import check_budget
from simulator.scenario.config import Scenario, ScenarioError, scenario_to_yaml, with_overrides

HOURS_PER_MONTH = 730.0
COST_KPI = "cost_usd.monthly_projection"
PROXY_KPI = "replica_hours_per_month"
P99_KPI = "latency_ms.p99"
PRUNE_FACTOR = 2.0  # a predicted latency this many times the limit is "obviously infeasible"
CALIBRATION_GAP = 0.10

# knob name -> candidate field paths, first existing one wins (fields other teams may add)
KNOBS: dict[str, tuple[str, ...]] = {
    "precision": ("inference.precision",),
    "instance_type": ("cost.instance_type",),
    "autoscaler_target": ("autoscaler.target",),
    "warm_pool": ("autoscaler.warm_pool_replicas", "autoscaler.warm_pool", "inference.warm_pool_replicas",
                  "inference.warm_pool", "cold_start.warm_pool_replicas"),
}


class MissingKpi(ValueError):
    """A constraint names a KPI the scenario's summary does not report."""


# --------------------------------------------------------------------------- model introspection
def allowed_values(path: str) -> list | None:
    """Every allowed value of a field with a fixed set of choices (Literal, or the instance catalog)."""
    info = field_info(path)
    if info is None:
        return None
    if typing.get_origin(info.annotation) is typing.Literal:
        return list(typing.get_args(info.annotation))
    if path == "cost.instance_type":
        from simulator.mechanisms.cost import CATALOG

        return list(CATALOG)
    return None


def knob_path(name: str) -> str | None:
    """The field path of a search knob in this version of the scenario model (None if absent)."""
    return next((p for p in KNOBS[name] if field_info(p) is not None), None)


def autoscaled(sc: Scenario) -> bool:
    auto = getattr(sc, "autoscaler", None)
    return bool(auto is not None and getattr(auto, "enabled", False))


def replica_path(sc: Scenario) -> str:
    """Fixed pools size ``inference.replicas``; autoscaled ones cap ``autoscaler.max_replicas``."""
    return "autoscaler.max_replicas" if autoscaled(sc) else "inference.replicas"


# --------------------------------------------------------------------------- constraints
class Constraint(NamedTuple):
    """``kpi`` must be ``<=`` or ``>=`` ``limit`` with 95 % confidence."""

    kpi: str
    sense: str  # "<=" | ">="
    limit: float
    label: str
    optional: bool = False  # dropped with a note when the summary lacks the KPI

    @property
    def name(self) -> str:
        """The label without its limit: 'p99 latency ≤ 250 ms' -> 'p99 latency'."""
        return self.label.split(" ≤")[0].split(" ≥")[0]

    def status(self, ci: stats.MeanCI) -> str:
        """'met' (whole interval on the right side), 'failed' (whole interval wrong) or 'uncertain'."""
        if ci.n == 0 or math.isnan(ci.mean):
            return "uncertain"
        if self.sense == "<=":
            return "met" if ci.hi <= self.limit else "failed" if ci.lo > self.limit else "uncertain"
        return "met" if ci.lo >= self.limit else "failed" if ci.hi < self.limit else "uncertain"


def p99_at_most(ms: float) -> Constraint:
    return Constraint(P99_KPI, "<=", ms, f"p99 latency ≤ {ms:g} ms")


def availability_at_least(fraction: float) -> Constraint:
    return Constraint("availability", ">=", fraction, f"availability ≥ {100 * fraction:g} %")


def monthly_cost_at_most(usd: float) -> Constraint:
    return Constraint(COST_KPI, "<=", usd, f"monthly cost ≤ ${usd:,.0f}")


def disparate_impact_at_least(ratio: float = 0.8, optional: bool = True) -> Constraint:
    return Constraint("fairness.min_di", ">=", ratio, f"disparate impact ≥ {ratio:g}", optional)


# --------------------------------------------------------------------------- what to simulate
class Window(NamedTuple):
    """The measured window of a planning run: [start_s, end_s], and why it was chosen."""

    start_s: float
    end_s: float
    reason: str


def peak_window(scenario: Scenario, minutes: float) -> Window:
    """The ``minutes``-long stretch of the measured period with the most expected arrivals (the
    earliest on a tie); the whole measured period when it is not longer than that."""
    from simulator.scenario.rates import rate_grid

    length_s = 60.0 * minutes
    measured_s = scenario.duration_s - scenario.warmup_s
    if length_s >= measured_s or scenario.traffic.kind == "replay":
        return Window(scenario.warmup_s, scenario.duration_s, "the whole scenario")
    edges, rate = rate_grid(scenario)
    step = float(edges[1] - edges[0])
    width = max(1, int(round(length_s / step)))
    counts = np.cumsum(np.r_[0.0, rate * step])
    first = int(np.searchsorted(edges, scenario.warmup_s - 1e-9))
    sums = counts[first + width:] - counts[first:len(counts) - width]
    i = first + int(np.argmax(sums))
    start = float(edges[i])
    flat = float(sums.max() - sums.min()) <= 1e-9 * max(float(sums.max()), 1.0)
    mean = float(sums.max()) / (width * step)
    reason = ("traffic is flat, so any stretch is as busy as another" if flat else
              f"the busiest {minutes:g} minutes: {mean:,.1f} {scenario.vocabulary.requests} a second on average")
    return Window(start, start + width * step, reason)


def window_scenario(scenario: Scenario, window: Window) -> Scenario:
    """The scenario ending with ``window`` and counting only it (the time before warms up)."""
    return with_overrides(scenario, {"duration_s": window.end_s, "warmup_s": window.start_s})


# --------------------------------------------------------------------------- search
@dataclass
class Plan:
    """The planner's answer: every configuration looked at, the recommendation and why."""

    scenario: Scenario
    constraints: list[Constraint]
    cost_kpi: str
    cost_is_proxy: bool
    evaluations: pd.DataFrame
    recommendation: dict | None
    explanation: str
    notes: list[str] = field(default_factory=list)
    knobs: list[str] = field(default_factory=list)
    family_answers: list[dict] = field(default_factory=list)  # each family's cheapest feasible row, by cost

    @property
    def frontier(self) -> pd.DataFrame:
        return self.evaluations[self.evaluations["on_frontier"]].sort_values(self.cost_kpi + ".mean")

    def recommended_overrides(self) -> dict:
        """The dotted overrides that apply the recommendation to the scenario (empty when none)."""
        rec = self.recommendation
        if rec is None:
            return {}
        out = {replica_path(self.scenario): int(rec["replicas"])}
        out.update({k: (v.item() if hasattr(v, "item") else v) for k, v in ((k, rec[k]) for k in self.knobs)})
        return out

    def to_json(self) -> dict:
        """What ``plan --json`` prints: the recommendation as overrides, its evidence and the constraints."""
        rec = self.recommendation
        evidence = {}
        if rec is not None:
            for c in self.constraints:
                evidence[c.kpi] = {"mean": rec[f"{c.kpi}.mean"], "lo": rec[f"{c.kpi}.lo"], "hi": rec[f"{c.kpi}.hi"]}
            evidence["replications"] = int(rec["reps"])
        overrides = self.recommended_overrides()
        return {"scenario": self.scenario.name, "feasible": rec is not None,
                "constraints": [{"kpi": c.kpi, "sense": c.sense, "limit": c.limit, "label": c.label}
                                for c in self.constraints],
                "recommended_overrides": overrides,
                "set_args": [f"--set {k}={v}" for k, v in overrides.items()],
                "cost_kpi": self.cost_kpi, "evidence": evidence, "explanation": self.explanation,
                "notes": list(self.notes)}

    def write(self, out_dir: str | Path) -> list[Path]:
        """evaluations.csv, frontier.html, recommendation.txt, scenario.resolved.yaml (base)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / "evaluations.csv", out / "frontier.html", out / "recommendation.txt",
                 out / "scenario.resolved.yaml"]
        frame_to_csv(self.evaluations, paths[0])
        paths[1].write_text(frontier_figure(self).to_html(include_plotlyjs=True), encoding="utf-8")
        paths[2].write_text(self.explanation + "\n" + "".join(f"\nNote: {n}" for n in self.notes) + "\n",
                            encoding="utf-8")
        paths[3].write_text(scenario_to_yaml(self.scenario), encoding="utf-8")
        return paths


class _Search:
    """State of one planning run: the evaluations so far and how to make more."""

    def __init__(self, scenario: Scenario, constraints: list[Constraint], reps: int, max_reps: int,
                 backend: Backend, seed: int, confidence: float, progress: Callable[[str], None] | None):
        self.base, self.constraints = scenario, list(constraints)
        self.reps, self.max_reps, self.backend = reps, max_reps, backend
        self.seeds = replication_seeds(seed, max_reps)
        self.confidence, self.progress = confidence, progress
        self.rows: list[dict] = []
        self.notes: list[str] = []
        self.cost_kpi: str | None = None

    def say(self, text: str) -> None:
        if self.progress is not None:
            self.progress(text)

    # ---------------------------------------------------------------- one configuration
    def evaluate(self, config: dict, replicas: int, sc: Scenario) -> dict:
        """Simulate until every constraint is decided (or ``max_reps``); one evaluation row."""
        payload = sc.model_dump_json()
        flats: list[dict] = []
        n = self.reps
        while True:
            new = self.backend.map(simulate_summary, [(payload, s) for s in self.seeds[len(flats):n]])
            flats += [flatten_summary(s) for s in new]
            for f in flats:  # the cost proxy needs the replica count even where the summary lacks it
                f.setdefault("replicas.mean", float(sc.inference.replicas))
            self._settle_kpis(flats)
            statuses = {c.label: c.status(self._ci(flats, c.kpi)) for c in self.constraints}
            if "uncertain" not in statuses.values() or n >= self.max_reps:
                break
            n = min(self.max_reps, n + self.reps)
        row = {**config, "replicas": replicas, "stage": "simulated", "reps": len(flats)}
        for key in dict.fromkeys([c.kpi for c in self.constraints] + [P99_KPI, self.cost_kpi,
                                                                       "stages.inference.service_ms_mean"]):
            ci = self._ci(flats, key)
            row.update({f"{key}.mean": ci.mean, f"{key}.lo": ci.lo, f"{key}.hi": ci.hi})
        row.update({f"status: {k}": v for k, v in statuses.items()})
        row["feasible"] = all(v == "met" for v in statuses.values())
        row["verdict"] = self._verdict(statuses)
        self.rows.append(row)
        self.say(f"  {config_text(config, replicas)}: {row['verdict']} ({len(flats)} replications)")
        return row

    def _ci(self, flats: list[dict], key: str) -> stats.MeanCI:
        if key == PROXY_KPI:
            values = [f["replicas.mean"] * HOURS_PER_MONTH for f in flats]
        else:
            values = [f.get(key, math.nan) for f in flats]
        values = [v for v in values if v is not None and not math.isnan(v)]
        return stats.mean_ci(values, self.confidence)

    def _settle_kpis(self, flats: list[dict]) -> None:
        """On the first results: choose the cost KPI and drop constraints the summary cannot check."""
        if self.cost_kpi is not None:
            return
        has = {k for f in flats for k, v in f.items() if not math.isnan(v)}
        if COST_KPI in has:
            self.cost_kpi = COST_KPI
        else:
            self.cost_kpi = PROXY_KPI
            self.notes.append("no cost model in this scenario's results: replica-hours per month stand in for cost")
        for c in list(self.constraints):
            if c.kpi in has or (c.kpi == PROXY_KPI):
                continue
            if c.optional:
                self.constraints.remove(c)
                self.notes.append(f"{c.label} skipped: the scenario does not report {c.kpi}")
            else:
                raise MissingKpi(f"{c.label}: the scenario's results have no {c.kpi}")

    def _verdict(self, statuses: dict[str, str]) -> str:
        failed = [k for k, v in statuses.items() if v == "failed"]
        unsure = [k for k, v in statuses.items() if v == "uncertain"]
        if failed:
            return "fails " + ", ".join(failed)
        if unsure:
            return "not proven: " + ", ".join(unsure) + " too close to call"
        return "meets every constraint"

    # ---------------------------------------------------------------- one family
    def screen(self, sc: Scenario, replicas: int, service_scale: float) -> tuple[bool, str, bool]:
        """(ruled_out, reason, predicted_ok) from the analytic preview for one replica count."""
        if service_scale != 1.0:
            inf = sc.inference
            sc = with_overrides(sc, {"inference.service_ms": inf.service_ms * service_scale})
        pv = preview_scenario(sc)
        if not pv["stable"]:
            return True, "the preview says the pipeline cannot keep up with the average load", False
        ok = True
        for c in self.constraints:
            predicted = _predicted(pv, c.kpi)
            if predicted is None or c.sense != "<=":
                continue
            if predicted > PRUNE_FACTOR * c.limit:
                return True, (f"the preview predicts {c.kpi} = {format_value(c.kpi, predicted)}, more than "
                              f"{PRUNE_FACTOR:g}x the limit"), False
            ok = ok and predicted <= c.limit
        return False, "", ok

    def family(self, config: dict, lo: int, hi: int) -> dict | None:
        """Smallest feasible replica count of one family (None when even ``hi`` fails)."""
        path = replica_path(self.base)
        scenarios: dict[int, Scenario] = {}
        for r in range(lo, hi + 1):
            try:
                scenarios[r] = with_overrides(self.base, {**config, path: r})
                check_budget(scenarios[r])
            except ScenarioError as err:
                self.rows.append({**config, "replicas": r, "stage": "invalid", "feasible": False,
                                  "verdict": f"invalid configuration: {err.lines[0]}"})
        if not scenarios:
            return None
        screen_on = not autoscaled(self.base)
        pruned, guess = self._screen_all(scenarios, 1.0, config) if screen_on else (set(), min(scenarios))
        done: dict[int, dict] = {}
        calibrated = not screen_on
        r: int | None = guess
        while r is not None:
            done[r] = self.evaluate(config, r, scenarios[r])
            if not calibrated:
                calibrated = True
                redone = self._calibrate(config, scenarios, done[r])
                if redone is not None:
                    pruned, guess = redone
                    if guess not in done:
                        r = guess
                        continue
            r = self._next_probe(scenarios, pruned, done, first=len(done) == 1)
        feasible = [row for row in done.values() if row["feasible"]]
        return min(feasible, key=lambda row: row["replicas"]) if feasible else None

    @staticmethod
    def _next_probe(scenarios: dict[int, Scenario], pruned: set[int], done: dict[int, dict],
                    first: bool) -> int | None:
        """Next replica count to simulate, or None when the boundary is found.

        The boundary lies between the largest count known to fail (simulated, or ruled out below the
        counts simulated so far) and the smallest known to pass. Right after the preview's guess the
        neighbour is tried (the guess is usually right or off by one); after that, bisection.
        """
        ok = [r for r, row in done.items() if row["feasible"]]
        bad = [r for r, row in done.items() if not row["feasible"]]
        lowest_done = min(done)
        bad += [r for r in pruned if r < lowest_done]
        lo_bad = max(bad) if bad else None
        hi_ok = min(ok) if ok else None
        left = sorted(r for r in scenarios if r not in done and r not in pruned
                      and (lo_bad is None or r > lo_bad) and (hi_ok is None or r < hi_ok))
        if not left:
            return None
        if first:
            return left[-1] if ok else left[0]
        return left[len(left) // 2]

    def _calibrate(self, config: dict, scenarios: dict[int, Scenario], row: dict) -> tuple[set[int], int] | None:
        """Redo the screen with the simulated service time when the preview's differs by > 10 %."""
        measured = row.get("stages.inference.service_ms_mean.mean", math.nan)
        expected = _preview_service_ms(scenarios[row["replicas"]])
        if not expected or not math.isfinite(measured) or abs(measured / expected - 1) <= CALIBRATION_GAP:
            return None
        self.notes.append(f"{config_text(config, None)}: the simulated model takes {measured:.1f} ms per request, "
                          f"not the {expected:.1f} ms the preview assumed; the screen was redone")
        self._drop_screen_rows(config)
        return self._screen_all(scenarios, measured / expected, config)

    def _screen_all(self, scenarios: dict[int, Scenario], scale: float, config: dict) -> tuple[set[int], int]:
        pruned: set[int] = set()
        guess = None
        for r, sc in scenarios.items():
            out, reason, ok = self.screen(sc, r, scale)
            if out:
                pruned.add(r)
                self.rows.append({**config, "replicas": r, "stage": "screened out", "feasible": False,
                                  "verdict": f"ruled out without simulating: {reason}"})
            elif ok and guess is None:
                guess = r
        if guess is None:  # nothing predicted to meet the limits: start at the largest unpruned count
            candidates = [r for r in scenarios if r not in pruned]
            guess = max(candidates) if candidates else max(scenarios)
        return pruned, guess

    def _drop_screen_rows(self, config: dict) -> None:
        self.rows = [row for row in self.rows
                     if not (row["stage"] == "screened out" and all(row.get(k) == v for k, v in config.items()))]


def _predicted(pv: dict, kpi: str) -> float | None:
    """The preview's estimate of a summary KPI, for the latency-type KPIs it covers."""
    if kpi == "latency_ms.p99":
        return pv["latency_ms"]["p99"]
    if kpi == "latency_ms.mean":
        return pv["latency_ms"]["mean"]
    parts = kpi.split(".")
    if len(parts) == 3 and parts[0] == "stages" and parts[2] == "wait_ms_mean":
        return pv["stages"].get(parts[1], {}).get("wait_ms_mean")
    return None


def _preview_service_ms(sc: Scenario) -> float:
    from simulator.analysis.preview import inference_service_ms

    return inference_service_ms(sc)


def config_text(config: dict, replicas: int | None) -> str:
    """'5 replicas, precision int8' for people."""
    parts = ([f"{int(replicas)} replica{'s' if replicas != 1 else ''}"] if replicas is not None else []) + [
        f"{k.split('.')[-1]} {v}" for k, v in config.items()]
    return ", ".join(parts) if parts else "base configuration"


def pareto_mask(cost: list[float], latency: list[float]) -> list[bool]:
    """True for points no other point beats on both cost and latency (ties kept)."""
    pts = list(zip(cost, latency))
    out = []
    for i, (c, lat) in enumerate(pts):
        if math.isnan(c) or math.isnan(lat):
            out.append(False)
            continue
        out.append(not any((c2 <= c and l2 <= lat) and (c2 < c or l2 < lat)
                           for j, (c2, l2) in enumerate(pts) if j != i and not (math.isnan(c2) or math.isnan(l2))))
    return out


def plan(scenario: Scenario, constraints: list[Constraint], *, replicas: tuple[int, int] = (1, 16),
         space: dict[str, list] | None = None, reps: int = 6, max_reps: int = 12,
         backend: Backend | None = None, seed: int | None = None, confidence: float = CONFIDENCE,
         progress: Callable[[str], None] | None = None) -> Plan:
    """Find the cheapest configuration meeting ``constraints`` with ``confidence`` (see module doc).

    ``space`` maps extra field paths to candidate values (precision, instance type, ...); every
    combination is a family searched over ``replicas`` = (low, high).
    """
    lo, hi = replicas
    if not 1 <= lo <= hi:
        raise ValueError(f"replica bounds must satisfy 1 ≤ low ≤ high, got {lo}:{hi}")
    if not 2 <= reps <= max_reps:
        raise ValueError(f"need 2 ≤ reps ≤ max_reps, got {reps} and {max_reps}")
    if not constraints:
        raise ValueError("give at least one constraint")
    space = dict(space or {})
    search = _Search(scenario, constraints, reps, max_reps, backend or SerialBackend(),
                     scenario.seed if seed is None else seed, confidence, progress)
    names = list(space)
    families = [dict(zip(names, combo)) for combo in itertools.product(*(space[n] for n in names))] or [{}]
    if autoscaled(scenario):
        search.notes.append("autoscaling is on: the replica bounds cap autoscaler.max_replicas and the analytic "
                            "pre-screen is skipped (it assumes a fixed pool)")
    answers = []
    for config in families:
        search.say(f"searching {config_text(config, None)} over {lo}-{hi} replicas")
        best = search.family(config, lo, hi)
        if best is not None:
            answers.append(best)
    cost_kpi = search.cost_kpi or COST_KPI
    evaluations = _evaluation_frame(search.rows, names, cost_kpi)
    rec = min(answers, key=lambda row: (row[f"{cost_kpi}.mean"], row["replicas"])) if answers else None
    if rec is not None:
        evaluations["recommended"] = [
            row["stage"] == "simulated" and row["replicas"] == rec["replicas"]
            and all(row[n] == rec[n] for n in names) for _, row in evaluations.iterrows()]
    answers.sort(key=lambda row: (row[f"{cost_kpi}.mean"], row["replicas"]))
    p = Plan(scenario, search.constraints, cost_kpi, cost_kpi == PROXY_KPI, evaluations, rec, "", search.notes,
             names, answers)
    p.explanation = explain(p)
    return p


def _evaluation_frame(rows: list[dict], names: list[str], cost_kpi: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for col in (f"{cost_kpi}.mean", f"{P99_KPI}.mean"):
        if col not in frame:
            frame[col] = math.nan
    sim = frame["stage"] == "simulated"
    frame["on_frontier"] = False
    frame.loc[sim, "on_frontier"] = pareto_mask(frame.loc[sim, f"{cost_kpi}.mean"].tolist(),
                                                frame.loc[sim, f"{P99_KPI}.mean"].tolist())
    frame["recommended"] = False
    order = [*names, "replicas", "stage"]
    return frame.sort_values(order, kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- explanation
def _cost_text(p: Plan, row: dict) -> str:
    value = row[f"{p.cost_kpi}.mean"]
    if p.cost_is_proxy:
        return f"{value:,.0f} replica-hours per month (no cost model in this scenario: replica-hours stand in)"
    return f"about ${value:,.0f} per month"


def explain(p: Plan) -> str:
    """One paragraph for an architect: what to run, why it is enough, and what was ruled out."""
    ev = p.evaluations
    simulated = ev[ev["stage"] == "simulated"]
    screened = ev[ev["stage"] == "screened out"]
    limits = "; ".join(c.label for c in p.constraints)
    if p.recommendation is None:
        return (f"No configuration in the search space meets every constraint ({limits}) with 95 % confidence: "
                f"{_count(len(simulated), 'configuration')} simulated and {len(screened)} ruled out by the analytic "
                f"preview. Widen the replica range, relax a constraint, or change the architecture.")
    rec = p.recommendation
    what = config_text({k: rec[k] for k in p.knobs}, int(rec["replicas"]))
    evidence = []
    for c in p.constraints:
        bound = rec[f"{c.kpi}.hi"] if c.sense == "<=" else rec[f"{c.kpi}.lo"]
        evidence.append(f"{c.name} is {format_value(c.kpi, rec[f'{c.kpi}.mean'])} (95 % interval "
                        f"{'up' if c.sense == '<=' else 'down'} to {format_value(c.kpi, bound)})")
    text = (f"Recommended: {what}. Over {int(rec['reps'])} replications its {'; '.join(evidence)}, so it meets "
            f"{limits} even at the unfavourable end of each interval, for {_cost_text(p, rec)}.")
    same_family = simulated[(simulated["replicas"] == rec["replicas"] - 1)
                            & _same(simulated, {k: rec[k] for k in p.knobs})]
    if len(same_family):
        below = same_family.iloc[0]
        text += f" One replica fewer was simulated and {below['verdict']}."
    elif rec["replicas"] > ev["replicas"].min():
        below = screened[(screened["replicas"] == rec["replicas"] - 1) & _same(screened, {k: rec[k] for k in p.knobs})]
        if len(below):
            text += f" One replica fewer was {below.iloc[0]['verdict']}."
    if len(p.family_answers) > 1:
        alt = p.family_answers[1]
        text += (f" The best alternative, {config_text({k: alt[k] for k in p.knobs}, int(alt['replicas']))}, "
                 f"also meets them for {_cost_text(p, alt).split(' (')[0]}.")
    text += (f" In all, {_count(len(simulated), 'configuration')} simulated and {len(screened)} ruled out by "
             f"the instant queueing-theory preview without simulating.")
    return text


def _count(n: int, noun: str) -> str:
    """'1 configuration was' / '3 configurations were'."""
    return f"{n} {noun} was" if n == 1 else f"{n} {noun}s were"


def _same(frame: pd.DataFrame, config: dict) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for k, v in config.items():
        mask &= frame[k] == v
    return mask


# --------------------------------------------------------------------------- chart
def frontier_figure(p: Plan):
    """Cost against p99 for every simulated configuration, the frontier and the recommendation."""
    import plotly.graph_objects as go

    ev = p.evaluations[p.evaluations["stage"] == "simulated"].copy()
    x, y = f"{p.cost_kpi}.mean", f"{P99_KPI}.mean"
    ev["label"] = [config_text({k: r[k] for k in p.knobs}, int(r["replicas"])) for _, r in ev.iterrows()]
    fig = go.Figure()
    for feasible, name, colour in ((True, "meets every constraint", "#54A24B"), (False, "does not", "#E45756")):
        part = ev[ev["feasible"] == feasible]
        fig.add_trace(go.Scatter(
            x=part[x], y=part[y], mode="markers", name=name, marker={"color": colour, "size": 10},
            text=part["label"], hovertemplate="%{text}<br>cost %{x:,.2f}<br>p99 %{y:,.1f} ms<extra></extra>",
            error_y={"type": "data", "symmetric": False, "array": part[f"{P99_KPI}.hi"] - part[y],
                     "arrayminus": part[y] - part[f"{P99_KPI}.lo"]}))
    front = ev[ev["on_frontier"]].sort_values(x)
    fig.add_trace(go.Scatter(x=front[x], y=front[y], mode="lines", name="Pareto frontier",
                             line={"color": "#4C78A8", "dash": "dot"}, hoverinfo="skip"))
    if p.recommendation is not None:
        fig.add_trace(go.Scatter(x=[p.recommendation[x]], y=[p.recommendation[y]], mode="markers",
                                 name="recommended", marker={"symbol": "star", "size": 20, "color": "#F2CF5B",
                                                             "line": {"color": "black", "width": 1}}))
    for c in p.constraints:
        if c.kpi == P99_KPI:
            fig.add_hline(y=c.limit, line_dash="dash", annotation_text=c.label)
    cost_title = "replica-hours per month (cost proxy)" if p.cost_is_proxy else "monthly cost (USD)"
    fig.update_layout(title="Cost against p99 latency (95 % intervals)", xaxis_title=cost_title,
                      yaxis_title="p99 latency (ms)")
    return fig
