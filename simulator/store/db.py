"""Where the store lives and how it is opened: engine, SQLite settings, migrations at startup.

``PIPELINE_TWIN_DATABASE_URL`` selects the database (``postgresql+psycopg://user@host/db`` or any
SQLAlchemy URL); without it a SQLite file ``pipeline_twin.db`` in the data folder is used
(``PIPELINE_TWIN_DATA_DIR``, default ``.data/`` at the project root). Per-request frames are
files in ``runs/`` under the data folder in either case.

Opening upgrades the schema to the newest revision this code knows, under a lock so that two
processes starting at once do not both migrate; a database migrated by newer code is refused.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

DATABASE_URL_ENV = "PIPELINE_TWIN_DATABASE_URL"
DATA_DIR_ENV = "PIPELINE_TWIN_DATA_DIR"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_FILE = "pipeline_twin.db"
MIGRATION_LOCK_ID = 7_420_151  # any constant: PostgreSQL advisory lock taken while migrating


class StoreError(Exception):
    """The store cannot be used as configured; the message says why and what to do."""


@dataclass
class Store:
    """An open store: the engine, session factories and the folder for frames.

    ``sessions`` is for reading; ``writes`` for changing: on SQLite its transactions take the write
    lock at BEGIN, so two writers queue instead of one failing half-way with 'database is locked'.
    """

    engine: Engine
    sessions: sessionmaker[Session]
    writes: sessionmaker[Session]
    data_dir: Path

    @property
    def frames_root(self) -> Path:
        return self.data_dir / "runs"

    @property
    def url_text(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()


def data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV) or PROJECT_ROOT / ".data")


def database_url(folder: Path | None = None) -> str:
    url = os.environ.get(DATABASE_URL_ENV, "").strip()
    if url:
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]  # psycopg 3, not the psycopg2 default
        return url
    return f"sqlite:///{(folder or data_dir()) / SQLITE_FILE}"


def _sqlite_settings(engine: Engine) -> None:
    """WAL (readers never block the writer), full fsync on commit, foreign keys, a wait instead of
    'database is locked', and transactions that SQLAlchemy controls (so DDL is transactional)."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15})
        _sqlite_settings(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _alembic_config(connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def known_revisions() -> tuple[set[str], str]:
    """Every revision this code ships and the newest one."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config(None))
    return {s.revision for s in script.walk_revisions()}, script.get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, target: str = "head") -> None:
    """Bring the schema to ``target`` (default: the newest); refuse a database newer than the code."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    known, head = known_revisions()
    conn = engine.connect().execution_options(sqlite_begin="IMMEDIATE")  # one migrator at a time on SQLite
    try:
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_ID})
            current = MigrationContext.configure(conn).get_current_revision()
            if current is not None and current not in known:
                raise StoreError(
                    f"The database has schema version {current}, which is newer than this code understands "
                    f"(it knows up to {head}). Update Pipeline Twin to the version that wrote it, or set "
                    f"{DATABASE_URL_ENV} to another database.")
            command.upgrade(_alembic_config(conn), target)
    finally:
        conn.close()


def open_store(url: str | None = None, folder: Path | None = None, migrate: bool = True) -> Store:
    """Open (and by default upgrade) the store. Raises StoreError with a readable message."""
    folder = Path(folder) if folder is not None else data_dir()
    url = url or database_url(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "runs").mkdir(exist_ok=True)
    except OSError as err:
        raise StoreError(f"Cannot create the data folder {folder}: {err.strerror}. Set {DATA_DIR_ENV} to a "
                         f"writable folder.") from None
    engine = make_engine(url)
    try:
        if migrate:
            upgrade(engine)
        elif current_revision(engine) != known_revisions()[1]:
            raise StoreError("The database schema is not up to date; open it once with migrations enabled.")
    except StoreError:
        engine.dispose()
        raise
    except Exception as err:  # a wrong URL, a server that is down, a missing driver
        engine.dispose()
        shown = engine.url.render_as_string(hide_password=True)
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise StoreError(f"Cannot open the database {shown}: {first}") from None
    return Store(engine, sessionmaker(engine, expire_on_commit=False),
                 sessionmaker(engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False), folder)
