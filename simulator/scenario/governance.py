"""Scenario sections for human review and the retraining loop."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from simulator.common.limits import MAX_USD
from simulator.common.section import Section

MAX_REVIEWERS = 10_000


class ReviewConfig(Section):
    """The human review team."""

    shifts: tuple[tuple[float, float, int], ...] = Field(
        ((0.0, 8.0, 1), (8.0, 18.0, 3), (18.0, 24.0, 2)), min_length=1, max_length=48,
        description="(start hour, end hour, reviewers on duty) covering the day")
    review_time_cv: float = Field(1.0, ge=0, le=10, description="Coefficient of variation of the review time")
    review_time_dist: Literal["exponential", "lognormal", "gamma", "constant"] = Field(
        "exponential", description="Distribution of the review time (mean: fairness.review_service_s)")
    reviewer_accuracy: float = Field(0.95, ge=0, le=1, description="Chance a reviewer reaches the right decision")

    @model_validator(mode="after")
    def _check(self) -> ReviewConfig:
        for start, end, heads in self.shifts:
            if not (0 <= start < end <= 24) or not 0 <= heads <= MAX_REVIEWERS:
                raise ValueError(f"shifts: each shift needs 0 <= start < end <= 24 and a headcount from 0 to "
                                 f"{MAX_REVIEWERS:,}, got "
                                 f"({start}, {end}, {heads})")
        return self

    def headcount_at(self, hour: float) -> int:
        for start, end, heads in self.shifts:
            if start <= hour < end:
                return int(heads)
        return 0


class RetrainingConfig(Section):
    """Drift detection on the served features and the retraining loop."""

    enabled: bool = Field(False, description="Watch for drift and retrain when it is found")
    psi_window_s: float = Field(
        900.0, ge=60, le=86_400, description="Window of arrivals per PSI evaluation (s, at least a minute)")
    psi_threshold: float = Field(0.2, gt=0, le=10, description="PSI above this means drift (0.1-0.25 is the usual band)")
    min_samples: int = Field(500, ge=10, le=1_000_000, description="Rows a window needs before PSI is trusted")
    duration_s: float = Field(1800.0, ge=0, le=86_400, description="Retraining job run time (s)")
    cost_usd: float = Field(40.0, ge=0, le=MAX_USD, description="Compute cost of one retraining job (USD)")
    training_rows: int = Field(20_000, ge=200, le=1_000_000, description="Recent rows the new model is trained on")
    deploy: Literal["canary", "direct"] = Field("canary", description="Roll the new version out as a canary, or directly")
    require_approval: bool = Field(False, description="A human must approve before the new version deploys")
    approval_delay_s: float = Field(3600.0, ge=0, le=604_800, description="Time until the approver signs off (s)")
