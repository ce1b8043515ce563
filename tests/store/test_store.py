"""The store on SQLite and PostgreSQL: migrations, versions and conflicts, roles and the audit log,
runs and their frames, retention, decisions. Expected values are written out by hand."""
from __future__ import annotations

import threading
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import inspect, text

from simulator.report.findings import findings
from simulator.runner import run
from simulator.store import audit, decisions, people, runs, scenarios
from simulator.store.access import Actor, PermissionDenied, Role, local_actor
from simulator.store.db import StoreError, current_revision, make_engine, open_store, upgrade
from simulator.store.frames import DamagedFrames

VIEWER = Actor("vera@example.com", "Vera", Role.viewer)
ANALYST = Actor("anna@example.com", "Anna", Role.analyst)
ADMIN = Actor("adam@example.com", "Adam", Role.admin)


def refused(store, actor: str, action: str) -> int:
    with store.sessions.begin() as s:
        return s.execute(text("SELECT count(*) FROM audit_log WHERE actor = :a AND action = :b AND outcome = 'refused'"),
                         {"a": actor, "b": action}).scalar()


def log_rows(store) -> list[tuple]:
    with store.sessions.begin() as s:
        return [tuple(r) for r in s.execute(text("SELECT actor, action, object_id, outcome FROM audit_log ORDER BY id"))]


# --------------------------------------------------------------------------- migrations
def test_an_empty_database_is_migrated_to_the_newest_schema(store):
    assert current_revision(store.engine) == "0003"
    tables = set(inspect(store.engine).get_table_names())
    assert {"scenario_versions", "runs", "decisions", "decision_runs", "role_assignments", "audit_log",
            "alembic_version"} <= tables
    assert "findings" in {c["name"] for c in inspect(store.engine).get_columns("runs")}


def test_the_previous_schema_is_upgraded_and_its_data_kept(db_url, tmp_path):
    engine = make_engine(db_url)
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    assert "decisions" not in inspect(engine).get_table_names()
    with engine.begin() as conn:  # rows as the first release wrote them
        conn.execute(text("INSERT INTO scenario_versions (id, name, version, body, content_hash, diff, note, author, "
                          "created_at) VALUES (1, 'old', 1, '{\"seed\": 1}', 'h', '[]', '', 'x@example.com', "
                          "'2026-01-02 03:04:05+00:00')"))
        conn.execute(text("INSERT INTO runs (id, kind, scenario_name, scenario_version_id, scenario_hash, scenario, "
                          "seed, knobs, code_version, summary, author, created_at, wall_s, frames) VALUES (7, 'run', "
                          "'old', 1, 'h', '{\"seed\": 1}', 5, '{}', '0.0.1', '{\"throughput_rps\": 3.5}', "
                          "'x@example.com', '2026-01-02 03:04:05+00:00', 1.5, '{}')"))
    engine.dispose()
    store = open_store(db_url, tmp_path / "data")
    try:
        assert current_revision(store.engine) == "0003"
        [version] = scenarios.versions(store, "old")
        assert (version.version, version.body, version.author) == (1, {"seed": 1}, "x@example.com")
        assert version.created_at.isoformat() == "2026-01-02T03:04:05+00:00"
        [kept] = runs.list_runs(store)
        assert (kept.id, kept.seed, kept.summary, kept.findings, kept.saved_version) == (7, 5, {"throughput_rps": 3.5},
                                                                                       None, "old v1")
        note = decisions.write(store, ANALYST, "Keep it?", ["yes", "no"], "yes", "It works.", [(7, "the old run")])
        assert decisions.get(store, note.id).runs == [(7, "the old run")]
    finally:
        store.close()


def test_a_database_newer_than_the_code_is_refused(store, db_url, tmp_path):
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    store.close()
    with pytest.raises(StoreError, match="schema version 0099, which is newer than this code understands"):
        open_store(db_url, tmp_path / "data")


# --------------------------------------------------------------------------- scenarios
def test_versions_keep_author_diff_and_restore(store):
    v1 = scenarios.save(store, ANALYST, "peak", {"traffic": {"rate_per_s": 50}, "seed": 1}, 0, note="first try")
    v2 = scenarios.save(store, ADMIN, "peak", {"traffic": {"rate_per_s": 80}, "seed": 1}, 1)
    assert (v1.version, v1.diff, v1.author) == (1, [], "anna@example.com")
    assert (v2.version, v2.author) == (2, "adam@example.com")
    assert v2.diff == [{"path": "traffic.rate_per_s", "before": 50, "after": 80}]
    v3 = scenarios.restore(store, ANALYST, v1.id, expected_version=2)
    assert (v3.version, v3.body, v3.note) == (3, v1.body, "restored from v1")
    assert v3.diff == [{"path": "traffic.rate_per_s", "before": 80, "after": 50}]
    assert [v.version for v in scenarios.versions(store, "peak")] == [3, 2, 1]
    assert scenarios.find_by_hash(store, v1.content_hash).version == 3  # newest with that body


def test_a_stale_save_is_refused_with_the_difference_and_nothing_is_written(store):
    scenarios.save(store, ANALYST, "peak", {"replicas": 4, "rate": 50}, 0)
    scenarios.save(store, ADMIN, "peak", {"replicas": 6, "rate": 50}, 1)
    with pytest.raises(scenarios.VersionConflict) as caught:
        scenarios.save(store, ANALYST, "peak", {"replicas": 4, "rate": 90}, 1)
    err = caught.value
    assert (err.latest.version, err.latest.author) == (2, "adam@example.com")
    assert err.diff == [{"path": "rate", "before": 50, "after": 90}, {"path": "replicas", "before": 6, "after": 4}]
    assert [v.version for v in scenarios.versions(store, "peak")] == [2, 1]


def test_two_people_saving_the_same_version_at_once(store):
    scenarios.save(store, ADMIN, "shared", {"replicas": 4}, 0)
    start = threading.Barrier(2)
    outcome: dict[str, object] = {}

    def save(who: Actor, replicas: int) -> None:
        start.wait()
        try:
            outcome[who.email] = scenarios.save(store, who, "shared", {"replicas": replicas}, 1)
        except scenarios.VersionConflict as err:
            outcome[who.email] = err

    threads = [threading.Thread(target=save, args=(ANALYST, 6)), threading.Thread(target=save, args=(ADMIN, 8))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    conflicts = [v for v in outcome.values() if isinstance(v, scenarios.VersionConflict)]
    saved = [v for v in outcome.values() if isinstance(v, scenarios.VersionInfo)]
    assert len(conflicts) == 1 and len(saved) == 1
    winner, loser = saved[0], conflicts[0]
    assert winner.version == 2 and loser.latest.version == 2
    mine = 8 if winner.body == {"replicas": 6} else 6
    assert loser.diff == [{"path": "replicas", "before": winner.body["replicas"], "after": mine}]
    # the loser still has the edit and saves it on top: both versions are kept
    again = scenarios.save(store, ANALYST if mine == 6 else ADMIN, "shared", {"replicas": mine}, 2)
    assert [v.body["replicas"] for v in scenarios.versions(store, "shared")] == [mine, winner.body["replicas"], 4]
    assert again.version == 3


def _crowd(store, name: str, people: int) -> list[object]:
    """``people`` saves of ``name`` from version 1 released at the same instant; what each got back."""
    start = threading.Barrier(people)
    outcome: list[object] = []

    def save(replicas: int) -> None:
        start.wait()
        try:
            outcome.append(scenarios.save(store, ANALYST, name, {"replicas": replicas}, 1))
        except scenarios.VersionConflict as err:
            outcome.append(err)

    threads = [threading.Thread(target=save, args=(10 + i,)) for i in range(people)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcome


def test_many_saves_from_the_same_version_leave_exactly_one_winner(store):
    """Eight people at once, five times: on PostgreSQL each statement sees the latest commits, so a check
    and a version number read apart would let a stale save through as the next version; none may pass."""
    for round_no in range(5):
        name = f"crowd-{round_no}"
        scenarios.save(store, ADMIN, name, {"replicas": 1}, 0)
        outcome = _crowd(store, name, 8)
        assert len(outcome) == 8
        assert sum(isinstance(v, scenarios.VersionInfo) for v in outcome) == 1
        assert [v.version for v in scenarios.versions(store, name)] == [2, 1]


# --------------------------------------------------------------------------- roles and the audit log
def test_roles_are_enforced_where_the_action_happens_and_refusals_audited(store):
    with pytest.raises(PermissionDenied, match="Only analysts and admins can save scenarios"):
        scenarios.save(store, VIEWER, "peak", {"a": 1}, 0)
    assert scenarios.versions(store, "peak") == []
    saved = scenarios.save(store, ANALYST, "peak", {"a": 1}, 0)
    for actor in (VIEWER, ANALYST):
        with pytest.raises(PermissionDenied, match="Only admins can delete scenarios"):
            scenarios.delete(store, actor, "peak")
    with pytest.raises(PermissionDenied, match="Only admins can read the audit log"):
        audit.entries(store, VIEWER)
    with pytest.raises(PermissionDenied, match="Only analysts and admins can run capacity plans"):
        audit.authorize(store, VIEWER, "plan", "scenario", "peak")
    assert scenarios.delete(store, ADMIN, "peak") == 1
    assert scenarios.versions(store, "peak") == []
    assert log_rows(store) == [
        ("vera@example.com", "save_scenario", "peak", "refused"),
        ("anna@example.com", "save_scenario", f"peak v{saved.version}", "ok"),
        ("vera@example.com", "delete_scenario", "peak", "refused"),
        ("anna@example.com", "delete_scenario", "peak", "refused"),
        ("vera@example.com", "read_audit", "all", "refused"),
        ("vera@example.com", "plan", "peak", "refused"),
        ("adam@example.com", "delete_scenario", "peak", "ok"),
    ]
    shown = audit.entries(store, ADMIN, audit.AuditFilter(outcome="refused"))
    assert [e["action"] for e in shown] == ["plan", "read_audit", "delete_scenario", "delete_scenario",
                                            "save_scenario"]
    assert log_rows(store)[-1] == ("adam@example.com", "read_audit", "all", "ok")  # reading is audited too
    csv_text = audit.to_csv(shown)
    assert csv_text.splitlines()[0] == "id,at,actor,role,action,object_type,object_id,outcome,detail"
    assert len(csv_text.splitlines()) == 6


def test_the_audit_log_refuses_updates_and_deletes_in_the_database(store):
    audit.log_event(store, VIEWER, "sign_in", "session", "vera@example.com")
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"):
            with store.engine.begin() as conn:
                conn.execute(text(statement))
    assert log_rows(store) == [("vera@example.com", "sign_in", "vera@example.com", "ok")]


def test_roles_given_in_the_app_win_over_the_file_and_are_audited(store, tmp_path):
    from simulator.store.access import load_rules

    path = tmp_path / "roles.yaml"
    path.write_text("default: viewer\npeople:\n  Anna@Example.com: analyst\ndomains:\n  example.com: analyst\n"
                    "  ops.example.org: admin\n")
    rules = load_rules(path)
    assert people.actor_for(store, "anna@example.com", rules=rules).role == Role.analyst
    assert people.actor_for(store, "zoe@example.com", rules=rules).role == Role.analyst  # by domain
    assert people.actor_for(store, "max@ops.example.org", rules=rules).role == Role.admin
    assert people.actor_for(store, "eve@elsewhere.net", rules=rules).role == Role.viewer  # the default
    with pytest.raises(PermissionDenied):
        people.set_role(store, ANALYST, "zoe@example.com", Role.admin)
    people.set_role(store, ADMIN, "@example.com", Role.viewer)        # a domain
    people.set_role(store, ADMIN, "Anna@example.com", Role.admin)     # one person beats their domain
    assert people.actor_for(store, "zoe@example.com", rules=rules).role == Role.viewer
    assert people.actor_for(store, "anna@example.com", rules=rules).role == Role.admin
    with pytest.raises(ValueError, match="your own role"):
        people.set_role(store, ADMIN, "adam@example.com", Role.viewer)
    people.remove_role(store, ADMIN, "@example.com")
    assert people.actor_for(store, "zoe@example.com", rules=rules).role == Role.analyst
    assert [r[1:] for r in log_rows(store)] == [("manage_roles", "zoe@example.com", "refused"),
                                                ("manage_roles", "@example.com", "ok"),
                                                ("manage_roles", "anna@example.com", "ok"),
                                                ("manage_roles", "@example.com", "ok")]


def test_a_bad_roles_file_is_named_with_the_problem(tmp_path):
    from simulator.store.access import load_rules

    path = tmp_path / "roles.yaml"
    path.write_text("people:\n  ada@example.com: boss\n")
    with pytest.raises(ValueError, match="people.ada@example.com: role must be one of viewer, analyst, admin; got 'boss'"):
        load_rules(path)
    path.write_text("admins: [ada@example.com]\n")
    with pytest.raises(ValueError, match="expected the keys default, people and domains"):
        load_rules(path)


# --------------------------------------------------------------------------- runs
@pytest.fixture(scope="module")
def tiny_result():
    from simulator.scenario.config import load_scenario, with_overrides
    from tests.conftest import SCENARIOS

    sc = with_overrides(load_scenario(SCENARIOS / "baseline.yaml"),
                        {"duration_s": 120, "warmup_s": 10, "traffic.rate_per_s": 40})
    return run(sc, 3)


def test_a_kept_run_opens_exactly_as_it_was(store, tiny_result):
    found = findings(tiny_result.scenario, tiny_result)
    kept = runs.save_run(store, ANALYST, tiny_result, knobs={"traffic_pct": 150}, findings=found)
    assert (kept.kind, kept.seed, kept.author, kept.knobs, kept.has_requests) == (
        "run", 3, "anna@example.com", {"traffic_pct": 150}, True)
    opened = runs.open_run(store, kept.id)
    assert opened.scenario == tiny_result.scenario
    again = opened.result()
    pd.testing.assert_frame_equal(again.timeseries, tiny_result.timeseries)
    pd.testing.assert_frame_equal(again.events, tiny_result.events)
    assert again.summary.requests == tiny_result.summary.requests
    assert again.summary.latency_ms.p99 == pytest.approx(tiny_result.summary.latency_ms.p99)
    assert opened.findings() == found  # the verdicts as derived when it ran, not re-derived
    assert runs.find_same(store, tiny_result.scenario, 3).id == kept.id
    assert runs.find_same(store, tiny_result.scenario, 4) is None
    with pytest.raises(PermissionDenied):
        runs.save_run(store, VIEWER, tiny_result)
    rows = runs.load_requests(store, VIEWER, kept.id)
    pd.testing.assert_frame_equal(rows, tiny_result.requests)
    assert log_rows(store)[-1] == ("vera@example.com", "download_requests", str(kept.id), "ok")


def test_a_damaged_frame_is_reported_not_shown(store, tiny_result):
    kept = runs.save_run(store, ANALYST, tiny_result)
    with store.sessions.begin() as s:
        folder = s.execute(text("SELECT frames_dir FROM runs WHERE id = :i"), {"i": kept.id}).scalar()
    path = store.frames_root / folder / "timeseries.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DamagedFrames, match="timeseries.parquet of this run is damaged"):
        runs.open_run(store, kept.id)


def test_history_filters_and_deletion(store, tiny_result):
    first = runs.save_run(store, ANALYST, tiny_result, scenario_name="alpha")
    second = runs.save_run(store, ADMIN, tiny_result, scenario_name="beta")
    assert [r.id for r in runs.list_runs(store)] == [second.id, first.id]
    assert [r.id for r in runs.list_runs(store, runs.RunFilter(author="anna@example.com"))] == [first.id]
    assert [r.id for r in runs.list_runs(store, runs.RunFilter(scenario_name="beta"))] == [second.id]
    later = first.created_at + timedelta(hours=1)
    assert runs.list_runs(store, runs.RunFilter(since=later)) == []
    assert runs.filter_values(store) == (["alpha", "beta"], ["adam@example.com", "anna@example.com"])
    with pytest.raises(PermissionDenied):
        runs.delete_run(store, ANALYST, first.id)
    runs.delete_run(store, ADMIN, first.id)
    assert [r.id for r in runs.list_runs(store)] == [second.id]
    assert len([p for p in store.frames_root.iterdir()]) == 1
    with pytest.raises(LookupError):
        runs.open_run(store, first.id)


def test_retention_removes_old_per_request_rows_but_keeps_the_run(store, tiny_result):
    old = runs.save_run(store, ANALYST, tiny_result)
    new = runs.save_run(store, ANALYST, tiny_result)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE runs SET created_at = :t WHERE id = :i"),
                     {"t": old.created_at - timedelta(days=40), "i": old.id})
    done = runs.prune(store, local_actor(), runs.Retention(days=30, gigabytes=5))
    assert done["runs_purged"] == 1
    assert (runs.get(store, old.id).has_requests, runs.get(store, new.id).has_requests) == (False, True)
    assert runs.open_run(store, old.id).result().timeseries.shape == tiny_result.timeseries.shape
    with pytest.raises(DamagedFrames, match="removed by the retention setting"):
        runs.load_requests(store, ANALYST, old.id)
    # a size budget smaller than one run's rows keeps none
    size = runs.get(store, new.id)
    assert size.has_requests
    assert runs.prune(store, local_actor(), runs.Retention(days=30, gigabytes=1e-9))["runs_purged"] == 1
    assert not runs.get(store, new.id).has_requests


def test_folders_left_by_a_crash_are_never_listed_and_are_cleaned_up(store, tiny_result):
    kept = runs.save_run(store, ANALYST, tiny_result)
    stray = store.frames_root / ".tmp-deadbeef"
    stray.mkdir()
    (stray / "requests.parquet").write_bytes(b"half a file")
    assert [r.id for r in runs.list_runs(store)] == [kept.id]
    assert runs.prune(store, local_actor(), runs.Retention(), orphan_age_s=0)["orphans_removed"] == 1
    assert not stray.exists()
    assert runs.open_run(store, kept.id).info.id == kept.id


# --------------------------------------------------------------------------- decisions
def test_decisions_record_the_runs_behind_them(store, tiny_result):
    a = runs.save_run(store, ANALYST, tiny_result, scenario_name="baseline")
    b = runs.save_run(store, ANALYST, tiny_result, scenario_name="no_feature_store")
    with pytest.raises(PermissionDenied, match="Only analysts and admins can write decisions"):
        decisions.write(store, VIEWER, "Drop the store?", [], "no", "slower", [(a.id, "A"), (b.id, "B")])
    with pytest.raises(ValueError, match="rationale: please write something here"):
        decisions.write(store, ANALYST, "Drop the store?", [], "no", "  ", [])
    made = decisions.write(store, ANALYST, "Drop the feature store?", ["keep it", "drop it"], "keep it",
                           "p99 rises by 43 ms without it.", [(a.id, "A: baseline"), (b.id, "B: no store")])
    [listed] = decisions.list_decisions(store)
    assert (listed.id, listed.chosen, listed.options) == (made.id, "keep it", ["keep it", "drop it"])
    assert listed.runs == [(a.id, "A: baseline"), (b.id, "B: no store")]
    with pytest.raises(PermissionDenied):
        decisions.delete(store, ANALYST, made.id)
    decisions.delete(store, ADMIN, made.id)
    assert decisions.list_decisions(store) == []


def test_the_database_is_chosen_by_the_environment(monkeypatch, tmp_path):
    from simulator.store.db import database_url

    monkeypatch.delenv("PIPELINE_TWIN_DATABASE_URL", raising=False)
    monkeypatch.setenv("PIPELINE_TWIN_DATA_DIR", str(tmp_path))
    assert database_url() == f"sqlite:///{tmp_path}/pipeline_twin.db"
    monkeypatch.setenv("PIPELINE_TWIN_DATABASE_URL", "postgresql://twin:pw@db.internal/twin")
    assert database_url() == "postgresql+psycopg://twin:pw@db.internal/twin"  # psycopg 3, not psycopg2
    monkeypatch.setenv("PIPELINE_TWIN_DATABASE_URL", "postgresql+psycopg://twin@localhost/twin")
    assert database_url() == "postgresql+psycopg://twin@localhost/twin"


def test_a_database_that_cannot_be_reached_is_one_clear_line(tmp_path):
    with pytest.raises(StoreError, match=r"^Cannot open the database postgresql\+psycopg://twin:\*\*\*@127.0.0.1:1/twin: "):
        open_store("postgresql+psycopg://twin:secret@127.0.0.1:1/twin", tmp_path)
