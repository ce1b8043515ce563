"""CLI commands for statistics and capacity planning: replicate, compare, sweep, plan, validate-model.

Every command runs its simulations through one backend (simulator.analysis.backends): a local process
pool over all cores by default, or a Dask cluster with ``--scheduler tcp://HOST:PORT`` (or the
``PIPELINE_TWIN_SCHEDULER`` environment variable). The pool's start method is chosen here, in
the entry point. Bad input raises ScenarioError or InputError, which ``cli.main`` turns into
exit code 2 with one line naming the option or field.
"""
from __future__ import annotations

import functools
import json
import math
import os
import sys

from simulator.cli import history
from simulator.cli.common import (
    InputError,
    add_budget_options,
    add_output_options,
    check_out,
    check_seed,
    load_with_overrides,
    writing_out,
)
from simulator.cli.formats import signed, table, wrap
from simulator.common.limits import MAX_REPLICAS
from simulator.scenario.config import parse_override, with_overrides

START_METHOD = "forkserver"  # never fork: the parent may hold threads (Dask, Streamlit)


# --------------------------------------------------------------------------- shared helpers
def add_backend_options(p) -> None:
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run on this Dask scheduler (default: $PIPELINE_TWIN_SCHEDULER, else local processes)")
    p.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: all cores; 1 = no pool)")


def add_replication_options(p) -> None:
    """Options that turn a run into replications (also meant for ``run``: see cmd_replicate)."""
    p.add_argument("--reps", type=int, default=1, metavar="N", help="independent replications (default 1)")
    p.add_argument("--precision", action="append", metavar="KPI=HALFWIDTH",
                   help="replicate until the KPI's 95 %% half-width is at most this (absolute, or e.g. 2%% of "
                        "the mean); repeatable, e.g. --precision latency_ms.p99=5")
    p.add_argument("--max-reps", type=int, default=50, metavar="N",
                   help="stop adding replications here when running until precise (default 50)")
    add_backend_options(p)


def _backend(args, memory_per_run_bytes: float = 0.0):
    """The backend the options ask for; it is a context manager that closes the pool or client.

    Local workers are bounded by the cores (more processes than cores only add overhead for
    this CPU-bound work) and by memory: as many as fit at the estimated memory of one run.
    """
    from simulator.analysis.backends import make_backend
    from simulator.scenario.budget import current_budget

    cores = os.cpu_count() or 1
    workers = getattr(args, "workers", None)
    if workers is not None and not 1 <= workers <= cores:
        raise InputError(f"--workers: must be between 1 and {cores} (the cores of this machine); got {workers}")
    if memory_per_run_bytes > 0:
        fit = max(1, int(current_budget().max_memory_bytes // memory_per_run_bytes))
        workers = min(workers or cores, fit)
    try:
        return make_backend(getattr(args, "scheduler", None), workers, start_method=START_METHOD)
    except (ConnectionError, OSError, ValueError) as err:
        raise InputError(f"--scheduler: {err}") from None


def _seed(args, scenario) -> int:
    return check_seed(scenario.seed if getattr(args, "seed", None) is None else args.seed)


MAX_REPS = 1000
MAX_RUNS = 100_000           # the largest --max-runs a sweep may ask for
TOTAL_REQUESTS_FACTOR = 10  # a batch of runs may simulate at most 10 x the per-run cap in all


def _positive(value: int, option: str, minimum: int = 1, maximum: int | None = None) -> int:
    if value is None or value < minimum or (maximum is not None and value > maximum):
        allowed = f"≥ {minimum}" + (f" and ≤ {maximum:,}" if maximum is not None else "")
        raise InputError(f"{option}: must be {allowed}; got {value}")
    return value


def _check_total(scenario, runs: int) -> float:
    """Refuse at once a batch of runs whose total size is absurd (each run must fit the budget too).

    Returns the estimated memory of one run (bytes), which bounds the number of parallel workers.
    """
    from simulator.scenario.budget import check_budget

    est = check_budget(scenario)
    total = est.arrivals * runs
    cap = scenario.max_requests * TOTAL_REQUESTS_FACTOR
    if total > cap:
        raise InputError(f"--reps: {runs:,} runs of about {est.arrivals:,.0f} requests each would "
                         f"simulate {total:,.0f} requests, more than {cap:,} (10 x max_requests); use fewer "
                         "replications or a shorter duration_s")
    return est.memory_bytes


def _backend_errors_as_input(command):
    """A cluster that cannot run the work is bad input (the --scheduler option), not a bug."""
    @functools.wraps(command)
    def wrapped(args) -> int:
        from simulator.analysis.backends import BackendError

        try:
            return command(args)
        except BackendError as err:
            raise InputError(f"--scheduler: {err}") from None

    return wrapped


class _Progress:
    """``  simulating 3/10`` on stderr, only on a terminal."""

    def __init__(self, what: str = "simulating"):
        self.enabled = sys.stderr.isatty()
        self.what = what
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if self.enabled:
            self.shown = True
            sys.stderr.write(f"\r  {self.what} {done}/{total}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _clean(value):
    """JSON-friendly: NaN/inf -> None, numpy scalars -> Python."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --------------------------------------------------------------------------- replicate
@_backend_errors_as_input
def cmd_replicate(args) -> int:
    """``replicate SCENARIO --reps N [--precision KPI=HW]``; also what ``run --reps N`` delegates to."""
    from simulator.analysis import experiments as ex

    scenario = load_with_overrides(args.scenario, args.set)
    seed = _seed(args, scenario)
    targets = [ex.parse_precision(t) for t in (args.precision or [])]
    max_reps = _positive(args.max_reps, "--max-reps", 2, MAX_REPS)
    reps = _positive(args.reps, "--reps", 1, MAX_REPS)
    if targets and reps > max_reps:
        raise InputError(f"--reps: must not exceed --max-reps ({max_reps}); got {reps}")
    memory = _check_total(scenario, max(reps, max_reps) if targets else reps)
    check_out(args)
    bar = _Progress()
    try:
        with _backend(args, memory) as backend:
            if targets:
                result = ex.run_until_precise(scenario, targets, min_reps=max(2, min(reps, max_reps)),
                                              max_reps=max_reps, backend=backend, seed=seed, progress=bar)
            else:
                result = ex.run_replications(scenario, reps, backend=backend, seed=seed, progress=bar)
    except ex.UnknownKpi as err:
        raise InputError(f"--precision: {err}") from None
    finally:
        bar.close()
    if args.out:
        with writing_out(args) as folder:
            result.write(folder)
    if args.json:
        print(json.dumps(_clean(_replication_json(result, seed)), indent=2))
        return 0
    print(format_replications(result, seed))
    if args.out:
        print(f"\n  wrote runs.csv (one row per replication), kpis.csv, scenario.resolved.yaml to {args.out}")
    return 0


def _replication_json(result, seed: int) -> dict:
    return {"scenario": result.scenario.name, "base_seed": seed, "replications": len(result.runs),
            "seeds": result.runs["seed"].astype(int).tolist(), "confidence": result.confidence,
            "kpis": {r.kpi: {"mean": r.mean, "half_width": r.half_width, "lo": r.lo, "hi": r.hi, "n": r.n}
                     for r in result.kpis.itertuples()},
            "warmup": {"mser5_truncation_s": result.warmup.truncation_s if result.warmup else None,
                       "configured_s": result.scenario.warmup_s, "sentence": result.warmup_sentence},
            "precision": None if result.precision is None else result.precision.to_dict("records")}


def format_replications(result, seed: int) -> str:
    """Headline KPIs with their 95 % intervals, the warm-up check and any precision targets."""
    from simulator.analysis import experiments as ex

    n = len(result.runs)
    keys = ex.headline(result.runs)
    if result.precision is not None:
        keys += [k for k in result.precision["kpi"] if k not in keys]
    rows = []
    for key in keys:
        r = result.kpis[result.kpis["kpi"] == key].iloc[0]
        rel = f"±{100 * r.half_width / abs(r['mean']):.1f} %" if n > 1 and r["mean"] else "-"
        interval = (f"{ex.format_value(key, r.lo)} to {ex.format_value(key, r.hi)}" if n > 1
                    else "(one run: no interval)")
        rows.append([ex.kpi_info(key).label, ex.format_value(key, r["mean"]), interval, rel])
    lines = [f"Pipeline Twin: {result.scenario.name}, {n} replication{'s' if n != 1 else ''} "
             f"(seeds spawned from {seed}), 95 % confidence intervals", "",
             table(["KPI", "mean", "95 % interval", "±"], rows), "", wrap(result.warmup_sentence)]
    if result.precision is not None:
        lines += ["", "  Precision targets"]
        for t in result.precision.itertuples():
            state = f"met with {t.n} replications" if t.met else f"NOT met after {t.n} replications (--max-reps)"
            lines.append(f"    {t.kpi}: half-width {ex.format_value(t.kpi, t.half_width)} against "
                         f"{ex.format_value(t.kpi, t.target_half_width)}: {state}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- compare
def add_pair_options(p) -> None:
    """A and B with their overrides, replications and base seed: shared by ``compare`` and ``brief``."""
    p.add_argument("a", help="scenario A (file or bundled name)")
    p.add_argument("b", nargs="?", help="scenario B (may be the same file as A with --set-b changes; default: "
                                        "A's natural comparison, its compare_overrides)")
    p.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a field in both A and B")
    p.add_argument("--set-a", action="append", metavar="PATH=VALUE", help="override a field in A only")
    p.add_argument("--set-b", action="append", metavar="PATH=VALUE", help="override a field in B only")
    p.add_argument("--reps", type=int, default=10, metavar="N", help="replications of each (default 10)")
    p.add_argument("--seed", type=int, help="base seed (default: A's seed)")


def load_pair(args):
    """(A, B, replications, memory of one run in bytes, base seed), every input checked before any work."""
    a = load_with_overrides(args.a, (args.set or []) + (args.set_a or []))
    if args.b is None:
        if not a.compare_overrides:
            raise InputError(f"b: give scenario B; {a.name} has no natural comparison (compare_overrides)")
        b = with_overrides(load_with_overrides(args.a, (args.set or []) + (args.set_b or [])), a.compare_overrides)
    else:
        b = load_with_overrides(args.b, (args.set or []) + (args.set_b or []))
    reps = _positive(args.reps, "--reps", 2, MAX_REPS)
    memory = max(_check_total(a, reps), _check_total(b, reps))
    return a, b, reps, memory, _seed(args, a)


@_backend_errors_as_input
def cmd_compare(args) -> int:
    from simulator.analysis import experiments as ex

    a, b, reps, memory, seed = load_pair(args)
    check_out(args)
    bar = _Progress()
    try:
        with _backend(args, memory) as backend:
            result = ex.compare(a, b, reps, backend=backend, seed=seed, progress=bar)
    finally:
        bar.close()
    if args.out:
        with writing_out(args) as folder:
            result.write(folder)
    name_a, name_b = pair_labels(args, a, b)
    if args.save:
        history.save_comparison(args, result, name_a, name_b, seed)
    if args.json:
        print(json.dumps(_clean({"a": name_a, "b": name_b, "replications": reps, "base_seed": seed,
                                 "kpis": result.table.to_dict("records")}), indent=2))
        return 0
    rows = []
    for r in result.table.itertuples():
        diff = f"{signed(r.kpi, r.diff_mean)} [{signed(r.kpi, r.lo)} to {signed(r.kpi, r.hi)}]"
        rows.append([r.label, ex.format_value(r.kpi, r.a_mean), ex.format_value(r.kpi, r.b_mean), diff, r.sentence])
    narrower = (result.table["unpaired_half_width"] / result.table["half_width"]).replace([math.inf], math.nan)
    print(f"Comparing A = {name_a} with B = {name_b}: {reps} replications each, the same seeds for both "
          f"(common random numbers), 95 % intervals of B - A\n")
    print(table(["KPI", "A", "B", "B - A [95 % interval]", "verdict"], rows))
    if narrower.notna().any():
        print("\n" + wrap(f"Pairing replication i of A with replication i of B made the intervals "
                           f"{narrower.median():.1f} times narrower (median over KPIs) than comparing independent "
                           f"runs would."))
    print("\n" + wrap(f"A: {result.a.warmup_sentence}"))
    print(wrap(f"B: {result.b.warmup_sentence}"))
    if args.out:
        print(f"\n  wrote comparison.csv and a/, b/ (runs.csv, kpis.csv) to {args.out}")
    return 0


def pair_labels(args, a, b) -> tuple[str, str]:
    """How A and B are named in the output of ``compare`` and ``brief``."""
    natural = (a.compare_label or "its natural comparison") if args.b is None else ""
    return pair_name(a.name, args.set_a), pair_name(b.name, args.set_b, natural)


def pair_name(name: str, sets: list[str] | None, natural: str = "") -> str:
    """'baseline (inference.replicas=6)'; B given as A's natural comparison is named by its label."""
    if natural:
        return f"{name}: {natural}" + (f" ({', '.join(sets)})" if sets else "")
    return f"{name} ({', '.join(sets)})" if sets else name


# --------------------------------------------------------------------------- sweep
@_backend_errors_as_input
def cmd_sweep(args) -> int:
    from simulator.analysis import experiments as ex

    scenario = load_with_overrides(args.scenario, args.set)
    if bool(args.grid) == bool(args.lhs):
        raise InputError("--grid/--lhs: give either --grid PATH=V1,V2,... or --lhs PATH=LOW:HIGH (repeatable), "
                         "not both and not neither")
    reps = _positive(args.reps, "--reps", 1, MAX_REPS)
    max_runs = _positive(args.max_runs, "--max-runs", 1, MAX_RUNS)
    seed = _seed(args, scenario)
    if args.grid:  # the size of the full factorial is checked before it is built
        factors = ex.parse_grid(args.grid)
        n_points = math.prod(len(v) for v in factors.values())
    else:
        ranges = ex.parse_lhs(args.lhs)
        n_points = _positive(args.samples, "--samples", 2, max_runs)
    if n_points * reps > max_runs:
        raise InputError(f"--max-runs: this sweep needs {n_points:,} points x {reps} replications = "
                         f"{n_points * reps:,} runs, more than {max_runs:,}")
    design, points = ("grid", ex.grid_points(factors)) if args.grid else ("lhs", ex.lhs_points(ranges, n_points, seed))
    memory = max(_check_total(point, len(points) * reps)  # every point valid and sized before any work starts
                 for point in ex.point_scenarios(scenario, points))
    check_out(args)
    bar = _Progress()
    try:
        with _backend(args, memory) as backend:
            sweep = ex.run_sweep(scenario, points, reps, design=design, backend=backend, seed=seed, progress=bar)
    finally:
        bar.close()
    paths = []
    if args.out:
        with writing_out(args) as folder:
            paths = sweep.write(folder)
    print(format_sweep(sweep, reps))
    if paths:
        print(f"\n  wrote {', '.join(p.name for p in paths)} to {args.out}")
    return 0


def format_sweep(sweep, reps: int) -> str:
    from simulator.analysis import experiments as ex

    keys = [k for k in ("latency_ms.p99", "availability", "cost_usd.monthly_projection", "latency_ms.mean")
            if k in sweep.kpis][:3]
    headers = [f.split(".")[-1] if sum(g.split(".")[-1] == f.split(".")[-1] for g in sweep.factors) == 1 else f
               for f in sweep.factors] + [ex.kpi_info(k).label for k in keys]
    rows = []
    for r in sweep.summary.to_dict("records"):
        cells = [_fmt_factor(r[f]) for f in sweep.factors]
        for k in keys:
            cells.append(ex.format_interval(k, r[f"{k}.mean"], r[f"{k}.lo"], r[f"{k}.hi"]) if reps > 1
                         else ex.format_value(k, r[f"{k}.mean"]))
        rows.append(cells)
    design = "grid" if sweep.design == "grid" else "Latin hypercube"
    lines = [f"Sweep of {sweep.scenario.name}: {len(sweep.points)} points ({design}) x {reps} replication"
             f"{'s' if reps != 1 else ''}, the same seeds at every point; mean [95 % interval]", "",
             table(headers, rows), "", "  What matters most (swing between the low and high settings):"]
    for key in keys:
        top = sweep.sensitivity[(sweep.sensitivity["kpi"] == key) & (sweep.sensitivity["rank"] == 1)]
        if len(top):
            t = top.iloc[0]
            if t.swing <= 1e-3 * abs(t.overall_mean):
                lines.append(f"    {ex.kpi_info(key).label}: no setting moves it by more than 0.1 %")
                continue
            lines.append(f"    {ex.kpi_info(key).label}: {t.factor} ({ex.format_value(key, t.kpi_at_low)} at "
                         f"{t.low_setting}, {ex.format_value(key, t.kpi_at_high)} at {t.high_setting})")
    late = sweep.summary[sweep.summary["warmup_too_short"]]
    if len(late):
        lines.append("\n" + wrap(f"Warm-up check (MSER-5): at {len(late)} point(s) mean latency settles only "
                                   f"after the configured {sweep.scenario.warmup_s:g} s (see warmup_detected_s in "
                                   f"summary.csv)."))
    else:
        lines.append("\n" + wrap(f"Warm-up check (MSER-5): the configured {sweep.scenario.warmup_s:g} s warm-up "
                                   f"covers the start-up transient at every point."))
    return "\n".join(lines)


def _fmt_factor(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


# --------------------------------------------------------------------------- plan
def _parse_bound(text: str, option: str) -> tuple[str, float]:
    if "=" not in text:
        raise InputError(f"{option} {text!r}: expected KPI=VALUE, e.g. {option} stages.inference.wait_ms_mean=10")
    key, raw = (p.strip() for p in text.split("=", 1))
    try:
        return key, float(raw)
    except ValueError:
        raise InputError(f"{option} {key}: {raw!r} is not a number") from None


def _parse_values(text: str, path: str, option: str) -> list:
    values = [parse_override(f"{path}={v.strip()}")[1] for v in text.split(",") if v.strip()]
    if not values:
        raise InputError(f"{option}: give at least one value")
    return values


def _space(args, scenario) -> dict[str, list]:
    from simulator.analysis import planner as pl

    space: dict[str, list] = {}
    for option, knob in (("--precisions", "precision"), ("--instance-types", "instance_type"),
                         ("--autoscaler-targets", "autoscaler_target"), ("--warm-pools", "warm_pool")):
        text = getattr(args, option[2:].replace("-", "_"))
        if text is None:
            continue
        path = pl.knob_path(knob)
        if path is None:
            raise InputError(f"{option}: this version of the scenario model has no {' or '.join(pl.KNOBS[knob])} "
                             f"field to search")
        allowed = pl.allowed_values(path)
        space[path] = allowed if text.strip() == "all" and allowed else _parse_values(text, path, option)
    for text in args.space or []:
        if "=" not in text:
            raise InputError(f"--space {text!r}: expected PATH=V1,V2,...")
        path, raw = text.split("=", 1)
        if pl.field_info(path.strip()) is None:
            raise InputError(f"--space {path.strip()}: unknown field")
        if path.strip() == pl.replica_path(scenario):
            raise InputError(f"--space {path.strip()}: give the replica range with --replicas LOW:HIGH")
        space[path.strip()] = _parse_values(raw, path.strip(), "--space")
    for path, values in space.items():  # validate every value once, before any simulation
        for v in values:
            with_overrides(scenario, {path: v})
    return space


@_backend_errors_as_input
def cmd_plan(args) -> int:
    from simulator.analysis import planner as pl

    scenario = load_with_overrides(args.scenario, args.set)
    seed = _seed(args, scenario)
    try:
        lo, hi = (int(x) for x in args.replicas.split(":"))
    except ValueError:
        raise InputError(f"--replicas: expected LOW:HIGH, e.g. 2:12; got {args.replicas!r}") from None
    if not 1 <= lo <= hi:
        raise InputError(f"--replicas: need 1 ≤ LOW ≤ HIGH; got {args.replicas}")
    if hi > MAX_REPLICAS:
        raise InputError(f"--replicas: at most {MAX_REPLICAS:,} replicas can be searched; got {args.replicas}")
    reps = _positive(args.reps, "--reps", 2, MAX_REPS)
    max_reps = _positive(args.max_reps, "--max-reps", reps, MAX_REPS)
    memory = _check_total(scenario, max_reps * (hi - lo + 1))
    check_out(args)
    p99 = scenario.slo_latency_ms if args.p99_ms is None else args.p99_ms
    if not p99 > 0:
        raise InputError(f"--p99-ms: must be > 0; got {p99:g}")
    if not 0 < args.availability <= 1:
        raise InputError(f"--availability: must be a fraction in (0, 1], e.g. 0.999; got {args.availability:g}")
    constraints = [pl.p99_at_most(p99), pl.availability_at_least(args.availability)]
    if args.max_cost_usd is not None:
        constraints.append(pl.monthly_cost_at_most(args.max_cost_usd))
    if args.min_di is None:  # the default applies only where fairness is modelled
        constraints.append(pl.disparate_impact_at_least(0.8, optional=True))
    else:
        constraints.append(pl.disparate_impact_at_least(args.min_di, optional=False))
    for text in args.max or []:
        key, value = _parse_bound(text, "--max")
        constraints.append(pl.Constraint(key, "<=", value, f"{key} ≤ {value:g}"))
    for text in args.min or []:
        key, value = _parse_bound(text, "--min")
        constraints.append(pl.Constraint(key, ">=", value, f"{key} ≥ {value:g}"))
    space = _space(args, scenario)
    window = None
    if args.peak_minutes is not None:
        if not args.peak_minutes > 0:
            raise InputError(f"--peak-minutes: must be > 0; got {args.peak_minutes:g}")
        window = pl.peak_window(scenario, args.peak_minutes)
        scenario = pl.window_scenario(scenario, window)
        _say(f"simulating up to {window.end_s:g} s and counting {window.start_s:g}-{window.end_s:g} s: {window.reason}")
    _say(f"planning {scenario.name}: {'; '.join(c.label for c in constraints)}; replicas {lo}-{hi}"
         + "".join(f"; {k} in {v}" for k, v in space.items()))
    try:
        with _backend(args, memory) as backend:
            result = pl.plan(scenario, constraints, replicas=(lo, hi), space=space, reps=reps, max_reps=max_reps,
                             backend=backend, seed=seed, progress=_say)
    except pl.MissingKpi as err:
        raise InputError(f"--max/--min/--max-cost-usd: {err}") from None
    if args.out:
        with writing_out(args) as folder:
            result.write(folder)
    if args.json:
        out = result.to_json()
        if window is not None:
            out["window_s"] = {"start": window.start_s, "end": window.end_s, "reason": window.reason}
        print(json.dumps(_clean(out), indent=2))
        return 0
    print(format_plan(result))
    if args.out:
        print(f"\n  wrote evaluations.csv, frontier.html, recommendation.txt, scenario.resolved.yaml to {args.out}")
    if args.save:
        history.save_plan(args, result, seed)
    return 0


def format_plan(result) -> str:
    from simulator.analysis import experiments as ex
    from simulator.analysis.planner import P99_KPI, config_text

    ev = result.evaluations
    sim = ev[ev["stage"] == "simulated"]
    cost_label = "replica-h/month" if result.cost_is_proxy else "monthly cost"
    rows = []
    for r in sim.to_dict("records"):
        config = config_text({k: r[k] for k in result.knobs}, r["replicas"])
        cost = r[f"{result.cost_kpi}.mean"]
        cost_text = f"{cost:,.0f}" if result.cost_is_proxy else ex.format_value("cost_usd.total", cost)
        mark = "*" if r.get("recommended") else ("f" if r["on_frontier"] else " ")
        rows.append([f"{mark} {config}", ex.format_interval(P99_KPI, r[f"{P99_KPI}.mean"], r[f"{P99_KPI}.lo"],
                                                            r[f"{P99_KPI}.hi"]),
                     cost_text, str(int(r["reps"])), r["verdict"]])
    lines = [f"Capacity plan for {result.scenario.name}: {'; '.join(c.label for c in result.constraints)} "
             f"(each with 95 % confidence)", "",
             table(["configuration", "p99 latency [95 % interval]", cost_label, "reps", "verdict"], rows),
             "  (* recommended, f on the cost/p99 Pareto frontier)"]
    screened = ev[ev["stage"] != "simulated"]
    if len(screened):
        first = screened.iloc[0]
        lines.append(f"  Ruled out without simulating: {len(screened)} configuration(s), e.g. "
                     f"{config_text({k: first[k] for k in result.knobs}, first['replicas'])}: "
                     f"{first['verdict'].split(': ', 1)[-1]}.")
    lines += ["", wrap(result.explanation)]
    lines += [wrap(f"Note: {n}") for n in result.notes]
    return "\n".join(lines)


# --------------------------------------------------------------------------- validate-model
@_backend_errors_as_input
def cmd_validate_model(args) -> int:
    from simulator.analysis.validation import run_validation, validation_sentence
    from simulator.common.csv_export import frame_to_csv

    scale = 0.25 if args.quick else 1.0
    reps = _positive(args.reps, "--reps", 2, MAX_REPS)
    check_seed(args.seed)
    check_out(args)
    with _backend(args) as backend:
        frame = run_validation(scale, reps, backend=backend, seed=args.seed)
    if args.out:
        with writing_out(args) as folder:
            frame_to_csv(frame, folder / "validation.csv")
    if args.json:
        print(json.dumps(_clean(frame.to_dict("records")), indent=2))
    else:
        def num(kpi: str, x: float) -> str:
            if x is None or math.isnan(x):
                return "-"
            return f"{100 * x:.2f} %" if kpi.endswith("utilization") or kpi.startswith("share:") else f"{x:.2f}"

        rows = [[r.case, r.metric, num(r.kpi, r.theory), num(r.kpi, r.preview),
                 f"{num(r.kpi, r.simulated)} [{num(r.kpi, r.ci_lo)} to {num(r.kpi, r.ci_hi)}]",
                 f"{r.error_pct:+.2f} %", f"±{r.tolerance_pct:g} %", r.verdict.upper()]
                for r in frame.itertuples()]
        print(f"Model validation against queueing theory: {int(frame['customers'].iloc[0]):,} customers per case "
              f"in {reps} replications (seed {args.seed}), 95 % intervals\n")
        print(table(["case", "metric", "theory", "preview", "simulated [95 % interval]", "error", "tolerance",
                      "result"], rows))
        print("\n" + wrap(validation_sentence(frame)))
        if args.out:
            print(f"\n  wrote validation.csv to {args.out}")
    return 1 if (frame["verdict"] == "fail").any() else 0


# --------------------------------------------------------------------------- registration
def add_commands(sub, scenario_args) -> None:
    """Register replicate, compare, sweep, plan and validate-model on the main parser's ``sub``."""
    p = sub.add_parser("replicate", help="run independent replications and report 95 %% confidence intervals")
    scenario_args(p)
    p.add_argument("--seed", type=int, help="base seed; replication seeds are spawned from it")
    add_output_options(p, "runs.csv, kpis.csv")
    p.add_argument("--json", action="store_true", help="print only JSON")
    add_replication_options(p)
    p.set_defaults(func=cmd_replicate)

    p = sub.add_parser("compare", help="compare two scenarios with common random numbers and paired intervals")
    add_pair_options(p)
    add_output_options(p, "comparison.csv and both runs")
    p.add_argument("--json", action="store_true", help="print only JSON")
    add_budget_options(p)
    add_backend_options(p)
    history.add_save_option(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("sweep", help="run a grid or Latin hypercube of settings, with a sensitivity chart")
    scenario_args(p)
    p.add_argument("--grid", action="append", metavar="PATH=V1,V2",
                   help="a factor and its levels, e.g. inference.replicas=4,6,8 (repeatable: full factorial)")
    p.add_argument("--lhs", action="append", metavar="PATH=LOW:HIGH",
                   help="a factor's range for a Latin hypercube, e.g. inference.replicas=2:12 (repeatable)")
    p.add_argument("--samples", type=int, default=10, metavar="N", help="Latin hypercube points (default 10)")
    p.add_argument("--reps", type=int, default=3, metavar="N", help="replications per point (default 3)")
    p.add_argument("--seed", type=int, help="base seed (default: the scenario's)")
    p.add_argument("--max-runs", type=int, default=2000, metavar="N",
                   help=f"refuse sweeps above this many runs (at most {MAX_RUNS:,})")
    add_output_options(p, "runs.csv, summary.csv, sensitivity.csv, tornado.html")
    add_backend_options(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("plan", help="find the cheapest configuration meeting the service levels")
    scenario_args(p)
    p.add_argument("--p99-ms", type=float, help="p99 latency limit in ms (default: the scenario's slo_latency_ms)")
    p.add_argument("--availability", type=float, default=0.999, help="minimum availability (default 0.999)")
    p.add_argument("--max-cost-usd", type=float, help="maximum monthly cost in USD (cost_usd.monthly_projection)")
    p.add_argument("--min-di", type=float,
                   help="minimum disparate-impact ratio (default: 0.8 where fairness is modelled)")
    p.add_argument("--max", action="append", metavar="KPI=VALUE", help="any KPI upper limit (repeatable)")
    p.add_argument("--min", action="append", metavar="KPI=VALUE", help="any KPI lower limit (repeatable)")
    p.add_argument("--replicas", default="1:16", metavar="LOW:HIGH", help="replica range to search (default 1:16)")
    p.add_argument("--precisions", metavar="V1,V2", help="model precisions to try, e.g. fp32,int8 (or all)")
    p.add_argument("--instance-types", metavar="V1,V2",
                   help="instance types to try, e.g. cpu-small,cpu-medium (or all)")
    p.add_argument("--autoscaler-targets", metavar="V1,V2", help="autoscaler targets to try, e.g. 0.5,0.7")
    p.add_argument("--warm-pools", metavar="V1,V2", help="warm-pool sizes to try, e.g. 0,1,2")
    p.add_argument("--space", action="append", metavar="PATH=V1,V2", help="any other field to search (repeatable)")
    p.add_argument("--reps", type=int, default=6, metavar="N", help="replications per configuration (default 6)")
    p.add_argument("--max-reps", type=int, default=12, metavar="N",
                   help="add replications up to this while a constraint is too close to call (default 12)")
    p.add_argument("--seed", type=int, help="base seed (default: the scenario's)")
    p.add_argument("--peak-minutes", type=float, metavar="M",
                   help="plan for the busiest M minutes (simulated with everything before them as warm-up) "
                        "instead of the whole scenario")
    add_output_options(p, "evaluations.csv, frontier.html, recommendation.txt")
    p.add_argument("--json", action="store_true",
                   help="print only JSON: the recommended overrides (as --set arguments too) and their evidence")
    add_backend_options(p)
    history.add_save_option(p)
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("validate-model", help="rerun the textbook queueing checks (exit 1 if one fails)")
    p.add_argument("--quick", action="store_true", help="a quarter of the standard size (a few seconds)")
    p.add_argument("--reps", type=int, default=4, metavar="N", help="replications per case (default 4)")
    p.add_argument("--seed", type=int, default=2024, help="base seed (default 2024)")
    add_output_options(p, "validation.csv")
    p.add_argument("--json", action="store_true", help="print only JSON")
    add_backend_options(p)
    p.set_defaults(func=cmd_validate_model)
