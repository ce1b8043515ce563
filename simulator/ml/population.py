"""Synthetic credit/fraud-style applications whose features depend mildly on a group (region).

Why synthetic: the twin needs decisions from a real model on data with known ground truth, so that
drift, training-serving skew and fairness effects can be injected on purpose and checked. Every
draw goes through a numpy Generator passed in by the caller (no global RNG), and sampling is
vectorised, so the simulator should draw applications in batches rather than one at a time.

Ground truth: ``y = 1`` means a good application (repays / legitimate); the model's positive
decision is "approve", so a group's selection rate is its approval rate. The label comes from a
latent logistic relation on the features (``_TRUE_COEF`` below), then a fraction ``label_noise``
of labels is flipped.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import Field, model_validator

from simulator.common.limits import MAX_DURATION_S, MAX_ENTRIES, MAX_NAME_CHARS
from simulator.common.section import Section

FEATURES: tuple[str, ...] = (
    "income_k_usd",
    "debt_ratio",
    "credit_history_years",
    "amount_usd",
    "txn_velocity_per_day",
    "account_age_days",
    "delinquencies_count",
)
FEATURE_INDEX: dict[str, int] = {name: j for j, name in enumerate(FEATURES)}
INCOME, DEBT, HISTORY, AMOUNT, VELOCITY, AGE, DELINQ = range(len(FEATURES))

# Valid range of each feature; drift and skew results are clipped back into it.
_LOWER = np.zeros(len(FEATURES))
_UPPER = np.array([np.inf, 1.0, np.inf, np.inf, np.inf, np.inf, np.inf])
_COUNT_FEATURES = (DELINQ,)

# The true (latent) relation: logit P(good) = intercept + sum coef_j * t_j(x_j), where t_j centres
# each feature on a fixed reference and takes logs of the heavy-tailed ones. Signs: income,
# history and account age help; debt, amount, velocity and delinquencies hurt.
_TRUE_INTERCEPT = 1.0
_TRUE_COEF = np.array([1.2, -5.0, 0.12, -0.5, -0.25, 0.3, -0.8])
_VELOCITY_SHAPE, _VELOCITY_SCALE = 2.0, 1.5  # gamma: mean 3 per day


class PopulationConfig(Section):
    """Who applies: group shares and the (mild) group differences in the feature distributions."""

    groups: dict[str, float] = Field(
        {"north": 0.3, "south": 0.25, "east": 0.25, "west": 0.2}, max_length=MAX_ENTRIES,
        description="group (region) name -> share of applications; shares sum to 1",
    )
    income_multipliers: dict[str, float] = Field(
        {"north": 1.0, "south": 1.0, "east": 1.0, "west": 1.0}, max_length=MAX_ENTRIES,
        description="per-group multiplier on income; a group not listed uses 1.0 (no change)",
    )
    history_shift_years: dict[str, float] = Field(
        {"north": 1.0, "south": -1.5, "east": 0.0, "west": -0.5}, max_length=MAX_ENTRIES,
        description="per-group shift of credit history length; a group not listed uses 0",
    )
    median_income_k_usd: float = Field(55.0, gt=0, le=10_000, description="median annual income")
    income_log_sigma: float = Field(0.5, gt=0, le=5, description="sd of log income")
    median_amount_usd: float = Field(1_500.0, gt=0, le=10_000_000, description="median requested amount")
    label_noise: float = Field(0.02, ge=0, le=0.5, description="fraction of labels flipped")

    @model_validator(mode="after")
    def _check_groups(self) -> PopulationConfig:
        if not self.groups:
            raise ValueError("groups must not be empty")
        if any(share <= 0 for share in self.groups.values()):
            raise ValueError("group shares must be > 0")
        if abs(sum(self.groups.values()) - 1.0) > 1e-6:
            raise ValueError(f"group shares must sum to 1, got {sum(self.groups.values())}")
        for name in ("income_multipliers", "history_shift_years"):
            unknown = set(getattr(self, name)) - set(self.groups)
            if unknown:
                raise ValueError(f"{name} names unknown groups: {sorted(unknown)}")
        if any(not 0 < m <= 100 for m in self.income_multipliers.values()):
            raise ValueError("income multipliers must be > 0 and ≤ 100")
        if any(not -50 <= s <= 50 for s in self.history_shift_years.values()):
            raise ValueError("history shifts must be between -50 and 50 years")
        if any(not 0 < len(g) <= MAX_NAME_CHARS for g in self.groups):
            raise ValueError(f"group names must have 1 to {MAX_NAME_CHARS} characters")
        return self

    @property
    def group_names(self) -> tuple[str, ...]:
        """Group names in index order (the int16 codes returned by ``sample_population``)."""
        return tuple(self.groups)

    def group_shares(self) -> np.ndarray:
        return np.array(list(self.groups.values()), dtype=float)

    def income_multiplier_array(self) -> np.ndarray:
        return np.array([self.income_multipliers.get(g, 1.0) for g in self.groups])

    def history_shift_array(self) -> np.ndarray:
        return np.array([self.history_shift_years.get(g, 0.0) for g in self.groups])


class DriftSpec(Section):
    """Covariate drift: multiply one feature (in one group, or all) from ``start_s`` on.

    The labels follow the *drifted* features through the unchanged true relation, so this is
    pure covariate shift (e.g. income x0.8 in the south after a local downturn).
    """

    feature: str = Field(..., max_length=MAX_NAME_CHARS, description="feature name from FEATURES")
    multiplier: float = Field(..., gt=0, le=100, description="factor applied to the feature value")
    group: str | None = Field(None, max_length=MAX_NAME_CHARS, description="group to drift; None = every group")
    start_s: float = Field(0.0, ge=0, le=MAX_DURATION_S, description="simulation time the drift starts")

    @model_validator(mode="after")
    def _check_feature(self) -> DriftSpec:
        if self.feature not in FEATURE_INDEX:
            raise ValueError(f"unknown feature {self.feature!r}; known: {FEATURES}")
        return self


class ConceptDriftSpec(Section):
    """Concept drift: the true relation between features and outcome changes from ``start_s`` on.

    The features keep their distribution; the latent coefficient of ``feature`` is multiplied by
    ``coefficient_multiplier`` (0 = it stops mattering, negative = it reverses) and the intercept
    moves by ``intercept_shift`` (negative = fewer good applications overall).
    """

    feature: str | None = Field(None, max_length=MAX_NAME_CHARS, description="feature whose true coefficient changes")
    coefficient_multiplier: float = Field(1.0, ge=-100, le=100, description="factor on that true coefficient")
    intercept_shift: float = Field(0.0, ge=-50, le=50, description="added to the true log-odds of every row")
    start_s: float = Field(0.0, ge=0, le=MAX_DURATION_S, description="simulation time the drift starts")

    @model_validator(mode="after")
    def _check_feature(self) -> ConceptDriftSpec:
        if self.feature is not None and self.feature not in FEATURE_INDEX:
            raise ValueError(f"unknown feature {self.feature!r}; known: {FEATURES}")
        return self


class SkewConfig(Section):
    """How request-path features differ from the training pipeline (training-serving skew)."""

    features: tuple[str, ...] = Field(
        ("debt_ratio", "txn_velocity_per_day", "account_age_days"), max_length=len(FEATURES),
        description="derived features that the serving path recomputes (and can get wrong)",
    )
    relative_noise: float = Field(0.3, ge=0, le=10, description="sd of the relative error per value")
    relative_bias: float = Field(0.15, gt=-1, le=10, description="mean relative error (0.1 = 10 % high)")
    velocity_decorrelation_s: float = Field(
        3_600.0, ge=1, le=MAX_DURATION_S, description="staleness at which a cached velocity keeps 1/e of its signal"
    )

    @model_validator(mode="after")
    def _check_features(self) -> SkewConfig:
        unknown = [f for f in self.features if f not in FEATURE_INDEX]
        if unknown:
            raise ValueError(f"unknown features {unknown}; known: {FEATURES}")
        return self


Drift = DriftSpec | ConceptDriftSpec


def active_drifts(drifts: Sequence[Drift], now_s: float) -> tuple[Drift, ...]:
    """The drift specs already in force at ``now_s`` (``start_s <= now_s``)."""
    return tuple(d for d in drifts if d.start_s <= now_s)


def sample_population(
    n: int,
    cfg: PopulationConfig,
    rng: np.random.Generator,
    drift: Sequence[Drift] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``n`` applications: features ``X`` [n, k] float64, labels ``y`` int8, group codes int16.

    Every spec in ``drift`` is applied (filter by time with ``active_drifts`` first). The number of
    draws from ``rng`` does not depend on ``drift``, so a drifted and an undrifted sample from equal
    generators share the same applicants.
    """
    drift = drift or ()
    group = rng.choice(len(cfg.groups), size=n, p=cfg.group_shares()).astype(np.int16)
    X, y = _sample_given_groups(group, cfg.group_names, cfg, rng, drift)
    return X, y, group


def sample_for_groups(
    group: np.ndarray,
    group_names: Sequence[str],
    cfg: PopulationConfig,
    rng: np.random.Generator,
    drift: Sequence[Drift] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels for applicants whose group codes are already known (e.g. the
    simulated requests' regions). Group parameters are looked up by name; a name the population
    config does not list gets the defaults (income x1.0, no history shift)."""
    return _sample_given_groups(np.asarray(group), tuple(group_names), cfg, rng, drift or ())


def _sample_given_groups(group, group_names, cfg, rng, drift):
    n = len(group)
    income_mult = np.array([cfg.income_multipliers.get(g, 1.0) for g in group_names])
    history_shift = np.array([cfg.history_shift_years.get(g, 0.0) for g in group_names])
    X = np.empty((n, len(FEATURES)))
    income = cfg.median_income_k_usd * income_mult[group]
    X[:, INCOME] = income * np.exp(cfg.income_log_sigma * rng.standard_normal(n))
    X[:, DEBT] = rng.beta(2.0, 5.0, n)
    history = rng.gamma(3.0, 3.0, n) + history_shift[group]
    X[:, HISTORY] = np.maximum(history, 0.0)
    income_ratio = X[:, INCOME] / cfg.median_income_k_usd
    X[:, AMOUNT] = cfg.median_amount_usd * np.sqrt(income_ratio) * np.exp(
        0.7 * rng.standard_normal(n)
    )
    X[:, VELOCITY] = rng.gamma(_VELOCITY_SHAPE, _VELOCITY_SCALE, n)
    X[:, AGE] = rng.gamma(2.0, 400.0, n)
    X[:, DELINQ] = rng.poisson(0.4, n)
    label_u = rng.random(n)
    flip_u = rng.random(n)

    intercept, coef = _TRUE_INTERCEPT, _TRUE_COEF.copy()
    for spec in drift:
        if isinstance(spec, DriftSpec):
            _apply_covariate_drift(X, group, group_names, spec)
        else:
            intercept += spec.intercept_shift
            if spec.feature is not None:
                coef[FEATURE_INDEX[spec.feature]] *= spec.coefficient_multiplier

    p_good = 1.0 / (1.0 + np.exp(-(intercept + _true_terms(X) @ coef)))
    y = label_u < p_good
    y ^= flip_u < cfg.label_noise
    return X, y.astype(np.int8)


def true_probability(X: np.ndarray) -> np.ndarray:
    """P(good | x) under the baseline true relation (no concept drift); for checks and tests."""
    return 1.0 / (1.0 + np.exp(-(_TRUE_INTERCEPT + _true_terms(X) @ _TRUE_COEF)))


def apply_skew(
    X: np.ndarray,
    skew_fraction: float,
    rng: np.random.Generator,
    cfg: SkewConfig | None = None,
) -> np.ndarray:
    """Training-serving skew: a fraction of rows get the serving path's version of some features.

    Each affected value becomes ``x * (1 + relative_bias + relative_noise * N(0, 1))``, clipped to
    the feature's valid range. Returns a new array; ``X`` is left unchanged.
    """
    cfg = cfg or SkewConfig()
    cols = [FEATURE_INDEX[f] for f in cfg.features]
    n = X.shape[0]
    hit = rng.random(n) < skew_fraction
    factor = 1.0 + cfg.relative_bias + cfg.relative_noise * rng.standard_normal((n, len(cols)))
    out = X.copy()
    out[np.ix_(hit, cols)] *= factor[hit]
    return _clip(out)


def apply_staleness(
    X: np.ndarray,
    staleness_s: float | np.ndarray,
    rng: np.random.Generator,
    cfg: SkewConfig | None = None,
) -> np.ndarray:
    """Features served from a cache that is ``staleness_s`` old (scalar or one value per row).

    Account age is understated by the staleness. Transaction velocity drifts away from its current
    value like a mean-reverting signal: ``rho * v + (1 - rho) * v_other`` with
    ``rho = exp(-staleness_s / velocity_decorrelation_s)`` and ``v_other`` an independent draw
    from the velocity distribution. Static features (income, history, ...) are unaffected.
    """
    cfg = cfg or SkewConfig()
    n = X.shape[0]
    staleness = np.broadcast_to(np.asarray(staleness_s, dtype=float), (n,))
    rho = np.exp(-staleness / cfg.velocity_decorrelation_s)
    other = rng.gamma(_VELOCITY_SHAPE, _VELOCITY_SCALE, n)
    out = X.copy()
    out[:, VELOCITY] = rho * X[:, VELOCITY] + (1.0 - rho) * other
    out[:, AGE] = X[:, AGE] - staleness / 86_400.0
    return _clip(out)


def _apply_covariate_drift(
    X: np.ndarray, group: np.ndarray, group_names: Sequence[str], spec: DriftSpec
) -> None:
    j = FEATURE_INDEX[spec.feature]
    if spec.group is None:
        rows = slice(None)
    else:
        if spec.group not in group_names:
            raise ValueError(f"drift names unknown group {spec.group!r}")
        rows = group == list(group_names).index(spec.group)
    X[rows, j] *= spec.multiplier
    X[:, j] = np.clip(X[:, j], _LOWER[j], _UPPER[j])
    if j in _COUNT_FEATURES:
        X[:, j] = np.rint(X[:, j])


def _true_terms(X: np.ndarray) -> np.ndarray:
    """Centred (and, for heavy tails, logged) features of the true relation; fixed references."""
    t = np.empty_like(X)
    t[:, INCOME] = np.log(np.maximum(X[:, INCOME], 1e-3) / 55.0)
    t[:, DEBT] = X[:, DEBT] - 0.3
    t[:, HISTORY] = X[:, HISTORY] - 9.0
    t[:, AMOUNT] = np.log(np.maximum(X[:, AMOUNT], 1.0) / 1_500.0)
    t[:, VELOCITY] = X[:, VELOCITY] - 3.0
    t[:, AGE] = np.log(np.maximum(X[:, AGE], 1.0) / 800.0)
    t[:, DELINQ] = X[:, DELINQ]
    return t


def _clip(X: np.ndarray) -> np.ndarray:
    np.clip(X, _LOWER, _UPPER, out=X)
    for j in _COUNT_FEATURES:
        X[:, j] = np.rint(X[:, j])
    return X
