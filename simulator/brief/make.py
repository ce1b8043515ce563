"""Make a brief end to end: the paired comparison, one full run of each option, then the files.

The CLI and the dashboard both come here; the dashboard passes the runs (and findings) it already
has, so only the replications are new work.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from simulator.analysis import experiments
from simulator.analysis.backends import Backend
from simulator.brief.content import Brief, Option, build_brief
from simulator.common.files import atomic_write_bytes
from simulator.report.finding import Findings
from simulator.report.results import RunResult
from simulator.runner import run, run_findings
from simulator.scenario.config import Scenario
from simulator.store.runs import code_version

FORMATS = (".pdf", ".pptx")


def make_brief(a: Scenario, b: Scenario, reps: int, *, seed: int, label_a: str, label_b: str,
               backend: Backend | None = None, runs: tuple[RunResult, RunResult] | None = None,
               findings: tuple[Findings, Findings] | None = None, question: str = "", chosen: str = "",
               rationale: str = "", versions: tuple[str, str] = ("", ""), command: str = "",
               progress: Callable[[int, int], None] | None = None) -> tuple[Brief, experiments.Comparison]:
    """The brief and the comparison it was built from (A's and B's ``reps`` replications on the same seeds).
    ``versions`` name the Library versions the scenarios came from, when they did."""
    comparison = experiments.compare(a, b, reps, backend=backend, seed=seed, progress=progress)
    if runs is None:
        runs = (run(a, seed), run(b, seed))
    if findings is None:
        findings = (run_findings(runs[0]), run_findings(runs[1]))
    brief = build_brief(comparison, runs[0], runs[1], findings[0], findings[1],
                        Option("A", label_a, a.description.strip(), versions[0]),
                        Option("B", label_b, b.description.strip(), versions[1]),
                        seed=seed, code_version=code_version(), question=question, chosen=chosen,
                        rationale=rationale, command=command)
    return brief, comparison


def render(brief: Brief, fmt: str) -> bytes:
    """The brief as ``.pdf`` or ``.pptx`` bytes."""
    if fmt == ".pdf":
        from simulator.brief.pdf import brief_pdf

        return brief_pdf(brief)
    if fmt == ".pptx":
        from simulator.brief.slides import brief_pptx

        return brief_pptx(brief)
    raise ValueError(f"a brief is a .pdf or a .pptx file, not {fmt!r}")


def write(brief: Brief, path: str | Path) -> Path:
    """Write the brief in the format its file name ends with (written under a temporary name, then renamed)."""
    return atomic_write_bytes(path, render(brief, Path(path).suffix.lower()))
