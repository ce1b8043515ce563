"""Pipeline Twin dashboard: the frame around every page.

Draws the shared sidebar (scenario picker, what-if knobs, seed, presentation mode) and the
navigation, then runs the chosen page. Pages are files in ``pages/``; the optional ones
other features add (cost, recovery, fairness, planner, validation, or any new file) appear
in the menu as soon as the file exists, without editing this one.

Streamlit runs this file as ``__main__``, so the simulation worker processes (``spawn``)
re-import it as ``__mp_main__``; the ``if __name__ == "__main__"`` guard keeps them from
drawing the app, and the dashboard modules are imported inside :func:`main` so workers do
not load them either.
"""
from pathlib import Path

import streamlit as st

PAGES_DIR = Path(__file__).resolve().parent / "pages"

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
    from dashboard.frame import mark_frame

    mark_frame()
    st.set_page_config(page_title="Pipeline Twin", page_icon="🛡️", layout="wide", initial_sidebar_state="expanded")
    widgets.sidebar()
    page = st.navigation(build_pages(state.presentation_mode()), position="sidebar")
    widgets.page_css()
    page.run()


if __name__ == "__main__":
    main()
