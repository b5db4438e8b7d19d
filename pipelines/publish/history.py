"""Run history: `runs.jsonl` beside the warehouse, one JSON object per run, appended when the run ends."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO


def append_run(path: Path, record: dict[str, Any]) -> None:
    """Append one run as a single line; one `write` of a line opened for append cannot interleave with another. A
    line the disk had no room for is taken back whole: left torn, the next run's line would continue it, and both
    would be unreadable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, default=str, sort_keys=False) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.lseek(fd, 0, os.SEEK_END)
        try:
            if os.write(fd, line) != len(line):  # a full disk writes what fits and says nothing
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, size)
            raise
    finally:
        os.close(fd)


def _lines_newest_first(path: Path, block: int = 1 << 16) -> Iterator[bytes]:
    """The file's lines from the last to the first, read in blocks from the end: the newest runs cost the same
    however long the history grows."""
    with path.open("rb") as handle:
        position = handle.seek(0, os.SEEK_END)
        tail = b""
        while position > 0:
            step = min(block, position)
            position -= step
            handle.seek(position)
            lines = (handle.read(step) + tail).split(b"\n")
            tail = lines.pop(0)  # may continue in the block before
            yield from (line for line in reversed(lines) if line)
        if tail:
            yield tail


def runs_newest_first(path: Path) -> Iterator[dict[str, Any]]:
    """The recorded runs, newest first, read from the end as they are asked for; a torn line (a crash mid-write) is
    skipped."""
    if not path.is_file():
        return
    for line in _lines_newest_first(path):
        try:
            yield json.loads(line)
        except ValueError:  # not JSON, or not UTF-8: torn
            continue


def read_runs(path: Path, *, limit: int | None = None) -> list[dict[str, Any]]:
    """The recorded runs, newest first (at most `limit`); a torn line (a crash mid-write) is skipped."""
    return list(islice(runs_newest_first(path), limit))


def last_published(path: Path) -> dict[str, Any] | None:
    """The last run whose build became the live warehouse (a partial run too: its staging is published whole)."""
    return next((run for run in runs_newest_first(path) if run.get("status") in ("published", "partial")), None)


def runs_from(handle: BinaryIO, offset: int) -> tuple[list[dict[str, Any]], int]:
    """The runs recorded in the open history `handle` from byte `offset` on, oldest first, and the offset after the
    last whole line read: a reader keeping the offset reads each run once, however long the history grows. A torn
    line is skipped; a line still being written is left for the next call."""
    runs: list[dict[str, Any]] = []
    handle.seek(offset)
    for line in handle:
        if not line.endswith(b"\n"):
            break
        offset += len(line)
        try:
            runs.append(json.loads(line))
        except ValueError:  # not JSON, or not UTF-8: torn
            continue
    return runs, offset
