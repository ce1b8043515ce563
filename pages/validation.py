"""Why you can trust these numbers: textbook checks rerun on demand, and how much one run varies."""
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import state, widgets
from dashboard.frame import ensure_frame
from simulator.analysis.experiments import format_value, headline, kpi_info, run_replications, warmup_figure
from simulator.analysis.validation import cases, run_validation, validation_sentence
from simulator.scenario.config import ScenarioError

ensure_frame()  # a direct link on a fresh server still gets the sidebar and menu

CHECKS, REPS = "validation_checks", "validation_reps"
VERDICT_COLOURS = {"pass": "#54A24B", "inconclusive": "#F58518", "fail": "#E45756"}


def backend():
    return state.backend()


def error_figure(frame: pd.DataFrame):
    """Each check's error against the formula, with its tolerance as a grey band."""
    labels = [f"{r.case}: {r.metric}" for r in frame.itertuples()]
    fig = go.Figure()
    fig.add_trace(go.Bar(y=labels, x=frame["tolerance_pct"] * 2, base=-frame["tolerance_pct"], orientation="h",
                         marker_color="rgba(128,128,128,0.2)", name="tolerance", hoverinfo="skip"))
    fig.add_trace(go.Scatter(
        y=labels, x=frame["error_pct"], mode="markers", name="simulation vs formula",
        marker={"size": 11, "color": [VERDICT_COLOURS[v] for v in frame["verdict"]]},
        error_x={"type": "data", "symmetric": False,
                 "array": 100 * (frame["ci_hi"] - frame["simulated"]) / frame["theory"],
                 "arrayminus": 100 * (frame["simulated"] - frame["ci_lo"]) / frame["theory"]}))
    fig.update_layout(title="Simulated minus textbook value (% of the textbook value, 95 % intervals)",
                      xaxis_title="error (%)", barmode="overlay", height=160 + 32 * len(frame))
    return fig


widgets.page_header("Why you can trust these numbers", "validation")
st.markdown(
    "A simulator is only useful if its queues behave like real queues. For a few simple set-ups queueing "
    "theory gives the exact long-run answer, so we switch off everything else, run the simulator on them, and "
    "check that it lands within a stated tolerance of the formula. Every run is repeated with independent "
    "random seeds, so each number comes with a 95 % confidence interval.")

st.subheader("Textbook checks")
with st.expander("The cases and the formulas"):
    rows = [{"case": c.name, "set-up": c.story, "checked": ch.metric, "textbook value": round(ch.theory, 3),
             "tolerance": f"±{100 * ch.tolerance:g} %"} for c in cases() for ch in c.checks]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
size = st.radio("Size", ["quick (about 100,000 customers per case)", "standard (about 400,000 per case)"],
                horizontal=True, help="Quick runs are noisier, so their tolerances are twice as wide.")
if st.button("Run the checks", type="primary"):
    try:
        with st.spinner("Simulating the textbook queues…"), backend() as b:
            state.remember(CHECKS, run_validation(0.25 if size.startswith("quick") else 1.0, 4, backend=b))
    except ScenarioError as err:
        st.error("The checks did not finish: " + "; ".join(err.lines))
checks = state.recall(CHECKS)
if checks is not None:
    verdicts = set(checks["verdict"])
    say = st.error if "fail" in verdicts else st.warning if "inconclusive" in verdicts else st.success
    say(validation_sentence(checks))
    widgets.chart(error_figure(checks), key="validation_errors")
    shown = checks[["case", "metric", "theory", "preview", "simulated", "ci_lo", "ci_hi", "error_pct",
                    "tolerance_pct", "verdict", "more_customers"]]
    st.dataframe(shown.round(3), hide_index=True, width="stretch")
    st.caption("'preview' is the planner's instant queueing-theory estimate for the same set-up.")

st.subheader("How much does one run vary?")
scenario = state.current_scenario()
st.markdown(f"Run **{state.describe_current().split(' · seed')[0]}** several times with different random "
            f"seeds: the spread between runs is why each number carries an interval.")
reps = st.slider("Replications", 3, 20, 5)
if st.button("Run the replications"):
    try:
        with st.spinner(f"Running {reps} replications…"), backend() as b:
            state.remember(REPS, run_replications(scenario, reps, backend=b, seed=state.current_seed()))
    except ScenarioError as err:
        st.error("This scenario cannot be run: " + "; ".join(err.lines))
rs = state.recall(REPS)
if rs is not None:
    cols = st.columns(3)
    for i, key in enumerate(headline(rs.runs)[:6]):
        row = rs.kpis.set_index("kpi").loc[key]
        interval = f"{format_value(key, row['lo'])} to {format_value(key, row['hi'])}"
        cols[i % 3].metric(kpi_info(key).label, format_value(key, row["mean"]), border=True,
                           help=f"Mean over {int(row['n'])} replications; 95 % confidence interval {interval}.")
        cols[i % 3].caption(f"95 % interval: {interval}")
    widgets.chart(warmup_figure(rs), key="validation_warmup")
    st.caption(rs.warmup_sentence)
