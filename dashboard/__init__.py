"""Streamlit helpers for the Pipeline Twin dashboard (state, widgets, help texts).

``state`` is the only module that touches caches and session state; ``worker`` runs
simulations in other processes and imports no streamlit.
"""
