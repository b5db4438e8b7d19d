"""The CLI as users run it, without paying its imports on every call.

Every `ebook-analytics` process spends seconds importing DuckDB, pandas and Great Expectations before doing anything;
a test session runs the CLI a couple of hundred times. A warm process imports them once and forks a child per call:
the child is a process of its own (its own pid, environment, working directory, stdin, stdout, stderr and exit
code), exactly what `subprocess.run` would give, minus the imports. The warm process starts with no threads, so
forking it is safe.

A call may also run in the background (`WarmCli.start`, for the drills that kill, stop or race a running CLI): the
child's stdout and stderr are named pipes the test reads as it runs, and a waiter process between the warm process
and the child records the child's exit code (kill -9 included) for the test to collect.

Run as `python -m tests.warm_cli READ_FD WRITE_FD`: requests and replies are JSON lines on those descriptors.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

# What the CLI processes import: the command modules (each call its own), and what `etl run` imports when it runs.
# AppTest's module too (the report packs and the dashboards' warm-up render pages with it): it writes each page
# script into a folder it makes on import and removes at the process's exit, which a child (`os._exit`) never
# reaches; made here, the folder is this process's, removed when the session ends.
PRELOAD = (
    "pipelines.run.etl",
    "pipelines.quality.gate",
    "pipelines.quality.validation",  # with GX
    "streamlit.testing.v1.app_test",
)


def one_thread_per_connection() -> None:
    """DuckDB connections opened from now on in this process use one thread unless they ask for more.

    The suite runs two workers on two cores, each query on a few dozen rows: a connection's other threads find no
    work to share and only spin, half the CPU DuckDB spends in a test. One thread computes the same rows."""
    import duckdb

    connect = duckdb.connect
    if getattr(connect, "one_thread", False):
        return

    def one_thread(*args: Any, **kwargs: Any) -> Any:
        if len(args) < 3:  # config is the third positional argument
            kwargs["config"] = {"threads": 1, **(kwargs.get("config") or {})}
        return connect(*args, **kwargs)

    one_thread.one_thread = True  # type: ignore[attr-defined]
    duckdb.connect = one_thread


def _parse_the_checks() -> None:
    """The tables each declared check reads (`reuse.tables_read`): every run's check step asks, and parsing the ~110
    row queries is 0.13 s of a run (cached per process: here, once for every child)."""
    from pipelines.quality import reuse
    from pipelines.quality.staging_checks import load_staging_checks
    from pipelines.quality.suites import mart_suite, staging_suite
    from pipelines.transform.contracts import load_contracts

    suites = [staging_suite(table) for table in load_staging_checks()]
    suites += [mart_suite(contract) for contract in load_contracts()]
    for suite in suites:
        for check in suite.checks:
            reuse.tables_read(suite, check)


def _child(request: dict[str, Any]) -> int:
    """In the forked child: become the CLI process the request describes and run it."""
    # stdout and stderr first: in the background they are named pipes the test opens in this order.
    for fd, path, mode in ((1, request["stdout"], os.O_WRONLY), (2, request["stderr"], os.O_WRONLY)):
        os.dup2(os.open(path, mode), fd)
    os.dup2(os.open(request["stdin"], os.O_RDONLY), 0)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 - the process's stdin for its lifetime
    sys.argv = ["ebook-analytics", *request["args"]]
    from pipelines.cli import main

    if request.get("pause"):  # a drill's run paused at a phase (tests/paused_cli.py)
        from tests.paused_cli import install

        phase, seconds = request["pause"]
        install(phase, float(seconds))

    try:
        code = main(request["args"])
    except SystemExit as exc:  # argparse's usage errors and --help
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def serve(read_fd: int, write_fd: int, check_results: Path | None = None) -> None:
    """Import once, then fork one child per request; reply with the child's pid, then its exit code.

    `check_results`: the session's remembered check results (tests/check_cache.py), for every child."""
    from pipelines.cli import COMMAND_MODULES

    one_thread_per_connection()
    for module in (*COMMAND_MODULES, *PRELOAD):
        importlib.import_module(module)
    # Every `etl run` and `check` reads the lineage (0.4 s parsing the SQL files, which no test changes): once here.
    # Likewise the alert rules and metric definitions that every run's alerts step reads (0.07 s of YAML).
    from pipelines.alerts.rules import rules
    from pipelines.duckdb_extensions import check_signatures
    from pipelines.transform.contracts import load_contracts
    from pipelines.transform.lineage import lineage

    lineage()
    with tempfile.TemporaryDirectory() as links:
        check_signatures(Path(links))  # DuckDB's check of each extension file (0.2 CPU-s each): children skip it
    rules()  # the metric definitions with them
    load_contracts()  # and the mart contracts every run's transform and checks read (0.1 s of YAML)
    _parse_the_checks()
    # Streamlit decides once per process whether to warn that an app runs outside `streamlit run` (the commands that
    # render pages), by reading the source of every frame on the stack: ~0.2 s in each child. Decided here, once.
    from streamlit import delta_generator

    delta_generator._use_warning_has_been_displayed = True
    if check_results is not None:
        from tests.check_cache import install

        install(check_results)
    # What is loaded by now lives as long as the process: frozen, the children's full collections skip it (they
    # would traverse its ~300,000 objects, ~0.3 s each time, in whatever step of the command one lands), and
    # the pages the children share with this process stay shared.
    gc.freeze()
    # A stopped suite (tests/run.sh: SIGTERM to every process it started) ends this process as the end of its
    # requests does, so its temporary folders go with it (AppTest's); each child gets Python's default back.
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    requests = os.fdopen(read_fd, "r", encoding="utf-8")
    replies = os.fdopen(write_fd, "w", encoding="utf-8")
    waiters: list[int] = []  # background calls' waiter processes, reaped as they finish
    for line in requests:
        request = json.loads(line)
        waiters = [pid for pid in waiters if os.waitpid(pid, os.WNOHANG)[0] == 0]
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            requests.close()
            replies.close()
            code = 1
            try:
                code = _waiter(request) if request.get("background") else _child(request)
            finally:
                os._exit(code)
        replies.write(json.dumps({"pid": pid}) + "\n")
        replies.flush()
        if request.get("background"):
            waiters.append(pid)
            continue
        _, status = os.waitpid(pid, 0)
        replies.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
        replies.flush()


def _write_whole(path: str, text: str) -> None:
    scratch = f"{path}.part"
    Path(scratch).write_text(text)
    os.replace(scratch, path)


def _waiter(request: dict[str, Any]) -> int:
    """Between the warm process and a background child: names the child's pid, then its exit code, in files."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = _child(request)
        finally:
            os._exit(code)
    _write_whole(request["pid_file"], str(pid))
    _, status = os.waitpid(pid, 0)
    _write_whole(request["status_file"], str(os.waitstatus_to_exitcode(status)))
    return 0


class WarmCli:
    """A client of one warm process; calls are serialized (a busy warm process is not waited for: see `run`)."""

    def __init__(self, cwd: Path, check_results: Path | None = None) -> None:
        to_server, self._requests = os.pipe()
        self._replies, from_server = os.pipe()
        remembered = [str(check_results)] if check_results is not None else []
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.warm_cli", str(to_server), str(from_server), *remembered],
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

    def start(
        self, args: list[str], *, env: dict[str, str], cwd: Path, pause: tuple[str, float] | None = None
    ) -> WarmProcess | None:
        """Start the CLI in the background (`pause`: stop the run at that phase for that many seconds, as
        tests/paused_cli.py does); None when another thread is using the warm process."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            scratch = Path(tempfile.mkdtemp(prefix="warm-cli-"))
            for name in ("stdout", "stderr"):
                os.mkfifo(scratch / name)
            (scratch / "stdin").write_text("")
            request = {
                "args": args,
                "env": env,
                "cwd": str(cwd),
                "background": True,
                "pause": list(pause) if pause else None,
            } | {name: str(scratch / name) for name in ("stdin", "stdout", "stderr", "pid_file", "status_file")}
            self._write.write(json.dumps(request) + "\n")
            self._write.flush()
            json.loads(self._read.readline())  # the waiter's pid: the child's comes in its file
        finally:
            self._lock.release()
        return WarmProcess(["ebook-analytics", *args], scratch)

    def close(self) -> None:
        self._write.close()  # the warm process exits at the end of its requests...
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # ...but only once its imports are done: a short session on a busy machine
            self._process.kill()  # need not wait for that (no call is running: calls are synchronous)
            self._process.wait()
        self._read.close()


class WarmProcess:
    """A background CLI child as `subprocess.Popen(..., stdout=PIPE, stderr=PIPE, text=True)` shows it: pid,
    stdout, stderr, poll, wait, communicate, kill, returncode."""

    def __init__(self, args: list[str], scratch: Path) -> None:
        self.args = args
        self._scratch = scratch
        self.returncode: int | None = None
        # The child opens its ends in this order, so these opens return once it runs.
        self.stdout: IO[str] = open(scratch / "stdout", encoding="utf-8")  # noqa: SIM115 - closed by communicate
        self.stderr: IO[str] = open(scratch / "stderr", encoding="utf-8")  # noqa: SIM115 - closed by communicate
        pid_file = scratch / "pid_file"
        while not pid_file.exists():  # written right after the fork, before the child opened anything
            time.sleep(0.005)
        self.pid = int(pid_file.read_text())

    def poll(self) -> int | None:
        status = self._scratch / "status_file"
        if self.returncode is None and status.exists():
            self.returncode = int(status.read_text())
            shutil.rmtree(self._scratch, ignore_errors=True)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            time.sleep(0.01)
        return self.returncode  # type: ignore[return-value]

    def communicate(self, input: str | None = None, timeout: float | None = None) -> tuple[str, str]:
        """Both streams to their end (read side by side, as Popen does), then the exit code."""
        if input:
            raise ValueError("a background warm CLI call reads no stdin")
        texts: dict[str, str] = {}

        def read(name: str, stream: IO[str]) -> None:
            texts[name] = stream.read() if not stream.closed else ""

        readers = [
            threading.Thread(target=read, args=item, daemon=True)
            for item in (("out", self.stdout), ("err", self.stderr))
        ]
        for reader in readers:
            reader.start()
        deadline = None if timeout is None else time.monotonic() + timeout
        for reader in readers:
            reader.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if reader.is_alive():
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
        self.stdout.close()
        self.stderr.close()
        self.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return texts["out"], texts["err"]

    def kill(self) -> None:
        os.kill(self.pid, 9)


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]) if len(sys.argv) > 3 else None)
