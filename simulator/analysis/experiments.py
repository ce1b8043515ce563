"""Replications, comparisons and sweeps: every number with its confidence interval.

Why: one run is one roll of the dice. Here a scenario is run N times with independent seeds
and each KPI is reported as a mean with a Student-t 95 % interval (simulator.analysis.stats).

- **Seeds.** Replication i uses the seed of ``SeedSequence(base_seed).spawn(...)[i]``; it
  does not depend on how many replications are asked for, so adding replications (or
  running until precise) keeps the earlier ones. Two scenarios run with the same seeds share
  their random numbers stream by stream (common random numbers), which is what makes the
  paired comparison tight; sweeps reuse the same seeds at every point for the same reason.
- **Warm-up.** Each run's mean-latency time series is checked with MSER-5; the report says
  whether the configured ``warmup_s`` covers the transient it finds.
- **Tidy frames.** ``runs``: one row per replication (per point, for sweeps) with the summary
  flattened to dotted columns (``latency_ms.p99``, ``stages.inference.wait_ms_mean``);
  ``kpis``: one row per KPI with mean, half-width, lo, hi and n.
"""
from __future__ import annotations

import itertools
import json
import math
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.stats import norm

from simulator.analysis import stats
from simulator.analysis.backends import Backend, SerialBackend, simulate_summary
from simulator.analysis.stats import WARMUP_COLUMN
from simulator.common.csv_export import frame_to_csv
from simulator.report.summary_model import Summary, flatten
from simulator.scenario.budget import check_budget
from simulator.scenario.config import Scenario, ScenarioError, parse_override, scenario_to_yaml, with_overrides

CONFIDENCE = 0.95
# summary fields that describe the run rather than measure it: no interval for these
BOOKKEEPING = ("schema_version", "seed", "sim_duration_s", "warmup_s", "slo_latency_ms", "wall_s")
# count families whose keys are absent when zero
ZERO_WHEN_ABSENT = ("failures_by_reason.", "events.", "requests.")


# --------------------------------------------------------------------------- KPI metadata
class Kpi(NamedTuple):
    """How to read a KPI: label, direction (None = neither better) and unit for display."""

    key: str
    label: str
    lower_is_better: bool | None
    unit: str  # "ms", "fraction", "per_s", "usd", ""


HEADLINE_KPIS: tuple[Kpi, ...] = (
    Kpi("latency_ms.mean", "mean latency", True, "ms"),
    Kpi("latency_ms.p99", "p99 latency", True, "ms"),
    Kpi("availability", "availability", False, "fraction"),
    Kpi("on_time_fraction", "answered on time", False, "fraction"),
    Kpi("throughput_rps", "throughput", False, "per_s"),
    Kpi("stages.inference.utilization", "model utilization", None, "fraction"),
    Kpi("stages.inference.wait_ms_mean", "mean wait for the model", True, "ms"),
    Kpi("cost_usd.per_1k_requests", "cost per 1,000 decisions", True, "usd"),
    Kpi("cost_usd.total", "cost of the simulated window", True, "usd"),
    Kpi("cost_usd.monthly_projection", "monthly cost", True, "usd"),
    Kpi("fairness.min_di", "lowest disparate-impact ratio", False, ""),
    Kpi("model.accuracy", "model accuracy on test data", False, "fraction"),
    Kpi("model.accuracy_online", "accuracy on decisions served", False, "fraction"),
    Kpi("value_usd.net_per_hour", "net value per hour", False, "usd"),
)
_KNOWN = {k.key: k for k in HEADLINE_KPIS}


_LOWER_WORDS = {"latency", "wait", "cost", "failed", "lag", "backlog", "rejected", "timeout"}
_HIGHER_WORDS = {"availability", "time", "accuracy", "auc", "recall", "ok", "di", "value"}  # on_time, min_di


def kpi_info(key: str) -> Kpi:
    """Metadata for a KPI key; keys outside the headline list get a direction from the words in it."""
    if key in _KNOWN:
        return _KNOWN[key]
    words = set(key.lower().replace(".", "_").split("_"))
    lower: bool | None = True if words & _LOWER_WORDS else False if words & _HIGHER_WORDS else None
    if words & {"ms"}:
        unit = "ms"
    elif words & {"utilization", "fraction", "availability", "accuracy"}:
        unit = "fraction"
    else:
        unit = "usd" if words & {"usd"} else ""
    return Kpi(key, key, lower, unit)


def format_value(key: str, value: float | None) -> str:
    """A KPI value in the unit a person reads best (ms, %, $, per second)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    unit = kpi_info(key).unit
    if unit == "ms":
        return f"{value:,.1f} ms" if abs(value) < 10_000 else f"{value / 1000:,.1f} s"
    if unit == "fraction":
        return f"{100 * value:.2f} %"
    if unit == "usd":  # cents hide the cost per 1,000 decisions ($0.0216) and its differences
        if abs(value) >= 1 or value == 0:
            return f"${value:,.2f}"
        return f"${value:.{min(8, max(4, 2 - math.floor(math.log10(abs(value)))))}f}"  # 3 significant digits
    if unit == "per_s":
        return f"{value:,.1f}/s"
    return f"{value:.4g}"


def format_signed(key: str, value: float) -> str:
    """``+12.4 ms`` / ``-$0.0031``: a difference in the KPI's unit with its sign."""
    text = format_value(key, abs(value))
    return text if text == "-" else ("+" if value >= 0 else "-") + text


def format_interval(key: str, mean: float, lo: float, hi: float) -> str:
    """``212.4 ms [205.1, 219.8]``: mean and 95 % interval in the KPI's unit."""
    if not math.isfinite(lo) or not math.isfinite(hi):
        return f"{format_value(key, mean)} [interval needs ≥ 2 replications]"
    return f"{format_value(key, mean)} [{format_value(key, lo)} to {format_value(key, hi)}]"


# --------------------------------------------------------------------------- seeds, flattening
def replication_seeds(base_seed: int, reps: int, start: int = 0) -> list[int]:
    """Seeds of replications ``start .. start+reps-1``: child i of ``SeedSequence(base_seed)``.

    ``SeedSequence(base, spawn_key=(i,))`` is exactly ``SeedSequence(base).spawn(n)[i]`` for any
    n > i, so the seeds are fixed per index. 63 bits, because the scenario seed is ≤ 2**63 - 1.
    """
    return [int(np.random.SeedSequence(int(base_seed), spawn_key=(i,)).generate_state(1, np.uint64)[0] >> 1)
            for i in range(start, start + reps)]


def flatten_summary(summary: Summary | dict) -> dict[str, float]:
    """Numeric leaves of a summary (typed, or its JSON form from a worker) as
    ``{"latency_ms.p99": 212.4, ...}`` (None -> NaN, text dropped)."""
    return summary.flat() if isinstance(summary, Summary) else flatten(summary)


def runs_frame(summaries: list[dict], seeds: list[int], extra: list[dict] | None = None) -> pd.DataFrame:
    """One row per run: extra columns (point, factors), replication, seed, flattened summary."""
    rows = []
    for i, (summary, seed) in enumerate(zip(summaries, seeds)):
        row = dict(extra[i]) if extra else {}
        row.setdefault("replication", i)
        row["seed"] = seed
        for k, v in flatten_summary(summary).items():
            row.setdefault(k, v)
        rows.append(row)
    frame = pd.DataFrame(rows)
    counts = [c for c in frame.columns if c.startswith(ZERO_WHEN_ABSENT)]
    frame[counts] = frame[counts].fillna(0.0)
    return frame


def kpi_columns(frame: pd.DataFrame, exclude: tuple[str, ...] = ()) -> list[str]:
    """Columns that hold a measured KPI (numeric, not bookkeeping, not all missing)."""
    skip = set(BOOKKEEPING) | {"replication", "point"} | set(exclude)
    return [c for c in frame.columns
            if c not in skip and pd.api.types.is_numeric_dtype(frame[c]) and frame[c].notna().any()]


def headline(frame: pd.DataFrame) -> list[str]:
    """The headline KPIs that this scenario reports (cost and fairness only when modelled)."""
    return [k.key for k in HEADLINE_KPIS if k.key in frame.columns and frame[k.key].notna().any()]


def kpi_table(frame: pd.DataFrame, keys: list[str], confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Mean and Student-t interval per KPI over the rows of ``frame`` (NaNs dropped per KPI)."""
    rows = []
    for key in keys:
        ci = stats.mean_ci(frame[key].dropna().to_numpy(), confidence)
        rows.append({"kpi": key, "label": kpi_info(key).label, "mean": ci.mean, "half_width": ci.half_width,
                     "lo": ci.lo, "hi": ci.hi, "n": ci.n})
    return pd.DataFrame(rows, columns=["kpi", "label", "mean", "half_width", "lo", "hi", "n"])


def batch_means_ci(values, batches: int = 20, confidence: float = CONFIDENCE) -> stats.MeanCI:
    """Interval for the mean of one long correlated series (per-request waits) by batch means.

    The series is cut into ``batches`` consecutive equal batches (a remainder at the end is
    dropped); when batches are much longer than the correlation time their means are nearly
    independent and normal, so the Student-t interval over them applies (Law, ch. 9.5).
    """
    x = np.asarray(values, dtype=float)
    size = x.size // batches
    if batches < 2 or size < 1:
        raise ValueError(f"need at least 2 batches of 1 value, got {x.size} values for {batches} batches")
    return stats.mean_ci(x[: size * batches].reshape(batches, size).mean(axis=1), confidence)


# --------------------------------------------------------------------------- warm-up


MATERIAL_SHIFT = 0.01  # a later cut that moves the series mean by less than 1 % is noise, not bias


class WarmupEstimate(NamedTuple):
    """MSER-5 truncation of a per-bin series (``truncation_s`` is where the kept part starts).

    ``mean_shift`` is the relative change of the series mean after the configured warm-up if
    one cut at ``truncation_s`` instead (0 when the configured warm-up is already longer).
    """

    truncation_s: float
    index: int
    fraction: float
    series: str
    at_search_limit: bool
    mean_shift: float = 0.0


def detect_warmup(timeseries: pd.DataFrame, column: str = WARMUP_COLUMN,
                  configured_s: float = 0.0) -> WarmupEstimate:
    """MSER-5 on a run's per-bin series (default: mean latency; the model queue if that is empty).

    Empty bins are carried forward from the last value. ``at_search_limit`` means the minimum
    fell at the end of the searched first half: the run is too short to reach steady state.
    """
    series = column
    values = timeseries[column] if column in timeseries else pd.Series(dtype=float)
    if values.notna().sum() < 10 and "inference_queue" in timeseries:
        series, values = "inference_queue", timeseries["inference_queue"]
    values = values.ffill().fillna(0.0).to_numpy(dtype=float)
    index, fraction = stats.mser5(values)
    k = len(values) // 5
    t = timeseries["t_s"].to_numpy(dtype=float) if "t_s" in timeseries else np.arange(len(values), dtype=float)
    truncation_s = float(t[index]) if index < len(t) else 0.0
    shift = 0.0
    kept = values[t >= configured_s]
    if truncation_s > configured_s and kept.size and kept.mean() != 0:
        shift = float(values[t >= truncation_s].mean() / kept.mean() - 1.0)
    return WarmupEstimate(truncation_s, index, fraction, series, bool(index > 0 and index == (k // 2) * 5), shift)


def ensemble_warmup(summaries: list[dict], configured_s: float = 0.0) -> WarmupEstimate | None:
    """MSER-5 on the bin-by-bin average over replications (less noise than any single run).

    Averaging replications before truncating is the usual practice (Welch's procedure;
    Hoad, Robinson & Davies 2010 for MSER-5).
    """
    series = [s["warmup_series"] for s in summaries if s.get("warmup_series")]
    if not series:
        return None
    n = min(len(x["value"]) for x in series)
    mean = np.nanmean(np.array([x["value"][:n] for x in series], dtype=float), axis=0)
    frame = pd.DataFrame({"t_s": series[0]["t_s"][:n], WARMUP_COLUMN: mean})
    return detect_warmup(frame, configured_s=configured_s)


def warmup_sentence(estimate: WarmupEstimate | None, configured_s: float) -> str:
    """Whether the configured warm-up covers the start-up transient MSER-5 finds.

    MSER-5 on a series with no transient still picks a small cut from noise, so a cut later than
    the configured warm-up is only flagged when it would move the mean by ≥ 1 %.
    """
    if estimate is None:
        return "Warm-up check: no time series to check."
    found = estimate.truncation_s
    if estimate.at_search_limit and abs(estimate.mean_shift) >= MATERIAL_SHIFT:
        return (f"Warm-up check (MSER-5): mean latency has not settled within the first half of the run; "
                f"run longer before trusting the averages (configured warm-up {configured_s:g} s).")
    if found <= configured_s:
        return (f"Warm-up check (MSER-5): the configured warm-up of {configured_s:g} s covers the start-up "
                f"transient (MSER-5 cut at {found:g} s on the average over replications).")
    if abs(estimate.mean_shift) < MATERIAL_SHIFT:
        return (f"Warm-up check (MSER-5): no transient that matters; cutting at {found:g} s instead of the "
                f"configured {configured_s:g} s would move mean latency by only {100 * estimate.mean_shift:+.2f} %.")
    return (f"Warm-up check (MSER-5): mean latency settles only after {found:g} s, later than the configured "
            f"warm-up of {configured_s:g} s (the cut moves it by {100 * estimate.mean_shift:+.1f} %); "
            f"consider warmup_s ≥ {found:g}.")


# --------------------------------------------------------------------------- replications
@dataclass
class ReplicationSet:
    """N replications of one scenario: the per-run frame and each KPI's mean and interval."""

    scenario: Scenario
    runs: pd.DataFrame
    kpis: pd.DataFrame
    confidence: float = CONFIDENCE
    warmup: WarmupEstimate | None = None
    precision: pd.DataFrame | None = None
    series: pd.DataFrame | None = None  # t_s, replication, latency_mean_ms: per-bin mean latency of each run

    @property
    def warmup_sentence(self) -> str:
        return warmup_sentence(self.warmup, self.scenario.warmup_s)

    def ci(self, key: str) -> stats.MeanCI:
        return stats.mean_ci(self.runs[key].dropna().to_numpy(), self.confidence)

    def write(self, out_dir: str | Path) -> list[Path]:
        """runs.csv, kpis.csv, scenario.resolved.yaml (and precision.csv when run until precise)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / "runs.csv", out / "kpis.csv", out / "scenario.resolved.yaml"]
        frame_to_csv(self.runs, paths[0])
        frame_to_csv(self.kpis, paths[1])
        paths[2].write_text(scenario_to_yaml(self.scenario), encoding="utf-8")
        if self.precision is not None:
            paths.append(out / "precision.csv")
            frame_to_csv(self.precision, paths[-1])
        return paths


def _simulate(backend: Backend | None, tasks: list[tuple[str, int]],
              progress: Callable[[int, int], None] | None) -> list[dict]:
    return (backend or SerialBackend()).map(simulate_summary, tasks, progress)


def replication_set(scenario: Scenario, summaries: list[dict], seeds: list[int],
                    confidence: float = CONFIDENCE, precision: pd.DataFrame | None = None) -> ReplicationSet:
    """Frames, intervals, the ensemble warm-up check and the per-bin series from run summaries."""
    runs = runs_frame(summaries, seeds, [{"scenario": scenario.name, "replication": i} for i in range(len(seeds))])
    series = pd.concat([pd.DataFrame({"t_s": s["warmup_series"]["t_s"], "replication": i,
                                      WARMUP_COLUMN: s["warmup_series"]["value"]})
                        for i, s in enumerate(summaries) if s.get("warmup_series")] or [pd.DataFrame()],
                       ignore_index=True)
    return ReplicationSet(scenario, runs, kpi_table(runs, kpi_columns(runs), confidence), confidence,
                          ensemble_warmup(summaries, scenario.warmup_s), precision, series)


def run_replications(scenario: Scenario, reps: int, *, backend: Backend | None = None, seed: int | None = None,
                     confidence: float = CONFIDENCE,
                     progress: Callable[[int, int], None] | None = None) -> ReplicationSet:
    """Run ``reps`` independent replications (seeds spawned from ``seed``, default the scenario's)."""
    if reps < 1:
        raise ValueError(f"reps must be ≥ 1, got {reps}")
    check_budget(scenario)
    seeds = replication_seeds(scenario.seed if seed is None else seed, reps)
    payload = scenario.model_dump_json()
    summaries = _simulate(backend, [(payload, s) for s in seeds], progress)
    return replication_set(scenario, summaries, seeds, confidence)


class UnknownKpi(ValueError):
    """A KPI name that the scenario's summary does not have."""


class PrecisionTarget(NamedTuple):
    """Stop when the KPI's half-width is ≤ ``half_width`` (absolute) or ≤ ``relative`` x |mean|."""

    kpi: str
    half_width: float | None = None
    relative: float | None = None


def parse_precision(text: str) -> PrecisionTarget:
    """``latency_ms.p99=5`` (absolute, in the KPI's unit) or ``latency_ms.p99=2%`` (relative)."""
    if "=" not in text:
        raise ScenarioError([f"--precision {text!r}: expected KPI=HALFWIDTH, e.g. latency_ms.p99=5 or =2%"])
    kpi, raw = (p.strip() for p in text.split("=", 1))
    relative = raw.endswith("%")
    try:
        value = float(raw.rstrip("%"))
    except ValueError:
        raise ScenarioError([f"--precision {text!r}: {raw!r} is not a number"]) from None
    if not kpi or not value > 0 or not math.isfinite(value):
        raise ScenarioError([f"--precision {text!r}: the half-width must be a number > 0"])
    return PrecisionTarget(kpi, None, value / 100) if relative else PrecisionTarget(kpi, value, None)


def _replications_needed(values: np.ndarray, t: PrecisionTarget, cap: int, confidence: float) -> int:
    """Law's estimate of the total replications needed, capped (an unreachable target gives ``cap``)."""
    if len(values) < 2:
        return 2
    target = t.half_width if t.half_width is not None else t.relative * abs(float(values.mean()))
    if not target > 0:  # relative precision around a zero mean cannot be met
        return cap
    z = float(norm.ppf(0.5 + confidence / 2))
    if (z * float(values.std(ddof=1)) / target) ** 2 >= cap:  # the normal bound already exceeds the cap
        return cap
    return min(cap, stats.replications_needed(values, t.half_width, relative=t.relative, confidence=confidence))


def run_until_precise(scenario: Scenario, targets: list[PrecisionTarget], *, min_reps: int = 3,
                      max_reps: int = 50, backend: Backend | None = None, seed: int | None = None,
                      confidence: float = CONFIDENCE,
                      progress: Callable[[int, int], None] | None = None) -> ReplicationSet:
    """Add replications until every target half-width is met or ``max_reps`` is reached.

    After each round, Law's sequential rule (stats.replications_needed) estimates how many
    replications the least precise KPI needs; the next round runs up to that count (at least
    one more, and at least one per worker so the pool stays busy).
    """
    if not targets:
        raise ValueError("give at least one precision target")
    if not 2 <= min_reps <= max_reps:
        raise ValueError(f"need 2 ≤ min_reps ≤ max_reps, got {min_reps} and {max_reps}")
    check_budget(scenario)
    base = scenario.seed if seed is None else seed
    payload = scenario.model_dump_json()
    workers = getattr(backend, "workers", 1) if backend is not None else 1
    summaries: list[dict] = []
    want = min_reps
    while True:
        seeds = replication_seeds(base, want - len(summaries), start=len(summaries))
        summaries += _simulate(backend, [(payload, s) for s in seeds], progress)
        seeds_all = replication_seeds(base, len(summaries))
        runs = runs_frame(summaries, seeds_all, [{"scenario": scenario.name, "replication": i}
                                                 for i in range(len(summaries))])
        for t in targets:
            if t.kpi not in runs.columns:
                raise UnknownKpi(f"unknown KPI {t.kpi!r}; this scenario reports e.g. {', '.join(headline(runs))}")
        needed, met = [], []
        for t in targets:
            values = runs[t.kpi].dropna().to_numpy()
            met.append(len(values) >= 2 and stats.is_precise(values, t.half_width, relative=t.relative,
                                                             confidence=confidence))
            needed.append(_replications_needed(values, t, max_reps, confidence))
        n = len(summaries)
        if all(met) or n >= max_reps:
            break
        want = min(max_reps, max(max(needed), n + 1, n + min(workers, max_reps - n)))
    rows = []
    for t, ok in zip(targets, met):
        ci = stats.mean_ci(runs[t.kpi].dropna().to_numpy(), confidence)
        target = t.half_width if t.half_width is not None else t.relative * abs(ci.mean)
        rows.append({"kpi": t.kpi, "target_half_width": target,
                     "target": f"{100 * t.relative:g} % of the mean" if t.relative is not None else f"{t.half_width:g}",
                     "half_width": ci.half_width, "met": bool(ok), "n": ci.n})
    return replication_set(scenario, summaries, seeds_all, confidence, pd.DataFrame(rows))


# --------------------------------------------------------------------------- comparisons
@dataclass
class Comparison:
    """A and B run with the same seeds; one row per KPI with the paired interval of B - A."""

    a: ReplicationSet
    b: ReplicationSet
    table: pd.DataFrame

    def write(self, out_dir: str | Path) -> list[Path]:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.a.write(out / "a")
        self.b.write(out / "b")
        path = out / "comparison.csv"
        frame_to_csv(self.table, path)
        return [path, out / "a", out / "b"]


def neutral_verdict(diff: dict) -> stats.Verdict:
    """For KPIs with no better direction (utilization): say only which is higher."""
    pct = f"{diff['confidence'] * 100:g} %"
    if diff["lo"] > 0:
        return stats.Verdict("B_higher", f"B is higher with {pct} confidence")
    if diff["hi"] < 0:
        return stats.Verdict("B_lower", f"B is lower with {pct} confidence")
    return stats.Verdict("too_close", "too close to call")


def compare_runs(a: ReplicationSet, b: ReplicationSet, keys: list[str] | None = None) -> pd.DataFrame:
    """Paired (replication i of A with replication i of B) differences and verdicts per KPI.

    ``unpaired_half_width`` is Welch's half-width on the same runs, to show what pairing saved.
    """
    keys = keys or [k for k in headline(a.runs) if k in b.runs.columns]
    rows = []
    for key in keys:
        both = pd.DataFrame({"a": a.runs[key].to_numpy(), "b": b.runs[key].to_numpy()}).dropna()
        paired = stats.paired_difference(both["a"], both["b"], a.confidence)
        unpaired = stats.unpaired_difference(both["a"], both["b"], a.confidence)
        direction = kpi_info(key).lower_is_better
        v = neutral_verdict(paired) if direction is None else stats.verdict(paired, direction)
        rows.append({"kpi": key, "label": kpi_info(key).label, "a_mean": both["a"].mean(), "b_mean": both["b"].mean(),
                     "diff_mean": paired["mean_diff"], "lo": paired["lo"], "hi": paired["hi"],
                     "half_width": paired["half_width"], "unpaired_half_width": unpaired["half_width"],
                     "n": len(both), "verdict": v.code, "sentence": v.sentence})
    return pd.DataFrame(rows)


def compare(a: Scenario, b: Scenario, reps: int, *, backend: Backend | None = None, seed: int | None = None,
            confidence: float = CONFIDENCE, progress: Callable[[int, int], None] | None = None) -> Comparison:
    """Run A and B with the same ``reps`` seeds (from ``seed``, default A's seed) and compare."""
    if reps < 2:
        raise ValueError(f"a comparison needs reps ≥ 2 for an interval, got {reps}")
    check_budget(a)
    check_budget(b)
    seeds = replication_seeds(a.seed if seed is None else seed, reps)
    ja, jb = a.model_dump_json(), b.model_dump_json()
    summaries = _simulate(backend, [(ja, s) for s in seeds] + [(jb, s) for s in seeds], progress)
    set_a = replication_set(a, summaries[:reps], seeds, confidence)
    set_b = replication_set(b, summaries[reps:], seeds, confidence)
    return Comparison(set_a, set_b, compare_runs(set_a, set_b))


# --------------------------------------------------------------------------- sweep designs
def parse_grid(texts: list[str]) -> dict[str, list]:
    """``["inference.replicas=4,6,8", "inference.precision=fp32,int8"]`` -> {path: [values]}."""
    factors: dict[str, list] = {}
    for text in texts:
        if "=" not in text or not text.split("=", 1)[1].strip():
            raise ScenarioError([f"--grid {text!r}: expected PATH=V1,V2,..., e.g. inference.replicas=4,6,8"])
        path, raw = text.split("=", 1)
        path = path.strip()
        if path in factors:
            raise ScenarioError([f"--grid {path}: given twice; list all its values in one --grid"])
        values = [parse_override(f"{path}={v.strip()}")[1] for v in raw.split(",") if v.strip()]
        if len(values) != len(set(map(repr, values))):
            raise ScenarioError([f"--grid {path}: a value is repeated in {raw!r}"])
        factors[path] = values
    return factors


def field_info(path: str, model: type = Scenario):
    """The pydantic FieldInfo at a dotted path of the scenario model, or None if there is none."""
    cls, info = model, None
    for part in path.split("."):
        fields = getattr(cls, "model_fields", None)
        if not fields or part not in fields:
            return None
        info = fields[part]
        cls = info.annotation if isinstance(info.annotation, type) else None
    return info


def _integer_field(path: str) -> bool | None:
    """True for an int field (int or int | None), False for another known field, None if unknown."""
    info = field_info(path)
    if info is None:
        return None
    return info.annotation is int or set(typing.get_args(info.annotation)) == {int, type(None)}


class Range(NamedTuple):
    """A Latin-hypercube factor: uniform on [lo, hi]; integers when both ends are integers."""

    lo: float
    hi: float
    integer: bool


def parse_lhs(texts: list[str]) -> dict[str, Range]:
    """``["inference.replicas=2:12"]`` -> {path: Range(2, 12, integer=True)}.

    A factor is drawn as integers when the scenario field is an integer field.
    """
    ranges: dict[str, Range] = {}
    for text in texts:
        path, _, raw = text.partition("=")
        path = path.strip()
        ends = raw.split(":")
        if not path or len(ends) != 2:
            raise ScenarioError([f"--lhs {text!r}: expected PATH=LOW:HIGH, e.g. inference.replicas=2:12"])
        lo, hi = (parse_override(f"{path}={e.strip()}")[1] for e in ends)
        if isinstance(lo, bool) or isinstance(hi, bool) or not all(isinstance(v, (int, float)) for v in (lo, hi)):
            raise ScenarioError([f"--lhs {path}: both ends must be numbers, got {raw!r}"])
        if not lo < hi:
            raise ScenarioError([f"--lhs {path}: the low end must be below the high end, got {raw!r}"])
        if path in ranges:
            raise ScenarioError([f"--lhs {path}: given twice"])
        integer = _integer_field(path)
        if integer is None:  # not a field we know: the override check names it later; guess from the text
            integer = isinstance(lo, int) and isinstance(hi, int)
        ranges[path] = Range(float(lo), float(hi), integer)
    return ranges


def grid_points(factors: dict[str, list]) -> list[dict]:
    """The full factorial (cartesian product), first factor varying slowest."""
    names = list(factors)
    return [dict(zip(names, combo)) for combo in itertools.product(*(factors[n] for n in names))]


def lhs_points(ranges: dict[str, Range], samples: int, seed: int) -> list[dict]:
    """Latin hypercube: each factor's range is cut into ``samples`` equal strata and every
    stratum holds exactly one point; strata are paired across factors at random.

    Integer factors stratify [lo, hi + 1) and round down, so with ``samples = hi - lo + 1``
    every integer appears exactly once.
    """
    if samples < 2:
        raise ValueError(f"samples must be ≥ 2, got {samples}")
    rng = np.random.default_rng(seed)  # design randomness only; simulations use their own seeds
    points: list[dict] = [{} for _ in range(samples)]
    for path, r in ranges.items():
        u = (rng.permutation(samples) + rng.random(samples)) / samples
        if r.integer:
            values = np.minimum(np.floor(r.lo + u * (r.hi - r.lo + 1)), r.hi).astype(int).tolist()
        else:
            values = (r.lo + u * (r.hi - r.lo)).tolist()
        for point, v in zip(points, values):
            point[path] = v
    return points


# --------------------------------------------------------------------------- sweeps
@dataclass
class Sweep:
    """Results of a sweep: tidy runs, a summary per point and a sensitivity table."""

    scenario: Scenario
    design: str  # "grid" | "lhs"
    factors: list[str]
    points: list[dict]
    runs: pd.DataFrame
    summary: pd.DataFrame
    sensitivity: pd.DataFrame
    kpis: list[str] = field(default_factory=list)

    def write(self, out_dir: str | Path) -> list[Path]:
        """runs.csv, summary.csv, sensitivity.csv, tornado.html, sweep.json, scenario.resolved.yaml."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / n for n in ("runs.csv", "summary.csv", "sensitivity.csv", "tornado.html",
                                   "sweep.json", "scenario.resolved.yaml")]
        frame_to_csv(self.runs, paths[0])
        frame_to_csv(self.summary, paths[1])
        frame_to_csv(self.sensitivity, paths[2])
        paths[3].write_text(tornado_html(self.sensitivity, self.scenario.name, self.design), encoding="utf-8")
        meta = {"scenario": self.scenario.name, "design": self.design, "factors": self.factors,
                "points": self.points, "replications": int(self.runs["replication"].max() + 1),
                "seeds": sorted(set(int(s) for s in self.runs["seed"])), "kpis": self.kpis}
        paths[4].write_text(json.dumps(meta, indent=2, default=str) + "\n", encoding="utf-8")
        paths[5].write_text(scenario_to_yaml(self.scenario), encoding="utf-8")
        return paths


def point_scenarios(scenario: Scenario, points: list[dict]) -> list[Scenario]:
    """Validate every point up front, so a bad factor fails before any simulation starts."""
    out = []
    for point in points:
        sc = with_overrides(scenario, point)
        check_budget(sc)
        out.append(sc)
    return out


def run_sweep(scenario: Scenario, points: list[dict], reps: int, *, design: str = "grid",
              backend: Backend | None = None, seed: int | None = None, confidence: float = CONFIDENCE,
              progress: Callable[[int, int], None] | None = None) -> Sweep:
    """Run every point ``reps`` times with the same seeds at every point (common random numbers)."""
    if reps < 1:
        raise ValueError(f"reps must be ≥ 1, got {reps}")
    if not points:
        raise ValueError("a sweep needs at least one point")
    scenarios = point_scenarios(scenario, points)
    factors = list(points[0])
    seeds = replication_seeds(scenario.seed if seed is None else seed, reps)
    tasks = [(sc.model_dump_json(), s) for sc in scenarios for s in seeds]
    summaries = _simulate(backend, tasks, progress)
    extra = [{"point": p, **points[p], "replication": r} for p in range(len(points)) for r in range(reps)]
    runs = runs_frame(summaries, seeds * len(points), extra)
    keys = headline(runs)
    summary = sweep_summary(runs, factors, keys, confidence)
    warm = [ensemble_warmup(summaries[p * reps:(p + 1) * reps], sc.warmup_s) for p, sc in enumerate(scenarios)]
    summary["warmup_detected_s"] = [w.truncation_s if w else math.nan for w in warm]
    # a later MSER-5 cut that moves mean latency by ≥ 1 %: the configured warm-up is too short there
    summary["warmup_too_short"] = [bool(w and w.truncation_s > sc.warmup_s and abs(w.mean_shift) >= MATERIAL_SHIFT)
                                   for w, sc in zip(warm, scenarios)]
    sens = sensitivity_table(runs, factors, keys, design, points)
    return Sweep(scenario, design, factors, points, runs, summary, sens, keys)


def sweep_summary(runs: pd.DataFrame, factors: list[str], keys: list[str],
                  confidence: float = CONFIDENCE) -> pd.DataFrame:
    """One row per point: the factor values, n, and for each KPI its mean, lo and hi."""
    rows = []
    for point, grp in runs.groupby("point", sort=True):
        row = {"point": point, **{f: grp[f].iloc[0] for f in factors}, "n": len(grp)}
        for key in keys:
            ci = stats.mean_ci(grp[key].dropna().to_numpy(), confidence)
            row.update({f"{key}.mean": ci.mean, f"{key}.lo": ci.lo, f"{key}.hi": ci.hi})
        rows.append(row)
    return pd.DataFrame(rows)


def sensitivity_table(runs: pd.DataFrame, factors: list[str], keys: list[str], design: str,
                      points: list[dict]) -> pd.DataFrame:
    """How far each KPI moves between a factor's low and high settings (one row per factor and KPI).

    Grid: the KPI's mean at the factor's lowest and highest level (first and last listed for
    text values), averaged over every other factor and replication (main effects).
    Latin hypercube: the KPI's mean over the points in the lowest and the highest third of
    the factor's range. ``swing`` = |high - low|; rank 1 is the knob that matters most.
    """
    rows = []
    for key in keys:
        for f in factors:
            col = runs[f]
            numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
            if design == "lhs" and numeric:
                lo_cut, hi_cut = col.quantile(1 / 3), col.quantile(2 / 3)
                low, high = runs[col <= lo_cut], runs[col >= hi_cut]
                low_setting = f"{col.min():.4g} to {lo_cut:.4g}"
                high_setting = f"{hi_cut:.4g} to {col.max():.4g}"
                at_low, at_high = low[key].mean(), high[key].mean()
            else:
                levels = sorted(col.unique()) if numeric else list(dict.fromkeys(p[f] for p in points))
                means = runs.groupby(f, sort=False)[key].mean()
                low_setting, high_setting = levels[0], levels[-1]
                at_low, at_high = means.get(levels[0], math.nan), means.get(levels[-1], math.nan)
            rows.append({"kpi": key, "label": kpi_info(key).label, "factor": f,
                         "low_setting": str(low_setting), "high_setting": str(high_setting),
                         "kpi_at_low": at_low, "kpi_at_high": at_high, "swing": abs(at_high - at_low),
                         "overall_mean": runs[key].mean()})
    table = pd.DataFrame(rows)
    if not table.empty:
        table["rank"] = table.groupby("kpi")["swing"].rank(ascending=False, method="first").astype(int)
        table = table.sort_values(["kpi", "rank"], kind="stable").reset_index(drop=True)
    return table


def tornado_figure(sensitivity: pd.DataFrame, kpi: str):
    """A tornado chart for one KPI: a bar per factor from the overall mean to its low/high value."""
    import plotly.graph_objects as go

    rows = sensitivity[sensitivity["kpi"] == kpi].sort_values("swing")  # biggest ends up on top
    base = float(rows["overall_mean"].iloc[0]) if len(rows) else 0.0
    fig = go.Figure()
    for end, colour in (("low", "#4C78A8"), ("high", "#F58518")):
        fig.add_trace(go.Bar(
            y=rows["factor"], x=rows[f"kpi_at_{end}"] - base, base=base, orientation="h",
            name=f"{end} setting", marker_color=colour,
            text=[f"{s}: {format_value(kpi, v)}" for s, v in zip(rows[f"{end}_setting"], rows[f"kpi_at_{end}"])],
            textposition="auto",
            hovertemplate="%{y}<br>%{text}<extra></extra>"))
    fig.update_layout(barmode="overlay", title=f"What moves {kpi_info(kpi).label} most ({kpi})",
                      xaxis_title=f"{kpi} (bars start at the sweep mean, {format_value(kpi, base)})",
                      yaxis_title=None, height=180 + 60 * len(rows), legend_title_text=None)
    return fig


def tornado_html(sensitivity: pd.DataFrame, scenario_name: str, design: str) -> str:
    """One self-contained HTML page with a tornado chart per KPI (plotly.js inlined once)."""
    parts = []
    for i, kpi in enumerate(dict.fromkeys(sensitivity["kpi"])):
        parts.append(tornado_figure(sensitivity, kpi).to_html(include_plotlyjs=(i == 0), full_html=False))
    how = ("main effects over the grid: each bar ends at the KPI's mean at the factor's lowest and "
           "highest level, averaged over all other factors and replications" if design == "grid" else
           "Latin hypercube: each bar ends at the KPI's mean over the points in the lowest and highest "
           "third of the factor's range")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>Sensitivity: {scenario_name}</title></head><body style='font-family:sans-serif'>"
            f"<h1>Which knob matters most: {scenario_name}</h1><p>{how}.</p>"
            + "\n".join(parts) + "</body></html>")


def warmup_figure(rs: ReplicationSet):
    """Mean latency per time bin for every replication, their average, and the warm-up shaded.

    The light band is the configured warm-up (excluded from every statistic); a hatched band
    marks where MSER-5 would cut when that is later than the configured one.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    series = rs.series if rs.series is not None else pd.DataFrame()
    if series.empty:
        return fig
    for rep, grp in series.groupby("replication"):
        fig.add_trace(go.Scatter(x=grp["t_s"] / 60, y=grp[WARMUP_COLUMN], mode="lines", showlegend=rep == 0,
                                 name="one replication", line={"color": "rgba(76,120,168,0.25)", "width": 1},
                                 hoverinfo="skip"))
    mean = series.groupby("t_s")[WARMUP_COLUMN].mean()
    fig.add_trace(go.Scatter(x=mean.index / 60, y=mean.to_numpy(), mode="lines", name="average of replications",
                             line={"color": "#4C78A8", "width": 2}))
    if rs.scenario.warmup_s > 0:
        fig.add_vrect(x0=0, x1=rs.scenario.warmup_s / 60, fillcolor="grey", opacity=0.15, line_width=0,
                      annotation_text="warm-up (excluded)", annotation_position="top left")
    if rs.warmup is not None and rs.warmup.truncation_s > rs.scenario.warmup_s:
        fig.add_vrect(x0=rs.scenario.warmup_s / 60, x1=rs.warmup.truncation_s / 60, fillcolor="orange",
                      opacity=0.15, line_width=0, annotation_text="MSER-5 would also cut",
                      annotation_position="top right")
    fig.update_layout(title="Mean latency over time in each replication", xaxis_title="minutes",
                      yaxis_title="mean latency (ms)")
    return fig
