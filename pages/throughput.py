"""Throughput & latency: arrivals, decisions, waiting times and queues over time, events marked."""
import streamlit as st

from dashboard import state, widgets
from dashboard.frame import ensure_frame
from simulator.analysis.experiments import detect_warmup
from simulator.report.words import clock
from simulator.viz.charts import add_warmup_band, latency_figure, queue_figure, throughput_figure, utilization_figure

ensure_frame()  # a direct link on a fresh server still gets the sidebar and menu

widgets.page_header("Throughput & latency", "throughput")
result = state.current_run()
sc, ts, ev = result.scenario, result.timeseries, result.events
size = state.font_size()

# MSER-5 on this run's latency series: does the configured warm-up cover the start-up transient?
warmup = detect_warmup(ts, configured_s=sc.warmup_s)
figures = [add_warmup_band(fig, sc, warmup.truncation_s) for fig in (
    throughput_figure(sc, ts, ev, size),
    latency_figure(sc, ts, ev, size),
    queue_figure(sc, ts, ev, size),
    utilization_figure(sc, ts, ev, size),
)]
if warmup.truncation_s > sc.warmup_s and abs(warmup.mean_shift) >= 0.01:
    st.caption(f"Grey bands: the first {sc.warmup_s:g} s are a warm-up and are not counted; MSER-5 on this run's "
               f"latency says it is still settling until {clock(sc, warmup.truncation_s)} (lighter band): cutting "
               f"there would move mean latency by {100 * warmup.mean_shift:+.1f} %. Consider a longer warm-up.")
else:
    st.caption(f"Grey band: the first {sc.warmup_s:g} s are a warm-up and are not counted in any number. MSER-5, "
               "an automatic check on this run's latency, finds no start-up effect lasting longer.")
columns = st.columns(1 if state.presentation_mode() else 2)  # one wide column when projecting
for i, (fig, name) in enumerate(zip(figures, ("throughput", "latency", "queues", "utilization"))):
    with columns[i % len(columns)]:
        widgets.chart(fig, key=f"tp_{name}")

st.subheader("Events")
st.caption("Everything that happened during the run, also marked on the charts (hover the diamonds).")
widgets.events_table(result)

widgets.downloads(result, "throughput", f"Throughput & latency: {sc.name}", figures=figures)
