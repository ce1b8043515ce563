"""Shared AppTest set-up: short copies of bundled scenarios, run in-process."""
from pathlib import Path

import pytest

from simulator.scenario.config import load_scenario, scenario_to_yaml, with_overrides

ROOT = Path(__file__).resolve().parents[2]
SMALL = {"duration_s": 240, "warmup_s": 20, "traffic.rate_per_s": 40}


def write_scenarios(folder: Path, overrides: dict[str, dict]) -> Path:
    """Write each bundled scenario with its overrides applied into ``folder``."""
    for name, extra in overrides.items():
        sc = with_overrides(load_scenario(ROOT / "scenarios" / f"{name}.yaml"), extra)
        (folder / f"{name}.yaml").write_text(scenario_to_yaml(sc), encoding="utf-8")
    return folder


@pytest.fixture(autouse=True)
def small_env(monkeypatch, small_dir, tmp_path):
    """Every app test runs in-process on its module's ``small_dir`` scenarios, with a store of its own."""
    monkeypatch.setenv("PIPELINE_TWIN_INPROCESS", "1")
    monkeypatch.setenv("PIPELINE_TWIN_SCENARIOS", str(small_dir))
    monkeypatch.setenv("PIPELINE_TWIN_DATA_DIR", str(tmp_path / "data"))
    for name in ("PIPELINE_TWIN_DATABASE_URL", "PIPELINE_TWIN_ROLES", "PIPELINE_TWIN_USER"):
        monkeypatch.delenv(name, raising=False)
