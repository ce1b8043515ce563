"""The decision brief end to end: its numbers are the comparison's, it prints offline, and it escapes.

One small comparison (baseline for four simulated minutes at 40 payments/s, 4 against 6 model
servers, 3 paired replications) is made once; A's name and description carry HTML and LaTeX-like
characters. The PDF's text comes from poppler's ``pdftotext``; the slides' text from python-pptx.
"""
from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from simulator.analysis.experiments import format_signed, format_value
from simulator.scenario.config import load_scenario, scenario_to_yaml, with_overrides

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = r"<script>alert(1)</script> & \textbf{x} $5"
SMALL = {"duration_s": 240, "warmup_s": 20, "traffic.rate_per_s": 40, "name": HOSTILE,
         "description": f"A short baseline. {HOSTILE} {{}} %% #_^~"}
REPS = 3

needs_tools = pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("pdftotext") and shutil.which("dot")),
                                 reason="needs Debian's chromium, poppler-utils and graphviz (make test installs them)")
pytestmark = needs_tools


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    from simulator.brief.make import make_brief, render

    a = with_overrides(load_scenario(ROOT / "scenarios" / "baseline.yaml"), SMALL)
    b = with_overrides(a, {"inference.replicas": 6})
    brief, comparison = make_brief(a, b, REPS, seed=42, label_a=HOSTILE, label_b="6 model servers")
    folder = tmp_path_factory.mktemp("brief")
    pdf, pptx = folder / "brief.pdf", folder / "brief.pptx"
    pdf.write_bytes(render(brief, ".pdf"))
    pptx.write_bytes(render(brief, ".pptx"))
    (folder / "a.yaml").write_text(scenario_to_yaml(a), encoding="utf-8")
    (folder / "b.yaml").write_text(scenario_to_yaml(b), encoding="utf-8")
    return brief, comparison, pdf, pptx, folder


def pdf_lines(path: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return [" ".join(line.split()) for line in text.splitlines()]


def slide_tables(path: Path) -> list[list[str]]:
    from pptx import Presentation

    rows = []
    for slide in Presentation(BytesIO(path.read_bytes())).slides:
        for shape in slide.shapes:
            if shape.has_table:
                rows += [[cell.text for cell in row.cells] for row in shape.table.rows]
    return rows


def slide_text(path: Path) -> str:
    from pptx import Presentation

    parts = []
    for slide in Presentation(BytesIO(path.read_bytes())).slides:
        parts += [shape.text_frame.text for shape in slide.shapes if shape.has_text_frame]
    return "\n".join(parts)


def test_the_pdf_shows_every_number_of_the_comparison(made):
    """Each KPI's row in the PDF holds A's and B's means, B - A and its interval as the comparison has them."""
    _, comparison, pdf, _, _ = made
    lines = pdf_lines(pdf)
    for r in comparison.table.itertuples():
        cells = [format_value(r.kpi, r.a_mean), format_value(r.kpi, r.b_mean), format_signed(r.kpi, r.diff_mean),
                 f"{format_signed(r.kpi, r.lo)} to {format_signed(r.kpi, r.hi)}"]
        pattern = re.compile(r"\s.*".join(re.escape(c) for c in cells))
        assert any(pattern.search(line) for line in lines), (r.kpi, cells)


def test_the_slides_show_every_number_of_the_comparison(made):
    _, comparison, _, pptx, _ = made
    rows = {row[0]: row for row in slide_tables(pptx)}
    for r in comparison.table.itertuples():
        row = rows[r.label]
        assert row[1:5] == [format_value(r.kpi, r.a_mean), format_value(r.kpi, r.b_mean),
                            format_signed(r.kpi, r.diff_mean),
                            f"{format_signed(r.kpi, r.lo)} to {format_signed(r.kpi, r.hi)}"], r.kpi


def test_the_p99_interval_is_the_paired_t_interval_by_hand(made):
    """Independent check: mean of B - A over the replications ± t(0.975, n-1) · s / √n, from the raw runs."""
    brief, comparison, _, _, _ = made
    d = comparison.b.runs["latency_ms.p99"].to_numpy() - comparison.a.runs["latency_ms.p99"].to_numpy()
    half = sps.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    row = next(r for r in brief.rows if r.kpi == "latency_ms.p99")
    assert row.interval == f"{format_signed('x_ms', d.mean() - half)} to {format_signed('x_ms', d.mean() + half)}"
    assert np.isclose(comparison.table.set_index("kpi").loc["latency_ms.p99", "half_width"], half)


def test_the_cli_compare_prints_the_numbers_the_brief_shows(made, capsys):
    """`python -m simulator compare A B` on the same files, seed and replications: its B - A cells are the brief's."""
    from simulator.cli.main import main

    brief, _, _, _, folder = made
    assert main(["compare", str(folder / "a.yaml"), str(folder / "b.yaml"), "--reps", str(REPS), "--seed", "42",
                 "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    for row in brief.rows:
        assert f"{row.difference} [{row.interval}]" in printed, row.kpi


def test_hostile_names_are_escaped(made):
    """The name prints as written in both files, and never becomes markup in the page Chromium prints."""
    from simulator.brief.pdf import brief_html

    brief, _, pdf, pptx, _ = made
    html = brief_html(brief)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; \\textbf{x} $5" in html
    assert HOSTILE in "\n".join(pdf_lines(pdf))
    assert HOSTILE in slide_text(pptx)


def test_nothing_is_cut_off_the_pages(made):
    """Pages clip what does not fit (Chromium then leaves it out of the PDF's text): the first page ends with B's
    changes, the risks page with the last risk, the last page with the command line, and the verdict leads the first
    page and slide."""
    brief, _, pdf, pptx, _ = made

    def page(n: int) -> str:
        return " ".join(subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), str(pdf), "-"], capture_output=True,
                                       text=True, check=True).stdout.split())

    assert " ".join(brief.verdict.split()) in page(1)
    assert brief.changes and brief.changes[-1] in page(1)
    assert all(" ".join(r.text.split()) in page(4) for r in brief.risks)
    assert " ".join(brief.assumptions[-1].split()) in page(6) and " ".join(brief.footer[-1].split()) in page(6)
    assert brief.verdict in slide_text(pptx)


def test_it_prints_without_a_network(made):
    """No reference leaves the file (only XML namespaces), and printing works in a namespace with no network."""
    from simulator.brief.pdf import brief_html

    brief = made[0]
    html = brief_html(brief)
    links = set(re.findall(r"(?:https?:)?//[^\s\"'<>)]+", html))
    assert links <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, links
    if subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode != 0:
        pytest.skip("cannot make a network namespace here")
    code = ("import pickle, sys; from simulator.brief.make import render; "
            "sys.stdout.buffer.write(render(pickle.loads(sys.stdin.buffer.read()), '.pdf')[:5])")
    import pickle

    done = subprocess.run(["unshare", "-rn", sys.executable, "-c", code], input=pickle.dumps(brief),
                          capture_output=True, cwd=ROOT, timeout=180)
    assert done.stdout == b"%PDF-", done.stderr.decode()[-500:]


@pytest.mark.parametrize("args, message", [
    (["baseline", "mmc", "--out", "brief.docx"], "--out: 'brief.docx' must end in .pdf or .pptx"),
    (["baseline", "--out", "brief.pdf"], "b: give scenario B; baseline has no natural comparison"),
    (["baseline", "mmc", "--reps", "1", "--out", "brief.pdf"], "--reps: must be ≥ 2"),
    (["baseline", "mmc", "--out", "a.pdf", "--out", "b.pdf"], "--out: give at most one .pdf and one .pptx"),
    (["baseline", "mmc", "--out", "missing/brief.pdf"], "--out: the folder of missing/brief.pdf does not exist"),
    (["baseline", "mmc", "--set-b", "inference.replicas=-1", "--out", "brief.pdf"], "inference.replicas"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path, monkeypatch, capsys):
    from simulator.cli.main import main

    monkeypatch.chdir(tmp_path)
    assert main(["brief", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not list(tmp_path.iterdir())  # nothing written


def test_an_existing_file_is_kept_without_force(tmp_path, monkeypatch, capsys):
    from simulator.cli.main import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "brief.pdf").write_text("mine")
    assert main(["brief", "baseline", "mmc", "--out", "brief.pdf"]) == 2
    assert "exists; add --force" in capsys.readouterr().err
    assert (tmp_path / "brief.pdf").read_text() == "mine"


def test_the_cli_writes_both_files_and_says_how_to_make_them_again(made, tmp_path, capsys):
    """`brief A B --out x.pdf --out x.pptx`: both files, the verdict on stdout, the command in the footer."""
    from simulator.cli.main import main

    folder = made[4]
    a, b = str(folder / "a.yaml"), str(folder / "b.yaml")
    pdf, pptx = tmp_path / "x.pdf", tmp_path / "x.pptx"
    assert main(["brief", a, b, "--reps", "2", "--workers", "1", "--set", "duration_s=120", "--out", str(pdf),
                 "--out", str(pptx)]) == 0
    out = capsys.readouterr().out.strip()
    assert out.endswith(("; confident.", "; not sure yet.")) and len(out.splitlines()) == 1
    assert pdf.read_bytes()[:5] == b"%PDF-" and pptx.read_bytes()[:2] == b"PK"
    command = f"Command: python -m simulator brief {a} {b} --set duration_s=120 --reps 2 --seed 42"
    assert command in slide_text(pptx)
    assert command in " ".join(" ".join(pdf_lines(pdf)).split())
