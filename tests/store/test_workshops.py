"""Workshop sessions in the store, on SQLite and PostgreSQL: roles and the audit log for facilitators, a
participant's view limited to the act on screen, answers that survive a reload, reveal/reopen/reset, and
many participants answering at the same instant. Expected values are written out by hand."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from simulator.store import workshops
from simulator.store.access import Actor, PermissionDenied, Role
from simulator.workshop.answers import Truth
from simulator.workshop.definition import Workshop

VIEWER = Actor("vera@example.com", "Vera", Role.viewer)
ANALYST = Actor("anna@example.com", "Anna", Role.analyst)

WORKSHOP = Workshop.model_validate({
    "title": "Two acts", "minutes": 20,
    "acts": [
        {"title": "Canary", "scenario": "bad_canary", "minutes": 8, "question": "How many customers get an error?",
         "answer": {"kind": "number", "measure": "requests.failed", "unit": "customers", "guess_max": 1000}},
        {"title": "Outcome", "scenario": "bad_canary", "minutes": 8, "question": "What happens to the release?",
         "answer": {"kind": "choice", "measure": "canary.outcome", "choices": [
             {"label": "Promoted", "equals": "promoted"}, {"label": "Rolled back", "equals": "rolled_back"}]}},
    ]})
RIGHT = Truth(74.0, "74 customers", None)


def audit_rows(store) -> list[tuple]:
    with store.sessions.begin() as s:
        return [tuple(r) for r in s.execute(text(
            "SELECT actor, action, outcome, detail FROM audit_log WHERE object_type = 'workshop' ORDER BY id"))]


def test_only_analysts_and_admins_facilitate_and_every_action_is_audited(store):
    with pytest.raises(PermissionDenied, match="Only analysts and admins can run workshops"):
        workshops.start(store, VIEWER, "two", WORKSHOP)
    session = workshops.start(store, ANALYST, "two", WORKSHOP)
    assert len(session.code) == 6 and set(session.code) <= set(workshops.CODE_ALPHABET)
    with pytest.raises(PermissionDenied):
        workshops.reveal(store, VIEWER, session.code, 0, RIGHT, ["story"])
    with pytest.raises(PermissionDenied):
        workshops.state(store, VIEWER, session.code)
    workshops.reveal(store, ANALYST, session.code, 0, RIGHT, ["The canary was rolled back."])
    workshops.go_to(store, ANALYST, session.code, 1)
    rows = audit_rows(store)
    assert rows == [
        ("vera@example.com", "facilitate", "refused", ""),
        ("anna@example.com", "facilitate", "ok", "started 'Two acts' (two)"),
        ("vera@example.com", "facilitate", "refused", "revealed act 1: 74 customers"),
        ("vera@example.com", "facilitate", "refused", ""),
        ("anna@example.com", "facilitate", "ok", "revealed act 1: 74 customers"),
        ("anna@example.com", "facilitate", "ok", "showed act 2"),
    ]


def test_a_participant_answers_keeps_it_after_a_reload_and_sees_the_reveal(store):
    code = workshops.start(store, ANALYST, "two", WORKSHOP).code
    ada = workshops.join(store, code.lower(), "  Ada   Lovelace ")     # typed code in lower case, name tidied
    assert ada.name == "Ada Lovelace"
    bob = workshops.join(store, code, "Bob")
    with pytest.raises(ValueError, match="already joined as “ada lovelace”"):
        workshops.join(store, code, "ada lovelace")
    with pytest.raises(LookupError, match="no workshop with the code"):
        workshops.join(store, "ZZZZZZ", "Cy")

    view = workshops.participant_view(store, code, ada.token)
    assert (view.act_number, view.act_count, view.act.title, view.revealed, view.mine) == (1, 2, "Canary", False, None)
    assert workshops.answer(store, code, ada.token, 0, "60") == 60.0
    assert workshops.answer(store, code, ada.token, 0, 70) == 70.0          # a new guess replaces the first
    workshops.answer(store, code, bob.token, 0, 500)
    with pytest.raises(ValueError, match="Type a number from 0 to 1,000."):
        workshops.answer(store, code, bob.token, 0, 5000)
    reloaded = workshops.participant_view(store, code, ada.token)           # the same token: the same person
    assert (reloaded.mine, reloaded.guesses, reloaded.truth) == (70.0, [], None)   # no one else's guess before
    assert workshops.pulse(store, code)[1:] == (2, 2)

    workshops.reveal(store, ANALYST, code, 0, RIGHT, ["The canary was rolled back.", "second paragraph"])
    with pytest.raises(workshops.NotOpen, match="answers are closed"):
        workshops.answer(store, code, ada.token, 0, 74)
    after = workshops.participant_view(store, code, ada.token)
    assert (after.revealed, after.truth, after.mine, sorted(after.guesses)) == (True, RIGHT, 70.0, [70.0, 500.0])
    assert after.story == ["The canary was rolled back."]                   # the headline only

    late = workshops.join(store, code, "Cy")                                # a late joiner sees the act on screen
    assert workshops.participant_view(store, code, late.token).act.title == "Canary"
    workshops.go_to(store, ANALYST, code, 1)
    late_view = workshops.participant_view(store, code, late.token)
    assert (late_view.act_number, late_view.act.title, late_view.mine, late_view.revealed) == (2, "Outcome", None,
                                                                                                False)
    with pytest.raises(workshops.NotOpen, match="moved on"):
        workshops.answer(store, code, ada.token, 0, 74)
    with pytest.raises(ValueError, match="Pick one of the choices."):
        workshops.answer(store, code, late.token, 1, "Exploded")
    assert workshops.answer(store, code, late.token, 1, "Rolled back") == "Rolled back"
    with pytest.raises(LookupError, match="has not joined"):
        workshops.participant_view(store, code, "forged-token")


def test_reopen_keeps_the_guesses_reset_removes_them(store):
    code = workshops.start(store, ANALYST, "two", WORKSHOP).code
    people = [workshops.join(store, code, name) for name in ("A", "B", "C")]
    for person, guess in zip(people, (10, 20, 30)):
        workshops.answer(store, code, person.token, 0, guess)
    workshops.reveal(store, ANALYST, code, 0, RIGHT, [])
    workshops.reopen(store, ANALYST, code, 0)
    state = workshops.state(store, ANALYST, code)
    assert (state.acts[0].status, state.acts[0].truth, sorted(state.acts[0].guesses)) == ("open", None,
                                                                                          [10.0, 20.0, 30.0])
    workshops.answer(store, code, people[0].token, 0, 74)                   # answering is open again
    assert workshops.reset(store, ANALYST, code, 0) == 3
    state = workshops.state(store, ANALYST, code)
    assert (state.acts[0].guesses, state.participants) == ([], 3)
    assert workshops.participant_view(store, code, people[0].token).mine is None


def test_the_closing_slide_decisions_and_a_closed_session(store):
    code = workshops.start(store, ANALYST, "two", WORKSHOP).code
    ada = workshops.join(store, code, "Ada")
    workshops.set_decision(store, ANALYST, code, 0, "  Keep the canary; alert a person at the first failed check. ")
    workshops.go_to(store, ANALYST, code, 2)                                 # two acts: position 2 is the closing
    state = workshops.state(store, ANALYST, code)
    assert state.on_closing and state.acts[0].decision == "Keep the canary; alert a person at the first failed check."
    view = workshops.participant_view(store, code, ada.token)
    assert (view.on_closing, view.act, view.closed) == (True, None, False)
    with pytest.raises(ValueError, match="acts 1 to 2 and the closing slide; got 4"):
        workshops.go_to(store, ANALYST, code, 3)
    with pytest.raises(ValueError, match="at most 2,000 characters"):
        workshops.set_decision(store, ANALYST, code, 0, "x" * 2001)
    workshops.close(store, ANALYST, code)
    assert workshops.participant_view(store, code, ada.token).closed
    with pytest.raises(workshops.WorkshopClosed):
        workshops.join(store, code, "Late")
    with pytest.raises(workshops.WorkshopClosed):
        workshops.go_to(store, ANALYST, code, 0)
    assert [c for c, *_ in workshops.recent(store, ANALYST)] == [code]


def test_many_participants_join_and_answer_at_the_same_instant(store):
    code = workshops.start(store, ANALYST, "two", WORKSHOP).code
    start = threading.Barrier(16)
    errors: list[BaseException] = []
    tokens: list[str] = []

    def participant(i: int) -> None:
        try:
            start.wait()
            joined = workshops.join(store, code, f"P{i}")
            tokens.append(joined.token)
            workshops.answer(store, code, joined.token, 0, i)
            workshops.answer(store, code, joined.token, 0, i + 100)        # and change their mind
        except BaseException as err:  # noqa: BLE001 - the test reports any failure below
            errors.append(err)

    threads = [threading.Thread(target=participant, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    state = workshops.state(store, ANALYST, code)
    assert state.participants == 16
    assert sorted(state.acts[0].guesses) == [float(i + 100) for i in range(16)]

    same = threading.Barrier(2)                                              # one person, two taps at once

    def tap(value: int) -> None:
        same.wait()
        workshops.answer(store, code, tokens[0], 0, value)

    taps = [threading.Thread(target=tap, args=(v,)) for v in (1, 2)]
    for t in taps:
        t.start()
    for t in taps:
        t.join()
    assert len(workshops.state(store, ANALYST, code).acts[0].guesses) == 16


def test_a_reveal_during_a_burst_of_answers_counts_each_accepted_answer_once(store):
    code = workshops.start(store, ANALYST, "two", WORKSHOP).code
    people = [workshops.join(store, code, f"P{i}") for i in range(12)]
    accepted, refused = [], []
    go = threading.Barrier(13)

    def answer(person) -> None:
        go.wait()
        try:
            workshops.answer(store, code, person.token, 0, 5)
            accepted.append(person.name)
        except workshops.NotOpen:
            refused.append(person.name)

    threads = [threading.Thread(target=answer, args=(p,)) for p in people]
    for t in threads:
        t.start()
    go.wait()
    workshops.reveal(store, ANALYST, code, 0, RIGHT, [])
    for t in threads:
        t.join()
    assert len(accepted) + len(refused) == 12
    assert len(workshops.state(store, ANALYST, code).acts[0].guesses) == len(accepted)


def test_a_started_session_keeps_its_own_copy_of_the_workshop(store, tmp_path: Path):
    code = workshops.start(store, ANALYST, "two", WORKSHOP).code
    state = workshops.state(store, ANALYST, code)
    assert state.workshop == WORKSHOP and state.name == "two" and state.current == 0
