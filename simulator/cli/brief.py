"""``brief A B --out brief.pdf [--out brief.pptx]``: a decision brief from a paired comparison.

Takes the same options as ``compare`` (A, B, --set, --set-a, --set-b, --reps, --seed, budgets,
--scheduler/--workers); every input, the output file names included, is checked before the
simulations start.
"""
from __future__ import annotations

import shlex
from pathlib import Path

from simulator.cli.common import InputError, add_budget_options
from simulator.cli.experiments import (
    _backend,
    _backend_errors_as_input,
    _Progress,
    _say,
    add_backend_options,
    add_pair_options,
    load_pair,
    pair_labels,
)

MAX_QUESTION_CHARS = 500


def _targets(args) -> list[Path]:
    from simulator.brief.make import FORMATS

    paths = [Path(p) for p in args.out]
    for path in paths:
        if path.suffix.lower() not in FORMATS:
            raise InputError(f"--out: {str(path)[:80]!r} must end in .pdf or .pptx")
        if path.is_dir():
            raise InputError(f"--out: {str(path)[:80]} is a folder, expected a file name")
        if not path.absolute().parent.is_dir():
            raise InputError(f"--out: the folder of {str(path)[:80]} does not exist")
        if path.exists() and not args.force:
            raise InputError(f"--out: {str(path)[:80]} exists; add --force to replace it")
    if len({p.suffix.lower() for p in paths}) != len(paths):
        raise InputError("--out: give at most one .pdf and one .pptx")
    return paths


def _command(args, reps: int, seed: int) -> str:
    """The command line that makes this brief again (the scenarios named as given, the seed written out)."""
    words = ["brief", args.a, *([args.b] if args.b else [])]
    for option, values in (("--set", args.set), ("--set-a", args.set_a), ("--set-b", args.set_b)):
        for value in values or []:
            words += [option, value]
    return "python -m simulator " + shlex.join([*words, "--reps", str(reps), "--seed", str(seed)])


@_backend_errors_as_input
def cmd_brief(args) -> int:
    from simulator.brief.chromium import RendererMissing, chromium_path
    from simulator.brief.make import make_brief, write

    a, b, reps, memory, seed = load_pair(args)
    targets = _targets(args)
    question = (args.question or "").strip()
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError(f"--question: at most {MAX_QUESTION_CHARS} characters; got {len(question)}")
    try:
        chromium_path()
    except RendererMissing as err:
        raise InputError(f"--out: {err}") from None
    label_a, label_b = pair_labels(args, a, b)
    bar = _Progress()
    try:
        with _backend(args, memory) as backend:
            brief, _ = make_brief(a, b, reps, seed=seed, label_a=label_a, label_b=label_b, backend=backend,
                                  question=question, command=_command(args, reps, seed), progress=bar)
    finally:
        bar.close()
    for path in targets:
        write(brief, path)
        _say(f"  wrote {path}")
    print(brief.verdict)
    return 0


def add_command(sub) -> None:
    p = sub.add_parser("brief", help="a decision brief (PDF and/or PowerPoint) from a paired comparison of A and B")
    add_pair_options(p)
    p.add_argument("--out", action="append", required=True, metavar="FILE.pdf|FILE.pptx",
                   help="write the brief here; the ending picks the format (give both for both)")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p.add_argument("--question", metavar="TEXT", help="the question in one sentence (default: from the changes)")
    add_budget_options(p)
    add_backend_options(p)
    p.set_defaults(func=cmd_brief)
