"""Helpers shared by the CLI's commands: loading a scenario by name or path with overrides."""
from __future__ import annotations

from pathlib import Path

from simulator.scenario.config import Scenario, load_scenario, parse_override, with_overrides

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"


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
