"""The CLI's --save and history command, as a user types them (store in a temporary data folder)."""
from __future__ import annotations

import json

import pytest

from simulator.cli.main import main
from simulator.scenario.config import load_scenario, scenario_to_yaml, with_overrides
from tests.conftest import SCENARIOS


@pytest.fixture
def small(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_TWIN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("PIPELINE_TWIN_DATABASE_URL", raising=False)
    monkeypatch.delenv("PIPELINE_TWIN_USER", raising=False)
    sc = with_overrides(load_scenario(SCENARIOS / "baseline.yaml"),
                        {"duration_s": 120, "warmup_s": 10, "traffic.rate_per_s": 40})
    path = tmp_path / "small.yaml"
    path.write_text(scenario_to_yaml(sc), encoding="utf-8")
    return str(path)


def test_run_save_then_history_lists_and_shows_it(small, capsys):
    assert main(["run", small, "--seed", "5", "--set", "inference.replicas=3", "--save"]) == 0
    out = capsys.readouterr().out
    assert "kept as run #1 in the history" in out
    assert main(["history", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["id"], row["kind"], row["seed"], row["author"]) == (1, "run", 5, "local")
    assert row["scenario"] == "small"  # the file's name, not its path
    assert row["knobs"] == {"inference.replicas": 3, "seed": 5}
    assert row["per_request_rows_kept"] is True
    assert main(["history"]) == 0
    listing = capsys.readouterr().out
    assert "inference.replicas=3" in listing and "1 shown" in listing
    assert main(["history", "--show", "1"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("run #1: kept by local") and "seed 5" in shown


def test_a_viewer_cannot_save_from_the_cli_and_the_attempt_is_audited(small, tmp_path, monkeypatch, capsys):
    roles = tmp_path / "roles.yaml"
    roles.write_text("default: viewer\n")
    monkeypatch.setenv("PIPELINE_TWIN_ROLES", str(roles))
    monkeypatch.setenv("PIPELINE_TWIN_USER", "vera@example.com")
    assert main(["run", small, "--save"]) == 2
    err = capsys.readouterr().err
    assert err.strip().endswith("This attempt was recorded in the audit log.")
    assert "vera@example.com is a viewer" in err
    monkeypatch.delenv("PIPELINE_TWIN_USER")
    from simulator.store import audit
    from simulator.store.access import local_actor
    from simulator.store.db import open_store

    store = open_store()
    try:
        [entry] = audit.entries(store, local_actor(), audit.AuditFilter(outcome="refused"))
        assert (entry["actor"], entry["action"]) == ("vera@example.com", "save_run")
    finally:
        store.close()


@pytest.mark.parametrize("argv, message", [
    (["history", "--since", "2026-13-01"], "--since: expected a date like 2026-12-04; got '2026-13-01'"),
    (["history", "--show", "42"], "--show: run #42 does not exist (or was deleted)"),
    (["history", "--limit", "0"], "--limit: must be ≥ 1; got 0"),
])
def test_bad_history_input_is_one_line_and_exit_2(small, capsys, argv, message):
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == f"error: {message}"


def test_a_newer_database_is_refused_with_a_clear_line(small, capsys):
    from sqlalchemy import text

    from simulator.store.db import open_store

    store = open_store()
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    store.close()
    assert main(["history"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --save/history: The database has schema version 0099, which is newer")
    assert len(err.splitlines()) == 1
