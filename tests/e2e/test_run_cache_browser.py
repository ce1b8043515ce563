"""The dashboard's disk cache of runs in real servers: a server warms the bundled runs in the background,
and a restarted server answers from disk; a knob change shows the instant estimate until the run is done.

A restarted server here may not simulate at all (its run time limit is a millisecond, so any run it
started would fail with "did not finish"): the pages can only be complete if they came from disk.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from simulator.scenario.config import load_scenario, scenario_to_yaml, with_overrides
from tests.e2e.conftest import streamlit_server
from tests.e2e.test_browser import check_page, screenshot, wait_for_app

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_a_restarted_server_answers_from_the_warmed_disk_cache(browser, tmp_path, screenshots):
    from playwright.sync_api import expect

    folder = tmp_path / "scenarios"
    folder.mkdir()
    small = with_overrides(load_scenario(ROOT / "scenarios" / "mmc.yaml"), {"duration_s": 120, "warmup_s": 10})
    (folder / "mmc.yaml").write_text(scenario_to_yaml(small), encoding="utf-8")
    cache = tmp_path / "run-cache"
    env = {"PIPELINE_TWIN_SCENARIOS": str(folder), "PIPELINE_TWIN_RUN_CACHE_DIR": str(cache),
           "PIPELINE_TWIN_WARM_UP": "1"}
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    with streamlit_server("run-cache-first.log", env=env) as url:
        page.goto(url + "/glossary")  # a page without a run: only the warm-up simulates
        wait_for_app(page)
        deadline = time.monotonic() + 240
        while not list(cache.glob("warm-*.json")):
            assert time.monotonic() < deadline, "the warm-up did not finish"
            time.sleep(0.5)
    marker = json.loads(next(cache.glob("warm-*.json")).read_text())
    # mmc (its model at fp32), Compare's first B (50 % more traffic) and Cost's int8 version; no incident twin
    assert marker["runs"] == 3
    assert marker["simulated"] == 3 + 4  # those runs and "How sure"'s first four replications (two workers)
    with streamlit_server("run-cache-second.log", env={**env, "PIPELINE_TWIN_RUN_TIMEOUT_S": "0.001"}) as url:
        for path, diagram in (("", True), ("compare", True), ("cost", False)):
            page.goto(f"{url}/{path}?scenario=mmc")
            wait_for_app(page)
            check_page(page, True, diagram)
            expect(page.get_by_text("did not finish")).to_have_count(0)
        screenshot(page, screenshots / "compare-from-disk-cache.png")
    context.close()


def test_a_knob_change_shows_the_instant_estimate_until_the_run_is_done(page, app_url, screenshots):
    from playwright.sync_api import expect

    page.goto(app_url + "/?seed=4711")
    wait_for_app(page)
    thumb = page.get_by_role("slider", name="Model servers (% of the plan)")
    thumb.focus()
    thumb.press("ArrowRight")
    estimate = page.locator(".st-key-instant_estimate")
    expect(estimate).to_be_visible(timeout=30_000)
    expect(estimate.get_by_text("Keeps up with the load?")).to_be_visible()
    # the previous run's tiles, story and charts are not left on screen under the estimate
    main = page.get_by_test_id("stMain")
    expect(main.get_by_test_id("stMetric").filter(visible=True)).to_have_count(
        estimate.get_by_test_id("stMetric").count())
    expect(main.get_by_text("What happened").filter(visible=True)).to_have_count(0)
    expect(main.locator(".pt-chart").filter(visible=True)).to_have_count(0)
    page.screenshot(path=str(screenshots / "overview-knob-estimate.png"))
    expect(page.locator(".pt-diagram").get_by_text("5 model servers", exact=False)).to_be_visible(
        timeout=120_000)
    wait_for_app(page)
    expect(estimate).to_have_count(0)  # replaced by the simulated result
    check_page(page, True, True)
