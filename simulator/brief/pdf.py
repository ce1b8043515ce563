"""The brief as a printable page (A4 landscape) and as a PDF printed by Chromium.

Every text of the brief is escaped here (``html.escape``), so a scenario named ``<script>`` or
``\\textbf{x} & $5`` prints as those characters. The chart and the diagrams are inline SVG, so
the PDF keeps them as vectors.
"""
from __future__ import annotations

from html import escape as e

from simulator.brief.chromium import html_to_pdf
from simulator.brief.content import KEY_KPIS, Brief, shorten

CSS = """
@page { size: A4 landscape; margin: 12mm 14mm 16mm 14mm; }
* { box-sizing: border-box; }
body { font-family: 'Liberation Sans', Arial, Helvetica, sans-serif; color: #1b1b1b; font-size: 12pt;
       line-height: 1.35; margin: 0; }
section { break-after: page; height: 180mm; display: flex; flex-direction: column; overflow: hidden; }
section:last-of-type { break-after: auto; }
.grow { flex: 1; min-height: 0; overflow: hidden; }
h1 { font-size: 21pt; margin: 0 0 2mm 0; } h2 { font-size: 16pt; margin: 0 0 3mm 0; }
.question { font-size: 15pt; margin: 1mm 0 4mm 0; }
.verdict { font-size: 16pt; font-weight: bold; padding: 4mm 5mm; border-radius: 2mm; margin-bottom: 5mm; }
.confident { background: #eef2f7; border-left: 3mm solid #1f4e79; }
.unsure { background: #fff4e5; border-left: 3mm solid #b35c00; }
.warning { color: #8a4b00; font-size: 10.5pt; margin: -2mm 0 3mm 0; }
.options { display: flex; gap: 6mm; }
.option { flex: 1; border: 0.4mm solid #d0d5dd; border-radius: 2mm; padding: 3mm 4mm; }
.option h3 { margin: 0 0 1.5mm 0; font-size: 14pt; } .option li { font-size: 11pt; margin-bottom: 0; }
.small { font-size: 10pt; color: #444; }
ul { margin: 1mm 0 0 0; padding-left: 5mm; } li { margin-bottom: 0.6mm; }
table { border-collapse: collapse; width: 100%; font-size: 10.5pt; }
th, td { border-bottom: 0.3mm solid #d0d5dd; padding: 1.1mm 2mm; text-align: left; vertical-align: top; }
td:first-child { width: 24%; }
th { background: #f2f4f7; } td.num { white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.group td { background: #f8f9fb; font-weight: bold; }
.B_better { color: #2b8a3e; } .A_better { color: #c92a2a; }
.chart svg { width: 100%; height: auto; max-height: 128mm; }
.diagram { text-align: center; margin-bottom: 3mm; }
.diagram svg { width: 100%; height: auto; max-height: 68mm; }
.diagram h3 { margin: 0 0 1mm 0; font-size: 13pt; text-align: left; }
.risk { margin-bottom: 2mm; } .tag { font-weight: bold; white-space: nowrap; }
.breach { color: #c92a2a; } .watch { color: #b35c00; }
.footer { font-size: 9pt; color: #555; border-top: 0.3mm solid #d0d5dd; padding-top: 1mm; margin-top: 2mm; }
"""


RATIONALE_CHARS = 400  # on the first page; a longer rationale is given whole on the last
CHANGES_SHOWN = 3  # the first page has room for three beside the options' descriptions


def _list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{e(i)}</li>" for i in items) + "</ul>"


def _options(brief: Brief) -> str:
    a = brief.options[0]
    out = ["<div class='options'>"]
    for opt in brief.options:
        same = opt.letter == "B" and opt.description == a.description
        text = "The same scenario as A, with the changes below." if same else opt.description
        out.append(f"<div class='option'><h3>{e(opt.letter)}: {e(opt.label)}</h3><div class='small'>{e(text)}</div>")
        if opt.letter == "B":
            shown = brief.changes[:CHANGES_SHOWN]
            out.append("<div><b>What changes from A</b>" + (_list(shown) if shown else " nothing: the same settings")
                       + "</div>")
            if len(brief.changes) > len(shown):
                out.append(f"<div class='small'>and {len(brief.changes) - len(shown)} more settings</div>")
        out.append("</div>")
    return "".join(out) + "</div>"


def _numbers(brief: Brief, rows: list, groups: bool = True) -> str:
    out = ["<table><tr><th>Measure</th><th>A</th><th>B</th><th>B - A</th><th>95 % interval of B - A</th>"
           "<th>in % of A</th><th>Verdict (95 % confidence)</th></tr>"]
    group = ""
    for r in rows:
        if groups and r.group != group:
            group = r.group
            out.append(f"<tr class='group'><td colspan='7'>{e(group.capitalize())}</td></tr>")
        out.append(f"<tr><td>{e(r.label)}</td><td class='num'>{e(r.a)}</td><td class='num'>{e(r.b)}</td>"
                   f"<td class='num'>{e(r.difference)}</td><td class='num'>{e(r.interval)}</td>"
                   f"<td class='num'>{e(r.relative)}</td><td class='{e(r.code)}'>{e(r.verdict_short)}</td></tr>")
    return "".join(out) + "</table>"


def _risks(brief: Brief) -> str:
    if not brief.risks:
        return "<p>Neither run has a finding that needs attention.</p>"
    out = []
    for r in brief.risks:
        out.append(f"<div class='risk'><span class='tag {e(r.severity)}'>{e(r.option)} · {e(r.status)}</span> "
                   f"{e(r.text)}</div>")
    for letter, more in brief.more_risks.items():
        if more:
            out.append(f"<div class='small'>{e(letter)} has {more} more findings that need attention (in its run's "
                       f"report).</div>")
    return "".join(out)


def _diagrams(brief: Brief) -> str:
    out = ["<div class='diagrams'>"]
    for opt in brief.options:  # one above the other, in rows of three boxes: wide enough to read
        svg = brief.diagrams.get(opt.letter)
        body = svg if svg else ("<p class='small'>The diagram could not be drawn: Graphviz's dot program is not "
                                "installed here (make installs it).</p>")
        out.append(f"<div class='diagram'><h3>{e(opt.letter)}: {e(opt.label)}</h3>{body}</div>")
    return "".join(out) + "</div>"


def _page(body: str, footer: str) -> str:
    return f"<section><div class='grow'>{body}</div><div class='footer'>{footer}</div></section>"


def brief_html(brief: Brief) -> str:
    """The brief as one self-contained HTML page laid out for A4 landscape, a footer on every page."""
    box = "confident" if brief.confidence == "confident" else "unsure"
    decided = ""
    if brief.chosen:
        decided = (f"<p><b>Decided:</b> {e(brief.chosen)}</p>"
                   + (f"<p class='small'>{e(shorten(brief.rationale, RATIONALE_CHARS))}</p>" if brief.rationale else ""))
    footer = e(brief.stamp)
    key_rows = [r for k in KEY_KPIS for r in brief.rows if r.kpi == k]
    key = (f"<div style='margin-bottom:4mm'>{_numbers(brief, key_rows, groups=False)}</div>" if key_rows else "")
    pages = [
        f"<h1>{e(brief.title)}</h1><div class='question'>{e(brief.question)}</div>"
        f"<div class='verdict {box}'>{e(brief.verdict)}</div>"
        + "".join(f"<div class='warning'>{e(w)}</div>" for w in brief.warnings) + f"{decided}{key}{_options(brief)}",
        f"<h2>The numbers: B against A, {brief.replications} paired replications</h2>{_numbers(brief, brief.rows)}",
        f"<h2>How far B moves each measure from A</h2><div class='question'>{e(brief.verdict)}</div>"
        f"<div class='chart'>{brief.chart_svg}</div>",
        f"<h2>Risks</h2>{_risks(brief)}",
        f"<h2>The architecture, coloured by each run's findings</h2>{_diagrams(brief)}",
        f"<h2>Assumptions</h2>{_list(brief.assumptions + brief.warnings)}"
        f"<h2 style='margin-top:5mm'>How to reproduce this brief</h2>{_list(brief.footer)}",
    ]
    if len(brief.rationale) > RATIONALE_CHARS:
        pages.append(f"<h2>Why: the whole rationale</h2><p>{e(brief.rationale)}</p>")
    return "\n".join(["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
                      f"<title>{e(brief.title)}</title><style>{CSS}</style></head><body>",
                      *(_page(body, footer) for body in pages), "</body></html>"])


def brief_pdf(brief: Brief) -> bytes:
    return html_to_pdf(brief_html(brief))
