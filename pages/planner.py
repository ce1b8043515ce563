"""Capacity planner (architects): instant queueing preview, then the cheapest plan meeting the service levels."""
import time

import streamlit as st

from dashboard import keeping, state, team, widgets
from dashboard.frame import ensure_frame
from simulator.analysis import planner as pl
from simulator.analysis.experiments import format_value
from simulator.analysis.preview import compare_preview, preview_scenario
from simulator.common.csv_export import frame_to_csv
from simulator.scenario.config import ScenarioError, with_overrides

ensure_frame()  # a direct link on a fresh server still gets the sidebar and menu

RESULT = "planner_result"

widgets.page_header("Capacity planner", "planner")
scenario = state.current_scenario()

# ---- instant answer: queueing theory, no simulation
pv = preview_scenario(scenario)
st.subheader("Instant estimate (queueing theory)")
c1, c2, c3, c4 = st.columns(4)
c1.metric("Keeps up with the load?", "yes" if pv["stable"] else "no", border=True,
          help="Whether every stage can serve the average arrival rate (utilization below 100 %).")
c2.metric("Mean latency", format_value("latency_ms.mean", pv["latency_ms"]["mean"]), border=True)
c3.metric("p99 latency", format_value("latency_ms.p99", pv["latency_ms"]["p99"]), border=True,
          help="99 % of answers are faster than this (a two-moment approximation).")
util = pv["stages"]["inference"]["utilization"]
c4.metric("Model servers busy", "-" if util is None else f"{100 * util:.0f} %", border=True)
for note in pv["notes"]:
    st.warning(note)
cached = state.cached_run(scenario, state.current_seed())
if cached is not None:
    st.caption("Against the simulation already run for this scenario and seed: "
               + compare_preview(pv, cached.summary).sentence)
else:
    st.caption(f"Computed in {pv['elapsed_ms']:.1f} ms from Erlang C, Allen-Cunneen and tandem decomposition; "
               f"the simulation on the other pages is the reference.")

# ---- the search
st.subheader("Find the cheapest configuration that meets the service levels")
with st.form("planner_form"):
    a, b, c = st.columns(3)
    p99_ms = a.number_input("p99 latency at most (ms)", min_value=1.0, value=float(scenario.slo_latency_ms))
    availability = b.selectbox("Availability at least", [0.99, 0.999, 0.9999], index=1,
                               format_func=lambda x: f"{100 * x:g} %")
    max_cost = c.number_input("Monthly cost at most (USD, 0 = no limit)", min_value=0.0, value=0.0, step=100.0)
    top = max(8, scenario.inference.replicas * 2)
    lo, hi = a.slider("Replicas to consider", 1, max(32, top), (1, top))
    space = {}
    for knob, label in (("precision", "Model precisions to try"), ("instance_type", "Instance types to try")):
        path = pl.knob_path(knob)
        choices = pl.allowed_values(path) if path else None
        if choices:
            current = scenario
            for part in path.split("."):
                current = getattr(current, part)
            picked = b.multiselect(label, choices, default=[current])
            if picked and picked != [current]:
                space[path] = picked
    fairness = b.checkbox("Disparate impact at least 0.8 (where fairness is modelled)", value=True)
    run_minutes = int(scenario.duration_s // 60)
    if run_minutes > 5:
        minutes = c.slider("Simulated minutes per run", 5, run_minutes, min(15, run_minutes),
                           help="Shorter runs answer sooner; the intervals account for the extra noise.")
    else:  # a short scenario is simulated whole
        minutes = max(1, run_minutes)
        c.caption(f"Each run simulates the whole scenario ({scenario.duration_s:g} s).")
    reps = c.slider("Replications per configuration", 2, 10, 4)
    submitted = st.form_submit_button("Find the cheapest plan", type="primary", help=team.role_note("plan", team.actor()))

if submitted and team.allowed("plan", state.selected_name()):  # an expensive search: analysts and admins
    constraints = [pl.p99_at_most(p99_ms), pl.availability_at_least(availability)]
    if max_cost > 0:
        constraints.append(pl.monthly_cost_at_most(max_cost))
    if fairness:
        constraints.append(pl.disparate_impact_at_least(0.8))
    duration_s = min(scenario.duration_s, 60.0 * minutes)
    try:
        short = with_overrides(scenario, {"duration_s": duration_s,
                                          "warmup_s": min(scenario.warmup_s, duration_s / 5)})
        started = time.perf_counter()
        with st.status("Searching…", expanded=True) as status, state.backend() as backend:
            result = pl.plan(short, constraints, replicas=(lo, hi), space=space, reps=reps, max_reps=2 * reps,
                             backend=backend, progress=status.write)
            status.update(label="Search finished", state="complete", expanded=False)
        state.remember(RESULT, result)
        keeping.keep_plan(result, state.current_seed(), time.perf_counter() - started)
    except (ScenarioError, pl.MissingKpi) as err:
        st.error(f"The planner cannot run this search: {err}")

result = state.recall(RESULT)
if result is not None:
    (st.success if result.recommendation is not None else st.error)(result.explanation)
    for note in result.notes:
        st.caption(f"Note: {note}")
    widgets.chart(pl.frontier_figure(result), key="planner_frontier")
    ev = result.evaluations
    cols = [*result.knobs, "replicas", "stage", "verdict", f"{pl.P99_KPI}.mean", f"{pl.P99_KPI}.hi",
            f"{result.cost_kpi}.mean", "reps", "on_frontier", "recommended"]
    st.dataframe(ev[[c for c in cols if c in ev.columns]], hide_index=True, width="stretch")
    st.download_button("Download every evaluated configuration (CSV)", frame_to_csv(ev),
                       file_name=f"{result.scenario.name}-plan.csv", mime="text/csv", on_click="ignore")
