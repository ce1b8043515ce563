"""How the room guessed against the simulated answer: the workshop's reveal chart.

Numbers are counted in bins with readable edges: equal-width bins ("60 to 69") when the guesses
span less than two orders of magnitude, otherwise one bin per order of magnitude ("100 to 999"),
so that a room guessing 0, 50 and 2 million still gets a legible picture. The bin holding the
simulated answer is green and labelled; choice questions are one bar per option.
"""
from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

import plotly.graph_objects as go

ANSWER_COLOUR = "#2ca02c"
GUESS_COLOUR = "#8aa9d6"
MAX_LINEAR_BINS = 10


@dataclass(frozen=True)
class Bin:
    low: float      # inclusive
    high: float     # exclusive
    label: str


def _fmt(x: float, decimals: int) -> str:
    if abs(x) >= 10_000:
        for size, suffix in ((1e9, " bn"), (1e6, " m"), (1e3, "k")):
            if abs(x) >= size:
                return f"{x / size:,.{0 if x % size == 0 else 1}f}{suffix}"
    return f"{x:,.{decimals}f}"


def _nice_width(span: float) -> float:
    raw = span / MAX_LINEAR_BINS
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def guess_bins(values: list[float], answer: float, decimals: int = 0) -> list[Bin]:
    """Bins covering every guess and the answer (see the module docstring)."""
    everything = [*values, answer]
    low, high = min(everything), max(everything)
    positive = [abs(v) for v in everything if v != 0]
    wide = low >= 0 and positive and high >= 100 and high / max(min(positive), 1) >= 100
    if wide:
        top = math.floor(math.log10(high)) if high >= 1 else 0
        bins = [Bin(0, 1, _fmt(0, 0) if decimals == 0 else f"below {_fmt(1, 0)}")]
        for power in range(0, top + 1):
            lo, hi = 10.0 ** power, 10.0 ** (power + 1)
            upper = _fmt(hi, 0) if hi > 10_000 or decimals else _fmt(hi - 1, 0)  # "10k to 100k", "100 to 999"
            bins.append(Bin(lo, hi, f"{_fmt(lo, 0)} to {upper}"))
        return bins
    step = 10.0 ** -decimals
    width = max(_nice_width(high - low), step)
    start = math.floor(low / width) * width
    bins = []
    for i in range(int(math.floor((high - start) / width + 1e-9)) + 1):
        edge = round(start + i * width, decimals + 3)
        last = round(edge + width - step, decimals + 3)
        label = _fmt(edge, decimals) if width <= step else f"{_fmt(edge, decimals)} to {_fmt(last, decimals)}"
        bins.append(Bin(edge, round(edge + width, decimals + 3), label))
    return bins


def _index(bins: list[Bin], value: float) -> int:
    for i, b in enumerate(bins):
        if b.low <= value < b.high:
            return i
    return len(bins) - 1 if value >= bins[-1].low else 0


def count_guesses(values: list[float], answer: float, decimals: int = 0) -> tuple[list[Bin], list[int], int]:
    """The bins, the number of guesses in each, and the bin of the answer."""
    bins = guess_bins(values, answer, decimals)
    counts = [0] * len(bins)
    for v in values:
        counts[_index(bins, v)] += 1
    return bins, counts, _index(bins, answer)


def _layout(fig: go.Figure, font_size: int, height: int) -> go.Figure:
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=font_size * 2 + 10, b=10), font=dict(size=font_size),
                      showlegend=False, bargap=0.15, plot_bgcolor="rgba(0,0,0,0)")
    fig.update_yaxes(gridcolor="rgba(128,128,128,0.25)", tickfont=dict(size=font_size),
                     title_font=dict(size=font_size))
    fig.update_xaxes(tickfont=dict(size=font_size), title_font=dict(size=font_size))
    return fig


def numbers_figure(values: list[float], answer: float, answer_text: str, decimals: int = 0,
                   font_size: int = 16, height: int = 320) -> go.Figure:
    """Bars of the guesses per bin, the answer's bin in green with the simulated answer over it."""
    bins, counts, hit = count_guesses(values, answer, decimals)
    colours = [ANSWER_COLOUR if i == hit else GUESS_COLOUR for i in range(len(bins))]
    fig = go.Figure(go.Bar(x=[b.label for b in bins], y=counts, marker_color=colours,
                           text=[str(c) if c else "" for c in counts], textposition="inside",
                           hovertemplate="%{x}: %{y} guesses<extra></extra>"))
    fig.add_shape(type="rect", xref="x", yref="paper", x0=hit - 0.5, x1=hit + 0.5, y0=0, y1=1, layer="below",
                  line=dict(color=ANSWER_COLOUR, width=3, dash="dot"), fillcolor="rgba(44,160,44,0.10)")
    fig.add_annotation(x=hit, y=1, xref="x", yref="paper", text=f"<b>simulated: {answer_text}</b>", showarrow=False,
                       font=dict(size=font_size, color=ANSWER_COLOUR), yanchor="bottom",
                       xanchor="left" if hit < len(bins) / 2 else "right")
    fig.update_xaxes(type="category", title_text="guesses")
    fig.update_yaxes(title_text="people", rangemode="tozero", dtick=1 if max(counts, default=0) <= 10 else None,
                     range=[0, max(max(counts, default=0), 1) * 1.15])
    return _layout(fig, font_size, height)


def choices_figure(labels: list[str], counts: list[int], right: str, font_size: int = 16,
                   height: int = 320, wrap: int = 24) -> go.Figure:
    """One horizontal bar per option (first option on top), the right one in green and marked. The figure
    grows past ``height`` when the wrapped labels need it (a phone wraps them into more lines)."""
    wrapped = [textwrap.wrap(("✔ " if label == right else "") + label, wrap) for label in labels]
    shown = ["<br>".join(lines) for lines in wrapped]
    height = max(height, int(sum(len(lines) + 0.6 for lines in wrapped) * font_size * 1.7) + 3 * font_size + 40)
    colours = [ANSWER_COLOUR if label == right else GUESS_COLOUR for label in labels]
    fig = go.Figure(go.Bar(y=shown, x=counts, orientation="h", marker_color=colours,
                           text=[str(c) for c in counts], textposition="outside", cliponaxis=False,
                           hovertemplate="%{y}: %{x} people<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title_text="people", rangemode="tozero", dtick=1 if max(counts, default=0) <= 10 else None,
                     range=[0, max(max(counts, default=0), 1) * 1.25])
    return _layout(fig, font_size, height)
