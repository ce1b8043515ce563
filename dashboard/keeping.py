"""Runs finished in the app: audited, kept in the History when the role allows, attached to decisions;
and the audited download of per-request rows."""
from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
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


_KEEPER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="keep-runs")  # one at a time, in order
_PENDING: list[Future] = []
_LOCK = threading.Lock()
KEEP_WAIT_S = 60.0  # how long a page that reads the History waits for runs still being written


def _keep_in_background(save: Callable[[], None], session: str) -> None:
    """Write a kept run after the page that shows it has been drawn: its frames take most of a second
    to write, and the person is looking at the result meanwhile. What reads the History first waits
    for it (:func:`settled`); a failure is told on the person's next page."""
    def job() -> None:
        _lower_priority()
        deadline = time.monotonic() + PAGE_FIRST_S
        while session in _DRAWING and time.monotonic() < deadline:  # the page first: it is what the person waits for
            time.sleep(0.05)
        try:
            save()
        except Exception as err:  # keeping a run must never break a page; it is told instead
            state.LOG.exception("keeping a run failed")
            _FAILED[session] = f"This run could not be kept in the history: {err}"

    if state.in_process():  # AppTest runs the script in-process and reads the History at once
        job()
        return
    with _LOCK:
        _PENDING[:] = [f for f in _PENDING if not f.done()]
        _PENDING.append(_KEEPER.submit(job))


def _lower_priority() -> None:
    """The keeping thread yields the processor to page scripts and simulations (Linux: a thread's own
    nice value); elsewhere it simply runs."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass


_FAILED: dict[str, str] = {}  # session id -> why its last run could not be kept
_DRAWING: set[str] = set()  # sessions whose page script is running
PAGE_FIRST_S = 5.0  # a kept run waits at most this long for its page to be drawn


@contextlib.contextmanager
def drawing_page():
    """Around a page's script run: runs kept meanwhile are written once it is done."""
    session = state.session_id()
    _DRAWING.add(session)
    try:
        yield
    finally:
        _DRAWING.discard(session)


def settled(timeout_s: float = KEEP_WAIT_S) -> None:
    """Wait until the runs handed to the background have been kept (before reading the History). A
    page that needs them now lets its own runs be written at once."""
    _DRAWING.discard(state.session_id())
    with _LOCK:
        pending = list(_PENDING)
    wait(pending, timeout=timeout_s)


def runs_finished(results: list[RunResult], audit_only: list[RunResult] = ()) -> None:
    """Hook for :func:`dashboard.state.run_many`: every fresh run is audited; a page's run (or Compare's
    two) is kept in the history, with its findings, when the person may keep runs, an identical kept run
    not twice (the writing happens in the background, see :func:`_keep_in_background`). Runs in
    ``audit_only`` (references such as a one-off event's twin) are audited only."""
    who = actor()
    session = state.session_id()
    if session in _FAILED:
        st.session_state[state.K_NOTICE] = _FAILED.pop(session)
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
            opened = st.session_state.get(K_OPENED, {}).get(name)
            found = state.findings_of(result)

            def save(result=result, name=name, knobs=knobs, opened=opened, found=found) -> None:
                if runs.find_same(st_store, result.scenario, result.seed) is not None:
                    return
                runs.save_run(st_store, who, result, scenario_name=opened[0] if opened else name, knobs=knobs,
                              scenario_version_id=opened[2] if opened and not knobs else None, findings=found)
                runs.prune(st_store, system_actor(), runs.Retention.from_env())  # the retention setting, as it grows
            _keep_in_background(save, session)
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
    settled()
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

    def build() -> str:
        settled()  # on click: the run may still be being kept
        kept = runs.find_same(st_store, result.scenario, result.seed)
        object_id = str(kept.id) if kept else f"{name}, seed {result.seed} (not kept)"
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
