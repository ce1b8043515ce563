"""Audit (admins): every sign-in, run, save, delete, role change, decision and download; and roles."""
from datetime import UTC, datetime, time, timedelta

import streamlit as st

from dashboard import team, widgets
from dashboard.frame import ensure_frame
from simulator.store import audit, people
from simulator.store.access import PermissionDenied, Role, load_rules

ensure_frame()  # a direct link on a fresh server still gets the sidebar and menu

ALL = "all"
widgets.page_header("Audit", "audit", caption="Who did what, when, and whether it was allowed. Append-only: "
                                              "nobody can change or remove an entry from the app.")
who = team.actor()
store = team.store()
team.show_flash()

try:
    actors, actions = audit.distinct_values(store, who)
except PermissionDenied as err:  # reachable by link; the refusal is recorded
    st.error(str(err), icon="🔒")
    st.stop()

log_tab, roles_tab = st.tabs(["Audit log", "People and roles"])
with log_tab:
    f1, f2, f3, f4 = st.columns(4)
    person = f1.selectbox("Person", [ALL] + actors, key="audit_person")
    action = f2.selectbox("Action", [ALL] + actions, key="audit_action")
    outcome = f3.selectbox("Outcome", [ALL, "ok", "refused"], key="audit_outcome")
    today = datetime.now(UTC).date()
    days = f4.date_input("Between (UTC)", value=(today - timedelta(days=30), today), key="audit_days",
                         max_value=today)
    flt = audit.AuditFilter(actor=None if person == ALL else person, action=None if action == ALL else action,
                            outcome=None if outcome == ALL else outcome,
                            since=datetime.combine(days[0], time.min, tzinfo=UTC) if days else None,
                            until=datetime.combine(days[-1], time.min, tzinfo=UTC) + timedelta(days=1) if days else None)
    rows = audit.entries(store, who, flt)
    m1, m2, m3 = st.columns(3)
    m1.metric("Entries", f"{len(rows):,}", border=True)
    m2.metric("Refused attempts", f"{sum(r['outcome'] == 'refused' for r in rows):,}", border=True,
              help="Actions someone's role did not allow; the store refused them where they would have happened.")
    m3.metric("People", f"{len({r['actor'] for r in rows}):,}", border=True)
    st.caption(f"{len(rows):,} entries, newest first" + (" (the newest 5,000)" if len(rows) >= flt.limit else ""))
    st.dataframe([{**r, "at": f"{r['at']:%Y-%m-%d %H:%M:%S}"} for r in rows], hide_index=True, width="stretch",
                 column_order=["at", "actor", "role", "action", "object_type", "object_id", "outcome", "detail"])
    st.download_button("Export these entries (CSV)", data=audit.to_csv(rows), file_name="pipeline-twin-audit.csv",
                       mime="text/csv", key="audit_export", on_click="ignore", icon=":material/download:")

with roles_tab:
    try:
        rules = load_rules()
    except ValueError as err:
        st.error(f"The roles file cannot be read: {err}")
        rules = None
    st.markdown("A person's role comes from an assignment made here (for their e-mail address, else their "
                "domain), else from the roles file (the same order), else the file's default.")
    for role in Role:
        st.caption(f"**{team.role_name(role)}**")
    st.markdown("**Assigned here**")
    assigned = people.assignments(store)
    if assigned:
        st.dataframe([{**a, "set_at": f"{a['set_at']:%Y-%m-%d %H:%M}"} for a in assigned], hide_index=True,
                     width="stretch")
    else:
        st.caption("None yet.")
    if rules is not None:
        st.markdown("**From the roles file**")
        st.dataframe([{"who": k, "role": v.name} for k, v in rules.people.items()]
                     + [{"who": "@" + k, "role": v.name} for k, v in rules.domains.items()]
                     + [{"who": "everyone else", "role": rules.default.name}], hide_index=True, width="stretch")
    with st.form("role_form"):
        c1, c2 = st.columns([2, 1])
        subject = c1.text_input("E-mail address or domain", placeholder="ada@example.com or @example.com")
        role = c2.selectbox("Role", [r.name for r in Role])
        give, remove = st.columns(2)
        set_it = give.form_submit_button("Give this role", type="primary")
        drop_it = remove.form_submit_button("Remove the assignment (the file applies again)")
    if set_it:
        team.attempt(lambda: people.set_role(store, who, subject, Role[role]), f"{subject.strip()}: {role}.")
        st.rerun()
    if drop_it:
        team.attempt(lambda: people.remove_role(store, who, subject), f"{subject.strip()}: assignment removed.")
        st.rerun()
