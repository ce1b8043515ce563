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
    verdict = at.info[-1].value.replace("\\", "")  # shown with markdown escaped
    assert verdict.endswith(("; confident.", "; not sure yet."))
    downloads = [d for d in at.get("download_button") if "brief" in d.proto.label or "slides" in d.proto.label]
    assert [d.proto.label for d in downloads] == ["Download the brief (PDF)", "Download the slides (PowerPoint)"]
    made = next(iter(at.session_state["_decision_briefs"].values()))
    assert made["pdf"][:5] == b"%PDF-" and made["pptx"][:2] == b"PK"   # a PDF and a zip (the pptx container)
    assert made["verdict"] == verdict


def test_a_recorded_decision_gives_its_brief_with_its_question(tmp_path):
    """Compare -> 'Write a decision' -> record it -> its brief carries the question, the choice and the why."""
    import subprocess

    import streamlit as st

    from simulator.store import decisions
    from simulator.store.db import open_store

    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    at.switch_page("pages/compare.py").run()
    next(b for b in at.button if b.key == "compare_decide").click().run()
    at.switch_page("pages/decisions.py").run()
    next(t for t in at.text_input if t.label == "The question").input("Do we add <two> servers & more?")
    next(t for t in at.text_input if t.label == "The option chosen").input("add them")
    next(t for t in at.text_area if t.label == "Why").input("The slowest 1 % wait less.")
    next(b for b in at.button if b.label == "Record the decision").click().run()
    store = open_store()
    try:
        [made] = decisions.list_decisions(store)
    finally:
        store.close()
    next(b for b in at.button if b.key == f"decision_brief_{made.id}").click().run()
    at.number_input(key=f"decision{made.id}_brief_reps").set_value(2).run()
    next(b for b in at.button if b.key == f"decision{made.id}_brief_make").click().run()
    assert not at.exception, [e.value for e in at.exception]
    files = next(v for k, v in at.session_state["_decision_briefs"].items() if k[0] == f"decision{made.id}")
    pdf = tmp_path / "decision.pdf"
    pdf.write_bytes(files["pdf"])
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True).stdout
    first = " ".join(first.split())
    assert "Do we add <two> servers & more?" in first
    assert "Decided: add them" in first and "The slowest 1 % wait less." in first
