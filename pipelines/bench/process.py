"""Runs a CLI step as a child process and measures it: wall time and peak resident memory (sampled)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import psutil

from pipelines.errors import UserError

SAMPLE_S = 0.1


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


def _tree_rss(process: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants, skipping any that exit while we look."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total


def run_measured(argv: list[str], env: dict[str, str]) -> Measured:
    """Run to completion, sampling the RSS of the child and its children every SAMPLE_S.

    Not the kernel's ru_maxrss from wait4: a child started by fork/vfork+exec inherits the parent's high-water
    mark, so after the bench itself grew (the naive peer holds whole tables) it would report the bench's size.
    """
    # Output goes to files, not pipes: a chatty child must never block on a full pipe while we sample it.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=err, text=True)
        watched = psutil.Process(process.pid)
        peak = 0
        while True:
            peak = max(peak, _tree_rss(watched))
            try:
                process.wait(timeout=SAMPLE_S)  # returns the moment it exits: the wall time stays exact
                break
            except subprocess.TimeoutExpired:
                continue
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        return Measured(seconds, peak / 2**20, process.returncode, out.read(), err.read())


def run_step(what: str, *args: str, env: dict[str, str]) -> Measured:
    """A CLI step the benchmark cannot go on without: its failure becomes the bench's one-line error."""
    measured = run_measured(cli_command(*args), env)
    if measured.returncode != 0:
        last = measured.stderr.strip().splitlines()[-1] if measured.stderr.strip() else "no message"
        raise UserError(f"bench: {what} (`ebook-analytics {' '.join(args)}`) failed: {last}; fix that step first")
    return measured
