"""Saved scenarios: every version with its author, time and the change from the version before.

Saving is optimistic: the caller says which version the edit started from (0 for a new name).
When someone else saved a newer version meanwhile, the save is refused with a
:class:`VersionConflict` that carries both sides and their difference, and nothing is written;
the caller still holds the edit and may save it on top of the newer version. The unique
(name, version) constraint makes this hold even for two saves in the same instant.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from simulator.store.access import Actor
from simulator.store.audit import authorize, record
from simulator.store.db import Store
from simulator.store.diff import body_diff, content_hash
from simulator.store.models import ScenarioVersion, utc_now

MAX_NAME = 200


class VersionConflict(Exception):
    """Someone saved a newer version first. ``diff`` goes from theirs (``latest``) to the attempted body."""

    def __init__(self, name: str, expected: int, latest: VersionInfo, diff: list[dict]):
        super().__init__(f"'{name}' was saved as version {latest.version} by {latest.author} at "
                         f"{latest.created_at:%Y-%m-%d %H:%M} UTC while you were editing version {expected}; "
                         f"nothing was overwritten. Compare the changes and save again on top of version "
                         f"{latest.version} if yours should win.")
        self.name, self.expected, self.latest, self.diff = name, expected, latest, diff


@dataclass(frozen=True)
class VersionInfo:
    id: int
    name: str
    version: int
    author: str
    created_at: datetime
    note: str
    content_hash: str
    diff: list
    body: dict


def _info(row: ScenarioVersion) -> VersionInfo:
    return VersionInfo(row.id, row.name, row.version, row.author, row.created_at, row.note, row.content_hash,
                       row.diff, row.body)


def _latest(session: Session, name: str) -> ScenarioVersion | None:
    return session.scalars(select(ScenarioVersion).where(ScenarioVersion.name == name, ScenarioVersion.deleted_at.is_(None))
                           .order_by(ScenarioVersion.version.desc()).limit(1)).first()


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"name: 1 to {MAX_NAME} characters; got {len(name)}")
    return name


def save(store: Store, actor: Actor, name: str, body: dict, expected_version: int, note: str = "",
         action: str = "save_scenario") -> VersionInfo:
    """Save ``body`` as the next version of ``name`` if the latest version is still ``expected_version``."""
    name = _check_name(name)
    authorize(store, actor, action, "scenario", name)
    try:
        with store.writes.begin() as session:
            # one statement reads both numbers, so the number written is the one checked: a save that
            # started from the same version as another one collides with it on (name, version)
            top, live = session.execute(select(
                func.max(ScenarioVersion.version),
                func.max(case((ScenarioVersion.deleted_at.is_(None), ScenarioVersion.version))))
                .where(ScenarioVersion.name == name)).one()
            latest = _latest(session, name) if live else None
            if latest is None and expected_version:
                raise LookupError(f"'{name}' was deleted while you were editing version {expected_version}; "
                                  f"save it under another name, or again to start it afresh")
            if (live or 0) != expected_version:
                raise VersionConflict(name, expected_version, _info(latest), body_diff(latest.body, body))
            # numbers continue after deleted versions, so a number always means one body
            top = top or 0
            row = ScenarioVersion(name=name, version=top + 1, body=body, content_hash=content_hash(body),
                                  diff=body_diff(latest.body if latest else None, body), note=note.strip(),
                                  author=actor.email)
            session.add(row)
            session.flush()
            changed = len(row.diff)
            record(session, actor, action, "scenario", f"{name} v{row.version}",
                   (note.strip() + " · " if note.strip() else "") +
                   (f"{changed} field(s) changed from v{latest.version}" if latest else "first version"))
            return _info(row)
    except IntegrityError:
        # another save took the same number between our read and our insert
        with store.sessions.begin() as session:
            latest = _latest(session, name)
            raise VersionConflict(name, expected_version, _info(latest), body_diff(latest.body, body)) from None


def restore(store: Store, actor: Actor, version_id: int, expected_version: int) -> VersionInfo:
    """Save an old version's body again as the newest version (the history stays intact)."""
    old = get(store, version_id)
    return save(store, actor, old.name, old.body, expected_version, note=f"restored from v{old.version}",
                action="restore_scenario")


def get(store: Store, version_id: int) -> VersionInfo:
    with store.sessions.begin() as session:
        row = session.get(ScenarioVersion, version_id)
        if row is None or row.deleted_at is not None:
            raise LookupError(f"saved scenario version {version_id} does not exist (or was deleted)")
        return _info(row)


def latest(store: Store, name: str) -> VersionInfo | None:
    with store.sessions.begin() as session:
        row = _latest(session, name)
        return _info(row) if row else None


def find_by_hash(store: Store, digest: str) -> VersionInfo | None:
    """The newest saved version with exactly this body, if any."""
    with store.sessions.begin() as session:
        row = session.scalars(select(ScenarioVersion).where(ScenarioVersion.content_hash == digest,
                                                            ScenarioVersion.deleted_at.is_(None))
                              .order_by(ScenarioVersion.id.desc()).limit(1)).first()
        return _info(row) if row else None


def names(store: Store) -> list[VersionInfo]:
    """The latest version of every saved scenario, most recently saved first."""
    with store.sessions.begin() as session:
        rows = session.scalars(select(ScenarioVersion).where(ScenarioVersion.deleted_at.is_(None))
                               .order_by(ScenarioVersion.name, ScenarioVersion.version.desc())).all()
    newest: dict[str, ScenarioVersion] = {}
    for row in rows:
        newest.setdefault(row.name, row)
    return sorted((_info(r) for r in newest.values()), key=lambda v: v.created_at, reverse=True)


def versions(store: Store, name: str) -> list[VersionInfo]:
    """Every version of ``name``, newest first."""
    with store.sessions.begin() as session:
        rows = session.scalars(select(ScenarioVersion).where(ScenarioVersion.name == name,
                                                             ScenarioVersion.deleted_at.is_(None))
                               .order_by(ScenarioVersion.version.desc())).all()
        return [_info(r) for r in rows]


def delete(store: Store, actor: Actor, name: str) -> int:
    """Delete every version of ``name`` (admins). Rows stay, marked deleted, so runs keep their link."""
    authorize(store, actor, "delete_scenario", "scenario", name)
    with store.writes.begin() as session:
        rows = session.scalars(select(ScenarioVersion).where(ScenarioVersion.name == name,
                                                             ScenarioVersion.deleted_at.is_(None))).all()
        if not rows:
            raise LookupError(f"no saved scenario is called '{name}'")
        now = utc_now()
        for row in rows:
            row.deleted_at, row.deleted_by = now, actor.email
        record(session, actor, "delete_scenario", "scenario", name, f"{len(rows)} version(s)")
        return len(rows)
