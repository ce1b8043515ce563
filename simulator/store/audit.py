"""The audit log: who did what to which object and when, allowed or refused.

:func:`record` adds an entry inside the caller's transaction, so an action and its entry are
committed together or not at all. :func:`authorize` checks a role and, on refusal, commits the
refusal in a transaction of its own before raising, so a refused attempt is never lost.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from simulator.common.csv_export import neutralize
from simulator.store.access import ACTIONS, Actor, PermissionDenied, refusal_text
from simulator.store.db import Store
from simulator.store.models import AuditEntry

COLUMNS = ["id", "at", "actor", "role", "action", "object_type", "object_id", "outcome", "detail"]


def record(session: Session, actor: Actor, action: str, object_type: str, object_id, detail: str = "",
           outcome: str = "ok") -> None:
    session.add(AuditEntry(actor=actor.email, role=actor.role.name, action=action, object_type=object_type,
                           object_id=str(object_id), outcome=outcome, detail=detail[:2000]))


def authorize(store: Store, actor: Actor, action: str, object_type: str, object_id, detail: str = "") -> None:
    """Raise PermissionDenied (after auditing the refusal) unless the actor's role allows ``action``."""
    if action not in ACTIONS:
        raise KeyError(f"unknown action {action!r}")
    if actor.can(action):
        return
    with store.writes.begin() as session:
        record(session, actor, action, object_type, object_id, detail, outcome="refused")
    raise PermissionDenied(refusal_text(actor, action))


def log_event(store: Store, actor: Actor, action: str, object_type: str, object_id, detail: str = "") -> None:
    """An allowed action that changes nothing in the store (a sign-in, a run that is not kept)."""
    authorize(store, actor, action, object_type, object_id, detail)
    with store.writes.begin() as session:
        record(session, actor, action, object_type, object_id, detail)


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 5000


def entries(store: Store, actor: Actor, flt: AuditFilter = AuditFilter()) -> list[dict]:
    """Audit entries, newest first (admins only; reading the log is itself audited)."""
    authorize(store, actor, "read_audit", "audit_log", "all")
    with store.writes.begin() as session:
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(flt.limit)
        if flt.actor:
            query = query.where(AuditEntry.actor == flt.actor)
        if flt.action:
            query = query.where(AuditEntry.action == flt.action)
        if flt.outcome:
            query = query.where(AuditEntry.outcome == flt.outcome)
        if flt.since:
            query = query.where(AuditEntry.at >= flt.since)
        if flt.until:
            query = query.where(AuditEntry.at < flt.until)
        rows = [{c: getattr(e, c) for c in COLUMNS} for e in session.scalars(query)]
        record(session, actor, "read_audit", "audit_log", "all", f"{len(rows)} entries shown")
    return rows


def distinct_values(store: Store, actor: Actor) -> tuple[list[str], list[str]]:
    """People and actions that occur in the log, for the filters (admins only)."""
    authorize(store, actor, "read_audit", "audit_log", "all")
    with store.sessions.begin() as session:
        people = sorted(session.scalars(select(AuditEntry.actor).distinct()))
        actions = sorted(session.scalars(select(AuditEntry.action).distinct()))
    return people, actions


def to_csv(rows: list[dict]) -> str:
    """The entries as CSV; cells that a spreadsheet would run as a formula are quoted with a leading ' (csv_export)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for row in rows:
        cells = {k: (row[k].isoformat() if isinstance(row[k], datetime) else row[k]) for k in COLUMNS}
        writer.writerow({k: neutralize(v) for k, v in cells.items()})
    return out.getvalue()
