"""Start the dashboard with its heavy modules already loaded: ``python -m dashboard.serve [streamlit options]``.

``streamlit run app.py`` imports the simulator (pandas, numba, SQLAlchemy, the scenario model) only
when the first person opens a page, who then waits about three seconds for imports alone. This
launcher imports them first and then starts the same server with the same options, so the server
reports healthy only once it can answer at once. ``make run`` uses it.
"""
from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

# what the first page run would otherwise import (each of them costs tenths of a second)
PRELOAD = ("dashboard.state", "dashboard.widgets", "dashboard.frame", "dashboard.keeping", "dashboard.team",
           "simulator.runner", "simulator.report.narrative", "simulator.report.compare", "simulator.viz.charts",
           "simulator.viz.diagram", "simulator.viz.kpis", "simulator.viz.architecture_charts",
           "simulator.analysis.preview", "simulator.analysis.backends",
           "simulator.analysis.experiments",  # SciPy's statistics: 1.3 s on the first Overview otherwise
           "streamlit.emojis", "plotly.graph_objects")


def preload() -> tuple[float, int]:
    """Import the dashboard's modules, warm what their first use compiles and read the bundled scenarios'
    kept runs into memory; (seconds taken, runs read)."""
    import importlib
    import logging

    import streamlit  # noqa: F401  (its logging set-up first, so the level below holds)
    from streamlit.runtime.caching import cache_data_api  # noqa: F401

    started = time.perf_counter()
    # "no runtime yet" and "no script run context": both true before the server starts, and harmless
    quiet = [logging.getLogger(name) for name in ("streamlit.runtime.caching.cache_data_api",
                                                  "streamlit.runtime.scriptrunner_utils.script_run_context")]
    levels = [q.level for q in quiet]
    for q in quiet:
        q.setLevel(logging.ERROR)
    try:
        for name in PRELOAD:
            importlib.import_module(name)
        _first_use()
        # the worker pool before the server answers: its processes import the simulator while the
        # kept runs are read, so a warm server's first fresh run does not also wait for a worker
        importlib.import_module("dashboard.state").start_runner()
        runs = preload_runs()
    finally:
        for q, level in zip(quiet, levels):
            q.setLevel(level)
    return time.perf_counter() - started, runs


def _first_use() -> None:
    """What the first page would otherwise do once per process: Streamlit's emoji pattern and REPL check,
    the team store's migrations, the scenario catalog, plotly's property validators."""
    from streamlit.string_util import is_emoji

    is_emoji("🛡️")  # compiles Streamlit's emoji pattern, which the page icon needs on the first page
    import streamlit.delta_generator as delta_generator

    # Streamlit checks once per process whether it runs in a REPL by reading the source of every frame
    # of the first page's stack (0.3 s); it is served by `streamlit run` here, so the check is settled
    delta_generator._use_warning_has_been_displayed = True
    from dashboard import team

    try:  # the team's store: its migrations (Alembic) run once per process, before the first page
        folder = team.data_dir()
        team._open(team.database_url(folder), str(folder))
    except Exception:  # the first page opens it again and says what is wrong
        pass
    import plotly.graph_objects as go

    # plotly builds its property validators on first use: a tenth of a second of the first chart
    go.Figure(go.Scatter(x=[0.0], y=[0.0], name="warm"), layout={"title": {"text": "warm"}}).to_json()
    from dashboard import state

    state.catalog_problems()  # reads and validates the bundled scenarios once (shared by every session)


def preload_runs() -> int:
    """The bundled scenarios' kept runs into memory (see :func:`dashboard.state.preload_runs`)."""
    from dashboard import state

    try:
        return state.preload_runs()
    except Exception:  # a damaged cache must not stop the server: the pages read or simulate what they need
        state.LOG.exception("reading the kept runs at start failed")
        return 0


ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def local_server(port: int, env: dict[str, str], log, args: tuple[str, ...] = (), timeout_s: float = 120.0,
                 processes: list | None = None, script: str | None = None):
    """A dashboard started as ``make run`` starts it, on 127.0.0.1:``port`` with ``env`` and extra Streamlit
    ``args``, its output to the open file ``log``; yields its URL once it reports healthy and stops it
    afterwards (for the browser tests and the dashboard bench). Its process is appended to ``processes``
    when given (a test that kills it). ``script`` serves another Streamlit script with plain ``streamlit
    run`` instead (the bench's reference page)."""
    launcher = ["dashboard.serve"] if script is None else ["streamlit", "run", script]
    proc = subprocess.Popen([sys.executable, "-m", *launcher, "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", *args],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    if processes is not None:
        processes.append(proc)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                    if resp.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the dashboard did not start; see {getattr(log, 'name', 'its log')}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv: list[str]) -> None:
    seconds, runs = preload()
    print(f"Pipeline Twin: modules and {runs} kept runs loaded in {seconds:.1f} s, starting the dashboard", flush=True)
    from streamlit.web.cli import main as streamlit_main

    sys.argv = ["streamlit", "run", "app.py", *argv]
    streamlit_main()


if __name__ == "__main__":
    main(sys.argv[1:])
