"""Run simulations in a bounded pool of worker processes that the server supervises (no streamlit here).

SimPy is CPU-bound and holds the GIL, so a run in the server's own process would stall every
session; a runaway run, a crashed worker or an abandoned browser tab must not either. The
:class:`Runner` therefore owns its worker processes directly (not a ``ProcessPoolExecutor``,
which breaks for good when one worker dies) and a supervisor thread that:

* hands queued jobs to idle workers, the session with the fewest running jobs first, and keeps
  one worker free of long jobs when there are two or more (so a runaway upload never takes the
  whole pool while someone else waits for an ordinary run);
* kills a worker whose job exceeds the wall-time budget, whose every watching session went
  away, or which died on its own, and starts a replacement at once: a run never falls back to
  the server's process;
* records why a job failed in words the page can show.

Sessions talk to it through :meth:`Runner.submit` (with a per-session limit on unfinished
jobs), :meth:`Runner.poll` (which is also the session's heartbeat) and :meth:`Runner.release`.
Each worker runs with a memory limit (``RLIMIT_DATA``) and under the dashboard's budget, so a
run that outgrows its estimate ends in a MemoryError inside the worker, not in the server.
"""
from __future__ import annotations

import atexit
import itertools
import logging
import multiprocessing as mp
import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any

from simulator.report.results import RunResult
from simulator.scenario.budget import Budget, advice, use_budget
from simulator.scenario.config import Scenario, ScenarioError

LOG = logging.getLogger("pipeline_twin.worker")

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
SUPERVISE_S = 0.05


class QueueFull(ScenarioError):
    """This session already has as many unfinished runs as it may."""


# --------------------------------------------------------------------------- inside the worker
def simulate(scenario: Scenario, seed: int, progress: Callable[[float], None]) -> RunResult:
    """Job function of a dashboard run: one simulation with progress reports, kept in the disk cache
    by a thread of the worker while the result travels back to the server (the page does not wait
    for the write)."""
    from simulator.runner import run
    from simulator.store.run_cache import RunCache

    result = run(scenario, seed, progress=progress)
    threading.Thread(target=RunCache().put, args=(result,), name="pipeline-twin-keep").start()
    return result


def _limit_memory(limit_bytes: int) -> None:
    if limit_bytes <= 0:
        return
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_DATA, (limit_bytes, limit_bytes))
    except (ImportError, ValueError, OSError):  # not on this platform: the budget check still applies
        pass


def _worker_main(conn, memory_limit_bytes: int, budget: Budget) -> None:
    """A worker process: import once, then run jobs sent over ``conn`` until told to stop."""
    _limit_memory(memory_limit_bytes)
    import simulator.runner  # noqa: F401  (the slow imports happen before the worker reports ready)

    conn.send(("ready", None, None))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        job_id, fn, args, with_progress = message
        last = [0.0]

        def progress(fraction: float, job_id=job_id, last=last) -> None:
            now = time.monotonic()
            if now - last[0] >= 0.2:
                last[0] = now
                conn.send(("progress", job_id, float(fraction)))

        try:
            with use_budget(budget):
                result = fn(*args, progress=progress) if with_progress else fn(*args)
            reply = ("done", job_id, result)
        except ScenarioError as err:
            reply = ("refused", job_id, list(err.lines))
        except MemoryError:
            reply = ("refused", job_id, ["max_requests: the run needed more memory than a dashboard run may use; "
                                         "make it smaller (traffic.rate_per_s, duration_s)"])
        except Exception as err:  # a bug: the page gets an error id, the log the traceback
            reply = ("error", job_id, (f"{type(err).__name__}: {str(err)[:300]}", traceback.format_exc()))
        try:
            conn.send(reply)
        except MemoryError:
            conn.send(("refused", job_id, ["max_requests: the result is too large to send back; make the run "
                                           "smaller (traffic.rate_per_s, duration_s)"]))


# --------------------------------------------------------------------------- in the server
@dataclass
class Job:
    """One unit of work and what the sessions waiting for it need to know."""

    key: str
    fn: Callable
    args: tuple
    with_progress: bool
    long: bool
    submitted_s: float
    hint: str = ""                 # the scenario field that drives the run's cost (for messages)
    watchers: dict[str, float] = field(default_factory=dict)  # session id -> last heartbeat
    job_id: str = ""
    state: str = QUEUED
    fraction: float = 0.0
    result: Any = None
    problem: list[str] = field(default_factory=list)  # why it failed, in words for the page
    kind: str = ""                 # refused | crashed | timeout | error
    started_s: float = 0.0
    finished_s: float = 0.0
    abandoned_s: float | None = None


@dataclass
class _Worker:
    process: Any
    conn: Any
    job: Job | None = None
    ready: bool = False


class Runner:
    """A supervised, bounded pool of worker processes shared by every session of the server."""

    def __init__(self, workers: int = 2, *, run_timeout_s: float = 180.0, memory_limit_bytes: int = 0,
                 budget: Budget | None = None, per_session_limit: int = 8, grace_s: float = 2.0,
                 heartbeat_timeout_s: float = 30.0):
        self.size = max(1, int(workers))
        self.run_timeout_s = run_timeout_s
        self.memory_limit_bytes = int(memory_limit_bytes)
        self.budget = budget or Budget()
        self.per_session_limit = per_session_limit
        self.grace_s = grace_s
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.ctx = mp.get_context("spawn")
        self.lock = threading.Lock()
        self.jobs: dict[str, Job] = {}
        self.workers: list[_Worker] = []
        self.replaced = 0            # workers started to replace a crashed or killed one
        self._ids = itertools.count()
        self._closed = False
        for _ in range(self.size):
            self.workers.append(self._start_worker())
        self._thread = threading.Thread(target=self._supervise, name="pipeline-twin-runner", daemon=True)
        self._thread.start()
        atexit.register(self.shutdown)  # before multiprocessing's own exit handler: no replacements at exit

    # ------------------------------------------------------------------ sessions
    def submit(self, key: str, fn: Callable, args: tuple, session: str, *, with_progress: bool = False,
               long: bool = False, hint: str = "") -> Job:
        """The job for ``key``: the one already queued, running or finished (and not yet collected by
        everyone waiting for it, e.g. the background warm-up), or a new one."""
        now = time.monotonic()
        with self.lock:
            job = self.jobs.get(key)
            if job is not None and job.state in (QUEUED, RUNNING, DONE):
                job.watchers[session] = now
                job.abandoned_s = None
                return job
            mine = sum(1 for j in self.jobs.values() if j.state in (QUEUED, RUNNING) and session in j.watchers)
            if mine >= self.per_session_limit:
                raise QueueFull([f"You already have {mine} simulations running or waiting (at most "
                                 f"{self.per_session_limit} per browser tab); wait for them to finish."])
            job = Job(key, fn, args, with_progress, long, now, hint, {session: now})
            job.job_id = f"{key[:12]}-{next(self._ids)}"
            self.jobs[key] = job
            return job

    def poll(self, keys: list[str], session: str) -> list[Job]:
        """The jobs for ``keys`` (their state and progress), marking the session as still waiting."""
        now = time.monotonic()
        with self.lock:
            out = []
            for key in keys:
                job = self.jobs.get(key)
                if job is not None and session in job.watchers:
                    job.watchers[session] = now
                out.append(job)
            return out

    def collect(self, key: str, session: str) -> None:
        """The session has taken a finished (or failed) job; forget the job once nobody else waits."""
        with self.lock:
            job = self.jobs.get(key)
            if job is None:
                return
            job.watchers.pop(session, None)
            if job.state in (DONE, FAILED) and not job.watchers:
                del self.jobs[key]

    def release(self, keys, session: str) -> None:
        """The session no longer waits for ``keys``; a job nobody waits for is cancelled after a grace."""
        now = time.monotonic()
        with self.lock:
            for key in keys:
                job = self.jobs.get(key)
                if job is not None and job.watchers.pop(session, None) is not None and not job.watchers:
                    job.abandoned_s = now

    def status(self) -> dict:
        """Pool health for the page and the tests: workers alive and busy, jobs waiting, replacements."""
        with self.lock:
            return {"workers": len(self.workers), "alive": sum(w.process.is_alive() for w in self.workers),
                    "busy": sum(w.job is not None for w in self.workers),
                    "queued": sum(j.state == QUEUED for j in self.jobs.values()), "replaced": self.replaced,
                    "pids": [w.process.pid for w in self.workers]}

    def shutdown(self) -> None:
        with self.lock:
            self._closed = True
            for w in self.workers:
                self._stop(w)
            self.workers = []

    # ------------------------------------------------------------------ supervisor
    def _start_worker(self) -> _Worker:
        parent, child = self.ctx.Pipe()
        process = self.ctx.Process(target=_worker_main, args=(child, self.memory_limit_bytes, self.budget),
                                   name="pipeline-twin-worker", daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def _stop(self, w: _Worker) -> None:
        try:
            w.process.kill()
            w.process.join(timeout=5)
        except (OSError, ValueError, AssertionError):
            pass
        w.conn.close()

    def _replace(self, w: _Worker, why: str) -> None:
        LOG.warning("replacing worker pid %s: %s", w.process.pid, why)
        self._stop(w)
        self.workers[self.workers.index(w)] = self._start_worker()
        self.replaced += 1

    def _fail(self, job: Job, kind: str, lines: list[str]) -> None:
        job.state, job.kind, job.problem = FAILED, kind, lines
        job.finished_s = time.monotonic()
        job.result = None

    def _supervise(self) -> None:
        while not self._closed:
            with self.lock:
                waitables = [w.conn for w in self.workers] + [w.process.sentinel for w in self.workers]
            try:
                wait(waitables, timeout=SUPERVISE_S)
            except OSError:
                time.sleep(SUPERVISE_S)
            with self.lock:
                if self._closed:
                    return
                try:
                    self._step(time.monotonic())
                except Exception:  # the supervisor must survive anything; log it and go on
                    LOG.exception("worker supervisor step failed")

    def _step(self, now: float) -> None:
        for w in list(self.workers):
            self._read(w)
        for w in list(self.workers):
            if not w.process.is_alive():
                code = w.process.exitcode
                how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
                if w.job is not None:
                    self._fail(w.job, "crashed", [
                        f"The background worker running this simulation stopped unexpectedly ({how}). "
                        f"A fresh worker has been started; press Try again to run the simulation once more."])
                    LOG.error("worker pid %s died during job %s (%s)", w.process.pid, w.job.job_id, how)
                self._replace(w, how)
            elif w.job is not None and now - w.job.started_s > self.run_timeout_s:
                job = w.job
                smaller = advice(job.hint) if job.hint else "lower traffic.rate_per_s or shorten duration_s"
                self._fail(job, "timeout", [
                    f"{job.hint + ': ' if job.hint else ''}this simulation was stopped after "
                    f"{self.run_timeout_s:.0f} s, the time one dashboard run may take; {smaller}, or run it with "
                    f"the command line, which has no time limit."])
                self._replace(w, f"job {job.job_id} exceeded {self.run_timeout_s:.0f} s")
        for key, job in list(self.jobs.items()):
            for session, seen in list(job.watchers.items()):
                if now - seen > self.heartbeat_timeout_s:  # the session stopped asking: it is gone
                    del job.watchers[session]
                    if not job.watchers:
                        job.abandoned_s = now - self.grace_s
            gone = not job.watchers and job.abandoned_s is not None and now - job.abandoned_s >= self.grace_s
            if job.state == QUEUED and gone:
                del self.jobs[key]
            elif job.state == RUNNING and gone:
                worker = next(w for w in self.workers if w.job is job)
                del self.jobs[key]
                self._replace(worker, f"nobody waits for job {job.job_id} any more")
            elif job.state in (DONE, FAILED) and not job.watchers:
                del self.jobs[key]
        self._assign()

    def _read(self, w: _Worker) -> None:
        """Drain the messages a worker sent: ready, progress, and finished jobs."""
        try:
            while w.conn.poll():
                kind, job_id, payload = w.conn.recv()
                if kind == "ready":
                    w.ready = True
                    continue
                job = w.job
                if job is None or job.job_id != job_id:
                    continue
                if kind == "progress":
                    job.fraction = payload
                    continue
                w.job = None
                if kind == "done":
                    job.state, job.result, job.fraction, job.finished_s = DONE, payload, 1.0, time.monotonic()
                elif kind == "refused":
                    self._fail(job, "refused", payload)
                else:
                    error_id = job.job_id
                    LOG.error("simulation %s failed: %s\n%s", error_id, payload[0], payload[1])
                    self._fail(job, "error", [f"The simulation failed with an internal error (error id {error_id}); "
                                              f"the details are in the server's log."])
        except (EOFError, OSError, ValueError):
            pass  # the process died mid-message: the liveness check replaces it

    def _assign(self) -> None:
        idle = [w for w in self.workers if w.ready and w.job is None and w.process.is_alive()]
        if not idle:
            return
        queued = sorted((j for j in self.jobs.values() if j.state == QUEUED), key=lambda j: j.submitted_s)
        running = [w.job for w in self.workers if w.job is not None]
        long_cap = max(1, self.size - 1)
        for w in idle:
            per_session: dict[str, int] = {}
            for j in running:
                for s in j.watchers:
                    per_session[s] = per_session.get(s, 0) + 1
            long_running = sum(1 for j in running if j.long)
            candidates = [j for j in queued if not (j.long and long_running >= long_cap)]
            if not candidates:
                return
            job = min(candidates, key=lambda j: (min((per_session.get(s, 0) for s in j.watchers), default=0),
                                                 j.submitted_s))
            queued.remove(job)
            try:
                w.conn.send((job.job_id, job.fn, job.args, job.with_progress))
            except (OSError, ValueError):
                continue  # a dead worker: replaced on the next step, the job stays queued
            job.state, job.started_s, w.job = RUNNING, time.monotonic(), job
            running.append(job)


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

    def has_room(self, results: list[RunResult]) -> bool:
        """Whether ``results`` fit beside what is kept, without pushing anything out."""
        with self.lock:
            rows = self._rows() + sum(len(r.requests) for r in results)
            return len(self._items) + len(results) <= self.max_entries and rows <= self.max_rows

    def _rows(self) -> int:
        return sum(len(r.requests) for r in self._items.values())

    def __len__(self) -> int:
        return len(self._items)


def default_pool_size(memory_per_worker_bytes: float) -> int:
    """Workers bounded by the cores and by how many worker memory limits fit in 80 % of the memory."""
    import psutil

    cores = os.cpu_count() or 1
    fit = int(psutil.virtual_memory().total * 0.8 // max(memory_per_worker_bytes, 1))
    return max(1, min(cores, fit))
