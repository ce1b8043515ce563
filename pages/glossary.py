"""Glossary & help: the jargon in one sentence each, how to use the dashboard, the scenarios."""
import streamlit as st

from dashboard import state, widgets
from dashboard.frame import ensure_frame

ensure_frame()  # a direct link on a fresh server still gets the sidebar and menu

widgets.page_header("Glossary & help", "help", caption="Words used in this dashboard, and how to use it.")
st.markdown(widgets.help_text("glossary"))

st.subheader("The scenarios")
for name, scenario in state.catalog().items():
    st.markdown(f"**{name}**: {scenario.description.strip() or 'no description.'}")
