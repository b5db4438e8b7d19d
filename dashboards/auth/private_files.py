"""Small private files under the data folder (accounts, login failures, the pseudonym key): owner-only, atomic.

Several Streamlit sessions and CLI commands may touch the same file at once, so every read-modify-write holds an
exclusive lock on a sidecar `.lock` file, and the new content replaces the old in one rename (a crash leaves
either the old or the new file, never half of one).
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.errors import UserError

OWNER_ONLY = 0o600


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock for `path` (on `path.lock`) while the block runs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, OWNER_ONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text`, readable and writable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def read_json(path: Path, default: dict) -> dict:
    """The JSON object in `path`, or `default` when the file does not exist yet."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is damaged ({exc.msg} at line {exc.lineno}); fix it or move it away") from exc


def write_json(path: Path, data: dict) -> None:
    write_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def create_once(path: Path, text: str) -> str:
    """Write `text` to `path` unless it exists; either way return the file's content (the first writer wins)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temp, path)  # fails if another process created it first, unlike a rename
    except FileExistsError:
        pass
    finally:
        Path(temp).unlink(missing_ok=True)
    return path.read_text(encoding="utf-8")
