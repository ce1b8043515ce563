"""The charts' script (plotly.js's basic bundle, pinned to what the installed plotly writes figures for)
and our chart component, with its fall-back to st.plotly_chart when the bundle cannot draw a figure."""
import json
import re
import sys
import tomllib

import plotly.graph_objects as go
import plotly.offline
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import plotly_basic
from tests.conftest import ROOT


def test_the_pinned_bundle_is_the_plotly_js_version_the_python_package_writes_for():
    pinned = re.search(r"^PLOTLY_JS_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    assert pinned == plotly.offline.get_plotlyjs_version()
    header = plotly_basic.BUNDLE.read_bytes()[:200].decode("ascii", "replace")
    assert f"plotly.js (basic - minified) v{pinned}" in header


def test_static_serving_shows_the_bundle_and_nothing_else():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableStaticServing"] is True
    served = {p.name for p in (ROOT / "static").iterdir()}
    assert served <= {plotly_basic.BUNDLE_NAME, "plotly-basic.LICENSE"}, served


def test_figures_go_without_their_template_and_only_basic_traces_are_drawable():
    fig = go.Figure([go.Scatter(x=[1, 2], y=[3, 4], name="a"), go.Bar(x=[1], y=[2])])
    fig.update_layout(title={"text": "t"}, height=300)
    spec = plotly_basic.figure_spec(fig)
    assert "template" not in spec["layout"] and spec["layout"]["height"] == 300
    assert [t["type"] for t in spec["data"]] == ["scatter", "bar"] and plotly_basic.drawable(spec)
    assert not plotly_basic.drawable(plotly_basic.figure_spec(go.Figure([go.Heatmap(z=[[1, 2]])])))


@pytest.fixture(autouse=True)
def keep_main_module():
    """AppTest runs the script as ``__main__``; put the real one back for later worker pools."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


def _page(kind: str):
    import plotly.graph_objects as go

    from dashboard import plotly_basic

    trace = go.Heatmap(z=[[1, 2]]) if kind == "heatmap" else go.Scatter(x=[1, 2], y=[3, 5], name="answered")
    plotly_basic.chart(go.Figure([trace], layout={"title": {"text": "Answered"}}), key="c", config={"staticPlot": True})


def _run(kind: str) -> AppTest:
    at = AppTest.from_function(_page, args=(kind,), default_timeout=30).run()
    assert not at.exception
    return at


def test_a_scatter_goes_to_the_component_with_its_figure_config_and_bundle_address():
    at = _run("scatter")
    (el,) = at.get("bidi_component")
    assert el.proto.component_name == plotly_basic.COMPONENT_NAME and not at.get("plotly_chart")
    data = json.loads(json.loads(el.proto.json))
    assert data["figure"]["data"][0]["name"] == "answered" and "template" not in data["figure"]["layout"]
    assert data["config"] == {"displaylogo": False, "showSendToCloud": False, "staticPlot": True}
    assert data["src"] == f"/app/static/plotly-basic-{plotly.offline.get_plotlyjs_version()}.min.js"


def test_without_the_bundle_or_for_a_trace_it_lacks_the_chart_is_st_plotly_chart(monkeypatch, tmp_path):
    at = _run("heatmap")
    assert len(at.get("plotly_chart")) == 1 and not at.get("bidi_component")
    monkeypatch.setattr(plotly_basic, "BUNDLE", tmp_path / "missing.js")
    at = _run("scatter")
    assert len(at.get("plotly_chart")) == 1 and not at.get("bidi_component")
    assert json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["name"] == "answered"
