"""History: every kept run, comparison and plan; open one exactly as it was, or rerun it on today's code."""
from datetime import UTC, datetime, time, timedelta

import streamlit as st
from pydantic import ValidationError

from dashboard import keeping, library, state, team, widgets
from dashboard.frame import ensure_frame
from simulator.analysis.experiments import format_value
from simulator.common.csv_export import frame_to_csv
from simulator.report import exports
from simulator.report.compare import compare_runs
from simulator.report.findings import findings
from simulator.report.narrative import compare_paragraph, narrate
from simulator.report.summary_model import Summary
from simulator.report.words import pct, short_ms
from simulator.scenario.config import ScenarioError
from simulator.store import runs
from simulator.store.frames import DamagedFrames
from simulator.viz.charts import latency_figure, throughput_figure
from simulator.viz.diagram import architecture_dot
from simulator.viz.kpis import compare_tiles, delta_text, overview_tiles

ensure_frame()  # a direct link on a fresh server still gets the sidebar and menu

ALL_SCENARIOS, EVERYONE, ALL_KINDS = "all scenarios", "everyone", "all kinds"
widgets.page_header("History", "history", caption="Runs, comparisons and plans the team kept, as they were.")
who = team.actor()
store = team.store()
team.show_flash()

names, authors = runs.filter_values(store)
f1, f2, f3, f4 = st.columns([2, 2, 1, 2])
scenario_pick = f1.selectbox("Scenario", [ALL_SCENARIOS] + names, key="history_scenario", persist_state="session")
author_pick = f2.selectbox("Kept by", [EVERYONE] + authors, key="history_author", persist_state="session")
kind_pick = f3.selectbox("Kind", [ALL_KINDS, "run", "comparison", "plan"], key="history_kind",
                         persist_state="session")
today = datetime.now(UTC).date()
days = f4.date_input("Kept between (UTC)", value=(today - timedelta(days=90), today), key="history_days",
                     max_value=today)
since = datetime.combine(days[0], time.min, tzinfo=UTC) if days else None
until = datetime.combine(days[-1], time.min, tzinfo=UTC) + timedelta(days=1) if days else None
keeping.settled()  # runs still being kept in the background are listed too
found = runs.list_runs(store, runs.RunFilter(scenario_name=None if scenario_pick == ALL_SCENARIOS else scenario_pick,
                                             author=None if author_pick == EVERYONE else author_pick,
                                             kind=None if kind_pick == ALL_KINDS else kind_pick, since=since,
                                             until=until))
if not found:
    st.info("No kept runs match. Runs you (as analyst or admin) make on any page are kept here automatically; "
            "the command line keeps them with `--save`.")
    st.stop()


def headline(info: runs.RunInfo) -> str:
    s = info.summary or {}
    if info.kind == "run":
        try:
            summary = Summary.model_validate(s)
        except ValidationError:
            return "kept by an older version (its numbers are shown as kept)"
        verdict = next((f["status"] for f in info.findings or [] if f.get("topic") == "service_level"), None)
        return (f"{pct(summary.on_time_fraction)} on time, p99 {short_ms(summary.latency_ms.p99)}"
                + (f": {verdict}" if verdict else ""))
    if info.kind == "comparison":
        return f"against {s.get('b')}, {s.get('replications')} replications"
    rec = s.get("recommendation") or {}
    return f"recommends {rec.get('replicas')} replicas" if rec else "no configuration met the limits"


def label(info: runs.RunInfo) -> str:
    return (f"#{info.id} · {info.kind} · {info.scenario_name} · seed {info.seed} · {info.author} · "
            f"{info.created_at:%Y-%m-%d %H:%M}")


st.dataframe([{"id": r.id, "when (UTC)": f"{r.created_at:%Y-%m-%d %H:%M}", "kept by": r.author, "kind": r.kind,
               "scenario": r.saved_version or r.scenario_name, "seed": r.seed,
               "changes": library.changes_text(r.knobs),
               "result": headline(r), "code version": r.code_version,
               "per-request rows": "kept" if r.has_requests else "-"} for r in found],
             hide_index=True, width="stretch", height=min(400, 40 + 35 * len(found)))

by_id = {r.id: r for r in found}
wanted = st.query_params.get("run")
if wanted is not None and str(wanted).isdigit() and int(wanted) not in by_id:
    try:  # a link to a run outside the filters still opens it
        by_id[int(wanted)] = runs.get(store, int(wanted))
    except LookupError as err:
        st.warning(str(err))
ids = list(by_id)
start = ids.index(int(wanted)) if wanted is not None and str(wanted).isdigit() and int(wanted) in by_id else 0
picked = st.selectbox("Open", ids, index=start, format_func=lambda i: label(by_id[i]), key="history_pick")
st.query_params["run"] = str(picked)

try:
    stored = runs.open_run(store, picked)
except (LookupError, DamagedFrames) as err:
    st.error(f"Run #{picked} cannot be opened: {err}")
    st.stop()
info = stored.info
st.subheader(f"{info.kind.capitalize()} #{info.id}: {info.saved_version or info.scenario_name}")
st.caption(f"Kept by {info.author} on {info.created_at:%Y-%m-%d at %H:%M} UTC with code version {info.code_version}, "
           f"seed {info.seed}, {info.wall_s:.1f} s of computing"
           + (f"; changed from the scenario as written: {library.changes_text(info.knobs)}"
              if library.changes_text(info.knobs) else "") + ". Shown exactly as it was kept, not rerun. "
           f"Link: [`history?run={info.id}`](history?run={info.id})")
for line in stored.scenario_problem:
    st.warning(f"Today's code reads this run's scenario differently: {line}. Its numbers are shown as kept.")

result = stored.result()
size = state.font_size()
if result is not None:
    sc = result.scenario
    # the findings kept with the run; a run kept without them gets them derived now from what was kept
    # (without per-request rows or the incident-free twin, so without the worst five minutes or incident cost)
    found = stored.findings()
    if found is None:
        found = findings(sc, result)
        st.caption("This run was kept without its findings; the verdicts below were derived now from its kept "
                   "numbers.")
    widgets.kpi_row(overview_tiles(found, max_tiles=3 if state.presentation_mode() else 6), key="history")
    story, picture = st.columns([1, 1], gap="large")
    with story:
        st.markdown("**What happened**")
        for paragraph in narrate(result, found):
            st.markdown(paragraph)
    with picture:
        widgets.diagram(architecture_dot(sc, found, result.summary, font_size=state.diagram_font_size(),
                                         rankdir=widgets.diagram_direction()), key="history_diagram")
    c1, c2 = st.columns(2)
    with c1:
        widgets.chart(throughput_figure(sc, result.timeseries, result.events, size), key="history_throughput")
    with c2:
        widgets.chart(latency_figure(sc, result.timeseries, result.events, size), key="history_latency")
elif info.kind == "comparison":
    s = info.summary
    st.markdown(f"A = **{s['a']}**, B = **{s['b']}**: {s['replications']} replications each from seed "
                f"{s['base_seed']}, the same random numbers for both.")
    st.dataframe([{"number": r["label"], "A": format_value(r["kpi"], r["a_mean"]),
                   "B": format_value(r["kpi"], r["b_mean"]), "verdict": r["sentence"]} for r in s["kpis"]],
                 hide_index=True, width="stretch")
elif info.kind == "plan":
    s = info.summary
    st.markdown(s.get("explanation", ""))
    for note in s.get("notes", []):
        st.caption(f"Note: {note}")
    st.dataframe(stored.frames.get("evaluations"), hide_index=True, width="stretch")
else:
    if info.kind == "run":
        st.info("This run was kept by an older version whose summary today's code reads differently; its numbers "
                "are shown below as kept.")
    st.json(info.summary, expanded=False)

# ---- rerun on today's code
if result is not None:
    st.subheader("Rerun on today's code")
    st.caption("Runs the same scenario and seed with the code as it is now, and shows what moved. With the same "
               "code version every number must come out identical.")
    if st.toggle("Rerun and compare", key=f"history_rerun_{info.id}"):
        try:
            fresh = state.run_scenario(result.scenario, info.seed, label=f"run #{info.id} on today's code")
        except ScenarioError as err:
            st.error("Today's code cannot run this scenario:\n\n" + "\n".join(f"- {line}" for line in err.lines))
            st.stop()
        old_tiles, new_tiles = compare_tiles(result), compare_tiles(fresh)
        st.markdown(f"**Today's code** ({runs.code_version()}); arrows show the change from the kept run")
        widgets.kpi_row(new_tiles, [delta_text(a, b) for a, b in zip(old_tiles, new_tiles)], key="history_rerun")
        kept_label = f"the kept run (code {info.code_version})"
        before = {f.key: f for f in found}
        moved = [(before[f.key], f) for f in state.findings_of(fresh) if f.key in before and
                 (before[f.key].value, before[f.key].status) != (f.value, f.status)]
        if moved:
            st.markdown("Verdicts that moved:\n" + "\n".join(
                f"- **{a.title}**: {a.value} ({a.status}) → {b.value} ({b.status})" for a, b in moved))
        else:
            st.markdown("Every verdict kept with the run comes out the same on today's code.")
        cmp = compare_runs(result, fresh, kept_label, "today's code")
        st.markdown(compare_paragraph(result.scenario, result.summary, fresh.scenario, fresh.summary, cmp,
                                      kept_label, "today's code"))

# ---- per-request rows and deletion
st.subheader("Per-request data and deletion")
d1, d2 = st.columns(2)
with d1:
    if info.has_requests:
        def rows_csv() -> str:
            """Built on click; the download is recorded in the audit log (the rows hold customer attributes)."""
            rows = runs.load_requests(store, who, info.id)
            if stored.scenario is not None:  # clock times and the scenario's words, as on the other pages
                rows = exports.requests_table(stored.scenario, rows)
            return frame_to_csv(rows)

        st.download_button("Download the per-request rows (CSV)", data=rows_csv, file_name=f"run-{info.id}-requests.csv",
                           mime="text/csv", key="history_requests", on_click="ignore", icon=":material/download:",
                           help="One row per request, with customer segment and region. Every download is recorded "
                                "in the audit log.")
    else:
        st.caption("The per-request rows of this run were removed by the retention setting (or never kept); "
                   "everything shown above is still here.")
with d2:
    sure = st.checkbox(f"Yes, delete {info.kind} #{info.id}", key="history_delete_sure")
    if st.button("Delete", key="history_delete", icon=":material/delete:", disabled=not sure,
                 help=team.role_note("delete_run", who)):
        team.attempt(lambda: runs.delete_run(store, who, info.id), f"{info.kind.capitalize()} #{info.id} deleted.")
        if who.can("delete_run"):
            st.query_params.pop("run", None)
        st.rerun()
