"""The dashboard in a real browser (Debian's Chromium via Playwright).

Each test opens pages of a running ``streamlit run app.py``, waits until the simulation has
finished, checks that nothing raised and that charts and the diagram were drawn as SVG, and
saves a full-page screenshot under test-artifacts/screenshots/ for a person to look at.
"""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e

# page title in the menu -> (url path, expects plotly charts, expects the diagram)
PAGES = {
    "Overview": ("", True, True),
    "Throughput & latency": ("throughput", True, False),
    "Compare": ("compare", True, True),
    "Replay": ("replay", True, True),
    "Scenario lab": ("lab", False, False),
    "Glossary & help": ("glossary", False, False),
}


def wait_for_app(page, timeout: int = 90_000) -> None:
    """Connected, script finished, no status widget: the run and the page are complete."""
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=timeout)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout)
    page.wait_for_timeout(300)


def check_page(page, charts: bool, diagram: bool) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stProgress")).to_have_count(0)
    if charts:
        expect(page.get_by_test_id("stPlotlyChart").locator("svg.main-svg").first).to_be_visible(timeout=30_000)
    if diagram:
        expect(page.get_by_test_id("stGraphVizChart").locator("svg").first).to_be_visible(timeout=30_000)
        expect(page.get_by_test_id("stGraphVizChart").locator("svg g.node").first).to_be_visible()


def test_every_page_renders_with_charts_and_diagram(page, app_url, screenshots):
    """Every menu page opens from the sidebar, finishes its run, raises nothing and draws its SVGs."""
    page.goto(app_url + "/")
    wait_for_app(page)
    for title, (path, charts, diagram) in PAGES.items():
        if path:
            page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
            page.wait_for_url(re.compile(rf".*/{path}(\?.*)?$"))
        wait_for_app(page)
        check_page(page, charts, diagram)
        page.screenshot(path=str(screenshots / f"{path or 'overview'}.png"), full_page=True)


def test_slider_changes_the_diagram_and_the_url(page, app_url, screenshots):
    """Moving the 'Model servers' slider from 100 % to 150 % redraws the diagram with 6 replicas."""
    from playwright.sync_api import expect

    page.goto(app_url + "/")
    wait_for_app(page)
    diagram = page.get_by_test_id("stGraphVizChart")
    expect(diagram.get_by_text("model servers, 4 replicas", exact=False)).to_be_visible()
    thumb = page.get_by_role("slider", name="Model servers (% of the plan)")
    thumb.focus()
    thumb.press("ArrowRight")
    expect(diagram.get_by_text("model servers, 5 replicas", exact=False)).to_be_visible(timeout=60_000)
    wait_for_app(page)
    thumb.press("ArrowRight")
    expect(diagram.get_by_text("model servers, 6 replicas", exact=False)).to_be_visible(timeout=60_000)
    wait_for_app(page)
    assert "capacity=150" in page.url
    check_page(page, True, True)
    page.screenshot(path=str(screenshots / "overview-capacity-150.png"), full_page=True)


def test_deep_link_selects_scenario_and_presentation_mode(page, app_url, screenshots):
    """A shared link with ?scenario=...&present=true opens that scenario in presentation mode."""
    from playwright.sync_api import expect

    page.goto(app_url + "/?scenario=weather_api_outage&present=true")
    wait_for_app(page)
    check_page(page, True, True)
    expect(page.get_by_text("weather service went down", exact=False).first).to_be_visible()
    expect(page.get_by_test_id("stSidebarNav").get_by_text("Scenario lab")).to_have_count(0)
    page.screenshot(path=str(screenshots / "overview-presentation.png"), full_page=True)


def test_lab_runs_an_edited_scenario(page, app_url, screenshots):
    """In the lab, an out-of-range value is explained under its field; a valid edit runs and charts."""
    from playwright.sync_api import expect

    page.goto(app_url + "/lab")
    wait_for_app(page)
    page.get_by_role("tab", name="Inference").click()
    replicas = page.get_by_label("Replicas", exact=True)
    replicas.fill("6")
    replicas.press("Enter")
    wait_for_app(page)
    expect(page.get_by_text("You changed 1 setting", exact=False)).to_be_visible()
    page.get_by_role("button", name="Run the edited scenario").click()
    expect(page.get_by_text("Result of the last run")).to_be_visible(timeout=60_000)
    wait_for_app(page)
    check_page(page, True, True)
    expect(page.get_by_test_id("stGraphVizChart").get_by_text("6 replicas", exact=False)).to_be_visible()
    page.screenshot(path=str(screenshots / "lab-after-run.png"), full_page=True)


def test_dark_theme_is_readable(dark_page, app_url, screenshots):
    """With a dark system theme the diagram uses its dark palette (light text on dark boxes)."""
    from playwright.sync_api import expect

    dark_page.goto(app_url + "/")
    wait_for_app(dark_page)
    check_page(dark_page, True, True)
    text = dark_page.get_by_test_id("stGraphVizChart").locator("svg g.node text").first
    expect(text).to_have_attribute("fill", "#f1f3f5")
    dark_page.screenshot(path=str(screenshots / "overview-dark.png"), full_page=True)
