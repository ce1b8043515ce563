"""Review station: the human queue as a component, reviewers on duty by shift, one case at a time each.

A :class:`~simulator.engine.stations.pool.PoolStation` whose units are reviewers; the shift loop
(the same one the fairness review uses) puts them on and off duty at shift boundaries. A reviewer
reaches the right decision (the application's true outcome) with probability
``reviewer_accuracy``, by the request's own uniform draw.
"""
from __future__ import annotations

import numpy as np

from simulator.engine.columns import Columns
from simulator.engine.governance import staff_shifts
from simulator.engine.rng import draw
from simulator.engine.stations.pool import PoolStation


class ReviewStation:
    def __init__(self, env, cid: str, review_cfg, start_time_of_day_h: float, columns, emit, decide):
        self.env = env
        self.cid = cid
        self.cfg = review_cfg
        self.start_h = start_time_of_day_h
        self.columns = columns
        self.emit, self.decide = emit, decide
        self.pool = PoolStation(env, columns, f"{cid}.svc_s", f"{cid}.enter_s", f"{cid}.start_s", f"{cid}.end_s", 0, 1,
                                self._done)
        self.headcount: list[tuple[float, int]] = []

    def start(self) -> None:
        self.env.process(staff_shifts(self.env, self.pool, self.cfg, self.start_h, self.headcount))

    def push(self, rids: np.ndarray, times: np.ndarray) -> None:
        self.pool.push(rids, times)

    def advance(self, t_end: float) -> None:
        self.pool.advance_and_stop(t_end)

    def _done(self, rids: np.ndarray, times: np.ndarray, codes: np.ndarray) -> None:
        c = self.columns
        label = c["label"][rids]
        right = c[f"{self.cid}.correct_u"][rids] < self.cfg.reviewer_accuracy
        self.decide(rids, np.where(right, label, 1 - label).astype(np.int8))
        self.emit(rids, times)


class FlaggedReview:
    """The fairness monitor's review queue on the kernel engine: the flagged group's answered
    decisions, as cases, through the reviewers' pool station between control events.

    The event path's :class:`~simulator.engine.governance.Governance` sends each answered decision
    to ``maybe_review`` as an event of its own and serves the cases on an event pool; here the
    decisions of one interval are filtered in one pass and the cases served by a
    :class:`~simulator.engine.stations.pool.PoolStation`, so a reviewer finishing a case is no
    longer an event the data plane has to stop for. Same rules and random streams, drawn in the
    same order (cases in the order they are opened, verdicts in the order cases finish), so the
    two engines stay bit-identical. Cases fill ``gov.case_*`` (lists, as on the event path).
    """

    def __init__(self, gov, columns):
        self.gov = gov
        self.columns = columns  # the run's per-request columns (region and label are read by request id)
        self.cases = Columns(capacity=1024)
        for name in ("svc_s", "enter_s", "start_s", "end_s"):
            self.cases.add(name, np.float64, 0.0 if name == "svc_s" else np.nan)
        self.pool = PoolStation(gov.env, self.cases, "svc_s", "enter_s", "start_s", "end_s", 0, 1, self._done)
        gov.reviewers = self.pool  # the shift loop puts reviewers on and off duty on this pool

    def enter(self, times: np.ndarray, rids: np.ndarray, approved: np.ndarray) -> None:
        """Decisions answered at ``times`` (in time order) while a flag was up: the flagged group's
        (all of them, or its rejections only) become cases."""
        gov = self.gov
        keep = self.columns["region"][rids] == gov.flag_group
        if not gov.review_all:
            keep &= approved == 0
        if not keep.any():
            return
        rids, times = rids[keep], times[keep]
        k = len(rids)
        rows = self.cases.extend(k)
        review, cfg = gov.sc.review, gov.sc.fairness
        svc = draw(gov.review_time_rng, review.review_time_dist, cfg.review_service_s, review.review_time_cv, k)
        self.cases["svc_s"][rows] = svc
        gov.case_rid += rids.tolist()
        gov.case_svc += svc.tolist()
        gov.case_outcome += [-1] * k
        gov.case_label += self.columns["label"][rids].astype(np.int64).tolist()
        self.pool.push(np.arange(rows.start, rows.stop, dtype=np.int64), times)

    def advance(self, t_end: float) -> None:
        self.pool.advance_and_stop(t_end)

    def _done(self, cases: np.ndarray, times: np.ndarray, codes: np.ndarray) -> None:
        gov = self.gov
        cases, times = cases[codes == 0], times[codes == 0]  # reviewers neither reject nor time out
        right = gov.review_correct_rng.random(len(cases)) < gov.sc.review.reviewer_accuracy
        for case, t, ok in zip(cases.tolist(), times.tolist(), right.tolist()):
            label = gov.case_label[case]
            gov.case_outcome[case] = outcome = label if ok else 1 - label
            verdict = "approved" if outcome else "rejected"
            gov.audit.append((t, "review_decision", "reviewer", f"request {gov.case_rid[case]}: {verdict}"))

    def finish(self) -> None:
        """The cases' times as the event path keeps them (lists indexed by case)."""
        n = self.cases.n
        gov = self.gov
        gov.case_enter = self.cases["enter_s"][:n].tolist()
        gov.case_start = self.cases["start_s"][:n].tolist()
        gov.case_end = self.cases["end_s"][:n].tolist()
