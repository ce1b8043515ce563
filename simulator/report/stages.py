"""The chain's per-stage times in milliseconds, computed from a run's columns when they are needed.

The requests frame has these columns (but not ``request_id``, its row index, nor ``latency_ms``,
``end_s - arrival_s``: :func:`with_derived_columns` adds them where people read them); the summary, the timeseries and "where did the time go"
compute them from the run's columns instead (for the rows they need), so no per-request table has
to exist for them and the summary-only path never builds one. A missing value means the request
did not pass the stage (0 ms for the database on a cache hit, NaN for a model never reached).
"""
from __future__ import annotations

import numpy as np

# category names of the request columns' codes (requests frame)
OUTCOMES = ["ok", "degraded", "failed", "in_flight"]
REASONS = ["none", "rejected", "timeout", "api_error", "feature_db_error", "replica_crash", "model_error",
           "component_outage"]
API_STATUS = ["ok", "error", "timeout", "rejected_by_breaker", "not_called"]
FALLBACKS = ["none", "cached", "default", "component"]
STAGE_MS = ("ingestion_wait_ms", "ingestion_service_ms", "feature_store_wait_ms", "feature_store_service_ms",
            "external_api_service_ms", "inference_wait_ms", "inference_service_ms")


def request_latency_ms(requests) -> np.ndarray:
    """Each request's end-to-end latency (ms; NaN while in flight), derived from a requests frame's
    ``arrival_s`` and ``end_s`` (the frame does not store it; frames kept before that carry it)."""
    if "latency_ms" in requests:
        return requests["latency_ms"].to_numpy()
    return (requests["end_s"].to_numpy() - requests["arrival_s"].to_numpy()) * 1000.0


def with_derived_columns(requests):
    """A requests frame with the columns derived from others, where people read them (exports):
    ``request_id`` (the row's index: requests are numbered by arrival) first, ``latency_ms`` after
    ``end_s``."""
    out = requests.copy()
    if "request_id" not in out:
        out.insert(0, "request_id", out.index.to_numpy())
    if "latency_ms" not in out and "end_s" in out:
        out.insert(out.columns.get_loc("end_s") + 1, "latency_ms", request_latency_ms(requests))
    return out


def stage_ms(c: dict[str, np.ndarray], name: str, rows=slice(None)) -> np.ndarray:
    """Column ``name`` of the requests frame for ``rows`` (a slice, mask or index), as a new array."""
    if name == "ingestion_wait_ms":
        out = c["ing_wait_s"][rows] * 1000.0
    elif name == "ingestion_service_ms":
        out = c["ing_svc_s"][rows] * 1000.0
    elif name == "feature_store_wait_ms":
        out = np.subtract(c["db_start_s"][rows], c["db_enter_s"][rows])
        np.nan_to_num(out, copy=False, nan=0.0)
        out *= 1000.0
    elif name == "feature_store_service_ms":
        out = np.subtract(c["db_end_s"][rows], c["db_start_s"][rows])
        np.nan_to_num(out, copy=False, nan=0.0)
        np.add(out, c["fs_lookup_s"][rows], out=out, where=c["fs_hit"][rows] >= 0)
        out *= 1000.0
    elif name == "external_api_service_ms":
        out = c["api_s"][rows] * 1000.0
    elif name == "inference_wait_ms":
        out = np.subtract(c["inf_start_s"][rows], c["inf_enter_s"][rows])
        out *= 1000.0
    elif name == "inference_service_ms":
        out = np.subtract(c["inf_end_s"][rows], c["inf_start_s"][rows])
        out *= 1000.0
    else:
        raise KeyError(name)
    return out


def stage_ms_in_place(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The frame's stage columns, reusing the run's arrays (their seconds are gone afterwards).

    Only ``inference_service_ms`` needs a new array: both its inputs stay in the frame.
    """
    out = {}
    for src, name in (("ing_wait_s", "ingestion_wait_ms"), ("ing_svc_s", "ingestion_service_ms"),
                      ("api_s", "external_api_service_ms")):
        a = c.pop(src)
        a *= 1000.0
        out[name] = a
    out["inference_service_ms"] = stage_ms(c, "inference_service_ms")
    wait = c.pop("inf_enter_s")
    np.subtract(c["inf_start_s"], wait, out=wait)
    wait *= 1000.0
    out["inference_wait_ms"] = wait
    enter, start, end = c.pop("db_enter_s"), c.pop("db_start_s"), c.pop("db_end_s")
    np.subtract(start, enter, out=enter)
    np.nan_to_num(enter, copy=False, nan=0.0)
    enter *= 1000.0
    out["feature_store_wait_ms"] = enter
    np.subtract(end, start, out=end)
    del start
    np.nan_to_num(end, copy=False, nan=0.0)
    np.add(end, c.pop("fs_lookup_s"), out=end, where=c["fs_hit"] >= 0)
    end *= 1000.0
    out["feature_store_service_ms"] = end
    return out
