"""Session state, caches and simulation runs: the one place the dashboard keeps state.

Pages ask for data through three calls and never run the engine themselves:

* :func:`current_scenario` - the sidebar's scenario with the what-if knobs applied;
* :func:`current_run` - its :class:`RunResult` for the sidebar's seed (runs it if needed);
* :func:`run_many` - several (scenario, seed) runs at once, e.g. for Compare.

Runs go to a bounded, supervised pool of worker processes (``dashboard.worker``) while a
progress bar polls them; each is checked against the dashboard's budget first and stopped
when it exceeds its wall time or when its session goes away. Results are cached by a hash of
the resolved scenario JSON and the seed, in memory and on disk (``simulator.store.run_cache``,
keyed by the code version too), so a page switch, a shared link or a restarted server never
recomputes a run that was already done; the bundled scenarios' default runs are warmed on disk
in the background when the first session starts. ``PIPELINE_TWIN_INPROCESS=1`` runs in the
calling process instead; only AppTest does this (it runs the script in-process and needs no pool).
"""
from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
import time
from pathlib import Path
from typing import Any

import streamlit as st

from simulator.cli.main import SCENARIO_DIR
from simulator.report.findings import Findings, findings
from simulator.report.results import RunResult
from simulator.scenario import knobs
from simulator.scenario.budget import Budget, Estimate, check_budget, cost_driver, use_budget
from simulator.scenario.config import (
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
    with_overrides,
    without_incident,
)
from simulator.scenario.knobs import scaled_servers

LOG = logging.getLogger("pipeline_twin.dashboard")

INPROCESS_ENV = "PIPELINE_TWIN_INPROCESS"
SCENARIO_DIR_ENV = "PIPELINE_TWIN_SCENARIOS"
DEFAULT_SCENARIO = "baseline"
POLL_S = 0.1

# widget keys (also the query-parameter names of the bound ones)
K_SCENARIO = "scenario"
K_TRAFFIC = "traffic"        # % of the scenario's normal traffic
K_CAPACITY = "capacity"      # % of the scenario's model servers
K_SEED = "seed"
K_PRESENT = "present"
# plain session keys
K_CUSTOM = "_custom_scenarios"   # name -> scenario dict (uploaded or edited in the lab)
K_WANTED = "_wanted_runs"        # run keys this session last waited for
K_FAILED = "_failed_runs"        # run key -> why it did not finish (until "Try again")
K_NOTICE = "_notice"

# limits of dashboard runs (each can be changed with its environment variable)
WORKER_MEMORY_ENV, DEFAULT_WORKER_MEMORY_MB = "PIPELINE_TWIN_WORKER_MEMORY_MB", 3072.0
DASHBOARD_EVENTS_ENV, DEFAULT_DASHBOARD_EVENTS = "PIPELINE_TWIN_DASHBOARD_MAX_EVENTS", 40e6
RUN_TIMEOUT_ENV, DEFAULT_RUN_TIMEOUT_S = "PIPELINE_TWIN_RUN_TIMEOUT_S", 180.0
LONG_RUN_EVENTS = 5e6            # runs above this (about ten seconds) never take the last free worker
HOW_SURE_MIN_REPS = 4            # "How sure" starts with at least this many replications
WARM_UP_ENV = "PIPELINE_TWIN_WARM_UP"   # "0" switches the background warm-up off (the disk cache stays)
WARM_SESSION = "warm-up"         # the background warm-up's name in the worker pool
WARM_WAIT_S = 10.0               # how long the warm-up waits for a finished run to reach the disk


# --------------------------------------------------------------------------- catalog
def scenario_dir() -> Path:
    """Where bundled scenarios live (``PIPELINE_TWIN_SCENARIOS`` overrides it, for tests)."""
    return Path(os.environ.get(SCENARIO_DIR_ENV) or SCENARIO_DIR)


@st.cache_resource(show_spinner=False, max_entries=8)
def _load_catalog(folder: str, stamp: tuple) -> tuple[dict[str, Scenario], list[str]]:
    """Every valid scenario file of ``folder`` by name, plus one line per file that failed. Shared, not
    copied, by every call (scenarios are frozen models; a copy per call cost a tenth of a second a page)."""
    del stamp  # part of the cache key only: a changed file reloads the catalog
    found, problems = {}, []
    for path in sorted(Path(folder).glob("*.yaml")):
        try:
            found[path.stem] = load_scenario(path)
        except ScenarioError as err:
            problems.append(f"{path.name}: {err.lines[0] if err.lines else err}")
    return found, problems


def bundled_scenarios() -> dict[str, Scenario]:
    """The bundled scenarios by file name, the default one first (shared; no session needed)."""
    folder = scenario_dir()
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.yaml")))
    return _default_first(_load_catalog(str(folder), stamp)[0])


def _default_first(bundled: dict[str, Scenario]) -> dict[str, Scenario]:
    return {k: bundled[k] for k in sorted(bundled, key=lambda n: (n != DEFAULT_SCENARIO, n))}


def catalog() -> dict[str, Scenario]:
    """Bundled scenarios (default first) followed by this session's uploaded or edited ones."""
    ordered = dict(bundled_scenarios())
    for name, data in st.session_state.get(K_CUSTOM, {}).items():
        ordered[name] = parse_scenario(data)
    return ordered


def catalog_problems() -> list[str]:
    folder = scenario_dir()
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.yaml")))
    return _load_catalog(str(folder), stamp)[1]


def add_custom_scenario(name: str, scenario: Scenario, select: bool = True) -> str:
    """Keep an uploaded or edited scenario for this session (and pick it in the sidebar).

    Raises ScenarioError for a replay file the dashboard may not read, so that no page (the
    planner's and validation's batches included) ever gets a scenario pointing elsewhere.
    """
    check_replay_allowed(scenario)
    custom = dict(st.session_state.get(K_CUSTOM, {}))
    custom[name] = scenario.model_dump(mode="json")
    st.session_state[K_CUSTOM] = custom
    if select:
        st.session_state[K_SCENARIO] = name
    return name


def selected_name() -> str:
    names = list(catalog())
    name = st.session_state.get(K_SCENARIO)
    return name if name in names else (DEFAULT_SCENARIO if DEFAULT_SCENARIO in names else names[0])


def base_scenario() -> Scenario:
    """The picked scenario as written in its file, before the what-if knobs."""
    return catalog()[selected_name()]


# --------------------------------------------------------------------------- knobs
def traffic_pct() -> int:
    return int(st.session_state.get(K_TRAFFIC) or 100)


def capacity_pct() -> int:
    return int(st.session_state.get(K_CAPACITY) or 100)


def replicas_for(scenario: Scenario, capacity: int) -> int:
    """Model servers for a capacity knob in % of the scenario's own number (at least 1)."""
    return scaled_servers(scenario.inference.replicas, capacity)


def knob_overrides(scenario: Scenario, traffic: int | None = None, capacity: int | None = None) -> dict[str, Any]:
    """Dotted overrides for the what-if knobs (empty when both are at 100 %): every model pool scaled."""
    traffic = traffic_pct() if traffic is None else traffic
    capacity = capacity_pct() if capacity is None else capacity
    return knobs.knob_overrides(scenario, traffic, capacity)


def apply_knobs(scenario: Scenario, traffic: int | None = None, capacity: int | None = None) -> Scenario:
    """The scenario with the knobs applied; an override the model rejects leaves it unchanged."""
    try:
        return with_overrides(scenario, knob_overrides(scenario, traffic, capacity))
    except ScenarioError as err:
        st.session_state[K_NOTICE] = "The what-if settings do not fit this scenario: " + "; ".join(err.lines)
        return scenario


def current_scenario() -> Scenario:
    """The sidebar's scenario with the what-if knobs applied: what every page shows."""
    return apply_knobs(base_scenario())


def current_seed() -> int:
    """The sidebar's seed, or the scenario's own seed when the box is empty."""
    seed = st.session_state.get(K_SEED)
    return int(seed) if seed is not None else int(base_scenario().seed)


def describe_current() -> str:
    """'baseline · traffic 150 % · 6 model servers · seed 42' for page captions."""
    sc, base = current_scenario(), base_scenario()
    parts = [selected_name()]
    if traffic_pct() != 100:
        parts.append(f"traffic {traffic_pct()} % ({sc.traffic.rate_per_s:g} per s)")
    if sc.inference.replicas != base.inference.replicas:
        parts.append(f"{sc.inference.replicas} model servers (plan: {base.inference.replicas})")
    parts.append(f"seed {current_seed()}")
    return " · ".join(parts)


# --------------------------------------------------------------------------- display
def presentation_mode() -> bool:
    """On; the URL decides until the sidebar toggle has been drawn once (first load of a shared link)."""
    if K_PRESENT in st.session_state:
        return bool(st.session_state[K_PRESENT])
    return str(st.query_params.get(K_PRESENT, "")).lower() in ("true", "1", "yes")


def font_size() -> int:
    """Chart font size: larger in presentation mode."""
    return 18 if presentation_mode() else 13


def diagram_font_size() -> int:
    """Diagram font size: the diagram is scaled into a column, so it starts larger than charts."""
    return 20 if presentation_mode() else 16


def pop_notice() -> str | None:
    return st.session_state.pop(K_NOTICE, None)


def remember(key: str, value: Any) -> None:
    """Keep a page's own value for the session (e.g. the replay's play state)."""
    st.session_state[key] = value


def recall(key: str, default: Any = None) -> Any:
    return st.session_state.get(key, default)


def forget_prefix(prefix: str) -> None:
    """Drop every session value whose key starts with ``prefix`` (e.g. to reset the lab's form)."""
    for key in [k for k in st.session_state.keys() if str(k).startswith(prefix)]:
        del st.session_state[key]


# --------------------------------------------------------------------------- runs
class RunFailed(ScenarioError):
    """A run that was accepted but did not finish: its worker crashed or it ran out of time."""


def run_key(scenario: Scenario, seed: int) -> str:
    """Cache key: hash of the fully resolved scenario (every default written out) and the seed."""
    text = scenario.model_dump_json() + f"|seed={int(seed)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def in_process() -> bool:
    return os.environ.get(INPROCESS_ENV, "").lower() in ("1", "true", "yes")


def _env_float(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, "") or default)
    except ValueError:
        return default
    return value if math.isfinite(value) and value > 0 else default


def worker_memory_bytes() -> int:
    """The memory one worker process may use (``PIPELINE_TWIN_WORKER_MEMORY_MB``, default 3 GB)."""
    return int(_env_float(WORKER_MEMORY_ENV, DEFAULT_WORKER_MEMORY_MB) * 2**20)


def dashboard_budget() -> Budget:
    """What one dashboard run may cost: events that finish well inside the wall-time limit, and
    memory that fits the worker's limit with room for the result's trip back to the server."""
    return Budget(max_events=_env_float(DASHBOARD_EVENTS_ENV, DEFAULT_DASHBOARD_EVENTS),
                  max_memory_bytes=0.7 * worker_memory_bytes())


def run_timeout_s() -> float:
    """Wall-time limit of one dashboard run (``PIPELINE_TWIN_RUN_TIMEOUT_S``, default 180 s)."""
    return _env_float(RUN_TIMEOUT_ENV, DEFAULT_RUN_TIMEOUT_S)


@st.cache_resource(show_spinner=False)
def _results():
    from dashboard.worker import ResultCache

    return ResultCache()


@st.cache_resource(show_spinner=False)
def _disk():
    from simulator.store.run_cache import RunCache

    return RunCache()


@st.cache_resource(show_spinner=False)
def _runner():
    from dashboard.worker import Runner, default_pool_size

    memory = worker_memory_bytes()
    return Runner(workers=default_pool_size(memory), run_timeout_s=run_timeout_s(),
                  memory_limit_bytes=memory, budget=dashboard_budget())


def start_runner() -> None:
    """Start the shared worker pool now rather than at the first run a page asks for (not in-process)."""
    if not in_process():
        _runner()


def runner_status() -> dict | None:
    """Health of the worker pool (None when runs happen in-process, as under AppTest)."""
    return None if in_process() else _runner().status()


def session_id() -> str:
    """This browser tab's session (``"no-session"`` outside a script run)."""
    return _session_id()


def _session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


def _known(scenario: Scenario, seed: int) -> bool:
    """The run is in this server's memory or on disk (nothing to simulate)."""
    return _results().get(run_key(scenario, seed)) is not None or _disk().has(scenario, seed)


def cached_run(scenario: Scenario, seed: int) -> RunResult | None:
    """The cached result (memory, then disk), without running anything."""
    key = run_key(scenario, seed)
    found = _results().get(key)
    if found is None:
        found = _disk().get(scenario, seed)
        if found is not None:
            _results().put(key, found)
    return found


# --------------------------------------------------------------------------- replay data
def bundled_data_dir() -> Path:
    """Replay CSVs shipped with the scenarios (``scenarios/data``)."""
    return scenario_dir() / "data"


@st.cache_resource(show_spinner=False)
def upload_dir() -> Path:
    """A private folder of this server for replay CSVs uploaded with a scenario (named by content hash)."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix="pipeline-twin-uploads-"))


def bundled_replay_files() -> list[str]:
    """Absolute paths of the replay CSVs in the bundled data folder (as bundled scenarios name them)."""
    folder = bundled_data_dir()
    return [str(folder.absolute() / p.name) for p in sorted(folder.glob("*.csv"))] if folder.is_dir() else []


def replay_choices() -> dict[str, str]:
    """Replay files a dashboard scenario may use: label -> path (bundled data, then uploads)."""
    out = {f"{Path(p).name} (bundled)": p for p in bundled_replay_files()}
    for path in sorted(upload_dir().glob("*.csv")):
        out[f"uploaded {path.stem[:12]}"] = str(path)
    return out


def store_replay_upload(data: bytes) -> str:
    """Check an uploaded replay CSV (arrival times in seconds) and keep it under its content hash."""
    from simulator.common.files import atomic_write_bytes
    from simulator.common.limits import MAX_DURATION_S
    from simulator.scenario.rates import MAX_REPLAY_BYTES, replay_times

    if len(data) > MAX_REPLAY_BYTES:
        raise ScenarioError([f"traffic.replay_csv: the file has {len(data):,} bytes, more than the "
                             f"{MAX_REPLAY_BYTES:,} allowed"])
    if not len(replay_times(data, MAX_DURATION_S)):
        raise ScenarioError(["traffic.replay_csv: the file holds no arrival times between 0 and 30 days"])
    path = upload_dir() / f"{hashlib.sha256(data).hexdigest()}.csv"
    if not path.exists():
        atomic_write_bytes(path, data)
    return str(path)


def check_replay_allowed(scenario: Scenario) -> None:
    """In the dashboard, replay data comes only from the bundled folder or an upload of this server.

    The path is compared as text with the files this server knows; a path written in an uploaded
    or edited scenario is never opened, so it cannot read the server's files or reveal whether
    one exists.
    """
    path = scenario.traffic.replay_csv
    if scenario.traffic.kind != "replay" or path is None:
        return
    if path not in replay_choices().values():
        raise ScenarioError(["traffic.replay_csv: in the dashboard, replay data is a CSV uploaded with the scenario "
                             "(Scenario lab) or one of the bundled files; a file path written in a scenario is "
                             "not read"])


# --------------------------------------------------------------------------- running
def _run_here(jobs: list[tuple[str, Scenario, int]], bar, label: str) -> dict[str, RunResult]:
    """In-process runs, only under AppTest (``PIPELINE_TWIN_INPROCESS=1``); the server never does this."""
    from simulator.runner import run

    out = {}
    for i, (key, sc, seed) in enumerate(jobs):
        def progress(fraction: float, i=i) -> None:
            done = min(1.0, (i + fraction) / len(jobs))
            bar.progress(done, text=f"Simulating {label}: {100 * done:.0f} %")
        with use_budget(dashboard_budget()):
            out[key] = run(sc, seed, progress=progress)
        _disk().put(out[key])
    return out


def _run_in_workers(jobs: list[tuple[str, Scenario, int, Estimate]], bar, label: str) -> dict[str, RunResult]:
    """Submit the jobs to the worker pool and poll them; whatever happens, this session stops
    waiting for them when it leaves (a rerun or a closed tab), so nobody's runs pile up."""
    from dashboard.worker import DONE, FAILED, QUEUED, simulate

    runner = _runner()
    session = _session_id()
    wanted = {key for key, _, _, _ in jobs}
    runner.release(set(st.session_state.get(K_WANTED, set())) - wanted, session)
    st.session_state[K_WANTED] = wanted
    for key, sc, seed, est in jobs:
        runner.submit(key, simulate, (sc, seed), session, with_progress=True, long=est.events > LONG_RUN_EVENTS,
                      hint=cost_driver(est))
    keys = [key for key, _, _, _ in jobs]
    t0 = time.perf_counter()
    finished = False
    try:
        while True:
            polled = runner.poll(keys, session)
            for key, job in zip(keys, polled):  # another session's rerun dropped a shared queued job
                if job is None:
                    _, sc, seed, est = next(j for j in jobs if j[0] == key)
                    runner.submit(key, simulate, (sc, seed), session, with_progress=True,
                                  long=est.events > LONG_RUN_EVENTS, hint=cost_driver(est))
            polled = [j for j in polled if j is not None]
            if len(polled) == len(keys) and all(j.state in (DONE, FAILED) for j in polled):
                break
            done = sum(1.0 if j.state == DONE else j.fraction for j in polled) / len(keys)
            waiting = any(j.state == QUEUED for j in polled)
            waited = time.perf_counter() - t0
            bar.progress(min(1.0, done), text=f"Simulating {label}: {100 * done:.0f} % ({waited:.0f} s"
                                              f"{'; waiting for a free worker' if waiting else ''}; the page stays "
                                              f"usable, change a setting to start over)")
            time.sleep(POLL_S)
        finished = True
    finally:
        if not finished:
            runner.release(keys, session)
    out, failed = {}, {}
    for key, job in zip(keys, polled):
        runner.collect(key, session)
        if job.state == DONE:
            out[key] = job.result
        else:
            failed[key] = job.problem
    if failed:
        st.session_state[K_FAILED] = {**st.session_state.get(K_FAILED, {}), **failed}
        raise RunFailed(next(iter(failed.values())))
    return out


def _retry(keys: list[str]) -> None:
    failures = dict(st.session_state.get(K_FAILED, {}))
    for key in keys:
        failures.pop(key, None)
    st.session_state[K_FAILED] = failures


def run_many(jobs: list[tuple[Scenario, int]], label: str = "the scenario",
             keep: int | None = None) -> list[RunResult]:
    """Results of several ``(scenario, seed)`` runs, from the cache or run with one progress bar.

    Runs simulated now are audited; the first ``keep`` jobs (all by default) may also be kept in the
    history (a one-off event's incident-free twin is a reference, not a run anyone asked for). A run
    read from memory or the disk cache was done before (by someone, or by the warm-up), so it is not.

    Raises ScenarioError (with readable lines) for a scenario refused before it starts (bad input,
    over the dashboard's budget, a replay file the dashboard may not read), and RunFailed for a run
    that did not finish; the latter stays failed for this session until "Try again" is pressed.
    """
    keyed = [(run_key(sc, seed), sc, int(seed)) for sc, seed in jobs]
    cache = _results()
    found = {key: cache.get(key) for key, _, _ in keyed}
    for key, sc, seed in keyed:  # kept on disk by an earlier server, another session or the warm-up
        if found[key] is None:
            kept = _disk().get(sc, seed)
            if kept is not None:
                cache.put(key, kept)
                found[key] = kept
    missing = [(key, sc, seed) for key, sc, seed in keyed if found[key] is None]
    missing = list({key: (key, sc, seed) for key, sc, seed in missing}.values())
    if missing:
        failures = st.session_state.get(K_FAILED, {})
        failed = [key for key, _, _ in missing if key in failures]
        if failed:
            st.button("Try again", key=f"retry_{failed[0][:12]}", icon=":material/refresh:", on_click=_retry,
                      args=(failed,), help="Run the simulation that did not finish once more.")
            raise RunFailed(failures[failed[0]])
        budget = dashboard_budget()
        sized = []
        for key, sc, seed in missing:  # refuse what cannot or may not run before any work starts
            check_replay_allowed(sc)
            sized.append((key, sc, seed, check_budget(sc, budget)))
        bar = st.progress(0.0, text=f"Simulating {label}…")
        if in_process():
            ran = _run_here([(key, sc, seed) for key, sc, seed, _ in sized], bar, label)
        else:
            try:
                ran = _run_in_workers(sized, bar, label)
            except RunFailed:
                bar.empty()
                failed = [key for key, _, _ in missing if key in st.session_state.get(K_FAILED, {})]
                st.button("Try again", key=f"retry_{failed[0][:12]}", icon=":material/refresh:", on_click=_retry,
                          args=(failed,), help="Run the simulation that did not finish once more.")
                raise
        bar.empty()
        for key, fresh in ran.items():
            cache.put(key, fresh)
            found[key] = fresh
        from dashboard import keeping

        keepable = {key for key, _, _ in keyed[:keep]} if keep is not None else set(ran)
        # audited, and kept in the history when the role allows
        keeping.runs_finished([r for k, r in ran.items() if k in keepable],
                              audit_only=[r for k, r in ran.items() if k not in keepable])
    return [found[key] for key, _, _ in keyed]


def task_key(fn, task: tuple) -> str:
    """A work unit's key in the pool: the function's name and its arguments."""
    return hashlib.sha256(f"{fn.__module__}.{fn.__qualname__}|{task!r}".encode()).hexdigest()


def answer_key(key: str) -> str:
    """A work unit's key on disk: its pool key and the code version (new code, new answers)."""
    from simulator.store.run_cache import code_version

    return hashlib.sha256(f"{code_version()}|{key}".encode()).hexdigest()


class RunnerBackend:
    """The analysis layer's backend protocol on the dashboard's worker pool: replications, sweeps
    and plans from the pages run in the same bounded, supervised workers as single runs. Answers
    that are plain JSON (the summaries of replications) are kept on disk, so asking again is free."""

    name = "dashboard workers"

    def __init__(self):
        self.runner = _runner()
        self.disk = _disk()
        self.workers = self.runner.size
        self.session = _session_id()
        self.keys: list[str] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.runner.release(self.keys, self.session)

    def map(self, fn, tasks, progress=None) -> list:
        from dashboard.worker import DONE, FAILED

        keys = [task_key(fn, tuple(t)) for t in tasks]
        self.keys = keys
        out: dict[str, object] = {}
        for key in dict.fromkeys(keys):
            kept = self.disk.get_json(answer_key(key))
            if kept is not None:
                out[key] = kept
        todo = [(key, task) for key, task in dict(zip(keys, tasks)).items() if key not in out]
        submitted: list[str] = []
        if progress is not None and out:
            progress(len(out), len(set(keys)))
        while len(out) < len(set(keys)):
            while todo and len([k for k in submitted if k not in out]) < self.runner.per_session_limit:
                key, task = todo.pop(0)
                self.runner.submit(key, fn, tuple(task), self.session)
                submitted.append(key)
            for key, job in zip(submitted, self.runner.poll(submitted, self.session)):
                if key in out or job is None or job.state not in (DONE, FAILED):
                    continue
                self.runner.collect(key, self.session)
                if job.state == FAILED:
                    self.runner.release(keys, self.session)
                    raise RunFailed(job.problem)
                out[key] = job.result
                if isinstance(job.result, dict):
                    self.disk.put_json(answer_key(key), job.result)
                if progress is not None:
                    progress(len(out), len(set(keys)))
            if len(out) < len(set(keys)):
                time.sleep(POLL_S)
        return [out[key] for key in keys]


def first_replications(workers: int, min_reps: int = HOW_SURE_MIN_REPS) -> int:
    """"How sure"'s first batch: the smallest multiple of the pool's workers that is at least ``min_reps``,
    so every round keeps every worker busy."""
    workers = max(1, int(workers))
    return workers * max(1, math.ceil(min_reps / workers))


def start_warm_up() -> None:
    """Once per server, in the background: put the bundled scenarios' default runs (with their
    incident-free twins) and their first "How sure" replications on disk, one job at a time, so the
    pages' own runs always find a free worker. A page that asks for a run the warm-up is doing waits
    for that same job (the pool shares jobs by key); nothing runs twice. Not under AppTest."""
    if in_process() or not _disk().enabled or os.environ.get(WARM_UP_ENV, "1").lower() in ("0", "false", "no"):
        return
    folder = scenario_dir()
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.yaml")))
    _warm_up(str(folder), stamp)


@st.cache_resource(show_spinner=False)
def _warm_up(folder: str, stamp: tuple) -> threading.Thread | None:
    tag = hashlib.sha256(repr((folder, stamp)).encode()).hexdigest()[:12]  # these scenario files, as they are
    if _disk().warm_marker(tag).exists():  # warmed before by this code: the pool need not even start
        return None
    bundled, _ = _load_catalog(folder, stamp)
    scenarios = list(_default_first(bundled).values())
    thread = threading.Thread(target=_warm, args=(_runner(), _disk(), scenarios, dashboard_budget(), tag),
                              name="pipeline-twin-warm-up", daemon=True)
    thread.start()
    return thread


def _warm_job(runner, key: str, fn, args: tuple, done, **kw) -> object | None:
    """Submit one job for the warm-up and wait for it (polling is its heartbeat); its result or None."""
    from dashboard.worker import DONE, FAILED

    runner.submit(key, fn, args, WARM_SESSION, **kw)
    while True:
        job = runner.poll([key], WARM_SESSION)[0]
        if job is None or job.state == FAILED:
            runner.collect(key, WARM_SESSION)
            return None
        if job.state == DONE:
            deadline = time.monotonic() + WARM_WAIT_S
            while not done() and time.monotonic() < deadline:  # pages asking meanwhile share the finished job
                time.sleep(POLL_S)
            result = job.result
            runner.collect(key, WARM_SESSION)
            return result
        time.sleep(2 * POLL_S)


def _natural_or_none(scenario: Scenario) -> Scenario | None:
    try:
        return knobs.natural_comparison(scenario)[0]
    except ScenarioError:
        return None


def _precisions(scenario: Scenario) -> list[Scenario]:
    """The scenario with its model at fp32 and at int8, as the Cost page compares them (none without a model)."""
    if not scenario.inference.enabled:
        return []
    try:
        return [with_overrides(scenario, {"inference.precision": p}) for p in ("fp32", "int8")]
    except ScenarioError:
        return []


def _warm(runner, disk, scenarios: list[Scenario], budget: Budget, tag: str) -> None:
    from dashboard.worker import simulate
    from simulator.analysis.backends import simulate_summary
    from simulator.analysis.experiments import replication_seeds

    runs = []
    for sc in scenarios:  # the Overview's run, then Compare's first B; each with its incident-free twin
        for one in (sc, _natural_or_none(sc)):
            twin = without_incident(one) if one is not None else None
            runs += [(s, int(sc.seed)) for s in (one, twin) if s is not None]
    for sc in scenarios:  # then Cost's fp32 and int8 versions of the model (one of them is the scenario itself)
        runs += [(s, int(sc.seed)) for s in _precisions(sc)]
    runs = list({run_key(sc, seed): (sc, seed) for sc, seed in runs}.values())
    started, simulated = time.monotonic(), 0
    try:
        for sc, seed in runs:
            if disk.has(sc, seed):
                continue
            try:
                est = check_budget(sc, budget)
            except ScenarioError:
                continue
            key = run_key(sc, seed)
            _warm_job(runner, key, simulate, (sc, seed), lambda sc=sc, seed=seed: disk.has(sc, seed),
                      with_progress=True, long=est.events > LONG_RUN_EVENTS, hint=cost_driver(est))
            simulated += 1
        reps = first_replications(runner.size)
        for sc in scenarios:
            payload = sc.model_dump_json()
            for rep_seed in replication_seeds(sc.seed, reps):
                key = task_key(simulate_summary, (payload, rep_seed))
                if disk.get_json(answer_key(key)) is not None:
                    continue
                answer = _warm_job(runner, key, simulate_summary, (payload, rep_seed), lambda: True)
                if isinstance(answer, dict):
                    disk.put_json(answer_key(key), answer)
                    simulated += 1
    except Exception:  # the warm-up is a courtesy: a failure leaves the pages to run what they need
        LOG.exception("warming the run cache failed")
        return
    disk.note_warm(tag, len(runs), simulated, time.monotonic() - started)


def backend():
    """Where the pages' replications, sweeps and plans run: the worker pool (in-process under AppTest)."""
    from simulator.analysis.backends import SerialBackend

    return SerialBackend() if in_process() else RunnerBackend()


def run_scenario(scenario: Scenario, seed: int, label: str = "the scenario") -> RunResult:
    """One run (cached); see :func:`run_many`."""
    return run_many([(scenario, seed)], label)[0]


def current_run() -> RunResult:
    """The run every executive page shows: the sidebar's scenario, knobs and seed (a one-off event
    together with its incident-free twin, which :func:`findings_of` needs).

    A scenario the engine refuses shows a friendly error and stops the page.
    """
    sc, seed = current_scenario(), current_seed()
    try:
        twin = without_incident(sc)
        jobs = [(sc, seed)] + ([(twin, seed)] if twin is not None else [])
        estimate = None
        if not all(_known(s, seed) for s, _ in jobs):  # it must be simulated: show the instant estimate meanwhile
            from dashboard.widgets import instant_estimate

            estimate = st.empty()
            with estimate.container():
                instant_estimate(sc)
        result = run_many(jobs, label=selected_name(), keep=1)[0]
        if estimate is not None:
            estimate.empty()
        return result
    except ScenarioError as err:
        from dashboard.widgets import escape_markdown

        title = "This simulation did not finish" if isinstance(err, RunFailed) else "This scenario cannot be run"
        st.error(f"{title}:\n\n" + "\n".join(f"- {escape_markdown(line)}" for line in err.lines))
        st.stop()
        raise


@st.cache_resource(show_spinner=False)
def _server_memos() -> dict[str, dict]:
    return {}


def per_run(name: str, result: RunResult, compute, limit: int = 32):
    """``compute()`` once per run and server, kept under ``name`` for every session (for what a run's
    results alone decide, e.g. its findings); at most ``limit`` runs are kept per name."""
    memo = _server_memos().setdefault(name, {})
    key = run_key(result.scenario, result.seed)
    if key not in memo:
        value = compute()
        if len(memo) >= limit:
            memo.clear()
        memo[key] = value
    return memo[key]


def requests_csv_bytes(result: RunResult) -> int:
    """About how large the 'every request' download is (from a sample of rows), once per run and server."""
    from simulator.report import exports

    return per_run("requests_csv_bytes", result, lambda: exports.csv_size_bytes(result.requests))


PRELOAD_BUDGET_S = 8.0  # at most this much of the server's start goes to reading kept runs


def preload_runs(budget_s: float = PRELOAD_BUDGET_S) -> int:
    """Before the server answers: the bundled scenarios' default runs that an earlier server kept on
    disk (with their incident-free twins) go into this server's memory, with their findings and
    download sizes, the default scenario first, until the memory cache is full or ``budget_s`` has
    passed; how many runs. A first visitor's page would otherwise read them from disk while the
    browser loads the app on the same processor cores (most of a second per run on two cores)."""
    disk, cache = _disk(), _results()
    if in_process() or not disk.enabled:
        return 0
    started, loaded = time.monotonic(), 0
    for sc in bundled_scenarios().values():
        if time.monotonic() - started > budget_s:
            break
        seed = int(sc.seed)
        twin = without_incident(sc)
        pair = [(sc, seed)] + ([(twin, seed)] if twin is not None else [])
        if not all(disk.has(s, seed) for s, _ in pair):
            continue  # not simulated yet: the warm-up or the first visit does it
        results = [cache.get(run_key(s, seed)) or disk.get(s, seed) for s, _ in pair]
        if any(r is None for r in results):
            continue  # damaged on disk (dropped there): it will be simulated again
        if not cache.has_room(results):
            break  # memory full: the rest is read from disk when asked for
        for s, r in zip(pair, results):
            cache.put(run_key(s[0], seed), r)
        loaded += len(results)
        main, reference = results[0], (results[1].summary if twin is not None else None)
        per_run("findings", main, lambda sc=sc, main=main, reference=reference: findings(sc, main, reference))
        requests_csv_bytes(main)
    return loaded


def findings_of(result: RunResult) -> Findings:
    """A run's findings, derived once per server and run; a one-off event is priced against the same
    scenario without its incident on the same seed (cached like every run)."""
    def derive() -> Findings:
        twin = without_incident(result.scenario)
        reference = run_many([(twin, result.seed)], "the same period without the incident", keep=0)[0].summary \
            if twin is not None else None
        return findings(result.scenario, result, reference)
    return per_run("findings", result, derive)


def current_findings() -> Findings:
    """The findings of :func:`current_run`."""
    return findings_of(current_run())
