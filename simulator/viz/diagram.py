"""The architecture diagram as a graphviz DOT string, built from the scenario itself.

Because the boxes come from the scenario (which stages are on, how many partitions,
replicas, connections), the picture cannot drift from what was simulated. Colours show
health (utilization, SLO breach, breaker state), edge widths show throughput, and every
label pairs a business word with the technical term: "Payment events (Kafka topic, 12
partitions)". Pass ``snapshot`` (from :func:`snapshot_at`) to draw the state at one moment.

Graphviz charts do not follow the app's theme, so every colour is set here for both the
light and the dark theme.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulator.report.words import clock, find_section, is_enabled, locate_section, pct, short_ms
from simulator.scenario.config import Scenario

HEALTH_OK, HEALTH_WARN, HEALTH_BAD, HEALTH_NONE = "ok", "warn", "bad", "none"
UTIL_WARN, UTIL_BAD = 0.7, 0.9
ON_TIME_WARN, ON_TIME_BAD = 0.99, 0.95

# "auto" (the default) reads well on a light and on a dark page: dark text on pastel boxes,
# mid-grey arrows. Streamlit cannot theme graphviz and its reported theme can be wrong on
# first load (streamlit issue #11920), so the dashboard does not guess.
THEMES = {
    "auto": {"bg": "transparent", "font": "#1b1b1b", "edge": "#868e96", "muted": "#868e96",
             HEALTH_OK: ("#d3f9d8", "#2b8a3e"), HEALTH_WARN: ("#fff3bf", "#e67700"),
             HEALTH_BAD: ("#ffe3e3", "#c92a2a"), HEALTH_NONE: ("#e9ecef", "#868e96")},
    "light": {"bg": "transparent", "font": "#1b1b1b", "edge": "#495057", "muted": "#6c757d",
              HEALTH_OK: ("#d3f9d8", "#2b8a3e"), HEALTH_WARN: ("#fff3bf", "#e67700"),
              HEALTH_BAD: ("#ffe3e3", "#c92a2a"), HEALTH_NONE: ("#f1f3f5", "#868e96")},
    "dark": {"bg": "transparent", "font": "#f1f3f5", "edge": "#ced4da", "muted": "#adb5bd",
             HEALTH_OK: ("#1f4d2b", "#69db7c"), HEALTH_WARN: ("#5c4813", "#ffd43b"),
             HEALTH_BAD: ("#5c1f1f", "#ff8787"), HEALTH_NONE: ("#2b2f36", "#adb5bd")},
}


@dataclass
class Node:
    """One box: id, business label, technical term, health and optional live metric line."""

    id: str
    business: str
    technical: str
    health: str = HEALTH_NONE
    metric: str = ""
    tooltip: str = ""
    shape: str = "box"


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _wrap(text: str, width: int = 28) -> list[str]:
    """Split a long label after its commas so boxes stay narrow (a narrow diagram is scaled
    down less); numbers always stay with their units."""
    chunks = [c + "," for c in text.split(", ")]
    chunks[-1] = chunks[-1][:-1]
    lines, line = [], ""
    for chunk in chunks:
        if line and len(line) + 1 + len(chunk) > width:
            lines.append(line)
            line = chunk
        else:
            line = f"{line} {chunk}" if line else chunk
    return lines + ([line] if line else [])


def health_of_utilization(util: float | None) -> str:
    """Below 70 % busy is healthy, 70-90 % is a warning, 90 % or more is a problem."""
    if util is None or (isinstance(util, float) and math.isnan(util)):
        return HEALTH_NONE
    if util >= UTIL_BAD:
        return HEALTH_BAD
    if util >= UTIL_WARN:
        return HEALTH_WARN
    return HEALTH_OK


def health_of_on_time(on_time: float | None) -> str:
    """At least 99 % on time is healthy, 95-99 % a warning, less is an SLO breach."""
    if on_time is None:
        return HEALTH_NONE
    if on_time >= ON_TIME_WARN:
        return HEALTH_OK
    if on_time >= ON_TIME_BAD:
        return HEALTH_WARN
    return HEALTH_BAD


def worst(*healths: str) -> str:
    order = [HEALTH_NONE, HEALTH_OK, HEALTH_WARN, HEALTH_BAD]
    return max(healths, key=order.index)


def _fmt_duration_s(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _short_ms(ms: float) -> str:
    return f"{ms / 1000:g} s" if ms >= 1000 else f"{ms:g} ms"


def _rate(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return ""
    return f"{x:,.0f}/s" if x >= 10 else f"{x:.1f}/s"


# --------------------------------------------------------------------------- state at t
def _last_event(events: pd.DataFrame | None, kinds: tuple[str, ...], t_s: float) -> pd.Series | None:
    if events is None or len(events) == 0:
        return None
    sel = events[events["kind"].isin(kinds) & (events["t_s"] <= t_s)]
    return None if sel.empty else sel.sort_values("t_s").iloc[-1]


def _number_in(text: str) -> float | None:
    m = re.search(r"(-?\d+(?:\.\d+)?)", str(text))
    return float(m.group(1)) if m else None


def snapshot_at(scenario: Scenario, ts: pd.DataFrame, events: pd.DataFrame | None, t_s: float) -> dict:
    """The pipeline's state in the time-series bin holding ``t_s``.

    Reads whatever the frame has (queues, utilization, replicas, and ``breaker_state`` /
    ``canary_weight_pct`` columns when the engine writes them); breaker state, canary
    weight and active faults fall back to the last matching event before ``t_s``.
    """
    idx = int(np.clip(np.searchsorted(ts["t_s"].to_numpy(), t_s, side="right") - 1, 0, len(ts) - 1))
    row = ts.iloc[idx]

    def val(col):
        if col not in ts:
            return None
        v = row[col]
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else v

    snap = {
        "t_s": float(t_s), "bin": idx, "clock": clock(scenario, t_s),
        "arrival_rate_per_s": val("arrival_rate_per_s"), "throughput_rps": val("throughput_rps"),
        "latency_p99_ms": val("latency_p99_ms"), "latency_p50_ms": val("latency_p50_ms"),
        "failures": val("failures"),
        "utilization": {"ingestion": val("utilization_ingestion"), "feature_db": val("utilization_feature_store"),
                        "inference": val("utilization_inference")},
        "queue": {"ingestion": val("ingestion_backlog"), "feature_db": val("feature_db_queue"),
                  "inference": val("inference_queue")},
        "replicas": val("replicas"),
        "fallback_answers": val("fallback_answers"),
    }
    snap["bin_width_s"] = float(row["t_end_s"] - row["t_s"]) if "t_end_s" in ts else None
    if snap["bin_width_s"] and snap["failures"] is not None:
        snap["failures_per_s"] = snap["failures"] / max(snap["bin_width_s"], 1e-9)
    # breaker
    state = val("breaker_state")
    if state is None:
        last = _last_event(events, ("breaker_opened", "breaker_half_opened", "breaker_closed", "breaker_forced_open",
                                    "breaker_disabled", "breaker_metrics_only"), t_s)
        if last is not None:
            state = {"breaker_opened": "OPEN", "breaker_half_opened": "HALF_OPEN", "breaker_closed": "CLOSED",
                     "breaker_forced_open": "FORCED_OPEN", "breaker_disabled": "DISABLED",
                     "breaker_metrics_only": "METRICS_ONLY"}[last["kind"]]
        elif is_enabled(find_section(scenario, "breaker")):
            state = "CLOSED"
    # the engine writes the worst state within the bin (report.results.BREAKER_LEVEL)
    snap["breaker_state"] = ({-2: "DISABLED", -1: "METRICS_ONLY", 0: "CLOSED", 1: "HALF_OPEN", 2: "OPEN",
                              3: "FORCED_OPEN"}.get(state, state) if state is not None else None)
    # canary
    weight = val("canary_weight_pct")
    if weight is None:
        last = _last_event(events, ("canary_started", "canary_weight", "canary_promoted", "canary_rolled_back"), t_s)
        if last is not None:
            weight = {"canary_promoted": 100.0, "canary_rolled_back": 0.0, "canary_started": 0.0}.get(
                last["kind"], _number_in(last["detail"]))
    snap["canary_weight_pct"] = weight
    # faults still active at t
    active = set()
    if events is not None and len(events):
        for _, e in events[(events["t_s"] <= t_s) & events["kind"].isin(["fault_started", "fault_ended"])] \
                .sort_values("t_s").iterrows():
            (active.add if e["kind"] == "fault_started" else active.discard)(str(e["component"]))
    snap["faults"] = sorted(active)
    flag = _last_event(events, ("fairness_flagged", "fairness_cleared"), t_s)
    snap["fairness_flagged"] = None if flag is None else flag["kind"] == "fairness_flagged"
    return snap


# --------------------------------------------------------------------------- nodes
def _stage_stats(summary: dict | None, stage: str) -> dict:
    return ((summary or {}).get("stages") or {}).get(stage) or {}


def _util_text(util: float | None, queue: float | None = None) -> str:
    parts = []
    if util is not None:
        parts.append(f"{100 * util:.0f} % busy")
    if queue is not None and queue >= 0.05:
        parts.append(f"{queue:,.1f} waiting")
    return ", ".join(parts)


def _breaker_nodes(scenario: Scenario, summary: dict | None, snapshot: dict | None) -> list[Node]:
    """The safety switch (circuit breaker) and the fallback it answers from, when enabled."""
    state = (snapshot or {}).get("breaker_state")
    trips = ((summary or {}).get("events") or {}).get("breaker_opened", 0)
    if state is None:
        health = HEALTH_WARN if trips else HEALTH_OK
        metric = f"tripped {trips} time{'s' if trips != 1 else ''}" if trips else "never tripped"
    else:
        health = {"OPEN": HEALTH_BAD, "HALF_OPEN": HEALTH_WARN, "FORCED_OPEN": HEALTH_WARN,
                  "DISABLED": HEALTH_WARN}.get(str(state), HEALTH_OK)
        metric = {"OPEN": "open: calls stopped", "HALF_OPEN": "half-open: testing",
                  "FORCED_OPEN": "held open by an operator", "DISABLED": "switched off by an operator",
                  "METRICS_ONLY": "recording only"}.get(str(state), "closed: normal")
    return [Node("breaker", "Safety switch", "circuit breaker", health, metric,
                 "Stops calling a failing service for a while so customers are not kept waiting.")]


def _fallback_node(kind: str, summary: dict | None, snapshot: dict | None) -> Node:
    fallbacks = (summary or {}).get("fallbacks")
    used = ""
    if snapshot is not None:
        n, width = snapshot.get("fallback_answers"), snapshot.get("bin_width_s")
        used = f"{n / width:,.0f}/s now" if n and width else ""
    elif isinstance(fallbacks, dict):
        total = sum(v for v in fallbacks.values() if isinstance(v, (int, float)))
        used = f"{total:,.0f} answers" if total else ""
    words = {"cached": ("Last known answer", "cache fallback"), "default": ("Safe default answer", "default fallback")}
    business, technical = words.get(kind, ("Fallback answer", f"{kind} fallback"))
    return Node("fallback", business, technical, HEALTH_NONE, used,
                "A simpler answer used while the dependency is failing.", shape="note")


def build_nodes(scenario: Scenario, summary: dict | None, snapshot: dict | None) -> tuple[list[Node], list[tuple]]:
    """The boxes and the arrows ``(src, dst, rate_per_s, style)`` of the pipeline, in flow order."""
    sc = scenario
    measured_s = max(sc.duration_s - sc.warmup_s, 1e-9)
    req = (summary or {}).get("requests") or {}
    arrival_rate = (snapshot or {}).get("arrival_rate_per_s")
    if arrival_rate is None:
        arrival_rate = req["arrived"] / measured_s if req.get("arrived") is not None else None
    faults = set((snapshot or {}).get("faults") or [])
    # over a whole run: stages that had a fault at some point (shown as a warning)
    past_faults: dict[str, int] = {}
    for rec in (summary or {}).get("recovery") or []:
        if isinstance(rec, dict) and rec.get("target"):
            past_faults[str(rec["target"])] = past_faults.get(str(rec["target"]), 0) + 1

    def fault_health(*targets: str) -> tuple[str, str]:
        if faults & set(targets):
            return HEALTH_BAD, "down now"
        n = sum(past_faults.get(t, 0) for t in targets) if snapshot is None else 0
        return (HEALTH_WARN, f"{n} fault{'s' if n != 1 else ''} during the run") if n else (HEALTH_NONE, "")
    snap_util = (snapshot or {}).get("utilization") or {}
    snap_queue = (snapshot or {}).get("queue") or {}

    def util(stage, snap_key):
        if snapshot is not None:
            return snap_util.get(snap_key)
        return _stage_stats(summary, stage).get("utilization")

    def served_rate(stage):
        if snapshot is not None:
            return arrival_rate
        served = _stage_stats(summary, stage).get("served")
        return served / measured_s if served else arrival_rate

    nodes: list[Node] = []
    edges: list[tuple] = []
    nodes.append(Node("customers", "Card payments", f"arrivals, {sc.traffic.rate_per_s:g} per s on average",
                      metric=_rate(arrival_rate) + " now" if snapshot is not None and arrival_rate is not None else "",
                      tooltip="Customers paying by card; each payment asks for a fraud decision.", shape="oval"))
    prev, prev_rate = "customers", arrival_rate

    mode = sc.ingestion.mode
    if mode == "stream":
        st = sc.ingestion.stream
        u = util("ingestion", "ingestion")
        lag = snap_queue.get("ingestion")
        nodes.append(Node("ingestion", "Payment events",
                          f"Kafka topic, {st.partitions} partitions, {st.consumers} consumers",
                          worst(health_of_utilization(u), HEALTH_BAD if "ingestion" in faults else HEALTH_NONE),
                          _util_text(u, lag), "An event stream: payments are queued in partitions and read by "
                          "consumers; unread events are the consumer lag."))
    elif mode == "batch":
        b = sc.ingestion.batch
        backlog = snap_queue.get("ingestion")
        nodes.append(Node("ingestion", "Nightly batch job", f"batch job every {_fmt_duration_s(b.interval_s)}, "
                          f"{b.throughput_per_s:g} records/s",
                          HEALTH_WARN, f"{backlog:,.0f} waiting" if backlog else "",
                          "Payments wait for the next scheduled job before they are scored."))
    if mode != "direct":
        edges.append((prev, "ingestion", prev_rate, ""))
        prev, prev_rate = "ingestion", served_rate("ingestion")

    fs = sc.feature_store
    if fs.mode != "off":
        u = util("feature_store", "feature_db")
        q = snap_queue.get("feature_db")
        f_health, f_text = fault_health("feature_store", "feature_db", "database")
        db_health = worst(health_of_utilization(u), f_health)
        db_metric = ", ".join(x for x in (_util_text(u, q), f_text) if x)
        if fs.mode == "online_store":
            nodes.append(Node("feature_store", "Customer profile",
                              f"online feature store, {100 * fs.hit_ratio:.0f} % hits",
                              HEALTH_OK, "",
                              "A fast lookup of precomputed customer features; a miss falls back to the database."))
            nodes.append(Node("feature_db", "Profile database", f"source DB, {fs.db_connections} connections",
                              db_health, db_metric,
                              "Computes features on a miss; its connection pool can become a bottleneck."))
            edges.append((prev, "feature_store", prev_rate, ""))
            miss_rate = None if prev_rate is None else prev_rate * (1 - fs.hit_ratio)
            edges.append(("feature_store", "feature_db", miss_rate, "miss"))
            edges.append(("feature_db", "external_api" if sc.external_api.enabled else "__next__", miss_rate, "dashed"))
            prev = "feature_store"
        else:
            nodes.append(Node("feature_db", "Customer profile computed", f"source DB, {fs.db_connections} connections",
                              db_health, db_metric, "No feature store: every request queries the database."))
            edges.append((prev, "feature_db", prev_rate, ""))
            prev = "feature_db"
        prev_rate = served_rate("feature_store")

    api = sc.external_api
    if api.enabled:
        fails = ((summary or {}).get("failures_by_reason") or {}).get("api_error", 0)
        arrived = req.get("arrived") or 0
        api_health, api_metric = fault_health("external_api")
        if arrived and snapshot is None:
            share = fails / arrived
            api_health = worst(api_health, HEALTH_BAD if share > 0.01 else HEALTH_WARN if share > 0.001 else HEALTH_OK)
        api_health = worst(api_health, HEALTH_OK)
        name = api.name[:1].upper() + api.name[1:]
        guarded = locate_section(sc, "breaker")
        if guarded is not None and guarded[0] == "external_api" and is_enabled(guarded[1]):
            nodes.extend(_breaker_nodes(sc, summary, snapshot))
            edges.append((prev, "breaker", prev_rate, ""))
            prev = "breaker"
        nodes.append(Node("external_api", name, f"external API, timeout {_short_ms(api.timeout_ms)}", api_health,
                          api_metric,
                          "A third-party service called on every request; it can be slow or fail."))
        edges.append((prev, "external_api", prev_rate, ""))
        fallback = getattr(api, "fallback", "none")
        if isinstance(fallback, str) and fallback != "none":
            nodes.append(_fallback_node(fallback, summary, snapshot))
            edges.append(("external_api", "fallback", None, "dashed"))
            edges.append(("fallback", "__next__", None, "dashed"))
        prev, prev_rate = "external_api", served_rate("external_api")

    inf = sc.inference
    if inf.enabled:
        u = util("inference", "inference")
        q = snap_queue.get("inference")
        replicas = (snapshot or {}).get("replicas")
        autoscaler = find_section(sc, "autoscaler")
        scaled = is_enabled(autoscaler)
        used = (summary or {}).get("replicas")
        if replicas is not None:
            count = f"{replicas:.0f} replicas" if abs(replicas - round(replicas)) < 0.05 else f"{replicas:.1f} replicas"
        elif scaled and isinstance(used, dict) and used.get("min") is not None and used.get("max") is not None:
            count = f"{used['min']:g}-{used['max']:g} replicas"
        elif scaled:
            count = f"{getattr(autoscaler, 'min_replicas', '?')}-{getattr(autoscaler, 'max_replicas', '?')} replicas"
        else:
            count = f"{inf.replicas} replicas"
        tech = f"model servers, {count}" + (f" x {inf.concurrency}" if inf.concurrency > 1 else "") + \
            (", autoscaled" if scaled else "")
        i_health, i_text = fault_health("inference")
        nodes.append(Node("inference", "Fraud model", tech, worst(health_of_utilization(u), i_health),
                          ", ".join(x for x in (_util_text(u, q), i_text) if x),
                          "The machine-learning model that scores each payment; requests "
                          "queue when every server is busy."))
        guarded = locate_section(sc, "breaker")
        if guarded is not None and guarded[0] in ("", "inference") and is_enabled(guarded[1]):
            for node in _breaker_nodes(sc, summary, snapshot):
                nodes.insert(len(nodes) - 1, node)
            edges.append((prev, "breaker", prev_rate, ""))
            prev = "breaker"
        edges.append((prev, "inference", prev_rate, ""))
        canary = find_section(sc, "canary")
        if is_enabled(canary):
            weight = (snapshot or {}).get("canary_weight_pct")
            outcome = (summary or {}).get("canary")
            phase = (outcome.get("outcome") or outcome.get("phase")) if isinstance(outcome, dict) else None
            phase = None if phase in ("none", None) else phase
            if weight is not None:
                metric = f"{weight:g} % of traffic"
            else:
                metric = str(phase).replace("_", " ") if phase else ""
            health = HEALTH_BAD if phase and "roll" in str(phase).lower() else HEALTH_OK
            nodes.append(Node("canary", f"New model {getattr(canary, 'version', '')}".strip(),
                              "canary release", health, metric,
                              "A new model version that gets a small, growing share of traffic and is rolled "
                              "back automatically if it misbehaves."))
            edges.append((prev, "canary", None if weight is None or prev_rate is None else prev_rate * weight / 100,
                          "dashed"))
            edges.append(("canary", "decision", None, "dashed"))
        prev, prev_rate = "inference", served_rate("inference")

    if (snapshot or {}).get("throughput_rps") is not None:
        prev_rate = snapshot["throughput_rps"]
    on_time = (summary or {}).get("on_time_fraction")
    p99 = (snapshot or {}).get("latency_p99_ms")
    if snapshot is not None:
        health = HEALTH_NONE if p99 is None else (HEALTH_BAD if p99 > sc.slo_latency_ms else HEALTH_OK)
        metric = "" if p99 is None else f"slowest 1 %: {short_ms(p99)}"
    else:
        health = health_of_on_time(on_time)
        metric = "" if on_time is None else f"{pct(on_time)} on time"
    nodes.append(Node("decision", "Answer to the customer", f"SLO {_short_ms(sc.slo_latency_ms)}", health, metric,
                      "The decision goes back to the payment; 'on time' means within the promised time (SLO).",
                      shape="oval"))
    edges.append((prev, "decision", prev_rate, ""))

    fairness = find_section(sc, "fairness")
    if is_enabled(fairness):
        flagged = (snapshot or {}).get("fairness_flagged")
        if flagged is None:
            status = (summary or {}).get("fairness")
            flagged = bool(status.get("flagged")) if isinstance(status, dict) else None
        nodes.append(Node("fairness", "Fairness monitor", "disparate-impact check",
                          HEALTH_NONE if flagged is None else (HEALTH_BAD if flagged else HEALTH_OK),
                          "" if flagged is None else ("gap flagged" if flagged else "no gap"),
                          "Compares approval rates between customer groups (the four-fifths rule).", shape="note"))
        edges.append(("decision", "fairness", None, "dotted"))

    # resolve the placeholder edge target used before the next stage was known
    ids = [n.id for n in nodes]
    resolved = []
    for src, dst, rate, style in edges:
        if dst == "__next__":
            later = [i for i in ids[ids.index(src) + 1:] if i not in ("breaker", "fallback", "feature_db")]
            dst = later[0] if later else "decision"
        resolved.append((src, dst, rate, style))
    return nodes, resolved


# --------------------------------------------------------------------------- DOT
def architecture_dot(scenario: Scenario, summary: dict | None = None, snapshot: dict | None = None,
                     theme: str = "auto", font_size: int = 16, rankdir: str = "TB") -> str:
    """DOT source of the pipeline diagram (see the module docstring).

    Top-to-bottom by default: a pipeline of eight boxes drawn left-to-right is too wide to
    read when scaled to a page column.
    """
    colours = THEMES.get(theme or "auto", THEMES["auto"])
    nodes, edges = build_nodes(scenario, summary, snapshot)
    rates = [r for _, _, r, _ in edges if r is not None and math.isfinite(r)]
    top = max(rates) if rates else 1.0
    lines = [
        "digraph pipeline {",
        f'  graph [rankdir={rankdir}, bgcolor="{colours["bg"]}", fontname="Helvetica", fontcolor="{colours["font"]}", '
        f'nodesep=0.25, ranksep=0.35, pad=0.2];',
        f'  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize={font_size}, '
        f'fontcolor="{colours["font"]}", penwidth=1.6, margin="0.15,0.08"];',
        f'  edge [color="{colours["edge"]}", fontname="Helvetica", fontsize={max(8, font_size - 2)}, '
        f'fontcolor="{colours["muted"]}", arrowsize=0.7];',
    ]
    if snapshot is not None:
        lines.append(f'  label="State at {_esc(snapshot.get("clock", ""))}"; labelloc=t; fontsize={font_size + 2};')
    for n in nodes:
        fill, border = colours[n.health]
        parts = [n.business, *_wrap(f"({n.technical})"), *(_wrap(n.metric) if n.metric else [])]
        label = "\\n".join(_esc(part) for part in parts)
        lines.append(f'  {n.id} [label="{label}", '
                     f'shape={n.shape}, fillcolor="{fill}", color="{border}", tooltip="{_esc(n.tooltip)}"];')
    for src, dst, rate, style in edges:
        width = 1.0 if rate is None or not math.isfinite(rate) else 1.0 + 5.0 * rate / top if top > 0 else 1.0
        attrs = [f"penwidth={width:.2f}"]
        label = _rate(rate)
        if style == "miss":
            attrs.append('style=dashed')
            label = f"miss {label}".strip()
        elif style in ("dashed", "dotted"):
            attrs.append(f"style={style}")
        if label:
            attrs.append(f'label="{_esc(label)}"')
        lines.append(f"  {src} -> {dst} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines)
