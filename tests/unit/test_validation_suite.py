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


def test_validate_model_cli_fails_no_check_at_quick_size():
    """`validate-model --quick --json`: no check fails at quick size (exit 0); a passing check has its whole
    interval inside the tolerance; an undecided one is "inconclusive" and says how many more customers
    would decide it."""
    p = subprocess.run([sys.executable, "-m", "simulator", "validate-model", "--quick", "--json", "--workers", "2"],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    rows = json.loads(p.stdout)
    assert len(rows) == 19 and {r["case"] for r in rows} == {
        "M/M/1", "M/M/4", "M/D/1", "M/G/1", "Tandem (Jackson)", "M/M/4/10", "M/M/4+D", "M/M/4/10+D",
        "Cached fallback", "Sub-second surge"}
    for r in rows:
        assert r["verdict"] in ("pass", "inconclusive"), r
        band = (r["theory"] * (1 - r["tolerance_pct"] / 100), r["theory"] * (1 + r["tolerance_pct"] / 100))
        inside = band[0] <= r["ci_lo"] and r["ci_hi"] <= band[1]
        assert (r["verdict"] == "pass") == inside, r
        assert (r["more_customers"] > 0) == (r["verdict"] == "inconclusive"), r
        assert r["ci_lo"] <= r["simulated"] <= r["ci_hi"]
    # quick runs use a quarter of the customers, so tolerances double (standard error ~ 1/sqrt(n))
    assert {r["tolerance_pct"] for r in rows} == {10.0, 2.0, 24.0}


def test_the_sentence_counts_failures_and_inconclusive_checks():
    """The summary line names the failing and the undecided checks and never says "all passed" then."""
    import pandas as pd

    frame = pd.DataFrame({"case": ["M/M/1", "M/M/1", "M/D/1"], "metric": ["wait", "util", "wait"],
                          "verdict": ["pass", "fail", "inconclusive"], "passed": [True, False, False],
                          "more_customers": [0, 0, 120_000]})
    text = validation_sentence(frame)
    assert text.startswith("1 of 3 checks passed; 1 failed (M/M/1 util)")
    assert "1 is inconclusive (M/D/1 wait)" in text and "about 120,000 more customers per case" in text
    assert "All" not in text


@pytest.mark.parametrize("lo, hi, verdict", [(95.0, 104.0, "pass"), (106.0, 110.0, "fail"), (85.0, 93.0, "fail"),
                                            (92.0, 104.0, "inconclusive"), (96.0, 106.0, "inconclusive")])
def test_a_check_passes_only_when_its_interval_lies_inside_the_tolerance(lo, hi, verdict):
    """Theory 100 with ±5 %: the band is [95, 105]. Inside: pass; wholly outside: fail; across an edge:
    inconclusive."""
    from simulator.analysis.validation import judge

    assert judge(100.0, 0.05, (lo + hi) / 2, lo, hi, 10_000)[0] == verdict


def test_inconclusive_says_how_many_more_customers_decide_it():
    """Mean 101, interval [96, 106] (half-width 5) against the band [95, 105]: the nearest edge is 4 away,
    so the half-width must shrink by 4/5, which takes (5/4)^2 = 1.5625 times the customers: 5,625 more
    than 10,000 (the half-width falls with the square root of the number of customers)."""
    from simulator.analysis.validation import judge

    assert judge(100.0, 0.05, 101.0, 96.0, 106.0, 10_000) == ("inconclusive", 5_625)


def test_bad_validate_model_input_exits_2():
    """--reps 1 cannot give an interval: exit 2 naming the option."""
    p = subprocess.run([sys.executable, "-m", "simulator", "validate-model", "--reps", "1"],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 2 and "--reps" in p.stderr and "Traceback" not in p.stderr
