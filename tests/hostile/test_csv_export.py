"""CSV exports neutralise text that a spreadsheet would run as a formula (OWASP CSV injection)."""
import io

import pandas as pd
import pytest

from simulator.common.csv_export import frame_to_csv, neutralize
from simulator.runner import run
from simulator.scenario.config import Scenario, with_overrides

FORMULA = '=HYPERLINK("http://evil.example","click")'


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1", FORMULA])
def test_formula_cells_get_a_quote(cell):
    assert neutralize(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["plain", "1=1", "", " =1", -5.0, 3, None])
def test_other_cells_are_unchanged(cell):
    assert neutralize(cell) == cell


def test_frames_keep_numbers_and_neutralise_text_categories_and_headers():
    frame = pd.DataFrame({"=bad header": [1, 2], "value": [-1.5, 2.0], "name": ["=cmd", "ok"],
                          "kind": pd.Categorical(["@x", "y"])})
    back = pd.read_csv(io.StringIO(frame_to_csv(frame)))
    assert list(back.columns) == ["'=bad header", "value", "name", "kind"]
    assert back["value"].tolist() == [-1.5, 2.0]
    assert back["name"].tolist() == ["'=cmd", "ok"]
    assert back["kind"].tolist() == ["'@x", "y"]
    assert frame["name"].tolist() == ["=cmd", "ok"], "the caller's frame is not changed"


def test_a_spike_named_like_a_formula_leaves_the_run_harmless_in_exports(tmp_path):
    """End to end: the name reaches events.csv (CLI) and the dashboard's events download as text."""
    from dashboard import widgets  # noqa: F401  (the dashboard uses the same helper)

    sc = with_overrides(Scenario(), {"duration_s": 60, "traffic.rate_per_s": 5,
                                     "traffic.spikes": [{"name": FORMULA, "start_s": 10, "duration_s": 10}]})
    result = run(sc, 1)
    result.write(tmp_path)
    for text in ((tmp_path / "events.csv").read_text(), frame_to_csv(result.events)):
        details = pd.read_csv(io.StringIO(text))["detail"].tolist()
        assert details and all(not str(d).startswith(("=", "+", "-", "@")) for d in details)
        assert any(str(d).startswith("'=HYPERLINK") for d in details)


def test_every_csv_writer_uses_the_helper():
    """No direct DataFrame.to_csv left in the program's code (a new export must use frame_to_csv)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = [str(p.relative_to(root)) for folder in ("simulator", "dashboard", "pages")
                 for p in (root / folder).rglob("*.py") if p.name != "csv_export.py"
                 for line in p.read_text().splitlines() if ".to_csv(" in line and "audit.to_csv(" not in line]
    assert offenders == []
    # the audit log's own CSV writer neutralises through the same helper
    assert "neutralize(" in (root / "simulator" / "store" / "audit.py").read_text()
