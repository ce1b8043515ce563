"""Two runs side by side, fairly: per decision, with warnings where the two are not alike.

Why: a run with half the traffic costs half as much, which is not an improvement. So money is
compared per 1,000 decisions, never as totals or monthly figures; when the two runs carry
different traffic (more than 5 % apart in arrivals per second) or run on different clocks
(another start time or length), the comparison says so, and charts put both on "minutes since
the start" instead of clock time. The verdict compares the on-time share: a change of more
than 0.1 percentage points is "better" or "worse", less is "negligible".
"""
from __future__ import annotations

from simulator.report.results import RunResult
from simulator.report.words import clock, human_duration, pct

TRAFFIC_TOLERANCE = 0.05
ON_TIME_MARGIN = 0.001


def cost_per_1k(result: RunResult) -> float | None:
    s = result.summary
    if s.cost_usd is None or s.cost_usd.total is None or not s.requests.answered:
        return None
    return s.cost_usd.total / s.requests.answered * 1000


def same_clock(a: RunResult, b: RunResult) -> bool:
    sa, sb = a.scenario, b.scenario
    return (sa.start_time_of_day_h == sb.start_time_of_day_h and sa.duration_s == sb.duration_s
            and sa.warmup_s == sb.warmup_s)


def compare_runs(a: RunResult, b: RunResult, label_a: str = "A", label_b: str = "B") -> dict:
    """Verdict, warnings and the per-decision money of two runs (see the module docstring)."""
    sa, sb, v = a.summary, b.summary, a.scenario.vocabulary
    rate_a = sa.requests.arrived / max(sa.measured_s, 1e-9)
    rate_b = sb.requests.arrived / max(sb.measured_s, 1e-9)
    warnings = []
    ratio = rate_b / rate_a if rate_a > 0 else None
    if ratio is not None and abs(ratio - 1) > TRAFFIC_TOLERANCE:
        more = "more" if ratio > 1 else "less"
        warnings.append(f"{label_b} carries {100 * abs(ratio - 1):.0f} % {more} traffic than {label_a} ({rate_b:,.1f} "
                        f"against {rate_a:,.1f} {v.requests} a second), so totals differ for that reason alone; money "
                        f"is compared per 1,000 decisions.")
    clocks = same_clock(a, b)
    if not clocks:
        span = [f"{lbl} {clock(r.scenario, r.scenario.warmup_s)} for {human_duration(r.summary.measured_s)}"
                for lbl, r in ((label_a, a), (label_b, b))]
        warnings.append(f"The two runs cover different periods ({'; '.join(span)}), so the charts show minutes "
                        f"since the start instead of clock time.")
    verdict = ""
    ot_a, ot_b = sa.on_time_fraction, sb.on_time_fraction
    if ot_a is not None and ot_b is not None:
        if ot_b - ot_a > ON_TIME_MARGIN:
            verdict = f"Overall, {label_b} serves {v.customers} better ({pct(ot_b)} on time against {pct(ot_a)})."
        elif ot_a - ot_b > ON_TIME_MARGIN:
            verdict = f"Overall, {label_b} serves {v.customers} worse ({pct(ot_b)} on time against {pct(ot_a)})."
        else:
            verdict = f"For {v.customers}, the difference is negligible."
    return {"verdict": verdict, "warnings": warnings, "same_clock": clocks, "traffic_ratio": ratio,
            "cost_per_1k_a": cost_per_1k(a), "cost_per_1k_b": cost_per_1k(b)}
