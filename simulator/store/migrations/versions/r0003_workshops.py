"""Workshop sessions: acts with their reveal and the room's decision, participants, answers.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "workshop_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(8), nullable=False, unique=True),
        sa.Column("workshop_name", sa.String(200), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("current_act", sa.Integer, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(320), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
    )
    op.create_table(
        "workshop_acts",
        sa.Column("session_id", sa.Integer, sa.ForeignKey("workshop_sessions.id"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("truth", sa.JSON, nullable=True),
        sa.Column("story", sa.JSON, nullable=True),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("revealed_at", TS, nullable=True),
    )
    op.create_table(
        "workshop_participants",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("workshop_sessions.id"), nullable=False, index=True),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("joined_at", TS, nullable=False),
        sa.UniqueConstraint("session_id", "name", name="uq_workshop_participant_name"),
    )
    op.create_table(
        "workshop_answers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("workshop_sessions.id"), nullable=False, index=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("participant_id", sa.Integer, sa.ForeignKey("workshop_participants.id"), nullable=False),
        sa.Column("number", sa.Float, nullable=True),
        sa.Column("choice", sa.String(120), nullable=True),
        sa.Column("answered_at", TS, nullable=False),
        sa.UniqueConstraint("participant_id", "position", name="uq_workshop_answer"),
    )


def downgrade() -> None:
    raise NotImplementedError("the store is never downgraded: restore a backup instead")
