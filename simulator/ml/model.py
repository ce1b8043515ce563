"""A real scikit-learn credit model, its fp32/fp16/int8 variants, exact linear SHAP, and a disk cache.

Why: the twin's accuracy-vs-latency trade-off for quantized serving and its fairness monitor should
rest on actual predictions, not on an assumed accuracy number.

Model: ``StandardScaler`` + ``LogisticRegression`` (lbfgs, deterministic for a seed), fitted in
float64. Scoring does not call sklearn (too slow per request); it uses the extracted parameters:
``a = round_p((x - mean) / std)``; ``logit = a . w_p + b_p``; ``p = sigmoid(logit)``, where the
``_p`` rounding depends on the precision variant:

* ``fp32`` / ``fp16``: weights, bias and the scaled inputs are rounded to that float type; the sum
  is accumulated in float64 (like a GPU/CPU kernel that accumulates in wider precision).
* ``int8``: static post-training quantization in the ONNX Runtime S8S8 style,
  ``val = scale * (q - zero_point)`` with ``zero_point = 0`` (symmetric) for both tensors:
  - weights: per-tensor ``w_scale = max|w| / 127``, ``w_q = clip(round(w / w_scale), -127, 127)``;
  - inputs (activations): per-tensor ``x_scale = A / 127`` where ``A`` is the
    ``activation_calibration_percentile`` of ``|a|`` on the training data (percentile calibration,
    so one heavy-tailed feature does not waste the range); ``x_q = clip(round(a / x_scale), -128, 127)``;
  - bias: int32 with scale ``w_scale * x_scale`` (as ONNX QLinear ops do);
  - ``logit = w_scale * x_scale * (sum w_q * x_q + b_q)``, computed exactly in float64.
  The scaler stays in float (it is a preprocessing step, not part of the quantized layer).
"""
from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from simulator.common.files import atomic_write_bytes
from simulator.common.section import Section
from simulator.ml.population import AGE, AMOUNT, DEBT, DELINQ, FEATURES, INCOME, PopulationConfig, sample_population

Precision = Literal["fp32", "fp16", "int8"]
PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8")
Architecture = Literal["compact", "standard", "large"]
# compact: four raw inputs (a cheap first-pass model); standard: all seven raw inputs (the served
# model of the chain); large: the seven inputs plus the logged heavy-tailed ones, which is the shape
# of the true relation (population._true_terms), so it separates good from bad applications better
COMPACT_INPUTS = (INCOME, DEBT, AMOUNT, DELINQ)
LOGGED_INPUTS = (INCOME, AMOUNT, AGE)
WEIGHT_BITS = {"fp32": 32, "fp16": 16, "int8": 8}
_FLOAT_TYPES = {"fp32": np.float32, "fp16": np.float16}

DEFAULT_CACHE_DIR = Path(__file__).resolve().parents[2] / ".cache" / "models"
_CACHE_FORMAT = 2  # bump when the cached arrays change (2: .npz arrays instead of a pickle)
_CACHE_MAX_BYTES = 64 * 1024  # a cached fit is a few kilobytes
_CACHE_VECTORS = ("input_mean", "input_std", "reference_weights", "train_feature_mean")
_CACHE_SCALARS = ("reference_bias", "activation_absmax")


class ModelConfig(Section):
    """How the served model is trained and which numeric precision it runs in."""

    precision: Precision = Field("fp32", description="numeric precision of the served model")
    decision_threshold: float = Field(0.5, gt=0, lt=1, description="approve if P(good) >= this")
    n_train: int = Field(20_000, ge=200, le=1_000_000, description="training rows drawn from the population")
    n_holdout: int = Field(20_000, ge=200, le=1_000_000, description="held-out rows for evaluation")
    inverse_regularization: float = Field(1.0, gt=0, le=1e6, description="LogisticRegression C")
    activation_calibration_percentile: float = Field(
        99.99, gt=50, le=100, description="percentile of |scaled input| that sets the int8 range"
    )
    architecture: Architecture = Field(
        "standard", description="compact: 4 raw inputs; standard: 7 raw inputs; large: 7 raw plus 3 logged inputs")


@dataclass(frozen=True, eq=False)
class TrainedModel:
    """Everything needed to score: scaler, reference float64 weights, and the served variant."""

    precision: str
    feature_names: tuple[str, ...]
    input_mean: np.ndarray  # StandardScaler.mean_
    input_std: np.ndarray  # StandardScaler.scale_
    reference_weights: np.ndarray  # float64 coefficients as fitted
    reference_bias: float
    weights: np.ndarray  # effective (dequantized) weights of this variant, float64
    bias: float
    activation_absmax: float  # calibrated range of |scaled input| (used by int8)
    train_feature_mean: np.ndarray  # raw-feature mean of the training data (SHAP background)
    weight_scale: float = float("nan")  # int8 only
    activation_scale: float = float("nan")  # int8 only
    weights_q: np.ndarray | None = None  # int8 only
    bias_q: int | None = None  # int8 only (int32 in the ONNX layout)
    estimator: object | None = field(default=None, repr=False)  # the fitted sklearn pipeline (not cached)
    architecture: str = "standard"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TrainedModel):
            return NotImplemented
        arrays = ("input_mean", "input_std", "reference_weights", "weights", "train_feature_mean")
        scalars = ("precision", "feature_names", "reference_bias", "bias", "activation_absmax",
                   "bias_q", "architecture")
        same_scales = all(
            np.array_equal(getattr(self, s), getattr(other, s), equal_nan=True)
            for s in ("weight_scale", "activation_scale")
        )
        same_q = (self.weights_q is None) == (other.weights_q is None) and (
            self.weights_q is None or np.array_equal(self.weights_q, other.weights_q)
        )
        return (
            same_scales
            and same_q
            and all(getattr(self, s) == getattr(other, s) for s in scalars)
            and all(np.array_equal(getattr(self, a), getattr(other, a)) for a in arrays)
        )

    __hash__ = None  # mutable arrays inside


# ---------------------------------------------------------------- training and cache


def train_model(
    seed: int,
    cfg: PopulationConfig | None = None,
    model_cfg: ModelConfig | None = None,
    *,
    cache_dir: Path | None = None,
) -> TrainedModel:
    """Fit the fp32 reference model on ``model_cfg.n_train`` rows drawn with ``seed``.

    Cached on disk under ``cache_dir`` (default ``<repo>/.cache/models``) keyed by a hash of the
    seed, both configs and the source of this package. The cache holds plain arrays (``.npz``
    read without pickle, so a planted file cannot run code); a missing, oversized, unreadable or
    implausible file is simply retrained and rewritten.
    """
    cfg = cfg or PopulationConfig()
    model_cfg = model_cfg or ModelConfig()
    key = _cache_key(seed, cfg, model_cfg)
    path = Path(cache_dir or DEFAULT_CACHE_DIR) / f"{key}.npz"
    model = _load_cached(path, key, model_cfg.architecture)
    if model is None:
        model = _fit(seed, cfg, model_cfg)
        _store_cached(path, key, model)
    return quantize(model, model_cfg.precision)


def holdout_data(
    seed: int, cfg: PopulationConfig | None = None, model_cfg: ModelConfig | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Held-out (X, y, group) for ``seed``: an RNG stream independent of the training rows."""
    cfg = cfg or PopulationConfig()
    model_cfg = model_cfg or ModelConfig()
    return sample_population(model_cfg.n_holdout, cfg, _streams(seed)[1])


def _streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    train_ss, holdout_ss = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(train_ss), np.random.default_rng(holdout_ss)


def _fit(seed: int, cfg: PopulationConfig, model_cfg: ModelConfig) -> TrainedModel:
    X, y, _ = sample_population(model_cfg.n_train, cfg, _streams(seed)[0])
    return fit_arrays(X, y, model_cfg)


def design_matrix(architecture: str, X: np.ndarray) -> np.ndarray:
    """The model's inputs from the application's raw features (see ``Architecture``)."""
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    if architecture == "standard":
        return X
    if architecture == "compact":
        return X[:, COMPACT_INPUTS]
    floors = {INCOME: 1e-3, AMOUNT: 1.0, AGE: 1.0}
    logs = [np.log(np.maximum(X[:, j], floors[j])) for j in LOGGED_INPUTS]
    return np.column_stack([X, *logs])


def design_names(architecture: str) -> tuple[str, ...]:
    if architecture == "standard":
        return FEATURES
    if architecture == "compact":
        return tuple(FEATURES[j] for j in COMPACT_INPUTS)
    return FEATURES + tuple(f"log_{FEATURES[j]}" for j in LOGGED_INPUTS)


def fit_arrays(X: np.ndarray, y: np.ndarray, model_cfg: ModelConfig | None = None) -> TrainedModel:
    """Fit the reference model on given rows (used by retraining on recent, drifted data)."""
    # sklearn is imported only when a model is actually fitted: it costs about a second
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    model_cfg = model_cfg or ModelConfig()
    X = design_matrix(model_cfg.architecture, X)
    pipe = Pipeline([
        ("scale", StandardScaler()),
        ("clf", LogisticRegression(C=model_cfg.inverse_regularization, max_iter=1_000)),
    ])
    pipe.fit(X, y)
    scaler, clf = pipe.named_steps["scale"], pipe.named_steps["clf"]
    scaled = scaler.transform(X)
    absmax = float(np.percentile(np.abs(scaled), model_cfg.activation_calibration_percentile))
    w, b = clf.coef_[0].astype(np.float64), float(clf.intercept_[0])
    return TrainedModel(
        precision="fp64",
        feature_names=design_names(model_cfg.architecture),
        input_mean=scaler.mean_.copy(),
        input_std=scaler.scale_.copy(),
        reference_weights=w,
        reference_bias=b,
        weights=w.copy(),
        bias=b,
        activation_absmax=absmax,
        train_feature_mean=X.mean(axis=0),
        estimator=pipe,
        architecture=model_cfg.architecture,
    )


@lru_cache(maxsize=1)
def _code_version() -> str:
    from importlib.metadata import version

    digest = hashlib.sha256(f"{_CACHE_FORMAT}|{version('scikit-learn')}|{np.__version__}".encode())
    here = Path(__file__).resolve().parent
    for name in ("population.py", "model.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


def _cache_key(seed: int, cfg: PopulationConfig, model_cfg: ModelConfig) -> str:
    training_cfg = model_cfg.model_dump(exclude={"precision", "decision_threshold"})
    text = f"{seed}|{cfg.model_dump_json()}|{training_cfg}|{_code_version()}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _load_cached(path: Path, key: str, architecture: str = "standard") -> TrainedModel | None:
    """The cached float64 fit, or None (then the caller retrains) unless every check passes:
    a regular file of a few kilobytes, exactly the expected arrays, no pickled objects, the
    right cache key and feature names, finite numbers and positive input scales."""
    try:
        if not path.is_file() or path.stat().st_size > _CACHE_MAX_BYTES:
            return None
        with np.load(path, allow_pickle=False) as npz:
            names = set(npz.files)
            if names != {"key", "feature_names", *_CACHE_VECTORS, *_CACHE_SCALARS}:
                return None
            arrays = {name: npz[name] for name in names}
    except Exception:  # missing, truncated, not a zip, or holding objects: retrain
        return None
    names = design_names(architecture)  # the model's inputs: 4, 7 or 10 of them
    k = len(names)
    if str(arrays["key"]) != key or tuple(arrays["feature_names"].tolist()) != names:
        return None
    vectors = {n: arrays[n] for n in _CACHE_VECTORS}
    scalars = {n: arrays[n] for n in _CACHE_SCALARS}
    if any(v.dtype != np.float64 or v.shape != (k,) or not np.isfinite(v).all() for v in vectors.values()):
        return None
    if any(s.dtype != np.float64 or s.shape != () or not math.isfinite(float(s)) for s in scalars.values()):
        return None
    if not (vectors["input_std"] > 0).all() or not float(scalars["activation_absmax"]) > 0:
        return None
    w = vectors["reference_weights"]
    return TrainedModel(
        precision="fp64", feature_names=names, input_mean=vectors["input_mean"], input_std=vectors["input_std"],
        reference_weights=w, reference_bias=float(scalars["reference_bias"]), weights=w.copy(),
        bias=float(scalars["reference_bias"]), activation_absmax=float(scalars["activation_absmax"]),
        train_feature_mean=vectors["train_feature_mean"], architecture=architecture)


def _store_cached(path: Path, key: str, model: TrainedModel) -> None:
    """Write the fit's arrays atomically (temp file + rename): parallel workers never read half a file.

    The sklearn pipeline stays out of the cache, so loading a model never imports sklearn.
    """
    buffer = io.BytesIO()
    np.savez(buffer, key=np.array(key), feature_names=np.array(model.feature_names),
             **{n: np.asarray(getattr(model, n), dtype=np.float64) for n in _CACHE_VECTORS + _CACHE_SCALARS})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buffer.getvalue())
    except OSError:  # read-only checkout: the cache is an optimisation only
        pass


# ---------------------------------------------------------------- quantization and scoring


def quantize(model: TrainedModel, precision: str) -> TrainedModel:
    """The ``precision`` variant ("fp32" | "fp16" | "int8"), always derived from the float64 fit."""
    w, b = model.reference_weights, model.reference_bias
    base = dict(weight_scale=float("nan"), activation_scale=float("nan"), weights_q=None,
                bias_q=None)
    if precision in _FLOAT_TYPES:
        ftype = _FLOAT_TYPES[precision]
        return replace(model, precision=precision, **base,
                       weights=w.astype(ftype).astype(np.float64),
                       bias=float(np.asarray(b, dtype=ftype)))
    if precision != "int8":
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    w_scale = float(np.max(np.abs(w))) / 127.0
    x_scale = model.activation_absmax / 127.0
    w_q = np.clip(np.rint(w / w_scale), -127, 127).astype(np.int8)
    b_q = int(np.rint(b / (w_scale * x_scale)))
    return replace(
        model,
        precision="int8",
        weights=w_q.astype(np.float64) * w_scale,
        bias=b_q * w_scale * x_scale,
        weight_scale=w_scale,
        activation_scale=x_scale,
        weights_q=w_q,
        bias_q=b_q,
    )


def activations(model: TrainedModel, X: np.ndarray) -> np.ndarray:
    """Scaled inputs as the variant sees them (rounded to fp32/fp16, or int8 then dequantized)."""
    a = (design_matrix(model.architecture, X) - model.input_mean) / model.input_std
    if model.precision in _FLOAT_TYPES:
        return a.astype(_FLOAT_TYPES[model.precision]).astype(np.float64)
    if model.precision == "int8":
        q = np.clip(np.rint(a / model.activation_scale), -128, 127)
        return q * model.activation_scale
    return a


def logit(model: TrainedModel, X: np.ndarray) -> np.ndarray:
    """Log-odds of a good application, shape [n] (or scalar-like [1] for one row)."""
    return activations(model, np.atleast_2d(X)) @ model.weights + model.bias


def score(model: TrainedModel, X: np.ndarray) -> np.ndarray:
    """P(good) per row; vectorised, cheap enough to call per request (no sklearn, no pandas)."""
    return 1.0 / (1.0 + np.exp(-logit(model, X)))


def decide(model: TrainedModel, X: np.ndarray, threshold: float) -> np.ndarray:
    """Approve (1) when P(good) >= threshold, else reject (0); int8 array."""
    return (score(model, X) >= threshold).astype(np.int8)


def evaluate(model: TrainedModel, X: np.ndarray, y: np.ndarray, threshold: float) -> dict:
    """Held-out quality (sklearn.metrics); positive class = good = approved."""
    from sklearn.metrics import accuracy_score, precision_score, recall_score, roc_auc_score

    p = score(model, X)
    d = (p >= threshold).astype(np.int8)
    return {
        "precision": float(precision_score(y, d, zero_division=0)),
        "recall": float(recall_score(y, d, zero_division=0)),
        "auc": float(roc_auc_score(y, p)),
        "accuracy": float(accuracy_score(y, d)),
        "selection_rate": float(d.mean()),
    }


def measure_variants(
    seed: int, cfg: PopulationConfig | None = None, model_cfg: ModelConfig | None = None
) -> pd.DataFrame:
    """One row per precision variant: held-out metrics and logit error vs the float64 fit.

    int8's max error is dominated by the few rows whose scaled inputs exceed the calibrated range
    and get clipped; the mean error is the typical one.
    """
    model_cfg = model_cfg or ModelConfig()
    model = train_model(seed, cfg, model_cfg)
    X, y, _ = holdout_data(seed, cfg, model_cfg)
    exact = _exact_logit(model, X)
    rows = []
    for precision in PRECISIONS:
        variant = quantize(model, precision)
        rows.append({
            "variant": precision,
            "weight_bits": WEIGHT_BITS[precision],
            **evaluate(variant, X, y, model_cfg.decision_threshold),
            "mean_abs_logit_error": float(np.mean(np.abs(logit(variant, X) - exact))),
            "max_abs_logit_error": float(np.max(np.abs(logit(variant, X) - exact))),
        })
    return pd.DataFrame(rows)


def _exact_logit(model: TrainedModel, X: np.ndarray) -> np.ndarray:
    a = (design_matrix(model.architecture, X) - model.input_mean) / model.input_std
    return a @ model.reference_weights + model.reference_bias


# ---------------------------------------------------------------- explanations


def shap_base_logit(model: TrainedModel, background_mean: np.ndarray | None = None) -> float:
    """SHAP base value in log-odds: the model's logit at the background mean (exact for linear)."""
    mean = model.train_feature_mean if background_mean is None else background_mean
    return float(((mean - model.input_mean) / model.input_std) @ model.weights + model.bias)


def linear_shap(
    model: TrainedModel, X: np.ndarray, background_mean: np.ndarray | None = None
) -> np.ndarray:
    """Exact SHAP values [n, k] in log-odds for the linear model (independent features).

    ``phi_j = w_j * (a_j(x) - E[a_j])`` on the scaled features, with ``a`` the inputs as this
    variant sees them, so ``sum_j phi_j = logit(x) - shap_base_logit`` holds exactly (efficiency).
    The background defaults to the training mean.
    """
    mean = model.train_feature_mean if background_mean is None else background_mean
    centre = (mean - model.input_mean) / model.input_std
    return (activations(model, np.atleast_2d(X)) - centre) * model.weights


# Plain words for a feature that pushed the score down (reason to reject) or up (reason to approve),
# worded for the population's true relation (e.g. a negative income attribution means low income).
REASON_WORDS: dict[str, tuple[str, str]] = {
    "income_k_usd": ("low income", "high income"),
    "debt_ratio": ("high debt ratio", "low debt ratio"),
    "credit_history_years": ("short credit history", "long credit history"),
    "amount_usd": ("large amount requested", "small amount requested"),
    "txn_velocity_per_day": ("many recent transactions", "few recent transactions"),
    "account_age_days": ("new account", "established account"),
    "delinquencies_count": ("past delinquencies", "no past delinquencies"),
}


def explain_text(
    attributions: np.ndarray,
    feature_names: tuple[str, ...] | list[str],
    top: int = 2,
    approved: bool = False,
) -> str:
    """A one-line reason for one decision, from its attribution row.

    Rejected: the ``top`` features that pushed the log-odds down the most (negative attributions
    only), e.g. "rejected mainly because of: high debt ratio, short credit history".
    Approved: the features that pushed it up the most.
    """
    phi = np.asarray(attributions, dtype=float).reshape(-1)
    order = np.argsort(-phi if approved else phi, kind="stable")
    chosen = [j for j in order[:top] if (phi[j] > 0 if approved else phi[j] < 0)]
    verdict = "approved" if approved else "rejected"
    if not chosen:
        return f"{verdict}: no single feature stood out"
    side = 1 if approved else 0
    words = [REASON_WORDS.get(feature_names[j], (feature_names[j],) * 2)[side] for j in chosen]
    return f"{verdict} mainly because of: " + ", ".join(words)


def explain_texts(attributions: np.ndarray, feature_names: tuple[str, ...] | list[str], approved: np.ndarray,
                  top: int = 2) -> list[str]:
    """``explain_text`` for many decisions at once (rows of ``attributions``), the same sentences."""
    phi = np.atleast_2d(np.asarray(attributions, dtype=float))
    approved = np.asarray(approved, dtype=bool)
    if not len(phi):
        return []
    order = np.argsort(np.where(approved[:, None], -phi, phi), axis=1, kind="stable")[:, :top]
    picked = np.take_along_axis(phi, order, axis=1)
    keep = np.where(approved[:, None], picked > 0, picked < 0)
    names = [REASON_WORDS.get(f, (f, f)) for f in feature_names]
    out = []
    for row, mask, ok in zip(order.tolist(), keep.tolist(), approved.tolist()):
        verdict = "approved" if ok else "rejected"
        words = [names[j][1 if ok else 0] for j, m in zip(row, mask) if m]
        out.append(f"{verdict} mainly because of: " + ", ".join(words) if words
                   else f"{verdict}: no single feature stood out")
    return out
