"""Compare: the sidebar's scenario (A) against another scenario or changed knobs (B), same seed."""
import streamlit as st

from dashboard import keeping, state, widgets
from dashboard.brief import brief_section
from dashboard.frame import ensure_frame
from simulator.report.compare import compare_runs
from simulator.report.findings import Findings
from simulator.report.narrative import changed_fields, compare_paragraph
from simulator.scenario.config import ScenarioError
from simulator.scenario.knobs import natural_comparison
from simulator.viz.charts import compare_figure
from simulator.viz.diagram import architecture_dot
from simulator.viz.kpis import compare_tiles, delta_text

ensure_frame()  # a direct link on a fresh server still gets the sidebar and menu

NATURAL = "its natural comparison"
SAME = "the same scenario"


def verdict_word(found: Findings) -> str:
    """'service level met' / 'service level missed', from the run's findings."""
    level = found.first("service_level")
    return f"service level {level.status}" if level is not None else ""


widgets.page_header("Compare", "compare")
names = list(state.catalog())
a_name = state.selected_name()
scenario_a = state.current_scenario()
seed = state.current_seed()
natural, natural_label = natural_comparison(scenario_a)

st.markdown(f"**A** is the sidebar's choice: *{state.describe_current()}*. Set up **B** here:")
c1, c2, c3 = st.columns([2, 1, 1])
b_pick = c1.selectbox("B: scenario", [NATURAL, SAME] + names, key="compare_with", bind="query-params",
                      persist_state="session",
                      help=f"'{NATURAL}' is {natural_label} for this scenario. Or pick another scenario, or the same "
                           f"one, and change B's traffic and model servers.")
b_traffic = c2.slider("B: traffic (% of normal)", 25, 400, 100, step=25, key="b_traffic", bind="query-params",
                      persist_state="session")
b_capacity = c3.slider("B: model servers (% of the plan)", 25, 400, 100, step=25, key="b_capacity",
                       bind="query-params", persist_state="session")

if b_pick == NATURAL:
    base_b, b_name = natural, natural_label
elif b_pick == SAME:
    base_b, b_name = scenario_a, a_name
else:
    base_b, b_name = state.catalog()[b_pick], b_pick
scenario_b = state.apply_knobs(base_b, b_traffic, b_capacity)
label_a = f"A: {a_name}"
label_b = f"B: {b_name}" + (f", traffic {b_traffic} %" if b_traffic != 100 else "") + \
          (f", {scenario_b.inference.replicas} servers" if b_capacity != 100 else "")
st.caption(f"Both run with seed {seed}: the same customers arrive at the same moments and need the same work, "
           f"so every difference comes from the settings.")

try:
    run_a, run_b = state.run_many([(scenario_a, seed), (scenario_b, seed)], label="A and B")
except ScenarioError as err:
    st.error("This comparison cannot be run:\n\n" + "\n".join(f"- {line}" for line in err.lines))
    st.stop()

tiles_a, tiles_b = compare_tiles(run_a), compare_tiles(run_b)
found_a, found_b = state.findings_of(run_a), state.findings_of(run_b)
cmp = compare_runs(run_a, run_b, label_a, label_b)
for warning in cmp["warnings"]:
    st.warning(warning, icon=":material/warning:")
st.markdown(f"**{label_a}**: {verdict_word(found_a)}")
widgets.kpi_row(tiles_a, key="compare_a")
st.markdown(f"**{label_b}**: {verdict_word(found_b)} (arrows show the change from A; green is better for "
            f"{scenario_a.vocabulary.customers} or cost per decision)")
widgets.kpi_row(tiles_b, [delta_text(ta, tb) for ta, tb in zip(tiles_a, tiles_b)], key="compare_b")

st.subheader("What changed, and what it did")
paragraph = compare_paragraph(run_a.scenario, run_a.summary, run_b.scenario, run_b.summary, cmp, label_a, label_b)
st.markdown(paragraph)
changes = changed_fields(run_a.scenario, run_b.scenario)
if changes and not state.presentation_mode():
    with st.expander("As configured (for architects)"):
        st.dataframe([{"setting": path, "A": str(va), "B": str(vb)} for path, va, vb in changes], hide_index=True,
                     width="stretch")

size = state.font_size()
runs = [(label_a, run_a.scenario, run_a.timeseries), (label_b, run_b.scenario, run_b.timeseries)]
figures = [compare_figure(runs, col, size, same_clock=cmp["same_clock"]) for col in
           ("throughput_rps", "latency_p99_ms", "inference_queue", "utilization_inference")]
columns = st.columns(1 if state.presentation_mode() else 2)
for i, fig in enumerate(figures):
    with columns[i % len(columns)]:
        widgets.chart(fig, key=f"cmp_{i}")

st.subheader("Side by side")
left, right = st.columns(2)
with left:
    st.markdown(f"**{label_a}**")
    widgets.diagram(architecture_dot(run_a.scenario, found_a, run_a.summary, font_size=state.diagram_font_size()),
                    key="compare_diagram_a")
with right:
    st.markdown(f"**{label_b}**")
    widgets.diagram(architecture_dot(run_b.scenario, found_b, run_b.summary, font_size=state.diagram_font_size()),
                    key="compare_diagram_b")

keeping.decision_button(run_a, run_b, label_a, label_b)

st.subheader("Decision brief")
brief_section((run_a, run_b), (found_a, found_b), label_a.removeprefix("A: "), label_b.removeprefix("B: "), "compare")

widgets.downloads(run_b, "compare", f"Compare {label_a} with {label_b}", figures=figures, tiles=tiles_b,
                  paragraphs=[paragraph], include_requests=False, found=found_b)
