"""Start the dashboard with its heavy modules already loaded: ``python -m dashboard.serve [streamlit options]``.

``streamlit run app.py`` imports the simulator (pandas, numba, SQLAlchemy, the scenario model) only
when the first person opens a page, who then waits about three seconds for imports alone. This
launcher imports them first and then starts the same server with the same options, so the server
reports healthy only once it can answer at once. ``make run`` uses it.
"""
from __future__ import annotations

import sys
import time

# what the first page run would otherwise import (each of them costs tenths of a second)
PRELOAD = ("dashboard.state", "dashboard.widgets", "dashboard.frame", "dashboard.keeping", "dashboard.team",
           "simulator.runner", "simulator.report.narrative", "simulator.viz.charts", "simulator.viz.diagram",
           "simulator.viz.kpis", "simulator.analysis.preview", "streamlit.emojis", "plotly.graph_objects")


def preload() -> float:
    """Import the dashboard's modules and warm what their first use compiles; seconds taken."""
    import importlib
    import logging

    import streamlit  # noqa: F401  (its logging set-up first, so the level below holds)
    from streamlit.runtime.caching import cache_data_api  # noqa: F401

    started = time.perf_counter()
    quiet = logging.getLogger("streamlit.runtime.caching.cache_data_api")  # "no runtime yet": true, and harmless
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        for name in PRELOAD:
            importlib.import_module(name)
    finally:
        quiet.setLevel(level)
    from streamlit.string_util import is_emoji

    is_emoji("🛡️")  # compiles Streamlit's emoji pattern, which the page icon needs on the first page
    return time.perf_counter() - started


def main(argv: list[str]) -> None:
    seconds = preload()
    print(f"Pipeline Twin: modules loaded in {seconds:.1f} s, starting the dashboard", flush=True)
    from streamlit.web.cli import main as streamlit_main

    sys.argv = ["streamlit", "run", "app.py", *argv]
    streamlit_main()


if __name__ == "__main__":
    main(sys.argv[1:])
