"""Cost and business value of a run, from its columns and capacity step functions.

Cost: nodes are packed with equal replicas by memory (simulator.mechanisms.cost); node-seconds are split
into busy, idle and cold-start time in proportion to replica-seconds. Stream partitions,
feature-store lookups, external API calls and human reviews are priced per unit. Everything
covers the measured window [warmup_s, duration_s].

Value: a decision is worth what the model adds over the no-model default (approve every
payment). The model's recall on bad cases and its false-alarm rate are *measured* on the
decisions it actually served (real model outputs on the served features, against the true
outcomes), so skew, staleness and drift show up in the value; the held-out figures of the
precision variant are reported beside them. A fallback answer is worse by its accuracy penalty:
each lost point of accuracy turns that share of decisions into errors, costing the mean cost of
an error. A failed request gets the default (approve), so it adds nothing.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from simulator.engine.dataplane import component_columns
from simulator.mechanisms.cost import cost_series, cost_summary, expected_value_per_decision_usd, replicas_per_node
from simulator.report.components import final_decision
from simulator.report.levels import capacity_integral, span_overlap
from simulator.scenario.config import Scenario
from simulator.scenario.graph import build_graph
from simulator.scenario.serving import replica_memory_gib


def auc_score(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) identity, ties given their mean rank."""
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    sorted_p = p[order]
    # mean rank of each run of equal scores
    starts = np.r_[0, np.nonzero(np.diff(sorted_p))[0] + 1]
    ends = np.r_[starts[1:], len(p)]
    mean_rank = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(mean_rank, ends - starts)
    pos = y == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@functools.lru_cache(maxsize=16)
def model_quality(training_seed: int, threshold: float, precision: str) -> dict:
    """Measured held-out quality of the served model in ``precision`` (cached per process).

    Computed with numpy here (accuracy, precision, recall, rank-sum AUC) so a run never pays
    for importing sklearn.metrics; tests check these against sklearn.
    """
    from simulator.ml.model import ModelConfig, holdout_data, quantize, score, train_model

    mcfg = ModelConfig(decision_threshold=threshold)
    model = quantize(train_model(training_seed, None, mcfg), precision)
    X, y, _ = holdout_data(training_seed, None, mcfg)
    p = score(model, X)
    approve = p >= threshold
    good = y == 1
    quality = {"accuracy": float((approve == good).mean()), "auc": auc_score(y, p),
               "precision": float(good[approve].mean()) if approve.any() else math.nan,
               "recall": float(approve[good].mean()) if good.any() else math.nan,
               "selection_rate": float(approve.mean())}
    bad = y == 0  # the model's positive class is "good": a rejection of a bad case is a catch
    quality["fraud_recall"] = float((~approve[bad]).mean()) if bad.any() else math.nan
    quality["false_alarm_rate"] = float((~approve[~bad]).mean()) if (~bad).any() else math.nan
    return quality


def _node_seconds(steps: list[tuple[float, float]], per_node: int, lo: float, hi: float) -> float:
    nodes = [(t, math.ceil(v / per_node) if v > 0 else 0) for t, v in steps]
    return capacity_integral(nodes, lo, hi)


def external_calls(sc: Scenario, cols: dict) -> np.ndarray:
    """External calls per request, over every dependency it called: the chain's one API, or each
    dependency of a topology (all priced at ``cost.external_api_usd_per_1k_calls``)."""
    if sc.topology is None:
        return cols["api_calls"]
    total = np.zeros(len(cols["arrival_s"]), dtype=np.int64)
    for entry in component_columns(sc)["components"].values():
        if entry["kind"] == "dependency" and entry["columns"]["calls"] in cols:
            total += cols[entry["columns"]["calls"]]
    return total


def busy_replica_seconds(sc: Scenario, cols: dict, lo: float, hi: float) -> float:
    """Replica-seconds spent serving between ``lo`` and ``hi``, over every model pool (the chain's
    one, or each model of a topology with its own concurrency): the busy share of the node cost."""
    if sc.topology is None:
        pools = [("inf_start_s", "inf_end_s", sc.inference.concurrency)]
    else:
        g = build_graph(sc)
        pools = [(e["columns"]["start"], e["columns"]["end"], g.nodes[cid]["settings"].concurrency)
                 for cid, e in component_columns(sc)["components"].items() if e["kind"] == "model"]
    busy_s = 0.0
    for start, end, concurrency in pools:
        if start not in cols:
            continue
        s, e = cols[start], cols[end]
        started = ~np.isnan(s)
        busy_s += span_overlap(s[started], np.where(np.isnan(e[started]), hi, e[started]), lo, hi) / concurrency
    return busy_s


def economics_tallies(sc: Scenario, cols: dict, after: np.ndarray) -> dict:
    """The per-request sums the economics need (additive over blocks of requests, so the
    summary-only path adds them up block by block)."""
    answered = after & (cols["outcome"] <= 1)
    decided = answered & (cols["label"] >= 0)
    decision = final_decision(cols)
    bad, good = decided & (cols["label"] == 0), decided & (cols["label"] == 1)
    api = sc.external_api
    fb = cols["fallback"][answered]
    penalty = float((fb == 1).sum()) * api.cached_accuracy_penalty + float((fb == 2).sum()) * api.default_accuracy_penalty
    if sc.canary.enabled:
        penalty -= float((cols["version"][answered] == 2).sum()) * sc.canary.accuracy_delta
    return {"busy_replica_s": busy_replica_seconds(sc, cols, sc.warmup_s, sc.duration_s),
            "answered": int(answered.sum()),
            "lookups": int((after & (cols["fs_hit"] >= 0)).sum()) if sc.feature_store.mode == "online_store" else 0,
            "api_calls": int(external_calls(sc, cols)[after].sum()),
            "bad": int(bad.sum()), "good": int(good.sum()),
            "bad_stopped": int((decision[bad] == 0).sum()), "good_blocked": int((decision[good] == 0).sum()),
            "penalty": penalty}


def economics(sc: Scenario, tallies: dict, capacity: dict, cold_spans: list[tuple[float, float]],
              counters: dict) -> dict:
    """Summary sections cost_usd, value_usd, model and replicas (``tallies``: :func:`economics_tallies`)."""
    lo, hi = sc.warmup_s, sc.duration_s
    span = hi - lo
    precision = sc.inference.precision
    mem = replica_memory_gib(sc.model, precision)
    cfg = sc.cost
    per_node = replicas_per_node(mem, cfg.instance, cfg.system_reserved_memory_gib)
    steps = capacity.get("replicas_total") or [(0.0, 0.0)]
    replica_s = capacity_integral(steps, lo, hi)
    node_s = _node_seconds(steps, per_node, lo, hi)
    busy_replica_s = tallies["busy_replica_s"]
    cold_s = sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in cold_spans)
    idle_s = max(0.0, replica_s - busy_replica_s - cold_s)
    partitions = sc.ingestion.stream.partitions if sc.ingestion.mode == "stream" else 0
    cost = cost_summary(duration_s=span, node_s=node_s, busy_replica_s=busy_replica_s, idle_replica_s=idle_s,
                        cold_start_replica_s=cold_s, requests=tallies["answered"], stream_partitions=partitions,
                        feature_lookups=tallies["lookups"], external_api_calls=tallies["api_calls"],
                        review_cases=int(counters.get("review_cases", 0)), cfg=cfg)
    cost = {k: (float(v) if math.isfinite(v) else None) for k, v in cost.items()}
    cost["node_hours"] = round(node_s / 3600, 4)
    cost["replica_hours"] = round(replica_s / 3600, 4)
    cost["instance_type"] = cfg.instance_type
    cost["replicas_per_node"] = per_node

    q = model_quality(sc.model.training_seed, sc.model.decision_threshold, precision)
    v = sc.value
    # the decisions actually served: how often a bad case was stopped and a good one blocked
    if tallies["bad"] and tallies["good"]:
        recall, false_alarms = tallies["bad_stopped"] / tallies["bad"], tallies["good_blocked"] / tallies["good"]
    else:  # no decisions to learn from: use the held-out measurement
        recall, false_alarms = q["fraud_recall"], q["false_alarm_rate"]
    per_decision = (expected_value_per_decision_usd(recall, false_alarms, v)
                    - expected_value_per_decision_usd(0.0, 0.0, v))
    error_cost = v.fraud_rate * v.mean_fraud_amount_usd + (1 - v.fraud_rate) * v.false_alarm_cost_usd
    # each answer is worth the model's value per decision, less its fallback's (or the canary's) accuracy penalty
    gross = float(tallies["answered"] * per_decision - tallies["penalty"] * error_cost)
    value = {"gross": round(gross, 2), "net": round(gross - (cost["total"] or 0.0), 2),
             "per_decision": per_decision,
             "gross_per_hour": round(gross / span * 3600, 2),
             "cost_per_hour": round((cost["total"] or 0.0) / span * 3600, 2)}
    value["net_per_hour"] = round(value["gross_per_hour"] - value["cost_per_hour"], 2)
    model = {"version": sc.model.version, "precision": precision, "accuracy": round(q["accuracy"], 5),
             "auc": round(q["auc"], 5), "fraud_recall": round(q["fraud_recall"], 5),
             "false_alarm_rate": round(q["false_alarm_rate"], 5),
             "fraud_recall_online": round(recall, 5), "false_alarm_rate_online": round(false_alarms, 5)}
    ready = capacity.get("replicas") or [(0.0, 0.0)]
    in_window = [val for t, val in ready if lo <= t <= hi] + [_value_at(ready, lo)]
    replicas = {"min": int(min(in_window)), "max": int(max(in_window)),
                "mean": round(capacity_integral(ready, lo, hi) / span, 3) if span > 0 else None,
                "memory_gib_per_replica": round(mem, 3)}
    return {"cost_usd": cost, "value_usd": value, "model": model, "replicas": replicas}


def _value_at(steps: list[tuple[float, float]], t: float) -> float:
    out = steps[0][1]
    for ts, v in steps:
        if ts <= t:
            out = v
    return out


def request_charges_per_bin(sc: Scenario, edges: np.ndarray, cols: dict) -> np.ndarray:
    """Per-request charges (feature lookups, external API calls; USD) by the bin of arrival."""
    n = len(edges) - 1
    arrival = cols["arrival_s"]
    lookup = (cols["fs_hit"] >= 0) if sc.feature_store.mode == "online_store" else np.zeros(len(arrival), bool)
    per_req = (lookup * sc.cost.feature_store_usd_per_million_lookups / 1e6
               + external_calls(sc, cols) * sc.cost.external_api_usd_per_1k_calls / 1e3)
    b = np.clip(np.searchsorted(edges, arrival, side="right") - 1, 0, n - 1)
    return np.bincount(b, weights=per_req, minlength=n)[:n]


def cost_timeseries(sc: Scenario, capacity: dict, edges: np.ndarray, requests_usd: np.ndarray) -> dict[str, np.ndarray]:
    """Cost rate (USD per hour) per bin: compute, stream and the per-request charges
    (:func:`request_charges_per_bin`)."""
    precision = sc.inference.precision
    mem = replica_memory_gib(sc.model, precision)
    steps = capacity.get("replicas_total") or [(0.0, 0.0)]
    bin_s = float(edges[1] - edges[0]) if len(edges) > 1 else sc.duration_s
    partitions = sc.ingestion.stream.partitions if sc.ingestion.mode == "stream" else 0
    series = cost_series([t for t, _ in steps], [int(v) for _, v in steps], sc.duration_s, bin_s, mem,
                         partitions, sc.cost)
    n = len(edges) - 1
    compute = np.zeros(n)
    stream = np.zeros(n)
    for i, (_, c_usd, s_usd) in enumerate(series[:n]):
        compute[i], stream[i] = c_usd, s_usd
    width_h = np.diff(edges) / 3600
    return {"cost_rate_usd_per_h": (compute + stream + requests_usd) / width_h,
            "compute_cost_rate_usd_per_h": compute / width_h}
