"""Plotly figure builders: a run's frames in, a figure out (no streamlit, no I/O).

Time axes show clock times (the run starts at ``scenario.start_time_of_day_h``) because an
executive reads "14:05", not "t = 300 s". Every event of the run is drawn: the rare,
important ones (faults, breaker trips, rollbacks, spikes) as labelled vertical lines, and
all of them as markers on a strip along the top with the detail on hover.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from simulator.report.words import clock, stage_title
from simulator.scenario.config import Scenario

# A Monday; only the clock time is shown, the date keeps multi-day runs in order.
BASE_DATE = pd.Timestamp("2026-01-05")

# event kind -> (colour, short label, drawn as a vertical line)
EVENT_STYLE: dict[str, tuple[str, str, bool]] = {
    "spike_started": ("#7f7f7f", "surge starts", True),
    "spike_ended": ("#7f7f7f", "surge ends", True),
    "fault_started": ("#d62728", "fault", True),
    "fault_ended": ("#2ca02c", "recovered", True),
    "breaker_opened": ("#ff7f0e", "safety switch trips", True),
    "breaker_half_opened": ("#ffbb78", "switch testing", False),
    "breaker_closed": ("#2ca02c", "switch closes", True),
    "breaker_forced_open": ("#9467bd", "switch held open by operator", True),
    "breaker_disabled": ("#7f7f7f", "switch turned off by operator", True),
    "breaker_metrics_only": ("#7f7f7f", "switch recording only", True),
    "scale_decision": ("#1f77b4", "scale", False),
    "replica_ready": ("#aec7e8", "server ready", False),
    "replica_started": ("#aec7e8", "server starting", False),
    "replica_stopped": ("#c7c7c7", "server stopped", False),
    "replica_crashed": ("#d62728", "server crash", True),
    "canary_started": ("#9467bd", "new model starts", True),
    "canary_weight": ("#c5b0d5", "canary share", False),
    "canary_check_failed": ("#e377c2", "canary check failed", False),
    "canary_restarted": ("#c5b0d5", "canary restarted (new version)", False),
    "canary_promoting": ("#98df8a", "canary passed, promoting", False),
    "canary_promoted": ("#2ca02c", "new model promoted", True),
    "canary_succeeded": ("#c7c7c7", "canary scaled down", False),
    "canary_rolled_back": ("#d62728", "rollback", True),
    "fairness_flagged": ("#e377c2", "fairness flag", True),
    "fairness_cleared": ("#2ca02c", "fairness cleared", True),
    "batch_job_started": ("#17becf", "batch job starts", True),
    "batch_job_finished": ("#17becf", "batch job ends", True),
}
DEFAULT_EVENT_STYLE = ("#8c564b", "", False)
MAX_EVENT_LABELS = 12

PALETTE = ["#0B5FFF", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]


# --------------------------------------------------------------------------- helpers
def clock_axis(scenario: Scenario, t_s: Iterable[float]) -> pd.DatetimeIndex:
    """Simulated seconds -> timestamps whose clock time matches the scenario's day."""
    t = np.asarray(list(t_s) if not isinstance(t_s, (np.ndarray, pd.Series)) else t_s, dtype=float)
    offset_s = scenario.start_time_of_day_h * 3600.0 + t
    return BASE_DATE + pd.to_timedelta(offset_s, unit="s")


def latency_unit(max_ms: float) -> tuple[float, str]:
    """Divisor and unit so that latencies read naturally (ms, s, min or h)."""
    if not np.isfinite(max_ms) or max_ms < 10_000:
        return 1.0, "ms"
    if max_ms < 120_000:
        return 1000.0, "s"
    if max_ms < 7_200_000:
        return 60_000.0, "min"
    return 3_600_000.0, "h"


def event_label(kind: str) -> str:
    """The short chart label for an event kind ('fault', 'rollback')."""
    return EVENT_STYLE.get(kind, DEFAULT_EVENT_STYLE)[1] or kind.replace("_", " ")


def _base_figure(title: str, y_title: str, font_size: int) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        title={"text": title},
        # the HH:MM ticks say "clock time"; an axis title would collide with the legend below
        xaxis={"tickformat": "%H:%M", "hoverformat": "%H:%M:%S"},
        yaxis={"title": {"text": y_title}, "rangemode": "tozero"},
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "xanchor": "left", "x": 0},
        margin={"l": 60, "r": 20, "t": 90, "b": 50},
        hovermode="x unified",
        font={"size": font_size},
        height=380 + 4 * (font_size - 13),
    )
    return fig


# a start kind -> its end kind; such pairs are drawn as one shaded band (repeated starts
# before the end, e.g. a breaker re-opening while it probes, extend the same band)
WINDOW_KINDS = {
    "fault_started": "fault_ended",
    "spike_started": "spike_ended",
    "breaker_opened": "breaker_closed",
    "fairness_flagged": "fairness_cleared",
    "batch_job_started": "batch_job_finished",
}
WINDOW_LABELS = {"breaker_opened": "safety switch open", "fairness_flagged": "fairness flag",
                 "batch_job_started": "batch job", "spike_started": "surge", "fault_started": "fault"}


def event_windows(events: pd.DataFrame | None, end_s: float) -> list[tuple[float, float, str, str, str]]:
    """``(start_s, end_s, start kind, component, label)`` for each fault, surge, breaker-open,
    fairness-flag and batch-job period; a period still open at the end runs to ``end_s``."""
    if events is None or len(events) == 0:
        return []
    ends = {v: k for k, v in WINDOW_KINDS.items()}
    open_: dict[tuple[str, str], tuple[float, str]] = {}
    out = []
    for e in events.sort_values("t_s", kind="stable").itertuples():
        kind, comp, detail = str(e.kind), str(e.component), "" if pd.isna(e.detail) else str(e.detail)
        if kind in WINDOW_KINDS:
            open_.setdefault((kind, comp), (float(e.t_s), detail))
        elif kind in ends and (ends[kind], comp) in open_:
            start, start_detail = open_.pop((ends[kind], comp))
            out.append((start, float(e.t_s), ends[kind], comp, _window_label(ends[kind], start_detail)))
    for (kind, comp), (start, detail) in open_.items():
        out.append((start, float(end_s), kind, comp, _window_label(kind, detail)))
    return sorted(out)


def _window_label(kind: str, detail: str) -> str:
    if kind in ("fault_started", "spike_started") and detail:
        return detail.split(" (")[0].split(":")[0].strip() or WINDOW_LABELS[kind]
    return WINDOW_LABELS.get(kind, kind.replace("_", " "))


def add_events(fig: go.Figure, scenario: Scenario, events: pd.DataFrame | None, y_top: float,
               font_size: int = 13) -> go.Figure:
    """Annotate every event of the run on ``fig``.

    Periods (faults, surges, breaker open, fairness flags, batch jobs) are shaded bands with
    a label; one-off major events (canary start, promotion, rollback) are dashed lines with
    a label; and every single event is a diamond on a strip at ``y_top`` with its detail on
    hover, so nothing is hidden even when hundreds of scaling decisions happen.
    """
    if events is None or len(events) == 0:
        return fig
    ev = events.sort_values("t_s")
    x = clock_axis(scenario, ev["t_s"].to_numpy())
    hover = [f"{clock(scenario, t)} · {event_label(k)} · {c}" + (f": {d}" if d else "")
             for t, k, c, d in zip(ev["t_s"], ev["kind"], ev["component"], ev["detail"].fillna(""))]
    colours = [EVENT_STYLE.get(k, DEFAULT_EVENT_STYLE)[0] for k in ev["kind"]]
    fig.add_trace(go.Scatter(
        x=x, y=np.full(len(ev), y_top), mode="markers", name="events",
        marker={"symbol": "diamond", "size": 9, "color": colours, "line": {"width": 1, "color": "#555"}},
        hovertext=hover, hoverinfo="text", showlegend=True))
    labels = 0
    label_font = {"size": max(10, font_size - 2)}
    for start, end, kind, _, label in event_windows(ev, scenario.duration_s):
        colour = EVENT_STYLE.get(kind, DEFAULT_EVENT_STYLE)[0]
        x0, x1 = clock_axis(scenario, [start, max(end, start + scenario.timeseries_interval_s / 2)])
        fig.add_vrect(x0=x0, x1=x1, fillcolor=colour, opacity=0.13, line_width=0, layer="below")
        if labels < MAX_EVENT_LABELS:
            fig.add_annotation(x=x0, y=1.0, yref="paper", xanchor="left", yanchor="bottom", text=label,
                               showarrow=False, font={**label_font, "color": colour}, yshift=2 + 15 * (labels % 2))
            labels += 1
    windowed = set(WINDOW_KINDS) | set(WINDOW_KINDS.values())
    last_line: dict[str, float] = {}
    min_gap_s = scenario.duration_s / 100
    for t, xi, kind in zip(ev["t_s"], x, ev["kind"]):
        colour, _, is_line = EVENT_STYLE.get(kind, DEFAULT_EVENT_STYLE)
        if not is_line or kind in windowed or t - last_line.get(kind, -np.inf) < min_gap_s:
            continue
        last_line[kind] = t
        fig.add_shape(type="line", x0=xi, x1=xi, y0=0, y1=1, yref="paper",
                      line={"color": colour, "width": 1.5, "dash": "dash"})
        if labels < MAX_EVENT_LABELS:
            fig.add_annotation(x=xi, y=1.0, yref="paper", yanchor="bottom", text=event_label(kind), showarrow=False,
                               font={**label_font, "color": colour}, yshift=2 + 15 * (labels % 2))
            labels += 1
    return fig


def _top(values: Iterable[np.ndarray]) -> float:
    """A y position just above the highest finite value of the traces (for the event strip)."""
    peak = 0.0
    for v in values:
        v = np.asarray(v, dtype=float)
        if v.size and np.isfinite(v).any():
            peak = max(peak, float(np.nanmax(v)))
    return peak * 1.08 if peak > 0 else 1.0


# --------------------------------------------------------------------------- run charts
def throughput_figure(scenario: Scenario, ts: pd.DataFrame, events: pd.DataFrame | None = None,
                      font_size: int = 13, title: str | None = None) -> go.Figure:
    """Arrivals, decisions and failures per second over clock time, with events."""
    fig = _base_figure(title or "Payments arriving and decisions made (per second)", "per second", font_size)
    x = clock_axis(scenario, ts["t_s"])
    series = [("arrival_rate_per_s", "payments arriving", PALETTE[1], "dot"),
              ("throughput_rps", "decisions made", PALETTE[0], "solid")]
    width = (ts["t_end_s"] - ts["t_s"]).replace(0, np.nan)
    failures = ts["failures"] / width if "failures" in ts else None
    ys = []
    for col, name, colour, dash in series:
        fig.add_trace(go.Scatter(x=x, y=ts[col], name=name, mode="lines", line={"color": colour, "dash": dash}))
        ys.append(ts[col].to_numpy())
    if failures is not None and float(np.nansum(failures)) > 0:
        fig.add_trace(go.Scatter(x=x, y=failures, name="failed requests", mode="lines", line={"color": PALETTE[3]}))
        ys.append(failures.to_numpy())
    if "degraded" in ts and float(ts["degraded"].sum()) > 0:
        fig.add_trace(go.Scatter(x=x, y=ts["degraded"] / width, name="fallback answers", mode="lines",
                                 line={"color": PALETTE[4]}))
    return add_events(fig, scenario, events, _top(ys), font_size)


def latency_figure(scenario: Scenario, ts: pd.DataFrame, events: pd.DataFrame | None = None,
                   font_size: int = 13, title: str | None = None) -> go.Figure:
    """Latency percentiles (p50, p95, p99) over time, with the promised time (SLO) as a line."""
    cols = [c for c in ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms") if c in ts]
    peak = max([float(np.nanmax(ts[c])) if ts[c].notna().any() else 0.0 for c in cols] + [scenario.slo_latency_ms])
    div, unit = latency_unit(peak)
    fig = _base_figure(title or "How long customers wait for a decision", f"wait ({unit})", font_size)
    x = clock_axis(scenario, ts["t_s"])
    names = {"latency_p50_ms": "typical customer (p50)", "latency_p95_ms": "slowest 5 % (p95)",
             "latency_p99_ms": "slowest 1 % (p99)"}
    ys = []
    for i, col in enumerate(cols):
        y = ts[col] / div
        fig.add_trace(go.Scatter(x=x, y=y, name=names[col], mode="lines", line={"color": PALETTE[[2, 1, 3][i]]},
                                 connectgaps=False))
        ys.append(y.to_numpy())
    slo = scenario.slo_latency_ms / div
    fig.add_trace(go.Scatter(x=[x[0], x[-1]] if len(x) else [], y=[slo, slo], name=f"promised time ({slo:g} {unit})",
                             mode="lines", line={"color": "#555", "dash": "dash", "width": 1}))
    ys.append(np.array([slo]))
    return add_events(fig, scenario, events, _top(ys), font_size)


def queue_figure(scenario: Scenario, ts: pd.DataFrame, events: pd.DataFrame | None = None,
                 font_size: int = 13, title: str | None = None) -> go.Figure:
    """Waiting lines over time: model queue, database queue and stream lag / batch backlog."""
    fig = _base_figure(title or "Waiting lines (requests waiting at each stage)", "requests waiting", font_size)
    x = clock_axis(scenario, ts["t_s"])
    backlog_name = ("payments waiting for the batch job" if scenario.ingestion.mode == "batch"
                    else "payment events not yet read (consumer lag)")
    series = [("ingestion_backlog", backlog_name, PALETTE[4]),
              ("feature_db_queue", "waiting for the profile database", PALETTE[2]),
              ("inference_queue", "waiting for the fraud model", PALETTE[0])]
    ys = []
    for col, name, colour in series:
        if col not in ts:
            continue
        if col == "ingestion_backlog" and scenario.ingestion.mode == "direct":
            continue
        if col == "feature_db_queue" and scenario.feature_store.mode == "off":
            continue
        if col == "inference_queue" and not scenario.inference.enabled:
            continue
        fig.add_trace(go.Scatter(x=x, y=ts[col], name=name, mode="lines", line={"color": colour}))
        ys.append(ts[col].to_numpy())
    return add_events(fig, scenario, events, _top(ys), font_size)


def utilization_figure(scenario: Scenario, ts: pd.DataFrame, events: pd.DataFrame | None = None,
                       font_size: int = 13, title: str | None = None) -> go.Figure:
    """How busy each stage is (% of capacity), plus the number of model servers when it changes."""
    fig = _base_figure(title or "How busy each part is (% of its capacity)", "% busy", font_size)
    x = clock_axis(scenario, ts["t_s"])
    stages = [("utilization_ingestion", "ingestion"), ("utilization_feature_store", "feature_db"),
              ("utilization_inference", "inference")]
    for i, (col, stage) in enumerate(stages):
        if col in ts and ts[col].notna().any():
            fig.add_trace(go.Scatter(x=x, y=100 * ts[col], name=stage_title(scenario, stage), mode="lines",
                                     line={"color": PALETTE[[4, 2, 0][i]]}))
    if "replicas" in ts and ts["replicas"].nunique() > 1:
        fig.add_trace(go.Scatter(x=x, y=ts["replicas"], name="model servers (right axis)", mode="lines",
                                 line={"color": "#444", "shape": "hv", "dash": "dot"}, yaxis="y2"))
        fig.update_layout(yaxis2={"title": {"text": "model servers"}, "overlaying": "y", "side": "right",
                                  "rangemode": "tozero", "showgrid": False, "tickformat": "d",
                                  "dtick": max(1, int(np.ceil(float(ts["replicas"].max()) / 5)))})
    fig.add_hline(y=100, line={"color": "#d62728", "width": 1, "dash": "dot"})
    return add_events(fig, scenario, events, 108.0, font_size)


# --------------------------------------------------------------------------- compare
COMPARE_SERIES = {
    "throughput_rps": ("Decisions made per second", "per second"),
    "latency_p99_ms": ("Slowest 1 % of customers wait (p99)", "wait"),
    "inference_queue": ("Requests waiting for the fraud model", "requests waiting"),
    "utilization_inference": ("Fraud model busy (% of capacity)", "% busy"),
}


def compare_figure(runs: list[tuple[str, Scenario, pd.DataFrame]], column: str, font_size: int = 13,
                   events: list[pd.DataFrame | None] | None = None) -> go.Figure:
    """One time-series column of several runs overlaid (same clock axis: the first run's)."""
    title, y_title = COMPARE_SERIES.get(column, (column.replace("_", " "), column))
    scale, unit = 1.0, ""
    if column.endswith("_ms"):
        peak = max((float(np.nanmax(ts[column])) for _, _, ts in runs if column in ts and ts[column].notna().any()),
                   default=0.0)
        scale, unit = latency_unit(peak)
        y_title = f"{y_title} ({unit})"
    if column.startswith("utilization_"):
        scale = 0.01
    fig = _base_figure(title, y_title, font_size)
    dashes = ["solid", "dash", "dot", "dashdot"]
    for i, (label, sc, ts) in enumerate(runs):
        if column not in ts:
            continue
        fig.add_trace(go.Scatter(x=clock_axis(sc, ts["t_s"]), y=ts[column] / scale, name=label, mode="lines",
                                 line={"color": PALETTE[i % len(PALETTE)], "dash": dashes[i % len(dashes)]}))
    if events and runs:
        ys = [ts[column].to_numpy() / scale for _, _, ts in runs if column in ts]
        for (_label, sc, _), ev in zip(runs, events):
            if ev is not None and len(ev):
                add_events(fig, sc, ev, _top(ys), font_size)
    return fig


# --------------------------------------------------------------------------- replay
def add_time_cursor(fig: go.Figure, scenario: Scenario, t_s: float) -> go.Figure:
    """A vertical 'you are here' line for the replay page."""
    x = clock_axis(scenario, [t_s])[0]
    fig.add_shape(type="line", x0=x, x1=x, y0=0, y1=1, yref="paper", line={"color": "#111", "width": 3})
    fig.add_annotation(x=x, y=0, yref="paper", yanchor="top", text=clock(scenario, t_s), showarrow=False,
                       bgcolor="#111", font={"color": "#fff"})
    return fig


def run_figures(scenario: Scenario, ts: pd.DataFrame, events: pd.DataFrame | None,
                font_size: int = 13) -> dict[str, go.Figure]:
    """The four standard charts of one run, keyed by a short name."""
    return {
        "throughput": throughput_figure(scenario, ts, events, font_size),
        "latency": latency_figure(scenario, ts, events, font_size),
        "queues": queue_figure(scenario, ts, events, font_size),
        "utilization": utilization_figure(scenario, ts, events, font_size),
    }


def add_warmup_band(fig: go.Figure, scenario: Scenario, detected_s: float | None = None) -> go.Figure:
    """Shade the warm-up: the configured one (excluded from every number) and, when MSER-5 finds
    the start-up transient lasting longer, the extra stretch it flags."""
    grey = "#9aa0a6"
    if scenario.warmup_s > 0:
        x0, x1 = clock_axis(scenario, [0.0, scenario.warmup_s])
        fig.add_vrect(x0=x0, x1=x1, fillcolor=grey, opacity=0.18, line_width=0, layer="below",
                      annotation_text="warm-up (not counted)", annotation_position="bottom left",
                      annotation_font_color=grey)
    if detected_s is not None and detected_s > scenario.warmup_s:
        x0, x1 = clock_axis(scenario, [scenario.warmup_s, detected_s])
        fig.add_vrect(x0=x0, x1=x1, fillcolor=grey, opacity=0.08, line_width=0, layer="below",
                      annotation_text="still settling (MSER-5)", annotation_position="bottom left",
                      annotation_font_color=grey)
    return fig
