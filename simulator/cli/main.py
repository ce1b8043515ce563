"""Command line: ``python -m simulator run|validate|list|schema``.

Exit codes: 0 success; 2 invalid input (one line per problem on stderr, no traceback);
1 an internal bug.
"""
from __future__ import annotations

import argparse
import json
import sys
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
from simulator.cli.formats import ProgressBar, duration_text, format_findings, format_summary
from simulator.scenario.budget import check_budget
from simulator.scenario.config import Scenario, ScenarioError, load_scenario

DEBUG_ENV = "PIPELINE_TWIN_DEBUG"


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
          f"{duration_text(scenario.duration_s)}; an estimated {est.events:,.0f} simulation events and "
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
    from simulator.cli.brief import add_command as add_brief

    add_brief(sub)  # brief A B --out brief.pdf
    history.add_commands(sub)  # history, and --save on run, compare and plan
    from simulator.cli import workshop

    workshop.add_commands(sub)  # workshop: list, check, --answers
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
