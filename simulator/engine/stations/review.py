"""Review station: the human queue as a component, reviewers on duty by shift, one case at a time each.

A :class:`~simulator.engine.stations.pool.PoolStation` whose units are reviewers; the shift loop
(the same one the fairness review uses) puts them on and off duty at shift boundaries. A reviewer
reaches the right decision (the application's true outcome) with probability
``reviewer_accuracy``, by the request's own uniform draw.
"""
from __future__ import annotations

import numpy as np

from simulator.engine.governance import staff_shifts
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
        self.pool.advance(t_end)
        for t, unit in self.pool.stops:
            self.pool.apply_stop(t, unit)
        self.pool.stops.clear()

    def _done(self, rids: np.ndarray, times: np.ndarray, codes: np.ndarray) -> None:
        c = self.columns
        label = c["label"][rids]
        right = c[f"{self.cid}.correct_u"][rids] < self.cfg.reviewer_accuracy
        self.decide(rids, np.where(right, label, 1 - label).astype(np.int8))
        self.emit(rids, times)
