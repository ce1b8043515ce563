"""Architecture (architects): per component what reached it, its time and utilization; the bottleneck; where
the slowest 1 % spent their time; what each part's outage would do and the single points of failure."""
import streamlit as st

from dashboard import state, widgets
from dashboard.frame import ensure_frame
from simulator.common.csv_export import frame_to_csv
from simulator.report.words import stage_name, stage_title
from simulator.viz.architecture_charts import blast_radius_figure, component_table, critical_path_figure
from simulator.viz.diagram import architecture_dot
from simulator.viz.kpis import Tile, finding_tile

ensure_frame()  # a direct link on a fresh server still gets the sidebar and menu

MARK = {"ok": ":green[●]", "watch": ":orange[▲]", "breach": ":red[■]"}

widgets.page_header("Architecture", "architecture")
result = state.current_run()
found = state.current_findings()
sc, summary = result.scenario, result.summary
arch = summary.architecture
size = state.font_size()


def component_finding(cid: str, topic: str):
    return next((f for f in found.all_for(cid) if f.topic == topic), None)


# ---- the three answers an architect asks first: the bottleneck, the single points of failure, the slow path
tiles = []
neck = arch.bottleneck
if neck is not None:
    judged = component_finding(neck.component, "capacity")
    tiles.append(finding_tile(judged) if judged is not None else Tile(
        "bottleneck", "Busiest part", f"{100 * neck.utilization:.0f} % busy",
        f"{stage_title(sc, neck.component)}: the highest share of its capacity in use over the measured period."))
spof = found.get("architecture.single_points")
if spof is not None:
    tiles.append(finding_tile(spof))
else:
    n = len(arch.single_points_of_failure)
    tiles.append(Tile("spof", "Single points of failure", f"{n} of {len(arch.components)} parts",
                      "Parts whose outage stops every decision (no fallback, no redundant path)."))
path_finding = found.get("critical_path")
if path_finding is not None:
    tiles.append(finding_tile(path_finding))
elif arch.critical_path is not None and arch.critical_path.components:
    lead = arch.critical_path.components[0]
    tiles.append(Tile("critical_path", f"Slowest 1 %: time with {stage_name(sc, lead.component)}",
                      f"{100 * lead.share:.0f} %", arch.critical_path.finding, status="of their time"))
widgets.kpi_row(tiles, key="architecture")

picture, words = st.columns([3, 2], gap="large")
with picture:
    st.subheader("How the service is built")
    st.caption("Drawn from the scenario's graph. Colours and words come from the findings; the numbers on the "
               f"arrows are the measured {sc.vocabulary.requests} per second reaching each part.")
    widgets.diagram(architecture_dot(sc, found, summary, font_size=state.diagram_font_size()), key="architecture_diagram")
with words:
    st.subheader("What the architecture means for the service")
    said = [f for f in found if f.topic == "architecture" or f.key == "critical_path"
            or (f.topic == "capacity" and neck is not None and f.component == neck.component)]
    for f in said:
        st.markdown(f"{MARK[f.severity]} **{widgets.escape_markdown(f.title)}**: {widgets.escape_markdown(f.headline)}")
    if not any(f.topic == "architecture" for f in said):  # the default chain: the graph's own sentences
        for comp in arch.components.values():
            st.markdown(f"- {widgets.escape_markdown(comp.blast_radius.how)}")
    if arch.decided_by_share:
        st.caption("Who decided: " + ", ".join(f"{stage_title(sc, cid)} {100 * share:.0f} %"
                                               for cid, share in arch.decided_by_share.items()) + ".")

st.subheader("Each part over the measured period")
table = component_table(sc, summary)
st.dataframe(table.drop(columns=["id"]), hide_index=True, width="stretch",
             column_config={"requests reached": st.column_config.NumberColumn(format="localized")})
st.caption("Time: what a request spent in the part (for an external call, the call; for a pool, its queue and "
           "service). Utilization: busy servers, connections or consumers over those available (blank where "
           "the part has no fixed capacity). If down: the share of all decisions that would stop, get a fallback "
           "answer or be unaffected, from the graph (routes by confidence use this run's share of unsure cases).")
st.download_button("Download this table (CSV)", frame_to_csv(table), file_name=f"{sc.name}-components.csv",
                   mime="text/csv", key="architecture_csv", on_click="ignore")

slow, blast = st.columns([1, 1], gap="large")
path_fig, blast_fig = critical_path_figure(sc, arch, size), blast_radius_figure(sc, arch, size)
with slow:
    fig = path_fig
    if fig is None:
        st.info("Too few answered decisions in this run to say where the slowest 1 % spent their time.",
                icon=":material/info:")
    else:
        widgets.chart(fig, key="architecture_path")
        st.caption(f"The {arch.critical_path.requests:,} slowest {sc.vocabulary.decision}s, at or above the p99 of "
                   f"{arch.critical_path.p99_ms:,.0f} ms. At a fan-out only the call the join waited for counts, "
                   f"so the bars add up to their mean latency ({arch.critical_path.latency_ms_mean:,.0f} ms).")
with blast:
    widgets.chart(blast_fig, key="architecture_blast")
    names = [stage_title(sc, cid) for cid in arch.single_points_of_failure]
    if names:
        st.caption("Single points of failure (every decision stops without them): " + ", ".join(names) + ".")
    else:
        st.caption("No single part stops every decision when it goes down.")

widgets.downloads(result, "architecture", f"Architecture: {sc.name}",
                  figures=[f for f in (path_fig, blast_fig) if f is not None], tiles=tiles,
                  paragraphs=[f.headline for f in said], dot=architecture_dot(sc, found, summary), found=found,
                  include_requests=False)
