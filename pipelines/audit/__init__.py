"""Who took what: every export, statement pack and dashboard download, recorded in an append-only log.

The log is `<home>/audit/audit.jsonl`, one JSON object per line: `at` (UTC, ISO 8601), `user` (the OS user for the
command line, the signed-in email for the dashboards), `role` (`cli` on the command line), `action` (what was taken:
`export statements`, `statement pack`, `report pack`, `scheduled send`, `download`, `close month`), `what` (the file
or the download's name), `filters` (the options or on-screen filters), `run_id` (the publication the figures came
from) and `files` (what was written). `record` only ever appends one line under an exclusive lock, so concurrent
writers never interleave and the log survives restarts; nothing in the project rewrites or truncates it. The
dashboards reach it only through `record`, called by their download buttons, and read it on the admins' Audit log
page.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.config import paths
from pipelines.errors import UserError

CLI_ROLE = "cli"
FIELDS = ("at", "user", "role", "action", "what", "filters", "run_id", "files")


def log_path() -> Path:
    return paths().home / "audit" / "audit.jsonl"


def cli_user() -> str:
    """The OS account running the command line."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (e.g. a container's arbitrary uid)
        return f"uid:{os.getuid()}"


def record(
    action: str,
    what: str,
    *,
    filters: Mapping[str, object],
    run_id: str | None,
    user: str | None = None,
    role: str = CLI_ROLE,
    files: Sequence[str] = (),
) -> dict[str, Any]:
    """Append one entry (`user` defaults to the OS user, for the command line); returns it."""
    entry = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "user": user if user is not None else cli_user(),
        "role": role,
        "action": action,
        "what": what,
        "filters": {key: str(value) for key, value in filters.items()},
        "run_id": run_id,
        "files": list(files),
    }
    path = log_path()
    line = (json.dumps(entry, sort_keys=True) + "\n").encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND: every write lands at the end, whatever else has the file open; the lock keeps lines whole.
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            os.write(descriptor, line)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    except OSError as exc:
        raise UserError(
            f"cannot record the export in the audit log {path}: {exc.strerror}; make the data folder writable"
        ) from exc
    return entry


def read(limit: int | None = None) -> list[dict[str, Any]]:
    """The log's entries, newest first (at most `limit`); none when nothing was ever recorded."""
    try:
        text = log_path().read_text()
    except FileNotFoundError:
        return []
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]
    entries.reverse()
    return entries if limit is None else entries[:limit]
