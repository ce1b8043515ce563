"""Kafka-like stream ingestion and scheduled batch jobs (mechanisms.md section 6)."""
import numpy as np
import pytest

from simulator.runner import run
from simulator.scenario.config import with_overrides


def stream(tiny, **kw):
    base = {"ingestion.mode": "stream", "feature_store.mode": "off", "external_api.enabled": False,
            "inference.enabled": False, "ingestion.stream.process_ms": 20}
    base.update({f"ingestion.stream.{k}": v for k, v in kw.items()})
    return with_overrides(tiny, base)


def test_parallelism_is_capped_by_partitions(tiny):
    """With 2 partitions, 8 consumers behave exactly like 2 (the extra 6 get no partition)."""
    a = run(stream(tiny, partitions=2, consumers=2), seed=1).requests
    b = run(stream(tiny, partitions=2, consumers=8), seed=1).requests
    np.testing.assert_array_equal(a["ingestion_wait_ms"], b["ingestion_wait_ms"])
    c = run(stream(tiny, partitions=4, consumers=4), seed=1).requests
    assert c["ingestion_wait_ms"].mean() < 0.5 * a["ingestion_wait_ms"].mean()


def test_one_consumer_per_partition_is_fifo(tiny):
    """A single consumer processes messages in arrival order (Lindley recursion holds)."""
    req = run(stream(tiny, partitions=1, consumers=1), seed=2).requests
    start = req["arrival_s"] + req["ingestion_wait_ms"] / 1000
    end = start + req["ingestion_service_ms"] / 1000
    assert (np.diff(start.to_numpy()) >= -1e-12).all()
    assert (start.to_numpy()[1:] >= end.to_numpy()[:-1] - 1e-9).all()


def test_lag_grows_during_overload_and_drains_after(tiny):
    """Arrivals above consumer capacity build lag; it drains once the spike is over."""
    sc = with_overrides(stream(tiny, partitions=2, consumers=2, process_ms=20),
                        {"duration_s": 600, "traffic.rate_per_s": 60,
                         "traffic.spikes": [{"name": "surge", "start_s": 100, "multiplier": 2.0,
                                             "ramp_s": 0, "duration_s": 100}]})
    ts = run(sc, seed=3).timeseries
    before = ts[(ts.t_s >= 50) & (ts.t_s < 100)]["ingestion_backlog"].mean()
    during = ts[(ts.t_s >= 180) & (ts.t_s < 200)]["ingestion_backlog"].mean()
    after = ts[(ts.t_s >= 500)]["ingestion_backlog"].mean()
    # capacity 100/s, spike 120/s for 100 s: about 2000 messages of lag at the end of the spike
    assert during > 1000 > 20 * before
    assert after < 0.05 * during


def test_no_decision_before_its_batch_runs(tiny):
    """Batch: every decision comes after the first job trigger that follows its arrival."""
    sc = with_overrides(tiny, {"ingestion.mode": "batch", "duration_s": 400,
                               "ingestion.batch.interval_s": 60, "ingestion.batch.throughput_per_s": 5000,
                               "ingestion.batch.startup_s": 5})
    result = run(sc, seed=4)
    req = result.requests
    done = req[req.outcome == "ok"]
    assert len(done) > 1000
    trigger = np.ceil(done["arrival_s"] / 60) * 60
    assert (done["end_s"] >= trigger + 5).all()
    assert result.summary.events["batch_job_started"] == 6


def test_batch_overrun_starts_next_job_at_once(tiny):
    """A job longer than the interval makes the next one start as soon as it ends (Spark trigger rule)."""
    sc = with_overrides(tiny, {"ingestion.mode": "batch", "duration_s": 300, "traffic.rate_per_s": 50,
                               "ingestion.batch.interval_s": 60, "ingestion.batch.throughput_per_s": 20,
                               "ingestion.batch.startup_s": 0, "inference.enabled": False})
    ev = run(sc, seed=5).events
    starts = ev[ev.kind == "batch_job_started"]["t_s"].to_numpy()
    ends = ev[ev.kind == "batch_job_finished"]["t_s"].to_numpy()
    assert starts[0] == pytest.approx(60)
    # the first job holds ~3000 records at 20/s = ~150 s, so the second starts when it ends
    assert starts[1] == pytest.approx(ends[0])
