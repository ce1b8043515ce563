"""Runs kept in the history: inputs, headline results, findings, and frames on disk.

A run row is committed only after its frame files are complete (see :mod:`frames`), so the
history never lists a run it cannot open. Opening a past run rebuilds its result exactly as it
was stored (no rerun); the per-request frame, which holds customer attributes, is read only
through :func:`load_requests`, which is audited.
"""
from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from simulator.report.results import RunResult
from simulator.scenario.config import Scenario, ScenarioError, parse_scenario
from simulator.store import frames as fr
from simulator.store.access import Actor
from simulator.store.audit import authorize, record
from simulator.store.db import PROJECT_ROOT, Store
from simulator.store.diff import content_hash
from simulator.store.models import Run, ScenarioVersion, utc_now

CODE_VERSION_ENV = "PIPELINE_TWIN_CODE_VERSION"
KEEP_DAYS_ENV = "PIPELINE_TWIN_KEEP_REQUESTS_DAYS"
KEEP_GB_ENV = "PIPELINE_TWIN_KEEP_REQUESTS_GB"
REQUESTS = "requests"


# --------------------------------------------------------------------------- helpers
@cache
def code_version() -> str:
    """'0.1.0+3f2c1ab': the project version and the git commit, or $PIPELINE_TWIN_CODE_VERSION."""
    if os.environ.get(CODE_VERSION_ENV):
        return os.environ[CODE_VERSION_ENV][:80]
    try:
        version = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        version = "unknown"
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        return f"{version}+{sha}" if sha else version
    except (OSError, subprocess.SubprocessError):
        return version


def jsonable(value: Any) -> Any:
    """Plain JSON values: models and dataclasses as dicts, numpy numbers as Python, NaN and inf as None."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (datetime, pd.Timestamp)):
        return value.isoformat()
    return value


def findings_of(result: RunResult) -> Any:
    """The run's findings as JSON when the result carries them, else None."""
    found = getattr(result, "findings", None)
    return None if found is None else jsonable(found)


def result_frames(result: RunResult) -> dict[str, pd.DataFrame]:
    """The frames of one run worth keeping: per request, over time, events and the governance tables."""
    frames = {REQUESTS: result.requests, "timeseries": result.timeseries, "events": result.events}
    for key, frame in (result.extra or {}).items():
        if isinstance(frame, pd.DataFrame):
            frames[f"extra-{key}"] = frame
    return frames


# --------------------------------------------------------------------------- records
@dataclass(frozen=True)
class RunInfo:
    id: int
    kind: str
    scenario_name: str
    scenario_hash: str
    seed: int
    knobs: dict
    code_version: str
    author: str
    created_at: datetime
    wall_s: float
    summary: dict
    findings: Any
    has_requests: bool
    saved_version: str | None  # 'baseline v3' when the run's scenario is a saved version
    scenario_version_id: int | None
    frame_keys: tuple[str, ...] = ()


def _info(row: Run) -> RunInfo:
    saved = f"{row.version.name} v{row.version.version}" if row.version is not None else None
    return RunInfo(row.id, row.kind, row.scenario_name, row.scenario_hash, row.seed, row.knobs, row.code_version,
                   row.author, row.created_at, row.wall_s, row.summary, row.findings,
                   REQUESTS in (row.frames or {}), saved, row.scenario_version_id, tuple(row.frames or {}))


def save_record(store: Store, actor: Actor, *, kind: str, scenario: Scenario, seed: int, summary: Any,
                frames: dict[str, pd.DataFrame], wall_s: float, scenario_name: str | None = None,
                knobs: dict | None = None, findings: Any = None, scenario_version_id: int | None = None,
                detail: str = "") -> RunInfo:
    """Keep a run, comparison or plan: frames to disk first, then the row and its audit entry together."""
    name = (scenario_name or scenario.name).strip()[:200] or scenario.name
    authorize(store, actor, "save_run", kind, name)
    body = scenario.model_dump(mode="json")
    digest = content_hash(body)
    folder, manifest = fr.write_frames(store.frames_root, frames) if frames else (None, {})
    try:
        with store.writes.begin() as session:
            if scenario_version_id is None:
                match = session.scalars(select(ScenarioVersion.id).where(
                    ScenarioVersion.content_hash == digest, ScenarioVersion.deleted_at.is_(None))
                    .order_by(ScenarioVersion.id.desc()).limit(1)).first()
                scenario_version_id = match
            row = Run(kind=kind, scenario_name=name, scenario_version_id=scenario_version_id, scenario_hash=digest,
                      scenario=body, seed=int(seed), knobs=jsonable(knobs or {}), code_version=code_version(),
                      summary=jsonable(summary), findings=findings, author=actor.email, wall_s=float(wall_s or 0.0),
                      frames_dir=folder, frames=manifest)
            session.add(row)
            session.flush()
            record(session, actor, "save_run", kind, row.id,
                   detail or f"{name}, seed {seed}" + (f", {_knob_text(knobs)}" if knobs else ""))
            session.refresh(row, ["version"])
            return _info(row)
    except BaseException:
        if folder:
            fr.remove_folder(store.frames_root, folder)
        raise


def save_run(store: Store, actor: Actor, result: RunResult, scenario_name: str | None = None,
             knobs: dict | None = None, scenario_version_id: int | None = None) -> RunInfo:
    """Keep one simulation with all its frames."""
    return save_record(store, actor, kind="run", scenario=result.scenario, seed=result.seed, summary=result.summary,
                       frames=result_frames(result), wall_s=float(_get(result.summary, "wall_s") or 0.0),
                       scenario_name=scenario_name, knobs=knobs, findings=findings_of(result),
                       scenario_version_id=scenario_version_id)


def _get(summary: Any, key: str) -> Any:
    return summary.get(key) if isinstance(summary, dict) else getattr(summary, key, None)


def _knob_text(knobs: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in knobs.items())


def find_same(store: Store, scenario: Scenario, seed: int, kind: str = "run") -> RunInfo | None:
    """An identical run already kept (same scenario, seed and code version: the same result)."""
    digest = content_hash(scenario.model_dump(mode="json"))
    with store.sessions.begin() as session:
        row = session.scalars(select(Run).where(Run.scenario_hash == digest, Run.seed == int(seed), Run.kind == kind,
                                                Run.code_version == code_version(), Run.deleted_at.is_(None))
                              .order_by(Run.id.desc()).limit(1)).first()
        return _info(row) if row else None


@dataclass(frozen=True)
class RunFilter:
    scenario_name: str | None = None
    author: str | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 500


def list_runs(store: Store, flt: RunFilter = RunFilter()) -> list[RunInfo]:
    """Kept runs, newest first."""
    with store.sessions.begin() as session:
        query = select(Run).where(Run.deleted_at.is_(None)).order_by(Run.id.desc()).limit(flt.limit)
        if flt.scenario_name:
            query = query.where(Run.scenario_name == flt.scenario_name)
        if flt.author:
            query = query.where(Run.author == flt.author)
        if flt.kind:
            query = query.where(Run.kind == flt.kind)
        if flt.since:
            query = query.where(Run.created_at >= flt.since)
        if flt.until:
            query = query.where(Run.created_at < flt.until)
        return [_info(r) for r in session.scalars(query)]


def filter_values(store: Store) -> tuple[list[str], list[str]]:
    """Scenario names and people that occur in the history."""
    with store.sessions.begin() as session:
        live = Run.deleted_at.is_(None)
        names = sorted(session.scalars(select(Run.scenario_name).where(live).distinct()))
        people = sorted(session.scalars(select(Run.author).where(live).distinct()))
    return names, people


def get(store: Store, run_id: int) -> RunInfo:
    with store.sessions.begin() as session:
        row = session.get(Run, run_id)
        if row is None or row.deleted_at is not None:
            raise LookupError(f"run #{run_id} does not exist (or was deleted)")
        return _info(row)


@dataclass
class StoredRun:
    """A kept run as it was: its record, its scenario (None when today's code cannot read it) and frames."""

    info: RunInfo
    scenario: Scenario | None
    scenario_problem: list[str]
    body: dict
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    def result(self) -> RunResult | None:
        """The stored result in the shape the pages draw (per-request rows left out: see load_requests)."""
        if self.scenario is None or self.info.kind != "run":
            return None
        extra = {k.removeprefix("extra-"): v for k, v in self.frames.items() if k.startswith("extra-")}
        return RunResult(self.scenario, self.info.seed, pd.DataFrame(), self.frames.get("timeseries", pd.DataFrame()),
                         self.frames.get("events", pd.DataFrame()), self.info.summary, extra=extra)


def open_run(store: Store, run_id: int) -> StoredRun:
    """Everything kept for a run except the per-request rows. Raises DamagedFrames if a file is damaged."""
    with store.sessions.begin() as session:
        row = session.get(Run, run_id)
        if row is None or row.deleted_at is not None:
            raise LookupError(f"run #{run_id} does not exist (or was deleted)")
        info, body, folder, manifest = _info(row), row.scenario, row.frames_dir, dict(row.frames or {})
    try:
        scenario, problem = parse_scenario(body), []
    except ScenarioError as err:
        scenario, problem = None, list(err.lines)
    loaded = {key: fr.read_frame(store.frames_root, folder, key, manifest) for key in manifest if key != REQUESTS}
    return StoredRun(info, scenario, problem, body, loaded)


def load_requests(store: Store, actor: Actor, run_id: int) -> pd.DataFrame:
    """The per-request rows of a run (customer attributes): checked, read, and the download audited."""
    authorize(store, actor, "download_requests", "run", run_id)
    info = get(store, run_id)
    with store.sessions.begin() as session:
        row = session.get(Run, run_id)
        folder, manifest = row.frames_dir, dict(row.frames or {})
    if REQUESTS not in manifest:
        raise fr.DamagedFrames(f"the per-request data of run #{run_id} was removed by the retention setting"
                               if info.kind == "run" else f"run #{run_id} has no per-request data")
    frame = fr.read_frame(store.frames_root, folder, REQUESTS, manifest)
    with store.writes.begin() as session:
        record(session, actor, "download_requests", "run", run_id, f"{len(frame):,} rows")
    return frame


def delete_run(store: Store, actor: Actor, run_id: int) -> None:
    """Delete a run (admins): its files go, its row stays marked deleted so decisions keep their reference."""
    authorize(store, actor, "delete_run", "run", run_id)
    with store.writes.begin() as session:
        row = session.get(Run, run_id)
        if row is None or row.deleted_at is not None:
            raise LookupError(f"run #{run_id} does not exist (or was deleted)")
        row.deleted_at, row.deleted_by = utc_now(), actor.email
        folder = row.frames_dir
        record(session, actor, "delete_run", row.kind, run_id, f"{row.scenario_name}, seed {row.seed}")
    if folder:
        fr.remove_folder(store.frames_root, folder)


# --------------------------------------------------------------------------- retention
@dataclass(frozen=True)
class Retention:
    """Keep per-request rows for ``days`` and at most ``gigabytes`` in all (newest kept first)."""

    days: float = 30.0
    gigabytes: float = 5.0

    @classmethod
    def from_env(cls) -> Retention:
        def number(env: str, default: float) -> float:
            raw = os.environ.get(env, "").strip()
            try:
                value = float(raw) if raw else default
            except ValueError:
                raise ValueError(f"{env}: expected a number; got {raw!r}") from None
            if not value >= 0:
                raise ValueError(f"{env}: must be ≥ 0; got {raw}")
            return value

        return cls(number(KEEP_DAYS_ENV, cls.days), number(KEEP_GB_ENV, cls.gigabytes))


def prune(store: Store, actor: Actor, retention: Retention, now: datetime | None = None,
          orphan_age_s: float = 3600.0) -> dict[str, int]:
    """Remove per-request files beyond the retention (the rest of each run stays) and orphaned folders."""
    authorize(store, actor, "prune", "runs", "retention")
    now = now or utc_now()
    cutoff = now - timedelta(days=retention.days)
    budget = retention.gigabytes * 1e9
    purged, freed = [], 0
    with store.writes.begin() as session:
        rows = session.scalars(select(Run).where(Run.frames_dir.is_not(None)).order_by(Run.id.desc())).all()
        referenced = {r.frames_dir for r in rows if r.deleted_at is None}
        used = 0.0
        for row in rows:
            entry = (row.frames or {}).get(REQUESTS)
            if entry is None or row.deleted_at is not None:
                continue
            used += entry["bytes"]
            if row.created_at < cutoff or used > budget:
                manifest = dict(row.frames)
                del manifest[REQUESTS]
                row.frames, row.requests_purged_at = manifest, now
                purged.append(row.frames_dir)
                freed += entry["bytes"]
        if purged:
            record(session, actor, "prune", "runs", "retention",
                   f"per-request data of {len(purged)} run(s) removed ({freed / 1e6:,.0f} MB); keeping "
                   f"{retention.days:g} days and {retention.gigabytes:g} GB")
    for folder in purged:
        fr.remove_file(store.frames_root, folder, REQUESTS)
    stray = fr.orphans(store.frames_root, referenced, orphan_age_s)
    for path in stray:
        fr.remove_folder(store.frames_root, path.name)
    return {"runs_purged": len(purged), "bytes_freed": freed, "orphans_removed": len(stray)}
