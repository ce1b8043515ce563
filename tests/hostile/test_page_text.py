"""Text that comes from a scenario is shown as text: no images fetched, no links, no formatting."""
import re

from dashboard.widgets import escape_markdown


def test_markdown_in_scenario_text_is_shown_literally():
    text = "![x](http://127.0.0.1:9/t.png) **bold** [link](https://evil) <b>x</b> `code` # head www.evil.org"
    out = escape_markdown(text)
    assert not re.search(r"(?<!\\)[!\[\]()*`<>#]", out), out  # every special character escaped
    assert "://" not in out and "www." not in out  # no bare address to auto-link
    assert out.replace("\\", "").replace("\u2060", "") == text  # and nothing else changed
