"""A real PostgreSQL server for the tests that need one (the storage suite, the dashboard on PostgreSQL).

The server is a throwaway cluster: ``initdb`` into a temporary folder, started on a free
loopback port, stopped and removed at the end of the session. PostgreSQL refuses to run as
root, so as root the cluster belongs to the ``postgres`` system user (Debian's package creates
it). Each test gets a database of its own. Loaded as a plugin by tests/conftest.py.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

PG_GLOB = "/usr/lib/postgresql/*/bin"


def _pg_bindir() -> Path | None:
    found = sorted(Path("/").glob(PG_GLOB.lstrip("/")), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return found[-1] if found and (found[-1] / "initdb").exists() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_owner(cmd: list[str], owner: dict, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **owner, **kw)


@pytest.fixture(scope="session")
def postgres_url():
    """A running PostgreSQL server: 'postgresql+psycopg://postgres@127.0.0.1:PORT'."""
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (make test installs Debian's postgresql package)")
    base = Path(tempfile.mkdtemp(prefix="pipeline-twin-pg-"))
    owner: dict = {}
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
        owner = {"user": "postgres", "group": "postgres", "extra_groups": []}
    data, log = base / "data", base / "server.log"
    port = _free_port()
    try:
        _as_owner([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                   "--no-sync"], owner, cwd=base)
        _as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
                   f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off", "start"], owner, cwd=base)
    except subprocess.CalledProcessError as err:
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"could not start PostgreSQL: {err.stderr or err.stdout}") from None
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, cwd=base, **owner)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def fresh_postgres(postgres_url):
    """The URL of a new, empty database on the test server (dropped afterwards)."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = postgres_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{postgres_url}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
