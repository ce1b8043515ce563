"""The bench's reference: a one-line Streamlit page. Its seconds in a new browser are what Streamlit
itself costs on this machine, before any page of ours (see bench/dashboard.py)."""
import streamlit as st

st.title("Reference")
st.write("A one-line Streamlit page.")
