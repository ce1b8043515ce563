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
from numba import njit


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


@njit(cache=True)
def _kth_smallest(values, n, k):
    """The k-th smallest of the first n values (inf when there are fewer than k); sorts them in place
    (by insertion: a join has a handful of branches, where a general sort costs more than it sorts)."""
    if k > n or k < 1:
        return np.inf
    for i in range(1, n):
        x = values[i]
        j = i - 1
        while j >= 0 and values[j] > x:
            values[j + 1] = values[j]
            j -= 1
        values[j + 1] = x
    return values[k - 1]


@njit(cache=True)
def resolve_joins(rids, t_cols, state_cols, fb_cols, k, t_end, when, verdict, fb_code):
    """Per request: verdict 0 (wait), 1 (k real answers), 2 (degraded), 3 (failed), at ``when``."""
    n = len(t_cols)
    real = np.empty(n)
    not_real = np.empty(n)
    answers = np.empty(n)
    failed = np.empty(n)
    for r in range(len(rids)):
        rid = rids[r]
        nr = nn = na = nf = 0
        reported = 0
        code = 0
        for i in range(n):
            st = state_cols[i][rid]
            t = t_cols[i][rid]
            if st != PENDING:
                reported += 1
            if st == ANSWERED:
                real[nr] = t
                nr += 1
                answers[na] = t
                na += 1
            elif st == DEGRADED:
                not_real[nn] = t
                nn += 1
                answers[na] = t
                na += 1
                c = fb_cols[i][rid]
                c = c if c != 0 else 3  # a fallback component answered
                if c > code:
                    code = c
            elif st == FAILED:
                not_real[nn] = t
                nn += 1
                failed[nf] = t
                nf += 1
        v = 0
        w = np.inf
        t_real = _kth_smallest(real, nr, k)
        if np.isfinite(t_real):
            v, w = 1, t_real
        else:
            t_impossible = _kth_smallest(not_real, nn, n - k + 1)
            t_answers = _kth_smallest(answers, na, k)
            if np.isfinite(t_impossible) and np.isfinite(t_answers):
                v, w = 2, t_impossible if t_impossible > t_answers else t_answers
            else:
                t_fail = _kth_smallest(failed, nf, n - k + 1)
                if np.isfinite(t_fail):
                    v, w = 3, t_fail
        if v and not (w < t_end or reported == n):
            v = 0
        verdict[r] = v
        when[r] = w
        fb_code[r] = code


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
        m = len(rids)
        when, verdict, fb_code = np.empty(m), np.empty(m, np.int8), np.empty(m, np.int8)
        resolve_joins(rids, tuple(c[col] for col in self.t_cols), tuple(c[col] for col in self.state_cols),
                      tuple(c[col] for col in self.degraded_columns), self.k, t_end, when, verdict, fb_code)
        deg = verdict == 2
        if deg.any():  # the request's fallback: cached (1), default (2) or a fallback component (3)
            self.mark_degraded(rids[deg], fb_code[deg])
        go = (verdict == 1) | deg
        if go.any():
            order = np.argsort(when[go], kind="stable")
            self.go_on(rids[go][order], when[go][order])
        bad = verdict == 3
        if bad.any():
            self.fail(rids[bad], when[bad], self.fail_reason)
        self.pending = rids[verdict == 0]
