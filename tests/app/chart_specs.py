"""The figures and diagrams a page draws, read from AppTest's elements (our components carry them)."""
import html
import json
import re

from dashboard.plotly_basic import COMPONENT_NAME
from dashboard.svg_diagram import COMPONENT_NAME as DIAGRAM_COMPONENT


def chart_specs(at) -> list[dict]:
    """Each chart's figure (``data`` and ``layout``), in page order. Every chart of ours is drawn by
    the basic-bundle component: a fall-back ``st.plotly_chart`` here means the bundle is missing."""
    assert not at.get("plotly_chart"), "a chart fell back to st.plotly_chart (run make: it fetches static/plotly-basic-<version>.min.js)"
    return [json.loads(json.loads(el.proto.json))["figure"] for el in at.get("bidi_component")
            if el.proto.component_name == COMPONENT_NAME]


def diagram_texts(at) -> list[str]:
    """Each architecture diagram's words, in page order: its SVG's text lines and its boxes' and
    arrows' names (an arrow is named ``from->to``), one per line, as Graphviz's ``dot`` drew them on
    the server. A fall-back ``st.graphviz_chart`` here means ``dot`` is missing."""
    assert not at.get("graphviz_chart"), "a diagram fell back to st.graphviz_chart (make installs graphviz's dot)"
    out = []
    for el in at.get("bidi_component"):
        if el.proto.component_name == DIAGRAM_COMPONENT:
            svg = json.loads(el.proto.json)
            out.append("\n".join(html.unescape(t) for t in re.findall(r"<(?:text|title)[^>]*>([^<]*)</", svg)))
    return out


def diagram_svgs(at) -> list[str]:
    return [json.loads(el.proto.json) for el in at.get("bidi_component") if el.proto.component_name == DIAGRAM_COMPONENT]
