"""Rules station: a fixed-cost decision step that settles a share of the requests it sees on its own.

Arithmetic, block by block: a request leaves ``cost_ms`` after it arrives; with its own uniform
draw below ``settle_share`` the rules decide it and it ends there; the others go on along the
component's edges. The cases rules settle are the obvious ones: with a second draw below
``accuracy`` the decision is the application's true outcome, else the opposite. Rules without
components after them decide every request.
"""
from __future__ import annotations

import numpy as np


class RulesStation:
    def __init__(self, cid: str, cfg, columns, emit, decide, end, settles_all: bool):
        self.cid = cid
        self.cost_s = cfg.cost_ms / 1000.0
        self.settle_share = 1.0 if settles_all else cfg.settle_share
        self.accuracy = cfg.accuracy
        self.columns = columns
        self.emit, self.decide, self.end = emit, decide, end

    def push(self, rids: np.ndarray, times: np.ndarray) -> None:
        c, cid = self.columns, self.cid
        c[f"{cid}.enter_s"][rids] = times
        out = times + self.cost_s
        settled = c[f"{cid}.settle_u"][rids] < self.settle_share
        if settled.any():
            s_rids = rids[settled]
            label = c["label"][s_rids]
            right = c[f"{cid}.right_u"][s_rids] < self.accuracy
            self.decide(s_rids, np.where(right, label, 1 - label).astype(np.int8))
            self.end(s_rids, out[settled])
        if not settled.all():
            self.emit(rids[~settled], out[~settled])
