"""Library: saved scenarios with every version, the difference between versions, restore, open and share."""
import streamlit as st

from dashboard import library, state, team, widgets
from dashboard.frame import ensure_frame
from simulator.store import scenarios
from simulator.store.diff import body_diff

ensure_frame()  # a direct link on a fresh server still gets the sidebar and menu

widgets.page_header("Library", "library", caption="The team's saved scenarios: every version, who saved it and "
                                                  "what changed.")
who = team.actor()
store = team.store()

team.show_flash()

saved = scenarios.names(store)
with st.expander("Save the scenario you are looking at", icon=":material/save:",
                 expanded=not saved or st.session_state.get(library.K_CONFLICT) is not None):
    st.caption(f"The sidebar's scenario with its what-if settings: *{state.describe_current()}*.")
    library.save_box(state.current_scenario(), "library", "it")

if not saved:
    st.info("Nothing saved yet. Save the sidebar's scenario above, or an edited one from the Scenario lab.")
    st.stop()

st.subheader("Saved scenarios")
st.dataframe([{"scenario": v.name, "latest version": v.version, "saved by": v.author,
               "when (UTC)": f"{v.created_at:%Y-%m-%d %H:%M}", "note": v.note} for v in saved],
             hide_index=True, width="stretch")

names = [v.name for v in saved]
picked = st.selectbox("Scenario", names, key="library_pick", bind="query-params", persist_state="session")
versions = scenarios.versions(store, picked)
latest = versions[0]

st.markdown(f"**{picked}**: {len(versions)} version{'s' if len(versions) != 1 else ''}")
st.dataframe([{"version": f"v{v.version}", "saved by": v.author, "when (UTC)": f"{v.created_at:%Y-%m-%d %H:%M}",
               "note": v.note or ("first version" if v.version == versions[-1].version else ""),
               "settings changed": len(v.diff) if v.version != versions[-1].version else "-"}
              for v in versions], hide_index=True, width="stretch")

labels = {f"v{v.version}": v for v in versions}
c1, c2, c3 = st.columns([1, 1, 2])
chosen = labels[c1.selectbox("Version", list(labels), key=f"library_version_{picked}_{latest.version}")]
c2.button("Open it on every page", key="library_open", icon=":material/open_in_browser:",
          on_click=library.open_and_tell, args=(chosen.id,))
c3.markdown(f"Link for anyone with access: [`library?open={chosen.id}`](library?open={chosen.id})")

st.subheader("What changed")
d1, d2 = st.columns(2)
# keyed by the newest version, so a new version resets the comparison to "the two newest"
older = labels[d1.selectbox("From", list(labels), index=min(1, len(labels) - 1), key=f"library_from_{picked}_{latest.version}")]
newer = labels[d2.selectbox("To", list(labels), index=0, key=f"library_to_{picked}_{latest.version}")]
diff = body_diff(older.body, newer.body)
if diff:
    st.dataframe(library.diff_table(diff, f"v{older.version}", f"v{newer.version}"), hide_index=True, width="stretch")
else:
    st.caption(f"v{older.version} and v{newer.version} have exactly the same settings.")

st.subheader("Restore or delete")
r1, r2 = st.columns(2)
with r1:
    st.caption(f"Restoring saves v{chosen.version}'s settings again as a new version (v{latest.version + 1}); "
               f"nothing is lost.")
    if st.button(f"Restore v{chosen.version}", key="library_restore", icon=":material/restore:",
                 disabled=chosen.version == latest.version, help=team.role_note("restore_scenario", who)):
        team.attempt(lambda: scenarios.restore(store, who, chosen.id, latest.version),
                     f"v{chosen.version} of {picked} restored as v{latest.version + 1}.")
        st.rerun()
with r2:
    sure = st.checkbox(f"Yes, delete every version of {picked}", key="library_delete_sure")
    if st.button("Delete", key="library_delete", icon=":material/delete:", disabled=not sure,
                 help=team.role_note("delete_scenario", who)):
        team.attempt(lambda: scenarios.delete(store, who, picked), f"{picked} deleted (the audit log keeps the record).")
        st.rerun()
