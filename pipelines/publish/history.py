"""Run history: `runs.jsonl` beside the warehouse, one JSON object per run, appended when the run ends."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATUSES = ("published", "partial", "blocked", "failed")


def append_run(path: Path, record: dict[str, Any]) -> None:
    """Append one run as a single line; one `write` of a line opened for append cannot interleave with another."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, default=str, sort_keys=False) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_runs(path: Path, *, limit: int | None = None) -> list[dict[str, Any]]:
    """The recorded runs, newest first; a torn last line (a crash mid-write) is skipped."""
    if not path.is_file():
        return []
    runs = []
    for line in path.read_text().splitlines():
        try:
            runs.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    runs.reverse()
    return runs[:limit] if limit is not None else runs


def last_published(path: Path) -> dict[str, Any] | None:
    """The last run whose build became the live warehouse (a partial run too: its staging is published whole)."""
    return next((run for run in read_runs(path) if run.get("status") in ("published", "partial")), None)
