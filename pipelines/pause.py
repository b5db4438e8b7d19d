"""A test hook for the fault drills: `EBOOK_ANALYTICS_TEST_PAUSE_AT=<phase>` makes a run stop at that phase.

The run prints `paused at <phase>` on stderr and sleeps `EBOOK_ANALYTICS_TEST_PAUSE_SECONDS` (default 60), so a
drill (tests/test_fault_drills.py) can kill it or stop its source at exactly that point. Unset, it does nothing.
"""

from __future__ import annotations

import os
import sys
import time

PHASES = ("extract", "transform", "publish", "writeback")


def pause_if_asked(phase: str) -> None:
    if os.environ.get("EBOOK_ANALYTICS_TEST_PAUSE_AT") != phase:
        return
    print(f"paused at {phase}", file=sys.stderr, flush=True)
    time.sleep(float(os.environ.get("EBOOK_ANALYTICS_TEST_PAUSE_SECONDS", "60")))
