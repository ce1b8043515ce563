"""The figures a page draws, read from AppTest's elements (the chart component carries each as JSON)."""
import json

from dashboard.plotly_basic import COMPONENT_NAME


def chart_specs(at) -> list[dict]:
    """Each chart's figure (``data`` and ``layout``), in page order. Every chart of ours is drawn by
    the basic-bundle component: a fall-back ``st.plotly_chart`` here means the bundle is missing."""
    assert not at.get("plotly_chart"), "a chart fell back to st.plotly_chart (run make: it fetches static/plotly-basic-<version>.min.js)"
    return [json.loads(json.loads(el.proto.json))["figure"] for el in at.get("bidi_component")
            if el.proto.component_name == COMPONENT_NAME]
