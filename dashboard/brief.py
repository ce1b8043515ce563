"""The decision brief from a page: one click runs the paired replications and prints both files;
each download is recorded in the audit log like the other downloads of the team's data."""
from __future__ import annotations

import re
from collections.abc import Callable

import streamlit as st

from dashboard import state
from dashboard.team import actor, store
from dashboard.widgets import escape_markdown
from simulator.report.finding import Findings
from simulator.report.results import RunResult
from simulator.scenario.config import ScenarioError

K_BRIEFS = "_decision_briefs"   # session: key -> {"pdf": bytes, "pptx": bytes, "verdict": str, "name": str}
MIN_REPS, MAX_REPS, DEFAULT_REPS = 2, 30, 5
MIME = {"pdf": "application/pdf",
        "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation"}


def file_stem(*names: str) -> str:
    """'brief-baseline-vs-black_friday': letters, digits, '-', '_' and '.' only (names may hold anything)."""
    text = "-vs-".join(re.sub(r"[^A-Za-z0-9_.-]+", "-", n).strip("-")[:40] or "scenario" for n in names)
    return f"brief-{text}"


def _audited(data: bytes, what: str, object_id: str) -> Callable[[], bytes]:
    """The on-click builder of one download: recorded in the audit log, then handed over. Person and store are
    taken now, since the builder runs outside the page script."""
    who, st_store = actor(), store()

    def build() -> bytes:
        from simulator.store import audit

        audit.log_event(st_store, who, "download_brief", "comparison", object_id, what)
        return data

    return build


def brief_section(runs: tuple[RunResult, RunResult], findings: tuple[Findings, Findings], label_a: str,
                  label_b: str, key: str, question: str = "", chosen: str = "", rationale: str = "") -> None:
    """'Make the decision brief' and, once made, its PDF and PowerPoint downloads."""
    from simulator.brief.content import scenario_hash

    run_a, run_b = runs
    sc_a, sc_b = run_a.scenario, run_b.scenario
    c1, c2 = st.columns([1, 3])
    reps = c1.number_input("Replications", MIN_REPS, MAX_REPS, DEFAULT_REPS, key=f"{key}_brief_reps",
                           help="Each option is run this many times on the same seeds; more replications give "
                                "narrower 95 % intervals and take longer.")
    memo_key = (key, scenario_hash(sc_a), scenario_hash(sc_b), run_a.seed, int(reps), question, chosen, rationale)
    briefs = st.session_state.setdefault(K_BRIEFS, {})
    c2.caption("A PDF and a PowerPoint file for people who will not open the twin: the question, both options "
               "with their paired differences and 95 % intervals, the verdict, risks, assumptions, the "
               "architecture and how to reproduce it.")
    if c2.button("Make the decision brief (PDF and PowerPoint)", key=f"{key}_brief_make",
                 icon=":material/picture_as_pdf:", disabled=memo_key in briefs):
        briefs[memo_key] = _make(runs, findings, label_a, label_b, int(reps), question, chosen, rationale)
    made = briefs.get(memo_key)
    if not made:
        return
    if "error" in made:
        st.error(made["error"])
        return
    st.info(escape_markdown(made["verdict"]), icon=":material/gavel:")  # it holds the scenario's own words
    object_id = f"{label_a} against {label_b}, seed {run_a.seed}, {int(reps)} replications"
    d1, d2 = st.columns(2)
    for col, fmt, text in ((d1, "pdf", "Download the brief (PDF)"), (d2, "pptx", "Download the slides (PowerPoint)")):
        col.download_button(text, data=_audited(made[fmt], f"{fmt} from the {key} page", object_id),
                            file_name=f"{made['name']}.{fmt}", mime=MIME[fmt], key=f"{key}_brief_{fmt}",
                            on_click="ignore", icon=":material/download:", type="primary")


def _versions(runs) -> tuple[str, str]:
    """The Library versions the two runs' scenarios were saved as, when they are kept runs of saved versions."""
    from dashboard.keeping import settled
    from simulator.store import runs as kept_runs

    settled()
    out = []
    for result in runs:
        try:
            kept = kept_runs.find_same(store(), result.scenario, result.seed)
        except Exception:  # the footer loses a detail; the brief is still made
            kept = None
        out.append(kept.saved_version or "" if kept is not None else "")
    return out[0], out[1]


def _make(runs, findings, label_a: str, label_b: str, reps: int, question: str, chosen: str,
          rationale: str) -> dict:
    from simulator.brief.chromium import RendererMissing
    from simulator.brief.make import make_brief, render

    run_a, run_b = runs
    versions = _versions(runs)
    bar = st.progress(0.0, text=f"Running A and B {reps} times each on the same seeds…")
    try:
        with state.backend() as backend:
            brief, _ = make_brief(run_a.scenario, run_b.scenario, reps, seed=run_a.seed, label_a=label_a,
                                  label_b=label_b, backend=backend, runs=runs, findings=findings, question=question,
                                  chosen=chosen, rationale=rationale, versions=versions,
                                  progress=lambda done, total: bar.progress(done / total, text=f"Simulating {done} "
                                                                                               f"of {total} runs…"))
        bar.progress(1.0, text="Printing the PDF and the slides…")
        files = {fmt: render(brief, f".{fmt}") for fmt in ("pdf", "pptx")}
    except ScenarioError as err:
        return {"error": "The brief cannot be made: " + "; ".join(err.lines)}
    except RendererMissing as err:
        return {"error": f"The brief cannot be printed on this server: {err}."}
    finally:
        bar.empty()
    return {**files, "verdict": brief.verdict, "name": file_stem(run_a.scenario.name, run_b.scenario.name)}


def decision_brief(decision) -> None:
    """The brief for a recorded decision: its question, the option chosen and why, on its first two kept runs
    (run again from their scenarios and seed: the same seed gives the same runs)."""
    from simulator.store import runs

    if len(decision.runs) < 2:
        return
    flag = f"_brief_open_{decision.id}"
    if not st.session_state.get(flag):
        if st.button("Decision brief (PDF and PowerPoint)", key=f"decision_brief_{decision.id}",
                     icon=":material/picture_as_pdf:",
                     help="Reruns the two attached runs with paired replications and prints the brief."):
            st.session_state[flag] = True
            st.rerun()
        return
    try:
        kept = [runs.open_run(store(), run_id) for run_id, _ in decision.runs[:2]]
    except (LookupError, OSError) as err:
        st.warning(f"The brief needs both attached runs: {err}")
        return
    if any(k.scenario is None for k in kept):
        st.warning("One of the attached runs was kept by an older version whose scenario today's code cannot read, "
                   "so no brief can be made from it.")
        return
    seed = kept[0].info.seed
    try:
        results = state.run_many([(kept[0].scenario, seed), (kept[1].scenario, seed)], label="both options")
    except ScenarioError as err:
        st.error("The brief cannot be made: " + "; ".join(err.lines))
        return
    found = (state.findings_of(results[0]), state.findings_of(results[1]))
    labels = [re.sub(r"^[AB]: ", "", label) for _, label in decision.runs[:2]]
    brief_section((results[0], results[1]), found, labels[0], labels[1], f"decision{decision.id}",
                  question=decision.question, chosen=decision.chosen, rationale=decision.rationale)
