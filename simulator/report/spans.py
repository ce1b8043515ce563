"""Spans for sampled requests, built once from a run's columns, component by component (vectorised).

Each traced request gets a root span ``request`` and one span per component it passed through,
following the scenario's graph: pools (model replicas, the feature store's database, reviewers)
with their queue wait and service as child spans, dependencies as a ``call`` span (client side),
the rules engine as one span. A fan-out gets a parent span ``<source>.fanout`` from the calls'
start to the join, with one child per branch. The chain keeps the names it always had
(``ingestion``, ``feature_store``, ``external_api.call``, ``inference``). Children are clipped to
their parent, so a request that timed out while a replica kept working ends where the client gave
up. Span ids number a request's spans in that order (root 0).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.scenario.config import Scenario

CHAIN_NAMES = {"external_api": "external_api"}  # the chain's dependency span is "external_api.call"


def sampled_ids(sc: Scenario, seed: int, n: int) -> np.ndarray:
    """Head sampling: the same requests are traced for a seed, whatever else changes."""
    if sc.tracing.sample_rate <= 0 or n == 0:
        return np.empty(0, dtype=np.int64)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=seed, spawn_key=(0x7ACE,))))
    return np.nonzero(rng.random(n) < sc.tracing.sample_rate)[0]


class _Spans:
    """Span groups (one name each) for the traced requests, in the order they are added."""

    def __init__(self, rids: np.ndarray):
        self.rids = rids
        self.groups: list[tuple] = []  # (name, mask, t0, t1, error, stage, parent group index)

    def add(self, name: str, t0, t1, stage: str, parent: int, error=None, mask=None) -> int:
        """Add a span per traced request where both ends are known, clipped to its parent's span."""
        t0 = np.asarray(t0, float)
        t1 = np.asarray(t1, float)
        ok = ~np.isnan(t0) & ~np.isnan(t1)
        if mask is not None:
            ok &= mask
        if parent >= 0:
            _, p_ok, p0, p1, *_ = self.groups[parent]
            ok &= p_ok
            t0 = np.minimum(np.maximum(t0, p0), p1)
            t1 = np.minimum(np.maximum(t1, t0), p1)
        err = np.zeros(len(t0), np.bool_) if error is None else np.asarray(error, np.bool_)
        self.groups.append((name, ok, t0, t1, err, stage, parent))
        return len(self.groups) - 1

    def frame(self) -> pd.DataFrame:
        columns = ["trace_id", "span_id", "parent_span_id", "name", "start_s", "end_s", "status", "stage"]
        if not len(self.rids) or not self.groups:
            return pd.DataFrame(columns=columns)
        present = np.array([g[1] for g in self.groups])  # groups x requests
        span_id = np.cumsum(present, axis=0) - 1  # a request's spans are numbered in group order
        parts = []
        for gi, (name, ok, t0, t1, err, stage, parent) in enumerate(self.groups):
            if not ok.any():
                continue
            parent_id = span_id[parent][ok] if parent >= 0 else np.full(int(ok.sum()), -1)
            parts.append(pd.DataFrame({
                "trace_id": self.rids[ok], "span_id": span_id[gi][ok], "parent_span_id": parent_id, "name": name,
                "start_s": t0[ok], "end_s": t1[ok], "status": np.where(err[ok], "error", "ok"), "stage": stage}))
        out = pd.concat(parts, ignore_index=True)
        return out.sort_values(["trace_id", "span_id"], kind="stable", ignore_index=True)


def build_spans(sc: Scenario, seed: int, c: dict[str, np.ndarray], spec: dict | None = None) -> pd.DataFrame:
    """Spans frame with columns trace_id, span_id, parent_span_id, name, start_s, end_s, status, stage."""
    from simulator.engine.dataplane import component_columns

    spec = spec if spec is not None else component_columns(sc)
    n = len(c["arrival_s"])
    ids = sampled_ids(sc, seed, n)
    ids = ids[~np.isnan(c["end_s"][ids])]  # finished requests only
    s = _Spans(ids)
    v = {name: col[ids] for name, col in c.items()}
    a, end = v["arrival_s"], v["end_s"]
    root = s.add("request", a, end, "", -1, error=v["outcome"] == 2)
    chain = sc.topology is None
    branch_of = {b: j for j in spec["joins"] for b in j["branches"]}
    fanouts: dict[str, tuple | int] = {}  # per fan-out source: its span's times, then its group
    for join in spec["joins"]:
        t = np.column_stack([v[col] for col in join["t"]])
        starts = np.column_stack([v[spec["components"][b]["columns"]["start"]] for b in join["branches"]])
        with np.errstate(invalid="ignore"):
            t0 = np.nanmin(np.where(np.isnan(starts), np.inf, starts), axis=1)
            t1 = np.nanmax(np.where(np.isnan(t), -np.inf, t), axis=1)
        t0 = np.where(np.isfinite(t0), t0, np.nan)
        t1 = np.where(np.isfinite(t1), np.maximum(t1, t0), np.nan)
        fanouts[join["source"]] = (t0, t1)
    for cid, entry in spec["components"].items():
        kind, cols = entry["kind"], entry["columns"]
        if kind == "ingestion":
            if sc.ingestion.mode == "direct":
                continue
            w, p = v[cols["wait"]], v[cols["service"]]
            g = s.add(cid, a, a + w + p, cid, root)
            s.add(f"{cid}.wait", a, a + w, cid, g)
            s.add(f"{cid}.process", a + w, a + w + p, cid, g)
        elif kind == "feature_store":
            hit, lookup = v[cols["hit"]], v[cols["lookup"]]
            db0, db1, db2 = v[cols["enter"]], v[cols["start"]], v[cols["end"]]
            after_ingestion = a + v["ing_wait_s"] + v["ing_svc_s"]
            # the chain's store follows ingestion; in a graph a miss tells when it reached the store
            t = after_ingestion if chain else np.where(np.isnan(db0), after_ingestion, db0 - lookup)
            fs_end = np.where(hit == 1, t + lookup, np.where(np.isnan(db2), end, db2))
            g = s.add(cid, t, fs_end, cid, root, mask=(hit >= 0) & (t <= end))
            s.add(f"{cid}.lookup", t, t + lookup, cid, g, mask=lookup > 0)
            s.add(f"{cid}.db_wait", db0, db1, cid, g, mask=hit == 0)
            s.add(f"{cid}.db_query", db1, db2, cid, g, mask=hit == 0)
        elif kind == "dependency":
            t0 = v[cols["start"]]
            parent = root
            if cid in branch_of:
                source = branch_of[cid]["source"]
                if not isinstance(fanouts[source], int):  # the first branch adds the fan-out span
                    f0, f1 = fanouts[source]
                    fanouts[source] = s.add(f"{source}.fanout", f0, f1, source, root)
                parent = fanouts[source]
            s.add(f"{CHAIN_NAMES.get(cid, cid)}.call", t0, t0 + v[cols["dur"]], cid, parent,
                  error=v[cols["status"]] != 0)
        elif kind == "rules":
            t0 = v[cols["enter"]]
            s.add(cid, t0, t0 + entry["cost_s"], cid, root)
        else:  # model or review: a pool
            e0, e1 = v[cols["enter"]], v[cols["end"]]
            error = (v["outcome"] == 2) if kind == "model" else None
            g = s.add(cid, e0, np.where(np.isnan(e1), end, e1), cid, root, error=error)
            s.add(f"{cid}.queue", e0, v[cols["start"]], cid, g)
            s.add(f"{cid}.service", v[cols["start"]], e1, cid, g, error=error)
    return s.frame()
