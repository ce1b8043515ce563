"""Capacity planner (architects): instant queueing preview, then the cheapest plan meeting the service levels
over the whole scenario or its busiest window."""
import time

import streamlit as st

from dashboard import keeping, state, team, widgets
from dashboard.frame import ensure_frame
from simulator.analysis import planner as pl
from simulator.analysis.preview import compare_preview, preview_scenario
from simulator.common.csv_export import frame_to_csv
from simulator.report.words import clock
from simulator.scenario.config import ScenarioError
from simulator.viz.charts import planning_window_figure

ensure_frame()  # a direct link on a fresh server still gets the sidebar and menu

RESULT = "planner_result"

widgets.page_header("Capacity planner", "planner")
scenario = state.current_scenario()

# ---- instant answer: queueing theory, no simulation
pv = preview_scenario(scenario)
st.subheader("Instant estimate (queueing theory)")
widgets.kpi_row(widgets.estimate_tiles(scenario, pv), key="preview")
for note in pv["notes"]:
    st.caption(f"Note: {note}")
cached = state.cached_run(scenario, state.current_seed())
if cached is not None:
    st.caption("Against the simulation already run for this scenario and seed: "
               + compare_preview(pv, cached.summary).sentence)
else:
    st.caption(f"Computed in {pv['elapsed_ms']:.1f} ms from Erlang C, Allen-Cunneen and tandem decomposition; "
               f"the simulation on the other pages is the reference.")

# ---- the search
st.subheader("Find the cheapest configuration that meets the service levels")
run_minutes = (scenario.duration_s - scenario.warmup_s) / 60
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
    whole = f"the whole scenario ({run_minutes:,.0f} minutes)"
    choices = [whole] + [f"its busiest {m} minutes" for m in (15, 30, 60) if m < run_minutes]
    what = c.radio("Simulate", choices, index=0,
                   help="A plan must hold at the peak. The busiest window is simulated with everything before it as "
                        "warm-up, so autoscalers and queues reach the peak as they would on the day; only the window "
                        "is counted.")
    reps = c.slider("Replications per configuration", 2, 10, 4)
    submitted = st.form_submit_button("Find the cheapest plan", type="primary", help=team.role_note("plan", team.actor()))

minutes = None if what == whole else float(what.split()[2])
window = pl.peak_window(scenario, minutes if minutes is not None else run_minutes + 1)
widgets.chart(planning_window_figure(scenario, window, state.font_size()), key="planner_window")
st.caption(f"Counted: {clock(scenario, window.start_s)} to {clock(scenario, window.end_s)}, {window.reason}.")

# what the result must match to be current: scenario, knobs, seed, constraints and search space
asked = (state.run_key(scenario, state.current_seed()), p99_ms, availability, max_cost, lo, hi, str(space), fairness,
         minutes, reps)
if submitted and team.allowed("plan", state.selected_name()):  # an expensive search: analysts and admins
    constraints = [pl.p99_at_most(p99_ms), pl.availability_at_least(availability)]
    if max_cost > 0:
        constraints.append(pl.monthly_cost_at_most(max_cost))
    if fairness:
        constraints.append(pl.disparate_impact_at_least(0.8))
    try:
        planned = pl.window_scenario(scenario, window) if minutes is not None else scenario
        started = time.perf_counter()
        with st.status("Searching…", expanded=True) as status, state.backend() as backend:
            result = pl.plan(planned, constraints, replicas=(lo, hi), space=space, reps=reps, max_reps=2 * reps,
                             backend=backend, seed=state.current_seed(), progress=status.write)
            status.update(label="Search finished", state="complete", expanded=False)
        state.remember(RESULT, (asked, state.describe_current(), result))
        keeping.keep_plan(result, state.current_seed(), time.perf_counter() - started)
    except (ScenarioError, pl.MissingKpi) as err:
        st.error(f"The planner cannot run this search: {err}")

saved = state.recall(RESULT)
if saved is not None:
    key, described, result = saved
    stale = key != asked
    with st.container(key="plan_stale" if stale else "plan_current"):
        if stale:
            st.warning(f"Computed for **{described}** with other settings: run the search again for what the sidebar "
                       f"and the form show now.", icon=":material/history:")
            st.html("<style>.st-key-plan_stale [data-testid='stVerticalBlock'] > div:not(:first-child) "
                    "{ opacity: 0.45; }</style>")
        (st.success if result.recommendation is not None else st.error)(result.explanation)
        overrides = result.recommended_overrides()
        if overrides:
            st.code(" ".join(f"--set {k}={v}" for k, v in overrides.items()), language="bash")
            st.caption("Apply these to the whole scenario (e.g. `python -m simulator run NAME --set ...`) to check the "
                       "promise on every minute of it.")
        for note in result.notes:
            st.caption(f"Note: {note}")
        simulated = result.evaluations[result.evaluations["stage"] == "simulated"]
        if len(simulated) > 1:
            widgets.chart(pl.frontier_figure(result), key="planner_frontier")
        else:
            st.info("Only one configuration was simulated, so there is no trade-off between cost and latency to draw: "
                    "the table below has its numbers.", icon=":material/info:")
        ev = result.evaluations
        cols = [*result.knobs, "replicas", "stage", "verdict", f"{pl.P99_KPI}.mean", f"{pl.P99_KPI}.hi",
                f"{result.cost_kpi}.mean", "reps", "on_frontier", "recommended"]
        st.dataframe(ev[[c for c in cols if c in ev.columns]], hide_index=True, width="stretch")
        st.download_button("Download every evaluated configuration (CSV)", frame_to_csv(ev),
                           file_name=f"{result.scenario.name}-plan.csv", mime="text/csv", on_click="ignore")
