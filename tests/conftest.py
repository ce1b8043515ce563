"""Shared fixtures: small scenarios that run in well under a second."""
from pathlib import Path

import pytest

from simulator.scenario.config import Scenario, load_scenario, with_overrides

pytest_plugins = ["tests.postgres"]  # a throwaway PostgreSQL server, started only when a test asks for it

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


@pytest.fixture
def tiny() -> Scenario:
    """The baseline pipeline (stream, feature store, API, inference) for two simulated minutes."""
    return with_overrides(load_scenario(SCENARIOS / "baseline.yaml"),
                          {"duration_s": 120, "warmup_s": 10, "traffic.rate_per_s": 40})


def only_inference(**inference) -> Scenario:
    """A scenario with every stage off except inference (for queueing-theory checks)."""
    base = load_scenario(SCENARIOS / "mmc.yaml")
    return with_overrides(base, {f"inference.{k}": v for k, v in inference.items()})
