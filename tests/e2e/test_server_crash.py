"""kill -9 the dashboard server while it keeps a run; after a restart the kept run is intact and the
half-written one is not listed."""
import os
import signal
import time

import psutil
import pytest
from playwright.sync_api import expect

from simulator.store import runs
from simulator.store.access import local_actor
from simulator.store.db import open_store
from simulator.store.frames import TMP_PREFIX
from tests.e2e.conftest import streamlit_server
from tests.e2e.test_browser import screenshot, wait_for_app

pytestmark = pytest.mark.e2e


def _listed(data) -> list[runs.RunInfo]:
    store = open_store(folder=data)
    try:
        return runs.list_runs(store)
    finally:
        store.close()


def _wait_for(condition, timeout_s: float, every_s: float = 0.01):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every_s)
    raise TimeoutError("waited too long")


def test_kill_the_server_while_it_keeps_a_run(browser, tmp_path, screenshots):
    data = tmp_path / "data"
    env = {"PIPELINE_TWIN_DATA_DIR": str(data)}
    procs: list = []
    with streamlit_server("streamlit-crash.log", env=env, processes=procs) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.set_default_timeout(120_000)
        page.goto(url + "/")                      # the baseline hour, seed 42: run and kept
        wait_for_app(page)
        [first] = _wait_for(lambda: _listed(data), 60, 0.2)
        page.goto(url + "/?seed=7")               # another hour; kill the server while its files are written
        half = _wait_for(lambda: [p for p in (data / "runs").iterdir() if p.name.startswith(TMP_PREFIX)], 180)
        workers = psutil.Process(procs[0].pid).children(recursive=True)
        os.kill(procs[0].pid, signal.SIGKILL)
        procs[0].wait(10)
        for worker in workers:  # the simulation workers the killed server leaves behind
            worker.kill()
        psutil.wait_procs(workers, timeout=10)
        page.close()
    assert half[0].exists()                       # left half-written by the kill

    listed = _listed(data)                        # what a restarted server sees
    assert [r.id for r in listed] == [first.id]
    store = open_store(folder=data)
    try:
        kept = runs.open_run(store, first.id).result()  # every file checked against its checksum
        assert kept.summary["seed"] == 42
        rows = runs.load_requests(store, local_actor(), first.id)
        assert len(rows) == int(kept.timeseries["arrivals"].sum()) > 200_000  # every request of the hour
    finally:
        store.close()
    with streamlit_server("streamlit-crash-restart.log", env=env) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.set_default_timeout(120_000)
        page.goto(url + f"/history?run={first.id}")
        wait_for_app(page)
        expect(page.get_by_text(f"Run #{first.id}: baseline")).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)
        screenshot(page, screenshots / "history-after-crash.png")
        page.close()
