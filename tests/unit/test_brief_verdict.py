"""The brief's verdict words, on hand-made comparison tables (the verdict codes are stats.verdict's)."""
import math

import pandas as pd

from simulator.brief.verdict import plain_verdict


def table(*rows) -> pd.DataFrame:
    """Rows of (kpi, a_mean, lo, hi, verdict code)."""
    return pd.DataFrame([{"kpi": k, "a_mean": a, "lo": lo, "hi": hi, "verdict": v} for k, a, lo, hi, v in rows])


def test_cheaper_and_keeps_the_service_level_is_confident():
    """Cost per 1,000 decisions $0.0200 -> B - A in [-0.0030, -0.0024]: 12-15 % cheaper (0.0024/0.02 = 12 %,
    0.003/0.02 = 15 %); on-time difference inside ±0.1 points: the service level is kept."""
    v = plain_verdict(table(("cost_usd.per_1k_requests", 0.02, -0.003, -0.0024, "B_better"),
                            ("on_time_fraction", 0.995, -0.0004, 0.0003, "too_close")))
    assert v.sentence == "B is cheaper per decision by 12–15 % and keeps the service level; confident."
    assert v.confidence == "confident"


def test_an_undecided_service_level_is_not_confident():
    """An on-time interval of -0.5 to +0.2 points crosses zero and leaves the ±0.1 point margin: too close."""
    v = plain_verdict(table(("cost_usd.per_1k_requests", 0.02, -0.003, -0.0024, "B_better"),
                            ("on_time_fraction", 0.98, -0.005, 0.002, "too_close")), customers="applicants")
    assert v.confidence == "not sure yet"
    assert "its share of applicants answered on time is too close to call (-0.50 to +0.20 points)" in v.sentence


def test_worse_service_and_dearer_cost():
    """B costs 16-17 % more (0.0035/0.0216 = 16.2 %, 0.0036/0.0216 = 16.7 %) and serves 1.7-2.6 points fewer."""
    v = plain_verdict(table(("cost_usd.per_1k_requests", 0.0216, 0.0035, 0.0036, "A_better"),
                            ("on_time_fraction", 0.999, -0.026, -0.017, "A_better")))
    assert v.sentence == ("B costs more per decision, by 16–17 % and answers fewer customers on time "
                          "(1.7–2.6 points fewer); confident.")


def test_without_prices_the_service_level_leads():
    v = plain_verdict(table(("cost_usd.per_1k_requests", math.nan, math.nan, math.nan, "too_close"),
                            ("on_time_fraction", 0.9, 0.01, 0.02, "B_better")))
    assert v.sentence == "B answers more customers on time (1.0–2.0 points more); confident."


def test_equal_cost_in_every_replication_is_the_same_cost():
    v = plain_verdict(table(("cost_usd.per_1k_requests", 0.02, 0.0, 0.0, "too_close"),
                            ("on_time_fraction", 0.9, 0.0, 0.0, "too_close")))
    assert v.sentence == "B costs the same per decision and keeps the service level; confident."
