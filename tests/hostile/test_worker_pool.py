"""The dashboard's worker pool under runaway runs, killed workers, abandoned sessions and greedy users.

Real worker processes (spawned, as in the server) run small job functions; the Runner's
supervisor must stop what exceeds its time, replace what died, cancel what nobody waits for,
keep a worker free of long jobs, and turn a memory blow-up into a refusal.
"""
import os
import signal
import time

import pytest

from dashboard.worker import DONE, FAILED, QUEUED, RUNNING, QueueFull, Runner
from tests.hostile import pool_jobs

TIMEOUT_S = 4.0


@pytest.fixture(scope="module")
def runner():
    pool = Runner(workers=2, run_timeout_s=TIMEOUT_S, memory_limit_bytes=2 * 2**30, per_session_limit=3,
                  grace_s=0.5)
    deadline = time.monotonic() + 120
    while not all(w.ready for w in pool.workers):  # wait for both workers' imports
        assert time.monotonic() < deadline
        time.sleep(0.1)
    yield pool
    pool.shutdown()


def wait_for(runner, key, session, states, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        (job,) = runner.poll([key], session)
        if job is not None and job.state in states:
            return job
        assert time.monotonic() < deadline, (key, job and job.state)
        time.sleep(0.05)


def wait_idle(runner, timeout=60.0):
    deadline = time.monotonic() + timeout
    while runner.status()["busy"] or runner.status()["alive"] < runner.size or \
            not all(w.ready for w in runner.workers):
        assert time.monotonic() < deadline, runner.status()
        time.sleep(0.1)


def test_a_run_over_its_time_is_stopped_and_its_worker_replaced(runner):
    wait_idle(runner)
    before = runner.status()
    job = runner.submit("slow", pool_jobs.sleep_for, (60,), "s1")
    running = wait_for(runner, "slow", "s1", (RUNNING,))
    job = wait_for(runner, "slow", "s1", (DONE, FAILED), timeout=TIMEOUT_S + 30)
    assert job.state == FAILED and job.kind == "timeout"
    assert f"{TIMEOUT_S:.0f} s" in job.problem[0] and "command line" in job.problem[0]
    assert "traffic.rate_per_s" in job.problem[0]  # no hint given: the usual advice
    assert time.monotonic() - running.started_s < TIMEOUT_S + 5
    runner.collect("slow", "s1")
    after = runner.status()
    assert after["replaced"] == before["replaced"] + 1 and after["workers"] == 2
    wait_idle(runner)
    runner.submit("quick", pool_jobs.sleep_for, (0.01,), "s1")
    assert wait_for(runner, "quick", "s1", (DONE, FAILED)).result == 0.01
    runner.collect("quick", "s1")


def test_a_killed_worker_fails_its_job_with_a_message_and_is_replaced(runner):
    wait_idle(runner)
    runner.submit("victim", pool_jobs.sleep_for, (60,), "s2")
    wait_for(runner, "victim", "s2", (RUNNING,))
    pid = next(w.process.pid for w in runner.workers if w.job is not None)
    os.kill(pid, signal.SIGKILL)
    job = wait_for(runner, "victim", "s2", (DONE, FAILED), timeout=10)
    assert job.state == FAILED and job.kind == "crashed"
    assert "stopped unexpectedly (killed by signal 9)" in job.problem[0] and "fresh worker" in job.problem[0]
    runner.collect("victim", "s2")
    assert pid not in runner.status()["pids"] and runner.status()["workers"] == 2
    wait_idle(runner)
    runner.submit("after", pool_jobs.sleep_for, (0.02,), "s2")
    assert wait_for(runner, "after", "s2", (DONE,)).result == 0.02
    runner.collect("after", "s2")


def test_a_job_nobody_waits_for_is_cancelled(runner):
    wait_idle(runner)
    replaced = runner.status()["replaced"]
    runner.submit("abandoned", pool_jobs.sleep_for, (60,), "s3")
    wait_for(runner, "abandoned", "s3", (RUNNING,))
    runner.release(["abandoned"], "s3")
    deadline = time.monotonic() + 10
    while "abandoned" in runner.jobs:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert runner.status()["replaced"] == replaced + 1  # its worker was stopped, not left running


def test_a_session_that_comes_back_within_the_grace_keeps_its_job(runner):
    wait_idle(runner)
    runner.submit("page-switch", pool_jobs.sleep_for, (1.0,), "s4")
    runner.release(["page-switch"], "s4")
    runner.submit("page-switch", pool_jobs.sleep_for, (1.0,), "s4")  # the next script run asks again
    assert wait_for(runner, "page-switch", "s4", (DONE, FAILED)).state == DONE
    runner.collect("page-switch", "s4")


def test_a_finished_job_not_yet_collected_is_shared_not_run_again(runner):
    """The warm-up holds a finished job until its run is on disk; a page asking meanwhile gets that result."""
    wait_idle(runner)
    first = runner.submit("shared", pool_jobs.sleep_for, (0.2,), "warm-up")
    assert wait_for(runner, "shared", "warm-up", (DONE,)).state == DONE
    second = runner.submit("shared", pool_jobs.sleep_for, (0.2,), "page")
    assert second is first and second.state == DONE and second.result == 0.2
    runner.collect("shared", "warm-up")
    runner.collect("shared", "page")
    third = runner.submit("shared", pool_jobs.sleep_for, (0.2,), "page")  # collected by all: a new job
    assert third is not first
    assert wait_for(runner, "shared", "page", (DONE,)).state == DONE
    runner.collect("shared", "page")


def test_a_session_may_not_queue_more_than_its_limit(runner):
    wait_idle(runner)
    for i in range(3):
        runner.submit(f"mine-{i}", pool_jobs.sleep_for, (0.5,), "greedy")
    with pytest.raises(QueueFull) as err:
        runner.submit("mine-3", pool_jobs.sleep_for, (0.5,), "greedy")
    assert "at most 3" in err.value.lines[0]
    runner.submit("other", pool_jobs.sleep_for, (0.01,), "polite")  # another session is not affected
    for key, session in [(f"mine-{i}", "greedy") for i in range(3)] + [("other", "polite")]:
        assert wait_for(runner, key, session, (DONE,)).state == DONE
        runner.collect(key, session)


def test_long_jobs_never_take_the_last_free_worker(runner):
    """Two long jobs from one session and then a short one from another: the short one runs at once."""
    wait_idle(runner)
    runner.submit("long-1", pool_jobs.sleep_for, (3.0,), "a", long=True)
    runner.submit("long-2", pool_jobs.sleep_for, (3.0,), "a", long=True)
    wait_for(runner, "long-1", "a", (RUNNING,))
    time.sleep(0.3)
    (second,) = runner.poll(["long-2"], "a")
    assert second.state == QUEUED
    t0 = time.monotonic()
    runner.submit("short", pool_jobs.sleep_for, (0.01,), "b")
    assert wait_for(runner, "short", "b", (DONE,)).state == DONE
    assert time.monotonic() - t0 < 2.0
    runner.collect("short", "b")
    for key in ("long-1", "long-2"):
        assert wait_for(runner, key, "a", (DONE,), timeout=30).state == DONE
        runner.collect(key, "a")


def test_memory_blow_up_is_a_refusal_and_the_worker_survives(runner):
    wait_idle(runner)
    pids = runner.status()["pids"]
    runner.submit("hog", pool_jobs.allocate, (6 * 2**30,), "s5")
    job = wait_for(runner, "hog", "s5", (DONE, FAILED), timeout=30)
    assert job.state == FAILED and job.kind == "refused" and job.problem[0].startswith("max_requests:")
    runner.collect("hog", "s5")
    assert runner.status()["pids"] == pids


def test_refusals_and_bugs_come_back_as_lines(runner, caplog):
    """A refusal keeps its lines; a bug gives the page an error id and the log its traceback."""
    wait_idle(runner)
    caplog.set_level("ERROR", logger="pipeline_twin.worker")
    runner.submit("refused", pool_jobs.refuse, (["inference.replicas: too many"],), "s6")
    runner.submit("bug", pool_jobs.fail, (), "s6")
    refused = wait_for(runner, "refused", "s6", (DONE, FAILED))
    assert refused.kind == "refused" and refused.problem == ["inference.replicas: too many"]
    bug = wait_for(runner, "bug", "s6", (DONE, FAILED))
    assert bug.kind == "error" and f"error id {bug.job_id}" in bug.problem[0] and "RuntimeError" not in bug.problem[0]
    logged = [r.getMessage() for r in caplog.records if bug.job_id in r.getMessage()]
    assert logged and "RuntimeError: a bug in a job" in logged[0] and "Traceback" in logged[0]
    for key in ("refused", "bug"):
        runner.collect(key, "s6")
