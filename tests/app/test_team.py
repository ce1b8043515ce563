"""AppTest for the team features: local mode, sign-in and roles, Library, History, Decisions, Audit.

Every test has a store of its own (tests/app/conftest.py). Signed-in people are seeded through
``at.secrets`` (an ``[auth]`` section) and ``at.user``; what the app wrote is read back from the
store directly.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from simulator.store import runs, scenarios
from simulator.store.access import Actor, Role
from simulator.store.db import open_store
from simulator.viz.kpis import compare_tiles
from tests.app.chart_specs import chart_specs
from tests.app.conftest import SMALL, write_scenarios

APP = "../../app.py"
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32, "client_id": "twin",
        "client_secret": "s", "server_metadata_url": "http://localhost:1/.well-known/openid-configuration"}


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory) -> Path:
    outage = {"faults.external_api": [{"name": "weather service outage", "kind": "outage_timeouts",
                                       "start_s": 60, "duration_s": 60}]}
    return write_scenarios(tmp_path_factory.mktemp("scenarios"), {"baseline": SMALL, "no_feature_store": SMALL,
                                                                  "weather_api_outage": {**SMALL, **outage}})


@pytest.fixture
def roles(tmp_path, monkeypatch) -> None:
    path = tmp_path / "roles.yaml"
    path.write_text("default: viewer\npeople:\n  anna@example.com: analyst\n  adam@example.com: admin\n")
    monkeypatch.setenv("PIPELINE_TWIN_ROLES", str(path))


@pytest.fixture(autouse=True)
def no_cached_runs():
    """Runs are cached per server process; each test here starts as a fresh server would."""
    import streamlit as st

    st.cache_resource.clear()


@pytest.fixture
def store():
    opened = open_store()
    yield opened
    opened.close()


def make(email: str | None = None, signed_in: bool = True) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if email is not None:
        at.secrets["auth"] = AUTH
        at.user = {"is_logged_in": signed_in, "email": email, "name": email.split("@")[0].capitalize()}
    return at


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def log(store) -> list[tuple]:
    with store.sessions.begin() as s:
        return [tuple(r) for r in s.execute(text("SELECT actor, action, outcome FROM audit_log ORDER BY id"))]


def button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


# --------------------------------------------------------------------------- modes
def test_local_mode_is_labelled_and_the_local_user_is_admin(store):
    at = ok(make().run())
    assert "Local single-user mode" in at.sidebar.info[0].value
    ok(at.switch_page("pages/audit.py").run())
    assert at.title[0].value == "Audit" and not at.error
    assert ("local", "sign_in", "ok") in log(store)
    kept = runs.list_runs(store)  # the overview's run, kept for the local user
    assert [(r.author, r.scenario_name) for r in kept] == [("local", "baseline")]


def test_with_sign_in_configured_nobody_gets_past_the_sign_in_screen(store, roles):
    at = ok(make("anna@example.com", signed_in=False).run())
    assert [b.label for b in at.button] == ["Sign in"]
    assert at.title[0].value == "Pipeline Twin" and not chart_specs(at)
    assert log(store) == []


def test_a_signed_in_viewer_is_refused_and_audited(store, roles):
    at = ok(make("vera@example.com").run())
    assert any(m.value == "Signed in as **Vera** · viewer" for m in at.sidebar.markdown)
    assert runs.list_runs(store) == []  # a viewer's runs are audited, not kept
    ok(at.switch_page("pages/library.py").run())
    button(at, "library_save").click().run()
    ok(at)
    assert any("Only analysts and admins can save scenarios" in e.value for e in at.error)
    assert scenarios.names(store) == []
    ok(at.switch_page("pages/audit.py").run())
    assert any("Only admins can read the audit log" in e.value for e in at.error)
    assert not at.dataframe
    assert log(store) == [("vera@example.com", "sign_in", "ok"), ("vera@example.com", "run", "ok"),
                          ("vera@example.com", "save_scenario", "refused"),
                          ("vera@example.com", "read_audit", "refused")]


def test_the_role_comes_from_the_app_before_the_file(store, roles):
    from simulator.store import people

    people.set_role(store, Actor("adam@example.com", "Adam", Role.admin), "vera@example.com", Role.analyst)
    at = ok(make("vera@example.com").run())
    assert any("· analyst" in m.value for m in at.sidebar.markdown)


# --------------------------------------------------------------------------- library
def test_save_open_and_a_conflict_with_its_difference(store, roles):
    at = ok(make("anna@example.com").run())
    ok(at.switch_page("pages/library.py").run())
    next(t for t in at.text_input if t.key == "library_note").input("first cut")
    button(at, "library_save").click().run()
    ok(at)
    assert any("Saved as **baseline v1**" in s.value for s in at.success)
    assert at.session_state["scenario"] == "baseline · v1"  # (AppTest drops the sidebar after switch_page)
    # meanwhile someone else saves v2 with more model servers
    v1 = scenarios.latest(store, "baseline")
    other = {**v1.body, "inference": {**v1.body["inference"], "replicas": 9}}
    scenarios.save(store, Actor("adam@example.com", "Adam", Role.admin), "baseline", other, 1)
    # Anna saves her (unchanged) v1 view again: refused, with the difference, nothing overwritten
    button(at, "library_save").click().run()
    ok(at)
    assert any("was saved as version 2 by adam@example.com" in w.value for w in at.warning)
    diff = at.dataframe[0].value
    assert list(diff["field"]) == ["inference.replicas"] and list(diff["v2"]) == ["9"]
    assert list(diff["setting"]) == ["Inference replicas"]
    assert [v.version for v in scenarios.versions(store, "baseline")] == [2, 1]
    button(at, "library_retry").click().run()
    ok(at)
    assert [v.version for v in scenarios.versions(store, "baseline")] == [3, 2, 1]
    assert scenarios.latest(store, "baseline").body == v1.body


def test_a_shared_link_opens_a_saved_version(store):
    saved = scenarios.save(store, Actor("adam@example.com", "Adam", Role.admin), "peak", {
        **scenarios_body(), "name": "peak"}, 0)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["open"] = str(saved.id)
    ok(at.run())
    assert at.sidebar.selectbox(key="scenario").value == "peak · v1"


def scenarios_body() -> dict:
    from simulator.scenario.config import load_scenario

    return load_scenario(Path(__import__("os").environ["PIPELINE_TWIN_SCENARIOS"]) / "baseline.yaml").model_dump(
        mode="json")


# --------------------------------------------------------------------------- history and decisions
def test_history_opens_a_kept_run_as_it_was(store):
    at = ok(make().run())
    [kept] = runs.list_runs(store)
    ok(at.switch_page("pages/history.py").run())
    assert at.subheader[0].value == f"Run #{kept.id}: baseline"
    tiles = {m.label: m.value for m in at.metric}
    assert tiles  # the overview tiles of the stored summary
    caption = " ".join(c.value for c in at.caption)
    assert f"code version {kept.code_version}" in caption and "not rerun" in caption
    next(t for t in at.toggle if t.key == f"history_rerun_{kept.id}").set_value(True).run()
    ok(at)
    rerun = [(m.label, m.value, m.delta) for m in at.metric[len(tiles):]]
    kept_tiles = compare_tiles(runs.open_run(store, kept.id).result())
    # same code, same seed: identical numbers (no arrows) and identical verdicts
    assert [(label, value) for label, value, _ in rerun] == [(t.label, t.value) for t in kept_tiles]
    assert not any(delta for _, _, delta in rerun)
    assert any("Every verdict kept with the run comes out the same" in m.value for m in at.markdown)


def test_a_decision_from_compare_carries_both_runs(store):
    at = ok(make().run())
    ok(at.switch_page("pages/compare.py").run())
    button(at, "compare_decide").click().run()
    ok(at)
    assert at.title[0].value == "Decisions"
    ok(at.switch_page("pages/decisions.py").run())  # AppTest stays on the page it was told (st.switch_page aside)
    next(t for t in at.text_input if t.label == "The question").input("Keep the feature store?")
    next(t for t in at.text_input if t.label == "The option chosen").input("keep it")
    next(t for t in at.text_area if t.label == "Why").input("p99 is lower with it.")
    next(b for b in at.button if b.label == "Record the decision").click().run()
    ok(at)
    assert not at.error, [e.value for e in at.error]
    assert any(s.value.startswith("Decision #") for s in at.success)
    from simulator.store import decisions

    [made] = decisions.list_decisions(store)
    assert (made.question, made.chosen, made.rationale) == ("Keep the feature store?", "keep it", "p99 is lower with it.")
    assert len(made.runs) == 2
    assert {runs.get(store, r).scenario_name for r, _ in made.runs} == {"baseline"}
    assert ("local", "write_decision", "ok") in log(store)


def test_a_one_off_event_is_kept_with_its_findings_and_its_reference_run_is_not(store):
    """The run without the incident prices the incident; it is audited as a reference, not kept."""
    at = make()
    at.query_params["scenario"] = "weather_api_outage"
    ok(at.run())
    [kept] = runs.list_runs(store)
    assert kept.scenario_name == "weather_api_outage" and kept.knobs == {}
    stored = runs.open_run(store, kept.id).findings()
    assert stored.get("incident_cost") is not None  # priced against the reference run when it ran
    entries = log(store)  # the kept run is recorded as kept, the reference run as a run
    assert (entries.count(("local", "save_run", "ok")), entries.count(("local", "run", "ok"))) == (1, 1)
    ok(at.switch_page("pages/history.py").run())
    shown = {m.label: m.value for m in at.metric}
    assert shown[stored.get("incident_cost").title] == stored.get("incident_cost").value


def test_replications_are_audited_but_not_kept(store):
    at = ok(make().run())
    next(t for t in at.toggle if t.key == "overview_uncertainty").set_value(True).run()
    ok(at)
    assert len(runs.list_runs(store)) == 1  # the page's own run only
    assert log(store).count(("local", "run", "ok")) == 1  # the batch, one entry naming how many runs


def test_the_dashboard_on_postgresql(fresh_postgres, monkeypatch, roles):
    """The same app with PIPELINE_TWIN_DATABASE_URL naming a PostgreSQL database."""
    monkeypatch.setenv("PIPELINE_TWIN_DATABASE_URL", fresh_postgres.replace("postgresql+psycopg://", "postgresql://"))
    at = ok(make("anna@example.com").run())
    ok(at.switch_page("pages/library.py").run())
    button(at, "library_save").click().run()
    ok(at)
    assert any("Saved as **baseline v1**" in s.value for s in at.success)
    pg = open_store()
    try:
        assert pg.engine.dialect.name == "postgresql"
        assert [(r.author, r.scenario_name) for r in runs.list_runs(pg)] == [("anna@example.com", "baseline")]
        assert scenarios.latest(pg, "baseline").author == "anna@example.com"
    finally:
        pg.close()


def test_retention_applies_as_runs_are_kept(store, monkeypatch):
    monkeypatch.setenv("PIPELINE_TWIN_KEEP_REQUESTS_GB", "0.000001")  # 1 kB: no run's rows fit
    at = ok(make().run())
    [kept] = runs.list_runs(store)
    assert not kept.has_requests
    assert ("system", "prune", "ok") in log(store)
    ok(at.switch_page("pages/history.py").run())
    assert any("removed by the retention setting" in c.value for c in at.caption)
