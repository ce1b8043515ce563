"""AppTest: the Compare page makes the decision brief in one click and offers both files."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import SMALL, write_scenarios

APP = "../../app.py"

pytestmark = pytest.mark.skipif(not shutil.which("chromium"), reason="printing the brief needs Debian's chromium")


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory) -> Path:
    return write_scenarios(tmp_path_factory.mktemp("scenarios"), {"baseline": SMALL})


def test_one_click_gives_the_pdf_and_the_slides():
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.number_input(key="compare_brief_reps").set_value(2).run()
    next(b for b in at.button if b.key == "compare_brief_make").click().run()
    assert not at.exception, [e.value for e in at.exception]
    verdict = at.info[-1].value
    assert verdict.endswith(("; confident.", "; not sure yet."))
    downloads = [d for d in at.get("download_button") if "brief" in d.proto.label or "slides" in d.proto.label]
    assert [d.proto.label for d in downloads] == ["Download the brief (PDF)", "Download the slides (PowerPoint)"]
    made = next(iter(at.session_state["_decision_briefs"].values()))
    assert made["pdf"][:5] == b"%PDF-" and made["pptx"][:2] == b"PK"   # a PDF and a zip (the pptx container)
    assert made["verdict"] == verdict
