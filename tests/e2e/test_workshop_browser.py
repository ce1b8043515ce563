"""Workshop mode in Debian's Chromium: one facilitator on a 1366x768 projector and six phones (the first at
390x844; one joins by the QR link, others by typing the code, one joins late). They join, answer, the
facilitator reveals, every phone shows the reveal; a reload keeps a participant's answer; the late joiner
sees the act on the projector; a reset act is answered again; the closing slide lists the answers and the
room's decision.

The expected answer, 74 customers, is the bad canary's count from the README (1,480 payments served by
the broken version, 74 bad); tests/unit/test_workshop.py counts it again from the run's per-request rows.
"""
from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import streamlit_server
from tests.e2e.test_browser import screenshot, wait_for_app

pytestmark = pytest.mark.e2e

WORKSHOP = """
title: "Browser test workshop"
minutes: 10
acts:
  - title: "The bad canary"
    scenario: bad_canary
    minutes: 4
    setup: "A new fraud model version goes out as a canary; it fails 5 % of its payments."
    question: "How many customers get an error from the broken version before it is rolled back?"
    answer: {kind: number, measure: canary.bad_responses_on_canary, unit: customers, guess_max: 100000}
    discussion: ["Is that acceptable for a release that goes wrong?"]
  - title: "What happens to the release"
    scenario: bad_canary
    minutes: 4
    question: "What happens to the new version?"
    answer:
      kind: choice
      measure: canary.outcome
      choices:
        - {label: "It is promoted to everyone", equals: promoted}
        - {label: "It is rolled back automatically", equals: rolled_back}
        - {label: "It keeps running on a small share", equals: none}
"""
GUESSES = [10, 50, 74, 80, 200]          # within 10 % of 74: 74 and 80; the middle guess is 74
NAMES = ["Person 1", "Person 2", "Zoë & <b>Bo</b>", "Person 4", "Person 5"]   # a name is shown as typed


@pytest.fixture(scope="module")
def workshop_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("workshops")
    (folder / "browser_test.yaml").write_text(WORKSHOP, encoding="utf-8")
    with streamlit_server("streamlit-workshop.log", env={"PIPELINE_TWIN_WORKSHOPS": str(folder)}) as url:
        yield url


def context(browser, width: int, height: int, phone: bool):
    ctx = browser.new_context(viewport={"width": width, "height": height}, is_mobile=phone, has_touch=phone)
    page = ctx.new_page()
    page.set_default_timeout(120_000)
    return ctx, page


def join(page, base: str, code: str, name: str, by_link: bool) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/join?code={code}" if by_link else f"{base}/join")
    wait_for_app(page)
    if not by_link:
        page.get_by_label("Code on the screen").fill(code.lower())      # typed in lower case
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_text(f"you are {name}")).to_be_visible()
    assert re.search(r"[?&]me=[\w-]{20,}", page.url), page.url          # the token that survives a reload
    wait_for_app(page)


def send_number(page, value: int) -> None:
    from playwright.sync_api import expect

    page.get_by_label("Your answer (customers)").fill(str(value))
    page.get_by_role("button", name=re.compile("(Send|Change) my answer")).click()
    expect(page.get_by_text(f"Your answer: {value} customers")).to_be_visible()
    wait_for_app(page)


def test_a_room_joins_answers_and_sees_the_reveal(browser, workshop_url, screenshots):
    from playwright.sync_api import expect

    contexts = []
    expect.set_options(timeout=30_000)      # plotly's first chart in a fresh browser context takes a while
    try:
        ctx, projector = context(browser, 1366, 768, phone=False)
        contexts.append(ctx)
        projector.goto(workshop_url + "/workshop")
        wait_for_app(projector)
        expect(projector.get_by_test_id("stException")).to_have_count(0)
        projector.get_by_label("Collapse sidebar").dispatch_event("click")   # the projector shows the page only
        projector.get_by_role("button", name="Start a session").click()
        expect(projector.locator(".ws-code")).to_be_visible()
        wait_for_app(projector)
        code = projector.locator(".ws-code").inner_text().strip()
        assert re.fullmatch(r"[A-HJ-NP-Z2-9]{6}", code), code
        assert f"session={code}" in projector.url
        expect(projector.get_by_text(f"{workshop_url}/join", exact=False).first).to_be_visible()
        qr = projector.get_by_test_id("stImage").locator("img").first
        expect(qr).to_be_visible()
        assert qr.bounding_box()["width"] >= 200                               # scannable from a few rows back
        expect(projector.get_by_text("0 of 0 people have answered")).to_be_visible()
        expect(projector.get_by_role("button", name="Reveal the answer")).to_be_enabled()
        question = projector.locator(".ws-question")
        assert question.bounding_box()["y"] + question.bounding_box()["height"] < 768   # above the fold
        assert float(question.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 28
        screenshot(projector, screenshots / "workshop-projector-question-1366.png")

        phones = []
        for i, guess in enumerate(GUESSES):
            width, height = (390, 844) if i == 0 else (412, 915)
            ctx, phone = context(browser, width, height, phone=True)
            contexts.append(ctx)
            join(phone, workshop_url, code, NAMES[i], by_link=i % 2 == 0)
            expect(phone.get_by_text("How many customers get an error from the broken version")).to_be_visible()
            if i == 0:
                screenshot(phone, screenshots / "workshop-phone-question-390.png")
            send_number(phone, guess)
            phones.append(phone)
        send_number(phones[1], 50)                                             # the same answer again: no duplicate

        phones[1].reload()                                                     # a reload keeps the answer
        wait_for_app(phones[1])
        expect(phones[1].get_by_text("Your answer: 50 customers")).to_be_visible()
        expect(phones[1].get_by_role("button", name="Change my answer")).to_be_visible()
        screenshot(phones[0], screenshots / "workshop-phone-answered-390.png")

        expect(projector.get_by_text("5 of 5 people have answered")).to_be_visible(timeout=30_000)
        projector.get_by_role("button", name="Reveal the answer").click()
        expect(projector.locator(".ws-answer")).to_have_text("74 customers")
        wait_for_app(projector)
        expect(projector.get_by_text("Within 7 customers of it: 2 of 5 guesses. The room's middle guess: 74 "
                                     "customers.")).to_be_visible()
        expect(projector.locator(".pt-chart").locator("svg.main-svg").first).to_be_visible()
        bars = projector.locator(".pt-chart").locator("g.point")
        assert bars.count() >= 3
        chart = projector.locator(".pt-chart").first.bounding_box()
        assert chart["y"] + chart["height"] <= 768                             # answer and guesses on one screen
        labels = [projector.locator(".pt-chart .xtick text").nth(i).bounding_box()
                  for i in range(projector.locator(".pt-chart .xtick text").count())]
        assert labels and all(b["y"] + b["height"] <= chart["y"] + chart["height"] for b in labels)  # none cut off
        expect(projector.locator(".pt-diagram").locator("svg g.node").first).to_be_visible()
        text = projector.locator(".pt-diagram").locator("svg g.node text").first.bounding_box()
        assert text["height"] >= 12                                            # px on the projector, as Overview's
        expect(projector.get_by_text("Is that acceptable for a release that goes wrong?")).to_be_visible()
        projector.wait_for_timeout(800)
        projector.screenshot(path=str(screenshots / "workshop-projector-reveal-1366-screen.png"))
        screenshot(projector, screenshots / "workshop-projector-reveal-1366.png")

        for phone, guess in zip(phones, GUESSES):                              # every phone shows the reveal
            expect(phone.locator(".wj-answer")).to_have_text("74 customers", timeout=30_000)
            verdict = "(close)" if abs(guess - 74) <= 7.4 else "(not close)"
            expect(phone.get_by_text(f"Your answer: {guess} customers {verdict}")).to_be_visible()
        wait_for_app(phones[0])
        expect(phones[0].locator(".pt-chart").locator("svg.main-svg").first).to_be_visible()
        chart = phones[0].locator(".pt-chart").first.bounding_box()
        assert chart["x"] >= 0 and chart["x"] + chart["width"] <= 390          # nothing cut at the side
        screenshot(phones[0], screenshots / "workshop-phone-reveal-390.png")

        projector.get_by_role("button", name="Next act").click()
        expect(projector.get_by_text("What happens to the new version?").first).to_be_visible()
        wait_for_app(projector)
        ctx, late = context(browser, 390, 844, phone=True)                    # a late joiner: the act on screen
        contexts.append(ctx)
        join(late, workshop_url, code, "Late Person", by_link=True)
        expect(late.get_by_text("Question 2 of 2")).to_be_visible()
        expect(late.get_by_text("How many customers get an error")).to_have_count(0)
        for phone in [*phones[:3], late]:
            expect(phone.get_by_text("What happens to the new version?")).to_be_visible(timeout=30_000)
            wait_for_app(phone)
            phone.get_by_text("It is rolled back automatically").click()
            phone.get_by_role("button", name="Send my answer").click()
            expect(phone.get_by_text("Your answer: It is rolled back automatically")).to_be_visible()
        phones[3].get_by_text("It is promoted to everyone").click()
        phones[3].get_by_role("button", name="Send my answer").click()
        expect(phones[3].get_by_text("Your answer: It is promoted to everyone")).to_be_visible()
        screenshot(late, screenshots / "workshop-phone-choice-390.png")
        expect(projector.get_by_text("5 of 6 people have answered")).to_be_visible(timeout=30_000)
        projector.get_by_role("button", name="Reveal the answer").click()
        expect(projector.locator(".ws-answer")).to_have_text("It is rolled back automatically")
        expect(projector.get_by_text("Picked “It is rolled back automatically”: 4 of 5 guesses.")).to_be_visible()
        expect(late.locator(".wj-answer")).to_have_text("It is rolled back automatically", timeout=30_000)
        expect(late.get_by_text("(right)")).to_be_visible()
        expect(phones[4].get_by_text("You did not answer this one.")).to_be_visible(timeout=30_000)
        wait_for_app(late)
        expect(late.locator(".pt-chart").locator("svg.main-svg").first).to_be_visible()
        screenshot(late, screenshots / "workshop-phone-choice-reveal-390.png")
        wait_for_app(projector)
        screenshot(projector, screenshots / "workshop-projector-choice-1366.png")

        projector.get_by_role("button", name="Reset this act").click()         # a reset needs a second click
        projector.get_by_role("button", name="Remove the answers").click()
        expect(projector.get_by_text("The act was reset: every answer to it was removed.")).to_be_visible()
        expect(projector.get_by_text("0 of 6 people have answered")).to_be_visible()
        expect(late.get_by_role("button", name="Send my answer")).to_be_visible()   # the phones may answer again
        late.get_by_text("It is rolled back automatically").click()
        late.get_by_role("button", name="Send my answer").click()
        expect(late.get_by_text("Your answer: It is rolled back automatically")).to_be_visible()
        expect(projector.get_by_text("1 of 6 people have answered")).to_be_visible()
        projector.get_by_role("button", name="Reveal the answer").click()
        expect(projector.get_by_text("Picked “It is rolled back automatically”: 1 of 1 guess.")).to_be_visible()
        wait_for_app(projector)
        projector.get_by_role("button", name="Closing slide").click()
        expect(projector.get_by_text("What the room found")).to_be_visible()
        wait_for_app(projector)
        field = projector.get_by_label("What would the room decide?").first
        field.fill("Page a person at the first failed canary check")
        projector.get_by_role("button", name="Save").first.click()
        expect(projector.get_by_text("Saved.")).to_be_visible()
        wait_for_app(projector)
        expect(projector.get_by_label("What would the room decide?").first).to_have_value(
            "Page a person at the first failed canary check")
        expect(projector.get_by_text("Within 7 customers of it: 2 of 5 guesses", exact=False)).to_be_visible()
        expect(projector.get_by_text("Picked “It is rolled back automatically”: 1 of 1 guess.")).to_be_visible()
        expect(late.get_by_text("That was the last question")).to_be_visible(timeout=30_000)
        screenshot(projector, screenshots / "workshop-projector-closing-1366.png")
        for page in [projector, *phones, late]:
            expect(page.get_by_test_id("stException")).to_have_count(0)
    finally:
        expect.set_options(timeout=5_000)
        for ctx in contexts:
            ctx.close()
