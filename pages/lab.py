"""Scenario lab (architects): edit every scenario setting or build its architecture as a graph, check it, run it,
save or load it as YAML."""
import streamlit as st

from dashboard import graph_editor, library, state, team, widgets
from dashboard.frame import ensure_frame
from simulator.report.compare import compare_runs
from simulator.report.narrative import compare_paragraph
from simulator.scenario.config import ScenarioError, parse_scenario, scenario_to_yaml
from simulator.viz.charts import latency_figure, throughput_figure
from simulator.viz.diagram import architecture_dot
from simulator.viz.kpis import overview_tiles

ensure_frame()  # a direct link on a fresh server still gets the sidebar and menu

UPLOAD_KEY, UPLOAD_MSG, LAB_RUN = "lab_upload", "lab_upload_msg", "lab_run"
REPLAY_KEY, REPLAY_PATH, LAST_YAML = "lab_replay_upload", "lab_replay_path", "lab_last_yaml"

widgets.page_header("Scenario lab", "lab")
base = state.current_scenario()
prefix = f"lab_{state.run_key(base, 0)[:8]}"


def on_upload() -> None:
    """Read the uploaded file; a good one becomes the sidebar's scenario, a bad one a message."""
    file = state.recall(UPLOAD_KEY)
    if file is None:
        return
    state.remember(LAST_YAML, (file.getvalue(), file.name))
    load_uploaded(file.getvalue(), file.name)


def load_uploaded(raw: bytes, filename: str) -> None:
    scenario, problems = widgets.parse_uploaded(raw, filename, state.recall(REPLAY_PATH))
    if scenario is None:
        state.remember(UPLOAD_MSG, ("error", problems))
        return
    try:
        name = state.add_custom_scenario(f"{scenario.name} (uploaded)", scenario)
    except ScenarioError as err:
        state.remember(UPLOAD_MSG, ("error", err.lines))
        return
    state.remember(UPLOAD_MSG, ("ok", [f"Loaded '{name}': it is now the sidebar's scenario on every page."]))


def on_replay_upload() -> None:
    """Keep an uploaded replay CSV for this session's uploads; re-read a scenario that was waiting for it."""
    file = state.recall(REPLAY_KEY)
    if file is None:
        state.remember(REPLAY_PATH, None)
        return
    try:
        state.remember(REPLAY_PATH, state.store_replay_upload(file.getvalue()))
    except ScenarioError as err:
        state.remember(REPLAY_PATH, None)
        state.remember(UPLOAD_MSG, ("error", err.lines))
        return
    last = state.recall(LAST_YAML)
    if last is not None:
        load_uploaded(*last)
    else:
        state.remember(UPLOAD_MSG, ("ok", ["Replay data received; now load the scenario that replays it."]))


def use_everywhere(data: dict) -> None:
    try:
        scenario = parse_scenario(data)
        name = state.add_custom_scenario(f"{scenario.name} (edited)", scenario)
    except ScenarioError as err:
        state.remember(UPLOAD_MSG, ("error", err.lines))
        return
    state.remember(UPLOAD_MSG, ("ok", [f"'{name}' is now the sidebar's scenario on every page."]))


def reset_form() -> None:
    state.forget_prefix(prefix)


with st.expander("Load a scenario file (YAML)", icon=":material/upload:"):
    st.file_uploader("Replay data (CSV, only for scenarios with traffic kind: replay)", type=["csv"], key=REPLAY_KEY,
                     on_change=on_replay_upload, max_upload_size=16,
                     help="One column of arrival times in seconds (headed t_s or not). It is used by the scenario "
                          "you load next; a file path written inside a scenario is never read here.")
    st.file_uploader("Scenario YAML", type=["yaml", "yml"], key=UPLOAD_KEY, on_change=on_upload, max_upload_size=1,
                     help="A file like those in scenarios/. Unknown or out-of-range fields are reported, "
                          "nothing is run until the file is valid.")
message = state.recall(UPLOAD_MSG)
if message:
    kind, lines = message
    text = "\n".join(f"- {widgets.escape_markdown(line)}" for line in lines)
    if kind == "ok":
        st.success(text)
    else:
        st.error("This file is not a valid scenario:\n\n" + text)

mode = st.segmented_control("What to edit", ["Settings", "Architecture"], default="Settings", key="lab_mode",
                            help="Settings: every field of the scenario. Architecture: its components and how "
                                 "requests move between them, drawn as you build it.")
if mode == "Architecture":
    st.markdown(f"Building the architecture of a copy of **{state.describe_current()}**: add and remove components "
                f"and edges; the diagram and the checks follow every change.")
    built = graph_editor.graph_editor(base, f"graph_{prefix}")
    graph_editor.actions(built, base, use_everywhere)
    if st.button("Run this architecture", type="primary", disabled=built.scenario is None, key="graph_run"):
        state.remember(LAB_RUN, built.scenario.model_dump(mode="json"))
else:
    st.markdown(f"Editing a copy of **{state.describe_current()}**. Each setting shows its meaning, unit and "
                f"allowed range; problems appear in red under the setting.")
    edit = widgets.scenario_editor(base, prefix)

    if edit.errors or edit.loose_errors:
        n = sum(len(v) for v in edit.errors.values()) + len(edit.loose_errors)
        st.error(f"{n} problem{'s' if n != 1 else ''} to fix before this scenario can run"
                 + (": " + "; ".join(edit.loose_errors) if edit.loose_errors else " (marked under the settings above)."))
    elif edit.changed:
        changes = ", ".join(f"`{p}`" for p in edit.changed[:8]) + (" …" if len(edit.changed) > 8 else "")
        st.info(f"You changed {len(edit.changed)} setting{'s' if len(edit.changed) != 1 else ''}: {changes}")

    valid = edit.scenario is not None
    c1, c2, c3, c4 = st.columns(4)
    if c1.button("Run the edited scenario", type="primary", disabled=not valid, key="lab_run_button"):
        state.remember(LAB_RUN, edit.data)
    c2.button("Use it on every page", disabled=not valid, key="lab_use", on_click=use_everywhere, args=(edit.data,),
              help="Adds the edited scenario to the sidebar's list for this session and selects it.")
    c3.download_button("Download as YAML", data=scenario_to_yaml(edit.scenario) if valid else "",
                       file_name=f"{base.name}-edited.yaml", mime="application/x-yaml", disabled=not valid,
                       key="lab_download", on_click="ignore", help="Every setting written out, ready for the CLI.")
    c4.button("Reset to the scenario's values", key="lab_reset", on_click=reset_form)
    team.show_flash()
    if valid:
        with st.expander("Save the edited scenario to the Library", icon=":material/save:",
                         expanded=st.session_state.get(library.K_CONFLICT) is not None):
            library.save_box(edit.scenario, "lab", "the edited scenario")

saved = state.recall(LAB_RUN)
if saved:
    try:
        scenario = parse_scenario(saved)
        result = state.run_scenario(scenario, state.current_seed(), label="the edited scenario")
    except ScenarioError as err:
        st.error("The edited scenario cannot be run:\n\n" + "\n".join(f"- {line}" for line in err.lines))
        st.stop()
    st.subheader("Result of the last run")
    size = state.font_size()
    found = state.findings_of(result)
    tiles = overview_tiles(found)
    widgets.kpi_row(tiles, key="lab")
    reference = state.cached_run(base, state.current_seed())
    if reference is not None:
        labels = ("the sidebar's scenario", "the edited scenario")
        st.markdown(compare_paragraph(base, reference.summary, scenario, result.summary,
                                      compare_runs(reference, result, *labels), *labels))
    figures = [throughput_figure(scenario, result.timeseries, result.events, size),
               latency_figure(scenario, result.timeseries, result.events, size)]
    picture, charts = st.columns([2, 3], gap="large")
    with picture:
        widgets.diagram(architecture_dot(scenario, found, result.summary, font_size=state.diagram_font_size()),
                        key="lab_diagram")
    with charts:
        widgets.chart(figures[0], key="lab_throughput")
        widgets.chart(figures[1], key="lab_latency")
    widgets.downloads(result, "lab", f"Scenario lab: {scenario.name}", figures=figures, tiles=tiles,
                      dot=architecture_dot(scenario, found, result.summary), found=found)
else:
    st.caption("Press **Run the edited scenario** to simulate it with the sidebar's seed.")
