"""Property-based fuzzing of the scenario schema through the CLI, run as its own process by test_fuzz.py.

Each generated case is either a set of ``--set`` overrides on a small baseline (values in and far
out of every field's range, of every wrong type) or a whole generated scenario file, and goes
through ``python -m simulator run``'s ``main()`` in this process, which runs under a memory limit
(``RLIMIT_AS``) with a per-case alarm. The property: the case either runs (exit 0) within its
budget and time, or is refused with exit 2 and lines that each name a field or option; never a
traceback, an internal error, a hang or a MemoryError.

Usage: ``python tests/hostile/fuzz_driver.py EXAMPLES [SEED]``; prints one JSON line of counts.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
import resource
import signal
import sys
import tempfile
import time
import typing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import seed as hypothesis_seed  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from simulator.cli.main import main  # noqa: E402
from simulator.scenario.config import Scenario  # noqa: E402

CASE_TIMEOUT_S = 20
EXTRA_MEMORY_BYTES = 2 * 2**30
BASE = ["--set", "duration_s=20", "--set", "warmup_s=0", "--set", "traffic.rate_per_s=5",
        "--max-events", "40000", "--max-memory-mb", "1500"]
COUNTS = {"cases": 0, "ran": 0, "refused": 0, "documents": 0}
REFUSED_FIELDS: dict[str, int] = {}


# --------------------------------------------------------------------------- the schema
def _leaf_specs(model=Scenario, prefix=""):
    """(path, annotation, lower, upper) of every field, list items addressed as PATH.0.FIELD."""
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        ann = info.annotation
        args = typing.get_args(ann)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield path, ann, None, None
            yield from _leaf_specs(ann, path + ".")
            continue
        if args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            yield path, ann, None, None
            yield from _leaf_specs(args[0], path + ".0.")
            continue
        lo = hi = None
        for m in info.metadata:
            lo = next((getattr(m, a) for a in ("ge", "gt") if getattr(m, a, None) is not None), lo)
            hi = next((getattr(m, a) for a in ("le", "lt") if getattr(m, a, None) is not None), hi)
        yield path, ann, lo, hi


SPECS = list(_leaf_specs())
KNOWN = {path for path, *_ in SPECS}
SETTABLE = [s for s in SPECS if ".0." not in s[0]]


def names_a_field(head: str, given_paths: set[str]) -> bool:
    """True when an error line's head is a known field (or a part of one), a given path or an option."""
    if head.startswith("--") or any(p == head or p.startswith(head + ".") for p in given_paths):
        return True
    parts = [("0" if p.isdigit() else p) for p in head.split(".")]
    return any(".".join(parts[:i]) in KNOWN for i in range(len(parts), 0, -1))


# --------------------------------------------------------------------------- strategies
JUNK = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                 st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
NESTED = st.recursive(JUNK, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                                         max_size=4), max_leaves=12)
EXTREMES = st.sampled_from([0, -1, 1, 1e-9, 1e-3, 0.5, 1e9, 1e300, -1e300, 2**63, 2**64, math.inf, -math.inf,
                            math.nan, True, False, None, "", "unlimited", "inf", "1e9", "*a", "&a 1", "!!binary x"])


def in_domain(ann, lo, hi):
    """Values the field accepts on its own: near the low end (cheap runs) or anywhere in its range."""
    members = [a for a in typing.get_args(ann) or (ann,) if a is not type(None)]
    base = members[0] if members else ann
    if base is bool:
        return st.booleans()
    if typing.get_origin(base) is typing.Literal:
        return st.sampled_from(typing.get_args(base))
    if base in (int, float) and lo is not None and hi is not None:
        if base is int:
            return st.integers(int(math.ceil(lo)), int(min(hi, lo + 20))) | st.integers(int(math.ceil(lo)), int(hi))
        near = float(min(hi, max(lo, 0) * 10 + 100))
        return st.floats(float(lo), near, allow_nan=False) | st.floats(float(lo), float(hi), allow_nan=False)
    if base is str:
        return st.text(min_size=1, max_size=30)
    return NESTED


def anything(ann, lo, hi):
    """Values of any type and size: the field's own, extremes, and nested junk."""
    return st.one_of(in_domain(ann, lo, hi), EXTREMES, NESTED, st.floats(allow_nan=True, allow_infinity=True),
                     st.text(min_size=5000, max_size=20_000))


@st.composite
def overrides(draw):
    """One to three fields: all in their domains (so that many cases run), or anything goes."""
    chosen = draw(st.lists(st.sampled_from(SETTABLE), min_size=1, max_size=3, unique_by=lambda s: s[0]))
    strategy = in_domain if draw(st.booleans()) else anything
    pairs = [(path, draw(strategy(ann, lo, hi))) for path, ann, lo, hi in chosen]
    if draw(st.floats(0, 1)) > 0.95:  # now and then a misspelt or invented path
        pairs.append((draw(st.from_regex(r"[a-z]{1,12}(\.[a-z_0-9]{1,12}){0,3}", fullmatch=True)), draw(JUNK)))
    return pairs


@st.composite
def documents(draw):
    """A whole scenario file: real section names with generated contents, or plain garbage text."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.text(max_size=300)), set()
    top = draw(st.dictionaries(st.sampled_from(sorted(Scenario.model_fields) + ["bogus"]),
                               NESTED, max_size=5))
    top.setdefault("duration_s", 20)
    top.setdefault("warmup_s", 0)
    return yaml.safe_dump(top, allow_unicode=True, sort_keys=False), set(top)


def _dump(value) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10**9, allow_unicode=True)
    return text.removesuffix("\n").removesuffix("\n...").strip()


# --------------------------------------------------------------------------- one case
class CaseTimeout(BaseException):
    """Raised by the alarm: a BaseException, so no ``except Exception`` in the program can hide it."""


def _alarm(signum, frame):
    raise CaseTimeout()


def execute(argv: list[str], given_paths: set[str]) -> None:
    COUNTS["cases"] += 1
    out, err = io.StringIO(), io.StringIO()
    signal.alarm(CASE_TIMEOUT_S)
    t0 = time.monotonic()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except CaseTimeout:
        raise AssertionError(f"hang: more than {CASE_TIMEOUT_S} s for {argv}") from None
    except SystemExit as stop:  # argparse: a generated value was read as an option
        code = stop.code
    finally:
        signal.alarm(0)
    elapsed = time.monotonic() - t0
    text = err.getvalue()
    assert "Traceback" not in text and "internal error" not in text, (argv, text[-3000:])
    assert "out of memory" not in text, ("the budget let through a run that ran out of memory", argv, text)
    assert code in (0, 2), (code, argv, text[-2000:])
    if code == 0:
        COUNTS["ran"] += 1
        assert elapsed < CASE_TIMEOUT_S
        return
    COUNTS["refused"] += 1
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, ("refused without a word", argv)
    if lines[0].startswith("usage:"):  # argparse's own message for an option-looking value
        assert lines[-1].startswith("python -m simulator"), lines
        return
    for line in lines:
        assert line.startswith("error: ") and ": " in line[7:], ("not 'error: FIELD: ...'", line, argv)
        head = line[7:].split(": ", 1)[0]
        assert names_a_field(head, given_paths) or head == argv[1], ("names no field", line, argv)
        REFUSED_FIELDS[head] = REFUSED_FIELDS.get(head, 0) + 1
        assert len(line) < 500, ("a long error line", line[:200])


@st.composite
def cases(draw):
    if draw(st.integers(0, 7)) == 0:
        return "document", draw(documents())
    return "overrides", draw(overrides())


def run_case(case) -> None:
    kind, payload = case
    if kind == "document":
        COUNTS["documents"] += 1
        text, keys = payload
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False, encoding="utf-8") as f:
            f.write(text)
        try:
            execute(["run", f.name, "--max-events", "40000", "--max-memory-mb", "1500"], keys)
        finally:
            os.unlink(f.name)
        return
    argv = ["run", "baseline", *BASE]
    for path, value in payload:
        argv += ["--set", f"{path}={_dump(value)}"]
    execute(argv, {path for path, _ in payload})


def main_driver(examples: int, seed: int | None) -> None:
    vm = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmSize"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + EXTRA_MEMORY_BYTES, vm + EXTRA_MEMORY_BYTES))
    signal.signal(signal.SIGALRM, _alarm)
    os.chdir(ROOT)

    @settings(max_examples=examples, deadline=None, database=None, derandomize=False, print_blob=True,
              suppress_health_check=list(HealthCheck))
    @given(cases())
    def fuzz(case):
        run_case(case)

    if seed is not None:
        fuzz = hypothesis_seed(seed)(fuzz)
    fuzz()
    print(json.dumps({**COUNTS, "seed": seed, "top_refused": sorted(REFUSED_FIELDS.items(), key=lambda kv: -kv[1])[:8]}))


if __name__ == "__main__":
    main_driver(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else None)
