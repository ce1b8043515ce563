"""An unexpected error on a page: the user sees a short message with an error id, the log the details."""
import sys

import pytest
from streamlit.testing.v1 import AppTest


@pytest.fixture(autouse=True)
def keep_main_module():
    """AppTest runs the script as ``__main__``; put the real one back, or every later ``spawn``
    (worker pools) would re-run this test's generated script in its children."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


def _page_that_fails():
    import streamlit as st

    from dashboard.frame import friendly_errors

    st.title("before")
    with friendly_errors():
        raise RecursionError("maximum recursion depth exceeded in /srv/secret/path.py")
    st.caption("after")


def test_a_page_error_shows_an_error_id_and_no_details(caplog):
    caplog.set_level("ERROR", logger="pipeline_twin.dashboard")
    at = AppTest.from_function(_page_that_fails, default_timeout=30).run()
    assert not at.exception
    (error,) = at.error
    assert "error id" in error.value and "secret" not in error.value and "Recursion" not in error.value
    error_id = error.value.split("error id ")[1].split(")")[0]
    assert at.caption[0].value == "after"  # the rest of the page still renders
    logged = [r for r in caplog.records if error_id in r.getMessage()]
    assert logged and "RecursionError" in (logged[0].exc_text or "") + str(logged[0].exc_info)
