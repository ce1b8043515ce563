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
    "Architecture": ("architecture", True, True),
    "Scenario lab": ("lab", False, False),
    "Glossary & help": ("glossary", False, False),
}


def wait_for_app(page, timeout: int = 90_000) -> None:
    """Connected, script finished, no status widget: the run and the page are complete."""
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=timeout)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout)
    page.wait_for_timeout(300)


def screenshot(page, path) -> None:
    """The whole page: Streamlit scrolls inside its own container, so grow the viewport to fit it."""
    height = page.evaluate("""() => Math.max(...Array.from(document.querySelectorAll(
        '[data-testid="stMain"], [data-testid="stAppViewContainer"], [data-testid="stSidebarContent"]'))
        .map(e => e.scrollHeight), 800)""")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 12_000)})
    page.wait_for_timeout(800)  # charts re-layout to the new size
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)


def check_page(page, charts: bool, diagram: bool) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stProgress")).to_have_count(0)
    if charts:  # drawn by our chart component with plotly.js's basic bundle, never the fall-back
        expect(page.locator(".pt-chart").locator("svg.main-svg").first).to_be_visible(timeout=30_000)
        expect(page.get_by_test_id("stPlotlyChart")).to_have_count(0)
    if diagram:  # drawn on the server by Graphviz's dot, never the in-browser fall-back
        expect(page.locator(".pt-diagram").locator("svg").first).to_be_visible(timeout=30_000)
        expect(page.locator(".pt-diagram").locator("svg g.node").first).to_be_visible()
        expect(page.get_by_test_id("stGraphVizChart")).to_have_count(0)


def test_every_page_renders_with_charts_and_diagram(page, app_url, screenshots):
    """Every page in the menu (also those other features add) opens from the sidebar, finishes its
    run and raises nothing; the dashboard's own pages draw their chart and diagram SVGs. The browser
    never contacts another host (no fonts, icons or scripts from the internet)."""
    hosts = set()
    # (the chart component's script is a blob: URL made in the page itself, counted as its host)
    page.on("request", lambda request: hosts.add(re.sub(r"^(blob:)?\w+://([^/:]+).*$", r"\2", request.url)))
    page.goto(app_url + "/")
    wait_for_app(page)
    titles = [t.strip().splitlines()[-1].strip() for t in page.get_by_test_id("stSidebarNavLink").all_inner_texts()]
    assert set(PAGES) <= set(titles), titles
    for title in titles:
        path, charts, diagram = PAGES.get(title, (None, False, False))
        page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
        if path is not None:
            page.wait_for_url(re.compile(rf".*/{path}(\?.*)?$"))
        wait_for_app(page)
        check_page(page, charts, diagram)
        name = path if path is not None else re.sub(r"\W+", "-", title.lower()).strip("-")
        screenshot(page, screenshots / f"{name or 'overview'}.png")
    assert hosts <= {"127.0.0.1"}, hosts


def test_slider_changes_the_diagram_and_the_url(page, app_url, screenshots):
    """Moving the 'Model servers' slider from 100 % to 150 % redraws the diagram with 6 model servers."""
    from playwright.sync_api import expect

    page.goto(app_url + "/")
    wait_for_app(page)
    diagram = page.locator(".pt-diagram")
    expect(diagram.get_by_text("4 model servers", exact=False)).to_be_visible(timeout=60_000)
    thumb = page.get_by_role("slider", name="Model servers (% of the plan)")
    thumb.focus()
    thumb.press("ArrowRight")
    expect(diagram.get_by_text("5 model servers", exact=False)).to_be_visible(timeout=60_000)
    wait_for_app(page)
    thumb.press("ArrowRight")
    expect(diagram.get_by_text("6 model servers", exact=False)).to_be_visible(timeout=60_000)
    wait_for_app(page)
    assert "capacity=150" in page.url
    check_page(page, True, True)
    screenshot(page, screenshots / "overview-capacity-150.png")


def test_deep_link_selects_scenario_and_presentation_mode(page, app_url, screenshots):
    """A shared link with ?scenario=...&present=true opens that scenario in presentation mode."""
    from playwright.sync_api import expect

    page.goto(app_url + "/?scenario=weather_api_outage&present=true")
    wait_for_app(page)
    check_page(page, True, True)
    expect(page.get_by_text("“Weather service outage” hit the weather service", exact=False).first).to_be_visible()
    expect(page.get_by_test_id("stSidebarNav").get_by_text("Scenario lab")).to_have_count(0)
    screenshot(page, screenshots / "overview-presentation.png")


def test_events_are_marked_on_the_charts(page, app_url, screenshots):
    """The weather outage scenario's fault and breaker trips appear as labelled lines on the charts."""
    from playwright.sync_api import expect

    page.goto(app_url + "/throughput?scenario=weather_api_outage")
    wait_for_app(page)
    check_page(page, True, False)
    charts = page.locator(".pt-chart")
    expect(charts.first.get_by_text("weather service outage", exact=True)).to_be_visible()
    expect(charts.first.get_by_text("safety switch open", exact=True)).to_be_visible()
    screenshot(page, screenshots / "throughput-weather-outage.png")
    page.get_by_test_id("stSidebarNav").get_by_text("Replay", exact=True).click()
    wait_for_app(page)
    check_page(page, True, True)
    moment = page.locator("[class*='st-key-replay_t_'] [data-testid='stSliderThumbValue']")
    start = moment.inner_text()
    assert start == "14:20"                      # the replay opens at the first event: the outage
    expect(page.locator(".pt-diagram").get_by_text("State at 14:20")).to_be_visible()
    screenshot(page, screenshots / "replay-weather-outage.png")
    page.get_by_role("button", name="▶ Play").click()
    expect(moment).not_to_have_text(start, timeout=30_000)   # the timer moves the moment on
    page.get_by_role("button", name="⏸ Pause").click()
    wait_for_app(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_lab_explains_a_bad_upload_and_runs_an_edited_scenario(page, app_url, screenshots):
    """In the lab a broken YAML upload gets a friendly message (no traceback); a valid edit runs and charts."""
    from playwright.sync_api import expect

    page.goto(app_url + "/lab")
    wait_for_app(page)
    page.get_by_text("Load a scenario file (YAML)").click()
    page.locator(".st-key-lab_upload").get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        files=[{"name": "broken.yaml", "mimeType": "application/x-yaml", "buffer": b"inference:\n  replicas: [oops\n"}])
    expect(page.get_by_text("This file is not a valid scenario", exact=False)).to_be_visible(timeout=30_000)
    wait_for_app(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    page.get_by_role("tab", name="Inference").click()
    replicas = page.get_by_role("tabpanel", name="Inference").get_by_label("Replicas", exact=True).first
    replicas.fill("6")
    replicas.press("Enter")
    wait_for_app(page)
    expect(page.get_by_text("You changed 1 setting", exact=False)).to_be_visible()
    page.get_by_role("button", name="Run the edited scenario").click()
    expect(page.get_by_text("Result of the last run")).to_be_visible(timeout=60_000)
    wait_for_app(page)
    check_page(page, True, True)
    expect(page.locator(".pt-diagram").get_by_text("6 model servers", exact=False)).to_be_visible()
    screenshot(page, screenshots / "lab-after-run.png")


def test_diagram_is_readable_with_a_dark_system_theme(dark_page, app_url, screenshots):
    """With a dark system theme the diagram keeps dark text on pastel boxes (readable on any background)."""
    from playwright.sync_api import expect

    dark_page.goto(app_url + "/")
    wait_for_app(dark_page)
    check_page(dark_page, True, True)
    text = dark_page.locator(".pt-diagram").locator("svg g.node text").first
    expect(text).to_have_attribute("fill", "#1b1b1b")
    screenshot(dark_page, screenshots / "overview-dark.png")


def test_progress_bar_advances_while_the_worker_runs(page, app_url):
    """A run that is not cached yet shows a progress bar fed by the worker process, which moves past
    0 % and disappears when the run is done (the page keeps its connection throughout). Four times
    the traffic: at twice, the run was sometimes done before the bar's first number was read."""
    from playwright.sync_api import expect

    page.goto(app_url + "/?traffic=400&seed=90210")
    bar = page.get_by_test_id("stProgress")
    expect(bar).to_be_visible(timeout=30_000)
    expect(bar).to_contain_text(re.compile(r"Simulating baseline: [1-9]\d? %"), timeout=30_000)
    wait_for_app(page)
    check_page(page, True, True)
