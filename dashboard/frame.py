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

# file -> (title, icon, section); sections: "exec" (for executives), "arch" (for architects), "team"
# (the team's saved work), "admin" (in the menu for admins only; reachable by link, and refused there),
# "workshop" (a facilitator's screen), "public" (reachable by link without sign-in, never in the menu)
KNOWN_PAGES = {
    "overview.py": ("Overview", ":material/dashboard:", "exec"),
    "throughput.py": ("Throughput & latency", ":material/show_chart:", "exec"),
    "cost.py": ("Cost", ":material/payments:", "exec"),
    "recovery.py": ("Failure recovery", ":material/healing:", "exec"),
    "fairness.py": ("Fairness", ":material/balance:", "exec"),
    "compare.py": ("Compare", ":material/compare_arrows:", "exec"),
    "replay.py": ("Replay", ":material/replay:", "exec"),
    "glossary.py": ("Glossary & help", ":material/help:", "exec"),
    "architecture.py": ("Architecture", ":material/account_tree:", "arch"),
    "lab.py": ("Scenario lab", ":material/science:", "arch"),
    "planner.py": ("Capacity planner", ":material/insights:", "arch"),
    "validation.py": ("Validation", ":material/verified:", "arch"),
    "library.py": ("Library", ":material/folder_open:", "team"),
    "history.py": ("History", ":material/history:", "team"),
    "decisions.py": ("Decisions", ":material/gavel:", "team"),
    "workshop.py": ("Workshop", ":material/co_present:", "workshop"),
    "join.py": ("Join a workshop", ":material/smartphone:", "public"),
    "audit.py": ("Audit", ":material/policy:", "admin"),
}
SECTIONS = {"exec": "For executives", "workshop": "Workshops", "arch": "For architects", "team": "The team's work",
            "admin": "The team's work", "public": "Workshops"}
PUBLIC_PAGES = ("join",)  # a workshop participant's phone: no sign-in, never in the menu (see team.gate)
DEFAULT_PAGE = "overview.py"


def build_pages(presentation: bool, admin: bool = True) -> dict[str, list]:
    """Menu sections from the files that exist; architects' pages are hidden when presenting, the
    admin pages from everyone but admins (they stay reachable so that an attempt is refused and audited)."""
    files = {p.name for p in PAGES_DIR.glob("*.py") if not p.name.startswith("_")}
    sections: dict[str, list] = {title: [] for title in SECTIONS.values()}
    ordered = [f for f in KNOWN_PAGES if f in files] + sorted(files - set(KNOWN_PAGES))
    for name in ordered:
        title, icon, section = KNOWN_PAGES.get(name, (Path(name).stem.replace("_", " ").capitalize(),
                                                      ":material/article:", "arch"))
        if section == "arch" and presentation:
            continue
        hidden = (section == "admin" and not admin) or section == "public"
        page = st.Page(f"pages/{name}", title=title, icon=icon, default=name == DEFAULT_PAGE,
                       visibility="hidden" if hidden else "visible")
        sections[SECTIONS[section]].append(page)
    return {k: v for k, v in sections.items() if v}


def main() -> None:
    from dashboard import state, team, widgets

    mark_frame()
    st.set_page_config(page_title="Pipeline Twin", page_icon="🛡️", layout="wide", initial_sidebar_state="auto")
    widgets.load_chart_scripts_early()
    who = team.gate()  # the sign-in screen stops here when sign-in is configured and nobody is signed in
    team.sidebar(who)
    with friendly_errors():
        state.start_warm_up()  # the bundled scenarios' runs on disk, in the background (once per server)
        widgets.sidebar()
    page = st.navigation(build_pages(state.presentation_mode(), admin=who.can("read_audit")), position="sidebar",
                         expanded=True)  # every page in view, not "View 4 more"
    widgets.page_css()
    from dashboard.keeping import drawing_page

    with drawing_page(), friendly_errors():
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
