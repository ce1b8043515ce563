"""Fairness monitoring, human review, drift detection, retraining and the audit log.

* The **fairness monitor** evaluates every ``fairness.window_s`` the decisions answered in the
  window that just ended (simulator.mechanisms.fairness: selection rates, four-fifths ratio with a Katz
  interval, minimum-sample guard, hysteresis). While flagged, the worst group's decisions (all,
  or rejections only) go to human review.
* **Reviewers** are a pool whose headcount follows shifts by hour of day; a case waits FIFO.
  A reviewer gets the right answer with probability ``reviewer_accuracy``.
* **Drift detection** computes the population stability index of the served features per
  window of arrivals; above the threshold -> ``drift_detected`` -> a retraining job (duration,
  cost) on recent data -> a new model version, deployed through the canary controller (or
  directly), optionally after a human approval delay.
* Every model-registry action lands in the **audit log** with the acting role.
"""
from __future__ import annotations

import math

import numpy as np

from simulator.common.queueing import servers_needed_for_sla
from simulator.engine.pool import Pool
from simulator.engine.rng import draw
from simulator.mechanisms.fairness import FairnessMonitor


class Governance:
    """The run-time side of fairness, review, drift and retraining for one simulation."""

    def __init__(self, sim, event_reviewers: bool = True):
        """``event_reviewers=False``: the station kernels serve the review cases on a pool of their own
        (:class:`~simulator.engine.stations.review.FlaggedReview`, which sets ``reviewers``)."""
        self.sim = sim
        self.env = sim.env
        sc = sim.sc
        self.sc = sc
        self.groups = tuple(sc.traffic.regions)
        self.monitor = FairnessMonitor(sc.fairness, self.groups) if sc.fairness.enabled else None
        self.flag_group = -1
        self.review_all = sc.fairness.review_mode == "all"
        self.windows: list[dict] = []
        self.audit: list[tuple[float, str, str, str]] = [(0.0, "deploy", "automation",
                                                          f"model {sc.model.version} ({sc.inference.precision}) serving")]
        self.drift_detected_s: float | None = None
        self.retrained_s: float | None = None
        self.retrain_cost = 0.0
        # review cases: columnar, indexed by case id
        self.case_rid: list[int] = []
        self.case_enter: list[float] = []
        self.case_start: list[float] = []
        self.case_end: list[float] = []
        self.case_svc: list[float] = []
        # the review's streams, shared by both engines' review queues (drawn in the same order)
        self.review_time_rng = sim.rng.get("review.time")
        self.review_correct_rng = sim.rng.get("review.correct")
        self.reviewers = Pool(self.env, 0, 1, self.case_svc, self.case_enter, self.case_start, self.case_end,
                              on_done=self._case_done, on_fail=lambda *a: None) if event_reviewers else None
        self.case_outcome: list[int] = []
        self.case_label: list[int] = []  # the true outcome, kept with the case (the request's row may be gone)
        self.headcount: list[tuple[float, int]] = []
        self.psi_series: list[tuple[float, float, str, int]] = []
        self.flagged_s = 0.0  # time spent flagged (cases only arrive then)
        self.flag_started_s = 0.0

    # ------------------------------------------------------------------ review
    def maybe_review(self, rid: int, approved: int) -> None:
        """Called when a decision is answered while a flag is up."""
        if self.sim.region[rid] != self.flag_group or (approved and not self.review_all):
            return
        case = len(self.case_rid)
        self.case_rid.append(rid)
        for col in (self.case_enter, self.case_start, self.case_end):
            col.append(math.nan)
        cfg = self.sc.fairness
        self.case_svc.append(float(draw(self.review_time_rng, self.sc.review.review_time_dist,
                                        cfg.review_service_s, self.sc.review.review_time_cv, 1)[0]))
        self.case_outcome.append(-1)
        self.case_label.append(int(self.sim.label[rid]))
        self.reviewers.enter_rid(case)

    def _case_done(self, case: int, now: float) -> None:
        rid = self.case_rid[case]
        right = self.review_correct_rng.random() < self.sc.review.reviewer_accuracy
        label = self.case_label[case]
        self.case_outcome[case] = label if right else 1 - label
        verdict = "approved" if self.case_outcome[case] else "rejected"
        self.audit.append((now, "review_decision", "reviewer", f"request {rid}: {verdict}"))

    def shifts_loop(self):
        """Put reviewers on and off duty as the clock moves through the shifts."""
        return staff_shifts(self.env, self.reviewers, self.sc.review, self.sc.start_time_of_day_h, self.headcount)

    # ------------------------------------------------------------------ fairness
    def fairness_loop(self):
        env, sc = self.env, self.sc
        width = sc.fairness.window_s
        while True:
            yield env.timeout(width)
            self._evaluate_window(env.now - width, env.now)

    def _window_decisions(self, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        """Final decisions and groups of requests answered in [t0, t1) (copies: the columns keep growing)."""
        sim = self.sim
        n = sim.n

        def col(values):  # the first n values, without a copy (typed arrays or numpy columns)
            return np.asarray(memoryview(values))[:n]

        arrival = col(sim.arrival_s)
        lo = int(np.searchsorted(arrival, t0 - 600.0))
        end = col(sim.end_s)[lo:]
        outcome = col(sim.outcome)[lo:]
        version = col(sim.version)[lo:]
        mask = (end >= t0) & (end < t1) & (outcome <= 1)
        approve = np.where(version == 2, col(sim.approve_alt)[lo:], col(sim.approve)[lo:])[mask].astype(np.int64)
        groups = col(sim.region)[lo:][mask].astype(np.int64)
        return approve, groups

    def _evaluate_window(self, t0: float, t1: float) -> None:
        sim = self.sim
        approve, groups = self._window_decisions(t0, t1)
        res = self.monitor.evaluate_window(t1, approve, groups)
        self.windows.append(res)
        if res["event"] == "fairness_flagged":
            self.flag_group = self.groups.index(res["worst_group"])
            self.flag_started_s = t1
            sim.events.append((t1, "fairness_flagged", "fairness",
                               f"{res['worst_group']}: approval ratio {res['ratio']:.2f} vs "
                               f"{res['comparison_group']} (95 % CI {res['ratio_ci'][0]:.2f}-{res['ratio_ci'][1]:.2f})"))
            self.audit.append((t1, "fairness_flag", "automation",
                               f"{res['worst_group']} decisions routed to human review"))
        elif res["event"] == "fairness_cleared":
            sim.events.append((t1, "fairness_cleared", "fairness", f"approval ratio back to {res['ratio']:.2f}"))
            self.audit.append((t1, "fairness_clear", "automation", "human review routing ended"))
            self.flag_group = -1
            self.flagged_s += t1 - self.flag_started_s

    # ------------------------------------------------------------------ drift and retraining
    def drift_loop(self):
        env, sc, sim = self.env, self.sc, self.sim
        cfg = sc.retraining
        k = 0
        while self.drift_detected_s is None:
            k += 1
            yield env.timeout(k * cfg.psi_window_s - env.now)
            psi, feature, rows = sim.decisions.psi(k - 1)
            self.psi_series.append((env.now, psi, feature, rows))
            if rows >= cfg.min_samples and psi > cfg.psi_threshold:
                self.drift_detected_s = env.now
                sim.events.append((env.now, "drift_detected", "model", f"PSI {psi:.2f} on {feature.replace('_', ' ')}"))
                self.audit.append((env.now, "retrain_requested", "automation", f"PSI {psi:.2f} on {feature}"))
                env.process(self._retrain())

    def _retrain(self):
        env, sc, sim = self.env, self.sc, self.sim
        cfg = sc.retraining
        sim.events.append((env.now, "retraining_started", "model", f"job of {cfg.duration_s:.0f} s"))
        yield env.timeout(cfg.duration_s)
        model = self._train_on_recent()
        version = _next_version(sc.model.version)
        self.retrained_s = env.now
        self.retrain_cost += cfg.cost_usd
        sim.events.append((env.now, "retraining_finished", "model", f"{version} trained on recent data"))
        self.audit.append((env.now, "retrain", "automation", f"{version} trained on {cfg.training_rows} recent rows"))
        if cfg.require_approval:
            yield env.timeout(cfg.approval_delay_s)
            self.audit.append((env.now, "approve_deploy", "approver", f"{version} approved for release"))
        sim.deploy_new_version(model, version, via_canary=cfg.deploy == "canary" and sim.pool is not None)

    def _train_on_recent(self):
        from simulator.ml.model import fit_arrays, quantize
        from simulator.ml.population import active_drifts, sample_for_groups

        sc, sim = self.sc, self.sim
        rng = sim.rng.get("retraining.data")
        shares = np.array(list(sc.traffic.regions.values()), float)
        groups = rng.choice(len(shares), size=sc.retraining.training_rows, p=shares / shares.sum()).astype(np.int16)
        drifts = active_drifts(sim.decisions.drifts, self.env.now)
        X, y = sample_for_groups(groups, tuple(sc.traffic.regions), sc.population, rng, drifts)
        return quantize(fit_arrays(X, y, sim.decisions.model_cfg), sc.inference.precision)

    # ------------------------------------------------------------------ results
    def flagged_seconds(self) -> float:
        """Total time under a fairness flag, including a flag still up at the end of the run."""
        open_s = self.sc.duration_s - self.flag_started_s if self.flag_group >= 0 else 0.0
        return self.flagged_s + open_s

    def staffing_hint(self) -> int | None:
        """Reviewers needed for the SLA at the case rate observed while flagged (Erlang C)."""
        cases = len(self.case_rid)
        flagged_s = self.flagged_seconds()
        if cases == 0 or flagged_s <= 0:
            return None
        rate = cases / flagged_s
        cfg = self.sc.fairness
        return int(servers_needed_for_sla(rate, cfg.review_service_s, cfg.review_sla_s, cfg.review_sla_fraction))

    def start(self) -> None:
        if self.monitor is not None:
            self.env.process(self.fairness_loop())
            self.env.process(self.shifts_loop())
        if self.sc.retraining.enabled:
            self.env.process(self.drift_loop())


def staff_shifts(env, pool, cfg, start_time_of_day_h: float, headcount: list[tuple[float, int]]):
    """Put reviewers (units of ``pool``) on and off duty as the clock moves through ``cfg.shifts``.

    A SimPy process; ``headcount`` receives (t_s, reviewers on duty) at every shift boundary.
    """
    on_duty: list[int] = []
    while True:
        hour = (start_time_of_day_h + env.now / 3600.0) % 24.0
        want = cfg.headcount_at(hour)
        while len(on_duty) < want:
            on_duty.append(pool.add_unit())
        while len(on_duty) > want:
            pool.drain(on_duty.pop())
        headcount.append((env.now, want))
        # next shift boundary
        bounds = sorted({s for s, _, _ in cfg.shifts} | {e % 24 for _, e, _ in cfg.shifts})
        later = [b for b in bounds if b > hour + 1e-9]
        nxt = (later[0] if later else bounds[0] + 24.0) - hour
        yield env.timeout(max(nxt * 3600.0, 1e-6))


def _next_version(version: str) -> str:
    if version.startswith("v") and version[1:].isdigit():
        return f"v{int(version[1:]) + 1}"
    return version + "-retrained"

