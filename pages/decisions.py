"""Decisions: what was decided, between which runs, and why. Written from Compare or here; read by all."""
import streamlit as st

from dashboard import keeping, team, widgets
from dashboard.brief import decision_brief
from dashboard.frame import ensure_frame
from simulator.store import decisions, runs

ensure_frame()  # a direct link on a fresh server still gets the sidebar and menu

widgets.page_header("Decisions", "decisions", caption="Decisions, not predictions: each one records the question, "
                                                      "the runs compared, the option chosen and why.")
who = team.actor()
store = team.store()
team.show_flash()

draft = st.session_state.get(keeping.K_DRAFT) or {}
with st.expander("Write a decision", icon=":material/edit_note:", expanded=bool(draft)):
    keeping.settled()  # runs still being kept in the background are listed too
    recent = runs.list_runs(store, runs.RunFilter(limit=200))
    choices = {r.id: f"#{r.id} · {r.kind} · {r.saved_version or r.scenario_name} · seed {r.seed} · "
                     f"{r.created_at:%Y-%m-%d %H:%M}" for r in recent}
    for run_id, text in draft.get("runs", []):
        choices.setdefault(run_id, text)
    with st.form("decision_form", clear_on_submit=False):
        question = st.text_input("The question", value=draft.get("question", ""), max_chars=500,
                                 placeholder="e.g. Do we keep the feature store for the fraud model?")
        attached = st.multiselect("Runs behind it", list(choices), default=[r for r, _ in draft.get("runs", [])],
                                  format_func=lambda i: choices[i])
        options = st.text_area("Options weighed (one per line)", value="\n".join(draft.get("options", [])),
                               height=90)
        chosen = st.text_input("The option chosen", max_chars=500)
        rationale = st.text_area("Why", height=120, placeholder="The evidence and the trade-off, in a few sentences.")
        submitted = st.form_submit_button("Record the decision", type="primary",
                                          help=team.role_note("write_decision", who))
    if submitted:
        labels = dict(draft.get("runs", []))
        made = team.attempt(lambda: decisions.write(
            store, who, question, options.splitlines(), chosen, rationale,
            [(r, labels.get(r, choices[r])) for r in attached]))
        if made is not None:
            st.session_state.pop(keeping.K_DRAFT, None)
            team.flash("ok", f"Decision #{made.id} recorded.")
        st.rerun()

found = decisions.list_decisions(store)
if not found:
    st.info("No decisions yet. On the Compare page, 'Write a decision about A and B' starts one with both runs "
            "attached.")
    st.stop()

wanted = st.query_params.get("id")
if wanted is not None:  # a link to one decision shows that one
    one = [d for d in found if str(d.id) == str(wanted)]
    if one:
        found = one
        st.markdown("[All decisions](decisions)")
    else:
        st.warning(f"Decision #{wanted} does not exist (or was deleted); all decisions are shown.")
for d in found:
    with st.container(border=True):
        st.markdown(f"### #{d.id} · {d.question}")
        st.markdown(f"**Chosen:** {d.chosen}")
        st.markdown(d.rationale)
        others = [o for o in d.options if o != d.chosen]
        if others:
            st.caption("Also weighed: " + "; ".join(others))
        for run_id, label in d.runs:  # each opens in the History exactly as it was kept
            st.page_link("pages/history.py", label=f"Run #{run_id}: {label}", icon=":material/history:",
                         query_params={"run": run_id})
        decision_brief(d)
        st.caption(f"Decided by {d.author} on {d.created_at:%Y-%m-%d at %H:%M} UTC · link: "
                   f"[`decisions?id={d.id}`](decisions?id={d.id})")
        if st.button("Delete", key=f"decision_delete_{d.id}", icon=":material/delete:",
                     help=team.role_note("delete_decision", who)):
            team.attempt(lambda d=d: decisions.delete(store, who, d.id), f"Decision #{d.id} deleted.")
            st.rerun()
