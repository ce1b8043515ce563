"""Runs finished in the app: audited, kept in the History when the role allows, attached to decisions;
and the audited download of per-request rows."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from dashboard import state
from dashboard.library import K_OPENED
from dashboard.team import actor, attempt, role_note, store
from simulator.common.csv_export import frame_to_csv
from simulator.report import exports
from simulator.report.results import RunResult
from simulator.scenario.config import Scenario
from simulator.store import audit, runs
from simulator.store.access import system_actor
from simulator.store.diff import body_diff

K_DRAFT = "_team_decision_draft"     # runs handed from Compare to the Decisions page


def _base_of(scenario: Scenario) -> tuple[str, Scenario | None]:
    """The sidebar entry a run's scenario came from: its name and its body before any what-if change."""
    base = state.base_scenario()
    if base.name == scenario.name:
        return state.selected_name(), base
    for name, candidate in state.catalog().items():
        if candidate.name == scenario.name:
            return name, candidate
    return scenario.name, None


def changes_from(base: Scenario | None, scenario: Scenario) -> dict[str, Any]:
    """The fields a run changed from the scenario as written (the what-if knobs, for example)."""
    if base is None:
        return {}
    return {d["path"]: d["after"] for d in body_diff(base.model_dump(mode="json"), scenario.model_dump(mode="json"))}


KEEP_AT_MOST = 2  # a page's run, or Compare's A and B; replication batches are audited, not kept


def runs_finished(results: list[RunResult], audit_only: list[RunResult] = ()) -> None:
    """Hook for :func:`dashboard.state.run_many`: every fresh run is audited; a page's run (or Compare's
    two) is kept in the history, with its findings, when the person may keep runs, an identical kept run
    not twice. Runs in ``audit_only`` (references such as a one-off event's twin) are audited only."""
    who = actor()
    try:
        st_store = store()
        for result in audit_only:
            name, _ = _base_of(result.scenario)
            audit.log_event(st_store, who, "run", "scenario", name, f"seed {result.seed} (reference run)")
        for result in results:
            name, base = _base_of(result.scenario)
            knobs = changes_from(base, result.scenario)
            if not who.can("save_run") or len(results) > KEEP_AT_MOST:
                audit.log_event(st_store, who, "run", "scenario", name, f"seed {result.seed}")
                continue
            if runs.find_same(st_store, result.scenario, result.seed) is not None:
                continue
            opened = st.session_state.get(K_OPENED, {}).get(name)
            with st.spinner("Keeping this run in the History…"):
                runs.save_run(st_store, who, result, scenario_name=opened[0] if opened else name, knobs=knobs,
                              scenario_version_id=opened[2] if opened and not knobs else None,
                              findings=state.findings_of(result))
                runs.prune(st_store, system_actor(), runs.Retention.from_env())  # the retention setting, as it grows
    except Exception as err:  # keeping a run must never break the page that shows it
        st.session_state[state.K_NOTICE] = f"This run could not be kept in the history: {err}"


def replications_finished(scenario: Scenario, reps: int, seed: int) -> None:
    """A "How sure" batch is audited as one entry (its runs are summaries only, never kept)."""
    try:
        name, _ = _base_of(scenario)
        audit.log_event(store(), actor(), "run", "scenario", name, f"{reps} replications from seed {seed}")
    except Exception as err:  # auditing must never break the page
        st.session_state[state.K_NOTICE] = f"These runs could not be recorded in the audit log: {err}"


def kept_run_id(result: RunResult) -> int | None:
    """The history id of a run (keeping it first when the person may and it is not kept yet)."""
    st_store = store()
    same = runs.find_same(st_store, result.scenario, result.seed)
    if same is not None:
        return same.id
    name, base = _base_of(result.scenario)
    found = state.findings_of(result)
    info = attempt(lambda: runs.save_run(st_store, actor(), result, scenario_name=name,
                                         knobs=changes_from(base, result.scenario), findings=found))
    return info.id if info else None


# --------------------------------------------------------------------------- library


def requests_csv(result: RunResult, where: str) -> Callable[[], str]:
    """The on-click builder of a page's 'every request' download; the download is recorded in the audit
    log, since the rows hold customer attributes. Person and store are taken now: the builder runs outside
    the page script."""
    who, st_store = actor(), store()
    name, _ = _base_of(result.scenario)
    kept = runs.find_same(st_store, result.scenario, result.seed)
    object_id = str(kept.id) if kept else f"{name}, seed {result.seed} (not kept)"

    def build() -> str:
        audit.log_event(st_store, who, "download_requests", "run", object_id,
                        f"{len(result.requests):,} rows from the {where} page")
        return frame_to_csv(exports.requests_table(result.scenario, result.requests))  # clock times

    return build


def keep_plan(plan, seed: int, wall_s: float) -> None:
    """Keep a finished capacity plan in the history (the search was already authorized)."""
    from simulator.store.experiments import save_plan

    info = attempt(lambda: save_plan(store(), actor(), plan, seed, wall_s=wall_s, scenario_name=state.selected_name()))
    if info is not None:
        st.caption(f"Kept in the History as plan #{info.id}.")


def decision_button(run_a: RunResult, run_b: RunResult, label_a: str, label_b: str) -> None:
    """'Write a decision about A and B': both runs kept (when the role allows) and attached to a new decision."""
    who = actor()
    if not st.button("Write a decision about A and B", key="compare_decide", icon=":material/gavel:",
                     help=role_note("write_decision", who) or "Opens the Decisions page with both runs attached."):
        return
    attached = []
    for result, text in ((run_a, label_a), (run_b, label_b)):
        run_id = kept_run_id(result) if who.can("save_run") else getattr(
            runs.find_same(store(), result.scenario, result.seed), "id", None)
        if run_id is not None:
            attached.append((run_id, text))
    st.session_state[K_DRAFT] = {"runs": attached, "options": [label_a, label_b]}
    st.switch_page("pages/decisions.py")
