"""Hostile files through the three doors a scenario comes in by: validate, run, and the dashboard upload.

Each must be refused with exit code 2 (or, in the dashboard, friendly lines) naming what is wrong,
quickly, without a traceback, without reading outside the scenario, and without a single request
reaching the local HTTP listener that the URL cases point at.
"""
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from dashboard import state
from dashboard.widgets import parse_uploaded
from simulator.scenario.config import Scenario, ScenarioError, with_overrides
from tests.hostile.inputs import ROOT, hostile_files, run_cli, watching_file_access

NAMES = sorted(hostile_files("http://127.0.0.1:9"))


@pytest.fixture(scope="module")
def cli_results(tmp_path_factory, listener):
    """Every hostile file through ``validate`` and ``run``, four child processes at a time."""
    folder = tmp_path_factory.mktemp("hostile")
    files = hostile_files(listener.url)
    for name, (content, _) in files.items():
        (folder / name).write_bytes(content)

    def one(job):
        name, command = job
        t0 = time.monotonic()
        p = run_cli(command, str(folder / name), "--set", "duration_s=60", "--set", "warmup_s=0", cwd=folder)
        return job, (p, time.monotonic() - t0)

    with ThreadPoolExecutor(4) as pool:
        results = dict(pool.map(one, [(n, c) for n in files for c in ("validate", "run")]))
    return folder, results


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("name", NAMES)
def test_cli_refuses_with_exit_2_and_lines_naming_the_problem(cli_results, listener, name, command):
    """Exit 2 within seconds, every line an 'error: ...' naming the field or the file, no traceback."""
    folder, results = cli_results
    p, elapsed = results[(name, command)]
    expected = hostile_files(listener.url)[name][1]
    assert p.returncode == 2, (p.returncode, p.stdout[-500:], p.stderr[-2000:])
    lines = p.stderr.strip().splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), lines
    assert any(expected in line for line in lines), lines
    assert all(len(line) < 400 for line in lines), "an error line must quote at most a short prefix"
    assert "Traceback" not in p.stderr
    assert elapsed < 30, f"took {elapsed:.1f} s"
    assert not (folder / "PWNED").exists()
    assert listener.requests == []


@pytest.mark.parametrize("name", NAMES)
def test_dashboard_upload_refuses_without_touching_files_or_network(listener, name, monkeypatch):
    """The lab's upload handler answers with lines, opens nothing the file names and connects nowhere."""
    content, expected = hostile_files(listener.url)[name]
    touched = []
    real_stat = os.stat

    def stat(path, *args, **kwargs):
        touched.append(str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    suspicious = ["/dev/", "/etc/", "/proc/", listener.url, "PWNED"]
    t0 = time.monotonic()
    with watching_file_access(suspicious) as seen:
        scenario, problems = parse_uploaded(content, name)
    assert time.monotonic() - t0 < 5
    assert scenario is None, name
    assert problems and all(len(line) < 400 for line in problems), problems
    if "replay" in name:  # a path in an uploaded scenario is refused before anything looks at it
        assert any("traffic.replay_csv" in line for line in problems), problems
    else:
        assert any(expected in line for line in problems), problems
    assert seen == []
    assert not [p for p in touched if any(s in p for s in suspicious)]
    assert listener.requests == []


@pytest.mark.parametrize("path", ["/etc/hosts", "/dev/zero", "/proc/self/environ", "../../etc/passwd",
                                  "scenarios/data/../../README.md"])
def test_dashboard_runs_only_replay_files_it_knows(path, monkeypatch):
    """A replay path typed into the lab's editor is refused by comparing text, not by opening it."""
    sc = with_overrides(Scenario(), {"traffic.kind": "replay", "traffic.replay_csv": path})
    touched = []
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: (touched.append(str(p)), real_stat(p, *a, **k))[1])
    with watching_file_access([path]) as seen, pytest.raises(ScenarioError) as err:
        state.check_replay_allowed(sc)
    assert "traffic.replay_csv" in err.value.lines[0]
    assert seen == [] and path not in touched


def test_an_uploaded_replay_csv_is_used_and_checked(tmp_path, monkeypatch):
    """A CSV uploaded with the scenario is stored under its hash and replaces any path in the file;
    garbage or binary data is refused with a line naming traffic.replay_csv."""
    monkeypatch.setattr(state, "upload_dir", lambda: tmp_path)
    stored = state.store_replay_upload(b"t_s\n0.5\n1.5\n2.5\n")
    scenario, problems = parse_uploaded(b"duration_s: 10\ntraffic: {kind: replay, replay_csv: /etc/shadow}\n",
                                        "replay.yaml", stored)
    assert problems == [] and scenario.traffic.replay_csv == stored
    state.check_replay_allowed(scenario)  # a file this server stored: allowed
    for junk in (b"\x00\x01\x02", b"name\nalice\nbob\n", os.urandom(4096)):
        with pytest.raises(ScenarioError) as err:
            state.store_replay_upload(junk)
        assert err.value.lines[0].startswith("traffic.replay_csv:")


def test_listener_is_reachable(listener):
    """The listener itself works (so 'no request seen' above means none was made)."""
    import urllib.request

    with urllib.request.urlopen(listener.url + "/probe", timeout=5) as resp:
        assert resp.status == 200
    assert listener.requests == ["/probe"]
    listener.requests.clear()


def test_root_has_no_pwned_marker():
    assert not (ROOT / "PWNED").exists()


def test_an_edited_scenario_with_a_replay_path_cannot_join_the_sidebar():
    """'Use it on every page' refuses it, so no page (planner, validation) can run it either."""
    sc = with_overrides(Scenario(), {"traffic.kind": "replay", "traffic.replay_csv": "/etc/hosts"})
    with pytest.raises(ScenarioError) as err:
        state.add_custom_scenario("sneaky", sc)
    assert err.value.lines[0].startswith("traffic.replay_csv:")


def test_an_upload_may_name_a_bundled_replay_file(tmp_path, monkeypatch):
    """'replay_csv: data/NAME.csv' in an upload means the bundled file of that name, nothing else."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "burst.csv").write_text("t_s\n1\n2\n")
    monkeypatch.setattr(state, "bundled_data_dir", lambda: tmp_path / "data")
    scenario, problems = parse_uploaded(b"duration_s: 10\ntraffic: {kind: replay, replay_csv: data/burst.csv}\n", "b.yaml")
    assert problems == [] and scenario.traffic.replay_csv == str(tmp_path / "data" / "burst.csv")
    state.check_replay_allowed(scenario)
    scenario, problems = parse_uploaded(b"traffic: {kind: replay, replay_csv: data/../../etc/hosts}\n", "b.yaml")
    assert scenario is None and problems[0].startswith("traffic.replay_csv:")
