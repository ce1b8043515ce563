"""``--save`` for run, compare and plan, and the ``history`` command: the CLI's side of the store.

The command line acts as the local user (admin) unless ``PIPELINE_TWIN_USER`` names a person, whose
role then applies. Store problems (a database newer than the code, a server that is down, a role
that does not allow the action) end with exit code 2 and one line saying what to do.
"""
from __future__ import annotations

import json
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psutil

from simulator.cli.common import InputError
from simulator.scenario.config import parse_override


def add_save_option(p) -> None:
    p.add_argument("--save", action="store_true",
                   help="keep the result in the team's history (the database; see `history`)")


def _open():
    from simulator.store.db import StoreError, open_store
    from simulator.store.people import cli_actor

    try:
        store = open_store()
        return store, cli_actor(store)
    except (StoreError, ValueError) as err:
        raise InputError(f"--save/history: {err}") from None


def _name(scenario_arg: str) -> str:
    """'baseline' for a bundled name, the file's stem for a path ('my/peak.yaml' -> 'peak')."""
    return Path(scenario_arg).stem if scenario_arg.endswith((".yaml", ".yml")) else scenario_arg


def _elapsed_s() -> float:
    """Wall time of this command so far (the process started with it)."""
    return max(0.0, time.time() - psutil.Process().create_time())


def _kept(info, store, stream) -> None:
    print(f"\n  kept as {info.kind} #{info.id} in the history ({store.url_text})", file=stream)


def _retention():
    from simulator.store.runs import Retention

    try:
        return Retention.from_env()
    except ValueError as err:
        raise InputError(str(err)) from None


def _guarded(action):
    from simulator.store.access import PermissionDenied

    try:
        return action()
    except PermissionDenied as err:
        raise InputError(f"--save: {err}") from None


def save_run(args, result, found=None) -> None:
    from simulator.store import runs

    store, actor = _open()
    try:
        knobs = dict(parse_override(s) for s in (args.set or []))
        if args.seed is not None:
            knobs["seed"] = args.seed
        info = _guarded(lambda: runs.save_run(store, actor, result, scenario_name=_name(args.scenario), knobs=knobs,
                                                        findings=found))
        _kept(info, store, sys.stderr if args.json else sys.stdout)
        if actor.can("prune"):  # the retention setting applies whenever a run is added
            runs.prune(store, actor, _retention())
    finally:
        store.close()


def save_comparison(args, comparison, name_a: str, name_b: str, seed: int) -> None:
    from simulator.store.experiments import save_comparison as keep

    store, actor = _open()
    try:
        info = _guarded(lambda: keep(store, actor, comparison, name_a, name_b, seed, _elapsed_s()))
        _kept(info, store, sys.stderr if args.json else sys.stdout)
    finally:
        store.close()


def save_plan(args, plan, seed: int) -> None:
    from simulator.store.experiments import save_plan as keep

    store, actor = _open()
    try:
        info = _guarded(lambda: keep(store, actor, plan, seed, _elapsed_s(), scenario_name=_name(args.scenario)))
        _kept(info, store, sys.stdout)
    finally:
        store.close()


# --------------------------------------------------------------------------- history
def _day(text: str | None, option: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
    except ValueError:
        raise InputError(f"{option}: expected a date like 2026-12-04; got {text!r}") from None


def _headline(info) -> str:
    s = info.summary or {}
    if info.kind == "run":
        from pydantic import ValidationError

        from simulator.report.summary_model import Summary

        try:
            summary = Summary.model_validate(s)
        except ValidationError:
            return "kept by an older version"
        p99, on_time = summary.latency_ms.p99, summary.on_time_fraction
        return (f"p99 {p99:,.0f} ms" if p99 is not None else "p99 -") + \
               (f", {100 * on_time:.2f} % on time" if on_time is not None else "")
    if info.kind == "comparison":
        return f"against {s.get('b')}, {s.get('replications')} replications"
    rec = s.get("recommendation") or {}
    return f"recommends {rec.get('replicas')} replicas" if rec else "no plan met the limits"


def cmd_history(args) -> int:
    from simulator.store import runs
    from simulator.store.frames import DamagedFrames

    if args.limit < 1:
        raise InputError(f"--limit: must be ≥ 1; got {args.limit}")
    store, actor = _open()
    try:
        if args.prune:
            done = _guarded(lambda: runs.prune(store, actor, _retention()))
            print(f"removed the per-request rows of {done['runs_purged']} run(s) ({done['bytes_freed'] / 1e6:,.0f} MB) "
                  f"and {done['orphans_removed']} unfinished folder(s)")
            return 0
        if args.show is not None:
            try:
                stored = runs.open_run(store, args.show)
            except (LookupError, DamagedFrames) as err:
                raise InputError(f"--show: {err}") from None
            return _show(stored, args.json)
        until = _day(args.until, "--until")
        flt = runs.RunFilter(scenario_name=args.scenario, author=args.by, kind=args.kind,
                             since=_day(args.since, "--since"), until=until + timedelta(days=1) if until else None,
                             limit=args.limit)
        found = runs.list_runs(store, flt)
    finally:
        store.close()
    if args.json:
        print(json.dumps([{"id": r.id, "kind": r.kind, "scenario": r.scenario_name, "saved_version": r.saved_version,
                           "seed": r.seed, "knobs": r.knobs, "code_version": r.code_version, "author": r.author,
                           "created_at": r.created_at.isoformat(), "wall_s": r.wall_s,
                           "per_request_rows_kept": r.has_requests} for r in found], indent=2))
        return 0
    if not found:
        print("No saved runs match. Keep one with `python -m simulator run baseline --save`.")
        return 0
    print(f"{'id':>5}  {'when (UTC)':<16}  {'who':<22}  {'kind':<10}  {'scenario':<18}  {'seed':>6}  "
          f"{'result':<34}  changes")
    for r in found:
        knobs = ", ".join(f"{k}={v}" for k, v in r.knobs.items() if k != "seed")
        print(f"{r.id:>5}  {r.created_at:%Y-%m-%d %H:%M}  {r.author[:22]:<22}  {r.kind:<10}  {r.scenario_name[:18]:<18}  "
              f"{r.seed:>6}  {_headline(r)[:34]:<34}  {knobs}")
    print(f"\n{len(found)} shown; `history --show ID` prints one as it was saved.")
    return 0


def _show(stored, as_json: bool) -> int:
    info = stored.info
    if as_json:
        print(json.dumps({"id": info.id, "kind": info.kind, "code_version": info.code_version,
                          "summary": info.summary, "findings": info.findings}, indent=2))
        return 0
    print(f"{info.kind} #{info.id}: kept by {info.author} at {info.created_at:%Y-%m-%d %H:%M} UTC with code "
          f"{info.code_version}" + (f"; scenario {info.saved_version}" if info.saved_version else ""))
    result = stored.result()
    if result is not None:
        from simulator.cli.formats import format_findings, format_summary

        print(format_summary(result.summary, result.scenario))
        found = stored.findings()
        if found is not None:
            print("\n" + format_findings(found))
    elif info.kind == "run":
        print("\n  (kept by an older version whose summary today's code reads differently; `--json` prints it)")
    elif info.kind == "plan":
        print("\n" + info.summary.get("explanation", ""))
    elif info.kind == "comparison":
        from simulator.analysis.experiments import format_value
        from simulator.cli.formats import signed, table

        s = info.summary
        print(f"A = {s['a']}, B = {s['b']}: {s['replications']} replications each from seed {s['base_seed']}\n")
        print(table(["KPI", "A", "B", "B - A [95 % interval]", "verdict"],
                     [[r["label"], format_value(r["kpi"], r["a_mean"]), format_value(r["kpi"], r["b_mean"]),
                       f"{signed(r['kpi'], r['diff_mean'])} [{signed(r['kpi'], r['lo'])} to "
                       f"{signed(r['kpi'], r['hi'])}]", r["sentence"]] for r in s["kpis"]]))
    if stored.scenario_problem:
        print("\n  (today's code cannot read this run's scenario: " + "; ".join(stored.scenario_problem) + ")")
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("history", help="list the runs, comparisons and plans kept with --save")
    p.add_argument("--scenario", help="only this scenario")
    p.add_argument("--by", metavar="EMAIL", help="only runs kept by this person ('local' for the local user)")
    p.add_argument("--kind", choices=["run", "comparison", "plan"], help="only this kind")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="kept on or after this day (UTC)")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="kept on or before this day (UTC)")
    p.add_argument("--limit", type=int, default=50, help="at most this many, newest first (default 50)")
    p.add_argument("--show", type=int, metavar="ID", help="print one kept run as it was saved")
    p.add_argument("--prune", action="store_true",
                   help="apply the retention setting now (PIPELINE_TWIN_KEEP_REQUESTS_DAYS and _GB)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_history)
