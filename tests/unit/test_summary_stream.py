"""The summary-only path (statistics reduced block by block while the run goes) against the full path.

The full path computes the summary and the time series from the whole run's columns; the stream
reduces blocks of finished requests and hands their memory back. Small blocks here, so every run
is cut into many. Counts must be equal; means, utilizations, costs and levels equal up to the
order of additions; percentiles within the histogram's stated relative error.
"""
import math

import numpy as np
import pytest

from simulator.engine.columns import Columns
from simulator.engine.kernel import KernelSimulation
from simulator.report.stream import BUCKETS, RELATIVE_ERROR, SummaryStream, quantiles
from simulator.runner import run
from simulator.scenario.config import load_scenario, with_overrides
from tests.conftest import SCENARIOS
from tests.unit.test_kernel_engine import STRESS

BUNDLED = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))
# estimated from a histogram: within RELATIVE_ERROR; the critical path's other numbers average the
# slowest 1 % (picked by that estimate), so they are compared more loosely
QUANTILE = ("latency_ms.p50", "latency_ms.p95", "latency_ms.p99", ".time_ms_p99", "critical_path.p99_ms")
PATH = ("critical_path.latency_ms_mean", "critical_path.requests", "critical_path.finding",
        "critical_path.components")


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


class Counting(SummaryStream):
    def add(self, c):
        self.blocks = getattr(self, "blocks", 0) + 1
        super().add(c)


def stream_run(sc, seed: int, block: int):
    sink = Counting(sc)
    trace = KernelSimulation(sc, seed, sink=sink, block=block).run()
    return sink.result(seed, trace, trace.wall_s), sink.blocks


def assert_summaries_agree(sc, seed: int = 3, block: int = 1024) -> None:
    full = run(sc, seed)
    streamed, blocks = stream_run(sc, seed, block)
    if full.summary.requests.arrived > 4 * block:
        assert blocks >= 2, "the run was not cut into blocks"
    assert_streamed_matches(full, streamed)


def assert_streamed_matches(full, streamed) -> None:
    """``streamed`` (a summary-only result) agrees with ``full`` (the full run of the same scenario and seed)."""
    a, b = _flat(full.summary.to_dict()), _flat(streamed.summary.to_dict())
    assert set(a) == set(b)
    for key in a:
        x, y = a[key], b[key]
        if key == "wall_s" or any(p in key for p in PATH):
            continue
        if any(key.endswith(q) for q in QUANTILE):
            assert (x is None) == (y is None), key
            if x is not None:
                assert y == pytest.approx(x, rel=RELATIVE_ERROR + 1e-9), key
        elif isinstance(x, float) and isinstance(y, float):
            assert y == pytest.approx(x, rel=1e-9, abs=1e-9), key
        else:
            assert x == y, key
    path_a, path_b = full.summary.to_dict()["architecture"]["critical_path"], \
        streamed.summary.to_dict()["architecture"]["critical_path"]
    assert (path_a is None) == (path_b is None)
    if path_a is not None:
        assert path_b["requests"] == pytest.approx(path_a["requests"], rel=0.02, abs=2)
        assert path_b["latency_ms_mean"] == pytest.approx(path_a["latency_ms_mean"], rel=0.05)
        assert {r["component"] for r in path_b["components"]} == {r["component"] for r in path_a["components"]}
    ta, tb = full.timeseries, streamed.timeseries
    assert list(ta.columns) == list(tb.columns)
    for col in ta.columns:
        x, y = ta[col].to_numpy(float), tb[col].to_numpy(float)
        if col.startswith("latency_p"):
            np.testing.assert_allclose(y, x, rtol=RELATIVE_ERROR + 1e-9, err_msg=col)
        else:
            np.testing.assert_allclose(y, x, rtol=1e-9, atol=1e-6, err_msg=col)
    assert streamed.events.equals(full.events)
    assert streamed.requests.empty and streamed.spans.empty


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_scenario_streams_the_full_paths_summary(name):
    sc = load_scenario(SCENARIOS / f"{name}.yaml")
    sc = with_overrides(sc, {"duration_s": min(sc.duration_s, 1200.0), "warmup_s": min(sc.warmup_s, 120.0)})
    assert_summaries_agree(sc)


@pytest.mark.parametrize("variant", ["rejections_and_deadlines", "breaker_cached_retries", "db_overload_lock_outage",
                                     "canary_rolled_back", "api_timeouts_default_fallback"])
def test_stressed_variants_stream_the_full_paths_summary(tiny, variant):
    assert_summaries_agree(with_overrides(tiny, {"duration_s": 120, "warmup_s": 10, **STRESS[variant]}), block=512)


def test_histogram_percentiles_are_within_the_stated_error():
    rng = np.random.default_rng(7)
    for values in (rng.lognormal(4.0, 1.2, 50_000), rng.exponential(30.0, 999), np.array([12.5]),
                   np.array([3.0, 3000.0])):
        from simulator.report.stream import bucket_of

        counts = np.bincount(bucket_of(values), minlength=BUCKETS)
        for q, got in zip((0.5, 0.95, 0.99), quantiles(counts, (0.5, 0.95, 0.99))):
            assert got == pytest.approx(np.percentile(values, q * 100), rel=RELATIVE_ERROR + 1e-12)
    assert RELATIVE_ERROR == pytest.approx(math.sqrt(1.02) - 1)
    assert quantiles(np.zeros(BUCKETS, np.int64), (0.5,)) == [None]


def test_released_rows_hand_their_memory_back_and_the_rest_stays():
    c = Columns(capacity=100_000)
    c.add("t", np.float64, 0.0)
    rows = c.extend(100_000)
    c["t"][rows] = np.arange(100_000) + 1.0
    c.release_before(60_000)
    t = c["t"]
    assert np.all(t[60_000:] == np.arange(60_000, 100_000) + 1.0)  # rows still in use are untouched
    page_rows = 4096 // 8
    assert np.all(t[page_rows:60_000 - page_rows] == 0.0)  # whole pages before the cut read as fresh zeros
    rows = c.extend(10)  # growing keeps what is still in use
    assert np.all(c["t"][60_000:100_000] == np.arange(60_000, 100_000) + 1.0) and c.n == 100_010
