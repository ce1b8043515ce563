"""Browser fixtures: a real Streamlit server (as ``make run`` starts it) and Debian's Chromium driven by Playwright.

Never downloads a browser: the tests skip when /usr/bin/chromium (or playwright) is absent.
The server uses the real scenarios and the worker-process runner, as a user would.
"""
from __future__ import annotations

import contextlib
import os
import socket
import tempfile
from pathlib import Path

import pytest

from dashboard.serve import local_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def pytest_collection_modifyitems(config, items):
    """Skip browser tests when Debian's chromium or the playwright package is missing."""
    reason = None
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} not installed (make test installs it)"
    else:
        try:
            import playwright  # noqa: F401
        except ImportError:
            reason = "playwright is not installed"
    if reason:
        for item in items:
            if "e2e" in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(log_name: str = "streamlit-server.log", env: dict | None = None, args: tuple = (),
                     port: int | None = None, processes: list | None = None):
    """Start the dashboard as ``make run`` does (``python -m dashboard.serve``, which loads the modules and
    runs ``streamlit run app.py``) on a free port; yield its URL once /_stcore/health is ok.

    The team's store goes to a fresh temporary folder unless ``env`` names one; ``env`` adds or
    replaces variables, ``args`` adds streamlit options (e.g. ``--secrets.files``); the server's
    process is appended to ``processes`` when given (a test that kills it).
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    drop = ("PIPELINE_TWIN_INPROCESS", "PIPELINE_TWIN_SCENARIOS", "PIPELINE_TWIN_DATABASE_URL", "PIPELINE_TWIN_ROLES",
            "PIPELINE_TWIN_USER")
    with tempfile.TemporaryDirectory(prefix="pipeline-twin-e2e-") as data, open(ARTIFACTS / log_name, "w") as log:
        env = {**{k: v for k, v in os.environ.items() if k not in drop}, "PIPELINE_TWIN_DATA_DIR": data,
               "PIPELINE_TWIN_WARM_UP": "0",  # no background runs competing with the tests' (test_run_cache turns it on)
               **(env or {})}
        with local_server(port or _free_port(), env, log, args=tuple(args), timeout_s=60,
                          processes=processes) as url:
            yield url


@pytest.fixture(scope="session")
def app_url():
    """One server for the session's browser tests."""
    with streamlit_server() as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


@pytest.fixture
def dark_page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, color_scheme="dark")
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
