"""A self-contained HTML report of a page: KPI table, findings, narrative, charts and the diagram.

It opens from a file or an e-mail attachment without the app and without the internet:
plotly.js is embedded once (``include_plotlyjs=True``, no CDN) and the diagram is embedded as
SVG, drawn by Graphviz's ``dot`` program (Debian's ``graphviz`` package, which ``make``
installs). Without ``dot`` the report says the diagram could not be drawn; it never pastes DOT
source at a reader.
"""
from __future__ import annotations

import html
from datetime import datetime

import plotly.graph_objects as go

from simulator.report.findings import Findings
from simulator.viz.kpis import Tile

CSS = """
body { font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 1100px;
       color: #1b1b1b; line-height: 1.5; padding: 0 1rem; }
h1 { margin-bottom: 0.2rem; } .sub { color: #555; margin-top: 0; }
table.kpi { border-collapse: collapse; margin: 1rem 0; }
table.kpi td, table.kpi th { border: 1px solid #ddd; padding: 0.4rem 0.8rem; text-align: left; vertical-align: top; }
table.kpi th { background: #f4f6f8; } .help { color: #666; font-size: 0.85rem; }
.status { font-weight: bold; white-space: nowrap; } .ok { color: #2b8a3e; } .watch { color: #b35c00; }
.breach { color: #c92a2a; } .chart svg { max-width: 100%; height: auto; }
.chart { margin: 1.5rem 0; } pre { background: #f4f6f8; padding: 1rem; overflow-x: auto; }
"""


def diagram_svg(dot: str) -> str | None:
    """SVG of the DOT source via the graphviz ``dot`` program, or None when it is not installed."""
    import graphviz

    try:
        svg = graphviz.Source(dot).pipe(format="svg").decode("utf-8")
    except (graphviz.ExecutableNotFound, graphviz.CalledProcessError):
        return None
    return svg[svg.find("<svg"):]  # drop the XML prologue and doctype: the SVG sits inside HTML


def html_report(title: str, subtitle: str = "", tiles: list[Tile] | None = None, paragraphs: list[str] | None = None,
                figures: list[go.Figure] | None = None, dot: str | None = None,
                tables: dict[str, str] | None = None, findings: Findings | None = None) -> str:
    """The whole report as one HTML string (see the module docstring).

    ``tables`` maps a caption to an HTML table (e.g. ``DataFrame.to_html()``) shown at the end;
    ``findings`` adds every finding with its status word.
    """
    e = html.escape
    out = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
           f"<title>{e(title)}</title><style>{CSS}</style></head><body>",
           f"<h1>{e(title)}</h1>",
           f"<p class='sub'>{e(subtitle)}{' · ' if subtitle else ''}report created "
           f"{datetime.now().strftime('%Y-%m-%d %H:%M')} by Pipeline Twin</p>"]
    if tiles:
        out.append("<table class='kpi'><tr><th>Measure</th><th>Value</th><th>Status</th><th>What it means</th></tr>")
        for t in tiles:
            status = f"<span class='status {e(t.severity or '')}'>{e(t.status)}</span>" if t.status else ""
            out.append(f"<tr><td>{e(t.label)}</td><td><b>{e(t.value)}</b></td><td>{status}</td>"
                       f"<td class='help'>{e(t.help)}</td></tr>")
        out.append("</table>")
    for p in paragraphs or []:
        out.append(f"<p>{e(p)}</p>")
    if findings is not None and len(findings):
        out.append("<h2>Findings</h2><table class='kpi'><tr><th>Status</th><th>Finding</th></tr>")
        for f in findings:
            out.append(f"<tr><td><span class='status {e(f.severity)}'>{e(f.status)}</span></td>"
                       f"<td>{e(f.headline)}</td></tr>")
        out.append("</table>")
    if dot:
        svg = diagram_svg(dot)
        out.append("<h2>Architecture</h2>")
        out.append(f"<div class='chart'>{svg}</div>" if svg else
                   "<p class='help'>The architecture diagram could not be drawn: Graphviz's <code>dot</code> "
                   "program was not installed where this report was made (<code>make</code> installs it).</p>")
    for i, fig in enumerate(figures or []):
        chart = fig.to_html(full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False})
        out.append(f"<div class='chart'>{chart}</div>")
    for caption, table_html in (tables or {}).items():
        out.append(f"<h2>{e(caption)}</h2>{table_html}")
    out.append("</body></html>")
    return "\n".join(out)
