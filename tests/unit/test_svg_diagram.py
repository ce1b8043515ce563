"""Diagrams drawn on the server by Graphviz's dot: the SVG shown, and when it is not."""
import json
import re
import sys

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import svg_diagram


@pytest.fixture(autouse=True)
def keep_main_module():
    """AppTest runs the script as ``__main__``; put the real one back for later worker pools."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


def test_the_svg_scales_to_its_column_and_keeps_its_shape():
    svg = svg_diagram.svg_for('digraph { a [label="Fraud model"]; a -> b }')
    assert svg.startswith('<svg style="width: 100%; height: auto; display: block"') and "viewBox=" in svg
    assert ' width="' not in svg.split(">", 1)[0] and "Fraud model" in svg


@pytest.mark.parametrize("label", ["<script>alert(1)</script>", "x\" onclick=\"alert(1)", "javascript:alert(1)"])
def test_labels_are_text_so_hostile_ones_stay_inert(label):
    """dot escapes every label: whatever a scenario's names hold comes out as text, and the SVG passes."""
    svg = svg_diagram.svg_for('digraph { a [label=' + json.dumps(label) + '] }')
    assert svg is not None and "<script" not in svg and not re.search(r"<[^>]*\sonclick=", svg)


def test_an_svg_with_a_link_target_is_not_shown_as_svg():
    assert svg_diagram.svg_for('digraph { a [URL="https://example.org"] }') is None


def _page(dot: str):
    from dashboard import svg_diagram

    svg_diagram.diagram(dot, key="d")


def test_the_component_carries_the_svg_and_falls_back_to_st_graphviz_chart(monkeypatch):
    at = AppTest.from_function(_page, args=("digraph { a -> b }",), default_timeout=30).run()
    (el,) = at.get("bidi_component")
    assert el.proto.component_name == svg_diagram.COMPONENT_NAME and not at.get("graphviz_chart")
    assert json.loads(el.proto.json).startswith("<svg")
    monkeypatch.setattr(svg_diagram, "diagram_svg", lambda dot: None)  # no dot program
    svg_diagram.svg_for.cache_clear()
    at = AppTest.from_function(_page, args=("digraph { c -> d }",), default_timeout=30).run()
    assert len(at.get("graphviz_chart")) == 1 and not at.get("bidi_component")
    svg_diagram.svg_for.cache_clear()
