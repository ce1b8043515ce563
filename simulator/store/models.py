"""Tables of the store (SQLAlchemy 2). The migrations in ``migrations/versions`` create them.

Nothing is ever updated in place except soft deletes: a scenario edit is a new version row, a
deleted object keeps its row with ``deleted_at`` set, and the audit log refuses updates and
deletes in the database itself (triggers).
"""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Timestamps stored in UTC and read back as aware datetimes (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class ScenarioVersion(Base):
    """One saved version of a named scenario: the full body and the change from the version before."""

    __tablename__ = "scenario_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_scenario_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    diff: Mapped[list] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_by: Mapped[str | None] = mapped_column(String(320), nullable=True)


class Run(Base):
    """A finished simulation (or a comparison or plan): its inputs, headline results and frames on disk."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="run")  # run | comparison | plan
    scenario_name: Mapped[str] = mapped_column(String(200), index=True)
    scenario_version_id: Mapped[int | None] = mapped_column(ForeignKey("scenario_versions.id"), nullable=True)
    scenario_hash: Mapped[str] = mapped_column(String(64), index=True)
    scenario: Mapped[dict] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(BigInteger)
    knobs: Mapped[dict] = mapped_column(JSON)
    code_version: Mapped[str] = mapped_column(String(80))
    summary: Mapped[dict] = mapped_column(JSON)
    findings: Mapped[list | dict | None] = mapped_column(JSON, nullable=True)
    author: Mapped[str] = mapped_column(String(320), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)
    wall_s: Mapped[float] = mapped_column(Float)
    frames_dir: Mapped[str | None] = mapped_column(String(200), nullable=True)
    frames: Mapped[dict] = mapped_column(JSON)  # file name -> {"bytes": n, "sha256": hex}
    requests_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_by: Mapped[str | None] = mapped_column(String(320), nullable=True)

    version: Mapped[ScenarioVersion | None] = relationship()


class Decision(Base):
    """What was decided, between which runs, and why: the product's answer to 'decisions, not predictions'."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    options: Mapped[list] = mapped_column(JSON)
    chosen: Mapped[str] = mapped_column(Text)
    rationale: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_by: Mapped[str | None] = mapped_column(String(320), nullable=True)

    runs: Mapped[list[DecisionRun]] = relationship(order_by="DecisionRun.position", cascade="all, delete-orphan")


class DecisionRun(Base):
    __tablename__ = "decision_runs"

    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(200))


class RoleAssignment(Base):
    """A role given in the app by an admin, to one e-mail address or to a whole domain ('@example.com')."""

    __tablename__ = "role_assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    set_by: Mapped[str] = mapped_column(String(320))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class AuditEntry(Base):
    """Who did what to which object, when, and whether it was allowed. Append-only."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)
    actor: Mapped[str] = mapped_column(String(320), index=True)
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(10))  # ok | refused
    detail: Mapped[str] = mapped_column(Text, default="")


# --------------------------------------------------------------------------- workshops (migration 0003)
class WorkshopSession(Base):
    """A workshop being run: its definition as it was started, the act on screen and a join code.

    ``revision`` grows with every facilitator action, so a participant's phone polls one number."""

    __tablename__ = "workshop_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    workshop_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[dict] = mapped_column(JSON)
    current_act: Mapped[int] = mapped_column(Integer, default=0)  # == number of acts: the closing slide
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WorkshopAct(Base):
    """One act of a session: open for answers or revealed, with the simulated answer and its story."""

    __tablename__ = "workshop_acts"

    session_id: Mapped[int] = mapped_column(ForeignKey("workshop_sessions.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | revealed
    truth: Mapped[dict | None] = mapped_column(JSON, nullable=True)   # {"value", "shown", "choice"}
    story: Mapped[list | None] = mapped_column(JSON, nullable=True)   # paragraphs shown with the reveal
    decision: Mapped[str] = mapped_column(Text, default="")           # what the room would do, typed by the facilitator
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WorkshopParticipant(Base):
    """Someone who joined from a phone: a display name and a secret token kept in their page's address."""

    __tablename__ = "workshop_participants"
    __table_args__ = (UniqueConstraint("session_id", "name", name="uq_workshop_participant_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("workshop_sessions.id"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(40))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class WorkshopAnswer(Base):
    """A participant's guess for one act (one row per participant and act; a new guess replaces it)."""

    __tablename__ = "workshop_answers"
    __table_args__ = (UniqueConstraint("participant_id", "position", name="uq_workshop_answer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("workshop_sessions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    participant_id: Mapped[int] = mapped_column(ForeignKey("workshop_participants.id"))
    number: Mapped[float | None] = mapped_column(Float, nullable=True)
    choice: Mapped[str | None] = mapped_column(String(120), nullable=True)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
