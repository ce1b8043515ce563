"""The command line as a user meets it: exit codes, one-line errors, outputs."""
import json
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import ROOT, SCENARIOS

SMALL = ["--set", "duration_s=60", "--set", "warmup_s=5"]


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "simulator", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_run_prints_a_readable_summary():
    """`run baseline` prints the headline numbers and every stage."""
    p = cli("run", str(SCENARIOS / "baseline.yaml"), *SMALL)
    assert p.returncode == 0, p.stderr
    for word in ("Availability", "Latency", "p99", "inference", "feature_store", "external_api", "ingestion"):
        assert word in p.stdout


def test_run_of_a_topology_prints_its_components():
    """A scenario with its own architecture lists its components, the bottleneck, the p99's path and
    the components without a fallback, in the scenario's own words."""
    p = cli("run", "fraud_enrichment", *SMALL)
    assert p.returncode == 0, p.stderr
    for words in ("credit bureau", "large fraud model", "Bottleneck", "p99 path", "every decision stops"):
        assert words in p.stdout
    assert "external_api" not in p.stdout  # the chain's stage table is not shown


def test_json_prints_only_the_summary_and_out_writes_the_tables(tmp_path):
    """--json gives parseable JSON on stdout; --out writes the five documented files."""
    p = cli("run", "baseline", "--seed", "3", "--json", "--out", str(tmp_path), *SMALL)
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)
    assert summary["seed"] == 3 and summary["scenario"] == "baseline"
    for name in ("summary.json", "requests.parquet", "timeseries.csv", "events.csv", "scenario.resolved.yaml"):
        assert (tmp_path / name).exists(), name
    req = pd.read_parquet(tmp_path / "requests.parquet")
    assert len(req) >= summary["requests"]["arrived"]


@pytest.mark.parametrize("args,field", [
    (["run", "does_not_exist.yaml"], "does_not_exist.yaml"),
    (["run", "baseline", "--set", "inference.replicas=0"], "inference.replicas"),
    (["run", "baseline", "--set", "inference.concurrency=0"], "inference.concurrency"),
    (["run", "baseline", "--set", "inference.replicass=3"], "inference.replicass"),
    (["run", "baseline", "--set", "traffic.rate_per_s=lots"], "traffic.rate_per_s"),
    (["run", "baseline", "--set", "novalue"], "novalue"),
    (["run", "baseline", "--set", "duration_s=2000000"], "max_requests"),
    (["validate", "baseline", "--set", "warmup_s=99999"], "warmup_s"),
    (["replicate", "baseline", "--reps", "1000000"], "--reps"),
    (["replicate", "baseline", "--reps", "900"], "10 x max_requests"),
])
def test_bad_input_exits_2_with_a_line_naming_the_field(args, field):
    """Each kind of bad input: exit code 2, a line naming the field, no traceback."""
    p = cli(*args)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert field in p.stderr
    assert "Traceback" not in p.stderr


def test_schema_violation_names_range_and_value(tmp_path):
    """A bad value in a file names the field, the allowed range and the value given."""
    f = tmp_path / "bad.yaml"
    f.write_text("inference:\n  concurrency: -2\n")
    p = cli("run", str(f))
    assert p.returncode == 2
    line = p.stderr.strip().splitlines()[0]
    assert "inference.concurrency" in line and "≥ 1" in line and "≤ 1000" in line and "-2" in line


def test_bad_yaml_and_empty_file(tmp_path):
    """Unparseable YAML and an empty file are input errors, not crashes."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("traffic: [1,\n")
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    for f in (bad, empty):
        p = cli("validate", str(f))
        assert p.returncode == 2 and "Traceback" not in p.stderr and str(f) in p.stderr


def test_list_and_schema():
    """`list` shows each scenario with a description; `schema` prints a JSON Schema."""
    p = cli("list")
    assert p.returncode == 0 and "baseline" in p.stdout and "mmc" in p.stdout
    s = cli("schema")
    schema = json.loads(s.stdout)
    assert "inference" in schema["properties"]
    assert schema["$defs"]["InferenceConfig"]["properties"]["concurrency"]["minimum"] == 1
