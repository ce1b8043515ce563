"""Failure recovery: from fault to detection, mitigation and recovery; the safety switch, the
careful release of a new model, and what each protection is worth (the same run without it)."""
import streamlit as st

from dashboard import state, widgets
from dashboard.frame import ensure_frame
from simulator.scenario.config import ScenarioError, with_overrides
from simulator.viz import feature_charts as fc
from simulator.viz.kpis import delta_text

ensure_frame()  # a direct link on a fresh server still gets the sidebar and menu

NOTHING = ("This scenario injects no faults and releases no new model version, so there is nothing to recover "
           "from. Pick **weather_api_outage** (the weather service goes down), **bad_canary** (a faulty model "
           "release), **db_contention** (the database locks up) or **replica_crash** (model servers crash) in the "
           "sidebar.")

widgets.page_header("Failure recovery", "recovery")

result = state.current_run()
found = state.current_findings()
sc, summary, ts, ev = result.scenario, result.summary, result.timeseries, result.events
size = state.font_size()
presenting = state.presentation_mode()

recovery = summary.recovery
canary_on = sc.canary.enabled or summary.canary.outcome != "none"
if not recovery and not canary_on and not summary.breaker.opened:
    st.info(NOTHING, icon=":material/info:")
    st.stop()

tiles = fc.recovery_tiles(sc, summary, found)
widgets.kpi_row(tiles, key="recovery")

st.subheader("What happened")
paragraphs = [f.headline for f in (*found.of("incident"), *found.of("release"), found.get("incident_cost")) if f]
if recovery:
    paragraphs.append(fc.resolution_note(fc.bin_width_s(ts)))
where = summary.where_time_went
if where is not None and where.finding:
    paragraphs.append("Where the time went: " + where.finding)
for p in paragraphs:
    st.markdown(p)

figures = []
if recovery:
    figures.append(fc.recovery_timeline_figure(sc, recovery, size))
    widgets.chart(figures[-1], key="rec_timeline")
figures.append(fc.latency_breaker_figure(sc, ts, ev, size))
widgets.chart(figures[-1], key="rec_latency")
charts = []
if where or recovery:
    charts.append(("rec_stages", fc.stage_time_figure(sc, ts, where.model_dump() if where else None, size)))
if canary_on:
    charts.append(("rec_canary", fc.canary_figure(sc, ts, ev, size)))
columns = st.columns(1 if presenting or len(charts) < 2 else 2)
for i, (key, fig) in enumerate(charts):
    with columns[i % len(columns)]:
        widgets.chart(fig, key=key)
    figures.append(fig)
if sc.external_api.enabled and sc.faults.external_api and not sc.external_api.breaker.enabled:
    st.caption(f"This scenario has no safety switch in front of the {sc.external_api.name}, so the band never "
               f"appears; **weather_api_outage** has one.")

# --------------------------------------------------------------------------- with and without
api = sc.external_api
options = {}
if api.enabled and api.breaker.enabled:
    options["without the safety switch"] = ({"external_api.breaker.enabled": False}, "the safety switch")
if api.enabled and api.fallback != "none":
    options["without fallback answers"] = ({"external_api.fallback": "none"}, "fallback answers")
if options:
    st.subheader("What is the protection worth?")
    st.markdown(f"Rerun exactly the same customers (same random seed) with one protection of the "
                f"{api.name} call switched off, and count who would have been affected.")
    keep = "as designed (no rerun)"
    choice = st.radio("Rerun this scenario", [keep] + list(options), horizontal=True, key="recovery_without",
                      help="The safety switch (circuit breaker) stops calling a failing service; fallback answers "
                           "(e.g. the last known weather) replace its answer.")
    if choice != keep:
        overrides, what = options[choice]
        try:
            variant = with_overrides(sc, overrides)
            run_with, run_without = state.run_many([(sc, result.seed), (variant, result.seed)],
                                                   label=f"the run {choice}")
        except ScenarioError as err:
            st.warning("The rerun cannot be done:\n\n" + "\n".join(f"- {x}" for x in err.lines))
        else:
            with_tiles, without_tiles = fc.protection_tiles(run_with.summary), fc.protection_tiles(run_without.summary)
            st.markdown("**As designed**")
            widgets.kpi_row(with_tiles, key="rec_with")
            st.markdown(f"**{choice.capitalize()}** (arrows show the change; red is worse for "
                        f"{sc.vocabulary.customers})")
            widgets.kpi_row(without_tiles, [delta_text(a, b) for a, b in zip(with_tiles, without_tiles)],
                            key="rec_without")
            worth = fc.protection_paragraph(what, run_with.summary, run_without.summary)
            st.markdown(worth)
            paragraphs.append(worth)
            runs = [("as designed", sc, run_with.timeseries), (choice, variant, run_without.timeseries)]
            pair = [fc.overlay_figure(runs, "latency_p99_ms", "Slowest 1 % of customers wait (p99)", "wait", size)]
            if run_with.timeseries["failures"].sum() + run_without.timeseries["failures"].sum() > 0:
                pair.append(fc.overlay_figure(runs, "failures", "Customers who got an error (per time slice)",
                                              "errors", size))
            elif run_with.timeseries["degraded"].sum() + run_without.timeseries["degraded"].sum() > 0:
                pair.append(fc.overlay_figure(runs, "degraded", "Fallback answers (per time slice)",
                                              "fallback answers", size))
            cols = st.columns(1 if presenting or len(pair) == 1 else 2)
            for i, fig in enumerate(pair):
                with cols[i % len(cols)]:
                    widgets.chart(fig, key=f"rec_without_{i}")
            figures += pair

st.subheader("Every event")
st.caption("Faults, safety-switch trips, scaling and release steps, in order.")
widgets.events_table(result)

widgets.downloads(result, "recovery", f"Failure recovery: {sc.name}", figures=figures, tiles=tiles,
                  paragraphs=paragraphs, found=found)
