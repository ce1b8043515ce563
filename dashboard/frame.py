"""Keep every page inside the navigation frame, even on a direct link to a fresh server.

Streamlit serves the files of a folder named ``pages/`` on its own until the first session
has run ``st.navigation``. A shared link such as ``/recovery?scenario=replica_crash`` opened
on a freshly started server would therefore run the page bare (no sidebar, default
scenario). Each page calls :func:`ensure_frame` first: when the frame has not run in this
session, it runs the frame (``app.main``), which draws the sidebar, registers the navigation
and renders the requested page, and then stops the bare run.
"""
import streamlit as st

FRAME_KEY = "_frame_active"


def mark_frame() -> None:
    st.session_state[FRAME_KEY] = True


def ensure_frame() -> None:
    if st.session_state.get(FRAME_KEY):
        return
    import app

    app.main()
    st.stop()
