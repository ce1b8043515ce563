"""Real model decisions for every request, scored in vectorised chunks ahead of the hot path.

Each chunk of arrivals gets a feature vector per request from the synthetic population (by
the request's region, with any active drift), a true outcome (label), and the *served*
features: exactly the true ones when the feature stage is off, stale ones for an online-store
hit (as old as the last materialization), or the request path's recomputation (training-serving
skew) for a miss or with the store switched off. The quantized model scores the served features;
its decision is the model's actual output. The label depends on the true features, so accuracy
lost to skew and staleness is measured, not assumed.

Model switches are exact: a request is answered by the model its replica runs when its
inference starts. When the primary or the candidate changes, every request generated ahead
of the clock that has not started inference yet is scored again with the new models, from
its served features (kept, per chunk, only while some request of the chunk is still waiting).

Explanations are exact SHAP values of the logistic model in log-odds space
(phi_j = w_j (x_j - E[x_j]) on standardised inputs): exact and cheap for a linear model, which
is why this twin serves one. The compute overhead charged to the inference stage follows the
chosen method's cost model (mechanisms.md section 9), so architects can see what KernelSHAP in
every response would cost.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from simulator.ml.model import ModelConfig, TrainedModel, linear_shap, quantize, score, train_model
from simulator.ml.population import (
    FEATURES,
    PopulationConfig,
    SkewConfig,
    active_drifts,
    apply_skew,
    apply_staleness,
    sample_for_groups,
)

PSI_BINS = 10


class Decisions:
    """Per-chunk scoring for one run; holds the primary and (during a rollout) candidate models."""

    def __init__(self, sim, architecture: str = "standard"):
        self.sim = sim
        sc = sim.sc
        self.sc = sc
        self.pop: PopulationConfig = sc.population
        self.region_names = tuple(sc.traffic.regions)
        self.model_cfg = ModelConfig(decision_threshold=sc.model.decision_threshold, architecture=architecture)
        self.threshold = sc.model.decision_threshold
        base = train_model(sc.model.training_seed, self.pop, self.model_cfg)
        self.primary: TrainedModel = quantize(base, sc.inference.precision)
        self.primary_version = sc.model.version
        self.candidate: TrainedModel | None = None
        self.candidate_version: str | None = None
        self.drifts = tuple(sc.drift.covariate) + tuple(sc.drift.concept)
        r = sim.rng.get
        self._rng_pop, self._rng_skew, self._rng_stale = r("population.features"), r("population.skew"), r("population.stale")
        self._rng_explain = r("explanations.sample")
        self.skew_cfg: SkewConfig = sc.skew
        self.explain = sc.explanations
        self.explain_cost_s = self.explain.cost_ms(len(FEATURES)) / 1000.0
        self.explained: list[tuple] = []  # (request_id, approved, attributions..., text)
        self.explain_count = 0
        self.explain_overhead_s = 0.0
        # PSI: decile edges of the training distribution per feature, counts per window
        self.psi_edges, self.psi_ref = psi_reference(self.pop, sc.model.training_seed) if (
            sc.retraining.enabled) else ([], [])
        self.psi_window_s = sc.retraining.psi_window_s
        self.psi_counts: dict[int, list[np.ndarray]] = {}
        # served features of chunks with requests not yet in inference, for exact model switches
        self._blocks: deque[tuple[int, np.ndarray]] = deque()

    # ------------------------------------------------------------------ models
    def set_candidate(self, model: TrainedModel | None, version: str | None) -> None:
        """The canary runs ``model`` from now on (None: the primary's model)."""
        self.candidate, self.candidate_version = model, version
        self._rescore_waiting()

    def promote(self, model: TrainedModel | None, version: str) -> None:
        """The primary runs ``model`` (None: keep its model, relabelled ``version``) from now on."""
        if model is not None:
            self.primary = model
            if self.candidate is model:  # the canary runs the same model: nothing extra to score
                self.candidate = None
        self.primary_version = version
        self._rescore_waiting()

    def _rescore_waiting(self) -> None:
        """Score again, with the current models, every kept request that has not started inference."""
        sim = self.sim
        self._prune()
        for first, served in self._blocks:
            rows = np.nonzero(sim.waiting_for_inference(first, len(served)))[0]
            if not len(rows):
                continue
            approve = score(self.primary, served[rows]) >= self.threshold
            alt = approve if self.candidate is None else score(self.candidate, served[rows]) >= self.threshold
            for rid, a, b in zip((first + rows).tolist(), approve.tolist(), np.asarray(alt).tolist()):
                sim.approve[rid] = int(a)
                sim.approve_alt[rid] = int(b)

    def _prune(self) -> None:
        """Forget the oldest chunks once none of their requests waits for inference any more."""
        blocks, sim = self._blocks, self.sim
        while blocks and not sim.waiting_for_inference(blocks[0][0], len(blocks[0][1])).any():
            blocks.popleft()

    # ------------------------------------------------------------------ per chunk
    def chunk(self, first: int, times: np.ndarray, region: np.ndarray, fs_hit: np.ndarray,
              service_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Score one chunk: (approve, approve_alt, label) as int64; adds explanation time to service."""
        k = len(times)
        t_mid = float(times[0])
        drifts = active_drifts(self.drifts, t_mid) if self.drifts else ()
        X, y = sample_for_groups(region, self.region_names, self.pop, self._rng_pop, drifts)
        served = X
        mode = self.sc.feature_store.mode
        if mode == "compute":
            served = apply_skew(X, 1.0, self._rng_skew, self.skew_cfg)
        elif mode == "online_store":
            # hits are served stale features, misses the request path's recomputation (skew)
            age = self._rng_stale.random(k) * self.sc.feature_store.materialization_interval_s
            served = apply_staleness(X, age, self._rng_stale, self.skew_cfg)
            miss = fs_hit != 1
            if miss.any():
                served[miss] = apply_skew(X[miss], 1.0, self._rng_skew, self.skew_cfg)
        p = score(self.primary, served)
        self.last_served, self.last_p = served, p  # other models of a graph score the same applications
        approve = p >= self.threshold
        alt = approve if self.candidate is None else score(self.candidate, served) >= self.threshold
        self._prune()
        self._blocks.append((first, served))
        if self.sc.retraining.enabled:  # PSI feeds only the drift detector
            self._psi_add(times, served)
        if self.explain.mode != "off":
            self._explain(first, served, approve, service_s)
        return approve.astype(np.int64), np.asarray(alt).astype(np.int64), y.astype(np.int64)

    def _explain(self, first: int, served: np.ndarray, approve: np.ndarray, service_s: np.ndarray) -> None:
        mode = self.explain.mode
        if mode == "all":
            pick = np.ones(len(approve), bool)
        elif mode == "rejections":
            pick = ~approve
        else:
            pick = self._rng_explain.random(len(approve)) < self.explain.sample_rate
        idx = np.nonzero(pick)[0]
        if not len(idx):
            return
        service_s[idx] += self.explain_cost_s  # the explainer runs on the model replica
        self.explain_count += len(idx)
        self.explain_overhead_s += len(idx) * self.explain_cost_s
        room = self.explain.keep_max - len(self.explained)
        if room > 0:
            keep = idx[:room]
            phi = linear_shap(self.primary, served[keep])
            for j, i in enumerate(keep.tolist()):
                self.explained.append((first + i, bool(approve[i]), *phi[j].tolist()))

    def _psi_add(self, times: np.ndarray, served: np.ndarray) -> None:
        w = (times // self.psi_window_s).astype(np.int64)
        by_feature = np.ascontiguousarray(served.T)  # one feature's values side by side
        first, last = int(w.min()), int(w.max())
        for win in range(first, last + 1):
            rows = slice(None) if first == last else w == win
            if first != last and not rows.any():
                continue
            acc = self.psi_counts.setdefault(win, [np.zeros(len(e) + 1) for e in self.psi_edges])
            for j, e in enumerate(self.psi_edges):
                acc[j] += np.bincount(np.searchsorted(e, by_feature[j][rows], side="right"), minlength=len(e) + 1)

    def psi(self, window: int) -> tuple[float, str, int]:
        """(max PSI over features, that feature, rows) for a finished window of arrivals."""
        acc = self.psi_counts.get(window)
        if acc is None:
            return 0.0, "", 0
        n = int(acc[0].sum())
        best, name = 0.0, ""
        for j, counts in enumerate(acc):
            p = np.maximum(counts / max(n, 1), 1e-4)
            q = np.maximum(self.psi_ref[j], 1e-4)
            value = float(np.sum((p - q) * np.log(p / q)))
            if value > best:
                best, name = value, FEATURES[j]
        return best, name, n


_PSI_REFERENCES: dict[tuple[str, int], tuple[list, list]] = {}


def psi_reference(pop: PopulationConfig, training_seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Decile edges per feature of the training population and its share per bin (the PSI's
    reference), kept per population and seed for the life of the process: every run of a
    scenario needs the same ones, and drawing them costs as much as a short run's decisions."""
    key = (pop.model_dump_json(), int(training_seed))
    if key not in _PSI_REFERENCES:
        ref, _ = sample_for_groups(np.zeros(20_000, dtype=np.int16), ("reference",), pop,
                                   np.random.default_rng(training_seed + 1))
        qs = np.linspace(0, 1, PSI_BINS + 1)[1:-1]
        edges = [np.unique(np.quantile(ref[:, j], qs)) for j in range(len(FEATURES))]
        shares = [np.bincount(np.searchsorted(e, ref[:, j], side="right"), minlength=len(e) + 1) / len(ref)
                  for j, e in enumerate(edges)]
        if len(_PSI_REFERENCES) >= 16:  # a bound for a long-lived dashboard worker
            _PSI_REFERENCES.clear()
        _PSI_REFERENCES[key] = (edges, shares)
    return _PSI_REFERENCES[key]


def population_stability_index(expected: np.ndarray, actual: np.ndarray) -> float:
    """PSI = sum (a - e) ln(a / e) over bins of two share vectors (floored at 1e-4)."""
    e = np.maximum(np.asarray(expected, float), 1e-4)
    a = np.maximum(np.asarray(actual, float), 1e-4)
    return float(np.sum((a - e) * np.log(a / e)))


def explanation_frame(rows: list[tuple], feature_names: tuple[str, ...] = FEATURES):
    """Explanations as a tidy frame with a plain-language reason per decision."""
    import pandas as pd

    from simulator.ml.model import explain_texts

    cols = ["request_id", "approved", *[f"shap_{f}" for f in feature_names]]
    frame = pd.DataFrame(rows, columns=cols)
    phi = frame[[f"shap_{f}" for f in feature_names]].to_numpy()
    frame["reason"] = explain_texts(phi, feature_names, frame["approved"].to_numpy(bool), top=2)
    return frame

