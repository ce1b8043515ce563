"""Ingestion station: direct (no stage), stream (a consumer group) or batch (released by job triggers).

*stream*: each partition belongs to one consumer (round-robin), each consumer is a FIFO single
server fed by exogenous arrivals, so a message's departure follows from Lindley's recursion
when it is produced (``start = max(free, t); end = start + s``), exactly as on the event path.
*batch*: arrivals wait in ``pending``; the batch trigger loop (a control process) releases them.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def lindley(times, part, proc, owner, free, wait_out, svc_out, end_out, consumer_out):
    """Departures of a consumer group, message by message in arrival order (updates ``free``)."""
    for i in range(len(times)):
        t = times[i]
        c = owner[part[i]]
        start = free[c]
        if start < t:
            start = t
        s = proc[i]
        end = start + s
        free[c] = end
        wait_out[i] = start - t
        svc_out[i] = s
        end_out[i] = end
        consumer_out[i] = c


class IngestionStation:
    """Hands each new chunk of requests on, at the time it leaves ingestion."""

    def __init__(self, sc, columns, emit):
        self.mode = sc.ingestion.mode
        self.columns = columns
        self.emit = emit
        st = sc.ingestion.stream
        self.owner = np.array([p % st.consumers for p in range(st.partitions)], np.int64)
        self.free_s = np.zeros(st.consumers)
        self.batch_pending: list[int] = []

    def push_chunk(self, rows: slice, times: np.ndarray, chunk: dict[str, np.ndarray]) -> None:
        rids = np.arange(rows.start, rows.stop, dtype=np.int64)
        if self.mode == "direct":
            self.emit(rids, times)
        elif self.mode == "stream":
            k = len(times)
            wait, svc, end, consumer = np.empty(k), np.empty(k), np.empty(k), np.empty(k, np.int64)
            lindley(times, chunk["part"].astype(np.int64), chunk["proc"], self.owner, self.free_s, wait, svc, end,
                    consumer)
            self.columns["ing_wait_s"][rows] = wait
            self.columns["ing_svc_s"][rows] = svc
            self.columns["ing_consumer"][rows] = consumer
            self.emit(rids, end)
        else:
            self.batch_pending.extend(range(rows.start, rows.stop))

    def release_batch(self, first: int, release_s: np.ndarray, now: float) -> None:
        """Records ``first, first + 1, ...`` leave the job started at ``now`` at ``release_s``."""
        rows = slice(first, first + len(release_s))
        self.columns["ing_wait_s"][rows] = now - self.columns["arrival_s"][rows]
        self.columns["ing_svc_s"][rows] = release_s - now
        self.emit(np.arange(rows.start, rows.stop, dtype=np.int64), release_s)
