"""The dashboard facing runaway uploads and a killed worker, in a real browser on its own server.

The server runs with a 30-second limit per run, so that a runaway is stopped within the test, and
with room for 250 million estimated events per run, so that the runaway passes the pre-run check.
Worker processes are found as the server's children running multiprocessing's spawn entry point.
"""
from __future__ import annotations

import signal
import time

import psutil
import pytest

from tests.e2e.conftest import streamlit_server
from tests.e2e.test_browser import screenshot, wait_for_app

pytestmark = pytest.mark.e2e

RUN_TIMEOUT_S = 30
# passes the server's budget (about 190 million events) but computes for minutes: a quiet month
# whose Knative autoscaler averages an hour of one-second samples every second
RUNAWAY = b"""name: runaway
description: A quiet month whose autoscaler averages an hour of samples every second.
duration_s: 2592000
warmup_s: 0
traffic: {rate_per_s: 0.01}
inference: {replicas: 1}
autoscaler: {enabled: true, kind: kpa, min_replicas: 0, max_replicas: 4, kpa_tick_s: 1, stable_window_s: 3600}
"""


@pytest.fixture(scope="module")
def server():
    env = {"PIPELINE_TWIN_RUN_TIMEOUT_S": str(RUN_TIMEOUT_S), "PIPELINE_TWIN_DASHBOARD_MAX_EVENTS": "250e6"}
    with streamlit_server("streamlit-hostile.log", env) as url:
        port = url.rsplit(":", 1)[1]
        proc = next(p for p in psutil.Process().children() if port in " ".join(p.cmdline()))
        yield url, proc


def workers(server_proc) -> list[psutil.Process]:
    out = []
    for child in server_proc.children(recursive=True):
        try:
            cmd = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "spawn_main" in cmd and child.is_running() and child.status() != psutil.STATUS_ZOMBIE:
            out.append(child)
    return out


def wait_for_workers(server_proc, n: int = 2, timeout_s: float = 60) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout_s
    while len(found := workers(server_proc)) < n:
        assert time.monotonic() < deadline, [p.pid for p in found]
        time.sleep(0.2)
    return found


def _cpu_s(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


def busiest(processes: list[psutil.Process], window_s: float = 0.5) -> tuple[psutil.Process, float]:
    """The process that used the most CPU over ``window_s`` and its share of one core."""
    start = {p.pid: _cpu_s(p) for p in processes}
    time.sleep(window_s)
    used = {p.pid: _cpu_s(p) - start[p.pid] for p in processes}
    top = max(processes, key=lambda p: used[p.pid])
    return top, used[top.pid] / window_s


def wait_until_idle(server_proc, timeout_s: float = 120) -> list[psutil.Process]:
    """Both workers started and done importing (none of them busy)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = wait_for_workers(server_proc)
        if busiest(found, 1.0)[1] < 0.05:
            return found
        assert time.monotonic() < deadline


def open_page(browser, url: str):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(url)
    return page


def overview_seconds(browser, url: str) -> float:
    """Seconds from opening the Overview until its numbers are on screen."""
    from playwright.sync_api import expect

    t0 = time.monotonic()
    page = open_page(browser, url)
    expect(page.get_by_test_id("stMetric").first).to_be_visible(timeout=180_000)
    elapsed = time.monotonic() - t0
    page.context.close()
    return elapsed


def upload_and_open_overview(browser, base_url: str, content: bytes):
    from playwright.sync_api import expect

    page = open_page(browser, base_url + "/lab")
    wait_for_app(page)
    page.get_by_text("Load a scenario file (YAML)").click()
    page.locator(".st-key-lab_upload").get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        files=[{"name": "runaway.yaml", "mimeType": "application/x-yaml", "buffer": content}])
    expect(page.get_by_text("Loaded 'runaway (uploaded)'", exact=False)).to_be_visible(timeout=30_000)
    wait_for_app(page)
    page.get_by_test_id("stSidebarNav").get_by_text("Overview", exact=True).click()
    expect(page.get_by_text("Simulating", exact=False).first).to_be_visible(timeout=30_000)
    return page


def test_runaway_uploads_leave_other_sessions_answering(server, browser, screenshots):
    """Two sessions upload a runaway each; a third session's Overview still answers in its usual time,
    and each runaway is stopped at the time limit with a message that says so and what to do."""
    from playwright.sync_api import expect

    url, proc = server
    overview_seconds(browser, url + "/?traffic=25&seed=100")  # the first run starts the worker pool
    wait_until_idle(proc)
    usual_s = overview_seconds(browser, url + "/?traffic=25&seed=101")
    first = upload_and_open_overview(browser, url, RUNAWAY)
    second = upload_and_open_overview(browser, url, RUNAWAY.replace(b"name: runaway", b"name: runaway\nseed: 5"))
    during_s = overview_seconds(browser, url + "/?traffic=25&seed=102")
    assert during_s <= 2 * usual_s + 10, (usual_s, during_s)
    for page in (first, second):
        expect(page.get_by_text(f"autoscaler.kpa_tick_s: this simulation was stopped after {RUN_TIMEOUT_S} s",
                                exact=False)).to_be_visible(timeout=(3 * RUN_TIMEOUT_S + 60) * 1000)
        expect(page.get_by_role("button", name="Try again")).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(first, screenshots / "hostile-runaway-stopped.png")
    for page in (first, second):
        page.context.close()
    assert len(wait_for_workers(proc)) == 2


def test_a_killed_worker_is_replaced_and_the_page_says_so(server, browser, screenshots):
    from playwright.sync_api import expect

    url, proc = server
    if not workers(proc):
        overview_seconds(browser, url + "/?seed=100")  # the first run starts the worker pool
    before = {p.pid for p in wait_until_idle(proc)}
    # four times the traffic: a run of several seconds, so the worker is still simulating when it is killed
    # (the baseline alone now finishes in well under a second)
    page = open_page(browser, url + "/?seed=77&traffic=400")
    expect(page.get_by_text("Simulating", exact=False).first).to_be_visible(timeout=60_000)
    busy, share = busiest(wait_for_workers(proc), 0.3)
    assert share > 0.1, "no worker is running the simulation"  # an idle worker uses < 0.05 of a core
    server_cpu = proc.cpu_times()
    busy.send_signal(signal.SIGKILL)
    expect(page.get_by_text("stopped unexpectedly (killed by signal 9)", exact=False)).to_be_visible(timeout=10_000)
    expect(page.get_by_text("A fresh worker has been started", exact=False)).to_be_visible()
    screenshot(page, screenshots / "hostile-worker-killed.png")
    after = {p.pid for p in wait_for_workers(proc)}
    assert busy.pid not in after and len(after) == 2 and after != before
    cpu = proc.cpu_times()  # the server itself did not take over the simulation
    assert (cpu.user + cpu.system) - (server_cpu.user + server_cpu.system) < 5
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_test_id("stMetric").first).to_be_visible(timeout=180_000)
    wait_for_app(page, timeout=180_000)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, screenshots / "hostile-worker-replaced-run-again.png")
    page.context.close()


def test_closing_the_tab_stops_its_run(server, browser):
    """A run nobody waits for any more is stopped (its worker replaced) instead of running on."""
    url, proc = server
    if not workers(proc):
        overview_seconds(browser, url + "/?traffic=25&seed=100")
    wait_until_idle(proc)
    page = upload_and_open_overview(browser, url, RUNAWAY.replace(b"name: runaway", b"name: runaway\nseed: 9"))
    busy, share = busiest(wait_for_workers(proc), 0.5)
    assert share > 0.1, "the runaway is not running"
    page.context.close()
    deadline = time.monotonic() + 20
    while busy.is_running() and busy.status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the run went on after its tab was closed"
        time.sleep(0.2)
    assert len(wait_until_idle(proc)) == 2
