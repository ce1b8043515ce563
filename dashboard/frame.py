"""Keep every page inside the navigation frame, even on a direct link to a fresh server.

Streamlit serves the files of a folder named ``pages/`` on its own until the first session
has run ``st.navigation``. A shared link such as ``/recovery?scenario=replica_crash`` opened
on a freshly started server would therefore run the page bare (no sidebar, default
scenario). Each page calls :func:`ensure_frame` first: when the frame has not run in this
session, it runs the frame (:func:`main`), which draws the sidebar, registers the navigation
and renders the requested page, and then stops the bare run.
"""
import contextlib
import logging
import uuid
from pathlib import Path

import streamlit as st

LOG = logging.getLogger("pipeline_twin.dashboard")

FRAME_KEY = "_frame_active"


def mark_frame() -> None:
    st.session_state[FRAME_KEY] = True


def ensure_frame() -> None:
    if st.session_state.get(FRAME_KEY):
        return
    main()
    st.stop()


PAGES_DIR = Path(__file__).resolve().parents[1] / "pages"

# file -> (title, icon, section); sections: "exec" (for executives) or "arch" (for architects)
KNOWN_PAGES = {
    "overview.py": ("Overview", ":material/dashboard:", "exec"),
    "throughput.py": ("Throughput & latency", ":material/show_chart:", "exec"),
    "cost.py": ("Cost", ":material/payments:", "exec"),
    "recovery.py": ("Failure recovery", ":material/healing:", "exec"),
    "fairness.py": ("Fairness", ":material/balance:", "exec"),
    "compare.py": ("Compare", ":material/compare_arrows:", "exec"),
    "replay.py": ("Replay", ":material/replay:", "exec"),
    "glossary.py": ("Glossary & help", ":material/help:", "exec"),
    "lab.py": ("Scenario lab", ":material/science:", "arch"),
    "planner.py": ("Capacity planner", ":material/insights:", "arch"),
    "validation.py": ("Validation", ":material/verified:", "arch"),
}
DEFAULT_PAGE = "overview.py"


def build_pages(presentation: bool) -> dict[str, list]:
    """Menu sections from the files that exist; architects' pages are hidden when presenting."""
    files = {p.name for p in PAGES_DIR.glob("*.py") if not p.name.startswith("_")}
    sections: dict[str, list] = {"For executives": [], "For architects": []}
    ordered = [f for f in KNOWN_PAGES if f in files] + sorted(files - set(KNOWN_PAGES))
    for name in ordered:
        title, icon, section = KNOWN_PAGES.get(name, (Path(name).stem.replace("_", " ").capitalize(),
                                                      ":material/article:", "arch"))
        if section == "arch" and presentation:
            continue
        page = st.Page(f"pages/{name}", title=title, icon=icon, default=name == DEFAULT_PAGE)
        sections["For executives" if section == "exec" else "For architects"].append(page)
    return {k: v for k, v in sections.items() if v}


def main() -> None:
    from dashboard import state, widgets

    mark_frame()
    st.set_page_config(page_title="Pipeline Twin", page_icon="🛡️", layout="wide", initial_sidebar_state="expanded")
    with friendly_errors():
        widgets.sidebar()
    page = st.navigation(build_pages(state.presentation_mode()), position="sidebar")
    widgets.page_css()
    with friendly_errors():
        page.run()


@contextlib.contextmanager
def friendly_errors():
    """An unexpected error becomes a short message with an error id; the details go to the server log.

    (Streamlit's own control flow, st.stop and reruns, passes through: it is not an Exception.)
    """
    try:
        yield
    except Exception:
        error_id = uuid.uuid4().hex[:10]
        LOG.exception("page error %s", error_id)
        st.error(f"Something went wrong on this page (error id {error_id}). Try another setting or reload the "
                 f"page; if it happens again, give the error id to the people who run this dashboard.",
                 icon="⚠️")
