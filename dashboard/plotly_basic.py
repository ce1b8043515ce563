"""Charts drawn with plotly.js's basic bundle instead of the full one behind ``st.plotly_chart``.

A brand-new browser spent about 0.7 s of its two cores setting up the full 4.7 MB plotly.js
before the first chart could draw; the basic bundle (scatter, bar and pie traces: all our charts
use) is 1.2 MB. Measured on a one-chart page as a new browser's first page: 1.87-1.97 s with
``st.plotly_chart``, 1.24-1.29 s with this component (medians of five new browsers each).

The bundle is fetched from the npm registry by ``make`` (``static/plotly-basic-<version>.min.js``,
pinned to the plotly.js version the installed plotly package writes figures for) and served by Streamlit's
static file serving. Without it, or for a trace type the bundle lacks, a chart falls back to
``st.plotly_chart``: the same figure in Streamlit's own chart theme, and a slower first visit.
"""
from __future__ import annotations

from pathlib import Path

import plotly.io as pio
import plotly.offline
import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
# the plotly.js version the installed plotly package writes figures for (make fetches the same one)
PLOTLY_JS_VERSION = plotly.offline.get_plotlyjs_version()
BUNDLE_NAME = f"plotly-basic-{PLOTLY_JS_VERSION}.min.js"
BUNDLE = ROOT / "static" / BUNDLE_NAME
BUNDLE_URL_PATH = f"app/static/{BUNDLE_NAME}"
BASIC_TRACE_TYPES = frozenset({"scatter", "bar", "pie"})
COMPONENT_NAME = "pipeline_twin_chart"
# the page frame starts the load early; the component (assets/plotly_basic_chart.js) awaits the same
# promise, and loads again itself if this one failed
EARLY_LOAD_JS = ("window.__ptPlotly = window.__ptPlotly || new Promise((done) => {"
                 " const s = document.createElement('script'); s.src = %s;"
                 " s.onload = done; s.onerror = () => { window.__ptPlotly = null; done(); };"
                 " document.head.appendChild(s); })")

_render = st.components.v2.component(
    COMPONENT_NAME,
    html="<div class='pt-chart'></div>",
    css=".pt-chart { width: 100%; }",
    js=(Path(__file__).parent / "assets" / "plotly_basic_chart.js").read_text(encoding="utf-8"),
    isolate_styles=False,  # plotly.js puts its own styles (tool bar, hover labels) in the page's head
)


def bundle_url() -> str:
    """Where this server serves the bundle, under the server's base path if it has one."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return "/" + (f"{base}/" if base else "") + BUNDLE_URL_PATH


def available() -> bool:
    return BUNDLE.is_file() and bool(st.get_option("server.enableStaticServing"))


def figure_spec(fig) -> dict:
    """The figure's data and layout, without the chart template (the component applies the
    viewer's theme itself; a template is most of a small figure's bytes); encoded once, in ``chart``."""
    spec = fig.to_plotly_json()
    return {"data": spec["data"], "layout": {k: v for k, v in spec["layout"].items() if k != "template"}}


def drawable(spec: dict) -> bool:
    return all(trace.get("type", "scatter") in BASIC_TRACE_TYPES for trace in spec["data"])


def chart(fig, key: str, config: dict | None = None) -> None:
    """Draw ``fig`` full width, with plotly's own tool bar minus its logo and its "Share chart"
    button (which would upload the figure to Plotly's cloud), unless ``config`` says otherwise."""
    config = {"displaylogo": False, "showSendToCloud": False, **(config or {})}
    spec = figure_spec(fig)
    if not (available() and drawable(spec)):
        st.plotly_chart(fig, key=key, width="stretch", config=config)
        return
    _render(key=key, data=pio.json.to_json_plotly({"figure": spec, "config": config, "src": bundle_url()}),
            width="stretch", height="content")
