"""Overview: headline numbers, the story of the run, and the architecture diagram."""
import streamlit as st

from dashboard import state, widgets
from dashboard.frame import ensure_frame
from simulator.report.narrative import narrate
from simulator.viz.charts import throughput_figure
from simulator.viz.diagram import architecture_dot
from simulator.viz.kpis import overview_tiles

ensure_frame()  # a direct link on a fresh server still gets the sidebar and menu

widgets.page_header("Overview", "overview")
result = state.current_run()
sc, summary = result.scenario, result.summary

tiles = overview_tiles(sc, summary)
widgets.kpi_row(tiles)

story, picture = st.columns([1, 1], gap="large")
with story:
    st.subheader("What happened")
    paragraphs = narrate(sc, summary, result.events, result.timeseries)
    for paragraph in paragraphs:
        st.markdown(paragraph)
    fig = throughput_figure(sc, result.timeseries, result.events, font_size=state.font_size())
    widgets.chart(fig, key="overview_throughput")
with picture:
    st.subheader("How the service is built")
    st.caption("Drawn from the scenario itself. Green: healthy · amber: busy, or had a fault · red: overloaded, "
               "failing or late. Thicker arrows carry more payments per second.")
    widgets.diagram(architecture_dot(sc, summary, font_size=state.diagram_font_size()))

widgets.uncertainty(result, "overview")

widgets.downloads(result, "overview", f"Pipeline Twin: {sc.name}", figures=[fig], tiles=tiles,
                  paragraphs=paragraphs, dot=architecture_dot(sc, summary))
