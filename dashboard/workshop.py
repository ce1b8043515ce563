"""The dashboard's side of workshop mode: the workshops on disk, an act's run and answer, the join link.

The facilitator's page runs each act's scenario on the dashboard's worker pool (cached like every
run, kept in the History when the role allows) while the room guesses, so the reveal is instant;
the participant's page never runs anything, it only reads the session from the store.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import segno
import streamlit as st

from dashboard import state
from simulator.report.findings import Findings
from simulator.report.narrative import narrate
from simulator.report.results import RunResult
from simulator.scenario.config import Scenario, ScenarioError, without_incident
from simulator.workshop.answers import NoAnswer, Truth, truth
from simulator.workshop.definition import Act, Workshop, act_scenario, bundled_scenarios, load_folder, workshop_dir

PUBLIC_URL_ENV = "PIPELINE_TWIN_PUBLIC_URL"
JOIN_PAGE = "join"
FACILITATOR_PAGE = "workshop"
POLL = "2s"                      # how often the screens look for a change (one small query)


@st.cache_data(show_spinner=False, max_entries=4)
def _load(folder: str, scenario_folder: str, stamp: tuple, scenario_stamp: tuple) -> tuple[dict[str, Workshop],
                                                                                           list[str]]:
    del stamp, scenario_stamp  # cache keys only: a changed file reloads
    return load_folder(Path(folder), bundled_scenarios(Path(scenario_folder)))


def _bundled() -> dict[str, Scenario]:
    """The scenarios an act may name: the bundled ones (this session's uploads and edits are not)."""
    return state.bundled_scenarios()


def catalog() -> tuple[dict[str, Workshop], list[str]]:
    """The workshops of the folder (``PIPELINE_TWIN_WORKSHOPS`` or ``workshops/``) and their problems."""
    folder = workshop_dir()
    scenarios = state.scenario_dir()
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.yaml")))
    scenario_stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(scenarios.glob("*.yaml")))
    return _load(str(folder), str(scenarios), stamp, scenario_stamp)


# --------------------------------------------------------------------------- an act's run
@dataclass(frozen=True)
class ActRun:
    result: RunResult
    found: Findings
    truth: Truth


def act_run(act: Act) -> ActRun:
    """The act's run (with its one-off twin and its ``versus`` run, all at once on the worker pool), its
    findings and the correct answer. Raises ScenarioError or NoAnswer with a readable message."""
    scenario, versus = act_scenario(act, _bundled())
    seed = act.seed if act.seed is not None else scenario.seed
    twin = without_incident(scenario)
    jobs = [(scenario, seed)] + ([(twin, seed)] if twin is not None else []) + \
        ([(versus, seed)] if versus is not None else [])
    results = state.run_many(jobs, label=f"“{act.title}”", keep=1)
    result = results[0]
    found = state.findings_of(result)
    return ActRun(result, found, truth(act.answer, result.summary, results[-1].summary if versus is not None else None))


def story(run: ActRun) -> list[str]:
    """The scenario's story in its own words (the same paragraphs as the Overview)."""
    return narrate(run.result, run.found)


def prepare(act: Act) -> ActRun | None:
    """Run the act now (while the room answers); a problem is shown and None returned."""
    try:
        return act_run(act)
    except (ScenarioError, NoAnswer) as err:
        lines = getattr(err, "lines", None) or [str(err)]
        st.error("The simulation cannot answer this question: " + " ".join(lines))
        return None


# --------------------------------------------------------------------------- joining
def base_url() -> str:
    """The address phones use: ``PIPELINE_TWIN_PUBLIC_URL`` when set (a projector's laptop behind a name
    or a proxy), else the address this browser used to reach the server."""
    configured = os.environ.get(PUBLIC_URL_ENV, "").strip()
    if configured:
        return configured.rstrip("/")
    seen = (st.context.url or "http://localhost:8501").split("?")[0].rstrip("/")
    return seen.removesuffix(f"/{FACILITATOR_PAGE}")  # the address of this page, less the page


def join_url(code: str, base: str | None = None) -> str:
    return f"{(base or base_url()).rstrip('/')}/{JOIN_PAGE}?code={code}"


def qr_svg(url: str, scale: int = 6) -> str:
    """The join link as a QR code (SVG, black on white so every phone camera reads it)."""
    return segno.make(url, error="m").svg_inline(scale=scale, dark="#000000", light="#ffffff", border=2)
