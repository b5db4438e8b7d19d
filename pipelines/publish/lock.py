"""One ETL run at a time: an `flock` on `<warehouse dir>/.etl.lock`.

The kernel drops the lock when its holder exits for any reason, `kill -9` included, so a lock is never stale.
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.errors import UserError

LOCK_FILE = ".etl.lock"
EXIT_BUSY = 75  # EX_TEMPFAIL: try again later


@contextmanager
def etl_lock(directory: Path, *, wait: bool) -> Iterator[None]:
    """Hold the ETL lock; without `wait`, refuse at once when another run holds it."""
    path = directory / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UserError(
            f"cannot open the ETL lock {path}: {exc.strerror}; make the warehouse folder {directory} writable"
        ) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            if not wait:
                raise UserError(
                    f"another ETL run is in progress (pid {holder}); wait for it or use --wait", exit_code=EXIT_BUSY
                ) from None
            print(f"waiting for the ETL run in progress (pid {holder}) to finish", file=sys.stderr, flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        # The pid is only for the message above; the lock itself is the flock.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock
