"""Spans for sampled requests, built once from a run's columns (never on the hot path).

Each traced request gets a root span ``request`` and one span per stage it passed through
(``ingestion``, ``feature_store``, ``external_api``, ``inference``), each with its queue wait
and its service as separate child spans. Children are clipped to their parent, so a request
that timed out while a replica kept working ends where the client gave up.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simulator.scenario.config import Scenario


def sampled_ids(sc: Scenario, seed: int, n: int) -> np.ndarray:
    """Head sampling: the same requests are traced for a seed, whatever else changes."""
    if sc.tracing.sample_rate <= 0 or n == 0:
        return np.empty(0, dtype=np.int64)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=seed, spawn_key=(0x7ACE,))))
    return np.nonzero(rng.random(n) < sc.tracing.sample_rate)[0]


def _add(rows: list[tuple], rid: int, name: str, t0: float, t1: float, parent: int, stage: str,
         status: str = "ok") -> int | None:
    """Append a child of row ``parent`` clipped to it; None (nothing added) if the stage was not reached."""
    if math.isnan(t0) or math.isnan(t1):
        return None
    p_start, p_end = rows[parent][4], rows[parent][5]
    t0 = min(max(t0, p_start), p_end)
    t1 = min(max(t1, t0), p_end)
    span_id = rows[-1][1] + 1 if rows and rows[-1][0] == rid else 1
    rows.append((rid, span_id, rows[parent][1], name, t0, t1, status, stage))
    return len(rows) - 1


def _request_spans(sc: Scenario, c: dict[str, np.ndarray], rid: int, rows: list[tuple]) -> None:
    """The root span of one request and a span per stage it passed, with wait and service apart."""
    a = c["arrival_s"][rid]
    end = c["end_s"][rid]
    status = "error" if c["outcome"][rid] == 2 else "ok"
    rows.append((rid, 0, -1, "request", a, end, status, ""))
    base = len(rows) - 1
    t = a
    if sc.ingestion.mode != "direct":
        w, s = c["ing_wait_s"][rid], c["ing_svc_s"][rid]
        stage = _add(rows, rid, "ingestion", t, t + w + s, base, "ingestion")
        if stage is not None:
            _add(rows, rid, "ingestion.wait", t, t + w, stage, "ingestion")
            _add(rows, rid, "ingestion.process", t + w, t + w + s, stage, "ingestion")
        t = t + w + s
    hit = c["fs_hit"][rid]
    if hit >= 0 and t <= end:
        lookup = c["fs_lookup_s"][rid]
        fs_end = t + lookup if hit == 1 else c["db_end_s"][rid]
        stage = _add(rows, rid, "feature_store", t, end if math.isnan(fs_end) else fs_end, base, "feature_store")
        if stage is not None:
            if lookup > 0:
                _add(rows, rid, "feature_store.lookup", t, t + lookup, stage, "feature_store")
            if hit == 0:
                _add(rows, rid, "feature_store.db_wait", c["db_enter_s"][rid], c["db_start_s"][rid], stage,
                     "feature_store")
                _add(rows, rid, "feature_store.db_query", c["db_start_s"][rid], c["db_end_s"][rid], stage,
                     "feature_store")
    t0 = c["api_start_s"][rid]
    if not math.isnan(t0):
        _add(rows, rid, "external_api.call", t0, t0 + c["api_s"][rid], base, "external_api",
             "ok" if c["api_status"][rid] == 0 else "error")
    e0 = c["inf_enter_s"][rid]
    if not math.isnan(e0):
        e1 = c["inf_end_s"][rid]
        stage = _add(rows, rid, "inference", e0, end if math.isnan(e1) else e1, base, "inference", status)
        if stage is not None:
            _add(rows, rid, "inference.queue", e0, c["inf_start_s"][rid], stage, "inference")
            _add(rows, rid, "inference.service", c["inf_start_s"][rid], e1, stage, "inference", status)


def build_spans(sc: Scenario, seed: int, c: dict[str, np.ndarray]) -> pd.DataFrame:
    """Spans frame with columns trace_id, span_id, parent_span_id, name, start_s, end_s, status, stage."""
    n = len(c["arrival_s"])
    ids = sampled_ids(sc, seed, n)
    ids = ids[~np.isnan(c["end_s"][ids])]  # finished requests only
    rows: list[tuple] = []
    for rid in ids.tolist():
        _request_spans(sc, c, rid, rows)
    frame = pd.DataFrame(rows, columns=["trace_id", "span_id", "parent_span_id", "name", "start_s", "end_s",
                                        "status", "stage"])
    return frame
