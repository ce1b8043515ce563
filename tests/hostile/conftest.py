"""Fixtures of the hostile-input suite (the helpers live in ``inputs.py``)."""
import pytest

from tests.hostile.inputs import Listener


@pytest.fixture(scope="session")
def listener():
    """A local HTTP server that must see no request from anything under test."""
    server = Listener()
    yield server
    server.close()
