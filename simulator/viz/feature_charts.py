"""Figures, tiles and sentences for the Cost & capacity, Failure recovery and Fairness pages.

Pure: a run's frames, summary and findings in, plotly figures, KPI tiles, small tables or sentences
out; verdicts come from the findings (:mod:`simulator.report.findings`), never from a threshold here;
no streamlit and no simulation, so the CLI and tests build exactly what the dashboard shows.
Same conventions as :mod:`simulator.viz.charts`: clock-time axes, titles in plain words,
legends below the plot, and the font size passed in (larger when presenting).

Numbers that are only estimates say so where they are shown: recovery times are resolved to
one time-series bin, the fairness ratio carries its confidence interval, and money figures use
the scenario's illustrative prices.
"""
from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from simulator.report.event_words import FEATURE_WORDS
from simulator.report.findings import Findings
from simulator.report.summary_model import Cost, FaultRecovery, Summary
from simulator.report.words import (
    clock,
    clock_hms,
    duration_words,
    human_duration,
    money,
    pct,
    short_ms,
    stage_title,
)
from simulator.scenario.config import Scenario
from simulator.viz.charts import EVENT_STYLE, PALETTE, _base_figure, clock_axis, event_windows, latency_unit
from simulator.viz.kpis import Tile, finding_tile

GREEN, RED, AMBER, GREY, BLUE = "#2ca02c", "#d62728", "#ff7f0e", "#7f7f7f", "#0B5FFF"


# =========================================================================== shared helpers
def _f(x: Any) -> float | None:
    """A finite float, else None (summary values may be None, NaN or missing)."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def bin_width_s(ts: pd.DataFrame) -> float:
    """Width of one time-series bin (s); 0 for an empty frame."""
    if len(ts) == 0:
        return 0.0
    return float(ts["t_end_s"].iloc[0] - ts["t_s"].iloc[0])


def measured_hours(scenario: Scenario) -> float:
    """Length of the measured period (after warm-up) in hours."""
    return max(scenario.duration_s - scenario.warmup_s, 0.0) / 3600.0


def base_figure(title: str, y_title: str, font_size: int) -> go.Figure:
    """The shared chart layout of :mod:`simulator.viz.charts`, with the legend moved down a little as
    the font grows (presentation mode), so a legend of two rows never covers the time axis labels."""
    fig = _base_figure(title, y_title, font_size)
    fig.update_layout(legend={"y": -0.12 - 0.012 * max(0, font_size - 13)},
                      margin={"b": 50 + 6 * max(0, font_size - 13)})
    return fig


def count_axis(top: float) -> dict:
    """Axis settings for a count (servers, reviewers): from 0, whole-number ticks, some headroom."""
    top = max(1.0, float(top))
    upper = math.ceil(top * 1.15 + 0.5)
    step = max(1, math.ceil(upper / 6))
    return {"range": [0, upper], "dtick": step, "tick0": 0, "rangemode": "tozero"}


def _legend_swatch(fig: go.Figure, name: str, colour: str, opacity: float = 0.35) -> None:
    """A legend-only entry (square marker) explaining a shaded band."""
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name, showlegend=True, hoverinfo="skip",
                             marker={"symbol": "square", "size": 14, "color": colour, "opacity": opacity}))


def _shade_windows(fig: go.Figure, scenario: Scenario, events: pd.DataFrame | None, kinds: tuple[str, ...],
                   colour: str, font_size: int) -> int:
    """Shade the fault/surge windows of ``kinds`` with their name on top; returns how many."""
    windows = [w for w in event_windows(events, scenario.duration_s) if w[2] in kinds]
    for i, (start, end, _, _, label) in enumerate(windows):
        x0, x1 = clock_axis(scenario, [start, max(end, start + 1.0)])
        fig.add_vrect(x0=x0, x1=x1, fillcolor=colour, opacity=0.10, line_width=0, layer="below")
        fig.add_annotation(x=x0, y=1.0, yref="paper", xanchor="left", yanchor="bottom", text=label,
                           showarrow=False, font={"size": max(10, font_size - 2), "color": colour},
                           yshift=2 + 15 * (i % 2))
    return len(windows)


# =========================================================================== cost & capacity
COST_PARTS = (
    ("compute_busy", "Model servers: working"),
    ("compute_idle", "Model servers: idle, but paid for"),
    ("cold_start", "Model servers: starting up"),
    ("stream", "Event stream (Kafka)"),
    ("feature_store", "Customer-profile lookups"),
    ("external_api", "{api} calls"),
    ("review", "Human reviews"),
    ("retraining", "Retraining the model"),
)


def cost_parts(scenario: Scenario, cost: Cost) -> list[tuple[str, float]]:
    """(plain label, USD) for every cost item above zero, largest first."""
    out = []
    for key, label in COST_PARTS:
        usd = _f(getattr(cost, key))
        if usd is not None and usd > 0:
            out.append((label.format(api=scenario.external_api.name.capitalize()), usd))
    return sorted(out, key=lambda p: -p[1])


def cost_breakdown_figure(scenario: Scenario, cost: Cost, font_size: int = 13) -> go.Figure:
    """Horizontal bars: what each part of the service cost over the measured period."""
    parts = cost_parts(scenario, cost)
    total = sum(usd for _, usd in parts) or 1.0
    fig = base_figure("Where the money went (measured period)", "", font_size)
    fig.add_trace(go.Bar(
        y=[label for label, _ in parts], x=[usd for _, usd in parts], orientation="h", name="cost",
        marker={"color": [BLUE if label.startswith("Model servers") else GREY for label, _ in parts]},
        text=[f"{money(usd)} ({100 * usd / total:.0f} %)" for _, usd in parts], textposition="auto",
        hovertemplate="%{y}: %{x:$,.2f}<extra></extra>", showlegend=False))
    fig.update_layout(xaxis={"title": {"text": "USD"}, "tickformat": "$,.2~f", "rangemode": "tozero"},
                      yaxis={"autorange": "reversed", "title": {"text": ""}, "automargin": True},
                      hovermode="closest", height=max(300, 120 + 48 * len(parts)))
    return fig


SCALE_RE = re.compile(r"\b(up|down) from (\d+) to (\d+)")
READY_IN_RE = re.compile(r"ready in (\d+(?:\.\d+)?) s")


def scale_steps(events: pd.DataFrame | None) -> pd.DataFrame:
    """Scale decisions as rows ``t_s, direction, from_replicas, to_replicas, detail``."""
    cols = ["t_s", "direction", "from_replicas", "to_replicas", "detail"]
    if events is None or len(events) == 0:
        return pd.DataFrame(columns=cols)
    rows = []
    for e in events[events["kind"] == "scale_decision"].itertuples():
        m = SCALE_RE.search(str(e.detail))
        if m:
            rows.append((float(e.t_s), m[1], int(m[2]), int(m[3]), str(e.detail)))
    return pd.DataFrame(rows, columns=cols)


def start_times_s(events: pd.DataFrame | None) -> list[float]:
    """How long each new model server took to become ready, from the ``replica_started`` details."""
    if events is None or len(events) == 0:
        return []
    details = events.loc[events["kind"] == "replica_started", "detail"].astype(str)
    return [float(m[1]) for m in (READY_IN_RE.search(d) for d in details) if m]


def replicas_load_figure(scenario: Scenario, ts: pd.DataFrame, events: pd.DataFrame | None = None,
                         font_size: int = 13) -> go.Figure:
    """Requests per second (left) against model servers running (right), scale decisions marked."""
    v = scenario.vocabulary
    fig = base_figure("Model servers and load over time", f"{v.requests} per second", font_size)
    x = clock_axis(scenario, ts["t_s"])
    fig.add_trace(go.Scatter(x=x, y=ts["arrival_rate_per_s"], name=f"{v.requests} arriving per second", mode="lines",
                             line={"color": PALETTE[1], "width": 1}, fill="tozeroy",
                             fillcolor="rgba(255,127,14,0.15)"))
    fig.add_trace(go.Scatter(x=x, y=ts["replicas"], name="model servers ready (right axis)", mode="lines",
                             line={"color": BLUE, "shape": "hv", "width": 2.5}, yaxis="y2"))
    if "replicas_total" in ts and (ts["replicas_total"] - ts["replicas"]).abs().max() > 0:
        fig.add_trace(go.Scatter(x=x, y=ts["replicas_total"], name="incl. servers still starting (right axis)",
                                 mode="lines", line={"color": BLUE, "shape": "hv", "dash": "dot", "width": 1.5},
                                 yaxis="y2"))
    steps = scale_steps(events)
    for direction, symbol, colour, name in (("up", "triangle-up", GREEN, "autoscaler adds servers"),
                                            ("down", "triangle-down", RED, "autoscaler removes servers")):
        part = steps[steps["direction"] == direction]
        if len(part):
            fig.add_trace(go.Scatter(
                x=clock_axis(scenario, part["t_s"]), y=part["to_replicas"], mode="markers", name=name, yaxis="y2",
                marker={"symbol": symbol, "size": 11, "color": colour, "line": {"width": 1, "color": "#333"}},
                hovertext=[f"{clock_hms(scenario, t)}: {d}" for t, d in zip(part["t_s"], part["detail"])],
                hoverinfo="text"))
    top = max(float(np.nanmax(ts["replicas_total"] if "replicas_total" in ts else ts["replicas"])) if len(ts) else 1.0,
              float(steps["to_replicas"].max()) if len(steps) else 0.0, 1.0)
    fig.update_layout(yaxis2={"title": {"text": "model servers"}, "overlaying": "y", "side": "right",
                              "showgrid": False, **count_axis(top)})
    _shade_windows(fig, scenario, events, ("spike_started", "fault_started"), GREY, font_size)
    return fig


def error_cost_usd(scenario: Scenario) -> float:
    """Mean cost of one wrong decision: a missed fraud or a false alarm, weighted by how common each is."""
    v = scenario.value
    return v.fraud_rate * v.mean_fraud_amount_usd + (1 - v.fraud_rate) * v.false_alarm_cost_usd


def value_cost_rates(scenario: Scenario, ts: pd.DataFrame, summary: Summary,
                     reviews: pd.DataFrame | None = None) -> pd.DataFrame:
    """Value created and money spent per hour, per time bin: ``t_s, value_usd_per_h, cost_usd_per_h``.

    Value per bin = decisions made x the run's measured value per decision, minus the accuracy
    penalty of each fallback answer (as the summary computes it). Cost per bin is the run's
    cost rate plus human reviews charged when a case enters the queue.
    """
    per_decision = summary.value_usd.per_decision if summary.value_usd is not None else 0.0
    api = scenario.external_api
    penalty = api.default_accuracy_penalty if api.fallback == "default" else api.cached_accuracy_penalty
    width_h = (ts["t_end_s"] - ts["t_s"]).to_numpy(dtype=float) / 3600.0
    width_h = np.where(width_h > 0, width_h, np.nan)
    worth = ts["completions"].to_numpy(dtype=float) * per_decision
    if "degraded" in ts:
        worth = worth - ts["degraded"].to_numpy(dtype=float) * penalty * error_cost_usd(scenario)
    cost = ts["cost_rate_usd_per_h"].to_numpy(dtype=float).copy() if "cost_rate_usd_per_h" in ts \
        else np.zeros(len(ts))
    if reviews is not None and len(reviews) and len(ts):
        edges = np.r_[ts["t_s"].to_numpy(dtype=float), float(ts["t_end_s"].iloc[-1])]
        b = np.clip(np.searchsorted(edges, reviews["enter_s"].to_numpy(dtype=float), side="right") - 1, 0, len(ts) - 1)
        cost = cost + np.bincount(b, minlength=len(ts))[: len(ts)] * scenario.cost.review_usd_per_case / width_h
    return pd.DataFrame({"t_s": ts["t_s"].to_numpy(dtype=float), "value_usd_per_h": worth / width_h,
                         "cost_usd_per_h": cost})


def money_tickformat(top_usd: float) -> str:
    """d3 format for a dollar axis: '$200k' for large values, '$0.60' (not SI '$600m') for small ones."""
    top = _f(top_usd) or 0.0
    if top >= 10_000:
        return "$,.3~s"
    return "$,.0f" if top >= 20 else "$,.2f"


def value_cost_figure(scenario: Scenario, ts: pd.DataFrame, summary: Summary, reviews: pd.DataFrame | None = None,
                      font_size: int = 13) -> go.Figure:
    """Two stacked panels on one clock axis: value created per hour (top), money spent per hour (bottom).

    Separate panels, not two y axes, because value is usually thousands of times the cost and
    a shared axis would flatten the cost line to zero.
    """
    rates = value_cost_rates(scenario, ts, summary, reviews)
    x = clock_axis(scenario, rates["t_s"])
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.14,
                        subplot_titles=("Value of the decisions (USD per hour)", "Money spent (USD per hour)"))
    fig.add_trace(go.Scatter(x=x, y=rates["value_usd_per_h"], name="value of the decisions", mode="lines",
                             line={"color": GREEN}, fill="tozeroy", fillcolor="rgba(44,160,44,0.15)"), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=rates["cost_usd_per_h"], name="total cost", mode="lines",
                             line={"color": RED}), row=2, col=1)
    if "compute_cost_rate_usd_per_h" in ts:
        fig.add_trace(go.Scatter(x=x, y=ts["compute_cost_rate_usd_per_h"], name="of which model servers",
                                 mode="lines", line={"color": BLUE, "dash": "dot", "shape": "hv"}), row=2, col=1)
    fig.update_layout(
        title={"text": "Value created and money spent, per hour"}, font={"size": font_size},
        legend={"orientation": "h", "yanchor": "top", "y": -0.1, "xanchor": "left", "x": 0},
        margin={"l": 70, "r": 20, "t": 90, "b": 50}, hovermode="x unified", height=460 + 6 * (font_size - 13))
    fig.update_xaxes(tickformat="%H:%M", hoverformat="%H:%M:%S")
    fig.update_yaxes(rangemode="tozero")
    fig.update_yaxes(tickformat=money_tickformat(rates["value_usd_per_h"].max()), row=1, col=1)
    fig.update_yaxes(tickformat=money_tickformat(rates["cost_usd_per_h"].max()), row=2, col=1)
    for ann in fig.layout.annotations:  # subplot titles: same size as the rest
        ann.font = {"size": font_size}
    return fig


def cost_tiles(scenario: Scenario, summary: Summary, found: Findings) -> list[Tile]:
    """Money and capacity: the cost, incident-cost and value findings, then servers and machines."""
    tiles = [finding_tile(f) for f in (found.get("cost"), found.get("incident_cost"), found.get("value")) if f]
    cost_f, value_f = found.get("cost"), found.get("value")
    if cost_f is not None and cost_f.evidence.get("monthly_usd") is not None:
        tiles.append(Tile("monthly", "Monthly cost at this pace", money(cost_f.evidence["monthly_usd"]),
                          "This run's spending rate kept up for a whole month: the scenario says its period is a "
                          "typical one.", cost_f.evidence["monthly_usd"], "lower", "usd"))
    if value_f is not None and value_f.evidence.get("ratio") is not None:
        ratio = value_f.evidence["ratio"]
        tiles.append(Tile("return", "Value per $1 spent", money(ratio), value_f.headline, ratio, "higher", "usd"))
    reps = summary.replicas
    hours = measured_hours(scenario)
    if reps is not None:
        text = f"{reps.min}" if reps.min == reps.max else f"{reps.min} to {reps.max}"
        tiles.append(Tile("servers", "Model servers running", text,
                          f"Replicas of the {scenario.vocabulary.model} that were ready to work (the lowest and "
                          "highest count)." + (f" On average {reps.mean:.1f}." if reps.mean is not None else ""),
                          reps.mean, "lower", "count"))
    cost = summary.cost_usd
    if cost is not None and hours > 0:
        tiles.append(Tile("nodes", "Machines (nodes) on average", f"{cost.node_hours / hours:.1f}",
                          f"Cloud machines of type {cost.instance_type} paid for, on average. {cost.replicas_per_node} "
                          "model servers fit on one machine (by memory). Machines, not servers, are what the cloud "
                          "bill counts.", cost.node_hours / hours, "lower", "count"))
    return tiles


def cost_paragraph(scenario: Scenario, summary: Summary, found: Findings, events: pd.DataFrame | None = None) -> str:
    """The cost story: the money findings, then what the money went on and how the servers moved."""
    cost = summary.cost_usd
    if cost is None or cost.total is None:
        return ""
    parts = [f.headline for f in (found.get("cost"), found.get("incident_cost"), found.get("value")) if f]
    items = cost_parts(scenario, cost)
    if items and cost.total > 0:
        label, usd = items[0]
        parts.append(f"The largest item is {label[:1].lower() + label[1:]} ({100 * usd / cost.total:.0f} % of the "
                     f"total).")
    idle, busy = cost.compute_idle or 0.0, cost.compute_busy or 0.0
    if idle + busy > 0 and idle > busy:
        parts.append(f"The model servers stood idle for {100 * idle / (idle + busy):.0f} % of the server time paid "
                     f"for: spare capacity that keeps waits short, at a price.")
    scaling = found.get("scaling")
    if scaling is not None:
        parts.append(scaling.headline)
    elif not scenario.autoscaler.enabled:
        parts.append(f"The number of model servers is fixed at {scenario.inference.replicas} in this scenario "
                     f"(no autoscaler).")
    return " ".join(parts)


PRECISION_WORDS = {"fp32": "full precision (fp32)", "fp16": "half precision (fp16)", "int8": "compressed (int8)"}


def precision_facts(scenario: Scenario, summary: Summary) -> dict[str, float | None]:
    """The numbers the fp32/int8 comparison talks about, from one run's summary."""
    cost, value, model, reps = summary.cost_usd, summary.value_usd, summary.model, summary.replicas
    hours = measured_hours(scenario)
    return {
        "nodes": cost.node_hours / hours if cost is not None and hours > 0 else None,
        "servers": reps.mean if reps is not None else None,
        "memory_gib": reps.memory_gib_per_replica if reps is not None else None,
        "p99_ms": summary.latency_ms.p99,
        "on_time": summary.on_time_fraction,
        "accuracy": model.accuracy if model is not None else None,
        "accuracy_online": model.accuracy_online if model is not None else None,
        "auc": model.auc if model is not None else None,
        "cost_per_1k": cost.per_1k_requests if cost is not None else None,
        "net_per_hour": value.net_per_hour if value is not None else None,
    }


PRECISION_ROWS = (
    ("nodes", "Machines (nodes) on average", lambda v: f"{v:.2f}"),
    ("servers", "Model servers on average", lambda v: f"{v:.1f}"),
    ("memory_gib", "Memory per model server", lambda v: f"{v:.2f} GiB"),
    ("p99_ms", "Slowest 1 % waited over (p99)", short_ms),
    ("on_time", "Answered on time", pct),
    ("accuracy", "Accuracy on held-out test data", lambda v: pct(v, 2)),
    ("accuracy_online", "Accuracy on this run's decisions", lambda v: pct(v, 2)),
    ("cost_per_1k", "Cost per 1,000 decisions", money),
    ("net_per_hour", "Net value per hour", money),
)


def precision_table(facts: dict[str, dict]) -> pd.DataFrame:
    """One row per measure, one column per variant (``facts``: label -> :func:`precision_facts`)."""
    rows = []
    for key, label, fmt in PRECISION_ROWS:
        row = {"measure": label}
        for name, f in facts.items():
            row[name] = "-" if f.get(key) is None else fmt(f[key])
        rows.append(row)
    return pd.DataFrame(rows)


def precision_paragraph(label_a: str, a: dict, label_b: str, b: dict) -> str:
    """What changed between two precisions of the same model, in words (a and b from :func:`precision_facts`)."""
    parts = []
    if a["nodes"] is not None and b["nodes"] is not None:
        same_nodes = abs(a["nodes"] - b["nodes"]) < 0.05
        same_servers = a["servers"] is not None and b["servers"] is not None and abs(a["servers"] - b["servers"]) < 0.05
        if same_nodes and same_servers:
            parts.append(f"With the {label_b} model the service ran on the same {b['nodes']:.1f} machines and "
                         f"{b['servers']:.1f} model servers on average: here the number of servers is set by the "
                         f"plan, not by how fast they are.")
        else:
            parts.append(f"With the {label_b} model the service needed {b['nodes']:.1f} machines on average instead "
                         f"of {a['nodes']:.1f}" + (f" ({b['servers']:.1f} model servers instead of {a['servers']:.1f})"
                                                   if a["servers"] is not None and b["servers"] is not None else "")
                         + ".")
    if a["p99_ms"] is not None and b["p99_ms"] is not None:
        faster = "faster" if b["p99_ms"] < a["p99_ms"] else "slower"
        parts.append(f"Its slowest 1 % of customers waited {short_ms(b['p99_ms'])} instead of "
                     f"{short_ms(a['p99_ms'])} ({faster}).")
    if a["accuracy"] is not None and b["accuracy"] is not None:
        d = 100 * (b["accuracy"] - a["accuracy"])
        size = "practically the same" if abs(d) < 0.5 else ("better" if d > 0 else "worse")
        parts.append(f"Measured on the same held-out test data, its accuracy was {pct(b['accuracy'], 2)} "
                     f"against {pct(a['accuracy'], 2)} ({d:+.2f} points: {size}).")
    if a["net_per_hour"] is not None and b["net_per_hour"] is not None:
        d = b["net_per_hour"] - a["net_per_hour"]
        parts.append(f"Net value came to {money(b['net_per_hour'])} per hour against {money(a['net_per_hour'])} "
                     f"({'+' if d >= 0 else '-'}{money(abs(d))} per hour).")
    return " ".join(parts) if parts else ""


def overlay_figure(runs: list[tuple[str, Scenario, pd.DataFrame]], column: str, title: str, y_title: str,
                   font_size: int = 13, step: bool = False) -> go.Figure:
    """One time-series column of several runs on one clock axis (latency columns in a readable unit)."""
    scale, unit = 1.0, ""
    if column.endswith("_ms"):
        peak = max((float(np.nanmax(ts[column])) for _, _, ts in runs if column in ts and ts[column].notna().any()),
                   default=0.0)
        scale, unit = latency_unit(peak)
        y_title = f"{y_title} ({unit})"
    fig = base_figure(title, y_title, font_size)
    dashes = ["solid", "dash", "dot", "dashdot"]
    for i, (label, sc, ts) in enumerate(runs):
        if column in ts:
            fig.add_trace(go.Scatter(x=clock_axis(sc, ts["t_s"]), y=ts[column] / scale, name=label, mode="lines",
                                     line={"color": PALETTE[i % len(PALETTE)], "dash": dashes[i % len(dashes)],
                                           "shape": "hv" if step else "linear"}))
    return fig


def spread_table(summaries: list[Summary], scenario: Scenario) -> pd.DataFrame:
    """Lowest and highest of the headline numbers across equally likely runs (other seeds).

    The first summary is the run on screen; the range says how much luck alone moves each number.
    A monthly figure appears only for a scenario whose period is typical.
    """
    def cost_per_1k(s: Summary) -> float | None:
        c = s.cost_usd
        return c.total / s.requests.answered * 1000 if c is not None and c.total is not None and \
            s.requests.answered else None

    measures = [
        ("Cost per 1,000 decisions", cost_per_1k, money),
        ("Net value per hour", lambda s: s.value_usd.net_per_hour if s.value_usd is not None else None, money),
        ("Machines (nodes) on average", lambda s: precision_facts(scenario, s)["nodes"], lambda v: f"{v:.2f}"),
        ("Slowest 1 % waited over (p99)", lambda s: s.latency_ms.p99, short_ms),
        ("Answered on time", lambda s: s.on_time_fraction, pct),
    ]
    if scenario.period.kind == "typical":
        measures.insert(1, ("Monthly cost at this pace", lambda s: s.cost_usd.monthly_projection
                            if s.cost_usd is not None else None, money))
    rows = []
    for label, get, fmt in measures:
        values = [v for v in (get(s) for s in summaries) if v is not None]
        if not values:
            continue
        rows.append({"measure": label, "this run": fmt(values[0]) if get(summaries[0]) is not None else "-",
                     f"range over {len(values)} runs": f"{fmt(min(values))} to {fmt(max(values))}"})
    return pd.DataFrame(rows)


# =========================================================================== failure recovery
BREAKER_STYLE = {2: (RED, "safety switch open: calls stopped, fallback answers"),
                 1: (AMBER, "safety switch testing (half-open)"),
                 3: ("#9467bd", "held open by an operator: calls stopped, fallback answers"),
                 -1: (GREY, "operator: switch only recording, never trips"),
                 -2: (GREY, "operator: switch turned off, every call goes through")}


def breaker_bands(ts: pd.DataFrame) -> list[tuple[float, float, int]]:
    """``(start_s, end_s, state)`` runs of consecutive bins whose breaker state is not 0 (closed)."""
    if "breaker_state" not in ts or len(ts) == 0:
        return []
    out: list[tuple[float, float, int]] = []
    for t0, t1, state in zip(ts["t_s"], ts["t_end_s"], ts["breaker_state"].fillna(0).astype(int)):
        if state == 0:
            continue
        if out and out[-1][2] == state and abs(out[-1][1] - t0) < 1e-9:
            out[-1] = (out[-1][0], float(t1), state)
        else:
            out.append((float(t0), float(t1), int(state)))
    return out


def latency_breaker_figure(scenario: Scenario, ts: pd.DataFrame, events: pd.DataFrame | None = None,
                           font_size: int = 13) -> go.Figure:
    """Customer wait (p50, p99) with the breaker's state as shaded bands and the fault windows named."""
    cols = [c for c in ("latency_p50_ms", "latency_p99_ms") if c in ts]
    peak = max([float(np.nanmax(ts[c])) if ts[c].notna().any() else 0.0 for c in cols] + [scenario.slo_latency_ms])
    div, unit = latency_unit(peak)
    bands = breaker_bands(ts)
    has_breaker = scenario.external_api.enabled and scenario.external_api.breaker.enabled
    title = "Customer wait, with the safety switch's state" if has_breaker or bands else "How long customers waited"
    fig = base_figure(title, f"wait ({unit})", font_size)
    x = clock_axis(scenario, ts["t_s"])
    for col, name, colour in (("latency_p50_ms", "typical customer (p50)", GREEN),
                              ("latency_p99_ms", "slowest 1 % (p99)", RED)):
        if col in ts:
            fig.add_trace(go.Scatter(x=x, y=ts[col] / div, name=name, mode="lines", line={"color": colour}))
    slo = scenario.slo_latency_ms / div
    if len(x):
        fig.add_trace(go.Scatter(x=[x[0], x[-1]], y=[slo, slo], name=f"promised time ({slo:g} {unit})", mode="lines",
                                 line={"color": "#555", "dash": "dash", "width": 1}))
    if "fallback_answers" in ts and float(ts["fallback_answers"].sum()) > 0:
        share = 100 * ts["fallback_answers"] / ts["completions"].where(ts["completions"] > 0)
        fig.add_trace(go.Scatter(x=x, y=share, name="% answered by a fallback (right axis)", mode="lines",
                                 line={"color": PALETTE[4], "dash": "dot"}, yaxis="y2"))
        fig.update_layout(yaxis2={"title": {"text": "% fallback answers"}, "overlaying": "y", "side": "right",
                                  "range": [0, 100], "dtick": 25, "showgrid": False})
    seen = set()
    for start, end, state in bands:
        colour, label = BREAKER_STYLE.get(state, (GREY, "breaker"))
        x0, x1 = clock_axis(scenario, [start, end])
        fig.add_vrect(x0=x0, x1=x1, fillcolor=colour, opacity=0.18, line_width=0, layer="below")
        if state not in seen:
            _legend_swatch(fig, label, colour)
            seen.add(state)
    _shade_windows(fig, scenario, events, ("fault_started",), GREY, font_size)
    return fig


PHASES = (
    ("noticing", "until the system noticed", AMBER),
    ("reacting", "until customers were served again", RED),
    ("protected", "fault continues, customers served", "#98df8a"),
    ("returning", "returning to normal", "#9ecae1"),
)
MILESTONES = (
    ("started_s", "fault starts", "x", RED),
    ("detected_s", "noticed", "diamond", AMBER),
    ("mitigated_s", "customers served again", "circle", GREEN),
    ("ended_s", "fault ends", "line-ns", "#333"),
    ("recovered_s", "back to normal", "star", GREEN),
)


def recovery_phases(rec: FaultRecovery, end_s: float) -> list[tuple[str, float, float]]:
    """``(phase, start_s, end_s)`` of one fault record, skipping phases that did not happen.

    noticing: fault start -> detection; reacting: detection (or start) -> customers served
    again; protected: -> fault end; returning: -> back to normal (the end of the run if never).
    """
    start, detected, mitigated = rec.started_s, rec.detected_s, rec.mitigated_s
    ended, recovered = rec.ended_s, rec.recovered_s
    out = []
    if detected is not None and detected > start:
        out.append(("noticing", start, detected))
    react_from = detected if detected is not None and detected >= start else start
    react_to = mitigated if mitigated is not None else (ended if ended is not None else end_s)
    if react_to > react_from:
        out.append(("reacting", react_from, react_to))
    if mitigated is not None and ended is not None and ended > mitigated:
        out.append(("protected", mitigated, ended))
    back_from = max(x for x in (ended, mitigated, react_to) if x is not None)
    back_to = recovered if recovered is not None else end_s
    if back_to > back_from:
        out.append(("returning", back_from, back_to))
    return out


def fault_label(scenario: Scenario, rec: FaultRecovery) -> str:
    """'Weather service outage' (the fault's name, capitalised)."""
    name = rec.fault or "fault"
    return name[:1].upper() + name[1:]


def recovery_timeline_figure(scenario: Scenario, recovery: tuple[FaultRecovery, ...], font_size: int = 13) -> go.Figure:
    """Gantt-like chart: one row per fault, coloured phases from fault to back-to-normal.

    Milestones (fault starts, noticed, served again, fault ends, back to normal) are markers
    with their clock time written above or below the bar; labels of milestones only seconds
    apart go to alternating sides and heights so they never sit on top of each other.
    """
    fig = base_figure("From fault to recovery", "", font_size)
    rows = [fault_label(scenario, r) for r in recovery]
    shown = set()
    colours = {key: colour for key, _, colour in PHASES}
    names = {key: name for key, name, _ in PHASES}
    for i, rec in enumerate(recovery):
        for phase, t0, t1 in recovery_phases(rec, scenario.duration_s):
            fig.add_trace(go.Bar(
                y=[i], x=[(t1 - t0) * 1000.0], base=[clock_axis(scenario, [t0])[0]], orientation="h",
                name=names[phase], marker={"color": colours[phase]}, showlegend=phase not in shown,
                legendgroup=phase, width=0.36,
                hovertext=f"{names[phase]}: {clock_hms(scenario, t0)} to {clock_hms(scenario, t1)} "
                          f"({human_duration(t1 - t0)})", hoverinfo="text"))
            shown.add(phase)
    offsets_px = (46, -46, 72, -72)   # above, below, further above, further below (px from the bar's centre)
    label_font = {"size": max(10, font_size - 2)}
    for i, rec in enumerate(recovery):
        points = sorted((t, order, name, symbol, colour) for order, (key, name, symbol, colour) in enumerate(MILESTONES)
                        for t in [getattr(rec, key)] if t is not None)
        for k, (t, _, name, symbol, colour) in enumerate(points):
            xi = clock_axis(scenario, [t])[0]
            fig.add_trace(go.Scatter(x=[xi], y=[i], mode="markers", name=name, showlegend=False,
                                     hovertext=f"{name}: {clock_hms(scenario, t)}", hoverinfo="text",
                                     marker={"symbol": symbol, "size": 13, "color": colour,
                                             "line": {"width": 2, "color": colour}}))
            fig.add_annotation(x=xi, y=i, text=f"{clock_hms(scenario, t)} {name}", showarrow=False,
                               yshift=offsets_px[k % len(offsets_px)], font={**label_font, "color": colour},
                               xanchor="center")
    times = [t for rec in recovery for t in (getattr(rec, k) for k, *_ in MILESTONES) if t is not None]
    if times:
        lo, hi = min(times), max(times)
        pad = max(60.0, 0.12 * (hi - lo))
        fig.update_xaxes(range=list(clock_axis(scenario, [max(0.0, lo - pad), min(scenario.duration_s, hi + pad)])),
                         tickformat="%H:%M:%S" if hi - lo + 2 * pad < 900 else "%H:%M")
    fig.update_layout(barmode="overlay", hovermode="closest", xaxis={"type": "date"},
                      yaxis={"title": {"text": ""}, "tickmode": "array", "tickvals": list(range(len(rows))),
                             "ticktext": rows, "range": [len(rows) - 0.4, -0.6], "automargin": True,
                             "rangemode": None, "showgrid": False, "zeroline": False},
                      height=max(340, 200 + 190 * len(rows)) + 6 * (font_size - 13))
    return fig


def resolution_note(bin_s: float) -> str:
    """How precise the recovery times are."""
    return (f"Recovery times are read from {bin_s:g}-second slices of the run, so they are accurate to about "
            f"{bin_s:g} s." if bin_s > 0 else "")


def customers_affected(summary: Summary) -> dict[str, int]:
    """Measured-period counts: ``failed`` (no answer), ``late`` (answered after the promised time),
    ``affected`` (failed + late), ``fallback`` answers, and ``finished`` requests.

    Uses the summary's rule that a failed request counts as late: affected = finished x (1 - on time).
    """
    req = summary.requests
    on_time = summary.on_time_fraction
    affected = int(round(req.finished * (1.0 - on_time))) if on_time is not None else 0
    return {"finished": req.finished, "failed": req.failed, "late": max(0, affected - req.failed),
            "affected": affected, "fallback": req.degraded}


def protection_paragraph(what: str, with_sum: Summary, without_sum: Summary) -> str:
    """What a protection (the safety switch, fallbacks) was worth, from the same run with and without it."""
    a, b = customers_affected(with_sum), customers_affected(without_sum)
    diff = b["affected"] - a["affected"]
    parts = [f"Without {what}, {b['affected']:,} customers got an error or waited longer than promised "
             f"({b['failed']:,} errors, {b['late']:,} late answers), against {a['affected']:,} with it."]
    if diff > 0:
        parts.append(f"So {what} spared {diff:,} customers in this run.")
    elif diff < 0:
        parts.append(f"In this run {what} did not help: {-diff:,} more customers were affected with it.")
    else:
        parts.append("In this run it made no difference to customers.")
    if b["fallback"] != a["fallback"]:
        parts.append(f"Fallback answers: {b['fallback']:,} without it, {a['fallback']:,} with it.")
    return " ".join(parts)


def protection_tiles(summary: Summary) -> list[Tile]:
    """Customers affected, errors, late answers and fallback answers: the tiles a with/without rerun compares."""
    a = customers_affected(summary)
    return [
        Tile("affected", "Customers with an error or a late answer", f"{a['affected']:,}",
             "Customers who got an error or waited longer than the promised time.", float(a["affected"]), "lower",
             "count"),
        Tile("failed", "Errors", f"{a['failed']:,}", "Customers who got no answer at all.", float(a["failed"]),
             "lower", "count"),
        Tile("late", "Late answers", f"{a['late']:,}", "Customers answered, but after the promised time.",
             float(a["late"]), "lower", "count"),
        Tile("fallback", "Fallback answers", f"{a['fallback']:,}",
             "Customers answered from the last known value (or a default) instead of the live service. Neither "
             "better nor worse on its own: a fallback beats an error, the live answer beats a fallback.",
             float(a["fallback"]), None, "count"),
    ]


CANARY_VERDICT = {"promoted": ("new version promoted", GREEN, "star"),
                  "rolled_back": ("rolled back", RED, "x"),
                  "in_progress": ("still being checked", AMBER, "circle")}


def canary_figure(scenario: Scenario, ts: pd.DataFrame, events: pd.DataFrame | None = None,
                  font_size: int = 13) -> go.Figure:
    """The new version's share of traffic over time, failed checks and the verdict marked."""
    fig = base_figure("New model version's share of traffic (canary)", "% of customers", font_size)
    x = clock_axis(scenario, ts["t_s"])
    weight = ts["canary_weight_pct"] if "canary_weight_pct" in ts else pd.Series(np.zeros(len(ts)))
    fig.add_trace(go.Scatter(x=x, y=weight, name="share of customers on the new version", mode="lines",
                             line={"color": PALETTE[4], "shape": "hv", "width": 2.5}, fill="tozeroy",
                             fillcolor="rgba(148,103,189,0.15)"))
    ev = events if events is not None else pd.DataFrame(columns=["t_s", "kind", "component", "detail"])
    t_bins = ts["t_s"].to_numpy(dtype=float)

    def weight_at(t: float) -> float:
        i = int(np.searchsorted(t_bins, t, side="right")) - 1
        return float(weight.iloc[max(0, min(i, len(weight) - 1))]) if len(weight) else 0.0

    failed = ev[ev["kind"] == "canary_check_failed"]
    if len(failed):
        fig.add_trace(go.Scatter(
            x=clock_axis(scenario, failed["t_s"]), y=[max(weight_at(t), 1.0) for t in failed["t_s"]],
            mode="markers", name="automatic check failed",
            marker={"symbol": "x-thin", "size": 12, "color": "#e377c2", "line": {"width": 3, "color": "#e377c2"}},
            hovertext=[f"{clock_hms(scenario, t)}: {d}" for t, d in zip(failed["t_s"], failed["detail"])],
            hoverinfo="text"))
    top = max(float(np.nanmax(weight)) if len(weight) else 0.0, float(scenario.canary.max_weight_pct), 5.0)
    for kind, outcome in (("canary_promoted", "promoted"), ("canary_rolled_back", "rolled_back")):
        for t in ev.loc[ev["kind"] == kind, "t_s"]:
            label, colour, symbol = CANARY_VERDICT[outcome]
            xi = clock_axis(scenario, [t])[0]
            fig.add_trace(go.Scatter(x=[xi], y=[weight_at(t - 1e-6)], mode="markers", name=label,
                                     marker={"symbol": symbol, "size": 18, "color": colour,
                                             "line": {"width": 2, "color": colour}},
                                     hovertext=f"{clock_hms(scenario, t)}: {label}", hoverinfo="text"))
            fig.add_annotation(x=xi, y=weight_at(t - 1e-6), text=f"{label} at {clock(scenario, t)}", showarrow=True,
                               arrowhead=0, ax=40, ay=-40, font={"color": colour, "size": font_size})
    if len(x):
        planned = float(scenario.canary.max_weight_pct)
        fig.add_trace(go.Scatter(x=[x[0], x[-1]], y=[planned, planned], mode="lines",
                                 name=f"planned maximum share ({planned:g} %)",
                                 line={"color": PALETTE[4], "dash": "dot", "width": 1}))
    fig.update_layout(yaxis={"range": [0, top * 1.25], "rangemode": None})
    return fig


def stage_columns(ts: pd.DataFrame) -> list[str]:
    """The ``stage_<stage>_ms`` columns that carry time (not all zero or empty)."""
    return [c for c in ts.columns if c.startswith("stage_") and c.endswith("_ms")
            and ts[c].notna().any() and float(ts[c].fillna(0).abs().sum()) > 0]


STAGE_COLOURS = {"ingestion": PALETTE[4], "feature_store": GREEN, "external_api": AMBER, "inference": BLUE}


def stage_time_figure(scenario: Scenario, ts: pd.DataFrame, where: dict | None = None,
                      font_size: int = 13) -> go.Figure:
    """Where did the time go: mean time per request in each stage, stacked, calm and slow windows shaded."""
    cols = stage_columns(ts)
    total = ts[cols].sum(axis=1) if cols else pd.Series(np.zeros(len(ts)))
    div, unit = latency_unit(float(np.nanmax(total)) if len(total) else 0.0)
    fig = base_figure("Where did the time go? Time per request in each stage", f"time per request ({unit})",
                      font_size)
    x = clock_axis(scenario, ts["t_s"])
    for col in cols:
        stage = col[len("stage_"):-len("_ms")]
        fig.add_trace(go.Scatter(x=x, y=ts[col] / div, name=stage_title(scenario, stage), mode="lines",
                                 stackgroup="stages", line={"width": 0.5, "color": STAGE_COLOURS.get(stage, GREY)}))
    if where:
        for key, label, colour in (("baseline_window_s", "calm period", GREY), ("slow_window_s", "slow period", RED)):
            window = where.get(key)
            if window and len(window) == 2:
                x0, x1 = clock_axis(scenario, [float(window[0]), float(window[1])])
                fig.add_vrect(x0=x0, x1=x1, fillcolor=colour, opacity=0.08, line_width=0, layer="below")
                fig.add_annotation(x=x0, y=1.0, yref="paper", xanchor="left", yanchor="bottom", text=label,
                                   showarrow=False, font={"size": max(10, font_size - 2), "color": colour})
    return fig


def recovery_tiles(scenario: Scenario, summary: Summary, found: Findings) -> list[Tile]:
    """Each incident and release finding as a tile, then the timings of the first fault and the
    customers affected over the whole run."""
    tiles = [finding_tile(f) for f in (*found.of("incident"), *found.of("release"))]
    recs = summary.recovery
    if recs:
        rec = recs[0]
        which = "" if len(recs) == 1 else " (first fault)"
        start, detected, mitigated = rec.started_s, rec.detected_s, rec.mitigated_s
        noticed = "not noticed" if detected is None else (
            "at once" if detected - start < 0.5 else duration_words(detected - start))
        prepared = rec.prepared_s is not None
        if prepared:
            noticed = "in advance"
        tiles.append(Tile("noticed", "Time to notice" + which, noticed,
                          "Time from the fault starting to the first automatic reaction (the safety switch opening, "
                          "a rollback, a replacement server). 'In advance': an operator held the safety switch "
                          "open before the fault began.", None if detected is None else detected - start,
                          "lower", "s"))
        served_again = duration_words(mitigated - start) if mitigated is not None else "not by the end"
        if prepared and mitigated is not None and mitigated <= start:
            served_again = "throughout"
        tiles.append(Tile("served_again", "Served again after" + which, served_again,
                          "Time from the fault starting until 99 % of customers got an answer within the promised "
                          "time again (fallback answers count). Accurate to one time slice.",
                          None if mitigated is None else mitigated - start, "lower", "s"))
    aff = customers_affected(summary)
    if aff["finished"]:
        tiles.append(Tile("affected", "Error or late answer", f"{aff['affected']:,}",
                          f"Out of {aff['finished']:,} {scenario.vocabulary.customers} in the measured period: "
                          f"{aff['failed']:,} got an error, {aff['late']:,} waited longer than promised.",
                          float(aff["affected"]), "lower", "count"))
    breaker = summary.breaker
    if breaker.enabled and breaker.opened:
        tiles.append(Tile("breaker", "Safety switch tripped", f"{breaker.opened:,} times",
                          "How often the circuit breaker opened (including re-opening after a failed test). "
                          f"It stayed open {duration_words(breaker.open_s_total)} in total.",
                          float(breaker.opened), None, "count"))
    return tiles


# =========================================================================== fairness & governance
def di_figure(scenario: Scenario, fair: pd.DataFrame, events: pd.DataFrame | None = None,
              font_size: int = 13) -> go.Figure:
    """Disparate impact per window with its confidence band, the four-fifths line and flagged windows."""
    cfg = scenario.fairness
    fig = base_figure("Approval-rate ratio between regions (disparate impact)", "lowest ÷ highest approval rate",
                      font_size)
    x = clock_axis(scenario, fair["t_s"])
    lo, hi = fair["ratio_lo"].to_numpy(dtype=float), fair["ratio_hi"].to_numpy(dtype=float)
    fig.add_trace(go.Scatter(x=x, y=hi, mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip",
                             name="upper"))
    fig.add_trace(go.Scatter(x=x, y=lo, mode="lines", line={"width": 0}, fill="tonexty",
                             fillcolor="rgba(11,95,255,0.15)", name="95 % confidence band", hoverinfo="skip"))
    hover = []
    for r in fair.itertuples():
        worst, comp = getattr(r, "worst_group", ""), getattr(r, "comparison_group", "")
        rw, rc = getattr(r, f"rate_{worst}", None), getattr(r, f"rate_{comp}", None)
        rates = f"{worst} approved {pct(rw, 0)} vs {comp} {pct(rc, 0)}; " if rw is not None and rc is not None else ""
        hover.append(f"window {clock(scenario, r.t_s - cfg.window_s)} to {clock(scenario, r.t_s)}: {rates}"
                     f"ratio {r.ratio:.2f} (95 % CI {r.ratio_lo:.2f} to {r.ratio_hi:.2f})")
    fig.add_trace(go.Scatter(x=x, y=fair["ratio"], mode="lines+markers", name="ratio per window",
                             line={"color": BLUE}, marker={"size": 7}, hovertext=hover, hoverinfo="text"))
    flagged = fair[fair["flagged"].astype(bool)] if "flagged" in fair else fair.iloc[0:0]
    if len(flagged):
        fig.add_trace(go.Scatter(x=clock_axis(scenario, flagged["t_s"]), y=flagged["ratio"], mode="markers",
                                 name="flagged: decisions sent to human review",
                                 marker={"symbol": "circle-open", "size": 16, "color": RED, "line": {"width": 3}},
                                 hoverinfo="skip"))
    if len(x):
        fig.add_trace(go.Scatter(x=[x[0], x[-1]], y=[cfg.threshold] * 2, mode="lines",
                                 name=f"four-fifths line ({cfg.threshold:g})",
                                 line={"color": RED, "dash": "dash", "width": 2}))
    top = max(1.05, float(np.nanmax(hi)) * 1.05 if len(hi) and np.isfinite(hi).any() else 1.05)
    mark_events(fig, scenario, events, font_size)
    fig.update_layout(yaxis={"range": [0, top * 1.05], "rangemode": None}, height=430 + 10 * (font_size - 13))
    return fig


GOVERNANCE_EVENTS = {  # kind -> (short label, colour); the flag period itself is a shaded band
    "drift_detected": ("drift detected", AMBER),
    "retraining_finished": ("retrained model ready", BLUE),
    "canary_promoted": ("new model promoted", GREEN),
    "canary_rolled_back": ("new model rolled back", RED),
    "model_deployed": ("model deployed", BLUE),
}


def mark_events(fig: go.Figure, scenario: Scenario, events: pd.DataFrame | None, font_size: int = 13) -> go.Figure:
    """Fairness flag periods as shaded bands, and drift, retraining and releases as labelled dashed lines.

    Labels sit on three heights above the plot so neighbouring ones do not overlap, even with
    the larger presentation font.
    """
    if events is None or len(events) == 0:
        return fig
    marks = []
    for start, end, kind, _, _label in event_windows(events, scenario.duration_s):
        if kind == "fairness_flagged":
            x0, x1 = clock_axis(scenario, [start, end])
            colour = EVENT_STYLE.get(kind, (RED,))[0]
            fig.add_vrect(x0=x0, x1=x1, fillcolor=colour, opacity=0.10, line_width=0, layer="below")
            marks.append((start, "fairness flag up", colour))
    for e in events[events["kind"].isin(list(GOVERNANCE_EVENTS))].itertuples():
        label, colour = GOVERNANCE_EVENTS[str(e.kind)]
        xi = clock_axis(scenario, [float(e.t_s)])[0]
        fig.add_shape(type="line", x0=xi, x1=xi, y0=0, y1=1, yref="paper",
                      line={"color": colour, "width": 1.5, "dash": "dash"})
        marks.append((float(e.t_s), label, colour))
    for i, (t, label, colour) in enumerate(sorted(marks)):
        fig.add_annotation(x=clock_axis(scenario, [t])[0], y=1.0, yref="paper", xanchor="left", yanchor="bottom",
                           text=label, showarrow=False, font={"size": max(10, font_size - 2), "color": colour},
                           yshift=2 + (font_size + 3) * (i % 3))
    fig.update_layout(margin={"t": 100 + 3 * (font_size + 3)})
    return fig


def group_rates_figure(scenario: Scenario, fair: pd.DataFrame, font_size: int = 13) -> go.Figure:
    """Approval rate of each region per monitoring window."""
    fig = base_figure("Approval rate per region, per monitoring window", "% approved", font_size)
    x = clock_axis(scenario, fair["t_s"])
    groups = [c[len("rate_"):] for c in fair.columns if c.startswith("rate_")]
    for i, g in enumerate(groups):
        fig.add_trace(go.Scatter(x=x, y=100 * fair[f"rate_{g}"], name=g, mode="lines+markers",
                                 line={"color": PALETTE[i % len(PALETTE)]}))
    return fig


def approval_rates_figure(rates: dict[str, float], threshold: float = 0.8, font_size: int = 13) -> go.Figure:
    """Whole-run approval rate per group, with four fifths of the highest rate as the line to stay above."""
    fig = base_figure("Approval rate per region (whole run)", "% approved", font_size)
    groups = [g for g, r in rates.items() if _f(r) is not None]
    values = [100 * float(rates[g]) for g in groups]
    best = max(values) if values else 0.0
    fig.add_trace(go.Bar(x=groups, y=values, name="approved", showlegend=False,
                         marker={"color": [RED if v < threshold * best else BLUE for v in values]},
                         text=[f"{v:.1f} %" for v in values], textposition="outside", cliponaxis=False,
                         hovertemplate="%{x}: %{y:.1f} % approved<extra></extra>"))
    if groups:
        fig.add_trace(go.Scatter(x=groups, y=[threshold * best] * len(groups), mode="lines",
                                 name=f"{threshold:g} × the highest rate (four-fifths rule)",
                                 line={"color": RED, "dash": "dash", "width": 2}))
    fig.update_layout(hovermode="closest", xaxis={"tickformat": None, "type": "category"},
                      yaxis={"range": [0, best * 1.18 + 1], "rangemode": None})
    return fig


def review_backlog(reviews: pd.DataFrame) -> pd.DataFrame:
    """Cases waiting for a reviewer: ``t_s, waiting`` after all changes at each distinct time
    (+1 when a case enters, -1 when a reviewer picks it up; a case taken at once never counts)."""
    if reviews is None or len(reviews) == 0:
        return pd.DataFrame({"t_s": [], "waiting": []})
    enter = reviews["enter_s"].to_numpy(dtype=float)
    start = reviews["start_s"].to_numpy(dtype=float)
    start = start[~np.isnan(start)]
    t = np.concatenate([enter, start])
    d = np.concatenate([np.ones(len(enter)), -np.ones(len(start))])
    order = np.argsort(t, kind="stable")
    t, level = t[order], np.cumsum(d[order])
    last = np.r_[t[1:] != t[:-1], True]          # the last change at each distinct time
    return pd.DataFrame({"t_s": t[last], "waiting": level[last].astype(int)})


def review_backlog_figure(scenario: Scenario, reviews: pd.DataFrame, reviewers: pd.DataFrame | None = None,
                          font_size: int = 13) -> go.Figure:
    """Cases waiting for a human reviewer over time, with the reviewers on duty (right axis)."""
    fig = base_figure("Cases waiting for a human reviewer", "cases waiting", font_size)
    backlog = review_backlog(reviews)
    t = np.r_[0.0, backlog["t_s"].to_numpy(dtype=float), scenario.duration_s]
    y = np.r_[0, backlog["waiting"].to_numpy(), backlog["waiting"].iloc[-1] if len(backlog) else 0]
    fig.add_trace(go.Scatter(x=clock_axis(scenario, t), y=y, name="cases waiting", mode="lines",
                             line={"color": RED, "shape": "hv"}, fill="tozeroy", fillcolor="rgba(214,39,40,0.12)"))
    if reviewers is not None and len(reviewers):
        rt = np.r_[reviewers["t_s"].to_numpy(dtype=float), scenario.duration_s]
        ry = np.r_[reviewers["reviewers"].to_numpy(dtype=float), float(reviewers["reviewers"].iloc[-1])]
        fig.add_trace(go.Scatter(x=clock_axis(scenario, rt), y=ry, name="reviewers on duty (right axis)",
                                 mode="lines", line={"color": BLUE, "shape": "hv", "width": 2.5}, yaxis="y2"))
        fig.update_layout(yaxis2={"title": {"text": "reviewers on duty"}, "overlaying": "y", "side": "right",
                                  "showgrid": False, **count_axis(max(ry) * 1.2)})
    return fig


def fairness_tiles(scenario: Scenario, summary: Summary, found: Findings,
                   fair: pd.DataFrame | None = None) -> list[Tile]:
    """The fairness and review findings, then the numbers behind them and live accuracy."""
    tiles = [finding_tile(f) for f in (found.get("fairness"), found.get("review")) if f]
    f, review, model = summary.fairness, summary.review, summary.model
    if f is not None and f.enabled:
        fairness = found.get("fairness")
        first = fairness.evidence.get("first_flag_s") if fairness is not None else None
        shock = min((d.start_s for d in scenario.drift.covariate), default=None)
        after = f" ({human_duration(first - shock)} after the shock)" if first is not None and shock is not None \
            and first >= shock else ""
        tiles.append(Tile("first_flag", "First flagged at" + after,
                          "never" if first is None else clock(scenario, first),
                          "When the monitor first raised a flag. It checks once per window "
                          f"({human_duration(scenario.fairness.window_s)}), so it cannot be faster than that.",
                          first, "lower", "s"))
        tiles.append(Tile("windows", "Windows flagged", f"{f.flagged_windows} of {f.windows}",
                          "Monitoring windows in which the approval gap was flagged.", float(f.flagged_windows),
                          "lower", "count"))
    if review is not None and review.cases:
        tiles.append(Tile("cases", f"{scenario.vocabulary.decision.capitalize()}s sent to review", f"{review.cases:,}",
                          f"{review.done:,} were reviewed by the end of the run; at most {review.backlog_max:,} were "
                          "waiting at once.", float(review.cases), None, "count"))
        tiles.append(Tile("review_cost", "Cost of human review", money(review.cost_usd),
                          f"{review.cases:,} cases at {money(scenario.cost.review_usd_per_case)} each (illustrative "
                          "price).", review.cost_usd, "lower", "usd"))
    if model is not None and model.accuracy_online is not None:
        tiles.append(Tile("accuracy", "Accuracy on live traffic", pct(model.accuracy_online),
                          "Share of this run's decisions that matched the true outcome, against "
                          f"{pct(model.accuracy)} on the held-out test data the model was checked on before release.",
                          model.accuracy_online, "higher", "pct"))
    return tiles


def fairness_paragraph(scenario: Scenario, found: Findings) -> str:
    """How the monitor works, then what it found, the review load, drift and the release that fixed it."""
    cfg, v = scenario.fairness, scenario.vocabulary
    if not cfg.enabled:
        return ""
    parts = [f"Every {human_duration(cfg.window_s)} the monitor compares the share of {v.customers} {v.approved} in "
             f"each region. If the lowest rate falls below {cfg.threshold:g} times the highest"
             + (" and the whole confidence interval is below that line (so it is not just chance)"
                if cfg.require_significance else "")
             + ", it raises a flag and sends that region's "
             + (f"{v.rejected} {v.requests}" if cfg.review_mode == "rejections" else v.decision + "s")
             + " to human reviewers."]
    parts += [f.headline for f in (found.get("fairness"), found.get("drift"), found.get("release")) if f]
    return " ".join(parts)


def model_quality_table(scenario: Scenario, summary: Summary) -> pd.DataFrame:
    """Offline (held-out test data) against live (this run's traffic) model quality."""
    m, v = summary.model, scenario.vocabulary
    if m is None:
        return pd.DataFrame(columns=["measure", "before release (test data)", "live, in this run", "change"])
    rows = [("Accuracy (right decisions)", "accuracy", "accuracy_online"),
            (f"Bad cases caught ({v.caught}; recall)", "fraud_recall", "fraud_recall_online"),
            (f"False alarms ({v.false_alarm})", "false_alarm_rate", "false_alarm_rate_online")]
    out = []
    for label, off, live in rows:
        a, b = _f(getattr(m, off)), _f(getattr(m, live))
        if a is None and b is None:
            continue
        out.append({"measure": label, "before release (test data)": pct(a), "live, in this run": pct(b),
                    "change": "-" if a is None or b is None else f"{100 * (b - a):+.1f} points"})
    return pd.DataFrame(out)


def skew_sentence(scenario: Scenario, summary: Summary) -> str:
    """Why live accuracy differs from the test accuracy, where the feature store explains it."""
    m = summary.model
    acc, live = (m.accuracy, m.accuracy_online) if m is not None else (None, None)
    if acc is None or live is None:
        return ""
    d = 100 * (live - acc)
    mode = scenario.feature_store.mode
    if mode == "compute":
        why = ("This service has no feature store: customer features are computed on the spot, slightly "
               "differently from how the training data was prepared (training-serving skew), so the model sees "
               "numbers it was not trained on.")
    elif mode == "off":
        why = "This service uses no customer features from a store, so the model works with less information."
    else:
        why = ("Features come from the feature store, computed the same way as for training; they can be a little "
               "stale between refreshes.")
    return (f"On this run's {scenario.vocabulary.requests} the model was right {pct(live)} of the time, against "
            f"{pct(acc)} on its "
            f"test data before release ({d:+.1f} points). {why}")


ACTION_WORDS = {"deploy": "model deployed", "deploy_canary": "new version released as a canary",
                "promote": "new version promoted", "rollback": "release rolled back",
                "retrain_requested": "retraining requested", "retrain": "model retrained",
                "approve_deploy": "release approved by a person", "fairness_flag": "fairness flag raised",
                "fairness_clear": "fairness flag cleared", "review_decision": "review decision",
                "threshold_change": "decision threshold changed"}


def _feature_words(text: str) -> str:
    """'PSI 0.12 on income_k_usd' -> 'PSI 0.12 on income': feature names in words."""
    for name, words in FEATURE_WORDS.items():
        text = text.replace(name, words)
    return text


def audit_table(scenario: Scenario, audit: pd.DataFrame) -> pd.DataFrame:
    """The audit log with clock times and plain action names."""
    if audit is None or len(audit) == 0:
        return pd.DataFrame(columns=["time", "action", "who", "detail"])
    return pd.DataFrame({
        "time": [clock(scenario, t) for t in audit["t_s"]],
        "action": [ACTION_WORDS.get(str(a), str(a).replace("_", " ")) for a in audit["action"]],
        "who": audit["role"].astype(str),
        "detail": [_feature_words(str(d)) for d in audit["detail"]],
    })


def audit_summary(audit: pd.DataFrame) -> str:
    """'342 review decisions (reviewer), 1 model deployed (automation)': what the log holds."""
    if audit is None or len(audit) == 0:
        return "The audit log is empty."
    counts = audit.groupby(["action", "role"], sort=False).size().sort_values(ascending=False)
    items = [f"{n:,} × {ACTION_WORDS.get(str(a), str(a).replace('_', ' '))} ({r})" for (a, r), n in counts.items()]
    return f"{len(audit):,} {'entry' if len(audit) == 1 else 'entries'}: " + ", ".join(items) + "."


def explanation_examples(scenario: Scenario, explanations: pd.DataFrame, requests: pd.DataFrame,
                         n: int = 6, focus_group: str | None = None, after_s: float | None = None) -> pd.DataFrame:
    """A few explained decisions in plain words, shown in time order.

    Preference: rejections before approvals, then decisions at or after ``after_s`` (e.g. the
    first fairness flag), then decisions in ``focus_group``.
    """
    if explanations is None or len(explanations) == 0:
        return pd.DataFrame(columns=["time", "region", "decision", "why"])
    if "request_id" not in requests:  # the requests frame's index is the request id
        requests = requests.rename_axis("request_id").reset_index()
    cols = [c for c in ("request_id", "arrival_s", "region") if c in requests]
    merged = explanations.merge(requests[cols], on="request_id", how="left")
    region = merged["region"].astype(str) if "region" in merged else pd.Series([""] * len(merged))
    arrival = merged["arrival_s"].to_numpy(dtype=float) if "arrival_s" in merged else np.zeros(len(merged))
    late_enough = arrival >= after_s if after_s is not None else np.ones(len(merged), bool)
    key = (np.where(merged["approved"].astype(bool), 4, 0) + np.where(late_enough, 0, 2)
           + np.where(region == str(focus_group), 0, 1))
    picked = merged.assign(_key=key).sort_values(["_key", "request_id"], kind="stable").head(n)
    picked = picked.sort_values("request_id", kind="stable")
    return pd.DataFrame({
        "time": [clock_hms(scenario, t) if _f(t) is not None else "-" for t in picked.get("arrival_s", [])],
        "region": picked["region"].astype(str).to_numpy() if "region" in picked else "",
        "decision": np.where(picked["approved"].astype(bool), "approved", "rejected"),
        "why": picked["reason"].astype(str).str.replace(r"^(approved|rejected) ", "", regex=True).to_numpy(),
    })
