"""The Architecture page and the Scenario lab's graph editor in Chromium, on the bundled fraud_enrichment
scenario (three enrichment services in parallel, rules, a model cascade): rendered without errors, the
diagram drawn from the graph, charts drawn, and screenshots under test-artifacts/screenshots/."""
from __future__ import annotations

import pytest

from tests.e2e.test_browser import check_page, screenshot, wait_for_app

pytestmark = pytest.mark.e2e


def test_architecture_page_for_fraud_enrichment(page, app_url, screenshots):
    from playwright.sync_api import expect

    page.goto(app_url + "/architecture?scenario=fraud_enrichment")
    wait_for_app(page, timeout=180_000)
    check_page(page, charts=True, diagram=True)
    diagram = page.locator(".pt-diagram")
    expect(diagram.get_by_text("waits for 2 of 3")).to_be_visible()
    expect(diagram.get_by_text("Credit bureau").first).to_be_visible()
    expect(page.get_by_text("If the fraud rules go down, 100 % of fraud decisions stop", exact=False)).to_be_visible()
    charts = page.locator(".pt-chart")
    expect(charts.get_by_text("Where the slowest 1 %", exact=False)).to_be_visible()
    expect(charts.get_by_text("If one part goes down", exact=False)).to_be_visible()
    expect(page.get_by_test_id("stDataFrame")).to_have_count(1)
    screenshot(page, screenshots / "architecture-fraud_enrichment.png")


def test_architecture_page_on_a_phone(browser, app_url, screenshots):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(app_url + "/architecture?scenario=fraud_enrichment")
        wait_for_app(page, timeout=180_000)
        check_page(page, charts=True, diagram=True)
        screenshot(page, screenshots / "phone-architecture-390.png")
    finally:
        context.close()


def test_graph_editor_builds_checks_and_draws(page, app_url, screenshots):
    from playwright.sync_api import expect

    page.goto(app_url + "/lab?scenario=fraud_enrichment")
    wait_for_app(page, timeout=180_000)
    page.get_by_test_id("stButtonGroup").get_by_text("Architecture", exact=True).click()
    wait_for_app(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    diagram = page.locator(".pt-diagram")
    expect(diagram.get_by_text("waits for 2 of 3")).to_be_visible()
    expect(page.get_by_text("The graph is sound", exact=False)).to_be_visible()
    screenshot(page, screenshots / "lab-architecture-editor.png")
    # a component nothing leads to yet: drawn, and named in the problems
    page.get_by_role("combobox", name="Kind").click()
    page.get_by_role("option", name="model", exact=True).click()
    wait_for_app(page)
    page.get_by_role("textbox", name="Id", exact=True).fill("backup_model")
    page.get_by_role("textbox", name="Business name").fill("backup fraud model")
    page.get_by_role("textbox", name="Business name").press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Add the component").click()
    wait_for_app(page)
    expect(diagram.get_by_text("Backup fraud model")).to_be_visible()
    expect(page.get_by_text("This architecture cannot run yet", exact=False)).to_be_visible()
    expect(page.get_by_text("got payments, backup_model", exact=False)).to_be_visible()
    expect(page.get_by_role("button", name="Use it on every page")).to_be_disabled()
    screenshot(page, screenshots / "lab-architecture-editor-problem.png")
    # connect it as the large model's fallback: dashed, and the graph is sound again
    page.get_by_text("fallback (used when", exact=False).click()
    wait_for_app(page)
    page.get_by_role("combobox", name="From", exact=True).click()
    page.get_by_role("option", name="fraud_model", exact=True).click()
    wait_for_app(page)
    page.get_by_role("combobox", name="Falls back to").click()
    page.get_by_role("option", name="backup_model", exact=True).click()
    wait_for_app(page)
    page.get_by_role("button", name="Add the edge").click()
    wait_for_app(page)
    expect(page.get_by_text("The graph is sound", exact=False)).to_be_visible()
    expect(diagram.get_by_text("if down")).to_be_visible()
    expect(page.get_by_role("button", name="Use it on every page")).to_be_enabled()
    check_page(page, charts=False, diagram=True)
    screenshot(page, screenshots / "lab-architecture-editor-fallback.png")
    # change an existing component: the credit bureau gets a business name and a slower contract
    choose = page.get_by_role("combobox", name="Component to change")
    choose.scroll_into_view_if_needed()  # its list opens below it: in view first
    choose.click()
    page.get_by_role("option", name="bureau", exact=True).click()
    wait_for_app(page)
    latency = page.get_by_role("spinbutton", name="Latency (ms)").last
    expect(latency).to_have_value("80")
    latency.fill("120")
    latency.press("Enter")
    wait_for_app(page)
    names = page.get_by_role("textbox", name="Business name")
    names.last.fill("credit bureau (new contract)")
    names.last.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Save the changes").click()
    wait_for_app(page)
    expect(page.get_by_text("Changed bureau.")).to_be_visible()
    expect(diagram.get_by_text("Credit bureau (new contract)")).to_be_visible()
    expect(page.get_by_role("spinbutton", name="Latency (ms)").last).to_have_value("120")
    check_page(page, charts=False, diagram=True)
    screenshot(page, screenshots / "lab-architecture-editor-change.png")
