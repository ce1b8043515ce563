"""Every random number a request needs, drawn per request in blocks when it is generated.

Both engines (the event path in :mod:`simulator.engine.simulation` and the station kernels in
:mod:`simulator.engine.kernel`) call :meth:`RequestDraws.chunk` for each chunk of arrivals, so
they consume every named stream identically and give a request the same work whatever order
the stations process it in. That includes the retries of a dependency call: each request
carries its own latency, error draw and jitter per possible retry (``max_attempts - 1`` each),
drawn up front, instead of popping them from a shared buffer in processing order.
"""
from __future__ import annotations

import numpy as np

from simulator.engine.rng import RandomStreams, categorical, draw
from simulator.scenario.config import Scenario

FS_OFF, FS_MISS, FS_HIT = -1, 0, 1


class RequestDraws:
    """Per-request variates of one run, chunk by chunk, each from its own named stream."""

    def __init__(self, scenario: Scenario, rng: RandomStreams):
        self.sc = scenario
        r = rng.get
        self.g_seg, self.g_reg = r("traffic.segment"), r("traffic.region")
        self.g_proc, self.g_part = r("ingestion.process"), r("ingestion.partition")
        self.g_hit, self.g_look = r("feature_store.hit"), r("feature_store.lookup")
        self.g_db, self.g_api, self.g_api_err = r("feature_store.db_query"), r("external_api.latency"), r(
            "external_api.error")
        self.g_inf, self.g_route, self.g_model = r("inference.service"), r("canary.route"), r("inference.model_error")
        api = scenario.external_api
        self.retries = api.retry.max_attempts - 1 if api.retry.enabled else 0
        if self.retries:
            self.g_retry_lat, self.g_retry_err = r("external_api.retry_latency"), r("external_api.retry_error")
            self.g_jitter = r("external_api.jitter")

    def chunk(self, times: np.ndarray) -> dict[str, np.ndarray]:
        """Columns for ``len(times)`` new requests (decisions excluded: see Decisions.chunk)."""
        sc = self.sc
        k = len(times)
        st, fs, api, inf = sc.ingestion.stream, sc.feature_store, sc.external_api, sc.inference
        out: dict[str, np.ndarray] = {
            "segment": categorical(self.g_seg, sc.traffic.segments, k),
            "region": categorical(self.g_reg, sc.traffic.regions, k),
        }
        if sc.ingestion.mode == "stream":
            out["proc"] = draw(self.g_proc, st.process_dist, st.process_ms / 1000, st.process_cv, k)
            out["part"] = self.g_part.integers(0, st.partitions, k)
        hit_u = self.g_hit.random(k)
        lookup = draw(self.g_look, fs.lookup_dist, fs.lookup_ms / 1000, fs.lookup_cv, k)
        if fs.mode == "off":
            fs_hit = np.full(k, FS_OFF, dtype=np.int64)
            lookup = np.zeros(k)
        elif fs.mode == "compute":
            fs_hit = np.full(k, FS_MISS, dtype=np.int64)
            lookup = np.zeros(k)
        else:
            fs_hit = (hit_u < fs.hit_ratio).astype(np.int64)
        out["fs_hit"] = fs_hit
        out["fs_lookup_s"] = lookup
        out["db_svc_s"] = draw(self.g_db, fs.db_query_dist, fs.db_query_ms / 1000, fs.db_query_cv, k)
        out["api_lat_s"] = draw(self.g_api, api.latency_dist, api.latency_ms / 1000, api.latency_cv, k)
        out["api_err_u"] = self.g_api_err.random(k)
        out["inf_svc_s"] = draw(self.g_inf, inf.service_dist, inf.service_ms / 1000, inf.service_cv, k)
        out["route_u"] = self.g_route.random(k)
        out["model_err_u"] = self.g_model.random(k)
        if self.retries:
            m = k * self.retries  # row-major: request, then retry number
            out["retry_lat_s"] = draw(self.g_retry_lat, api.latency_dist, api.latency_ms / 1000, api.latency_cv, m)
            out["retry_err_u"] = self.g_retry_err.random(m)
            out["jitter_u"] = self.g_jitter.random(m)
        return out
