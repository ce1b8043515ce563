"""The credit model: reproducibility, quantization accuracy and error bounds, SHAP, drift, cache."""
import numpy as np
import pydantic
import pytest

from simulator.ml import (
    FEATURES,
    ConceptDriftSpec,
    DriftSpec,
    PopulationConfig,
    active_drifts,
    apply_skew,
    apply_staleness,
    decide,
    evaluate,
    explain_text,
    holdout_data,
    linear_shap,
    logit,
    measure_variants,
    quantize,
    sample_population,
    score,
    shap_base_logit,
    train_model,
)
from simulator.ml import model as model_module
from simulator.ml.model import ModelConfig
from simulator.ml.population import SkewConfig

SEED = 11


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_model(SEED, cache_dir=tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def holdout():
    return holdout_data(SEED)


def test_population_is_reproducible_per_seed():
    """Same seed -> identical arrays; another seed -> different draws; documented dtypes/shapes."""
    cfg = PopulationConfig()
    a = sample_population(500, cfg, np.random.default_rng(1))
    b = sample_population(500, cfg, np.random.default_rng(1))
    c = sample_population(500, cfg, np.random.default_rng(2))
    for left, right in zip(a, b):
        np.testing.assert_array_equal(left, right)
    assert not np.array_equal(a[0], c[0])
    X, y, group = a
    assert X.shape == (500, len(FEATURES)) and X.dtype == np.float64
    assert y.dtype == np.int8 and set(np.unique(y)) <= {0, 1}
    assert group.dtype == np.int16 and group.max() < len(cfg.groups)


def test_population_respects_feature_ranges():
    """Incomes and amounts are positive, debt ratio in [0, 1], delinquencies whole numbers."""
    X, _, _ = sample_population(5_000, PopulationConfig(), np.random.default_rng(3))
    assert (X[:, FEATURES.index("income_k_usd")] > 0).all()
    assert (X[:, FEATURES.index("amount_usd")] > 0).all()
    debt = X[:, FEATURES.index("debt_ratio")]
    assert ((debt >= 0) & (debt <= 1)).all()
    delinq = X[:, FEATURES.index("delinquencies_count")]
    np.testing.assert_array_equal(delinq, np.rint(delinq))


def test_group_shares_follow_config():
    """Group frequencies match the configured shares (4 sd of a binomial at n = 20 000)."""
    cfg = PopulationConfig(groups={"a": 0.7, "b": 0.3}, income_multipliers={},
                           history_shift_years={})
    _, _, group = sample_population(20_000, cfg, np.random.default_rng(4))
    share_a = np.mean(group == 0)
    assert abs(share_a - 0.7) < 4 * np.sqrt(0.7 * 0.3 / 20_000)


def test_config_validation():
    """Shares must sum to 1, per-group settings must name known groups, unknown keys fail."""
    with pytest.raises(pydantic.ValidationError):
        PopulationConfig(groups={"a": 0.5, "b": 0.4}, income_multipliers={},
                         history_shift_years={})
    with pytest.raises(pydantic.ValidationError):
        PopulationConfig(income_multipliers={"mars": 1.0})
    with pytest.raises(pydantic.ValidationError):
        PopulationConfig(label_noyse=0.1)
    with pytest.raises(pydantic.ValidationError):
        DriftSpec(feature="salary", multiplier=0.8)


def test_training_is_reproducible_per_seed(tmp_path):
    """Two fresh fits (separate empty caches) with one seed are equal; another seed differs."""
    first = train_model(5, cache_dir=tmp_path / "one")
    again = train_model(5, cache_dir=tmp_path / "two")
    other = train_model(6, cache_dir=tmp_path / "three")
    assert first == again
    np.testing.assert_array_equal(first.reference_weights, again.reference_weights)
    assert not np.array_equal(first.reference_weights, other.reference_weights)


def test_scoring_matches_sklearn(trained, holdout):
    """Our fast scoring path equals sklearn's decision_function (fp32 rounding only)."""
    X = holdout[0][:2_000]
    sk_logit = trained.estimator.decision_function(X)
    np.testing.assert_allclose(logit(trained, X), sk_logit, atol=1e-4)
    np.testing.assert_allclose(score(trained, X), trained.estimator.predict_proba(X)[:, 1],
                               atol=1e-5)


def test_model_learns_the_true_directions(trained):
    """The fitted signs match the generator: income and history help, debt and delinquency hurt."""
    w = dict(zip(FEATURES, trained.reference_weights))
    assert w["income_k_usd"] > 0 and w["credit_history_years"] > 0
    assert w["debt_ratio"] < 0 and w["delinquencies_count"] < 0


def test_variants_auc_within_tolerance():
    """Held-out AUC: int8 within 0.01 of fp32 (mechanisms.md 7.1: <= ~1 point loss for int8 PTQ),
    fp16 within 0.001 (fp16 rounds inputs/weights at ~5e-4 relative, far below ranking changes)."""
    table = measure_variants(SEED).set_index("variant")
    assert list(table.index) == ["fp32", "fp16", "int8"]
    auc = table["auc"]
    assert abs(auc["int8"] - auc["fp32"]) <= 0.01
    assert abs(auc["fp16"] - auc["fp32"]) <= 0.001
    assert auc["fp32"] > 0.6  # the model is better than chance
    assert (table[["precision", "recall", "accuracy", "selection_rate"]].to_numpy() <= 1).all()


def test_int8_weight_error_at_most_half_a_step(trained):
    """Symmetric rounding: |w - scale * round(w / scale)| <= scale / 2 for every weight."""
    q = quantize(trained, "int8")
    assert q.weight_scale == pytest.approx(np.max(np.abs(trained.reference_weights)) / 127)
    err = np.abs(q.weights - trained.reference_weights)
    assert (err <= q.weight_scale / 2 + 1e-15).all()
    assert q.weights_q.dtype == np.int8 and np.max(np.abs(q.weights_q)) == 127
    bias_step = q.weight_scale * q.activation_scale
    assert abs(q.bias - trained.reference_bias) <= bias_step / 2 + 1e-15


def test_int8_inputs_follow_onnx_formula(trained, holdout):
    """Inputs become scale * (q - 0) with q an integer in [-128, 127]."""
    q = quantize(trained, "int8")
    a = model_module.activations(q, holdout[0][:1_000])
    steps = a / q.activation_scale
    np.testing.assert_allclose(steps, np.rint(steps), atol=1e-9)
    assert steps.min() >= -128 and steps.max() <= 127


def test_fp16_weights_are_half_precision(trained):
    """fp16 weights are exactly representable in float16 and within its rounding of fp64."""
    q = quantize(trained, "fp16")
    np.testing.assert_array_equal(q.weights, q.weights.astype(np.float16).astype(np.float64))
    np.testing.assert_allclose(q.weights, trained.reference_weights, rtol=2.0**-11)


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_shap_efficiency(trained, holdout, precision):
    """Attributions of random rows sum to logit(p) - base logit (SHAP efficiency property)."""
    model = quantize(trained, precision)
    rows = holdout[0][np.random.default_rng(0).choice(len(holdout[0]), 50, replace=False)]
    phi = linear_shap(model, rows)
    p = score(model, rows)
    np.testing.assert_allclose(phi.sum(axis=1), np.log(p / (1 - p)) - shap_base_logit(model),
                               atol=1e-6)


def test_shap_of_the_background_row_is_zero(trained):
    """A row equal to the background mean gets zero attribution for every feature (fp64 path)."""
    exact = quantize(trained, "fp32")
    phi = linear_shap(exact, trained.train_feature_mean[None, :])
    np.testing.assert_allclose(phi, 0.0, atol=1e-6)


def test_explain_text_plain_words():
    """The two most negative attributions name the rejection reasons, in order, in plain words."""
    names = FEATURES
    phi = np.zeros(len(names))
    phi[names.index("debt_ratio")] = -1.2
    phi[names.index("credit_history_years")] = -0.5
    phi[names.index("income_k_usd")] = 0.9
    assert explain_text(phi, names) == (
        "rejected mainly because of: high debt ratio, short credit history")
    assert explain_text(phi, names, top=1, approved=True) == (
        "approved mainly because of: high income")
    assert explain_text(np.abs(phi), names) == "rejected: no single feature stood out"


def test_income_drift_lowers_that_groups_approval_rate(trained):
    """Income x0.8 in 'south' (the model rewards income) lowers south's approvals only."""
    cfg = PopulationConfig()
    south = cfg.group_names.index("south")
    drift = [DriftSpec(feature="income_k_usd", multiplier=0.8, group="south", start_s=0)]
    X0, _, g0 = sample_population(20_000, cfg, np.random.default_rng(9))
    X1, _, g1 = sample_population(20_000, cfg, np.random.default_rng(9), drift=drift)
    np.testing.assert_array_equal(g0, g1)
    np.testing.assert_array_equal(X0[g0 != south], X1[g1 != south])
    d0, d1 = decide(trained, X0, 0.5), decide(trained, X1, 0.5)
    assert d1[g1 == south].mean() < d0[g0 == south].mean()
    np.testing.assert_array_equal(d0[g0 != south], d1[g1 != south])


def test_active_drifts_respect_start_time():
    """A drift is in force from its start_s on."""
    early = DriftSpec(feature="income_k_usd", multiplier=0.8, start_s=0)
    late = ConceptDriftSpec(intercept_shift=-1.0, start_s=600)
    assert active_drifts([early, late], 599.9) == (early,)
    assert active_drifts([early, late], 600.0) == (early, late)


def test_concept_drift_changes_outcomes_not_features():
    """Concept drift keeps X but changes y: a negative intercept shift means fewer good labels,
    and zeroing the debt coefficient removes debt's link to the outcome."""
    cfg = PopulationConfig()
    X0, y0, _ = sample_population(20_000, cfg, np.random.default_rng(8))
    worse = [ConceptDriftSpec(intercept_shift=-1.0)]
    X1, y1, _ = sample_population(20_000, cfg, np.random.default_rng(8), drift=worse)
    np.testing.assert_array_equal(X0, X1)
    assert y1.mean() < y0.mean()
    no_debt = [ConceptDriftSpec(feature="debt_ratio", coefficient_multiplier=0.0)]
    X2, y2, _ = sample_population(20_000, cfg, np.random.default_rng(8), drift=no_debt)
    debt = FEATURES.index("debt_ratio")
    assert np.corrcoef(X0[:, debt], y0)[0, 1] < -0.1
    assert abs(np.corrcoef(X2[:, debt], y2)[0, 1]) < 0.03  # ~4 sd of r at n = 20 000


def test_concept_drift_degrades_the_served_model(trained):
    """Reversing the debt relation makes the trained model rank worse on new data."""
    cfg = PopulationConfig()
    X0, y0, _ = sample_population(20_000, cfg, np.random.default_rng(12))
    flip = [ConceptDriftSpec(feature="debt_ratio", coefficient_multiplier=-1.0)]
    X1, y1, _ = sample_population(20_000, cfg, np.random.default_rng(12), drift=flip)
    assert evaluate(trained, X1, y1, 0.5)["auc"] < evaluate(trained, X0, y0, 0.5)["auc"]


def test_baseline_disparity_is_mild(trained, holdout):
    """By design the baseline passes the four-fifths rule but is not perfectly equal."""
    X, _, group = holdout
    d = decide(trained, X, 0.5)
    rates = np.bincount(group, weights=d) / np.bincount(group)
    assert 0.8 < rates.min() / rates.max() < 1.0


def test_evaluate_selection_rate_is_share_approved(trained, holdout):
    """selection_rate equals the share of positive decisions at that threshold."""
    X, y, _ = holdout
    for threshold in (0.3, 0.5, 0.7):
        out = evaluate(trained, X, y, threshold)
        assert out["selection_rate"] == pytest.approx(decide(trained, X, threshold).mean())
        assert out["accuracy"] == pytest.approx(np.mean(decide(trained, X, threshold) == y))


def test_skew_only_touches_chosen_rows_and_features():
    """Fraction 0 changes nothing; fraction 1 with bias 0.1 and no noise scales exactly the
    configured features by 1.1 (then clipped to their range)."""
    X, _, _ = sample_population(1_000, PopulationConfig(), np.random.default_rng(5))
    np.testing.assert_array_equal(apply_skew(X, 0.0, np.random.default_rng(0)), X)
    cfg = SkewConfig(features=("txn_velocity_per_day",), relative_noise=0.0, relative_bias=0.1)
    out = apply_skew(X, 1.0, np.random.default_rng(0), cfg)
    v = FEATURES.index("txn_velocity_per_day")
    np.testing.assert_allclose(out[:, v], X[:, v] * 1.1)
    others = [j for j in range(len(FEATURES)) if j != v]
    np.testing.assert_array_equal(out[:, others], X[:, others])


def test_staleness_ages_account_and_blurs_velocity():
    """Zero staleness changes nothing; one day of staleness understates account age by one day."""
    X, _, _ = sample_population(1_000, PopulationConfig(), np.random.default_rng(6))
    np.testing.assert_allclose(apply_staleness(X, 0.0, np.random.default_rng(0)), X)
    out = apply_staleness(X, 86_400.0, np.random.default_rng(0))
    age = FEATURES.index("account_age_days")
    np.testing.assert_allclose(out[:, age], np.maximum(X[:, age] - 1.0, 0.0))
    assert not np.allclose(out[:, FEATURES.index("txn_velocity_per_day")],
                           X[:, FEATURES.index("txn_velocity_per_day")])


@pytest.mark.parametrize("architecture", ["standard", "compact", "large"])
def test_cache_hit_returns_equal_model(tmp_path, monkeypatch, architecture):
    """The second call loads the file (fitting is disabled) and gives an equal model, for every
    architecture (a graph's second model is often compact or large: it was refitted every run)."""
    cache = tmp_path / "nested" / "models"  # missing directories are created
    cfg = ModelConfig(architecture=architecture)
    first = train_model(3, model_cfg=cfg, cache_dir=cache)
    assert len(list(cache.glob("*.npz"))) == 1

    def no_fit(*args, **kwargs):
        raise AssertionError("expected a cache hit")

    monkeypatch.setattr(model_module, "_fit", no_fit)
    again = train_model(3, model_cfg=cfg, cache_dir=cache)
    assert again == first
    assert again.architecture == architecture and again.feature_names == first.feature_names
    X = sample_population(50, PopulationConfig(), np.random.default_rng(1))[0]
    np.testing.assert_array_equal(score(again, X), score(first, X))


def test_corrupt_cache_is_retrained(tmp_path):
    """A truncated cache file is ignored, the model retrained and the file rewritten."""
    first = train_model(4, cache_dir=tmp_path)
    (path,) = tmp_path.glob("*.npz")
    path.write_bytes(b"not an npz file")
    assert train_model(4, cache_dir=tmp_path) == first
    assert path.read_bytes() != b"not an npz file"


def test_cache_key_depends_on_config(tmp_path):
    """A different population config is a different cache entry, not a stale hit."""
    train_model(3, cache_dir=tmp_path)
    train_model(3, PopulationConfig(label_noise=0.1), cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 2


def test_explanation_sentences_in_bulk_are_the_single_ones():
    """explain_texts (used for whole frames) says exactly what explain_text says row by row."""
    from simulator.ml.model import explain_text, explain_texts
    from simulator.ml.population import FEATURES

    rng = np.random.default_rng(3)
    phi = rng.normal(size=(300, len(FEATURES)))
    phi[:20] = np.abs(phi[:20])  # rows with nothing pushing towards a rejection
    approved = rng.random(300) < 0.5
    bulk = explain_texts(phi, FEATURES, approved)
    assert bulk == [explain_text(phi[i], FEATURES, top=2, approved=bool(a)) for i, a in enumerate(approved)]
    assert any("no single feature" in t for t in bulk)
