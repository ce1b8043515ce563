"""Throughput & latency: arrivals, decisions, waiting times and queues over time, events marked."""
import streamlit as st

from dashboard import state, widgets
from dashboard.frame import ensure_frame
from simulator.viz.charts import latency_figure, queue_figure, throughput_figure, utilization_figure

ensure_frame()  # a direct link on a fresh server still gets the sidebar and menu

widgets.page_header("Throughput & latency", "throughput")
result = state.current_run()
sc, ts, ev = result.scenario, result.timeseries, result.events
size = state.font_size()

figures = [
    throughput_figure(sc, ts, ev, size),
    latency_figure(sc, ts, ev, size),
    queue_figure(sc, ts, ev, size),
    utilization_figure(sc, ts, ev, size),
]
columns = st.columns(1 if state.presentation_mode() else 2)  # one wide column when projecting
for i, (fig, name) in enumerate(zip(figures, ("throughput", "latency", "queues", "utilization"))):
    with columns[i % len(columns)]:
        widgets.chart(fig, key=f"tp_{name}")

st.subheader("Events")
st.caption("Everything that happened during the run, also marked on the charts (hover the diamonds).")
widgets.events_table(result)

widgets.downloads(result, "throughput", f"Throughput & latency: {sc.name}", figures=figures)
