"""Hand-written summaries for renderer tests: a complete, valid typed Summary from a few numbers.

Only what a test cares about is written in the test; everything else here is a plain,
uneventful default (no faults, no canary, no model-stage sections unless given).
"""
from __future__ import annotations

from simulator.report.summary_model import Summary

STAGE = {"utilization": None, "wait_ms_mean": 0.0, "service_ms_mean": 0.0, "served": 0}
DEFAULTS = {
    "scenario": "test", "seed": 1, "sim_duration_s": 600.0, "warmup_s": 0.0, "wall_s": 0.1,
    "requests": {"arrived": 0, "ok": 0, "degraded": 0, "failed": 0, "in_flight": 0},
    "throughput_rps": None, "latency_ms": {"mean": None, "p50": None, "p95": None, "p99": None},
    "availability": None, "on_time_fraction": None, "slo_latency_ms": 300.0, "failures_by_reason": {},
    "stages": {name: STAGE for name in ("ingestion", "feature_store", "external_api", "inference")},
    "events": {}, "breaker": {"enabled": False, "opened": 0, "open_s_total": 0.0, "forced_open_s_total": 0.0,
                              "rejected_calls": 0},
    "fallbacks": {"cached": 0, "default": 0},
    "retries": {"enabled": False, "calls_made": 0, "calls_needed": 0, "amplification": None},
    "canary": {"outcome": "none", "started_at_s": None, "decided_at_s": None, "time_to_decision_s": None,
               "analyses": 0, "requests_on_canary": 0, "bad_responses_on_canary": 0},
    "recovery": [], "where_time_went": None,
    "architecture": {"components": {}, "bottleneck": None, "critical_path": None, "single_points_of_failure": []},
}
COST = {"compute_busy": 0.0, "compute_idle": 0.0, "cold_start": 0.0, "stream": 0.0, "feature_store": 0.0,
        "external_api": 0.0, "review": 0.0, "total": 0.0, "per_1k_requests": None, "monthly_projection": None,
        "node_hours": 0.0, "replica_hours": 0.0, "instance_type": "cpu-medium", "replicas_per_node": 1}
MODEL = {"version": "v1", "precision": "fp32", "accuracy": 0.7, "auc": 0.75, "fraud_recall": 0.5,
         "false_alarm_rate": 0.2, "fraud_recall_online": 0.5, "false_alarm_rate_online": 0.2, "accuracy_online": 0.7,
         "served_version": "v1", "approval_rate_by_group": {}}


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return out


def make_summary(**parts) -> Summary:
    """A valid Summary: DEFAULTS deep-merged with ``parts`` (``cost_usd`` and ``model`` start from COST and MODEL)."""
    data = _merge(DEFAULTS, {k: v for k, v in parts.items() if k not in ("cost_usd", "model")})
    if "cost_usd" in parts:
        data["cost_usd"] = _merge(COST, parts["cost_usd"])
    if "model" in parts:
        data["model"] = _merge(MODEL, parts["model"])
    return Summary.model_validate(data)
