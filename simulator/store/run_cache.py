"""Finished runs kept on disk, so that a restarted dashboard answers from disk instead of simulating again.

An entry is keyed by the code version (a hash of the simulator's sources and the numeric packages
it runs on), the fully resolved scenario and the seed: any change to the code, a default, a knob
or the seed gives another key, so a stale result is never shown. Two kinds of entry:

* a full run (:meth:`RunCache.get` / :meth:`RunCache.put`): its frames as Arrow files (written by
  :func:`simulator.store.frames.write_frames`, checked against their SHA-256 on every read) and
  ``meta.json`` with the summary and the scenario; ``meta.json`` is written last, so a folder
  without it is a write that crashed half-way;
* a work unit's JSON answer (:meth:`RunCache.get_json` / :meth:`RunCache.put_json`), e.g. the
  summary of one replication, one file per key.

Nothing here unpickles: entries are Arrow and JSON, and the scenario read back is validated
and must equal the one asked for. A damaged or unreadable entry counts as missing (it is removed
and the run is simulated again). Every write goes to a temporary name first and is renamed into
place. The folder is capped (``PIPELINE_TWIN_RUN_CACHE_MB``, default 2048 MB): the least
recently used entries go first.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import threading
import time
from functools import cache
from pathlib import Path

import numpy as np

from simulator.common.files import atomic_write_text
from simulator.report.results import RunResult
from simulator.report.summary_model import Summary
from simulator.scenario.config import Scenario
from simulator.store import frames as fr

LOG = logging.getLogger("pipeline_twin.run_cache")

FORMAT = 1                     # bump when the layout of an entry changes
CACHE_DIR_ENV = "PIPELINE_TWIN_RUN_CACHE_DIR"
CACHE_MB_ENV = "PIPELINE_TWIN_RUN_CACHE_MB"
DEFAULT_CACHE_MB = 2048.0
META = "meta.json"
SOURCES = Path(__file__).resolve().parents[1]   # the simulator package


@cache
def code_version() -> str:
    """Hash of every source file of the simulator (path and bytes) and the numeric packages' versions.

    Unlike the git commit, it also changes with uncommitted edits; it is computed once per process.
    """
    import numba
    import pandas

    digest = hashlib.sha256(f"format={FORMAT}|python={sys.version_info[:2]}|numpy={np.__version__}|"
                            f"pandas={pandas.__version__}|numba={numba.__version__}".encode())
    for path in sorted(SOURCES.rglob("*.py")):
        digest.update(str(path.relative_to(SOURCES)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def cache_key(scenario: Scenario, seed: int, kind: str = "run", code: str | None = None) -> str:
    """The entry's name: code version, resolved scenario (every default written out), seed and kind."""
    text = f"{code or code_version()}|{kind}|seed={int(seed)}|{scenario.model_dump_json()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def default_root() -> Path:
    """``$PIPELINE_TWIN_RUN_CACHE_DIR``, else ``run-cache/`` in the data folder (``.data/``)."""
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    from simulator.store.db import data_dir

    return data_dir() / "run-cache"


def default_max_bytes() -> int:
    try:
        mb = float(os.environ.get(CACHE_MB_ENV, "") or DEFAULT_CACHE_MB)
    except ValueError:
        mb = DEFAULT_CACHE_MB
    return int(max(mb, 0.0) * 2**20)


def _frames(result: RunResult) -> dict:
    out = {"requests": result.requests, "timeseries": result.timeseries, "events": result.events,
           "spans": result.spans}
    for name, frame in (result.extra or {}).items():
        out[f"extra-{name}"] = frame
    return out


class RunCache:
    """Runs and work-unit answers on disk under ``root``, at most ``max_bytes`` in all."""

    def __init__(self, root: Path | None = None, max_bytes: int | None = None):
        self.root = Path(root) if root is not None else default_root()
        self.max_bytes = default_max_bytes() if max_bytes is None else int(max_bytes)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """A cap of 0 switches the cache off: nothing is read or written."""
        return self.max_bytes > 0

    # ------------------------------------------------------------------ full runs
    def has(self, scenario: Scenario, seed: int) -> bool:
        return self.enabled and (self.root / cache_key(scenario, seed) / META).is_file()

    def get(self, scenario: Scenario, seed: int) -> RunResult | None:
        """The kept run for ``scenario`` and ``seed``, or None (missing, damaged, or for another scenario)."""
        if not self.enabled:
            return None
        key = cache_key(scenario, seed)
        folder = self.root / key
        if not (folder / META).is_file():
            return None
        try:
            meta = json.loads((folder / META).read_text("utf-8"))
            if meta.get("format") != FORMAT or meta.get("seed") != int(seed) or \
                    meta.get("scenario") != scenario.model_dump_json():
                raise fr.DamagedFrames("the entry is for another scenario, seed or format")
            summary = Summary.model_validate(meta["summary"])
            manifest = meta["frames"]
            loaded = {name: fr.read_frame(self.root, key, name, manifest, fmt="arrow") for name in manifest}
        except Exception as err:  # anything unreadable is a miss: drop it, simulate again
            LOG.warning("run cache entry %s is unusable (%s); it will be recomputed", key[:12], err)
            self._remove(folder)
            return None
        self._touch(folder / META)
        extra = {name.removeprefix("extra-"): frame for name, frame in loaded.items() if name.startswith("extra-")}
        return RunResult(scenario, int(seed), loaded["requests"], loaded["timeseries"], loaded["events"], summary,
                         loaded["spans"], extra)

    def put(self, result: RunResult) -> bool:
        """Keep ``result`` (True), unless it is there already or cannot be written (False; never raises)."""
        if not self.enabled:
            return False
        key = cache_key(result.scenario, result.seed)
        folder = self.root / key
        if (folder / META).is_file():
            return False
        if folder.exists():  # frames without meta.json: a write that crashed (or lost a race) half-way
            self._remove(folder)
        try:
            _, manifest = fr.write_frames(self.root, _frames(result), name=key, fmt="arrow")
            meta = {"format": FORMAT, "seed": int(result.seed), "scenario": result.scenario.model_dump_json(),
                    "summary": result.summary.to_dict(), "frames": manifest, "written": time.time()}
            atomic_write_text(self.root / key / META, json.dumps(meta))
        except Exception as err:  # a full disk, a race with another process writing the same key: skip it
            LOG.warning("could not keep run %s on disk: %s", key[:12], err)
            return False
        self.evict()
        return True

    # ------------------------------------------------------------------ work-unit answers
    def _json_path(self, key: str) -> Path:
        return self.root / "json" / f"{key}.json"

    def get_json(self, key: str):
        """A work unit's kept answer (plain JSON), or None."""
        if not self.enabled:
            return None
        path = self._json_path(key)
        try:
            data = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            LOG.warning("run cache answer %s is unusable (%s); it will be recomputed", key[:12], err)
            path.unlink(missing_ok=True)
            return None
        if not isinstance(data, dict) or data.get("format") != FORMAT or "answer" not in data:
            path.unlink(missing_ok=True)
            return None
        self._touch(path)
        return data["answer"]

    def put_json(self, key: str, answer) -> bool:
        if not self.enabled:
            return False
        try:
            self._json_path(key).parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self._json_path(key), json.dumps({"format": FORMAT, "answer": answer}))
        except (OSError, TypeError, ValueError) as err:
            LOG.warning("could not keep answer %s on disk: %s", key[:12], err)
            return False
        return True

    def note_warm(self, tag: str, runs: int, simulated: int, seconds: float) -> None:
        """Record that this code version's runs for a set of scenarios (``tag``) are all on disk."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.warm_marker(tag), json.dumps({"runs": runs, "simulated": simulated,
                                                              "seconds": round(seconds, 1), "at": time.time()}))
        except OSError as err:
            LOG.warning("could not note the warm-up: %s", err)

    def warm_marker(self, tag: str) -> Path:
        return self.root / f"warm-{code_version()}-{tag}.json"

    # ------------------------------------------------------------------ housekeeping
    @staticmethod
    def _touch(path: Path) -> None:
        try:
            os.utime(path)
        except OSError:
            pass

    @staticmethod
    def _remove(folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)

    def _entries(self) -> list[tuple[float, int, Path]]:
        """(last used, bytes, path) of every entry; a half-written folder counts as used when last written."""
        out = []
        if not self.root.is_dir():
            return out
        for path in self.root.iterdir():
            try:
                if path.name == "json":
                    out += [(p.stat().st_mtime, p.stat().st_size, p) for p in path.glob("*.json")]
                elif path.is_dir():
                    files = [p for p in path.iterdir() if p.is_file()]
                    used = max((p.stat().st_mtime for p in files), default=path.stat().st_mtime)
                    out.append((used, sum(p.stat().st_size for p in files), path))
            except OSError:
                continue
        return out

    def size_bytes(self) -> int:
        return sum(size for _, size, _ in self._entries())

    def evict(self) -> None:
        """Remove the least recently used entries until the folder fits its cap (crashed writes after an hour)."""
        with self._lock:
            entries = sorted(self._entries())
            total = sum(size for _, size, _ in entries)
            stale = time.time() - 3600
            for used, size, path in entries:
                partial = path.name.startswith(fr.TMP_PREFIX) or (path.is_dir() and not (path / META).exists())
                if total <= self.max_bytes and not (partial and used < stale):
                    continue
                if path.is_dir():
                    self._remove(path)
                else:
                    path.unlink(missing_ok=True)
                total -= size
