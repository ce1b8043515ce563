"""The validation suite: its closed forms are right, and it passes when rerun (quick size)."""
import json
import math
import subprocess
import sys

import pytest

from simulator.analysis.validation import cases, validation_sentence
from tests.conftest import ROOT


def erlang_c_wait_s(lam: float, s: float, c: int) -> float:
    """Textbook Erlang-C mean wait (written here, independent of simulator.common.queueing)."""
    a = lam * s
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top) / (c / s - lam)


def test_the_suite_states_the_textbook_values():
    """Theory column: M/M/1 46.67 ms, M/M/4 Erlang C, M/D/1 40 ms, M/G/1 48.75 ms, tandem 10 + 38.57 ms."""
    theory = {(c.name, ch.kpi): ch.theory for c in cases() for ch in c.checks}
    w = "stages.inference.wait_ms_mean"
    assert theory[("M/M/1", w)] == pytest.approx(0.7 * 20 / 0.3)                       # ρS/(1-ρ)
    assert theory[("M/M/4", w)] == pytest.approx(1000 * erlang_c_wait_s(160, 0.02, 4))
    assert theory[("M/D/1", w)] == pytest.approx(0.8 * 20 / (2 * 0.2))                 # ρS/(2(1-ρ))
    assert theory[("M/G/1", w)] == pytest.approx(0.6 * 20 * (1 + 2.25) / (2 * 0.4))    # P-K, cv 1.5
    assert theory[("Tandem (Jackson)", "stages.ingestion.wait_ms_mean")] == pytest.approx(10.0)
    tandem_wait = 1000 * erlang_c_wait_s(50, 0.03, 2)
    assert theory[("Tandem (Jackson)", w)] == pytest.approx(tandem_wait)
    assert theory[("Tandem (Jackson)", "latency_ms.mean")] == pytest.approx(10 + 10 + tandem_wait + 30)
    assert theory[("M/M/4", "stages.inference.utilization")] == pytest.approx(0.8)


def test_each_case_switches_off_every_stage_it_does_not_test():
    """Poisson arrivals and no feature store anywhere; only the queue cases run the model, each
    with exactly the queue limit and deadline its formula assumes; the fallback case runs the
    weather call alone and the surge case nothing but arrivals."""
    limits = {"M/M/4/10": (10, None), "M/M/4+D": (None, 30.0), "M/M/4/10+D": (10, 30.0)}
    for case in cases(10_000):
        sc = case.scenario
        assert sc.traffic.kind == "poisson" and sc.feature_store.mode == "off"
        assert sc.ingestion.mode == ("stream" if case.name.startswith("Tandem") else "direct")
        assert sc.external_api.enabled == (case.name == "Cached fallback")
        if case.name in ("Cached fallback", "Sub-second surge"):
            assert not sc.inference.enabled and (sc.external_api.breaker.enabled is False)
        else:
            assert (sc.inference.queue_limit, sc.inference.timeout_ms) == limits.get(case.name, (None, None))


def test_the_new_cases_state_their_references():
    """Hand values: M/M/4/10 at rho 1.2 blocks 18.3 %; M/M/4+D (30 ms) loses 20.1 % in the queue and
    63.9 % in all, serving after 15.7 ms on average; the reference recursion rejects 3.3 % with both;
    the cached fallback leaves 6.5 % unanswered; the surge window holds the rate integral."""
    theory = {(c.name, ch.metric): ch.theory for c in cases() for ch in c.checks}
    a, rho = 4.8, 1.2
    weights = [a**n / math.factorial(n) for n in range(5)] + [a**4 / 24 * rho**j for j in range(1, 11)]
    assert theory[("M/M/4/10", "share of customers turned away")] == pytest.approx(weights[-1] / sum(weights))
    assert theory[("M/M/4+D", "share timed out while waiting")] == pytest.approx(0.2008, abs=5e-4)
    assert theory[("M/M/4+D", "share of customers timed out")] == pytest.approx(0.6387, abs=5e-4)
    assert theory[("M/M/4+D", "mean wait of those served (ms)")] == pytest.approx(15.74, abs=0.01)
    assert theory[("M/M/4/10+D", "share of customers turned away")] == pytest.approx(0.033, abs=0.002)
    assert theory[("Cached fallback", "share of customers not answered")] == pytest.approx(0.0655, abs=5e-4)
    surge = next(c for c in cases(10_000) if c.name == "Sub-second surge")
    assert surge.checks[0].theory == pytest.approx(surge.scenario.traffic.rate_per_s * (0.35 + 6.0))


def test_validate_model_cli_passes_every_check_at_quick_size():
    """`validate-model --quick --json`: every check passes within its (quick-size) tolerance, exit 0."""
    p = subprocess.run([sys.executable, "-m", "simulator", "validate-model", "--quick", "--json", "--workers", "2"],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    rows = json.loads(p.stdout)
    assert len(rows) == 19 and {r["case"] for r in rows} == {
        "M/M/1", "M/M/4", "M/D/1", "M/G/1", "Tandem (Jackson)", "M/M/4/10", "M/M/4+D", "M/M/4/10+D",
        "Cached fallback", "Sub-second surge"}
    for r in rows:
        assert r["passed"] and abs(r["error_pct"]) <= r["tolerance_pct"], r
        assert r["ci_lo"] <= r["simulated"] <= r["ci_hi"]
    # quick runs use a quarter of the customers, so tolerances double (standard error ~ 1/sqrt(n))
    assert {r["tolerance_pct"] for r in rows} == {10.0, 2.0, 24.0}


def test_the_sentence_counts_failures():
    """The summary line names the failing checks."""
    import pandas as pd

    frame = pd.DataFrame({"case": ["M/M/1", "M/M/1"], "metric": ["wait", "util"], "passed": [True, False]})
    assert validation_sentence(frame).startswith("1 of 2 checks failed (M/M/1 util)")


def test_bad_validate_model_input_exits_2():
    """--reps 1 cannot give an interval: exit 2 naming the option."""
    p = subprocess.run([sys.executable, "-m", "simulator", "validate-model", "--reps", "1"],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 2 and "--reps" in p.stderr and "Traceback" not in p.stderr
