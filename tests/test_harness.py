"""The suite's own harness (tests/conftest.py) keeps the behaviour of what it speeds up."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest


def test_app_scripts_are_awaited_to_their_end_and_still_time_out() -> None:
    app = AppTest.from_string("import time\nimport streamlit as st\ntime.sleep(0.3)\nst.write('done')")
    started = time.monotonic()
    app.run(timeout=5)
    assert [element.value for element in app.markdown] == ["done"]
    assert time.monotonic() - started < 2  # joined when the script ended, not at the timeout

    slow = AppTest.from_string("import time\ntime.sleep(1)")
    with pytest.raises(RuntimeError, match=r"timed out after 0.5\(s\)"):
        slow.run(timeout=0.5)
