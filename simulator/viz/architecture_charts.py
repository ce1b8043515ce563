"""The Architecture page's table and charts, from the summary's ``architecture`` section.

Nothing here judges: the numbers are the run's (what reached each component, its time and
utilization, the slowest 1 %'s path, the blast radius the graph gives), named by the components'
business labels (:func:`simulator.report.words.stage_title`); verdicts come from the findings.
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from simulator.report.summary_model import Architecture, Summary
from simulator.report.words import stage_title
from simulator.scenario.config import Scenario

KIND_WORDS = {"ingestion": "entry", "feature_store": "feature store", "dependency": "external call",
              "rules": "rules engine", "model": "model", "review": "human review"}
# stop / fallback / unaffected: the diagram's red, amber and green borders (readable on light and dark pages)
BLAST_COLOURS = ("#c92a2a", "#e67700", "#2b8a3e")


def _round(x: float | None, digits: int = 1) -> float | None:
    return None if x is None else round(x, digits)


def component_table(sc: Scenario, summary: Summary) -> pd.DataFrame:
    """One row per component in the graph's order, units in the headers."""
    arch = summary.architecture
    arrived = summary.requests.arrived or 0
    spof = set(arch.single_points_of_failure)
    rows = []
    for cid, comp in arch.components.items():
        b = comp.blast_radius
        rows.append({
            "component": stage_title(sc, cid),
            "kind": KIND_WORDS.get(comp.kind, comp.kind),
            "requests reached": comp.reached,
            "share of arrivals (%)": _round(100 * comp.reached / arrived) if arrived else None,
            "mean time (ms)": _round(comp.time_ms_mean),
            "p99 time (ms)": _round(comp.time_ms_p99),
            "mean queue wait (ms)": _round(comp.wait_ms_mean, 2),
            "utilization (%)": _round(None if comp.utilization is None else 100 * comp.utilization),
            "if down: stop (%)": _round(100 * b.fails),
            "if down: fallback (%)": _round(100 * b.degrades),
            "if down: unaffected (%)": _round(100 * b.unaffected),
            "single point of failure": "yes" if cid in spof else "no",
            "id": cid,
        })
    return pd.DataFrame(rows)


def _figure(title: str, font_size: int, n_bars: int) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title={"text": title}, font={"size": font_size}, barmode="stack",
                      margin={"l": 10, "r": 20, "t": 70, "b": 50}, height=140 + (26 + font_size) * max(n_bars, 2),
                      legend={"orientation": "h", "yanchor": "top", "y": -0.15, "xanchor": "left", "x": 0},
                      yaxis={"autorange": "reversed", "automargin": True}, xaxis={"rangemode": "tozero"})
    return fig


def critical_path_figure(sc: Scenario, arch: Architecture, font_size: int = 13) -> go.Figure | None:
    """Bars: the mean time (ms) each component added to the slowest 1 % of decisions (None without them)."""
    path = arch.critical_path
    if path is None or not path.components:
        return None
    parts = list(path.components)
    names = [stage_title(sc, p.component) for p in parts]
    fig = _figure("Where the slowest 1 % spent their time", font_size, len(parts))
    fig.add_bar(y=names, x=[p.ms_mean for p in parts], orientation="h", marker_color="#0B5FFF",
                text=[f"{p.ms_mean:,.0f} ms ({100 * p.share:.0f} %)" for p in parts], textposition="auto",
                hovertemplate="%{y}: %{x:,.1f} ms on average<extra></extra>", showlegend=False)
    fig.update_xaxes(title={"text": "mean time per slow decision (ms)"})
    return fig


def blast_radius_figure(sc: Scenario, arch: Architecture, font_size: int = 13) -> go.Figure:
    """Stacked bars per component: share of decisions that stop, get a fallback answer, or are unaffected
    if it goes down (in %)."""
    ids = list(arch.components)
    names = [stage_title(sc, cid) for cid in ids]
    fig = _figure("If one part goes down", font_size, len(ids))
    for (label, attr), colour in zip((("stop", "fails"), ("get a fallback answer", "degrades"),
                                      ("unaffected", "unaffected")), BLAST_COLOURS):
        values = [100 * getattr(arch.components[cid].blast_radius, attr) for cid in ids]
        fig.add_bar(y=names, x=values, name=label, orientation="h", marker_color=colour,
                    text=[f"{v:.0f} %" if v >= 8 else "" for v in values], textposition="inside",
                    hovertemplate=f"%{{y}}: %{{x:.1f}} % {label}<extra></extra>")
    fig.update_xaxes(title={"text": f"share of {sc.vocabulary.decision}s (%)"}, range=[0, 100])
    return fig
