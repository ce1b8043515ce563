"""Architecture diagrams drawn on the server by Graphviz's ``dot`` and shown as SVG.

``st.graphviz_chart`` lays the diagram out in the browser with Graphviz compiled to WebAssembly,
about 0.15 s of a new browser's first page on two cores (measured: a baseline Overview as a new
browser's first page, 1.97 s with the diagram and 1.81 s without, medians of six). Debian's
graphviz, which ``make`` installs, draws the same DOT source here instead, once per diagram and
server process; ``st.html`` would strip the SVG, so a small component of ours shows it. Without
``dot`` a diagram falls back to ``st.graphviz_chart``.

The SVG comes from our own DOT source (``dot`` writes every label as escaped text); one that
holds anything active (a script, an event handler, a link target, embedded HTML) is not shown
as SVG.
"""
from __future__ import annotations

import functools
import re
import shutil

import streamlit as st

from simulator.viz.report import diagram_svg

COMPONENT_NAME = "pipeline_twin_diagram"
# inside a tag (text holds no "<": dot escapes it). dot wraps a box with a tooltip in <a xlink:title=...>;
# only a link target (href) would make that active
ACTIVE_SVG = re.compile(r"<(?:script|foreignobject)|<[^>]*(?:\son[a-z]+\s*=|href\s*=|javascript:)", re.IGNORECASE)

_render = st.components.v2.component(
    COMPONENT_NAME,
    html="<div class='pt-diagram'></div>",
    js="export default function ({ data, parentElement }) {\n"
       "  const host = parentElement.querySelector('.pt-diagram');\n"
       "  if (host.__svg !== data) { host.innerHTML = data; host.__svg = data; }\n"
       "}\n",
    isolate_styles=False,  # the page's phone rule lets a wide diagram scroll sideways
)


def available() -> bool:
    """Whether this machine has Graphviz's ``dot`` (else diagrams are drawn in the browser)."""
    return shutil.which("dot") is not None


@functools.lru_cache(maxsize=256)
def svg_for(dot: str) -> str | None:
    """The diagram's SVG, scaled to its column (the viewBox keeps its shape); None without ``dot``
    or when the SVG holds anything active."""
    svg = diagram_svg(dot)
    if svg is None or ACTIVE_SVG.search(svg):
        return None
    return re.sub(r'^<svg width="[^"]*" height="[^"]*"', '<svg style="width: 100%; height: auto; display: block"',
                  svg, count=1)


def diagram(dot: str, key: str) -> None:
    svg = svg_for(dot)
    if svg is None:
        st.graphviz_chart(dot, width="stretch")
        return
    _render(key=key, data=svg, width="stretch", height="content")
