"""The one chart of a brief: how far B moves each measure from A, with its paired 95 % interval.

Drawn as plain SVG (vector in the PDF, printed to a high-resolution PNG for the slides), so it
needs no plotting library and no network. Every measure is shown in % of A's value, so one axis
fits them all; a bar beyond the axis is clipped with an arrow and its numbers are printed beside it.
"""
from __future__ import annotations

import math
from html import escape
from typing import NamedTuple

COLOURS = {"B_better": "#2b8a3e", "A_better": "#c92a2a"}
NEUTRAL = "#6b7280"
WIDTH_PX, LABEL_PX, TEXT_PX, ROW_PX, TOP_PX = 1200, 380, 290, 52, 24
AXIS_CAP_PCT = 100.0  # beyond ±100 % of A the bar is clipped (its numbers are still printed)
FONT = "Liberation Sans, Arial, Helvetica, sans-serif"


class Bar(NamedTuple):
    label: str
    mean_pct: float
    lo_pct: float
    hi_pct: float
    verdict: str  # B_better | A_better | too_close | B_higher | B_lower


def signed_pct(value: float) -> str:
    """'+12.3' / '-0.0031': one decimal, or two significant digits below 0.1 so a decided change never reads 0.0."""
    return f"{value:+.1f}" if value == 0 or abs(value) >= 0.1 else f"{value:+.2g}"


def _nice_step(extent: float) -> float:
    raw = extent / 3
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)


def height_px(n_bars: int) -> int:
    return TOP_PX + ROW_PX * n_bars + 56


def forest_svg(bars: list[Bar]) -> str:
    """An SVG of fixed size (``WIDTH_PX`` x ``height_px``): one row per measure, zero in the middle."""
    finite = [abs(v) for b in bars for v in (b.lo_pct, b.hi_pct, b.mean_pct) if math.isfinite(v)]
    extent = min(max(finite, default=1.0), AXIS_CAP_PCT) or 1.0
    step = _nice_step(extent)
    extent = math.ceil(extent / step) * step
    x0, x1 = LABEL_PX, WIDTH_PX - TEXT_PX
    mid = (x0 + x1) / 2

    def x(v: float) -> float:
        return mid + max(-1.0, min(1.0, v / extent)) * (x1 - x0 - 20) / 2

    h = height_px(len(bars))
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH_PX}' height='{h}' viewBox='0 0 {WIDTH_PX} {h}' "
           f"font-family='{FONT}' font-size='23'>",
           f"<rect width='{WIDTH_PX}' height='{h}' fill='white'/>"]
    bottom = TOP_PX + ROW_PX * len(bars)
    tick = -extent
    while tick <= extent + 1e-9:
        tx = x(tick)
        out.append(f"<line x1='{tx:.1f}' y1='{TOP_PX - 6}' x2='{tx:.1f}' y2='{bottom}' stroke='#e5e7eb'/>")
        out.append(f"<text x='{tx:.1f}' y='{bottom + 26}' text-anchor='middle' font-size='19' fill='#444'>"
                   f"{tick:+g} %</text>".replace("+0 %", "0"))
        tick += step
    out.append(f"<line x1='{mid:.1f}' y1='{TOP_PX - 10}' x2='{mid:.1f}' y2='{bottom}' stroke='#1b1b1b' "
               f"stroke-width='2'/>")
    out.append(f"<text x='{mid:.1f}' y='{bottom + 50}' text-anchor='middle' font-size='19' fill='#444'>"
               f"change from A in % of A's value, with its 95 % interval: "
               f"<tspan fill='{COLOURS['B_better']}' font-weight='bold'>B better</tspan>, "
               f"<tspan fill='{COLOURS['A_better']}' font-weight='bold'>A better</tspan>, "
               f"<tspan fill='{NEUTRAL}' font-weight='bold'>too close to call</tspan></text>")
    for i, b in enumerate(bars):
        cy = TOP_PX + ROW_PX * i + ROW_PX / 2
        colour = COLOURS.get(b.verdict, NEUTRAL)
        out.append(f"<text x='{LABEL_PX - 14}' y='{cy + 7:.1f}' text-anchor='end' fill='#1b1b1b'>"
                   f"{escape(b.label)}</text>")
        if math.isfinite(b.lo_pct) and math.isfinite(b.hi_pct):
            out.append(f"<rect x='{x(b.lo_pct):.1f}' y='{cy - 9:.1f}' width='{max(x(b.hi_pct) - x(b.lo_pct), 3):.1f}' "
                       f"height='18' rx='4' fill='{colour}' fill-opacity='0.35' stroke='{colour}'/>")
            for end in (b.lo_pct, b.hi_pct):
                if abs(end) > extent:
                    ax = x(end)
                    sign = 1 if end > 0 else -1
                    out.append(f"<path d='M{ax:.1f},{cy - 12:.1f} L{ax + 12 * sign:.1f},{cy:.1f} "
                               f"L{ax:.1f},{cy + 12:.1f} z' fill='{colour}'/>")
        if math.isfinite(b.mean_pct):
            out.append(f"<circle cx='{x(b.mean_pct):.1f}' cy='{cy:.1f}' r='7' fill='{colour}'/>")
            words = f"{signed_pct(b.mean_pct)} % [{signed_pct(b.lo_pct)}, {signed_pct(b.hi_pct)}]" \
                if math.isfinite(b.lo_pct) else f"{signed_pct(b.mean_pct)} %"
        else:
            words = "not measured"
        out.append(f"<text x='{x1 + 16}' y='{cy + 7:.1f}' font-size='20' fill='{colour}'>{escape(words)}</text>")
    out.append("</svg>")
    return "\n".join(out)
