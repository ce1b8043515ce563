"""Spans for sampled requests, built once from a run's columns (never on the hot path).

Each traced request gets a root span ``request`` and one span per stage it passed through
(``ingestion``, ``feature_store``, ``external_api``, ``inference``), each with its queue wait
and its service as separate child spans. Children are clipped to their parent, so a request
that timed out while a replica kept working ends where the client gave up.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.config import Scenario


def sampled_ids(sc: Scenario, seed: int, n: int) -> np.ndarray:
    """Head sampling: the same requests are traced for a seed, whatever else changes."""
    if sc.tracing.sample_rate <= 0 or n == 0:
        return np.empty(0, dtype=np.int64)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=seed, spawn_key=(0x7ACE,))))
    return np.nonzero(rng.random(n) < sc.tracing.sample_rate)[0]


def build_spans(sc: Scenario, seed: int, c: dict[str, np.ndarray]) -> pd.DataFrame:
    """Spans frame with columns trace_id, span_id, parent_span_id, name, start_s, end_s, status, stage."""
    n = len(c["arrival_s"])
    ids = sampled_ids(sc, seed, n)
    ids = ids[~np.isnan(c["end_s"][ids])]  # finished requests only
    rows: list[tuple] = []
    for rid in ids.tolist():
        a = c["arrival_s"][rid]
        end = c["end_s"][rid]
        status = "error" if c["outcome"][rid] == 2 else "ok"
        sid = 0
        rows.append((rid, sid, -1, "request", a, end, status, ""))
        root = sid

        def span(name, t0, t1, parent, stage, st="ok"):
            nonlocal sid
            if not (t0 == t0 and t1 == t1):  # NaN: the stage was not reached
                return None
            p_end = rows[parent][5] if parent != -1 else end
            p_start = rows[parent][4]
            t0 = min(max(t0, p_start), p_end)
            t1 = min(max(t1, t0), p_end)
            sid += 1
            rows.append((rid, sid, rows[parent][1], name, t0, t1, st, stage))
            return len(rows) - 1

        base = len(rows) - 1
        t = a
        if sc.ingestion.mode != "direct":
            w, s = c["ing_wait_s"][rid], c["ing_svc_s"][rid]
            stage = span("ingestion", t, t + w + s, base, "ingestion")
            if stage is not None:
                span("ingestion.wait", t, t + w, stage, "ingestion")
                span("ingestion.process", t + w, t + w + s, stage, "ingestion")
            t = t + w + s
        hit = c["fs_hit"][rid]
        if hit >= 0 and t <= end:
            lookup = c["fs_lookup_s"][rid]
            fs_end = t + lookup if hit == 1 else c["db_end_s"][rid]
            stage = span("feature_store", t, fs_end if fs_end == fs_end else end, base, "feature_store")
            if stage is not None:
                if lookup > 0:
                    span("feature_store.lookup", t, t + lookup, stage, "feature_store")
                if hit == 0:
                    span("feature_store.db_wait", c["db_enter_s"][rid], c["db_start_s"][rid], stage, "feature_store")
                    span("feature_store.db_query", c["db_start_s"][rid], c["db_end_s"][rid], stage, "feature_store")
        t0 = c["api_start_s"][rid]
        if t0 == t0:
            api_status = c["api_status"][rid]
            span("external_api.call", t0, t0 + c["api_s"][rid], base, "external_api",
                 "ok" if api_status == 0 else "error")
        e0 = c["inf_enter_s"][rid]
        if e0 == e0:
            stage = span("inference", e0, c["inf_end_s"][rid] if c["inf_end_s"][rid] == c["inf_end_s"][rid] else end,
                         base, "inference", status)
            if stage is not None:
                span("inference.queue", e0, c["inf_start_s"][rid], stage, "inference")
                span("inference.service", c["inf_start_s"][rid], c["inf_end_s"][rid], stage, "inference", status)
        _ = root
    frame = pd.DataFrame(rows, columns=["trace_id", "span_id", "parent_span_id", "name", "start_s", "end_s",
                                        "status", "stage"])
    return frame
