"""The warehouse file changes only by an atomic rename: readers see the old file or the new one, never a half.

A run builds `<warehouse>.building-<run_id>` beside the live file (same file system, so the rename is atomic),
then checkpoints, closes and fsyncs it, `os.replace`s it onto the live path and fsyncs the directory.
A run that fails or is killed leaves only its building file, which the next run deletes.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.errors import UserError, first_line
from pipelines.queries import one_row

BUILDING = ".building-"


def building_path(live: Path, run_id: str) -> Path:
    return live.with_name(f"{live.name}{BUILDING}{run_id}")


def remove_leftovers(live: Path) -> list[Path]:
    """Delete building files (and their WALs) of killed runs; call only while holding the ETL lock."""
    leftovers = sorted(live.parent.glob(f"{live.name}{BUILDING}*"))
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers


def published_exists(live: Path) -> bool:
    """True for a warehouse this tool published, False when there is none; refuses anything else at the path."""
    if not live.exists():
        return False
    try:
        with duckdb.connect(str(live), read_only=True) as con:
            publications = one_row(con.execute("select count(*) from meta.publication"))[0]
    except duckdb.Error as exc:
        raise UserError(
            f"{live} is not a warehouse published by ebook-analytics ({first_line(exc)}); it was left untouched. "
            "Move it away, or run `ebook-analytics etl run --full --rebuild` to set it aside and build a fresh one"
        ) from exc
    if publications != 1:
        raise UserError(
            f"{live} has {publications} rows in meta.publication instead of 1; it was left untouched. "
            "Run `ebook-analytics etl run --full --rebuild` to set it aside and build a fresh one"
        )
    return True


def move_aside(live: Path) -> Path:
    """Rename an unusable file at the live path to `<name>.corrupt-<UTC timestamp>`, keeping it for inspection."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = live.with_name(f"{live.name}.corrupt-{stamp}")
    os.replace(live, aside)
    return aside


def copy_live(live: Path, build: Path) -> None:
    """Start an incremental build from the published file; readers keep reading the original meanwhile."""
    shutil.copyfile(live, build)


def publish(build: Path, live: Path) -> None:
    """Atomically make the (checkpointed, closed) build file the live warehouse, durably."""
    if build.with_name(build.name + ".wal").exists():
        raise RuntimeError(f"{build} still has a write-ahead log; checkpoint and close it before publishing")
    _fsync(build)
    os.replace(build, live)
    _fsync(live.parent)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
