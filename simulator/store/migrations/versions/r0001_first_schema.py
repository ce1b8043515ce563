"""First schema: saved scenario versions, runs, and the append-only audit log.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scenario_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False, index=True),
        sa.Column("diff", sa.JSON, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("author", sa.String(320), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("deleted_at", TS, nullable=True),
        sa.Column("deleted_by", sa.String(320), nullable=True),
        sa.UniqueConstraint("name", "version", name="uq_scenario_name_version"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("scenario_name", sa.String(200), nullable=False, index=True),
        sa.Column("scenario_version_id", sa.Integer, sa.ForeignKey("scenario_versions.id"), nullable=True),
        sa.Column("scenario_hash", sa.String(64), nullable=False, index=True),
        sa.Column("scenario", sa.JSON, nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("knobs", sa.JSON, nullable=False),
        sa.Column("code_version", sa.String(80), nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("author", sa.String(320), nullable=False, index=True),
        sa.Column("created_at", TS, nullable=False, index=True),
        sa.Column("wall_s", sa.Float, nullable=False),
        sa.Column("frames_dir", sa.String(200), nullable=True),
        sa.Column("frames", sa.JSON, nullable=False),
        sa.Column("requests_purged_at", TS, nullable=True),
        sa.Column("deleted_at", TS, nullable=True),
        sa.Column("deleted_by", sa.String(320), nullable=True),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", TS, nullable=False, index=True),
        sa.Column("actor", sa.String(320), nullable=False, index=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("action", sa.String(40), nullable=False, index=True),
        sa.Column("object_type", sa.String(40), nullable=False),
        sa.Column("object_id", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    # append-only, enforced by the database for every client, not only by the app
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END; $$")
        op.execute("CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")
        op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                       f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END")


def downgrade() -> None:
    raise NotImplementedError("the store is never downgraded: restore a backup instead")
