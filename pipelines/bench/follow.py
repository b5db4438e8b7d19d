"""Follow lag: how long a row committed at the source takes to reach the publication under `etl run --every`.

The follower is the real long-lived refresher (`etl run --every INTERVAL`, one process). The marker row is committed
the moment its first run has been recorded, the worst moment (a run has just read the source), so the lag measured is
the longest a row waits: about one interval plus one incremental run, or two when the next tick came before the
commit (a first run that overran its interval). Once the marker is published the follower is stopped as a service
manager stops it (SIGTERM: a run in progress finishes).
"""

from __future__ import annotations

import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from pipelines import warehouse
from pipelines.bench.environment import BenchEnvironment
from pipelines.bench.process import cli_command
from pipelines.connections import connect
from pipelines.errors import UserError
from pipelines.queries import one_row, sql_file

POLL_S = 0.2
# The follower's runs must publish the marker, and its last run end, well within this, or the bench stops with the
# follower's own output.
TIMEOUT_S = 900.0


def measure_follow_lag(bench: BenchEnvironment, every: str) -> dict[str, Any]:
    """`follow_lag_s`: seconds from the marker's commit at the source until the published warehouse holds it."""
    runs_before = _recorded_runs(bench.run_history)
    # Output to a file, not a pipe: nobody reads it until the end, and a full pipe would stall the follower.
    with tempfile.TemporaryFile("w+") as output:
        follower = subprocess.Popen(
            cli_command("etl", "run", "--every", every),
            env=bench.env(),
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            _wait(lambda: _recorded_runs(bench.run_history) > runs_before, follower, output, "its first run")
            with connect(bench.source_url) as conn:
                marker = one_row(conn.execute(sql_file("bench/follow_marker")))[0]
                conn.commit()
            committed = time.monotonic()
            _wait(lambda: _published(bench.warehouse, str(marker)), follower, output, "the marker's publication")
            lag = time.monotonic() - committed
            follower.send_signal(signal.SIGTERM)
            follower.wait(timeout=TIMEOUT_S)
        finally:
            if follower.poll() is None:
                follower.kill()
                follower.wait()
    return {"follow_lag_s": round(lag, 3), "follow_every": every}


def _recorded_runs(run_history: Path) -> int:
    return len(run_history.read_text().splitlines()) if run_history.exists() else 0


def _published(live: Path, marker: str) -> bool:
    with warehouse.connect(live, read_only=True) as con:
        return bool(one_row(con.execute(sql_file("bench/follow_marker_published"), {"marker": marker}))[0])


def _wait(condition: Callable[[], bool], follower: subprocess.Popen[str], output: IO[str], what: str) -> None:
    """Poll until `condition()`; a follower that exits first, or a timeout, stops the bench with its last line."""
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if follower.poll() is not None or time.monotonic() > deadline:
            follower.kill()
            follower.wait()
            output.seek(0)
            lines = output.read().strip().splitlines()
            raise UserError(
                f"bench: the follower (`etl run --every`) never reached {what}: {lines[-1] if lines else 'no output'}"
            )
        time.sleep(POLL_S)
