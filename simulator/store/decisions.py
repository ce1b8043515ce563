"""Decisions: the question, the options weighed, the one chosen and why, with the runs behind it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from simulator.store.access import Actor
from simulator.store.audit import authorize, record
from simulator.store.db import Store
from simulator.store.models import Decision, DecisionRun, Run, utc_now

MAX_TEXT = 5000


@dataclass(frozen=True)
class DecisionInfo:
    id: int
    question: str
    options: list[str]
    chosen: str
    rationale: str
    author: str
    created_at: datetime
    runs: list[tuple[int, str]]  # (run id, label)


def _info(row: Decision) -> DecisionInfo:
    return DecisionInfo(row.id, row.question, list(row.options), row.chosen, row.rationale, row.author,
                        row.created_at, [(link.run_id, link.label) for link in row.runs])


def _text(value: str, field: str, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValueError(f"{field}: please write something here")
    if len(value) > MAX_TEXT:
        raise ValueError(f"{field}: at most {MAX_TEXT:,} characters; got {len(value):,}")
    return value


def write(store: Store, actor: Actor, question: str, options: list[str], chosen: str, rationale: str,
          runs: list[tuple[int, str]]) -> DecisionInfo:
    """Record a decision (analysts and admins). ``runs`` are (run id, label) pairs, e.g. (12, 'A: baseline')."""
    authorize(store, actor, "write_decision", "decision", "new")
    question = _text(question, "question")
    chosen = _text(chosen, "option chosen")
    rationale = _text(rationale, "rationale")
    options = [o for o in (_text(o, "option", required=False) for o in options) if o]
    if chosen not in options:
        options.append(chosen)
    with store.writes.begin() as session:
        for run_id, _ in runs:
            run = session.get(Run, run_id)
            if run is None or run.deleted_at is not None:
                raise LookupError(f"run #{run_id} does not exist (or was deleted)")
        row = Decision(question=question, options=options, chosen=chosen, rationale=rationale, author=actor.email,
                       runs=[DecisionRun(run_id=rid, position=i, label=label[:200]) for i, (rid, label) in
                             enumerate(runs)])
        session.add(row)
        session.flush()
        record(session, actor, "write_decision", "decision", row.id,
               f"{question[:120]} -> {chosen[:120]}" + (f" (runs {', '.join(f'#{r}' for r, _ in runs)})" if runs else ""))
        return _info(row)


def list_decisions(store: Store) -> list[DecisionInfo]:
    """Every decision, newest first."""
    with store.sessions.begin() as session:
        rows = session.scalars(select(Decision).where(Decision.deleted_at.is_(None)).order_by(Decision.id.desc())).all()
        return [_info(r) for r in rows]


def get(store: Store, decision_id: int) -> DecisionInfo:
    with store.sessions.begin() as session:
        row = session.get(Decision, decision_id)
        if row is None or row.deleted_at is not None:
            raise LookupError(f"decision #{decision_id} does not exist (or was deleted)")
        return _info(row)


def delete(store: Store, actor: Actor, decision_id: int) -> None:
    authorize(store, actor, "delete_decision", "decision", decision_id)
    with store.writes.begin() as session:
        row = session.get(Decision, decision_id)
        if row is None or row.deleted_at is not None:
            raise LookupError(f"decision #{decision_id} does not exist (or was deleted)")
        row.deleted_at, row.deleted_by = utc_now(), actor.email
        record(session, actor, "delete_decision", "decision", decision_id, row.question[:200])
