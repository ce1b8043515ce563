"""A shared link to one page, opened on a server nobody has visited yet, keeps the frame."""
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import streamlit_server
from tests.e2e.test_browser import wait_for_app

pytestmark = pytest.mark.e2e


def test_direct_link_on_a_fresh_server_shows_sidebar_menu_and_scenario(browser, screenshots):
    """Before the fix, Streamlit ran pages/recovery.py bare (no menu, default scenario)."""
    with streamlit_server("streamlit-fresh-server.log") as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{url}/recovery?scenario=replica_crash")
            expect(page.get_by_text("Failure recovery").first).to_be_visible(timeout=90_000)
            wait_for_app(page)
            expect(page.get_by_test_id("stException")).to_have_count(0)
            expect(page.get_by_test_id("stSidebarNavLink")).not_to_have_count(0)
            expect(page.get_by_text("Scenario: replica_crash").first).to_be_visible()
            page.screenshot(path=str(screenshots / "recovery-fresh-deeplink.png"), full_page=True)
        finally:
            page.close()
