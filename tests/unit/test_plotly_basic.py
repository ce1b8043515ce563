"""The charts' script: plotly.js's basic bundle, pinned to what the installed plotly writes figures for."""
import re
import tomllib

import plotly.graph_objects as go
import plotly.offline

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
    assert served <= {"plotly-basic.min.js", "plotly-basic.LICENSE"}, served


def test_figures_go_without_their_template_and_only_basic_traces_are_drawable():
    fig = go.Figure([go.Scatter(x=[1, 2], y=[3, 4], name="a"), go.Bar(x=[1], y=[2])])
    fig.update_layout(title={"text": "t"}, height=300)
    spec = plotly_basic.figure_spec(fig)
    assert "template" not in spec["layout"] and spec["layout"]["height"] == 300
    assert [t["type"] for t in spec["data"]] == ["scatter", "bar"] and plotly_basic.drawable(spec)
    assert not plotly_basic.drawable(plotly_basic.figure_spec(go.Figure([go.Heatmap(z=[[1, 2]])])))
