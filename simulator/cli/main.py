"""Command line: ``python -m simulator run|validate|list|schema``.

Exit codes: 0 success; 2 invalid input (one line per problem on stderr, no traceback);
1 an internal bug.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from simulator.cli import history
from simulator.cli.common import (
    SCENARIO_DIR,
    InputError,
    add_budget_options,
    add_output_options,
    apply_budget_options,
    check_out,
    check_seed,
    load_with_overrides,
    writing_out,
)
from simulator.report.summary_model import Architecture, Summary
from simulator.scenario.budget import check_budget
from simulator.scenario.config import Scenario, ScenarioError, load_scenario

DEBUG_ENV = "PIPELINE_TWIN_DEBUG"


def _fmt_int(x) -> str:
    return f"{x:,}" if x is not None else "-"


def _fmt(x, spec=".1f", suffix="") -> str:
    return "-" if x is None else f"{x:{spec}}{suffix}"


def fmt_ms(ms) -> str:
    """A latency in the unit a person reads best: ms, s, min or h."""
    if ms is None:
        return "-"
    if ms < 10_000:
        return f"{ms:.1f} ms"
    if ms < 120_000:
        return f"{ms / 1000:.1f} s"
    if ms < 7_200_000:
        return f"{ms / 60_000:.1f} min"
    return f"{ms / 3_600_000:.1f} h"


def _duration_text(seconds: float) -> str:
    h, rem = divmod(int(round(seconds)), 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h} h {m:02d} min"
    if m:
        return f"{m} min {s:02d} s"
    return f"{seconds:g} s"


def format_summary(summary: Summary, scenario: Scenario) -> str:
    """A readable table of the summary for a terminal."""
    r = summary.requests
    lat = summary.latency_ms
    arrived = r.arrived or 1
    lines = [
        f"Pipeline Twin: {scenario.name}",
        *([f"  {scenario.description.strip()}"] if scenario.description.strip() else []),
        f"  simulated {_duration_text(summary.sim_duration_s)} (first {_duration_text(summary.warmup_s)} "
        f"excluded as warm-up), seed {summary.seed}, {summary.wall_s:.2f} s of computing",
        "",
        f"  Requests      {_fmt_int(r.arrived)} arrived: {_fmt_int(r.ok)} ok ({100 * r.ok / arrived:.2f} %), "
        f"{_fmt_int(r.degraded)} degraded, {_fmt_int(r.failed)} failed, {_fmt_int(r.in_flight)} still in flight",
        f"  Availability  {_fmt(None if summary.availability is None else 100 * summary.availability, '.3f', ' %')}"
        f"   (answered / finished)",
        f"  Throughput    {_fmt(summary.throughput_rps, '.1f', ' decisions per second')}",
        f"  Latency       mean {fmt_ms(lat.mean)}, p50 {fmt_ms(lat.p50)}, "
        f"p95 {fmt_ms(lat.p95)}, p99 {fmt_ms(lat.p99)}",
        f"  On time       {_fmt(None if summary.on_time_fraction is None else 100 * summary.on_time_fraction, '.2f', ' %')}"
        f" answered within {summary.slo_latency_ms:g} ms",
    ]
    if summary.failures_by_reason:
        lines.append("  Failures      " + ", ".join(f"{k} {v:,}" for k, v in summary.failures_by_reason.items()))
    if scenario.topology is not None:
        lines += _architecture_lines(summary.architecture)
    else:
        lines += ["", f"  {'stage':<15}{'utilization':>12}{'mean wait':>13}{'mean service':>14}{'served':>12}"]
        for name, st in summary.stages.items():
            util = "-" if st.utilization is None else f"{100 * st.utilization:.1f} %"
            lines.append(f"  {name:<15}{util:>12}{fmt_ms(st.wait_ms_mean):>13}"
                         f"{fmt_ms(st.service_ms_mean):>14}{_fmt_int(st.served):>12}")
    lines += _feature_lines(summary, scenario)
    wt = summary.where_time_went
    if wt:
        lines += ["", f"  Where did the time go? {wt.finding}"]
    if summary.events:
        lines += ["", "  Events        " + ", ".join(f"{k} {v}" for k, v in summary.events.items())]
    return "\n".join(lines)


def _architecture_lines(arch: Architecture) -> list[str]:
    """Per component of a topology: what reached it, time there, utilization, decisions; then the
    bottleneck, the p99's critical path and the single points of failure."""
    comps = arch.components
    decided = arch.decided_by_share or {}
    lines = ["", f"  {'component':<22}{'kind':<14}{'reached':>10}{'mean time':>12}{'utilization':>13}{'decides':>9}"]
    for cid, row in comps.items():
        util = "-" if row.utilization is None else f"{100 * row.utilization:.1f} %"
        share = f"{100 * decided[cid]:.0f} %" if cid in decided else "-"
        lines.append(f"  {row.label[:21]:<22}{row.kind:<14}{_fmt_int(row.reached):>10}"
                     f"{fmt_ms(row.time_ms_mean):>12}{util:>13}{share:>9}")
    if arch.bottleneck:
        b = arch.bottleneck
        lines.append(f"  Bottleneck    {b.label}, {100 * b.utilization:.0f} % busy")
    if arch.critical_path:
        lines.append(f"  p99 path      {arch.critical_path.finding}")
    spof = [comps[c].label for c in arch.single_points_of_failure]
    if spof:
        lines.append(f"  No fallback   if one of these fails, every decision stops: {', '.join(spof)}")
    return lines


def _clock(scenario: Scenario, t_s) -> str:
    if t_s is None:
        return "-"
    seconds = int(round(scenario.start_time_of_day_h * 3600 + t_s)) % 86_400
    h, rem = divmod(seconds, 3600)
    m, sec = divmod(rem, 60)
    return f"{h:02d}:{m:02d}" + (f":{sec:02d}" if sec else "")


def _feature_lines(summary: Summary, sc: Scenario) -> list[str]:
    """Money, model, resilience and fairness lines, each only when the run has something to say."""
    lines: list[str] = []
    cost, value, model = summary.cost_usd, summary.value_usd, summary.model
    if cost:
        monthly = (f", about ${cost.monthly_projection:,.0f} a month at this load" if sc.period.kind == "typical"
                   and cost.monthly_projection is not None else "")
        lines += ["", f"  Cost          ${cost.total:,.2f} for the measured period "
                      f"(${(cost.per_1k_requests or 0):.4f} per 1,000 decisions{monthly}); "
                      f"{cost.node_hours:.2f} node-hours of {cost.instance_type}"]
    if value:
        lines.append(f"  Value         decisions worth ${value.gross_per_hour:,.0f}/h against ${value.cost_per_hour:,.2f}/h "
                     f"of cost: net ${value.net_per_hour:,.0f}/h (illustrative prices)")
    if model:
        lines.append(f"  Model         {model.version} ({model.precision}): accuracy {100 * model.accuracy:.2f} % on "
                     f"test data, {100 * (model.accuracy_online or 0):.2f} % on the decisions served"
                     + (f"; now serving {model.served_version}" if model.served_version != model.version else ""))
    rep = summary.replicas
    if rep and sc.autoscaler.enabled:
        lines.append(f"  Replicas      {rep.min} to {rep.max} ready (mean {rep.mean:.1f}), "
                     f"{summary.events.get('scale_decision', 0)} scaling decisions")
    br = summary.breaker
    if br.enabled:
        fb = summary.fallbacks
        held = f", held open by an operator {br.forced_open_s_total:.0f} s" if br.forced_open_s_total else ""
        lines.append(f"  Breaker       opened {br.opened} times, open {br.open_s_total:.0f} s in all{held}, "
                     f"{br.rejected_calls:,} calls skipped; fallback answers: {fb.cached:,} cached, "
                     f"{fb.default:,} default")
    retries = summary.retries
    if retries.enabled:
        lines.append(f"  Retries       {retries.calls_made:,} calls for {retries.calls_needed:,} needed "
                     f"(amplification {retries.amplification or 0:.2f})")
    can = summary.canary
    if can.outcome != "none":
        lines.append(f"  Canary        {can.outcome.replace('_', ' ')} at {_clock(sc, can.decided_at_s)}; "
                     f"{can.requests_on_canary:,} requests served by it, {can.bad_responses_on_canary:,} bad")
    for rec in summary.recovery:
        lines.append(f"  Fault         {rec.fault}: started {_clock(sc, rec.started_s)}, detected "
                     f"{_clock(sc, rec.detected_s)}, customers served again {_clock(sc, rec.mitigated_s)}, "
                     f"back to normal {_clock(sc, rec.recovered_s)}")
    fair = summary.fairness
    if fair and fair.enabled:
        lines.append(f"  Fairness      lowest approval ratio {_fmt(fair.min_di, '.2f')} (four-fifths rule: 0.80), "
                     f"{fair.flagged_windows} of {fair.windows} windows flagged"
                     + (f", first at {_clock(sc, fair.first_flag_s)}" if fair.first_flag_s is not None else ""))
        rv = summary.review
        if rv and rv.cases:
            lines.append(f"  Review        {rv.cases:,} cases (${rv.cost_usd:,.0f}), backlog up to {rv.backlog_max:,}, "
                         f"95 % waited under {_fmt(rv.wait_p95_min, '.0f')} min; {rv.reviewers_needed} reviewers "
                         f"needed for the {rv.sla_min:.0f}-min target, {rv.reviewers_on_duty_max} on duty")
    drift = summary.drift
    if drift and drift.detected_at_s is not None:
        lines.append(f"  Drift         detected {_clock(sc, drift.detected_at_s)}, retrained model ready "
                     f"{_clock(sc, drift.retrained_at_s)}")
    ex = summary.explanations
    if ex and ex.count:
        lines.append(f"  Explanations  {ex.count:,} ({ex.method.replace('_', ' ')}), "
                     f"{ex.overhead_ms_mean or 0:.2f} ms of model time each")
    return lines


class ProgressBar:
    """A stderr progress bar that appears only when a run takes more than ``after_s``."""

    def __init__(self, after_s: float = 2.0, enabled: bool = True):
        self.t0 = time.perf_counter()
        self.after_s = after_s
        self.enabled = enabled
        self.shown = False

    def __call__(self, fraction: float) -> None:
        if not self.enabled or time.perf_counter() - self.t0 < self.after_s:
            return
        self.shown = True
        width = 30
        filled = int(round(fraction * width))
        sys.stderr.write(f"\r  simulating [{'#' * filled}{'.' * (width - filled)}] {100 * fraction:5.1f} %")
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


# --------------------------------------------------------------------------- commands
def format_findings(found) -> str:
    """The findings, most important first, one wrapped paragraph each with its status."""
    import textwrap

    marks = {"ok": "ok    ", "watch": "WATCH ", "breach": "BREACH"}
    lines = ["  Findings"]
    for f in found:  # a number stays with its unit: "95 %" never breaks across lines
        text = f.headline.replace(" %", "\u00a0%").replace(" ms", "\u00a0ms")
        lines.append(textwrap.fill(text, width=110, initial_indent=f"  {marks[f.severity]}  ",
                                   subsequent_indent=" " * 10).replace("\u00a0", " "))
    return "\n".join(lines)


def cmd_run(args) -> int:
    from simulator.runner import run, run_findings

    if args.reps != 1 or args.precision:
        if args.traces:
            raise InputError("--traces: only with a single run (no --reps or --precision)")
        if args.save:
            raise InputError("--save: keeps a single run; use `compare --save` or `plan --save` for replications")
        from simulator.cli.experiments import cmd_replicate

        return cmd_replicate(args)

    scenario = load_with_overrides(args.scenario, args.set)
    seed = check_seed(scenario.seed if args.seed is None else args.seed)
    check_budget(scenario)
    check_out(args)  # an unusable --out or --traces fails now, not after the run
    bar = ProgressBar(enabled=not args.json and sys.stderr.isatty())
    try:
        result = run(scenario, seed, progress=bar)
    finally:
        bar.close()
    found = None if args.json and not args.out and not args.save else run_findings(result)
    if args.out:
        with writing_out(args) as folder:
            result.write(folder)
            (Path(folder) / "findings.json").write_text(json.dumps(found.to_list(), indent=2) + "\n",
                                                         encoding="utf-8")
    if args.traces:
        from simulator.report.tracing import write_otlp_json

        epoch = 1_767_225_600 + scenario.start_time_of_day_h * 3600  # 2026-01-01 + clock time at t=0
        try:
            write_otlp_json(args.traces, result.spans, scenario.tracing.service_name, epoch, seed)
        except OSError as err:
            raise InputError(f"--traces: could not write {args.traces}: {err.strerror or err}") from None
    if args.json:
        print(json.dumps(result.summary.to_dict(), indent=2))
    else:
        print(format_summary(result.summary, scenario))
        print("\n" + format_findings(found))
        if args.out:
            print(f"\n  wrote summary.json, findings.json, requests.parquet, timeseries.csv, events.csv, "
                  f"scenario.resolved.yaml to {args.out}")
    if args.save:
        history.save_run(args, result, found)
    return 0


def cmd_validate(args) -> int:
    scenario = load_with_overrides(args.scenario, args.set)
    est = check_budget(scenario)
    print(f"{args.scenario}: valid ({scenario.name}: about {est.arrivals:,.0f} requests over "
          f"{_duration_text(scenario.duration_s)}; an estimated {est.events:,.0f} simulation events and "
          f"{est.memory_bytes / 2**30:.1f} GB of memory)")
    return 0


def cmd_list(args) -> int:
    for path in sorted(SCENARIO_DIR.glob("*.yaml")):
        try:
            sc = load_scenario(path)
            first = sc.description.strip().split(". ")[0].rstrip(".")
            print(f"{path.stem:<22} {first}.")
        except ScenarioError as err:
            print(f"{path.stem:<22} (invalid: {err.lines[0]})")
    return 0


def cmd_schema(args) -> int:
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Pipeline Twin scenario"
    print(json.dumps(schema, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulator",
                                     description="Pipeline Twin: simulate an ML prediction service.")
    sub = parser.add_subparsers(dest="command", required=True)

    def scenario_args(p):
        p.add_argument("scenario", help="scenario YAML file, or a name from scenarios/ (e.g. baseline)")
        p.add_argument("--set", action="append", metavar="PATH=VALUE",
                       help="override a field, e.g. --set inference.replicas=6 (repeatable)")
        add_budget_options(p)

    p = sub.add_parser("run", help="simulate a scenario and print its summary")
    scenario_args(p)
    p.add_argument("--seed", type=int, help="random seed (default: the scenario's seed)")
    add_output_options(p, "result tables")
    p.add_argument("--json", action="store_true", help="print only the summary JSON")
    p.add_argument("--traces", metavar="FILE", help="export sampled request traces as OTLP/JSON to FILE")
    from simulator.cli.experiments import add_replication_options

    add_replication_options(p)  # --reps, --precision, --max-reps, --scheduler, --workers
    history.add_save_option(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="check a scenario file without running it")
    scenario_args(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("list", help="list the bundled scenarios")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("schema", help="print the scenario JSON Schema (for editor completion)")
    p.set_defaults(func=cmd_schema)

    # replications, comparisons, sweeps, planner and model validation live in their own module
    from simulator.cli.experiments import add_commands

    add_commands(sub, scenario_args)
    history.add_commands(sub)  # history, and --save on run, compare and plan
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; bad input is exit 2 with one line per problem, never a traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        apply_budget_options(args)
        return args.func(args)
    except ScenarioError as err:
        for line in err.lines:
            print(f"error: {line}", file=sys.stderr)
        return 2
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except MemoryError:
        print("error: max_requests: the run ran out of memory; make the scenario smaller (traffic.rate_per_s, "
              "duration_s) or lower --max-memory-mb so it is refused before it starts", file=sys.stderr)
        return 2
    except Exception as err:  # a bug: one line for the user, the traceback on request
        import os
        import traceback

        print(f"internal error (a bug, please report it): {type(err).__name__}: {str(err)[:200]}"
              f"{'' if os.environ.get(DEBUG_ENV) else f' (set {DEBUG_ENV}=1 for the traceback)'}",
              file=sys.stderr)
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        return 1
