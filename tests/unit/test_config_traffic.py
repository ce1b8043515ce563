"""Scenario model, overrides and the arrival process."""
import numpy as np
import pytest
from pydantic import ValidationError

from simulator.runner import run
from simulator.scenario.config import Scenario, ScenarioError, load_scenario, parse_override, with_overrides
from simulator.scenario.rates import expected_count, rate_at
from tests.conftest import SCENARIOS


def test_every_bundled_scenario_is_valid_and_described():
    """Every file in scenarios/ loads and has a plain-language description."""
    files = sorted(SCENARIOS.glob("*.yaml"))
    assert len(files) >= 3
    for f in files:
        sc = load_scenario(f)
        assert len(sc.description.split()) >= 15, f.name


def test_overrides_parse_yaml_scalars_and_revalidate():
    """--set values are YAML scalars; the result is validated like a file."""
    assert parse_override("inference.replicas=6") == ("inference.replicas", 6)
    assert parse_override("inference.queue_limit=null") == ("inference.queue_limit", None)
    assert parse_override("ingestion.mode=batch") == ("ingestion.mode", "batch")
    sc = with_overrides(Scenario(), {"inference.replicas": 6})
    assert sc.inference.replicas == 6
    with pytest.raises(ScenarioError) as err:
        with_overrides(Scenario(), {"inference.replicas": 0})
    assert "inference.replicas" in err.value.lines[0]


def test_scenario_is_frozen_and_rejects_unknown_keys():
    """Typos fail loudly; a scenario cannot be changed after validation."""
    with pytest.raises(ScenarioError):
        with_overrides(Scenario(), {"inference.replica": 2})
    sc = Scenario()
    with pytest.raises(ValidationError):
        sc.duration_s = 5  # type: ignore[misc]


def test_spike_profile_shape():
    """A spike ramps linearly to its multiplier, holds, and ramps back."""
    sc = with_overrides(Scenario(), {"traffic.rate_per_s": 10, "traffic.spikes": [
        {"name": "s", "start_s": 100, "multiplier": 5, "ramp_s": 100, "duration_s": 200}]})
    r = rate_at(sc, np.array([50, 150, 200, 300, 450, 600]))
    np.testing.assert_allclose(r, [10, 30, 50, 50, 30, 10])


def test_arrival_counts_follow_the_rate_profile():
    """Arrivals per window match the integral of the rate (Poisson: within 4 standard deviations)."""
    sc = with_overrides(Scenario(), {"duration_s": 2000, "traffic.rate_per_s": 50,
                                     "traffic.profile_points": [[0, 1], [1000, 3], [2000, 1]],
                                     "feature_store.mode": "off", "external_api.enabled": False,
                                     "inference.enabled": False})
    req = run(sc, seed=1).requests
    expected = expected_count(sc)
    assert expected == pytest.approx(50 * 2000 * 2, rel=1e-3)  # mean multiplier of the triangle is 2
    assert abs(len(req) - expected) < 4 * np.sqrt(expected)
    first = (req.arrival_s < 500).sum()
    exp_first = 50 * (500 + 500 * 500 / 1000 * 2 / 2)  # integral of 50*(1 + 2t/1000) over [0, 500]
    assert abs(first - exp_first) < 4 * np.sqrt(exp_first)


def test_replay_csv_reproduces_timestamps(tmp_path):
    """kind: replay sends exactly the CSV's arrivals (inside the run window)."""
    csv = tmp_path / "arrivals.csv"
    times = [0.5, 1.0, 1.2, 7.0, 9.9, 12.0]
    csv.write_text("t_s\n" + "\n".join(map(str, times)) + "\n")
    f = tmp_path / "replay.yaml"
    f.write_text(f"duration_s: 10\ntraffic:\n  kind: replay\n  replay_csv: {csv.name}\n")
    req = run(load_scenario(f), seed=1).requests
    np.testing.assert_allclose(req["arrival_s"], times[:5])


def test_attributes_follow_scenario_shares():
    """Each request carries a segment and region drawn with the scenario's shares."""
    sc = with_overrides(Scenario(), {"duration_s": 400, "traffic.rate_per_s": 100,
                                     "traffic.regions": {"a": 0.7, "b": 0.3}})
    req = run(sc, seed=2).requests
    share_a = (req.region == "a").mean()
    assert share_a == pytest.approx(0.7, abs=0.01)
    assert set(req.segment.cat.categories) == {"consumer", "business"}
