"""The brief's verdict in plain words, read off the paired comparison's own verdicts.

No second rule: every claim rests on ``compare_runs``' verdict code for one KPI (B better, A better,
too close to call: the whole 95 % interval of B - A on one side of zero, see
``simulator.analysis.stats.verdict``). The one addition is the word "keeps": the on-time share is
said to be kept when its whole interval lies within the Compare page's margin for a negligible
difference (``simulator.report.compare.ON_TIME_MARGIN``, 0.1 percentage points).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import pandas as pd

from simulator.report.compare import ON_TIME_MARGIN

COST_KPI = "cost_usd.per_1k_requests"
SERVICE_KPI = "on_time_fraction"
LATENCY_KPI = "latency_ms.p99"


class Claim(NamedTuple):
    """One part of the verdict: its words and whether its interval decides it."""

    text: str
    decided: bool


class Verdict(NamedTuple):
    sentence: str      # "B is cheaper per decision by 12–15 % and keeps the service level; confident."
    confidence: str    # "confident" | "not sure yet"
    claims: tuple[Claim, ...]


def _row(table: pd.DataFrame, kpi: str):
    rows = table[table["kpi"] == kpi]
    return None if rows.empty else rows.iloc[0]


def relative_range(row) -> tuple[float, float] | None:
    """The interval of B - A in % of A's mean (None when A's mean is zero or an end is missing)."""
    a = float(row["a_mean"])
    if a == 0 or not (math.isfinite(row["lo"]) and math.isfinite(row["hi"])):
        return None
    lo, hi = 100 * row["lo"] / abs(a), 100 * row["hi"] / abs(a)
    return lo, hi


def _span(lo: float, hi: float) -> str:
    """'12–15 %' for two magnitudes (smaller first); one number when they round alike."""
    lo, hi = sorted((abs(lo), abs(hi)))
    if hi < 0.05:
        return "less than 0.1 %"
    digits = 2 if hi < 1 else 1 if hi < 10 else 0
    a, b = f"{lo:.{digits}f}", f"{hi:.{digits}f}"
    return f"{a} %" if a == b else f"{a}–{b} %"


def _signed_span(lo: float, hi: float) -> str:
    digits = 1 if max(abs(lo), abs(hi)) < 10 else 0
    return f"{lo:+.{digits}f} % to {hi:+.{digits}f} %"


def cost_claim(table: pd.DataFrame, b: str) -> Claim | None:
    row = _row(table, COST_KPI)
    if row is None or not math.isfinite(row["a_mean"]):
        return None
    rel = relative_range(row)
    if rel is None:
        return None
    if row["lo"] == 0 and row["hi"] == 0:  # equal in every replication
        return Claim(f"{b} costs the same per decision", True)
    if row["verdict"] == "B_better":
        return Claim(f"{b} is cheaper per decision by {_span(*rel)}", True)
    if row["verdict"] == "A_better":
        return Claim(f"{b} costs more per decision, by {_span(*rel)}", True)
    return Claim(f"{b}'s cost per decision is too close to call ({_signed_span(*rel)})", False)


def service_claim(table: pd.DataFrame, b: str, customers: str, lead: bool) -> Claim | None:
    """Service level by the on-time share (in points, not %); ``lead`` when it opens the sentence."""
    row = _row(table, SERVICE_KPI)
    if row is None or not math.isfinite(row["a_mean"]):
        return None
    lo, hi = 100 * row["lo"], 100 * row["hi"]
    who = f"{b} " if lead else ""
    points = _span(lo, hi).replace("%", "points")
    if row["verdict"] == "B_better":
        return Claim(f"{who}answers more {customers} on time ({points} more)", True)
    if row["verdict"] == "A_better":
        return Claim(f"{who}answers fewer {customers} on time ({points} fewer)", True)
    if -100 * ON_TIME_MARGIN <= lo and hi <= 100 * ON_TIME_MARGIN:
        return Claim(f"{who}keeps the service level", True)
    subject = f"{b}'s" if lead else "its"
    return Claim(f"{subject} share of {customers} answered on time is too close to call "
                 f"({lo:+.2f} to {hi:+.2f} points)", False)


def plain_verdict(table: pd.DataFrame, b: str = "B", customers: str = "customers") -> Verdict:
    """Cost per decision first (when priced), then the service level; 'confident' only when every claim
    is decided by its 95 % interval."""
    cost = cost_claim(table, b)
    service = service_claim(table, b, customers, lead=cost is None)
    claims = tuple(c for c in (cost, service) if c is not None)
    if not claims:
        return Verdict("The comparison has no cost or service-level measure to judge by.", "not sure yet", ())
    confidence = "confident" if all(c.decided for c in claims) else "not sure yet"
    text = " and ".join(c.text for c in claims)
    return Verdict(f"{text}; {confidence}.", confidence, claims)
