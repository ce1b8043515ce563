"""The brief as 16:9 PowerPoint slides (python-pptx), from the same content as the PDF.

Text goes into PowerPoint's own text boxes and tables (python-pptx escapes it for XML, so any
character of a scenario name shows as written); the chart and the diagrams are printed to PNG
by Chromium at twice their drawn size, sharp on a projector. Sizes: 13.33 x 7.5 inches, body
text 16-20 pt, so a room can read it.
"""
from __future__ import annotations

import io
import re

from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.util import Emu, Inches, Pt

from simulator.brief import chart
from simulator.brief.chromium import html_to_png
from simulator.brief.content import KEY_KPIS, Brief, shorten

WIDTH_IN, HEIGHT_IN, MARGIN_IN = 13.333, 7.5, 0.5
DARK, GREY, GREEN, AMBER, RED = (RGBColor(0x1B, 0x1B, 0x1B), RGBColor(0x55, 0x55, 0x55), RGBColor(0x2B, 0x8A, 0x3E),
                                 RGBColor(0xB3, 0x5C, 0x00), RGBColor(0xC9, 0x2A, 0x2A))
SEVERITY_COLOUR = {"breach": RED, "watch": AMBER}
TITLE_CHARS = 50  # what fits on one line at 28 pt; longer titles get a smaller size
DIAGRAM_PX = 1400  # the longer side of a diagram before the 2x screenshot


def _svg_png(svg: str, width_px: int, height_px: int) -> bytes:
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><style>html,body{{margin:0;background:white}}"
            f"svg{{display:block;width:{width_px}px;height:{height_px}px}}</style></head><body>{svg}</body></html>")
    return html_to_png(page, width_px, height_px)


def _svg_size(svg: str) -> tuple[float, float]:
    """Width and height from the SVG's viewBox (Graphviz writes one; so does the chart)."""
    found = re.search(r"viewBox=['\"]([-\d.\s]+)['\"]", svg)
    if not found:
        return float(chart.WIDTH_PX), 600.0
    _, _, w, h = (float(v) for v in found.group(1).split())
    return w, h


def _text(slide, left, top, width, height, paragraphs, size=18, colour=DARK, bold=False):
    """A text box; ``paragraphs`` are strings or (text, size, colour, bold) tuples."""
    box = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height))
    frame = box.text_frame
    frame.word_wrap = True
    for i, item in enumerate(paragraphs):
        text, p_size, p_colour, p_bold = item if isinstance(item, tuple) else (item, size, colour, bold)
        para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        para.space_after = Pt(6)
        run = para.add_run()
        run.text = text
        run.font.size, run.font.bold = Pt(p_size), p_bold
        run.font.color.rgb = p_colour
    return box


def _slide(prs, brief: Brief, title: str):
    slide = prs.slides.add_slide(prs.slide_layouts[6])  # blank
    size = 28 if len(title) <= TITLE_CHARS else max(16, int(28 * TITLE_CHARS / len(title)))  # one line always
    _text(slide, MARGIN_IN, 0.3, WIDTH_IN - 2 * MARGIN_IN, 0.8, [(title, size, DARK, True)])
    _text(slide, MARGIN_IN, HEIGHT_IN - 0.45, WIDTH_IN - 2 * MARGIN_IN, 0.35,
          [(brief.stamp, 10, GREY, False)])
    return slide


def _picture(slide, png: bytes, left, top, max_w, max_h, aspect: float):
    """Place a picture as large as fits in the box, keeping its aspect ratio (width / height), centred."""
    w = min(max_w, max_h * aspect)
    h = w / aspect
    slide.shapes.add_picture(io.BytesIO(png), Inches(left + (max_w - w) / 2), Inches(top), Inches(w), Inches(h))


def _title_slide(prs, brief: Brief) -> None:
    slide = _slide(prs, brief, brief.title)
    colour = DARK if brief.confidence == "confident" else AMBER
    paragraphs = [(brief.question, 22, DARK, False), (brief.verdict, 26, colour, True)]
    paragraphs += [(w, 13, AMBER, False) for w in brief.warnings]
    if brief.chosen:
        paragraphs.append((f"Decided: {brief.chosen}", 20, DARK, True))
        if brief.rationale:
            paragraphs.append((shorten(brief.rationale, 400), 16, GREY, False))
    _text(slide, MARGIN_IN, 1.2, WIDTH_IN - 2 * MARGIN_IN, 3.0, paragraphs)
    key = [r for k in KEY_KPIS for r in brief.rows if r.kpi == k]
    if key and not brief.chosen:
        _table(slide, key, 4.3)


def _options_slide(prs, brief: Brief) -> None:
    slide = _slide(prs, brief, "The two options")
    col_w = (WIDTH_IN - 2 * MARGIN_IN - 0.4) / 2
    for i, opt in enumerate(brief.options):
        same = opt.letter == "B" and opt.description == brief.options[0].description
        text = "The same scenario as A, with the changes below." if same else opt.description
        paras = [(f"{opt.letter}: {opt.label}", 22, DARK, True), (text, 15, GREY, False)]
        if opt.letter == "B":
            paras.append(("What changes from A", 17, DARK, True))
            paras += [(f"• {line}", 15, DARK, False) for line in brief.changes[:8]] or [("nothing", 15, DARK, False)]
            if len(brief.changes) > 8:
                paras.append((f"and {len(brief.changes) - 8} more settings", 14, GREY, False))
        _text(slide, MARGIN_IN + i * (col_w + 0.4), 1.2, col_w, 5.6, paras)


COLUMNS_IN = (("Measure", 2.7), ("A", 1.45), ("B", 1.45), ("B - A", 1.75), ("95 % interval of B - A", 3.45),
              ("Verdict (95 %)", 1.53))


def _table(slide, rows, top: float, size: int = 14) -> None:
    """Measures as a PowerPoint table: the numbers as text, so they can be copied and searched."""
    shape = slide.shapes.add_table(len(rows) + 1, len(COLUMNS_IN), Inches(MARGIN_IN), Inches(top),
                                   Inches(WIDTH_IN - 2 * MARGIN_IN), Inches(0.42 * (len(rows) + 1)))
    table = shape.table
    for j, (_, width) in enumerate(COLUMNS_IN):
        table.columns[j].width = Inches(width)

    def put(i, j, text, bold=False, colour=DARK):
        cell = table.cell(i, j)
        cell.text = text
        cell.margin_top = cell.margin_bottom = Emu(20000)
        for para in cell.text_frame.paragraphs:
            for run in para.runs:
                run.font.size, run.font.bold = Pt(size), bold
                run.font.color.rgb = colour

    for j, (head, _) in enumerate(COLUMNS_IN):
        put(0, j, head, bold=True)
    for i, r in enumerate(rows, start=1):
        colour = GREEN if r.code == "B_better" else RED if r.code == "A_better" else DARK
        for j, text in enumerate((r.label, r.a, r.b, r.difference, r.interval)):
            put(i, j, text)
        put(i, 5, r.verdict_short, colour=colour)


def _numbers_slides(prs, brief: Brief) -> None:
    """One slide per group (per decision, per period), so every row stays readable."""
    for group in dict.fromkeys(r.group for r in brief.rows):
        slide = _slide(prs, brief, f"{group.capitalize()}: B against A, {brief.replications} paired replications")
        _table(slide, [r for r in brief.rows if r.group == group], 1.15)


def _chart_slide(prs, brief: Brief) -> None:
    slide = _slide(prs, brief, "How far B moves each measure from A")
    w, h = _svg_size(brief.chart_svg)
    png = _svg_png(brief.chart_svg, int(w), int(h))
    _picture(slide, png, MARGIN_IN, 1.1, WIDTH_IN - 2 * MARGIN_IN, HEIGHT_IN - 1.7, w / h)


def _risks_slide(prs, brief: Brief) -> None:
    slide = _slide(prs, brief, "Risks")
    if not brief.risks:
        _text(slide, MARGIN_IN, 1.2, WIDTH_IN - 2 * MARGIN_IN, 1, ["Neither run has a finding that needs attention."])
        return
    paras = [(f"{r.option} · {r.status}: {r.text}", 15 if len(brief.risks) > 6 else 17,
              SEVERITY_COLOUR.get(r.severity, DARK), False) for r in brief.risks[:8]]
    hidden = len(brief.risks) - 8 + sum(brief.more_risks.values())
    if hidden > 0:
        paras.append((f"and {hidden} more in the runs' reports", 14, GREY, False))
    _text(slide, MARGIN_IN, 1.15, WIDTH_IN - 2 * MARGIN_IN, 5.7, paras)


def _assumptions_slide(prs, brief: Brief) -> None:
    slide = _slide(prs, brief, "Assumptions and how to reproduce")
    paras = [(f"• {a}", 14 if len(brief.warnings) < 2 else 13, DARK, False)
             for a in brief.assumptions + brief.warnings]
    paras += [("Reproduce", 16, DARK, True)] + [(line, 13, GREY, False) for line in brief.footer]
    _text(slide, MARGIN_IN, 1.1, WIDTH_IN - 2 * MARGIN_IN, 5.8, paras)


def _diagram_slides(prs, brief: Brief) -> None:
    """One slide per option: a diagram beside another would be too small to read from the back of a room."""
    for opt in brief.options:
        slide = _slide(prs, brief, shorten(f"{opt.letter}: {opt.label}", 90))
        svg = brief.diagrams.get(opt.letter)
        if not svg:
            _text(slide, MARGIN_IN, 1.2, WIDTH_IN - 2 * MARGIN_IN, 1,
                  ["The diagram could not be drawn (Graphviz is not installed)."])
            continue
        w, h = _svg_size(svg)
        scale = DIAGRAM_PX / max(w, h)  # the longer side at DIAGRAM_PX, printed at twice that
        png = _svg_png(svg, int(w * scale), int(h * scale))
        _text(slide, MARGIN_IN, 0.95, WIDTH_IN - 2 * MARGIN_IN, 0.4,
              [("The architecture, coloured by this run's findings", 14, GREY, False)])
        _picture(slide, png, MARGIN_IN, 1.45, WIDTH_IN - 2 * MARGIN_IN, HEIGHT_IN - 2.0, w / h)


def brief_pptx(brief: Brief) -> bytes:
    """The slides: verdict, options, numbers, chart, risks, architecture, assumptions."""
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(WIDTH_IN), Inches(HEIGHT_IN)
    prs.core_properties.title = brief.title
    for make in (_title_slide, _options_slide, _numbers_slides, _chart_slide, _risks_slide, _diagram_slides,
                 _assumptions_slide):
        make(prs, brief)
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()
