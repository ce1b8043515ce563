"""Execution backends: the same seeds give the same summaries in-process, on a local pool and on Dask."""
import pytest

from simulator.analysis.backends import (
    SCHEDULER_ENV,
    DaskBackend,
    LocalBackend,
    SerialBackend,
    make_backend,
    simulate_summary,
)
from simulator.analysis.experiments import flatten_summary, run_replications
from simulator.scenario.config import with_overrides
from tests.conftest import only_inference


def short_scenario():
    return with_overrides(only_inference(replicas=2), {"duration_s": 60, "warmup_s": 5})


def comparable(summary: dict) -> dict:
    """Everything except the compute time, which is the one thing allowed to differ."""
    return {k: v for k, v in flatten_summary(summary).items() if k != "wall_s"}


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as c:
        yield c


def test_dask_cluster_gives_identical_results_to_the_local_backends(cluster):
    """Two Dask worker processes, a local process pool and this process: identical summaries, in order."""
    payload = short_scenario().model_dump_json()
    tasks = [(payload, seed) for seed in (11, 12, 13, 14)]
    serial = SerialBackend().map(simulate_summary, tasks)
    with DaskBackend(cluster.scheduler_address) as dask:
        assert dask.workers == 2
        remote = dask.map(simulate_summary, tasks)
    with LocalBackend(2, start_method="spawn") as pool:
        local = pool.map(simulate_summary, tasks)
    assert [s["seed"] for s in remote] == [11, 12, 13, 14], "results come back in input order"
    for a, b, c in zip(serial, remote, local):
        assert comparable(a) == comparable(b) == comparable(c)
    # different seeds really are different runs
    assert comparable(serial[0]) != comparable(serial[1])


def test_scheduler_environment_variable_selects_dask(cluster, monkeypatch):
    """With PIPELINE_TWIN_SCHEDULER set, make_backend connects to that scheduler; replications match serial."""
    monkeypatch.setenv(SCHEDULER_ENV, cluster.scheduler_address)
    sc = short_scenario()
    with make_backend() as backend:
        assert isinstance(backend, DaskBackend)
        remote = run_replications(sc, 3, backend=backend)
    local = run_replications(sc, 3, backend=SerialBackend())
    cols = [c for c in local.runs.columns if c != "wall_s"]
    assert remote.runs[cols].equals(local.runs[cols])


def test_without_a_scheduler_the_default_is_a_local_pool_over_all_cores(monkeypatch):
    """No address anywhere: a process pool with one worker per core; workers=1 runs in-process."""
    import os

    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    backend = make_backend()
    assert isinstance(backend, LocalBackend) and backend.workers == (os.cpu_count() or 1)
    backend.close()
    assert isinstance(make_backend(workers=1), SerialBackend)


def test_fork_is_refused():
    """Only spawn or forkserver: fork is unsafe once threads exist."""
    with pytest.raises(ValueError):
        LocalBackend(2, start_method="fork")


def test_unreachable_scheduler_is_a_clear_error():
    """A wrong address fails fast with a message naming it (the CLI turns this into exit 2)."""
    with pytest.raises(ConnectionError, match="127.0.0.1:9"):
        DaskBackend("tcp://127.0.0.1:9", connect_timeout_s=1)
