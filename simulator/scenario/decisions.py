"""Scenario sections for population drift and per-decision explanations."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from simulator.common.limits import MAX_ENTRIES
from simulator.common.section import Section
from simulator.ml.population import ConceptDriftSpec, DriftSpec


class DriftConfig(Section):
    """Changes in the applicant population during the run."""

    covariate: tuple[DriftSpec, ...] = Field(
        (), max_length=MAX_ENTRIES, description="Feature shifts, e.g. income x0.8 in one region from t")
    concept: tuple[ConceptDriftSpec, ...] = Field(
        (), max_length=MAX_ENTRIES, description="Changes of the true feature-outcome relation")


class ExplanationConfig(Section):
    """Per-decision feature attributions and what computing them costs."""

    mode: Literal["off", "sampled", "rejections", "all"] = Field(
        "off", description="Which decisions get an explanation")
    sample_rate: float = Field(0.01, ge=0, le=1, description="Share of decisions explained in 'sampled' mode")
    method: Literal["linear_exact", "tree_shap", "kernel_shap"] = Field(
        "linear_exact", description="Cost model of the explainer (the attributions are exact linear SHAP)")
    linear_exact_ms: float = Field(0.02, ge=0, le=60_000, description="Cost of one exact linear explanation (ms)")
    tree_shap_ms: float = Field(2.0, ge=0, le=60_000, description="Cost of one TreeSHAP explanation (ms)")
    kernel_background_rows: int = Field(100, ge=1, le=100_000, description="KernelSHAP background set size")
    kernel_predict_ms_per_row: float = Field(
        0.01, ge=0, le=1000, description="Model predict time per row inside KernelSHAP (ms)")
    keep_max: int = Field(2000, ge=0, le=1_000_000, description="Explanations kept in the results table")

    def cost_ms(self, n_features: int) -> float:
        """Per-explanation compute time; KernelSHAP needs (2M + 2048) x background model calls."""
        if self.method == "linear_exact":
            return self.linear_exact_ms
        if self.method == "tree_shap":
            return self.tree_shap_ms
        return (2 * n_features + 2048) * self.kernel_background_rows * self.kernel_predict_ms_per_row
