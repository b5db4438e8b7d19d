"""Runs a CLI step as a child process and measures it: wall time and peak resident memory."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import UserError


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def cli_command(*args: str) -> list[str]:
    """`ebook-analytics ARGS` with the interpreter running us, so the bench works from any venv."""
    return [sys.executable, "-m", "pipelines.cli", *args]


def run_measured(argv: list[str], env: dict[str, str], cwd: Path) -> Measured:
    """Run to completion; peak RSS is the kernel's own figure for the child (wait4), not a sampled guess."""
    # Output goes to files, not pipes: a chatty child must never block on a full pipe while we wait4 it.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4: tell Popen so
        out.seek(0)
        err.seek(0)
        # Linux reports ru_maxrss in KiB.
        return Measured(seconds, usage.ru_maxrss / 1024, process.returncode, out.read(), err.read())


def run_step(what: str, *args: str, env: dict[str, str], cwd: Path) -> Measured:
    """A CLI step the benchmark cannot go on without: its failure becomes the bench's one-line error."""
    measured = run_measured(cli_command(*args), env, cwd)
    if measured.returncode != 0:
        last = measured.stderr.strip().splitlines()[-1] if measured.stderr.strip() else "no message"
        raise UserError(f"bench: {what} (`ebook-analytics {' '.join(args)}`) failed: {last}; fix that step first")
    return measured
