"""The two screens executives and facilitators use: presentation mode on a 1366x768 projector and a
390x844 phone, in Debian's Chromium. Each test measures the layout (positions and sizes of the
rendered elements) and saves a screenshot under test-artifacts/screenshots/ for a person to look at.
"""
from __future__ import annotations

import pytest

from tests.e2e.test_browser import check_page, screenshot, wait_for_app

pytestmark = pytest.mark.e2e


def new_page(browser, width: int, height: int, phone: bool = False):
    context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=phone, has_touch=phone)
    page = context.new_page()
    page.set_default_timeout(120_000)
    return context, page


def boxes(page, test_id: str) -> list[dict]:
    return [e.bounding_box() for e in page.get_by_test_id(test_id).all()]


def test_presentation_mode_at_1366x768(browser, app_url, screenshots):
    """One column: three big tiles side by side, the story, then a diagram across the full width of the
    page (boxes in rows, readable from the back of a room); Replay's tile labels never break inside a word."""
    context, page = new_page(browser, 1366, 768)
    try:
        page.goto(app_url + "/?scenario=weather_api_outage&present=true")
        wait_for_app(page)
        check_page(page, True, True)
        tiles = boxes(page, "stMetric")
        assert len(tiles) == 3
        assert len({round(t["y"]) for t in tiles}) == 1                      # one row
        column = page.locator(".pt-chart").first.bounding_box()        # a full-width element
        diagram = page.locator(".pt-diagram").locator("svg").first.bounding_box()
        assert diagram["width"] > 0.9 * column["width"]                       # full width, not half
        assert diagram["height"] < 768                                        # fits on the screen
        font = page.locator(".pt-diagram").locator("svg g.node text").first.bounding_box()["height"]
        assert font >= 12                                                      # px on screen
        screenshot(page, screenshots / "presentation-overview-1366.png")

        page.get_by_test_id("stSidebarNav").get_by_text("Replay", exact=True).click()
        wait_for_app(page)
        check_page(page, True, True)
        broken = page.evaluate("""() => Array.from(document.querySelectorAll('[data-testid="stMetricLabel"] p'))
            .filter(p => getComputedStyle(p).wordBreak !== 'normal' || getComputedStyle(p).overflowWrap !== 'normal'
                         || p.scrollWidth > p.clientWidth + 1).map(p => p.innerText)""")
        assert broken == []
        screenshot(page, screenshots / "presentation-replay-1366.png")
    finally:
        context.close()


def test_phone_at_390x844(browser, app_url, screenshots):
    """The sidebar starts collapsed, tiles sit two by two, and the diagram stays legible (it scrolls sideways
    rather than shrinking its text)."""
    context, page = new_page(browser, 390, 844, phone=True)
    try:
        page.goto(app_url + "/?scenario=weather_api_outage")
        wait_for_app(page)
        check_page(page, True, True)
        sidebar = page.get_by_test_id("stSidebar")
        assert sidebar.get_attribute("data-collapsed") == "true"
        assert sidebar.bounding_box()["x"] + sidebar.bounding_box()["width"] <= 0        # off the screen
        tiles = boxes(page, "stMetric")
        assert len(tiles) >= 4
        assert abs(tiles[0]["y"] - tiles[1]["y"]) < 2 and tiles[2]["y"] > tiles[0]["y"] + 20   # two per row
        assert all(t["width"] < 200 for t in tiles)
        svg = page.locator(".pt-diagram").locator("svg").first.bounding_box()
        assert svg["width"] >= 480
        font = page.locator(".pt-diagram").locator("svg g.node text").first.bounding_box()["height"]
        assert font >= 11
        screenshot(page, screenshots / "phone-overview-390.png")
    finally:
        context.close()
