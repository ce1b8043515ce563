"""Live workshop sessions in the database: acts, participants, answers and the room's decisions.

Facilitating (start, move between acts, reveal, reopen, reset, write the room's decisions, close)
needs the analyst or admin role; each of these functions checks the role and writes its audit entry
in the same transaction as the change. Participants sign in nowhere: a join code admits them and a
random token (kept in their page's address) is who they are. What a participant can read is
:func:`participant_view`: the current act's question, their own answer and, once revealed, the
answer and how the room guessed; nothing of other acts, no other participant's name.

Concurrency: every change runs in a write transaction (``BEGIN IMMEDIATE`` on SQLite, so writers
queue); on PostgreSQL the act's row is locked (``FOR UPDATE``) so an answer and a reveal never
interleave, and a unique key per participant and act turns a double submission into an update.
"""
from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from simulator.store.access import Actor
from simulator.store.audit import authorize, record
from simulator.store.db import Store
from simulator.store.models import WorkshopAct, WorkshopAnswer, WorkshopParticipant, WorkshopSession, utc_now
from simulator.workshop.answers import Truth, check_guess
from simulator.workshop.definition import Act, Workshop

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"   # no 0/O, 1/I/L: read from the back of a room
CODE_LENGTH = 6
NAME_CHARS = 40
DECISION_CHARS = 2000
MAX_PARTICIPANTS = 500


class WorkshopClosed(ValueError):
    """The session has ended (or never existed); the message says so in a participant's words."""


class NotOpen(ValueError):
    """An answer for an act that is revealed or no longer on screen."""


# --------------------------------------------------------------------------- reading helpers
def normalise_code(code: str) -> str:
    return "".join(c for c in str(code or "").upper() if c.isalnum())[:CODE_LENGTH + 2]


def _session(s: Session, code: str) -> WorkshopSession:
    row = s.scalars(select(WorkshopSession).where(WorkshopSession.code == normalise_code(code))).one_or_none()
    if row is None:
        raise LookupError(f"There is no workshop with the code {normalise_code(code) or '(empty)'}; check the code "
                          f"on the projector.")
    return row


def workshop_of(row: WorkshopSession) -> Workshop:
    return Workshop.model_validate(row.body)


def _acts(s: Session, session_id: int) -> list[WorkshopAct]:
    return list(s.scalars(select(WorkshopAct).where(WorkshopAct.session_id == session_id)
                          .order_by(WorkshopAct.position)))


def _guesses(s: Session, session_id: int, position: int) -> list[float | str]:
    rows = s.execute(select(WorkshopAnswer.number, WorkshopAnswer.choice).where(
        WorkshopAnswer.session_id == session_id, WorkshopAnswer.position == position).order_by(WorkshopAnswer.id))
    return [choice if choice is not None else float(number) for number, choice in rows]


def _truth(data: dict | None) -> Truth | None:
    return Truth(data["value"], data["shown"], data.get("choice")) if data else None


# --------------------------------------------------------------------------- facilitator
@dataclass(frozen=True)
class ActState:
    position: int
    status: str                      # open | revealed
    truth: Truth | None
    story: list[str]
    decision: str
    guesses: list[float | str]


@dataclass(frozen=True)
class SessionState:
    """Everything the facilitator's screen shows."""

    id: int
    code: str
    name: str
    workshop: Workshop
    current: int                      # == len(workshop.acts): the closing slide
    revision: int
    participants: int
    acts: list[ActState]
    created_by: str
    created_at: datetime
    closed_at: datetime | None

    @property
    def on_closing(self) -> bool:
        return self.current >= len(self.workshop.acts)


def _state(s: Session, row: WorkshopSession) -> SessionState:
    people = s.scalar(select(func.count()).select_from(WorkshopParticipant)
                      .where(WorkshopParticipant.session_id == row.id))
    acts = [ActState(a.position, a.status, _truth(a.truth), list(a.story or []), a.decision,
                     _guesses(s, row.id, a.position)) for a in _acts(s, row.id)]
    return SessionState(row.id, row.code, row.workshop_name, workshop_of(row), row.current_act, row.revision,
                        people or 0, acts, row.created_by, row.created_at, row.closed_at)


def _new_code(s: Session) -> str:
    for _ in range(50):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if s.scalar(select(func.count()).select_from(WorkshopSession).where(WorkshopSession.code == code)) == 0:
            return code
    raise RuntimeError("no free join code found")  # 31**6 codes: not reached in practice


def start(store: Store, actor: Actor, name: str, workshop: Workshop) -> SessionState:
    """A new session of ``workshop`` (its definition is copied, so editing the file later changes nothing)."""
    authorize(store, actor, "facilitate", "workshop", name)
    for attempt in range(3):
        try:
            with store.writes.begin() as s:
                row = WorkshopSession(code=_new_code(s), workshop_name=name[:200], title=workshop.title[:200],
                                      body=workshop.model_dump(mode="json"), current_act=0, revision=0,
                                      created_by=actor.email)
                s.add(row)
                s.flush()
                for position in range(len(workshop.acts)):
                    s.add(WorkshopAct(session_id=row.id, position=position, status="open", decision=""))
                record(s, actor, "facilitate", "workshop", row.code, f"started '{workshop.title[:120]}' ({name})")
                s.flush()
                return _state(s, row)
        except IntegrityError:  # two sessions drew the same code at the same instant
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def state(store: Store, actor: Actor, code: str) -> SessionState:
    """The facilitator's view of a session (analysts and admins)."""
    authorize(store, actor, "facilitate", "workshop", normalise_code(code))
    with store.sessions.begin() as s:
        return _state(s, _session(s, code))


def recent(store: Store, actor: Actor, limit: int = 20) -> list[tuple[str, str, datetime, bool]]:
    """(code, title, started, still open) of the latest sessions, newest first."""
    authorize(store, actor, "facilitate", "workshop", "list")
    with store.sessions.begin() as s:
        rows = s.scalars(select(WorkshopSession).order_by(WorkshopSession.id.desc()).limit(limit))
        return [(r.code, r.title, r.created_at, r.closed_at is None) for r in rows]


@dataclass
class _Target:
    s: Session
    row: WorkshopSession
    act: WorkshopAct | None


@contextlib.contextmanager
def _change(store: Store, actor: Actor, code: str, what: str, position: int | None = None):
    """A facilitator's write transaction: role checked, session (and act, locked) loaded, revision bumped
    and the action audited when the body succeeds; nothing is kept when it raises."""
    authorize(store, actor, "facilitate", "workshop", normalise_code(code), what)
    with store.writes.begin() as s:
        row = _session(s, code)
        if row.closed_at is not None:
            raise WorkshopClosed("This workshop has been closed.")
        act = None
        if position is not None:
            count = len(row.body["acts"])
            if not 0 <= position < count:
                raise ValueError(f"act: there are acts 1 to {count}; got {position + 1}")
            act = s.scalars(select(WorkshopAct).where(WorkshopAct.session_id == row.id,
                                                      WorkshopAct.position == position).with_for_update()).one()
        yield _Target(s, row, act)
        row.revision += 1
        record(s, actor, "facilitate", "workshop", row.code, what)


def go_to(store: Store, actor: Actor, code: str, position: int) -> None:
    """Show act ``position`` (0-based); the number of acts shows the closing slide."""
    with _change(store, actor, code, f"showed act {position + 1}") as c:
        count = len(c.row.body["acts"])
        if not 0 <= position <= count:
            raise ValueError(f"act: there are acts 1 to {count} and the closing slide; got {position + 1}")
        c.row.current_act = position


def reveal(store: Store, actor: Actor, code: str, position: int, truth: Truth, story: list[str]) -> None:
    """Close act ``position`` for answers and show the simulated answer with the scenario's story."""
    with _change(store, actor, code, f"revealed act {position + 1}: {truth.shown}", position) as c:
        c.act.status = "revealed"
        c.act.truth = {"value": truth.value, "shown": truth.shown, "choice": truth.choice}
        c.act.story = [str(p)[:4000] for p in story[:6]]
        c.act.revealed_at = utc_now()


def reopen(store: Store, actor: Actor, code: str, position: int) -> None:
    """Take the answer back off the screens and accept answers again (the guesses are kept)."""
    with _change(store, actor, code, f"reopened act {position + 1}", position) as c:
        c.act.status, c.act.truth, c.act.story, c.act.revealed_at = "open", None, None, None


def reset(store: Store, actor: Actor, code: str, position: int) -> int:
    """Reopen act ``position`` and remove every guess for it; returns how many were removed."""
    with _change(store, actor, code, f"reset act {position + 1}", position) as c:
        answers = list(c.s.scalars(select(WorkshopAnswer).where(WorkshopAnswer.session_id == c.row.id,
                                                                 WorkshopAnswer.position == position)))
        for answer in answers:
            c.s.delete(answer)
        c.act.status, c.act.truth, c.act.story, c.act.revealed_at = "open", None, None, None
        return len(answers)


def set_decision(store: Store, actor: Actor, code: str, position: int, text: str) -> None:
    """What the room would decide after act ``position`` (shown on the closing slide)."""
    text = (text or "").strip()
    if len(text) > DECISION_CHARS:
        raise ValueError(f"decision: at most {DECISION_CHARS:,} characters; got {len(text):,}")
    with _change(store, actor, code, f"wrote the room's decision for act {position + 1}: {text[:120]}", position) as c:
        c.act.decision = text


def close(store: Store, actor: Actor, code: str) -> None:
    """End the session: phones show that it is over; the facilitator can still read it."""
    with _change(store, actor, code, "closed the session") as c:
        c.row.closed_at = utc_now()
        c.row.current_act = len(c.row.body["acts"])


# --------------------------------------------------------------------------- participants
@dataclass(frozen=True)
class Joined:
    code: str
    token: str
    name: str


def join(store: Store, code: str, name: str) -> Joined:
    """Admit a participant by the join code; the token returned identifies them from now on."""
    name = " ".join(str(name or "").split())
    if not name:
        raise ValueError("Please type a name (a first name is enough).")
    if len(name) > NAME_CHARS:
        raise ValueError(f"Please use a name of at most {NAME_CHARS} characters.")
    try:
        with store.writes.begin() as s:
            row = _session(s, code)
            if row.closed_at is not None:
                raise WorkshopClosed("This workshop has ended.")
            count = s.scalar(select(func.count()).select_from(WorkshopParticipant)
                             .where(WorkshopParticipant.session_id == row.id))
            if count >= MAX_PARTICIPANTS:
                raise ValueError(f"This workshop is full ({MAX_PARTICIPANTS} people).")
            taken = s.scalar(select(func.count()).select_from(WorkshopParticipant).where(
                WorkshopParticipant.session_id == row.id, func.lower(WorkshopParticipant.name) == name.lower()))
            if taken:
                raise ValueError(f"Someone has already joined as “{name}”; please add an initial.")
            token = secrets.token_urlsafe(18)
            s.add(WorkshopParticipant(session_id=row.id, token=token, name=name))
            return Joined(row.code, token, name)
    except IntegrityError:  # the same name at the same instant
        raise ValueError(f"Someone has already joined as “{name}”; please add an initial.") from None


def _participant(s: Session, row: WorkshopSession, token: str) -> WorkshopParticipant:
    who = s.scalars(select(WorkshopParticipant).where(WorkshopParticipant.token == str(token or "")[:64],
                                                      WorkshopParticipant.session_id == row.id)).one_or_none()
    if who is None:
        raise LookupError("This phone has not joined this workshop yet.")
    return who


def answer(store: Store, code: str, token: str, position: int, guess: float | str) -> float | str:
    """Record (or replace) a participant's guess for the act on screen; NotOpen once it is revealed or gone."""
    for attempt in range(2):
        try:
            with store.writes.begin() as s:
                row = _session(s, code)
                if row.closed_at is not None:
                    raise WorkshopClosed("This workshop has ended.")
                who = _participant(s, row, token)
                if position != row.current_act:
                    raise NotOpen("The facilitator has moved on; here is the question on screen now.")
                act = s.scalars(select(WorkshopAct).where(WorkshopAct.session_id == row.id,
                                                          WorkshopAct.position == position).with_for_update()).one()
                if act.status != "open":
                    raise NotOpen("The answer has been revealed; answers are closed for this question.")
                value = check_guess(Act.model_validate(row.body["acts"][position]).answer, guess)
                number, choice = (None, value) if isinstance(value, str) else (value, None)
                mine = s.scalars(select(WorkshopAnswer).where(WorkshopAnswer.participant_id == who.id,
                                                              WorkshopAnswer.position == position)).one_or_none()
                if mine is None:
                    s.add(WorkshopAnswer(session_id=row.id, position=position, participant_id=who.id, number=number,
                                         choice=choice))
                else:
                    mine.number, mine.choice, mine.answered_at = number, choice, utc_now()
                return value
        except IntegrityError:  # the same participant's two submissions crossed (PostgreSQL): update instead
            if attempt == 1:
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class PublicView:
    """What a participant's phone may show: the current act only."""

    title: str
    name: str
    closed: bool
    on_closing: bool
    act_number: int                # 1-based
    act_count: int
    act: Act | None                # the act on screen (None on the closing slide)
    revealed: bool
    mine: float | str | None
    truth: Truth | None
    guesses: list[float | str]     # only once revealed, anonymous
    story: list[str]
    revision: int


def participant_view(store: Store, code: str, token: str) -> PublicView:
    with store.sessions.begin() as s:
        row = _session(s, code)
        who = _participant(s, row, token)
        workshop = workshop_of(row)
        count = len(workshop.acts)
        on_closing = row.current_act >= count
        act = None if on_closing else workshop.acts[row.current_act]
        revealed, mine, truth, guesses, story = False, None, None, [], []
        if act is not None:
            state_row = s.get(WorkshopAct, (row.id, row.current_act))
            revealed = state_row.status == "revealed"
            mine_row = s.execute(select(WorkshopAnswer.number, WorkshopAnswer.choice).where(
                WorkshopAnswer.participant_id == who.id, WorkshopAnswer.position == row.current_act)).one_or_none()
            if mine_row is not None:
                mine = mine_row.choice if mine_row.choice is not None else float(mine_row.number)
            if revealed:
                truth, story = _truth(state_row.truth), list(state_row.story or [])[:1]
                guesses = _guesses(s, row.id, row.current_act)
        return PublicView(row.title, who.name, row.closed_at is not None, on_closing, min(row.current_act, count - 1) + 1,
                          count, act, revealed, mine, truth, guesses, story, row.revision)


def pulse(store: Store, code: str) -> tuple[int, int, int]:
    """(revision, people joined, answers to the act on screen): the one cheap query the screens poll."""
    with store.sessions.begin() as s:
        row = _session(s, code)
        people = s.scalar(select(func.count()).select_from(WorkshopParticipant)
                          .where(WorkshopParticipant.session_id == row.id))
        answers = s.scalar(select(func.count()).select_from(WorkshopAnswer).where(
            WorkshopAnswer.session_id == row.id, WorkshopAnswer.position == row.current_act))
        return row.revision, people or 0, answers or 0
