"""A real (small) credit/fraud model for the twin: synthetic population, training, quantization, SHAP.

Kept apart from the SimPy components so that the model's numbers (AUC, approval rates, fairness
ratios) come from actual predictions on generated applications, and can be tested on their own.
"""
from simulator.ml.model import (
    PRECISIONS,
    ModelConfig,
    TrainedModel,
    decide,
    evaluate,
    explain_text,
    holdout_data,
    linear_shap,
    logit,
    measure_variants,
    quantize,
    score,
    shap_base_logit,
    train_model,
)
from simulator.ml.population import (
    FEATURES,
    ConceptDriftSpec,
    DriftSpec,
    PopulationConfig,
    active_drifts,
    apply_skew,
    apply_staleness,
    sample_population,
)

__all__ = [
    "FEATURES",
    "PRECISIONS",
    "ConceptDriftSpec",
    "DriftSpec",
    "ModelConfig",
    "PopulationConfig",
    "TrainedModel",
    "active_drifts",
    "apply_skew",
    "apply_staleness",
    "decide",
    "evaluate",
    "explain_text",
    "holdout_data",
    "linear_shap",
    "logit",
    "measure_variants",
    "quantize",
    "sample_population",
    "score",
    "shap_base_logit",
    "train_model",
]
