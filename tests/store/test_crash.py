"""kill -9 while runs are being saved: every run reported saved is intact, no half-written run is listed.

A writer process keeps saving a large run (about 180,000 request rows, so most of its time is
spent writing Parquet files) and prints each id once the save returned. The test kills it with
SIGKILL at a random moment, several times, then opens the store as a restarted server would.
"""
from __future__ import annotations

import os
import pickle
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from simulator.runner import run
from simulator.scenario.config import load_scenario, with_overrides
from simulator.store import runs
from simulator.store.access import local_actor
from simulator.store.db import open_store
from simulator.store.frames import TMP_PREFIX
from tests.conftest import ROOT, SCENARIOS

WRITER = """
import pickle, sys
from simulator.store import runs
from simulator.store.access import local_actor
from simulator.store.db import open_store
url, folder, result_file = sys.argv[1:4]
with open(result_file, "rb") as fh:
    result = pickle.load(fh)
store = open_store(url, folder)
print("ready", flush=True)
n = 0
while True:
    info = runs.save_run(store, local_actor(), result, knobs={"n": n})
    print(f"saved {info.id}", flush=True)
    n += 1
"""
ROUNDS = 5


@pytest.fixture(scope="module")
def big_result_file(tmp_path_factory) -> tuple[Path, int]:
    sc = with_overrides(load_scenario(SCENARIOS / "baseline.yaml"),
                        {"duration_s": 600, "warmup_s": 30, "traffic.rate_per_s": 300})
    result = run(sc, 11)
    path = tmp_path_factory.mktemp("crash") / "result.pkl"
    path.write_bytes(pickle.dumps(result))
    return path, len(result.requests)


def _kill_while_writing(url: str, folder: Path, result_file: Path, rng: random.Random) -> list[int]:
    """Start the writer, kill -9 it at a random moment after its first save; the ids it reported saved."""
    proc = subprocess.Popen([sys.executable, "-c", WRITER, url, str(folder), str(result_file)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    first_saved = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            lines.append(line.strip())
            if line.startswith("saved "):
                first_saved.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if not first_saved.wait(120):  # at least one save per round is reported, then the kill comes at random
        proc.kill()
        raise RuntimeError(f"writer did not save anything: {proc.stderr.read()}")
    time.sleep(rng.uniform(0.0, 1.2))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    reader.join(5)
    return [int(line.split()[1]) for line in lines if line.startswith("saved ")]


def test_kill_minus_nine_while_saving_loses_nothing_committed(db_url, tmp_path, big_result_file):
    result_file, rows = big_result_file
    folder = tmp_path / "data"
    open_store(db_url, folder).close()  # migrated once, as a server start would
    rng = random.Random(20261204)
    reported: list[int] = []
    half_written: set[str] = set()  # folders a kill left behind mid-write
    for _ in range(ROUNDS):
        reported += _kill_while_writing(db_url, folder, result_file, rng)
        half_written |= {p.name for p in (folder / "runs").iterdir() if p.name.startswith(TMP_PREFIX)}
    killed_mid_write = len(half_written)
    assert len(reported) >= ROUNDS
    assert killed_mid_write >= 1, "no kill landed while files were being written"

    store = open_store(db_url, folder)  # the restart
    try:
        listed = runs.list_runs(store)
        listed_ids = {r.id for r in listed}
        assert set(reported) <= listed_ids
        for info in listed:  # every listed run is complete: all files present with their checksums
            opened = runs.open_run(store, info.id)
            assert opened.result().timeseries.shape[0] > 0
            assert len(runs.load_requests(store, local_actor(), info.id)) == rows
        if store.engine.dialect.name == "sqlite":
            with store.engine.connect() as conn:
                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        referenced = {runs_folder for runs_folder in _folders(store)}
        assert not any(name.startswith(TMP_PREFIX) for name in referenced)
        done = runs.prune(store, local_actor(), runs.Retention(), orphan_age_s=0)
        assert done["orphans_removed"] >= killed_mid_write
        assert sorted(p.name for p in (folder / "runs").iterdir()) == sorted(referenced)
    finally:
        store.close()


def _folders(store) -> list[str]:
    with store.sessions.begin() as s:
        return [r[0] for r in s.execute(text("SELECT frames_dir FROM runs WHERE deleted_at IS NULL"))]
