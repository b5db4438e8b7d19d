"""Test-only launcher of the fault drills: the real CLI, with a run paused at one phase.

`python -m tests.paused_cli PHASE SECONDS ARGS...` registers a phase hook (`pipelines.run.hooks`) that prints
`paused at PHASE` on stderr and sleeps up to SECONDS (`resume(pid)` ends the pause sooner), then runs
`ebook-analytics ARGS` in this process. The warm CLI's background children (tests/warm_cli.py, `start_cli` in
tests/conftest.py) register the same hook by `install`.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pipelines.cli import main
from pipelines.run import hooks


def _resume_file(pid: int) -> Path:
    return Path(tempfile.gettempdir()) / f"ebook-analytics-paused-{pid}.resume"


def resume(pid: int) -> None:
    """End the pause of the paused run in process `pid` (the drill has done what it paused the run for)."""
    _resume_file(pid).touch()


def pause(phase: str, seconds: float) -> Callable[[], None]:
    def paused() -> None:
        print(f"paused at {phase}", file=sys.stderr, flush=True)
        resumed, deadline = _resume_file(os.getpid()), time.monotonic() + seconds
        while not resumed.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        resumed.unlink(missing_ok=True)

    return paused


def install(phase: str, seconds: float) -> None:
    hooks.on_phase(phase, pause(phase, seconds))


if __name__ == "__main__":
    phase, seconds, *argv = sys.argv[1:]
    install(phase, float(seconds))
    sys.exit(main(argv))
