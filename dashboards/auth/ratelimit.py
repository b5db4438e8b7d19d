"""Failed sign-ins, counted per email and per browser session, shared by every session and server process.

After `MAX_FAILURES` failures within `WINDOW`, a key is refused until its oldest counted failure leaves the window.
Counters live in `<home>/login_failures.json` so a restart does not reset them; keys are stored as SHA-256 digests
so the file does not collect the emails people mistype.
"""

from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path

from dashboards.auth.private_files import locked, read_json, write_json
from pipelines.config import paths

MAX_FAILURES = 5
WINDOW_SECONDS = 10 * 60


def _file() -> Path:
    return paths().home / "login_failures.json"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _recent(failures: dict[str, list[float]], digest: str, now: float) -> list[float]:
    return [at for at in failures.get(digest, []) if now - at < WINDOW_SECONDS]


def retry_after(keys: list[str], now: float | None = None) -> int:
    """Seconds until these keys may try again (0: they may try now)."""
    now = time.time() if now is None else now
    failures = read_json(_file(), {})
    waits = [
        min(recent) + WINDOW_SECONDS - now
        for recent in (_recent(failures, _digest(key), now) for key in keys)
        if len(recent) >= MAX_FAILURES
    ]
    return math.ceil(max(waits)) if waits else 0


def record_failure(keys: list[str], now: float | None = None) -> None:
    """Count one failed sign-in against each key; forget failures older than the window."""
    now = time.time() if now is None else now
    with locked(_file()):
        failures = read_json(_file(), {})
        for key in keys:
            digest = _digest(key)
            failures[digest] = [*_recent(failures, digest, now), now]
        write_json(_file(), {digest: times for digest, times in failures.items() if _recent(failures, digest, now)})


def clear(keys: list[str]) -> None:
    """Forget the failures of these keys (after a successful sign-in)."""
    with locked(_file()):
        failures = read_json(_file(), {})
        for key in keys:
            failures.pop(_digest(key), None)
        write_json(_file(), failures)
