"""The team pages in local single-user mode, as a workshop facilitator would use them: compare two
options, write the decision with both runs attached, find the runs in the History."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_browser import screenshot, wait_for_app

pytestmark = pytest.mark.e2e


def test_a_decision_written_from_compare(page, app_url, screenshots):
    page.goto(app_url + "/compare")
    wait_for_app(page)
    expect(page.get_by_test_id("stSidebar").get_by_text("Local single-user mode")).to_be_visible()
    page.get_by_role("button", name="Write a decision about A and B").click()
    page.wait_for_url(re.compile(r".*/decisions(\?.*)?$"))
    wait_for_app(page)
    form = page.get_by_test_id("stForm")
    expect(form.get_by_text("A: baseline").first).to_be_visible()  # both runs attached
    form.get_by_label("The question").fill("Do we keep the feature store?")
    form.get_by_label("The option chosen").fill("Keep it")
    form.get_by_label("Why").fill("Without it the slowest 1 % wait longer and more decisions are wrong.")
    form.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text(re.compile(r"Decision #\d+ recorded"))).to_be_visible()
    wait_for_app(page)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name=re.compile(r"#\d+ · Do we keep the feature store\?"))).to_be_visible()
    expect(main.get_by_text("Chosen: Keep it")).to_be_visible()
    link = main.get_by_role("link", name=re.compile(r"Run #\d+: A: baseline"))
    expect(link).to_have_attribute("href", re.compile(r"history\?run=\d+"))
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, screenshots / "decisions-written.png")

    link.click()
    page.wait_for_url(re.compile(r".*/history\?run=\d+"))
    wait_for_app(page)
    expect(page.get_by_text(re.compile(r"Run #\d+: baseline")).first).to_be_visible()
    expect(page.locator(".pt-chart").locator("svg.main-svg").first).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, screenshots / "history-from-decision.png")
