"""How requests move between stations of a graph: routes by share or condition, fan-outs and their joins.

*Route by share*: the request's own uniform draw picks branch ``i`` when it falls in
``[s_1 + ... + s_{i-1}, s_1 + ... + s_i)``; above the total it matches no branch and is decided
where it is. *Route by condition*: branches are tried in order, the first whose condition holds
takes the request (segment and region from the request; confidence ``max(p, 1 - p)`` of the
source model's own score).

*Fan-out and join*: the request calls every branch at once; the join continues it at the ``k``-th
answer (``k`` = all branches for ``join: all``) and fails it at the failure that leaves fewer than
``k`` possible answers. A branch answers when its call (or its own cached/default fallback, or
its fallback component) answers. The join decides once the outcome cannot change any more: all
branches have reported, or the deciding time lies before the end of the interval just processed
(every branch has reported whatever happens before that). The answer is degraded when one of the
``k`` answers it used was a fallback.
"""
from __future__ import annotations

import numpy as np


class ShareRouter:
    def __init__(self, u_column: str, shares: list[float], targets: list, columns, unmatched):
        self.u_column = u_column
        self.cum = np.cumsum(shares)
        self.targets = targets
        self.columns = columns
        self.unmatched = unmatched

    def push(self, rids: np.ndarray, times: np.ndarray) -> None:
        branch = np.searchsorted(self.cum, self.columns[self.u_column][rids], side="right")
        for i, push in enumerate(self.targets):
            take = branch == i
            if take.any():
                push(rids[take], times[take])
        rest = branch == len(self.targets)
        if rest.any():
            self.unmatched(rids[rest], times[rest])


class ConditionRouter:
    """Branches tried in order; ``conditions`` are functions rids -> bool mask."""

    def __init__(self, conditions: list, targets: list, unmatched):
        self.conditions, self.targets, self.unmatched = conditions, targets, unmatched

    def push(self, rids: np.ndarray, times: np.ndarray) -> None:
        left = np.ones(len(rids), np.bool_)
        for cond, push in zip(self.conditions, self.targets):
            take = left & cond(rids)
            if take.any():
                push(rids[take], times[take])
                left &= ~take
        if left.any():
            self.unmatched(rids[left], times[left])


def condition(when, columns, segments: list[str], regions: list[str], confidence_column: str | None):
    """A mask function for one route condition (every part given must hold)."""
    seg = np.array([s in when.segment for s in segments]) if when.segment else None
    reg = np.array([r in when.region for r in regions]) if when.region else None
    below = when.confidence_below

    def holds(rids: np.ndarray) -> np.ndarray:
        ok = np.ones(len(rids), np.bool_)
        if seg is not None:
            ok &= seg[columns["segment"][rids]]
        if reg is not None:
            ok &= reg[columns["region"][rids]]
        if below is not None:
            p = columns[confidence_column][rids]
            ok &= np.maximum(p, 1.0 - p) < below
        return ok

    return holds


PENDING, ANSWERED, FAILED = 0, 1, 2


class Join:
    """A fan-out to ``branches`` joined by the first ``k`` answers; per-branch state lives in columns."""

    def __init__(self, name: str, branches: list[str], k: int, columns, degraded_columns: list[str | None],
                 go_on, fail, fail_reason: int, mark_degraded):
        self.name = name
        self.branches = branches
        self.k = k
        self.columns = columns
        self.t_cols = [f"{name}.{b}.t_s" for b in branches]
        self.state_cols = [f"{name}.{b}.state" for b in branches]
        self.via_cols = [f"{name}.{b}.via_fallback" for b in branches]
        self.degraded_columns = degraded_columns  # each branch dependency's own fallback column
        self.go_on, self.fail, self.fail_reason, self.mark_degraded = go_on, fail, fail_reason, mark_degraded
        self.pending = np.zeros(0, np.int64)
        self.branch_push: list = []

    def column_specs(self) -> list[tuple[str, type, float]]:
        return ([(c, np.float64, np.nan) for c in self.t_cols] + [(c, np.int8, PENDING) for c in self.state_cols]
                + [(c, np.int8, 0) for c in self.via_cols])

    def fan_out(self, rids: np.ndarray, times: np.ndarray) -> None:
        self.pending = np.concatenate([self.pending, rids])
        for push in self.branch_push:
            push(rids, times)

    def answer(self, i: int, via_fallback: bool = False):
        t_col, s_col, v_col = self.t_cols[i], self.state_cols[i], self.via_cols[i]

        def record(rids: np.ndarray, times: np.ndarray) -> None:
            self.columns[t_col][rids] = times
            self.columns[s_col][rids] = ANSWERED
            if via_fallback:
                self.columns[v_col][rids] = 1
        return record

    def failure(self, i: int):
        t_col, s_col = self.t_cols[i], self.state_cols[i]

        def record(rids: np.ndarray, times: np.ndarray, reason=None) -> None:
            self.columns[t_col][rids] = times
            self.columns[s_col][rids] = FAILED
        return record

    def resolve(self, t_end: float) -> None:
        rids = self.pending
        if not len(rids):
            return
        c = self.columns
        t = np.column_stack([c[col][rids] for col in self.t_cols])
        state = np.column_stack([c[col][rids] for col in self.state_cols])
        n = len(self.branches)
        ans = np.where(state == ANSWERED, t, np.inf)
        order = np.argsort(ans, axis=1, kind="stable")
        ans_sorted = np.take_along_axis(ans, order, axis=1)
        t_ok = ans_sorted[:, self.k - 1]
        fails = np.sort(np.where(state == FAILED, t, np.inf), axis=1)
        t_fail = fails[:, n - self.k]
        all_reported = (state != PENDING).all(axis=1)
        ok = (t_ok <= t_fail) & ((t_ok < t_end) | all_reported) & np.isfinite(t_ok)
        bad = (t_fail < t_ok) & ((t_fail < t_end) | all_reported)
        if ok.any():
            used = order[ok, :self.k]  # the branches whose answers the join used
            deg = np.zeros((int(ok.sum()), n), np.bool_)
            for i, col in enumerate(self.degraded_columns):
                deg[:, i] = c[self.via_cols[i]][rids[ok]] != 0
                if col is not None:
                    deg[:, i] |= c[col][rids[ok]] != 0
            degraded = np.take_along_axis(deg, used, axis=1).any(axis=1)
            if degraded.any():
                self.mark_degraded(rids[ok][degraded])
            go = np.argsort(t_ok[ok], kind="stable")
            self.go_on(rids[ok][go], t_ok[ok][go])
        if bad.any():
            self.fail(rids[bad], t_fail[bad], self.fail_reason)
        self.pending = rids[~(ok | bad)]
