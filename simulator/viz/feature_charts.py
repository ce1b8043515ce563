"""Figures, tiles and sentences for the Cost & capacity, Failure recovery and Fairness pages.

Pure: a run's frames and summary in, plotly figures, KPI tiles, small tables or sentences out;
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

from simulator.report.words import clock, human_duration, money, pct, short_ms, stage_name, stage_title
from simulator.scenario.config import Scenario
from simulator.viz.charts import EVENT_STYLE, PALETTE, _base_figure, clock_axis, event_windows, latency_unit
from simulator.viz.kpis import Tile

GREEN, RED, AMBER, GREY, BLUE = "#2ca02c", "#d62728", "#ff7f0e", "#7f7f7f", "#0B5FFF"


# =========================================================================== shared helpers
def _f(x: Any) -> float | None:
    """A finite float, else None (summary values may be None, NaN or missing)."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def clock_hms(scenario: Scenario, t_s: float) -> str:
    """'14:20:01': clock time with seconds, for events only seconds apart."""
    total_s = int(round(scenario.start_time_of_day_h * 3600 + float(t_s))) % (24 * 3600)
    return f"{total_s // 3600:02d}:{total_s % 3600 // 60:02d}:{total_s % 60:02d}"


def clock_auto(scenario: Scenario, t_s: float) -> str:
    """'14:40' on a whole minute, '14:40:30' otherwise."""
    text = clock_hms(scenario, t_s)
    return text[:5] if text.endswith(":00") else text


def duration_words(seconds: float) -> str:
    """Like :func:`human_duration`, but exact below ten minutes: '1 minute 30 seconds', not '2 minutes'."""
    s = abs(float(seconds))
    if 90 <= s < 600 and round(s) % 60:
        m, rest = divmod(int(round(s)), 60)
        return f"{m} minute{'s' if m != 1 else ''} {rest} second{'s' if rest != 1 else ''}"
    return human_duration(s)


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


def cost_parts(scenario: Scenario, cost: dict) -> list[tuple[str, float]]:
    """(plain label, USD) for every cost item above zero, largest first."""
    out = []
    for key, label in COST_PARTS:
        usd = _f(cost.get(key))
        if usd is not None and usd > 0:
            out.append((label.format(api=scenario.external_api.name.capitalize()), usd))
    return sorted(out, key=lambda p: -p[1])


def cost_breakdown_figure(scenario: Scenario, cost: dict, font_size: int = 13) -> go.Figure:
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
    """Payments per second (left) against model servers running (right), scale decisions marked."""
    fig = base_figure("Model servers and load over time", "payments per second", font_size)
    x = clock_axis(scenario, ts["t_s"])
    fig.add_trace(go.Scatter(x=x, y=ts["arrival_rate_per_s"], name="payments arriving per second", mode="lines",
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


def value_cost_rates(scenario: Scenario, ts: pd.DataFrame, summary: dict,
                     reviews: pd.DataFrame | None = None) -> pd.DataFrame:
    """Value created and money spent per hour, per time bin: ``t_s, value_usd_per_h, cost_usd_per_h``.

    Value per bin = decisions made x the run's measured value per decision, minus the accuracy
    penalty of each fallback answer (as the summary computes it). Cost per bin is the run's
    cost rate plus human reviews charged when a case enters the queue.
    """
    per_decision = _f((summary.get("value_usd") or {}).get("per_decision")) or 0.0
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


def value_cost_figure(scenario: Scenario, ts: pd.DataFrame, summary: dict, reviews: pd.DataFrame | None = None,
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


def cost_tiles(scenario: Scenario, summary: dict) -> list[Tile]:
    """Headline money and capacity numbers of one run."""
    cost, value = summary.get("cost_usd") or {}, summary.get("value_usd") or {}
    reps = summary.get("replicas") or {}
    hours = measured_hours(scenario)
    total, gross = _f(cost.get("total")), _f(value.get("gross"))
    nodes = _f(cost.get("node_hours"))
    tiles = [
        Tile("cost_per_1k", "Cost per 1,000 decisions", money(_f(cost.get("per_1k_requests"))),
             "Everything the service cost (servers, stream, lookups, API calls, reviews) divided by the "
             "decisions it made, times 1,000. Prices are illustrative: replace them with your own.",
             _f(cost.get("per_1k_requests")), "lower", "usd"),
        Tile("monthly", "Monthly cost at this pace", money(_f(cost.get("monthly_projection"))),
             "This run's spending rate kept up for a whole month. Only as representative as the simulated "
             f"{human_duration(hours * 3600)}.", _f(cost.get("monthly_projection")), "lower", "usd"),
        Tile("net_per_hour", "Net value per hour", money(_f(value.get("net_per_hour"))),
             "What the fraud decisions were worth per hour (fraud stopped, minus the cost of false alarms), "
             "minus what the service cost per hour. Uses the scenario's illustrative amounts.",
             _f(value.get("net_per_hour")), "higher", "usd"),
    ]
    if total and gross is not None:
        ratio = gross / total
        tiles.append(Tile("return", "Value per $1 spent", f"${ratio:,.0f}" if ratio >= 10 else f"${ratio:,.2f}",
                          "Value of the decisions divided by the cost of making them: how many dollars of fraud "
                          "losses avoided each dollar of running cost buys.", ratio, "higher", "usd"))
    lo, hi, mean = reps.get("min"), reps.get("max"), _f(reps.get("mean"))
    if lo is not None and hi is not None:
        text = f"{lo}" if lo == hi else f"{lo} to {hi}"
        tiles.append(Tile("servers", "Model servers running", text,
                          "Replicas of the fraud model that were ready to work (the lowest and highest count). "
                          + (f"On average {mean:.1f}." if mean is not None else ""), mean, "lower", "count"))
    if nodes is not None and hours > 0:
        per_node = cost.get("replicas_per_node")
        tiles.append(Tile("nodes", "Machines (nodes) on average", f"{nodes / hours:.1f}",
                          f"Cloud machines of type {cost.get('instance_type', '?')} paid for, on average. "
                          + (f"{per_node} model servers fit on one machine (by memory). " if per_node else "")
                          + "Machines, not servers, are what the cloud bill counts.", nodes / hours, "lower", "count"))
    return tiles


def cost_paragraph(scenario: Scenario, summary: dict, events: pd.DataFrame | None = None) -> str:
    """The cost story in a few sentences: total, per 1,000, what it bought, the biggest item."""
    cost, value = summary.get("cost_usd") or {}, summary.get("value_usd") or {}
    total, gross = _f(cost.get("total")), _f(value.get("gross"))
    if total is None:
        return ""
    hours = measured_hours(scenario)
    parts = [f"Over the measured {human_duration(hours * 3600)} the service cost {money(total)}: "
             f"{money(_f(cost.get('per_1k_requests')))} per 1,000 decisions, or about "
             f"{money(_f(cost.get('monthly_projection')))} a month if every hour looked like this one."]
    if gross is not None and total > 0:
        parts.append(f"The decisions were worth about {money(gross)} (fraud stopped, minus the goodwill lost to "
                     f"false alarms), so each dollar spent bought about {money(gross / total)} of value.")
    items = cost_parts(scenario, cost)
    if items:
        label, usd = items[0]
        parts.append(f"The largest item is {label[:1].lower() + label[1:]} ({100 * usd / total:.0f} % of the total).")
    idle, busy = _f(cost.get("compute_idle")) or 0.0, _f(cost.get("compute_busy")) or 0.0
    if idle + busy > 0 and idle > busy:
        parts.append(f"The model servers stood idle for {100 * idle / (idle + busy):.0f} % of the server time paid "
                     f"for: spare capacity that keeps waits short, at a price.")
    steps = scale_steps(events)
    if len(steps):
        ups, downs = int((steps["direction"] == "up").sum()), int((steps["direction"] == "down").sum())
        reps = summary.get("replicas") or {}
        starts = start_times_s(events)
        start_txt = ""
        if starts:
            lo, hi = min(starts), max(starts)
            start_txt = (f" Each new server needed {lo:.0f} s before it could take work" if hi - lo < 1 else
                         f" A new server needed {lo:.0f} to {hi:.0f} s before it could take work (longer when a "
                         f"new machine had to be added first)")
            start_txt += "; customers arriving meanwhile wait."
        moves = [f"added servers {_times(ups)}" if ups else "", f"removed servers {_times(downs)}" if downs else ""]
        parts.append(f"The autoscaler {' and '.join(m for m in moves if m)}, running between {reps.get('min')} and "
                     f"{reps.get('max')} model servers.{start_txt}")
    elif not scenario.autoscaler.enabled:
        parts.append(f"The number of model servers is fixed at {scenario.inference.replicas} in this scenario "
                     f"(no autoscaler).")
    return " ".join(parts)


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


PRECISION_WORDS = {"fp32": "full precision (fp32)", "fp16": "half precision (fp16)", "int8": "compressed (int8)"}


def precision_facts(scenario: Scenario, summary: dict) -> dict[str, float | None]:
    """The numbers the fp32/int8 comparison talks about, from one run's summary."""
    cost, value, model = summary.get("cost_usd") or {}, summary.get("value_usd") or {}, summary.get("model") or {}
    hours = measured_hours(scenario)
    nodes = _f(cost.get("node_hours"))
    return {
        "nodes": nodes / hours if nodes is not None and hours > 0 else None,
        "servers": _f((summary.get("replicas") or {}).get("mean")),
        "memory_gib": _f((summary.get("replicas") or {}).get("memory_gib_per_replica")),
        "p99_ms": _f((summary.get("latency_ms") or {}).get("p99")),
        "on_time": _f(summary.get("on_time_fraction")),
        "accuracy": _f(model.get("accuracy")),
        "accuracy_online": _f(model.get("accuracy_online")),
        "auc": _f(model.get("auc")),
        "cost_per_1k": _f(cost.get("per_1k_requests")),
        "net_per_hour": _f(value.get("net_per_hour")),
    }


PRECISION_ROWS = (
    ("nodes", "Machines (nodes) on average", lambda v: f"{v:.2f}"),
    ("servers", "Model servers on average", lambda v: f"{v:.1f}"),
    ("memory_gib", "Memory per model server", lambda v: f"{v:.2f} GiB"),
    ("p99_ms", "Slowest 1 % waited over (p99)", short_ms),
    ("on_time", "Answered on time", pct),
    ("accuracy", "Accuracy on held-out test payments", lambda v: pct(v, 2)),
    ("accuracy_online", "Accuracy on this run's payments", lambda v: pct(v, 2)),
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
        parts.append(f"Measured on the same held-out test payments, its accuracy was {pct(b['accuracy'], 2)} "
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


def spread_table(summaries: list[dict], scenario: Scenario) -> pd.DataFrame:
    """Lowest and highest of the headline numbers across equally likely runs (other seeds).

    The first summary is the run on screen; the range says how much luck alone moves each number.
    """
    measures = (
        ("Cost per 1,000 decisions", lambda s: _f((s.get("cost_usd") or {}).get("per_1k_requests")), money),
        ("Monthly cost at this pace", lambda s: _f((s.get("cost_usd") or {}).get("monthly_projection")), money),
        ("Net value per hour", lambda s: _f((s.get("value_usd") or {}).get("net_per_hour")), money),
        ("Machines (nodes) on average", lambda s: precision_facts(scenario, s)["nodes"], lambda v: f"{v:.2f}"),
        ("Slowest 1 % waited over (p99)", lambda s: _f((s.get("latency_ms") or {}).get("p99")), short_ms),
        ("Answered on time", lambda s: _f(s.get("on_time_fraction")), pct),
    )
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


def recovery_phases(rec: dict, end_s: float) -> list[tuple[str, float, float]]:
    """``(phase, start_s, end_s)`` of one fault record, skipping phases that did not happen.

    noticing: fault start -> detection; reacting: detection (or start) -> customers served
    again; protected: -> fault end; returning: -> back to normal (the end of the run if never).
    """
    start = _f(rec.get("started_s"))
    if start is None:
        return []
    detected, mitigated = _f(rec.get("detected_s")), _f(rec.get("mitigated_s"))
    ended, recovered = _f(rec.get("ended_s")), _f(rec.get("recovered_s"))
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


def fault_label(scenario: Scenario, rec: dict) -> str:
    """'Weather service outage' (the fault's name, capitalised)."""
    name = str(rec.get("fault") or "fault")
    return name[:1].upper() + name[1:]


def recovery_timeline_figure(scenario: Scenario, recovery: list[dict], font_size: int = 13) -> go.Figure:
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
                        for t in [_f(rec.get(key))] if t is not None)
        for k, (t, _, name, symbol, colour) in enumerate(points):
            xi = clock_axis(scenario, [t])[0]
            fig.add_trace(go.Scatter(x=[xi], y=[i], mode="markers", name=name, showlegend=False,
                                     hovertext=f"{name}: {clock_hms(scenario, t)}", hoverinfo="text",
                                     marker={"symbol": symbol, "size": 13, "color": colour,
                                             "line": {"width": 2, "color": colour}}))
            fig.add_annotation(x=xi, y=i, text=f"{clock_hms(scenario, t)} {name}", showarrow=False,
                               yshift=offsets_px[k % len(offsets_px)], font={**label_font, "color": colour},
                               xanchor="center")
    times = [t for rec in recovery for t in (_f(rec.get(k)) for k, *_ in MILESTONES) if t is not None]
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


def recovery_sentences(scenario: Scenario, rec: dict, bin_s: float) -> str:
    """One fault's timeline in words, with clock times and honest resolution."""
    name = str(rec.get("fault") or "a fault")
    start, detected = _f(rec.get("started_s")), _f(rec.get("detected_s"))
    mitigated, ended, recovered = _f(rec.get("mitigated_s")), _f(rec.get("ended_s")), _f(rec.get("recovered_s"))
    if start is None:
        return ""
    where = stage_name(scenario, str(rec.get("target") or ""))
    named = where.removeprefix("the ").lower() in name.lower()
    parts = [f"At {clock_auto(scenario, start)} the fault “{name}” began"
             + ("" if named else f", affecting {where}") + "."]
    prepared = _f(rec.get("prepared_s"))
    if prepared is not None:
        answered = ("customers were answered from fallback answers" if scenario.external_api.fallback != "none"
                    else "every request that needed it failed")
        parts.append(f"An operator had held the safety switch open since {clock_auto(scenario, prepared)}, before "
                     f"the fault began, so no calls went to {where} and {answered}.")
    elif detected is None:
        parts.append("Nothing in the system reacted to it automatically: no safety switch or autoscaler watches "
                     "this part, so customers simply waited until the fault ended.")
    else:
        parts.append(f"The system noticed {duration_words(detected - start)} later ({clock_auto(scenario, detected)})"
                     if detected > start + 0.5 else "The system reacted at once")
        parts[-1] += "."
    if mitigated is not None and detected is not None:
        parts.append(f"From {clock_auto(scenario, mitigated)} customers were served normally again "
                     f"({duration_words(mitigated - start)} after the fault began).")
    if ended is not None:
        parts.append(f"The fault itself lasted {duration_words(ended - start)}, until {clock_auto(scenario, ended)}.")
    if recovered is not None:
        after = recovered - ended if ended is not None else recovered - start
        parts.append(f"Service was fully back to normal at {clock_auto(scenario, recovered)}"
                     + (f", {duration_words(after)} after the fault ended." if ended is not None and after > 0.5
                        else "."))
    else:
        parts.append("Service was not fully back to normal by the end of the run.")
    if bin_s > 0:
        parts.append(f"(Recovery times are read from {bin_s:g}-second slices of the run, so they are accurate to "
                     f"about {bin_s:g} s.)")
    return " ".join(parts)


def customers_affected(summary: dict) -> dict[str, int]:
    """Measured-period counts: ``failed`` (no answer), ``late`` (answered after the promised time),
    ``affected`` (failed + late), ``fallback`` answers, and ``finished`` requests.

    Uses the summary's rule that a failed request counts as late: affected = finished x (1 - on time).
    """
    req = summary.get("requests") or {}
    finished = int(req.get("arrived") or 0) - int(req.get("in_flight") or 0)
    on_time = _f(summary.get("on_time_fraction"))
    affected = int(round(finished * (1.0 - on_time))) if on_time is not None else 0
    failed = int(req.get("failed") or 0)
    return {"finished": finished, "failed": failed, "late": max(0, affected - failed), "affected": affected,
            "fallback": int(req.get("degraded") or 0)}


def protection_paragraph(what: str, with_sum: dict, without_sum: dict) -> str:
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


def protection_tiles(summary: dict) -> list[Tile]:
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


def recovery_tiles(scenario: Scenario, summary: dict) -> list[Tile]:
    """Time to notice, to serve again and to recover (first fault); blast radius; customers affected."""
    tiles: list[Tile] = []
    recs = [r for r in (summary.get("recovery") or []) if isinstance(r, dict)]
    if recs:
        rec = recs[0]
        start, detected = _f(rec.get("started_s")), _f(rec.get("detected_s"))
        mitigated, ended, recovered = _f(rec.get("mitigated_s")), _f(rec.get("ended_s")), _f(rec.get("recovered_s"))
        which = "" if len(recs) == 1 else " (first fault)"
        noticed = "not noticed" if detected is None or start is None else (
            "at once" if detected - start < 0.5 else duration_words(detected - start))
        prepared = _f(rec.get("prepared_s")) is not None
        if prepared:
            noticed = "in advance"
        tiles.append(Tile("noticed", "Time to notice" + which, noticed,
                          "Time from the fault starting to the first automatic reaction (the safety switch opening, "
                          "a rollback, a replacement server). 'In advance': an operator held the safety switch "
                          "open before the fault began.", None if detected is None else detected - start,
                          "lower", "s"))
        served_again = duration_words(mitigated - start) if mitigated is not None and start is not None else "-"
        if prepared and mitigated is not None and start is not None and mitigated <= start:
            served_again = "throughout"
        tiles.append(Tile("served_again", "Customers served again after" + which, served_again,
                          "Time from the fault starting until 99 % of customers got an answer within the promised "
                          "time again (fallback answers count). Accurate to one time slice.",
                          None if mitigated is None else mitigated - start, "lower", "s"))
        back = duration_words(max(0.0, recovered - (ended if ended is not None else start))) \
            if recovered is not None else "not by the end"
        tiles.append(Tile("recovered", "Back to normal after the fault ended" + which, back,
                          "Time from the fault ending until service was fully normal again: no fallback answers, "
                          "99 % answered on time.", None, "lower", "s"))
    aff = customers_affected(summary)
    if aff["finished"]:
        tiles.append(Tile("affected", "Customers with an error or a late answer", f"{aff['affected']:,}",
                          f"Out of {aff['finished']:,} customers in the measured period: {aff['failed']:,} got an "
                          f"error, {aff['late']:,} waited longer than promised.", float(aff["affected"]), "lower",
                          "count"))
    if aff["fallback"]:
        tiles.append(Tile("fallback", "Fallback answers", f"{aff['fallback']:,}",
                          "Customers who got an answer built from the last known value (or a default) while a "
                          "dependency was failing: slightly less accurate, but no error and no wait.",
                          float(aff["fallback"]), "lower", "count"))
    breaker = summary.get("breaker") or {}
    if breaker.get("enabled") and breaker.get("opened"):
        tiles.append(Tile("breaker", "Safety switch tripped", f"{breaker['opened']:,} times",
                          "How often the circuit breaker opened (including re-opening after a failed test). "
                          f"It stayed open {duration_words(_f(breaker.get('open_s_total')) or 0)} in total.",
                          float(breaker["opened"]), None, "count"))
    canary = summary.get("canary") or {}
    if canary.get("outcome") not in (None, "none"):
        verdict = CANARY_VERDICT.get(str(canary["outcome"]), (str(canary["outcome"]), GREY, ""))[0]
        ttd = _f(canary.get("time_to_decision_s"))
        tiles.append(Tile("canary", "New version" + (f" (decided after {duration_words(ttd)})" if ttd else ""),
                          verdict.capitalize(),
                          "The release checked the new model version on a small share of customers and decided "
                          "automatically whether to keep it.", ttd, "lower", "s"))
        seen, bad = int(canary.get("requests_on_canary") or 0), int(canary.get("bad_responses_on_canary") or 0)
        tiles.append(Tile("blast", "Customers who saw the new version", f"{seen:,}",
                          "The blast radius: everyone the new version answered before the decision.",
                          float(canary.get("requests_on_canary") or 0), "lower", "count"))
        tiles.append(Tile("blast_bad", "Of them: error or too slow", f"{bad:,}",
                          "Customers the new version gave an error or answered slower than the release's latency "
                          "limit.", float(canary.get("bad_responses_on_canary") or 0), "lower", "count"))
    return tiles


def canary_sentence(scenario: Scenario, summary: dict) -> str:
    """The release story: when, what share, verdict and blast radius."""
    canary = summary.get("canary") or {}
    outcome = canary.get("outcome")
    if outcome in (None, "none"):
        return ""
    c = scenario.canary
    decided = _f(canary.get("decided_at_s"))
    seen, bad = int(canary.get("requests_on_canary") or 0), int(canary.get("bad_responses_on_canary") or 0)
    text = (f"At {clock(scenario, c.start_s)} model version {c.version} was released to {c.step_weight_pct} % of "
            f"customers, with automatic checks every {human_duration(c.interval_s)} (at least "
            f"{c.min_success_rate_pct:g} % successful answers, slowest 1 % within {short_ms(c.max_p99_latency_ms)}).")
    if outcome == "rolled_back" and decided is not None:
        text += (f" The checks failed {c.threshold} times and the release was rolled back automatically at "
                 f"{clock(scenario, decided)}.")
    elif outcome == "promoted" and decided is not None:
        text += f" Every check passed and the new version took over at {clock(scenario, decided)}."
    else:
        text += " The checks were still running when the run ended."
    text += f" {seen:,} customers saw the new version; {bad:,} of them got an error or a slow answer."
    return text


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


def reviewers_on_duty(summary: dict, reviewers: pd.DataFrame | None = None) -> int | None:
    """Most reviewers on duty at once: from the summary when it says, else from the headcount table."""
    n = (summary.get("review") or {}).get("reviewers_on_duty_max")
    if n is not None:
        return int(n)
    return int(reviewers["reviewers"].max()) if reviewers is not None and len(reviewers) else None


def fairness_tiles(scenario: Scenario, summary: dict, fair: pd.DataFrame | None = None,
                   reviewers: pd.DataFrame | None = None) -> list[Tile]:
    """Fairness verdict, worst ratio with its interval, time to flag, review load and staffing, live accuracy."""
    f, review, model = summary.get("fairness") or {}, summary.get("review") or {}, summary.get("model") or {}
    tiles: list[Tile] = []
    if f.get("enabled"):
        flagged, windows = int(f.get("flagged_windows") or 0), int(f.get("windows") or 0)
        tiles.append(Tile("verdict", f"Fairness check ({flagged} of {windows} windows flagged)",
                          "Gap flagged" if flagged else "No gap found",
                          "Every window the monitor compares approval rates between regions; below four fifths "
                          "(0.8) of the best-treated region it raises a flag.", float(flagged), "lower", "count"))
        worst = _f(f.get("min_di"))
        ci = ""
        if fair is not None and len(fair) and worst is not None:
            row = fair.loc[fair["ratio"].idxmin()]
            ci = f" (95 % CI {row['ratio_lo']:.2f} to {row['ratio_hi']:.2f})"
        tiles.append(Tile("min_di", "Worst approval ratio", "-" if worst is None else f"{worst:.2f}",
                          "Disparate impact: the lowest region's approval rate divided by the highest, in the worst "
                          f"window{ci}. 1.0 is equal treatment; below 0.8 fails the four-fifths rule. The interval "
                          "shows how much of the gap could be chance.", worst, "higher", "ratio"))
        first = _f(f.get("first_flag_s"))
        shock = min((d.start_s for d in scenario.drift.covariate), default=None)
        after = ""
        if first is not None and shock is not None and first >= shock:
            after = f" ({human_duration(first - shock)} after the shock)"
        tiles.append(Tile("first_flag", "First flagged at" + after,
                          "never" if first is None else clock(scenario, first),
                          "When the monitor first raised a flag. It checks once per window "
                          f"({human_duration(scenario.fairness.window_s)}), so it cannot be faster than that.",
                          None if first is None else first, "lower", "s"))
    elif _f(f.get("di_overall")) is not None:
        di = _f(f.get("di_overall"))
        tiles.append(Tile("di_overall", "Approval-rate ratio, whole run", f"{di:.2f}",
                          "Disparate impact over the whole run: the lowest region's approval rate divided by the "
                          "highest. 1.0 is equal treatment; below 0.8 fails the four-fifths rule. No monitor watched "
                          "it during the run.", di, "higher", "ratio"))
    cases = int(review.get("cases") or 0)
    if cases:
        sla = _f(review.get("sla_min"))
        p95 = _f(review.get("wait_p95_min"))
        tiles.append(Tile("cases", "Decisions sent to human review", f"{cases:,}",
                          f"{int(review.get('done') or 0):,} were reviewed by the end of the run; at most "
                          f"{int(review.get('backlog_max') or 0):,} were waiting at once.", float(cases), None,
                          "count"))
        tiles.append(Tile("wait", "Slowest 5 % waited for review",
                          "-" if p95 is None else short_ms(p95 * 60_000),
                          "The 95th percentile of the time a case waited before a reviewer picked it up"
                          + (f"; the target is {short_ms(sla * 60_000)}." if sla else "."),
                          p95, "lower", "min"))
        needed = review.get("reviewers_needed")
        on_duty = reviewers_on_duty(summary, reviewers)
        tiles.append(Tile("staff", "Reviewers needed" + (f" (on duty: {on_duty})" if on_duty is not None else ""),
                          "-" if needed is None else f"{needed}",
                          "Staffing hint from the Erlang-C queueing formula: reviewers needed so that "
                          f"{pct(scenario.fairness.review_sla_fraction, 0)} of cases start within the target wait at "
                          "the flag rate seen in this run.", _f(needed), "lower", "count"))
        tiles.append(Tile("review_cost", "Cost of human review", money(_f(review.get("cost_usd"))),
                          f"{cases:,} cases at {money(scenario.cost.review_usd_per_case)} each (illustrative price).",
                          _f(review.get("cost_usd")), "lower", "usd"))
    acc, acc_live = _f(model.get("accuracy")), _f(model.get("accuracy_online"))
    if acc_live is not None:
        tiles.append(Tile("accuracy", "Accuracy on live traffic", pct(acc_live),
                          "Share of this run's decisions that matched the true outcome"
                          + (f", against {pct(acc)} on the held-out test data the model was checked on before "
                             "release." if acc is not None else "."), acc_live, "higher", "pct"))
    return tiles


def fairness_paragraph(scenario: Scenario, summary: dict, events: pd.DataFrame | None = None) -> str:
    """The monitoring story: flag, review, drift, retraining, cleared."""
    f = summary.get("fairness") or {}
    if not f.get("enabled"):
        return ""
    cfg = scenario.fairness
    parts = [f"Every {human_duration(cfg.window_s)} the monitor compares the share of applicants approved in each "
             f"region. If the lowest rate falls below {cfg.threshold:g} times the highest"
             + (" and the whole confidence interval is below that line (so it is not just chance)"
                if cfg.require_significance else "")
             + ", it raises a flag and sends that region's "
             + ("rejections" if cfg.review_mode == "rejections" else "decisions") + " to human reviewers."]
    ev = events if events is not None else pd.DataFrame(columns=["t_s", "kind", "component", "detail"])

    def first(kind: str) -> float | None:
        rows = ev[ev["kind"] == kind]
        return float(rows["t_s"].iloc[0]) if len(rows) else None

    t_flag, t_clear = first("fairness_flagged"), first("fairness_cleared")
    t_drift, t_retrained = first("drift_detected"), first("retraining_finished")
    if t_flag is not None:
        detail = str(ev.loc[ev["kind"] == "fairness_flagged", "detail"].iloc[0])
        parts.append(f"At {clock(scenario, t_flag)} it raised a flag ({detail}).")
    else:
        parts.append("It raised no flag in this run.")
    if t_drift is not None:
        parts.append(f"At {clock(scenario, t_drift)} the drift detector saw the incoming data change and started "
                     f"retraining the model on recent outcomes"
                     + (f"; the new version was ready at {clock(scenario, t_retrained)}" if t_retrained else "") + ".")
    if t_clear is not None:
        parts.append(f"At {clock(scenario, t_clear)} the gap had closed enough (ratio back above "
                     f"{cfg.clear_threshold:g}) and the flag was cleared.")
    elif t_flag is not None:
        parts.append("The flag was still up when the run ended.")
    return " ".join(parts)


def staffing_sentence(scenario: Scenario, summary: dict, reviewers: pd.DataFrame | None = None) -> str:
    """Erlang-C staffing hint against the team on duty."""
    review = summary.get("review") or {}
    needed = review.get("reviewers_needed")
    if not review.get("cases") or needed is None:
        return ""
    on_duty = reviewers_on_duty(summary, reviewers)
    cfg = scenario.fairness
    text = (f"To start {pct(cfg.review_sla_fraction, 0)} of reviews within {human_duration(cfg.review_sla_s)} at the "
            f"rate cases arrived in this run, about {needed} reviewers are needed (Erlang-C, the queueing formula "
            f"call centres use for staffing)")
    if on_duty is not None:
        gap = int(needed) - on_duty
        text += (f"; {on_duty} were on duty, so {gap} {'is' if gap == 1 else 'are'} missing." if gap > 0 else
                 f"; {on_duty} were on duty, which is enough.")
    else:
        text += "."
    util = _f(review.get("reviewer_utilization"))
    if util is not None:
        text += f" The reviewers were busy {pct(util, 0)} of their time."
    return text


def model_quality_table(summary: dict) -> pd.DataFrame:
    """Offline (held-out test data) against live (this run's traffic) model quality."""
    m = summary.get("model") or {}
    rows = [("Accuracy (right decisions)", "accuracy", "accuracy_online"),
            ("Fraud caught (recall)", "fraud_recall", "fraud_recall_online"),
            ("Good customers wrongly blocked (false alarms)", "false_alarm_rate", "false_alarm_rate_online")]
    out = []
    for label, off, live in rows:
        a, b = _f(m.get(off)), _f(m.get(live))
        if a is None and b is None:
            continue
        out.append({"measure": label, "before release (test data)": pct(a), "live, in this run": pct(b),
                    "change": "-" if a is None or b is None else f"{100 * (b - a):+.1f} points"})
    return pd.DataFrame(out)


def skew_sentence(scenario: Scenario, summary: dict) -> str:
    """Why live accuracy differs from the test accuracy, where the feature store explains it."""
    m = summary.get("model") or {}
    acc, live = _f(m.get("accuracy")), _f(m.get("accuracy_online"))
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
    return (f"On this run's payments the model was right {pct(live)} of the time, against {pct(acc)} on its "
            f"test data before release ({d:+.1f} points). {why}")


ACTION_WORDS = {"deploy": "model deployed", "deploy_canary": "new version released as a canary",
                "promote": "new version promoted", "rollback": "release rolled back",
                "retrain_requested": "retraining requested", "retrain": "model retrained",
                "approve_deploy": "release approved by a person", "fairness_flag": "fairness flag raised",
                "fairness_clear": "fairness flag cleared", "review_decision": "review decision",
                "threshold_change": "decision threshold changed"}


def audit_table(scenario: Scenario, audit: pd.DataFrame) -> pd.DataFrame:
    """The audit log with clock times and plain action names."""
    if audit is None or len(audit) == 0:
        return pd.DataFrame(columns=["time", "action", "who", "detail"])
    return pd.DataFrame({
        "time": [clock(scenario, t) for t in audit["t_s"]],
        "action": [ACTION_WORDS.get(str(a), str(a).replace("_", " ")) for a in audit["action"]],
        "who": audit["role"].astype(str),
        "detail": audit["detail"].astype(str),
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
