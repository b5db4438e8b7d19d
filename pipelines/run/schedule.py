"""`etl run --every 15m`: the ETL on a fixed schedule in one long-lived process, for hosts without cron.

A failed or refused run is logged and the schedule goes on: the next tick is the retry. Ticks are fixed
(start, start + interval, ...); a run longer than the interval makes the schedule skip the ticks it overran
instead of starting runs back to back. SIGTERM (how systemd, Docker or a supervisor stops a service) ends the
schedule gracefully: a run in progress finishes and publishes, the wait for the next tick ends at once.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from pipelines.errors import UserError, unexpected

_INTERVAL = re.compile(r"(\d+)(s|m|h)")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
# How soon a stop request ends the wait for the next tick.
_STOP_POLL_S = 0.2


def parse_interval(text: str) -> float:
    """'90s', '15m', '1h' -> seconds (argparse `type=`, so a bad value is a usage error)."""
    match = _INTERVAL.fullmatch(text.strip())
    if not match or int(match[1]) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not an interval; write it like 90s, 15m or 1h")
    return float(int(match[1]) * _UNIT_SECONDS[match[2]])


def _log(message: str) -> None:
    print(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {message}", flush=True)


def run_every(interval_s: float, max_runs: int | None, run_once: Callable[[], str]) -> int:
    """Call `run_once` (returns the run's outcome) every interval until `max_runs` or SIGTERM; 0 when every run
    published, else 1."""
    failures = 0
    runs = 0
    next_tick = time.monotonic()
    with _stop_requests() as stop:
        while (max_runs is None or runs < max_runs) and not stop:
            runs += 1
            started = time.monotonic()
            try:
                outcome = run_once()
            except UserError as exc:
                outcome = f"failed: {exc}"
            except Exception as exc:  # noqa: BLE001 - a scheduler that dies on one bad run stops every later one
                outcome = f"failed: {unexpected(exc)}"
            if outcome != "published":
                failures += 1
            _log(f"run {runs}{f'/{max_runs}' if max_runs else ''}: {outcome} ({time.monotonic() - started:.1f}s)")
            if max_runs is not None and runs >= max_runs:
                break
            while next_tick <= time.monotonic():
                next_tick += interval_s
            _sleep_until(next_tick, stop)
        if stop:
            _log("stopped: SIGTERM")
    print(f"{runs} scheduled runs, {failures} not published", file=sys.stderr if failures else sys.stdout)
    return 1 if failures else 0


@contextmanager
def _stop_requests() -> Iterator[list[int]]:
    """A list that gets the signal's number when SIGTERM arrives (truthy once a stop is requested); the process's
    own handler is back afterwards."""
    requests: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: requests.append(signum))
    try:
        yield requests
    finally:
        signal.signal(signal.SIGTERM, previous)


def _sleep_until(tick: float, stop: list[int]) -> None:
    while not stop and (left := tick - time.monotonic()) > 0:
        time.sleep(min(left, _STOP_POLL_S))
