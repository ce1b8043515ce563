"""Fairness monitoring of the model's decisions: windowed selection rates, impact ratio, review flag.

Follows mechanisms.md section 5:
- selection rate of a group = share of positive decisions (approvals) in it (Fairlearn
  ``selection_rate``);
- impact ratio = min group rate / max group rate (Fairlearn ``demographic_parity_ratio``,
  ``method="between_groups"``), or, with a ``reference_group``, each group's rate / the reference
  rate and the lowest of those (AIF360 orientation, can exceed 1);
- four-fifths rule: flag when the ratio is < 0.8; exactly 0.8 passes;
- groups below a minimum count are left out of the ratio ("insufficient data"), and a flag only
  routes decisions to human review, it never blocks them.

Confidence intervals: Wilson score interval for each group's rate; Katz log interval for the ratio
of two rates, ``exp(ln(r1/r2) +- z * sqrt(1/x1 - 1/n1 + 1/x2 - 1/n2))``, with 0.5 added to both
success counts (and 1 to both totals) when either count is 0 so the log stays finite. The interval
treats the two compared groups as fixed; it does not correct for having picked the min and max
of several groups, so it is somewhat narrow when there are many groups.
"""
from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from simulator.common.limits import MAX_DURATION_S, MAX_NAME_CHARS
from simulator.common.queueing import servers_needed_for_sla
from simulator.common.section import Section


class FairnessConfig(Section):
    """Windowed four-fifths monitor with hysteresis, and how flagged traffic goes to review."""

    enabled: bool = Field(False, description="run the fairness monitor")
    window_s: float = Field(
        900.0, ge=60, le=MAX_DURATION_S, description="tumbling window of decisions evaluated (at least a minute)")
    min_samples_per_group: int = Field(
        100, ge=1, le=1_000_000, description="a group with fewer decisions in the window is left out"
    )
    threshold: float = Field(0.8, gt=0, le=1, description="flag when impact ratio < this")
    clear_threshold: float = Field(
        0.85, gt=0, le=1, description="clear a flag only when the ratio is back >= this"
    )
    require_significance: bool = Field(
        False, description="flag only if the ratio CI's upper bound is also < threshold"
    )
    confidence_z: float = Field(1.96, gt=0, le=10, description="normal quantile of the intervals")
    reference_group: str | None = Field(
        None, max_length=MAX_NAME_CHARS, description="compare each group to this one; None = min/max between groups"
    )
    review_mode: Literal["all", "rejections"] = Field(
        "rejections", description="while flagged, send all decisions or only rejections to review"
    )
    review_service_s: float = Field(300.0, ge=1, le=86_400, description="mean human review time per case")
    review_sla_s: float = Field(3_600.0, ge=0, le=7 * 86_400, description="target wait before review starts")
    review_sla_fraction: float = Field(
        0.8, gt=0, lt=1, description="share of cases that must start review within the SLA"
    )

    @model_validator(mode="after")
    def _check_hysteresis(self) -> FairnessConfig:
        if self.clear_threshold < self.threshold:
            raise ValueError("clear_threshold must be >= threshold")
        return self


def selection_counts(
    decisions: np.ndarray, groups: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Positive decisions and totals per group code 0..n_groups-1 (float arrays)."""
    totals = np.bincount(groups, minlength=n_groups).astype(float)
    positives = np.bincount(groups, weights=decisions, minlength=n_groups)
    return positives, totals


def selection_rates(decisions: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Share of positive decisions per group; NaN for a group with no decisions."""
    positives, totals = selection_counts(decisions, groups, n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, positives / totals, np.nan)


def disparate_impact(rates: np.ndarray) -> float:
    """Fairlearn between-groups ratio: min rate / max rate over groups with a rate; NaN if undefined."""
    valid = np.asarray(rates, dtype=float)
    valid = valid[~np.isnan(valid)]
    if valid.size == 0 or valid.max() == 0:
        return math.nan
    return float(valid.min() / valid.max())


def impact_ratios_to_reference(rates: np.ndarray, ref: int) -> np.ndarray:
    """Each group's rate / the reference group's rate (AIF360 orientation; may exceed 1)."""
    rates = np.asarray(rates, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return rates / rates[ref]


def wilson_interval(successes, n, z: float = 1.96):
    """Wilson score interval for a proportion; works on scalars or arrays (NaN where n = 0)."""
    successes, n = np.asarray(successes, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = successes / n
        denom = 1.0 + z * z / n
        centre = (p + z * z / (2.0 * n)) / denom
        half = z * np.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denom
    return centre - half, centre + half


def rate_ratio_interval(
    x1: float, n1: float, x2: float, n2: float, z: float = 1.96
) -> tuple[float, float]:
    """Katz log interval for (x1/n1) / (x2/n2); see the module docstring for the zero correction."""
    if n1 <= 0 or n2 <= 0:
        return math.nan, math.nan
    if x1 == 0 or x2 == 0:
        x1, x2, n1, n2 = x1 + 0.5, x2 + 0.5, n1 + 1.0, n2 + 1.0
    log_ratio = math.log((x1 / n1) / (x2 / n2))
    se = math.sqrt(max(1.0 / x1 - 1.0 / n1 + 1.0 / x2 - 1.0 / n2, 0.0))
    return math.exp(log_ratio - z * se), math.exp(log_ratio + z * se)


def should_review(approved: bool, flagged: bool, cfg: FairnessConfig) -> bool:
    """Per-request routing while a flag is raised: every decision, or only rejections."""
    return flagged and (cfg.review_mode == "all" or not approved)


def review_staffing_hint(arrival_rate_per_s: float, cfg: FairnessConfig) -> int:
    """Reviewers needed so ``review_sla_fraction`` of cases wait <= ``review_sla_s`` (Erlang C)."""
    return servers_needed_for_sla(
        arrival_rate_per_s, cfg.review_service_s, cfg.review_sla_s, cfg.review_sla_fraction
    )


class FairnessMonitor:
    """Evaluates one window of decisions at a time and keeps the flag state (with hysteresis).

    Raises "fairness_flagged" when the impact ratio drops below ``threshold`` (and, with
    ``require_significance``, its CI's upper bound too); raises "fairness_cleared" only once the
    ratio is back at or above ``clear_threshold``. A window where the ratio cannot be computed
    (fewer than two groups with enough data, the reference group short of data, or no approvals
    at all) leaves the state unchanged.
    """

    def __init__(self, cfg: FairnessConfig, group_names: tuple[str, ...] | list[str]):
        self.cfg = cfg
        self.group_names = tuple(group_names)
        if cfg.reference_group is not None and cfg.reference_group not in self.group_names:
            raise ValueError(f"reference_group {cfg.reference_group!r} is not a known group")
        self._ref = (
            None if cfg.reference_group is None else self.group_names.index(cfg.reference_group)
        )
        self.flagged = False
        self.flagged_since_s: float | None = None

    def evaluate_window(self, now_s: float, decisions: np.ndarray, groups: np.ndarray) -> dict:
        """Judge the decisions (0/1) and group codes of the window that ends at ``now_s``."""
        cfg, names = self.cfg, self.group_names
        positives, totals = selection_counts(decisions, groups, len(names))
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = np.where(totals > 0, positives / totals, np.nan)
        ci_low, ci_high = wilson_interval(positives, totals, cfg.confidence_z)
        enough = totals >= cfg.min_samples_per_group
        result = {
            "t_s": now_s,
            "rates": {g: float(rates[i]) for i, g in enumerate(names)},
            "counts": {g: int(totals[i]) for i, g in enumerate(names)},
            "rate_ci": {g: (float(ci_low[i]), float(ci_high[i])) for i, g in enumerate(names)},
            "insufficient_groups": tuple(g for i, g in enumerate(names) if not enough[i]),
            "ratio": math.nan,
            "ratio_ci": (math.nan, math.nan),
            "worst_group": None,
            "comparison_group": None,
            "event": None,
        }
        pair = self._compared_pair(rates, enough)
        if pair is None:
            return self._finish(result, "insufficient_data")
        worst, other = pair
        if rates[other] == 0:
            return self._finish(result, "undefined")
        # (x_w * n_o) / (n_w * x_o): integer products are exact, so a true 4/5 gives exactly 0.8
        ratio = float(positives[worst] * totals[other] / (totals[worst] * positives[other]))
        ratio_ci = rate_ratio_interval(
            positives[worst], totals[worst], positives[other], totals[other], cfg.confidence_z
        )
        result.update(ratio=ratio, ratio_ci=ratio_ci, worst_group=names[worst],
                      comparison_group=names[other])
        breach = ratio < cfg.threshold and (
            not cfg.require_significance or ratio_ci[1] < cfg.threshold
        )
        if not self.flagged and breach:
            self.flagged, self.flagged_since_s = True, now_s
            result["event"] = "fairness_flagged"
        elif self.flagged and ratio >= cfg.clear_threshold:
            self.flagged, self.flagged_since_s = False, None
            result["event"] = "fairness_cleared"
        return self._finish(result, "flagged" if self.flagged else "ok")

    def _compared_pair(self, rates: np.ndarray, enough: np.ndarray) -> tuple[int, int] | None:
        """(worst group, group it is compared with), or None when there is not enough data."""
        if self._ref is not None:
            others = [i for i in np.flatnonzero(enough) if i != self._ref]
            if not enough[self._ref] or not others:
                return None
            worst = min(others, key=lambda i: rates[i])
            return int(worst), self._ref
        usable = np.flatnonzero(enough)
        if usable.size < 2:
            return None
        worst = usable[np.argmin(rates[usable])]
        best = usable[np.argmax(rates[usable])]
        return int(worst), int(best)

    def _finish(self, result: dict, status: str) -> dict:
        result["status"] = status
        result["flagged"] = self.flagged
        return result
