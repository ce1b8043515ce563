"""Pipeline Twin dashboard (first cut): the baseline's headline numbers and a throughput chart."""
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from simulator.cli import resolve_scenario_path
from simulator.config import load_scenario
from simulator.engine import run

st.set_page_config(page_title="Pipeline Twin", page_icon="📈", layout="wide")


@st.cache_data(show_spinner="Simulating…", max_entries=32)
def simulate(name: str, seed: int):
    sc = load_scenario(resolve_scenario_path(name))
    r = run(sc, seed)
    return sc.description, r.summary, r.timeseries


description, summary, ts = simulate("baseline", 42)
st.title("Pipeline Twin: baseline")
st.write(description)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Customers answered", f"{100 * summary['availability']:.2f} %")
c2.metric("Answered on time", f"{100 * summary['on_time_fraction']:.2f} %")
c3.metric("Decisions per second", f"{summary['throughput_rps']:.1f}")
c4.metric("Slowest 1 % wait longer than", f"{summary['latency_ms']['p99']:.0f} ms")
fig = make_subplots(specs=[[{"secondary_y": True}]])
fig.add_trace(go.Scatter(x=ts.t_s / 60, y=ts.throughput_rps, name="decisions per second"))
fig.add_trace(go.Scatter(x=ts.t_s / 60, y=ts.latency_p99_ms, name="p99 latency (ms)"), secondary_y=True)
fig.update_layout(title="Throughput and latency over the hour", xaxis_title="minutes")
st.plotly_chart(fig)
