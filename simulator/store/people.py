"""Roles given in the app by admins, and the actor a signed-in person becomes."""
from __future__ import annotations

import os

from sqlalchemy import select

from simulator.store.access import (
    LOCAL_USER,
    USER_ENV,
    Actor,
    Role,
    RoleRules,
    load_rules,
    local_actor,
    normalise_subject,
    resolve_role,
)
from simulator.store.audit import authorize, record
from simulator.store.db import Store
from simulator.store.models import RoleAssignment, utc_now


def assigned(store: Store) -> dict[str, Role]:
    """Subject ('ada@example.com' or '@example.com') -> role, as set in the app."""
    with store.sessions.begin() as session:
        return {r.subject: Role[r.role] for r in session.scalars(select(RoleAssignment))}


def assignments(store: Store) -> list[dict]:
    with store.sessions.begin() as session:
        rows = session.scalars(select(RoleAssignment).order_by(RoleAssignment.subject)).all()
        return [{"subject": r.subject, "role": r.role, "set_by": r.set_by, "set_at": r.set_at} for r in rows]


def actor_for(store: Store, email: str, name: str = "", rules: RoleRules | None = None) -> Actor:
    """The signed-in person with the role the app's assignments and the roles file give them."""
    email = email.strip().lower()
    role = resolve_role(email, rules if rules is not None else load_rules(), assigned(store))
    return Actor(email, name or email, role)


def cli_actor(store: Store) -> Actor:
    """The command line acts as $PIPELINE_TWIN_USER (with that person's role) or as the local user (admin)."""
    email = os.environ.get(USER_ENV, "").strip()
    if not email or email == LOCAL_USER:
        return local_actor()
    return actor_for(store, email)


def set_role(store: Store, actor: Actor, subject: str, role: Role) -> None:
    """Give an e-mail address or a whole domain a role (admins; not their own role, to avoid lock-outs)."""
    authorize(store, actor, "manage_roles", "role", subject)
    subject = normalise_subject(subject)
    if subject == actor.email:
        raise ValueError("you cannot change your own role; ask another admin")
    with store.writes.begin() as session:
        row = session.scalars(select(RoleAssignment).where(RoleAssignment.subject == subject)).first()
        before = row.role if row else "(from the roles file)"
        if row is None:
            session.add(RoleAssignment(subject=subject, role=role.name, set_by=actor.email))
        else:
            row.role, row.set_by, row.set_at = role.name, actor.email, utc_now()
        record(session, actor, "manage_roles", "role", subject, f"{before} -> {role.name}")


def remove_role(store: Store, actor: Actor, subject: str) -> None:
    """Drop an in-app assignment; the roles file applies again."""
    authorize(store, actor, "manage_roles", "role", subject)
    subject = normalise_subject(subject)
    with store.writes.begin() as session:
        row = session.scalars(select(RoleAssignment).where(RoleAssignment.subject == subject)).first()
        if row is None:
            raise LookupError(f"{subject} has no role assigned in the app")
        record(session, actor, "manage_roles", "role", subject, f"{row.role} -> (from the roles file)")
        session.delete(row)
