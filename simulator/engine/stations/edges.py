"""How requests move between stations of a graph: routes by share or condition, fan-outs and their joins.

*Route by share*: the request's own uniform draw picks branch ``i`` when it falls in
``[s_1 + ... + s_{i-1}, s_1 + ... + s_i)``; above the total it matches no branch and is decided
where it is. *Route by condition*: branches are tried in order, the first whose condition holds
takes the request (segment and region from the request; confidence ``max(p, 1 - p)`` of the
source model's own score).

*Fan-out and join*: the request calls every branch at once; the join continues it at the ``k``-th
real answer (``k`` = all branches for ``join: all``), uses fallback answers only when ``k`` real
ones have become impossible (the answer is then degraded), and fails it when not even ``k``
answers are possible. The join decides once the outcome cannot change any more: all branches
have reported, or the deciding time lies before the end of the interval just processed (every
branch has reported whatever happens before that).
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


PENDING, ANSWERED, FAILED, DEGRADED = 0, 1, 2, 3


def _kth(values: np.ndarray, k: int) -> np.ndarray:
    """The k-th smallest value per row (inf where a row has fewer than k finite values)."""
    if k > values.shape[1]:
        return np.full(values.shape[0], np.inf)
    return np.sort(values, axis=1)[:, k - 1]


class Join:
    """A fan-out to ``branches`` joined by the first ``k`` answers; per-branch state lives in columns.

    Real answers come first: the join continues at the ``k``-th real answer. Only when ``k`` real
    answers have become impossible (more than ``n - k`` branches failed) does it use the fallback
    answers of failed branches (a cached or default answer, or a fallback component): it then
    continues, degraded, once ``k`` answers of either kind are in; with fewer than ``k`` possible
    it fails the request at the failure that made it so.
    """

    def __init__(self, name: str, branches: list[str], k: int, columns, degraded_columns: list[str | None],
                 go_on, fail, fail_reason: int, mark_degraded):
        self.name = name
        self.branches = branches
        self.k = k
        self.columns = columns
        self.t_cols = [f"{name}.{b}.t_s" for b in branches]
        self.state_cols = [f"{name}.{b}.state" for b in branches]
        self.degraded_columns = degraded_columns  # each branch dependency's own fallback column
        self.go_on, self.fail, self.fail_reason, self.mark_degraded = go_on, fail, fail_reason, mark_degraded
        self.pending = np.zeros(0, np.int64)
        self.branch_push: list = []

    def column_specs(self) -> list[tuple[str, type, float]]:
        return [(c, np.float64, np.nan) for c in self.t_cols] + [(c, np.int8, PENDING) for c in self.state_cols]

    def fan_out(self, rids: np.ndarray, times: np.ndarray) -> None:
        self.pending = np.concatenate([self.pending, rids])
        for push in self.branch_push:
            push(rids, times)

    def answer(self, i: int, via_fallback: bool = False):
        """A branch's answers: real, or (own cached/default fallback, fallback component) degraded."""
        t_col, s_col, fb_col = self.t_cols[i], self.state_cols[i], self.degraded_columns[i]

        def record(rids: np.ndarray, times: np.ndarray) -> None:
            c = self.columns
            c[t_col][rids] = times
            if via_fallback:
                c[s_col][rids] = DEGRADED
            else:
                c[s_col][rids] = np.where(c[fb_col][rids] != 0, DEGRADED, ANSWERED)
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
        n, k = len(self.branches), self.k
        real = np.where(state == ANSWERED, t, np.inf)
        not_real = np.where((state == FAILED) | (state == DEGRADED), t, np.inf)
        answers = np.where((state == ANSWERED) | (state == DEGRADED), t, np.inf)
        failed = np.where(state == FAILED, t, np.inf)
        t_real = _kth(real, k)                      # k real answers
        t_impossible = _kth(not_real, n - k + 1)    # k real answers can no longer happen
        t_degraded = np.maximum(t_impossible, _kth(answers, k))
        t_fail = _kth(failed, n - k + 1)            # not even k answers with fallbacks
        ok = np.isfinite(t_real)
        deg = ~ok & np.isfinite(t_impossible) & np.isfinite(t_degraded)
        bad = ~ok & ~deg & np.isfinite(t_fail)
        when = np.where(ok, t_real, np.where(deg, t_degraded, t_fail))
        final = (when < t_end) | (state != PENDING).all(axis=1)
        ok, deg, bad = ok & final, deg & final, bad & final
        if deg.any():  # the request's fallback: cached (1), default (2) or a fallback component (3)
            d_rids = rids[deg]
            codes = np.column_stack([np.where(state[deg, i] == DEGRADED, np.where(c[col][d_rids] != 0,
                                                                                 c[col][d_rids], 3), 0)
                                     for i, col in enumerate(self.degraded_columns)])
            self.mark_degraded(d_rids, codes.max(axis=1))
        go = ok | deg
        if go.any():
            order = np.argsort(when[go], kind="stable")
            self.go_on(rids[go][order], when[go][order])
        if bad.any():
            self.fail(rids[bad], when[bad], self.fail_reason)
        self.pending = rids[~(go | bad)]
