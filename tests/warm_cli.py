"""The CLI as users run it, without paying its imports on every call.

Every `ebook-analytics` process spends seconds importing DuckDB, pandas and Great Expectations before doing anything;
a test session runs the CLI a couple of hundred times. A warm process imports them once and forks a child per call:
the child is a process of its own (its own pid, environment, working directory, stdin, stdout, stderr and exit
code), exactly what `subprocess.run` would give, minus the imports. The warm process starts with no threads, so
forking it is safe.

Run as `python -m tests.warm_cli READ_FD WRITE_FD`: requests and replies are JSON lines on those descriptors.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

# What every CLI process would import: the command modules, and what `etl run` imports when it runs.
PRELOAD = ("pipelines.run.etl", "pipelines.quality.gate", "pipelines.quality.gx")


def _child(request: dict[str, Any]) -> int:
    """In the forked child: become the CLI process the request describes and run it."""
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    for fd, path, mode in ((0, request["stdin"], os.O_RDONLY), (1, request["stdout"], os.O_WRONLY)):
        os.dup2(os.open(path, mode), fd)
    os.dup2(os.open(request["stderr"], os.O_WRONLY), 2)
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 - the process's stdin for its lifetime
    sys.argv = ["ebook-analytics", *request["args"]]
    from pipelines.cli import main

    try:
        code = main(request["args"])
    except SystemExit as exc:  # argparse's usage errors and --help
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def serve(read_fd: int, write_fd: int) -> None:
    """Import once, then fork one child per request; reply with the child's pid, then its exit code."""
    from pipelines.cli import COMMAND_MODULES

    for module in (*COMMAND_MODULES, *PRELOAD):
        importlib.import_module(module)
    # Every `etl run` and `check` reads the lineage (0.4 s parsing the SQL files, which no test changes): once here.
    # Likewise the alert rules and metric definitions that every run's alerts step reads (0.07 s of YAML).
    from pipelines.alerts.rules import rules
    from pipelines.transform.lineage import lineage

    lineage()
    rules()  # the metric definitions with them
    # What is loaded by now lives as long as the process: frozen, the children's full collections skip it (they
    # would traverse its ~300,000 objects, ~0.3 s each time, in whatever step of the command one lands), and
    # the pages the children share with this process stay shared.
    gc.freeze()
    requests = os.fdopen(read_fd, "r", encoding="utf-8")
    replies = os.fdopen(write_fd, "w", encoding="utf-8")
    for line in requests:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            requests.close()
            replies.close()
            code = 1
            try:
                code = _child(request)
            finally:
                os._exit(code)
        replies.write(json.dumps({"pid": pid}) + "\n")
        replies.flush()
        _, status = os.waitpid(pid, 0)
        replies.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
        replies.flush()


class WarmCli:
    """A client of one warm process; calls are serialized (a busy warm process is not waited for: see `run`)."""

    def __init__(self, cwd: Path) -> None:
        to_server, self._requests = os.pipe()
        self._replies, from_server = os.pipe()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.warm_cli", str(to_server), str(from_server)],
            cwd=cwd,
            pass_fds=(to_server, from_server),
        )
        os.close(to_server)
        os.close(from_server)
        self._write = os.fdopen(self._requests, "w", encoding="utf-8")
        self._read = os.fdopen(self._replies, "r", encoding="utf-8")
        self._lock = threading.Lock()

    def run(
        self, args: list[str], *, env: dict[str, str], cwd: Path, timeout: float, input: str | None
    ) -> subprocess.CompletedProcess[str] | None:
        """Run the CLI in a forked child; None when another thread is using the warm process."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            with tempfile.TemporaryDirectory(prefix="warm-cli-") as scratch:
                files = {name: Path(scratch) / name for name in ("stdin", "stdout", "stderr")}
                files["stdin"].write_text(input or "")
                files["stdout"].touch()
                files["stderr"].touch()
                request = {"args": args, "env": env, "cwd": str(cwd)} | {k: str(v) for k, v in files.items()}
                self._write.write(json.dumps(request) + "\n")
                self._write.flush()
                pid = json.loads(self._read.readline())["pid"]
                returncode = self._wait(pid, timeout)
                return subprocess.CompletedProcess(
                    ["ebook-analytics", *args], returncode, files["stdout"].read_text(), files["stderr"].read_text()
                )
        finally:
            self._lock.release()

    def _wait(self, pid: int, timeout: float) -> int:
        timer = threading.Timer(timeout, os.kill, (pid, 9))
        timer.start()
        try:
            reply = self._read.readline()
        finally:
            timer.cancel()
        if not reply:
            raise RuntimeError("the warm CLI process died")
        returncode = int(json.loads(reply)["returncode"])
        if returncode == -9:
            raise subprocess.TimeoutExpired(["ebook-analytics"], timeout)
        return returncode

    def close(self) -> None:
        self._write.close()  # the warm process exits at the end of its requests...
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # ...but only once its imports are done: a short session on a busy machine
            self._process.kill()  # need not wait for that (no call is running: calls are synchronous)
            self._process.wait()
        self._read.close()


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
