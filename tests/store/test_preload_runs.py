"""A starting dashboard server reads the bundled scenarios' kept runs into memory (with their findings),
so a first visitor's page reads nothing from disk; it never pushes a run out of the memory cache."""
import multiprocessing
from pathlib import Path

import pandas as pd
import pytest

from dashboard import state
from dashboard.worker import ResultCache
from simulator.report.findings import findings
from simulator.runner import run
from simulator.scenario.config import load_scenario, scenario_to_yaml, with_overrides, without_incident
from simulator.store.run_cache import RunCache

ROOT = Path(__file__).resolve().parents[2]
SMALL = {"duration_s": 240, "warmup_s": 20, "traffic.rate_per_s": 40}


@pytest.fixture
def server(tmp_path, monkeypatch):
    """Two bundled scenarios (the default one and a one-off outage) whose runs an earlier server kept."""
    folder = tmp_path / "scenarios"
    folder.mkdir()
    for name in ("baseline", "weather_api_outage"):
        sc = with_overrides(load_scenario(ROOT / "scenarios" / f"{name}.yaml"), SMALL)
        (folder / f"{name}.yaml").write_text(scenario_to_yaml(sc), encoding="utf-8")
    monkeypatch.delenv("PIPELINE_TWIN_INPROCESS", raising=False)
    monkeypatch.setenv("PIPELINE_TWIN_SCENARIOS", str(folder))
    monkeypatch.setenv("PIPELINE_TWIN_RUN_CACHE_DIR", str(tmp_path / "cache"))
    server_wide = (state._results, state._disk, state._server_memos, state._load_catalog)
    for cached in server_wide:
        cached.clear()
    yield {n: load_scenario(folder / f"{n}.yaml") for n in ("baseline", "weather_api_outage")}
    for cached in server_wide:
        cached.clear()


def keep_on_disk(scenarios) -> dict[str, object]:
    disk, kept = RunCache(), {}
    for sc in scenarios:
        for one in (sc, without_incident(sc)):
            if one is not None:
                result = run(one, int(sc.seed))
                assert disk.put(result)
                kept[state.run_key(one, int(sc.seed))] = result
    return kept


def test_kept_runs_and_their_findings_are_in_memory_before_the_first_page(server):
    baseline, outage = server["baseline"], server["weather_api_outage"]
    kept = keep_on_disk([baseline, outage])
    assert len(kept) == 3  # the outage is priced against its incident-free twin

    assert state.preload_runs() == 3
    memory = state._results()
    for key, result in kept.items():
        in_memory = memory.get(key)
        assert in_memory is not None
        pd.testing.assert_frame_equal(in_memory.requests, result.requests)
        assert in_memory.summary == result.summary
    # the findings a page would derive: the outage's against its twin's summary, computed here directly
    outage_run = kept[state.run_key(outage, int(outage.seed))]
    twin_run = kept[state.run_key(without_incident(outage), int(outage.seed))]
    expected = findings(outage, outage_run, twin_run.summary)
    unpriced = findings(outage, outage_run, None)
    said = lambda found: [(f.headline, f.value) for f in found]  # noqa: E731
    assert said(expected) != said(unpriced)  # so the check below tells whether the twin was used
    memo = state._server_memos()["findings"][state.run_key(outage, int(outage.seed))]
    assert said(memo) == said(expected)
    assert state.findings_of(memory.get(state.run_key(outage, int(outage.seed)))) is memo  # nothing derived again


def test_preloading_stops_when_memory_is_full_and_pushes_nothing_out(server, monkeypatch):
    baseline, outage = server["baseline"], server["weather_api_outage"]
    keep_on_disk([baseline, outage])
    small = ResultCache(max_entries=2)
    monkeypatch.setattr(state, "_results", lambda: small)

    assert state.preload_runs() == 1  # the default scenario first; the outage and its twin do not fit beside it
    assert small.get(state.run_key(baseline, int(baseline.seed))) is not None
    assert len(small) == 1


def test_nothing_is_read_for_scenarios_not_simulated_yet(server):
    assert state.preload_runs() == 0
    assert len(state._results()) == 0


def test_start_runner_starts_the_worker_pool_before_any_page_asks(monkeypatch):
    """What the launcher (``dashboard.serve.preload``) calls before the server answers, so a warm
    server's first fresh run (a knob change) finds its workers already started."""
    monkeypatch.delenv("PIPELINE_TWIN_INPROCESS", raising=False)
    state._runner.clear()
    before = {p.pid for p in multiprocessing.active_children()}
    try:
        state.start_runner()
        started = [p for p in multiprocessing.active_children() if p.pid not in before]  # without asking the pool
        assert [p.name for p in started] and all(p.name == "pipeline-twin-worker" for p in started)
        status = state.runner_status()
        assert status is not None and status["workers"] >= 1 and status["alive"] == status["workers"], status
    finally:
        state._runner().shutdown()
        state._runner.clear()
    monkeypatch.setenv("PIPELINE_TWIN_INPROCESS", "1")  # in-process (AppTest): no pool at all
    state.start_runner()
    assert state.runner_status() is None
