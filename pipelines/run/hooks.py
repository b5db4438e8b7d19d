"""Phase hooks: callbacks an ETL run calls when it reaches a phase. Nothing registers any in production.

The phases are the points where a run can be interrupted with interesting consequences: `extract` (source snapshot
open), `transform`, `publish` (the lake attached for writing, before anything is written to it), `commit` (the
publication's data files written, its catalog commit not yet made), `checkpoint` (published, the working file's
checkpoint not yet begun) and `writeback` (upserts done, before their commit). The fault drills register a pause
there from a test-only launcher (`tests/paused_cli.py`) to kill the run or stop its source at exactly that point,
the way Dagster tests swap a resource instead of branching on a variable in the code.
"""

from __future__ import annotations

from collections.abc import Callable

PHASES = ("extract", "transform", "publish", "commit", "checkpoint", "writeback")
_callbacks: dict[str, list[Callable[[], None]]] = {}


def on_phase(phase: str, callback: Callable[[], None]) -> None:
    """Call `callback()` whenever a run in this process reaches `phase`."""
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}; one of {PHASES}")
    _callbacks.setdefault(phase, []).append(callback)


def reached(phase: str) -> None:
    """The run is at `phase`: call what was registered for it (in production: nothing)."""
    for callback in _callbacks.get(phase, []):
        callback()
