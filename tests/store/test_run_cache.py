"""The dashboard's disk cache of runs: what its key depends on, that it gives back the run exactly, and
that anything damaged, half-written or not what it claims is ignored (and recomputed), never trusted."""
import json
import os
import pickle
from pathlib import Path

import pandas as pd
import pytest

from simulator.runner import run
from simulator.scenario.config import load_scenario, with_overrides
from simulator.store import run_cache
from simulator.store.run_cache import META, RunCache, cache_key

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def small():
    return with_overrides(load_scenario(ROOT / "scenarios" / "mmc.yaml"), {"duration_s": 120, "warmup_s": 10})


@pytest.fixture(scope="module")
def result(small):
    return run(small, 7)


def same_frame(a: pd.DataFrame, b: pd.DataFrame) -> None:
    if a.shape == (0, 0):  # an empty frame comes back empty (its column index type is not kept)
        assert b.shape == (0, 0)
    else:
        pd.testing.assert_frame_equal(a, b)


def assert_same_run(a, b) -> None:
    for name in ("requests", "timeseries", "events", "spans"):
        same_frame(getattr(a, name), getattr(b, name))
    assert a.extra.keys() == b.extra.keys()
    for name in a.extra:
        same_frame(a.extra[name], b.extra[name])
    assert a.summary == b.summary
    assert a.seed == b.seed and a.scenario == b.scenario


def test_the_key_changes_with_code_version_scenario_and_seed(small):
    key = cache_key(small, 7, code="v1")
    assert key == cache_key(with_overrides(small, {}), 7, code="v1")  # the same resolved scenario
    assert cache_key(small, 7, code="v2") != key
    assert cache_key(small, 8, code="v1") != key
    assert cache_key(with_overrides(small, {"inference.replicas": small.inference.replicas + 1}), 7, code="v1") != key
    assert cache_key(small, 7, kind="summary", code="v1") != key


def test_the_code_version_follows_the_source_files(tmp_path, monkeypatch):
    (tmp_path / "engine.py").write_text("SPEED = 1\n")
    monkeypatch.setattr(run_cache, "SOURCES", tmp_path)
    run_cache.code_version.cache_clear()
    try:
        before = run_cache.code_version()
        (tmp_path / "engine.py").write_text("SPEED = 2\n")
        run_cache.code_version.cache_clear()
        assert run_cache.code_version() != before
    finally:
        run_cache.code_version.cache_clear()


def test_a_kept_run_comes_back_exactly(tmp_path, small, result):
    cache = RunCache(tmp_path)
    assert cache.get(small, 7) is None and not cache.has(small, 7)
    assert cache.put(result)
    assert cache.has(small, 7)
    assert_same_run(result, cache.get(small, 7))
    assert cache.get(small, 8) is None  # another seed is another run
    assert not cache.put(result)  # kept once


@pytest.mark.parametrize("damage", ["flip_a_byte", "truncate_meta", "drop_meta", "drop_frame"])
def test_a_damaged_entry_is_ignored_removed_and_recomputed(tmp_path, small, result, damage):
    cache = RunCache(tmp_path)
    cache.put(result)
    folder = tmp_path / cache_key(small, 7)
    if damage == "flip_a_byte":
        path = folder / "requests.arrow"
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "truncate_meta":
        (folder / META).write_text((folder / META).read_text()[:100])
    elif damage == "drop_meta":  # a write that crashed before its last step
        (folder / META).unlink()
    else:
        (folder / "timeseries.arrow").unlink()
    assert cache.get(small, 7) is None
    assert not cache.has(small, 7)
    again = run(small, 7)  # recomputed, and kept again in its place
    assert cache.put(again)
    assert_same_run(again, cache.get(small, 7))


def test_an_entry_for_another_scenario_under_this_key_is_not_used(tmp_path, small, result):
    cache = RunCache(tmp_path)
    cache.put(result)
    other = with_overrides(small, {"traffic.rate_per_s": small.traffic.rate_per_s * 2})
    os.rename(tmp_path / cache_key(small, 7), tmp_path / cache_key(other, 7))
    assert cache.get(other, 7) is None  # the scenario written in the entry must equal the one asked for


def test_a_pickle_in_the_cache_is_never_unpickled(tmp_path, small, result):
    """A frame file replaced by a pickle (checksum updated to match) is rejected as unreadable, and the
    pickle's code does not run: entries are read as Arrow and JSON only."""
    marker = tmp_path / "pwned"

    class Bomb:
        def __reduce__(self):
            return (Path.touch, (marker,))

    cache = RunCache(tmp_path / "cache")
    cache.put(result)
    folder = tmp_path / "cache" / cache_key(small, 7)
    path = folder / "requests.arrow"
    path.write_bytes(pickle.dumps(Bomb()))
    meta = json.loads((folder / META).read_text())
    import hashlib

    meta["frames"]["requests"] = {"bytes": path.stat().st_size, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    (folder / META).write_text(json.dumps(meta))
    assert cache.get(small, 7) is None
    assert not marker.exists()


def test_the_least_recently_used_entries_go_first(tmp_path, small, result):
    cache = RunCache(tmp_path, max_bytes=10**12)
    cache.put(result)
    other = run(small, 8)
    cache.put(other)
    first, second = tmp_path / cache_key(small, 7), tmp_path / cache_key(small, 8)
    os.utime(first / META, (1, 1))  # the first was used long ago
    size_one = cache.size_bytes() // 2
    cache.max_bytes = int(size_one * 1.5)  # room for one of them
    cache.evict()
    assert not first.exists() and second.exists()


def test_a_cap_of_zero_switches_the_cache_off(tmp_path, small, result):
    cache = RunCache(tmp_path, max_bytes=0)
    assert not cache.put(result) and not cache.put_json("k", {"a": 1})
    assert cache.get(small, 7) is None and not cache.has(small, 7) and cache.get_json("k") is None
    assert not any(tmp_path.iterdir())


def test_answers_are_kept_as_json_and_damage_is_ignored(tmp_path):
    cache = RunCache(tmp_path)
    answer = {"latency_ms": {"p99": 212.5, "mean": float("nan")}, "warmup_series": {"t_s": [0.0, 10.0]}}
    assert cache.get_json("k1") is None
    assert cache.put_json("k1", answer)
    back = cache.get_json("k1")
    assert back["latency_ms"]["p99"] == 212.5 and back["warmup_series"] == answer["warmup_series"]
    (tmp_path / "json" / "k1.json").write_text("{not json")
    assert cache.get_json("k1") is None and not (tmp_path / "json" / "k1.json").exists()


def test_how_sure_fills_the_pools_rounds():
    from dashboard.state import first_replications

    assert [first_replications(w) for w in (1, 2, 3, 4, 5, 8)] == [4, 4, 6, 4, 5, 8]
