"""Session state, caches and simulation runs: the one place the dashboard keeps state.

Pages ask for data through three calls and never run the engine themselves:

* :func:`current_scenario` - the sidebar's scenario with the what-if knobs applied;
* :func:`current_run` - its :class:`RunResult` for the sidebar's seed (runs it if needed);
* :func:`run_many` - several (scenario, seed) runs at once, e.g. for Compare.

Runs go to worker processes (``dashboard.worker``) while a progress bar polls them, and the
results are cached by a hash of the resolved scenario JSON and the seed, so a page switch or
a shared link never recomputes a run this server has already done. Set
``PIPELINE_TWIN_INPROCESS=1`` to run in the server's process (AppTest does this: it runs the
script in-process and needs no pool).
"""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import streamlit as st

from simulator.cli.main import SCENARIO_DIR
from simulator.report.findings import Findings, findings
from simulator.report.results import RunResult
from simulator.scenario import knobs
from simulator.scenario.config import (
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
    with_overrides,
    without_incident,
)
from simulator.scenario.knobs import scaled_servers
from simulator.scenario.rates import check_size

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
K_NOTICE = "_notice"
K_FINDINGS = "_findings"         # run key -> Findings


# --------------------------------------------------------------------------- catalog
def scenario_dir() -> Path:
    """Where bundled scenarios live (``PIPELINE_TWIN_SCENARIOS`` overrides it, for tests)."""
    return Path(os.environ.get(SCENARIO_DIR_ENV) or SCENARIO_DIR)


@st.cache_data(show_spinner=False, max_entries=8)
def _load_catalog(folder: str, stamp: tuple) -> tuple[dict[str, Scenario], list[str]]:
    """Every valid scenario file of ``folder`` by name, plus one line per file that failed."""
    del stamp  # part of the cache key only: a changed file reloads the catalog
    found, problems = {}, []
    for path in sorted(Path(folder).glob("*.yaml")):
        try:
            found[path.stem] = load_scenario(path)
        except ScenarioError as err:
            problems.append(f"{path.name}: {err.lines[0] if err.lines else err}")
    return found, problems


def catalog() -> dict[str, Scenario]:
    """Bundled scenarios (default first) followed by this session's uploaded or edited ones."""
    folder = scenario_dir()
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.yaml")))
    bundled, _ = _load_catalog(str(folder), stamp)
    ordered = {k: bundled[k] for k in sorted(bundled, key=lambda n: (n != DEFAULT_SCENARIO, n))}
    for name, data in st.session_state.get(K_CUSTOM, {}).items():
        ordered[name] = parse_scenario(data)
    return ordered


def catalog_problems() -> list[str]:
    folder = scenario_dir()
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.yaml")))
    return _load_catalog(str(folder), stamp)[1]


def add_custom_scenario(name: str, scenario: Scenario, select: bool = True) -> str:
    """Keep an uploaded or edited scenario for this session (and pick it in the sidebar)."""
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
def run_key(scenario: Scenario, seed: int) -> str:
    """Cache key: hash of the fully resolved scenario (every default written out) and the seed."""
    text = scenario.model_dump_json() + f"|seed={int(seed)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def in_process() -> bool:
    return os.environ.get(INPROCESS_ENV, "").lower() in ("1", "true", "yes")


@st.cache_resource(show_spinner=False)
def _results():
    from dashboard.worker import ResultCache

    return ResultCache()


@st.cache_resource(show_spinner=False)
def _runner():
    from dashboard.worker import Runner

    return Runner(workers=min(2, os.cpu_count() or 1))


def cached_run(scenario: Scenario, seed: int) -> RunResult | None:
    """The cached result, without running anything."""
    return _results().get(run_key(scenario, seed))


def _run_here(jobs: list[tuple[str, Scenario, int]], bar, label: str) -> dict[str, RunResult]:
    out = {}
    for i, (key, sc, seed) in enumerate(jobs):
        def progress(fraction: float, i=i) -> None:
            done = min(1.0, (i + fraction) / len(jobs))
            bar.progress(done, text=f"Simulating {label}: {100 * done:.0f} %")
        out[key] = _engine_run(sc, seed, progress)
    return out


def _engine_run(scenario: Scenario, seed: int, progress) -> RunResult:
    from simulator.runner import run

    return run(scenario, seed, progress=progress)


def _run_in_workers(jobs: list[tuple[str, Scenario, int]], bar, label: str) -> dict[str, RunResult]:
    runner = _runner()
    wanted = {key for key, _, _ in jobs}
    runner.cancel_pending(set(st.session_state.get(K_WANTED, set())) - wanted)
    st.session_state[K_WANTED] = wanted
    submitted = {key: runner.submit(key, sc, seed) for key, sc, seed in jobs}
    t0 = time.perf_counter()
    while True:
        for key, sc, seed in jobs:  # another session cancelled a queued job we also need: queue it again
            if submitted[key][1].cancelled():
                submitted[key] = runner.submit(key, sc, seed)
        fractions = [1.0 if fut.done() else runner.fraction_done(jid) for jid, fut in submitted.values()]
        done = sum(fractions) / len(fractions)
        waited = time.perf_counter() - t0
        bar.progress(min(1.0, done), text=f"Simulating {label}: {100 * done:.0f} % ({waited:.0f} s; the page stays "
                                          f"usable, change a setting to start over)")
        if all(fut.done() and not fut.cancelled() for _, fut in submitted.values()):
            break
        time.sleep(POLL_S)
    out = {}
    for key, (_, fut) in submitted.items():
        runner.finish(key)
        result = fut.result()
        if isinstance(result, list):
            raise ScenarioError(result)
        out[key] = result
    return out


def run_many(jobs: list[tuple[Scenario, int]], label: str = "the scenario",
             keep: int | None = None) -> list[RunResult]:
    """Results of several ``(scenario, seed)`` runs, from the cache or run with one progress bar.

    Fresh runs are audited; the first ``keep`` jobs (all by default) may also be kept in the history
    (a one-off event's incident-free twin is a reference, not a run anyone asked for).

    Raises ScenarioError (with readable lines) for a scenario the engine refuses.
    """
    keyed = [(run_key(sc, seed), sc, int(seed)) for sc, seed in jobs]
    cache = _results()
    found = {key: cache.get(key) for key, _, _ in keyed}
    missing = [(key, sc, seed) for key, sc, seed in keyed if found[key] is None]
    missing = list({key: (key, sc, seed) for key, sc, seed in missing}.values())
    if missing:
        for _, sc, _ in missing:
            check_size(sc)  # refuse absurd sizes before any work starts
        bar = st.progress(0.0, text=f"Simulating {label}…")
        if in_process():
            fresh = _run_here(missing, bar, label)
        else:
            try:
                fresh = _run_in_workers(missing, bar, label)
            except ScenarioError:
                raise
            except Exception as err:  # a broken pool (killed worker): start a new one, run here meanwhile
                _runner().shutdown()
                _runner.clear()
                st.session_state[K_NOTICE] = (f"The background worker stopped ({type(err).__name__}); "
                                              f"the run was done in the page instead.")
                fresh = _run_here(missing, bar, label)
        bar.empty()
        for key, result in fresh.items():
            cache.put(key, result)
            found[key] = result
        from dashboard import keeping

        keepable = {key for key, _, _ in keyed[:keep]} if keep is not None else set(fresh)
        # audited, and kept in the history when the role allows
        keeping.runs_finished([r for k, r in fresh.items() if k in keepable],
                              audit_only=[r for k, r in fresh.items() if k not in keepable])
    return [found[key] for key, _, _ in keyed]


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
        return run_many(jobs, label=selected_name(), keep=1)[0]
    except ScenarioError as err:
        st.error("This scenario cannot be run:\n\n" + "\n".join(f"- {line}" for line in err.lines))
        st.stop()
        raise


def findings_of(result: RunResult) -> Findings:
    """A run's findings, derived once per session and run; a one-off event is priced against the same
    scenario without its incident on the same seed (cached like every run)."""
    key = run_key(result.scenario, result.seed)
    memo = st.session_state.setdefault(K_FINDINGS, {})
    if key not in memo:
        twin = without_incident(result.scenario)
        reference = run_many([(twin, result.seed)], "the same period without the incident", keep=0)[0].summary \
            if twin is not None else None
        if len(memo) > 8:
            memo.clear()
        memo[key] = findings(result.scenario, result, reference)
    return memo[key]


def current_findings() -> Findings:
    """The findings of :func:`current_run`."""
    return findings_of(current_run())
