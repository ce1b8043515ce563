"""Helpers shared by the CLI's commands: scenarios by name or path, budgets, crash-safe output."""
from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path

from simulator.common.files import OutputExists, check_output_folder, output_folder
from simulator.scenario.budget import MAX_EVENTS_ENV, MAX_MEMORY_ENV
from simulator.scenario.config import Scenario, load_scenario, parse_override, with_overrides

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
MAX_SEED = 2**63 - 1


class InputError(Exception):
    """Bad input found by the CLI itself (not by the scenario model)."""


def resolve_scenario_path(name: str) -> Path:
    """Accept a path, or a bare scenario name from the scenarios/ folder."""
    p = Path(name)
    if p.exists() or p.suffix in (".yaml", ".yml") or "/" in name:
        return p
    candidate = SCENARIO_DIR / f"{name}.yaml"
    return candidate if candidate.exists() else p


def load_with_overrides(path: str, sets: list[str] | None) -> Scenario:
    """Load a scenario file and apply ``--set PATH=VALUE`` overrides through one validation."""
    scenario = load_scenario(resolve_scenario_path(path))
    overrides = dict(parse_override(s) for s in (sets or []))
    return with_overrides(scenario, overrides)


def check_seed(seed: int) -> int:
    if not 0 <= seed <= MAX_SEED:
        raise InputError(f"--seed: must be between 0 and {MAX_SEED:,}; got {seed}")
    return seed


# --------------------------------------------------------------------------- budgets
def add_budget_options(p) -> None:
    p.add_argument("--max-events", type=float, metavar="N",
                   help=f"refuse a run estimated above N simulation events (default 1e9, or ${MAX_EVENTS_ENV})")
    p.add_argument("--max-memory-mb", type=float, metavar="MB",
                   help=f"refuse a run estimated above this much memory (default: 80 %% of the memory available "
                        f"now, or ${MAX_MEMORY_ENV})")


def apply_budget_options(args) -> None:
    """Put ``--max-events`` / ``--max-memory-mb`` into the environment, so worker processes inherit them."""
    for option, env in (("max_events", MAX_EVENTS_ENV), ("max_memory_mb", MAX_MEMORY_ENV)):
        value = getattr(args, option, None)
        if value is None:
            continue
        if not math.isfinite(value) or value <= 0:
            raise InputError(f"--{option.replace('_', '-')}: must be a positive number; got {value:g}")
        os.environ[env] = repr(float(value))


# --------------------------------------------------------------------------- output
def add_output_options(p, what: str) -> None:
    p.add_argument("--out", metavar="DIR", help=f"write {what} to DIR (written whole or not at all)")
    p.add_argument("--force", action="store_true", help="replace DIR if it already holds a result")


def check_out(args) -> None:
    """Refuse an unusable ``--out`` (or ``--traces``) target before any work starts."""
    if getattr(args, "out", None):
        try:
            check_output_folder(args.out, args.force)
        except OSError as err:
            raise InputError(f"--out: {err}") from None
    traces = getattr(args, "traces", None)
    if traces:
        path = Path(traces).absolute()
        if path.is_dir():
            raise InputError(f"--traces: {traces} is a folder, expected a file name")
        if not path.parent.is_dir():
            raise InputError(f"--traces: the folder {path.parent} does not exist")
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise InputError(f"--traces: cannot write into {path.parent}")


@contextlib.contextmanager
def writing_out(args):
    """The temporary folder ``--out`` is written into; it becomes ``--out`` when complete."""
    try:
        with output_folder(args.out, args.force) as folder:
            yield folder
    except OutputExists as err:
        raise InputError(f"--out: {err}") from None
    except OSError as err:
        raise InputError(f"--out: could not write {args.out}: {err.strerror or err}") from None
