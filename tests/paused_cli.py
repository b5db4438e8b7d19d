"""Test-only launcher of the fault drills: the real CLI, with a run paused at one phase.

`python -m tests.paused_cli PHASE SECONDS ARGS...` registers a phase hook (`pipelines.run.hooks`) that prints
`paused at PHASE` on stderr and sleeps SECONDS, then runs `ebook-analytics ARGS` in this process. The warm CLI's
background children (tests/warm_cli.py, `start_cli` in tests/conftest.py) register the same hook by `install`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from pipelines.cli import main
from pipelines.run import hooks


def pause(phase: str, seconds: float) -> Callable[[], None]:
    def paused() -> None:
        print(f"paused at {phase}", file=sys.stderr, flush=True)
        time.sleep(seconds)

    return paused


def install(phase: str, seconds: float) -> None:
    hooks.on_phase(phase, pause(phase, seconds))


if __name__ == "__main__":
    phase, seconds, *argv = sys.argv[1:]
    install(phase, float(seconds))
    sys.exit(main(argv))
