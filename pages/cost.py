"""Cost & capacity: what the service costs, what its decisions are worth, and whether the
compressed (int8) model is good enough, in words an executive reads."""
import streamlit as st

from dashboard import state, widgets
from dashboard.frame import ensure_frame
from simulator.scenario.config import ScenarioError, with_overrides
from simulator.scenario.rates import expected_arrivals
from simulator.viz import feature_charts as fc

ensure_frame()  # a direct link on a fresh server still gets the sidebar and menu


widgets.page_header("Cost & capacity", "cost")

result = state.current_run()
found = state.current_findings()
sc, summary, ts, ev = result.scenario, result.summary, result.timeseries, result.events
size = state.font_size()
presenting = state.presentation_mode()

if summary.cost_usd is None:
    st.info("This scenario has no model stage, so there are no model servers to put a price on. Pick "
            "**black_friday** (an eightfold traffic peak), **quantization** (the compressed model) or "
            "**cold_start** (switching servers off when idle) in the sidebar.", icon=":material/info:")
    st.stop()

tiles = fc.cost_tiles(sc, summary, found)
widgets.kpi_row(tiles, key="cost")

paragraph = fc.cost_paragraph(sc, summary, found, ev)
st.markdown(paragraph)

figures = [fc.replicas_load_figure(sc, ts, ev, size)]
widgets.chart(figures[0], key="cost_replicas")
if not sc.autoscaler.enabled:
    st.caption("The number of model servers is fixed here. Pick **black_friday** or **cold_start** to watch the "
               "autoscaler add and remove servers as traffic changes.")

left, right = (st.container(), st.container()) if presenting else st.columns(2)  # one wide column when projecting
with left:
    figures.append(fc.cost_breakdown_figure(sc, summary.cost_usd, size))
    widgets.chart(figures[-1], key="cost_breakdown")
with right:
    figures.append(fc.value_cost_figure(sc, ts, summary, result.extra.get("reviews"), size))
    widgets.chart(figures[-1], key="cost_value")
st.caption(f"Value uses the scenario's illustrative amounts (the average amount at stake, the share of it a right "
           f"decision saves, the cost of a false alarm) and the {sc.vocabulary.model}'s accuracy measured on this "
           f"run's own {sc.vocabulary.requests}.")

# --------------------------------------------------------------------------- fp32 against int8
st.subheader("Compressed (int8) or full-precision (fp32) model?")
st.markdown("A compressed model stores its numbers in 8 bits instead of 32: it needs less memory, so more model "
            "servers fit on one machine, and it answers faster. The question is what it costs in accuracy. Here the "
            "same customers are served by both versions (same random seed), so every difference comes from the "
            "model.")
seed = state.current_seed()
big = expected_arrivals(sc) > 400_000
compare = st.toggle("Compare the two versions", value=not big, key="cost_compare_precision",
                    help="Simulates the scenario once more with the other precision (the current one is reused).")
if big and not compare:
    st.caption("This scenario is long: simulating it a second time takes a minute or so. Switch the comparison on "
               "when you are ready.")
if compare:
    try:
        variants = {p: with_overrides(sc, {"inference.precision": p}) for p in ("fp32", "int8")}
        run_32, run_8 = state.run_many([(variants["fp32"], seed), (variants["int8"], seed)],
                                       label="the fp32 and int8 versions")
    except ScenarioError as err:
        st.warning("The comparison cannot be run for this scenario:\n\n" + "\n".join(f"- {x}" for x in err.lines))
    else:
        label_32, label_8 = fc.PRECISION_WORDS["fp32"], fc.PRECISION_WORDS["int8"]
        facts_32, facts_8 = fc.precision_facts(run_32.scenario, run_32.summary), fc.precision_facts(
            run_8.scenario, run_8.summary)
        now = fc.PRECISION_WORDS.get(sc.inference.precision, sc.inference.precision)
        st.markdown(f"This scenario runs the **{now}** model. "
                    + fc.precision_paragraph(label_32, facts_32, label_8, facts_8))
        table = fc.precision_table({"Full precision (fp32)": facts_32, "Compressed (int8)": facts_8})
        st.dataframe(table, hide_index=True, width="stretch")
        runs = [("full precision (fp32)", run_32.scenario, run_32.timeseries),
                ("compressed (int8)", run_8.scenario, run_8.timeseries)]
        pair = [fc.overlay_figure(runs, "latency_p99_ms", "Slowest 1 % of customers wait (p99): fp32 against int8",
                                  "wait", size)]
        if not run_32.timeseries["replicas"].equals(run_8.timeseries["replicas"]):
            pair.insert(0, fc.overlay_figure(runs, "replicas", "Model servers running: fp32 against int8",
                                             "model servers", size, step=True))
        columns = st.columns(1 if presenting or len(pair) == 1 else 2)
        for i, fig in enumerate(pair):
            with columns[i % len(columns)]:
                widgets.chart(fig, key=f"cost_precision_{i}")
        figures += pair
        st.caption("Accuracy is measured, not assumed: the same trained model is quantized to 8 bits and both "
                   "versions are scored on the same held-out test data.")

# --------------------------------------------------------------------------- how sure
st.subheader("How sure are these numbers?")
spread = st.toggle("Check with three other equally likely runs", value=False, key="cost_spread",
                   help="Runs the same scenario with three other random seeds: other customers, same settings. The "
                        "range shows how much luck alone moves each number.")
if spread:
    try:
        others = state.run_many([(sc, seed + k) for k in (1, 2, 3)], label="three other runs")
    except ScenarioError as err:
        st.warning("\n".join(err.lines))
    else:
        st.dataframe(fc.spread_table([summary] + [r.summary for r in others], sc), hide_index=True, width="stretch")
        st.caption("Prices and the value of a decision are the scenario's assumptions, so this range covers chance "
                   "only, not wrong prices.")
else:
    st.caption("Switch this on to see how much the numbers move between equally likely runs.")

widgets.downloads(result, "cost", f"Cost & capacity: {sc.name}", figures=figures, tiles=tiles,
                  paragraphs=[paragraph], found=found)
