"""Keeping comparisons and capacity plans in the history, next to single runs.

Their tables (paired intervals per KPI, every configuration evaluated) are stored as frames and
their verdicts in the summary, so the History page and ``history --show`` present them as they
were, without recomputing.
"""
from __future__ import annotations

from simulator.analysis.experiments import Comparison
from simulator.analysis.planner import Plan
from simulator.store.access import Actor
from simulator.store.db import Store
from simulator.store.runs import RunInfo, jsonable, save_record


def save_comparison(store: Store, actor: Actor, comparison: Comparison, name_a: str, name_b: str, seed: int,
                    wall_s: float) -> RunInfo:
    reps = len(comparison.a.runs)
    summary = {"a": name_a, "b": name_b, "replications": reps, "base_seed": int(seed),
               "scenario_b": comparison.b.scenario.model_dump(mode="json"),
               "kpis": jsonable(comparison.table.to_dict("records"))}
    frames = {"comparison": comparison.table, "runs-a": comparison.a.runs, "runs-b": comparison.b.runs}
    return save_record(store, actor, kind="comparison", scenario=comparison.a.scenario, seed=seed, summary=summary,
                       frames=frames, wall_s=wall_s, scenario_name=name_a,
                       detail=f"{name_a} against {name_b}, {reps} replications, base seed {seed}")


def save_plan(store: Store, actor: Actor, plan: Plan, seed: int, wall_s: float, scenario_name: str | None = None) -> RunInfo:
    summary = {"constraints": [c.label for c in plan.constraints], "cost_kpi": plan.cost_kpi,
               "cost_is_proxy": plan.cost_is_proxy, "recommendation": jsonable(plan.recommendation),
               "explanation": plan.explanation, "notes": list(plan.notes), "knobs": list(plan.knobs)}
    return save_record(store, actor, kind="plan", scenario=plan.scenario, seed=seed, summary=summary,
                       frames={"evaluations": plan.evaluations}, wall_s=wall_s, scenario_name=scenario_name,
                       detail=f"{len(plan.evaluations)} configurations; "
                              + ("a recommendation" if plan.recommendation else "no configuration met the limits"))
