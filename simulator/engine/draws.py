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


class ComponentDraws:
    """Per-request variates of a graph's components beyond the first dependency and model.

    Each component draws from streams named after its id (``"bureau.latency"``), so adding a
    component never shifts another's numbers. ``add_*`` declare what a component needs; ``chunk``
    draws it for a chunk of requests: per-request columns, and per-retry blocks (``retries``
    values per request, row-major) under the component's own retry store.
    """

    def __init__(self, rng: RandomStreams):
        self.rng = rng
        self._per_request: list[tuple[str, np.random.Generator, tuple]] = []
        self._per_retry: list[tuple[str, str, int, np.random.Generator, tuple]] = []

    def _add(self, column: str, stream: str, how: tuple) -> None:
        self._per_request.append((column, self.rng.get(stream), how))

    def add_dependency(self, cid: str, cfg) -> None:
        lat = ("draw", cfg.latency_dist, cfg.latency_ms / 1000, cfg.latency_cv)
        self._add(f"{cid}.lat_s", f"{cid}.latency", lat)
        self._add(f"{cid}.err_u", f"{cid}.error", ("uniform",))
        if cfg.retry.enabled and cfg.retry.max_attempts > 1:
            r = cfg.retry.max_attempts - 1
            for column, stream, how in ((f"{cid}.retry_lat_s", f"{cid}.retry_latency", lat),
                                        (f"{cid}.retry_err_u", f"{cid}.retry_error", ("uniform",)),
                                        (f"{cid}.jitter_u", f"{cid}.jitter", ("uniform",))):
                self._per_retry.append((cid, column, r, self.rng.get(stream), how))

    def add_model(self, cid: str, cfg) -> None:
        self._add(f"{cid}.svc_s", f"{cid}.service", ("draw", cfg.service_dist, cfg.service_ms / 1000, cfg.service_cv))
        self._add(f"{cid}.route_u", f"{cid}.canary_route", ("uniform",))
        self._add(f"{cid}.err_u", f"{cid}.model_error", ("uniform",))

    def add_rules(self, cid: str) -> None:
        self._add(f"{cid}.settle_u", f"{cid}.settle", ("uniform",))
        self._add(f"{cid}.right_u", f"{cid}.right", ("uniform",))

    def add_review(self, cid: str, review, mean_s: float) -> None:
        self._add(f"{cid}.svc_s", f"{cid}.review_time", ("draw", review.review_time_dist, mean_s, review.review_time_cv))
        self._add(f"{cid}.correct_u", f"{cid}.correct", ("uniform",))

    def add_route(self, source: str) -> None:
        self._add(f"route.{source}.u", f"route.{source}", ("uniform",))

    @staticmethod
    def _draw(g: np.random.Generator, how: tuple, n: int) -> np.ndarray:
        return g.random(n) if how[0] == "uniform" else draw(g, *how[1:], n)

    def chunk(self, k: int) -> tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]]]:
        """(per-request columns, {component: per-retry columns}) for ``k`` new requests."""
        columns = {name: self._draw(g, how, k) for name, g, how in self._per_request}
        retries: dict[str, dict[str, np.ndarray]] = {}
        for cid, name, r, g, how in self._per_retry:
            retries.setdefault(cid, {})[name] = self._draw(g, how, k * r)
        return columns, retries
