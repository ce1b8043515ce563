"""Run simulations in worker processes so the dashboard never freezes (no streamlit here).

SimPy is CPU-bound and holds the GIL, so a run in the server's own process would stall
every session. A :class:`Runner` owns a small ``spawn`` process pool (fork is unsafe in a
threaded web server) and one progress queue shared by its workers: each worker reports
``(job_id, fraction)`` and any poller drains the queue into a dict, so several sessions can
poll at once. Jobs are keyed by the run key: a rerun of the page (the user moved a slider
while a run was going) finds the job already in flight instead of starting it again.
"""
from __future__ import annotations

import itertools
import multiprocessing as mp
import queue
import threading
from concurrent.futures import Future, ProcessPoolExecutor

from simulator.report.results import RunResult
from simulator.runner import run
from simulator.scenario.config import Scenario, ScenarioError

_progress_queue = None


def _init_worker(progress_queue) -> None:
    global _progress_queue
    _progress_queue = progress_queue


def simulate(scenario: Scenario, seed: int, job_id: str) -> RunResult | list[str]:
    """Worker entry point: the run's result, or the ScenarioError lines for bad input.

    Errors are returned as plain lines because ScenarioError does not survive pickling with
    its ``lines`` intact.
    """
    def report(fraction: float) -> None:
        if _progress_queue is not None:
            try:
                _progress_queue.put_nowait((job_id, float(fraction)))
            except Exception:  # a full or closed queue must never break a run
                pass

    try:
        return run(scenario, seed, progress=report)
    except ScenarioError as err:
        return list(err.lines)


class Runner:
    """A process pool plus the bookkeeping to poll progress and share in-flight jobs."""

    def __init__(self, workers: int = 2):
        ctx = mp.get_context("spawn")
        self.queue = ctx.Queue()
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                        initargs=(self.queue,))
        self.lock = threading.Lock()
        self.inflight: dict[str, tuple[str, Future]] = {}
        self.progress: dict[str, float] = {}
        self._ids = itertools.count()

    def submit(self, key: str, scenario: Scenario, seed: int) -> tuple[str, Future]:
        """The job for ``key``: the one already in flight, or a new one."""
        with self.lock:
            job = self.inflight.get(key)
            if job is not None and not job[1].cancelled():
                return job
            job_id = f"{key[:12]}-{next(self._ids)}"
            future = self.pool.submit(simulate, scenario, int(seed), job_id)
            self.inflight[key] = (job_id, future)
            return job_id, future

    def fraction_done(self, job_id: str) -> float:
        """Latest progress reported for ``job_id`` (0 until the worker's first report)."""
        with self.lock:
            while True:
                try:
                    jid, frac = self.queue.get_nowait()
                except (queue.Empty, OSError, EOFError):
                    break
                self.progress[jid] = frac
            return self.progress.get(job_id, 0.0)

    def finish(self, key: str) -> None:
        """Forget a finished job (its result now lives in the result cache)."""
        with self.lock:
            job = self.inflight.pop(key, None)
            if job is not None:
                self.progress.pop(job[0], None)

    def cancel_pending(self, keys: set[str]) -> None:
        """Cancel jobs that have not started yet (the user already asked for something else)."""
        with self.lock:
            for key in keys:
                job = self.inflight.get(key)
                if job is not None and job[1].cancel():
                    self.inflight.pop(key, None)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


class ResultCache:
    """A small LRU of finished runs, bounded by entries and by total request rows (memory)."""

    def __init__(self, max_entries: int = 12, max_rows: int = 4_000_000):
        self.max_entries = max_entries
        self.max_rows = max_rows
        self.lock = threading.Lock()
        self._items: dict[str, RunResult] = {}

    def get(self, key: str) -> RunResult | None:
        with self.lock:
            result = self._items.pop(key, None)
            if result is not None:
                self._items[key] = result  # most recently used goes last
            return result

    def put(self, key: str, result: RunResult) -> None:
        with self.lock:
            self._items.pop(key, None)
            self._items[key] = result
            while len(self._items) > 1 and (len(self._items) > self.max_entries or self._rows() > self.max_rows):
                self._items.pop(next(iter(self._items)))

    def _rows(self) -> int:
        return sum(len(r.requests) for r in self._items.values())

    def __len__(self) -> int:
        return len(self._items)
