"""Sign-in in the real browser against a local OpenID Connect provider, and what each role may do.

The provider (the ``oidc-provider-mock`` package) runs in this process on a loopback port with
three people; the dashboard gets an ``[auth]`` section pointing at it through a secrets file of
its own and a roles file. An analyst saves a scenario (it appears in the Library); a viewer
tries to save, to delete a run, to run a capacity plan and to read the audit log, and each
attempt is refused and recorded; an admin reads both in the audit log. The store is then read
directly to check every entry.
"""
from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import expect

from tests.app.conftest import SMALL, write_scenarios
from tests.e2e.conftest import _free_port, streamlit_server
from tests.e2e.test_browser import screenshot, wait_for_app

pytestmark = pytest.mark.e2e

PEOPLE = {"anna@example.com": ("Anna Analyst", "analyst"), "vera@example.com": ("Vera Viewer", "viewer"),
          "adam@example.com": ("Adam Admin", "admin")}


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    """The OpenID Connect provider on 127.0.0.1, with the three people as one-click accounts."""
    import os

    from oidc_provider_mock import User, run_server_in_thread

    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # plain http on loopback, for the test only
    users = [User(sub=email, claims={"email": email, "name": name}) for email, (name, _) in PEOPLE.items()]
    with run_server_in_thread(port=_free_port(), user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def signed_app(provider, tmp_path_factory):
    """The dashboard with sign-in configured; yields (url, data folder)."""
    folder = tmp_path_factory.mktemp("signin")
    port = _free_port()
    (folder / "secrets.toml").write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
        'client_id = "pipeline-twin-test"\n'
        'client_secret = "not-a-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n', encoding="utf-8")
    (folder / "roles.yaml").write_text("default: viewer\npeople:\n" + "".join(
        f"  {email}: {role}\n" for email, (_, role) in PEOPLE.items()), encoding="utf-8")
    scenarios = folder / "scenarios"
    scenarios.mkdir()
    write_scenarios(scenarios, {"baseline": SMALL, "mmc": SMALL})
    data = folder / "data"
    env = {"PIPELINE_TWIN_DATA_DIR": str(data), "PIPELINE_TWIN_ROLES": str(folder / "roles.yaml"),
           "PIPELINE_TWIN_SCENARIOS": str(scenarios), "AUTHLIB_INSECURE_TRANSPORT": "1"}
    with streamlit_server("streamlit-sign-in.log", env=env, args=("--secrets.files", str(folder / "secrets.toml")),
                          port=port) as url:
        yield url, data


def sign_in(browser, url: str, email: str):
    """A new browser profile signs in as ``email`` through the provider's page; returns the page."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url + "/")
    wait_for_app(page)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/oauth2/authorize**")
    page.get_by_role("button", name=email).click()  # the provider's one-click account
    page.wait_for_url(url + "/**")
    wait_for_app(page)
    name, role = PEOPLE[email]
    expect(page.get_by_test_id("stSidebar").get_by_text(f"Signed in as {name} · {role}")).to_be_visible()
    return page


def go(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    wait_for_app(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def open_section(page, title: str) -> None:
    """Open an expander unless it is open already (the Library opens its save box while nothing is saved)."""
    if page.locator("details").filter(has_text=title).first.get_attribute("open") is None:
        page.get_by_text(title).click()


def refused(page, text: str) -> None:
    expect(page.get_by_test_id("stAlertContentError").get_by_text(text, exact=False).first).to_be_visible()


def test_roles_in_the_browser(browser, signed_app, screenshots):
    url, data = signed_app
    # nobody signed in: only the sign-in screen
    context = browser.new_context()
    page = context.new_page()
    page.goto(url + "/library")
    wait_for_app(page)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    page.screenshot(path=str(screenshots / "sign-in-screen.png"))
    context.close()

    # the analyst saves the sidebar's scenario; it appears in the Library; her run is in the History
    page = sign_in(browser, url, "anna@example.com")
    expect(page.get_by_test_id("stSidebarNav").get_by_text("Audit")).to_have_count(0)
    go(page, "Library")
    open_section(page, "Save the scenario you are looking at")
    page.get_by_label("What changed, in a few words").fill("reference for the workshop")
    page.get_by_role("button", name="Save it to the Library").click()
    expect(page.get_by_text("Saved as baseline v1")).to_be_visible()
    wait_for_app(page)
    expect(page).to_have_url(re.compile(r"scenario=baseline(\+|%20)(%C2%B7|·)(\+|%20)v1"))  # the sidebar shows v1
    screenshot(page, screenshots / "library-analyst-saved.png")
    go(page, "History")
    expect(page.get_by_text("Run #1: baseline")).to_be_visible()
    page.context.close()

    # the viewer: every attempt refused, where the action would happen
    page = sign_in(browser, url, "vera@example.com")
    go(page, "Library")
    open_section(page, "Save the scenario you are looking at")
    page.get_by_role("button", name="Save it to the Library").click()
    refused(page, "Only analysts and admins can save scenarios; vera@example.com is a viewer")
    screenshot(page, screenshots / "library-viewer-refused.png")
    go(page, "History")
    page.get_by_text("Yes, delete run #1").click()
    page.get_by_role("button", name="Delete").click()
    wait_for_app(page)
    refused(page, "Only admins can delete runs")
    go(page, "Capacity planner")
    page.get_by_role("button", name="Find the cheapest plan").click()
    wait_for_app(page)
    refused(page, "Only analysts and admins can run capacity plans")
    screenshot(page, screenshots / "planner-viewer-refused.png")
    page.goto(url + "/audit")
    wait_for_app(page)
    refused(page, "Only admins can read the audit log")
    page.context.close()

    # the admin sees both in the audit log
    page = sign_in(browser, url, "adam@example.com")
    go(page, "Audit")
    metrics = page.get_by_test_id("stMetric")
    expect(metrics.filter(has_text="Refused attempts").get_by_test_id("stMetricValue")).to_have_text("4")
    screenshot(page, screenshots / "audit-admin.png")
    page.context.close()

    from sqlalchemy import text

    from simulator.store import scenarios
    from simulator.store.db import open_store

    store = open_store(folder=data)
    try:
        with store.sessions.begin() as s:
            rows = [tuple(r) for r in s.execute(text(
                "SELECT actor, action, object_id, outcome FROM audit_log WHERE action <> 'read_audit' OR "
                "outcome = 'refused' ORDER BY id"))]
        assert ("anna@example.com", "save_scenario", "baseline v1", "ok") in rows
        assert scenarios.latest(store, "baseline").note == "reference for the workshop"  # typed just before the click
        assert [r for r in rows if r[3] == "refused"] == [
            ("vera@example.com", "save_scenario", "baseline", "refused"),
            ("vera@example.com", "delete_run", "1", "refused"),
            ("vera@example.com", "plan", "baseline", "refused"),
            ("vera@example.com", "read_audit", "all", "refused"),
        ]
        assert {r[0] for r in rows if r[1] == "sign_in"} == set(PEOPLE)
    finally:
        store.close()
