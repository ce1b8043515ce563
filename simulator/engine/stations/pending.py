"""Requests on their way to a station: (id, time they arrive, one flag), handed out in time order.

Each pushed block is kept as a sorted run (sorted stably, so requests arriving at the same time
keep the order they were sent in); a block that starts no earlier than the newest run ends is
appended to it. ``take_before(t)`` takes each run's prefix before ``t`` and merges them by time,
older runs first on ties, so a station sees its arrivals exactly in (time, sending order).
A large run that is consumed slowly (a batch job's releases) is never re-sorted.
"""
from __future__ import annotations

import numpy as np

_NONE = (np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.bool_))


class _Run:
    __slots__ = ("flag", "head", "rid", "t")

    def __init__(self, rid: np.ndarray, t: np.ndarray, flag: np.ndarray):
        self.rid, self.t, self.flag = rid, t, flag
        self.head = 0


class Pending:
    """A time-ordered buffer of (rid, t_s, flag) in sorted runs."""

    def __init__(self):
        self.runs: list[_Run] = []

    def __len__(self) -> int:
        return sum(len(r.t) - r.head for r in self.runs)

    def push(self, rids: np.ndarray, times: np.ndarray, flag: bool = False) -> None:
        k = len(rids)
        if not k:
            return
        rids = np.asarray(rids, np.int64)
        times = np.asarray(times, np.float64)
        if k > 1 and np.any(times[1:] < times[:-1]):
            order = np.argsort(times, kind="stable")
            rids, times = rids[order], times[order]
        flags = np.full(k, flag, np.bool_)
        runs = self.runs
        if runs and runs[-1].t[-1] <= times[0]:
            last = runs[-1]
            h = last.head
            last.rid = np.concatenate([last.rid[h:], rids])
            last.t = np.concatenate([last.t[h:], times])
            last.flag = np.concatenate([last.flag[h:], flags])
            last.head = 0
        else:
            runs.append(_Run(rids, times, flags))

    def earliest(self) -> float:
        """Time of the earliest request waiting (inf when none)."""
        return min((run.t[run.head] for run in self.runs), default=np.inf)

    def take_before(self, t_end: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Remove and return the requests arriving strictly before ``t_end``, in (time, sending) order."""
        if not self.runs:
            return _NONE
        pieces = []
        keep = []
        for run in self.runs:
            h = run.head
            k = int(np.searchsorted(run.t[h:], t_end, side="left"))
            if k:
                pieces.append((run.rid[h:h + k], run.t[h:h + k], run.flag[h:h + k]))
                run.head = h + k
            if run.head < len(run.t):
                keep.append(run)
        self.runs = keep
        if not pieces:
            return _NONE
        if len(pieces) == 1:
            return pieces[0]
        rid, t, flag = (np.concatenate(x) for x in zip(*pieces))
        order = np.argsort(t, kind="stable")
        return rid[order], t[order], flag[order]
