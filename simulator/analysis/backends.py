"""Where replications run: in this process, on a local process pool, or on a Dask cluster.

Why: replications and sweep points are independent, so they parallelise perfectly. Every
backend runs the same work unit, :func:`simulate_summary` (scenario JSON, seed) -> summary
dict, and returns results in input order, so a result never depends on where it ran: the
seed alone fixes the random numbers (only ``wall_s``, the compute time, differs).

- ``SerialBackend``: in this process (tests, the dashboard, one replication).
- ``LocalBackend``: ``concurrent.futures.ProcessPoolExecutor`` over all cores. The start
  method (``spawn`` or ``forkserver``; never ``fork``, which is unsafe with threads) is an
  argument chosen by the entry point; nothing is configured at import time.
- ``DaskBackend``: a Dask distributed cluster, chosen with ``--scheduler tcp://HOST:PORT``
  or the ``PIPELINE_TWIN_SCHEDULER`` environment variable. Start one with::

      cd /path/to/pipeline-twin
      PYTHONPATH=. .venv/bin/dask scheduler                          # prints tcp://HOST:8786
      PYTHONPATH=. .venv/bin/dask worker tcp://HOST:8786 --nthreads 1 --nworkers 2  # each machine
      .venv/bin/python -m simulator sweep baseline --grid ... --scheduler tcp://HOST:8786

  Both the scheduler and the workers must import ``simulator`` (recent Dask versions
  deserialise the task graph on the scheduler), hence ``PYTHONPATH`` pointing at the project
  root, with the same pinned packages; replay CSV files must exist at the same absolute path.
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Protocol

SCHEDULER_ENV = "PIPELINE_TWIN_SCHEDULER"

Progress = Callable[[int, int], None]


def simulate_summary(scenario_json: str, seed: int) -> dict:
    """The work unit: simulate once and return the summary dict (picklable, module level).

    Adds ``warmup_series`` (the run's per-bin mean latency, a few hundred numbers) so that
    replications can run MSER-5 on the average over replications (see experiments.py).
    """
    from simulator.analysis.stats import warmup_series
    from simulator.runner import run
    from simulator.scenario.config import Scenario

    scenario = Scenario.model_validate_json(scenario_json)
    result = run(scenario, seed, frames=False)  # the summary-only path: no requests frame, no spans
    summary = dict(result.summary)
    summary["warmup_series"] = warmup_series(result.timeseries)
    return summary


class BackendError(RuntimeError):
    """The execution backend cannot run the work (e.g. a Dask cluster without the simulator code)."""


class Backend(Protocol):
    """Runs ``fn(*args)`` for every args tuple and returns the results in input order."""

    name: str
    workers: int

    def map(self, fn: Callable, tasks: Sequence[tuple], progress: Progress | None = None) -> list: ...

    def close(self) -> None: ...


class _Closing:
    """Context-manager support shared by the backends."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        pass


class SerialBackend(_Closing):
    """One task after another in this process: no start-up cost, no parallelism."""

    name = "serial"
    workers = 1

    def map(self, fn: Callable, tasks: Sequence[tuple], progress: Progress | None = None) -> list:
        out = []
        for i, args in enumerate(tasks):
            out.append(fn(*args))
            if progress is not None:
                progress(i + 1, len(tasks))
        return out


class LocalBackend(_Closing):
    """A process pool on this machine; the pool starts on first use and is reused until closed."""

    name = "local"

    def __init__(self, workers: int | None = None, start_method: str = "forkserver"):
        if start_method not in ("spawn", "forkserver"):
            raise ValueError(f"start_method must be 'spawn' or 'forkserver', got {start_method!r}")
        if start_method not in multiprocessing.get_all_start_methods():
            start_method = "spawn"  # e.g. Windows and macOS without forkserver
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.start_method = start_method
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = multiprocessing.get_context(self.start_method)
            if self.start_method == "forkserver":
                # the server imports these once; each worker is then a cheap fork of it
                ctx.set_forkserver_preload(["simulator.analysis.backends", "simulator.runner", "simulator.analysis.experiments"])
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=_one_thread_each)
        return self._pool

    def warm_up(self) -> None:
        """Start every worker, import the simulator and load its kernels there (timings exclude start-up)."""
        pool = self._executor()
        list(pool.map(_import_simulator, range(self.workers * 2)))

    def map(self, fn: Callable, tasks: Sequence[tuple], progress: Progress | None = None) -> list:
        if not tasks:
            return []
        pool = self._executor()
        futures = {pool.submit(fn, *args): i for i, args in enumerate(tasks)}
        out: list = [None] * len(tasks)
        for done, fut in enumerate(as_completed(futures), start=1):
            out[futures[fut]] = fut.result()
            if progress is not None:
                progress(done, len(tasks))
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _one_thread_each() -> None:
    """A worker runs one replication at a time on one core: its numeric libraries get one thread
    each (otherwise two workers' BLAS threads fight over the same cores)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _import_simulator(_: int) -> bool:
    """Import the simulator and load its compiled kernels in this worker."""
    import time

    import simulator.runner  # noqa: F401
    from simulator.engine.kernel import warm_up

    warm_up()
    time.sleep(0.2)  # stay busy a moment, so the pool hands the other warm-up tasks to the other workers
    return True


class DaskBackend(_Closing):
    """Tasks on a Dask distributed cluster (an address, or an existing ``Client``)."""

    name = "dask"

    def __init__(self, scheduler: str | object, connect_timeout_s: float = 10.0):
        from dask.distributed import Client

        if isinstance(scheduler, str):
            try:
                self.client = Client(scheduler, timeout=f"{connect_timeout_s}s")
            except (OSError, TimeoutError) as err:
                raise ConnectionError(f"could not reach the Dask scheduler at {scheduler}: {err}") from None
            self._owns_client = True
        else:
            self.client = scheduler
            self._owns_client = False
        self.address = getattr(self.client, "scheduler", None) and self.client.scheduler.address
        self._check_workers(max(30.0, connect_timeout_s))

    def _check_workers(self, timeout_s: float) -> None:
        """Fail fast (instead of hanging) when no worker joins or the workers lack the simulator code."""
        try:
            self.client.wait_for_workers(1, timeout=timeout_s)
        except Exception:  # distributed raises its own TimeoutError type here
            self.close()
            raise BackendError(f"no worker joined the Dask cluster at {self.address} within {timeout_s:g} s") from None
        try:
            self.client.submit(_import_simulator, 0, pure=False).result(timeout=timeout_s)
        except Exception:  # a worker without the code dies on the task, or the scheduler refuses it
            self.close()
            raise BackendError(f"the Dask cluster at {self.address} cannot run the simulator; start its scheduler "
                               f"and workers from the project root with PYTHONPATH=. (see simulator/backends.py)"
                               ) from None

    @property
    def workers(self) -> int:
        threads = self.client.nthreads()
        return max(1, sum(threads.values()))

    def map(self, fn: Callable, tasks: Sequence[tuple], progress: Progress | None = None) -> list:
        from dask.distributed import as_completed as dask_completed

        if not tasks:
            return []
        columns = list(zip(*tasks))
        # pure=False: equal arguments are still separate replications, never deduplicated
        futures = self.client.map(fn, *columns, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        out: list = [None] * len(tasks)
        try:
            for done, fut in enumerate(dask_completed(futures), start=1):
                out[index[fut.key]] = fut.result()
                if progress is not None:
                    progress(done, len(tasks))
        except (RuntimeError, ImportError) as err:
            text = f"{err} {err.__cause__ or ''}"
            if "No module named" in text or "deserializ" in text:
                raise BackendError(f"the Dask cluster at {self.address} cannot import the simulator; start its "
                                   f"scheduler and workers with PYTHONPATH set to the project root") from None
            raise
        return out

    def close(self) -> None:
        if self._owns_client:
            self.client.close()


def make_backend(scheduler: str | None = None, workers: int | None = None,
                 start_method: str = "forkserver") -> SerialBackend | LocalBackend | DaskBackend:
    """The backend an entry point asked for: Dask if a scheduler address is given (argument,
    else the ``PIPELINE_TWIN_SCHEDULER`` environment variable), else a local process pool
    (``workers`` processes, default all cores; 1 means in this process)."""
    address = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if address:
        return DaskBackend(address)
    if workers == 1:
        return SerialBackend()
    return LocalBackend(workers, start_method=start_method)

