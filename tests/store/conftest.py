"""The storage suite runs on SQLite and on a real PostgreSQL server (tests/postgres.py starts it)."""
from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("fresh_postgres")


@pytest.fixture
def store(db_url, tmp_path):
    from simulator.store.db import open_store

    opened = open_store(db_url, tmp_path / "data")
    yield opened
    opened.close()
