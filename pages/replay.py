"""Replay: scrub (or play) through a finished run and see the pipeline as it was at that moment."""
import streamlit as st

from dashboard import state, widgets
from dashboard.frame import ensure_frame
from simulator.report.event_words import describe_event
from simulator.report.findings import moment
from simulator.report.words import clock, clock_auto
from simulator.viz.charts import add_time_cursor, throughput_figure
from simulator.viz.diagram import architecture_dot
from simulator.viz.kpis import moment_tiles

ensure_frame()  # a direct link on a fresh server still gets the sidebar and menu

FRAMES = 40          # a full play-through takes about this many steps
FRAME_S = 0.8        # seconds between steps while playing

widgets.page_header("Replay", "replay")
result = state.current_run()
sc, ts, ev = result.scenario, result.timeseries, result.events
run_id = state.run_key(sc, result.seed)[:10]
slider_key, playing_key = f"replay_t_{run_id}", "replay_playing"
n_bins = len(ts)
starts = ts["t_s"].to_numpy()

if state.recall(slider_key) is None:
    # start at the first event (usually the interesting part), else at the end of warm-up
    first = float(ev["t_s"].min()) if len(ev) else sc.warmup_s
    state.remember(slider_key, int(max(0, min(n_bins - 1, (starts <= first).sum() - 1))))


def toggle_play() -> None:
    playing = not state.recall(playing_key, False)
    if playing and state.recall(slider_key, 0) >= n_bins - 1:
        state.remember(slider_key, 0)
    state.remember(playing_key, playing)


playing = bool(state.recall(playing_key, False))
st.button("⏸ Pause" if playing else "▶ Play", on_click=toggle_play, key="replay_play",
          help="Step through the run automatically; drag the slider to jump.")


@st.fragment(run_every=FRAME_S if playing else None)
def show_moment() -> None:
    """The slider and everything drawn for the chosen moment (reruns alone while playing)."""
    if state.recall(playing_key, False):
        nxt = state.recall(slider_key, 0) + max(1, n_bins // FRAMES)
        if nxt >= n_bins - 1:
            state.remember(slider_key, n_bins - 1)
            state.remember(playing_key, False)
            st.rerun()  # a full rerun drops the timer
        state.remember(slider_key, nxt)
    idx = st.select_slider("Moment in the run", options=list(range(n_bins)), key=slider_key,
                           format_func=lambda i: clock(sc, starts[i]),
                           help="Each step is one time-series interval of the run.")
    width = float(ts["t_end_s"].iloc[idx] - ts["t_s"].iloc[idx])
    t_s = float(starts[idx]) + width / 2
    now = moment(sc, result, t_s)
    dot = architecture_dot(sc, now, result.summary, moment_s=t_s, font_size=state.diagram_font_size(),
                           rankdir=widgets.diagram_direction())
    fig = add_time_cursor(throughput_figure(sc, ts, ev, state.font_size()), sc, t_s)
    recent = ev[(ev["t_s"] <= t_s + width / 2) & (ev["t_s"] > t_s - 600)] if len(ev) else ev
    if state.presentation_mode():  # one column: tiles, the full-width picture, the chart
        widgets.kpi_row(moment_tiles(now), key="replay")
        widgets.diagram(dot, key="replay_diagram")
        widgets.chart(fig, key="replay_chart")
    else:
        widgets.kpi_row(moment_tiles(now), key="replay")
        picture, chart = st.columns([1, 1], gap="large")
        with picture:
            widgets.diagram(dot, key="replay_diagram")
        with chart:
            widgets.chart(fig, key="replay_chart")
    if len(recent):
        st.markdown("**In the ten minutes up to this moment:**\n\n" + "\n".join(
            f"- {clock_auto(sc, r.t_s)}: {describe_event(sc, str(r.kind), str(r.component), r.detail)}"
            for r in recent.tail(8).itertuples()))


show_moment()
