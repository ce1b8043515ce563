"""AppTest for workshop mode's roles: with sign-in configured, a participant's phone reaches the join page
without signing in (and nothing else); a viewer may not facilitate (refused and audited); an analyst starts
a session from the page. What the app wrote is read back from the store directly."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from simulator.store import workshops
from tests.app.conftest import SMALL, write_scenarios
from tests.app.test_team import make, ok

WORKSHOP = """
title: "Roles"
minutes: 10
acts:
  - title: "An hour"
    scenario: baseline
    minutes: 5
    question: "How many payments get no answer?"
    answer: {kind: number, measure: requests.failed, unit: payments}
"""


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory) -> Path:
    return write_scenarios(tmp_path_factory.mktemp("scenarios"), {"baseline": SMALL})


@pytest.fixture(autouse=True)
def workshop_dir(tmp_path, monkeypatch, roles) -> None:
    folder = tmp_path / "workshops"
    folder.mkdir()
    (folder / "one_act.yaml").write_text(WORKSHOP, encoding="utf-8")
    monkeypatch.setenv("PIPELINE_TWIN_WORKSHOPS", str(folder))


@pytest.fixture
def roles(tmp_path, monkeypatch) -> None:
    path = tmp_path / "roles.yaml"
    path.write_text("default: viewer\npeople:\n  anna@example.com: analyst\n")
    monkeypatch.setenv("PIPELINE_TWIN_ROLES", str(path))


@pytest.fixture
def store():
    from simulator.store.db import open_store

    opened = open_store()
    yield opened
    opened.close()


def refusals(store) -> list[tuple]:
    with store.sessions.begin() as s:
        return [tuple(r) for r in s.execute(text(
            "SELECT actor, action, outcome FROM audit_log WHERE action = 'facilitate' ORDER BY id"))]


def test_an_analyst_starts_a_session_and_a_signed_out_phone_joins_it(store):
    at = ok(make("anna@example.com").run())
    ok(at.switch_page("pages/workshop.py").run())
    assert at.title[0].value == "Workshop"
    next(b for b in at.button if b.key == "ws_start").click().run()
    ok(at)
    [(code, title, _, still_open)] = workshops.recent(store, workshops_actor("anna@example.com"))
    assert (title, still_open) == ("Roles", True)
    assert at.query_params["session"] in (code, [code])                  # a reload stays on this session

    phone = ok(make("nobody@example.com", signed_in=False).run())
    assert [b.label for b in phone.button] == ["Sign in"]               # every other page: the sign-in screen
    phone.query_params["code"] = code
    ok(phone.switch_page("pages/join.py").run())
    assert not [b for b in phone.button if b.label == "Sign in"]
    phone.text_input(key="wj_name").input("Ada")
    next(b for b in phone.button if b.label == "Join").click().run()
    ok(phone)
    assert workshops.state(store, workshops_actor("anna@example.com"), code).participants == 1
    assert any("How many payments get no answer?" in h.proto.body for h in phone.get("html"))


def test_a_viewer_cannot_facilitate_and_the_attempt_is_recorded(store):
    at = ok(make("vera@example.com").run())
    ok(at.switch_page("pages/workshop.py").run())
    assert any("needs the analyst role; you are a viewer" in i.value for i in at.info)
    next(b for b in at.button if b.key == "ws_start").click().run()
    ok(at)
    assert any("Only analysts and admins can run workshops" in e.value for e in at.error)
    assert ("vera@example.com", "facilitate", "refused") in refusals(store)


def workshops_actor(email: str):
    from simulator.store.access import Actor, Role

    return Actor(email, email, Role.analyst)


def test_the_join_link_uses_the_configured_public_address(store, monkeypatch):
    monkeypatch.setenv("PIPELINE_TWIN_PUBLIC_URL", "http://10.0.0.12:8501/")
    at = ok(make("anna@example.com").run())
    ok(at.switch_page("pages/workshop.py").run())
    next(b for b in at.button if b.key == "ws_start").click().run()
    ok(at)
    [(code, *_)] = workshops.recent(store, workshops_actor("anna@example.com"))
    bodies = " ".join(h.proto.body for h in at.get("html"))
    assert f"Join at <b>http://10.0.0.12:8501/join</b> with the code</div><div class=\"ws-code\">{code}</div>" in bodies
