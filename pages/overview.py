"""Overview: the verdicts (tiles), the story of the run, and the architecture diagram, all from findings."""
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
found = state.current_findings()
sc, summary = result.scenario, result.summary
presenting = state.presentation_mode()

tiles = overview_tiles(found, max_tiles=3 if presenting else 6)
widgets.kpi_row(tiles, key="overview")

paragraphs = narrate(result, found)
fig = throughput_figure(sc, result.timeseries, result.events, font_size=state.font_size())
dot = architecture_dot(sc, found, summary, font_size=state.diagram_font_size(), rankdir=widgets.diagram_direction())
legend = ("Drawn from the scenario itself; every box says how it did in words. Green: fine · amber: watch · red: "
          f"needs action. Thicker arrows carry more {sc.vocabulary.requests} per second.")
if presenting:  # one column: the verdict, a full-width picture, then the rest of the story
    st.markdown(paragraphs[0])
    st.caption(legend)
    widgets.diagram(dot, key="overview_diagram")
    for paragraph in paragraphs[1:]:
        st.markdown(paragraph)
    widgets.chart(fig, key="overview_throughput")
else:
    story, picture = st.columns([1, 1], gap="large")
    with story:
        st.subheader("What happened")
        for paragraph in paragraphs:
            st.markdown(paragraph)
        widgets.chart(fig, key="overview_throughput")
    with picture:
        st.subheader("How the service is built")
        st.caption(legend)
        widgets.diagram(dot, key="overview_diagram")

widgets.uncertainty(result, "overview")

widgets.downloads(result, "overview", f"Pipeline Twin: {sc.name}", figures=[fig], tiles=overview_tiles(found),
                  paragraphs=paragraphs, dot=architecture_dot(sc, found, summary), found=found)
