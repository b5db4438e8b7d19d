"""Fault drills: the real CLI against the real PostgreSQL, hit where it hurts (kill -9, source down, full disk...).

Each drill checks the promises of the publish step: the live warehouse is always the last published one, a failed
or killed run leaves nothing behind that the next run does not clean up, and the next run recovers by itself.

The ETL pauses at a named phase when `EBOOK_ANALYTICS_TEST_PAUSE_AT` says so (printing `paused at <phase>` on
stderr), which lets a drill kill it or pull the source away at exactly that point.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg
import pytest

from pipelines.source import server
from tests.conftest import REPO_ROOT, run_cli

# A hand-made history: one user, one model and three generations whose UTC days are known:
# 2024-03-01 23:30 at -05:00 is 2024-03-02 04:30 UTC, so day 2024-03-01 holds only the 12:00 UTC generation.
HISTORY = """
insert into users.users (id, email, username, created_at)
values ('00000000-0000-0000-0000-0000000000a1', 'ada@example.com', 'ada', '2024-02-01 09:00:00+00');
insert into ai_processing.ai_providers (id, name) values ('00000000-0000-0000-0000-0000000000b1', 'openai');
insert into ai_processing.ai_models (id, provider_id, name, version)
values ('00000000-0000-0000-0000-0000000000c1', '00000000-0000-0000-0000-0000000000b1', 'gpt-4', '0613');
insert into ai_processing.ai_generations (user_id, model_id, prompt, tokens_used, cost, status, created_at) values
  ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000c1', 'p', 100, 0.500000,
   'completed', '2024-03-01 23:30:00-05'),
  ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000c1', 'p', null, 0.250000,
   'failed', '2024-03-02 10:00:00+00'),
  ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000c1', 'p', 50, null,
   'completed', '2024-03-01 12:00:00+00');
"""
# day -> (generations, tokens_used, cost_usd)
COSTS = {"2024-03-01": (1, 50, Decimal("0.000000")), "2024-03-02": (2, 100, Decimal("0.750000"))}

# One more generation on 2024-03-02, so the next run's warehouse differs from the last one.
MORE = """
insert into ai_processing.ai_generations (user_id, model_id, prompt, tokens_used, cost, status, created_at)
values ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000c1', 'p', 10, 1.000000,
        'completed', '2024-03-02 23:59:59+00');
"""
COSTS_AFTER_MORE = {**COSTS, "2024-03-02": (3, 110, Decimal("1.750000"))}

PAUSE_AT = "EBOOK_ANALYTICS_TEST_PAUSE_AT"
PAUSE_SECONDS = "EBOOK_ANALYTICS_TEST_PAUSE_SECONDS"


# --- helpers -----------------------------------------------------------------------------------------------------


def execute(url: str, statements: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(statements)


def warehouse_of(env: dict[str, str]) -> Path:
    return Path(env["EBOOK_ANALYTICS_WAREHOUSE"])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def costs(warehouse: Path) -> dict[str, tuple[int, int, Decimal]]:
    """marts.ai_cost_daily by day, read the way dashboards read it: read-only."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select day::varchar, sum(generations), sum(tokens_used), sum(cost_usd) "
            "from marts.ai_cost_daily group by day order by day"
        ).fetchall()
    return {day: (int(generations), int(tokens), cost) for day, generations, tokens, cost in rows}


def publication(warehouse: Path) -> str:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("select run_id from meta.publication").fetchone()[0]


def runs(env: dict[str, str]) -> list[dict]:
    path = warehouse_of(env).parent / "runs.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def leftovers(env: dict[str, str]) -> list[str]:
    """Files in the warehouse folder other than the live file, the run history and the lock."""
    expected = {warehouse_of(env).name, "runs.jsonl", ".etl.lock"}
    return sorted(p.name for p in warehouse_of(env).parent.iterdir() if p.name not in expected)


def error_line(result: subprocess.CompletedProcess) -> str:
    """The one `error: ...` line a failing command prints; a traceback fails the drill."""
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def start_cli(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", *args],
        env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def paused_run(phase: str, *args: str, env: dict[str, str], seconds: float = 120) -> subprocess.Popen:
    """Start `etl run ARGS` and return once it sits paused at `phase`."""
    process = start_cli("etl", "run", *args, env={**env, PAUSE_AT: phase, PAUSE_SECONDS: str(seconds)})
    deadline = time.monotonic() + 90
    seen = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if f"paused at {phase}" in line:
            return process
    process.kill()
    process.wait()
    raise AssertionError(f"the run never paused at {phase}: {''.join(seen)}{process.stderr.read()}")


def kill_9(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    process.stderr.close()


def finish(process: subprocess.Popen, timeout: float = 120) -> subprocess.CompletedProcess:
    stdout, stderr = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


# --- fixtures ----------------------------------------------------------------------------------------------------


@pytest.fixture
def published(cli_env: dict[str, str], source_url: str) -> dict[str, str]:
    """The hand-made history, extracted and published once; then one more generation waits in the source."""
    execute(source_url, HISTORY)
    run_cli("etl", "run", env=cli_env)
    assert costs(warehouse_of(cli_env)) == COSTS
    execute(source_url, MORE)
    return cli_env


# --- drills ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", ["extract", "transform", "publish"])
def test_killed_mid_run_leaves_the_last_published_warehouse(published: dict[str, str], phase: str):
    env = published
    live = warehouse_of(env)
    before, run_id = digest(live), publication(live)

    kill_9(paused_run(phase, env=env))

    assert digest(live) == before  # byte-identical
    assert publication(live) == run_id and costs(live) == COSTS  # opens read-only, still the old data
    run_cli("check", env=env)
    # The next run cleans up after the killed one by itself and publishes the new data.
    run_cli("etl", "run", env=env)
    assert costs(live) == COSTS_AFTER_MORE
    assert leftovers(env) == []
    assert [run["status"] for run in runs(env)] == ["published", "published"]  # kill -9 leaves no record


def test_source_stopped_mid_run_fails_clearly_and_the_next_run_recovers(
    tmp_path: Path, cli_env: dict[str, str]
):
    from pipelines.source.migrate import apply_migrations

    pgdata = tmp_path / "pg"
    url = server.start(pgdata)
    try:
        with psycopg.connect(url) as conn:
            apply_migrations(conn)
        execute(url, HISTORY)
        env = {**cli_env, "EBOOK_ANALYTICS_SOURCE_URL": url}
        run_cli("etl", "run", env=env)
        live = warehouse_of(env)
        before = digest(live)
        execute(url, MORE)

        process = paused_run("extract", env=env, seconds=3)
        server.stop(pgdata)
        result = finish(process)

        assert result.returncode != 0
        assert "source" in error_line(result)
        assert digest(live) == before
        assert runs(env)[-1]["status"] == "failed"

        server.start(pgdata)
        run_cli("etl", "run", env=env)
        assert costs(live) == COSTS_AFTER_MORE
        assert leftovers(env) == []
    finally:
        server.stop(pgdata)


def test_a_second_run_exits_at_once_or_waits_its_turn(published: dict[str, str]):
    env = published
    live = warehouse_of(env)
    first = paused_run("transform", env=env, seconds=6)

    started = time.monotonic()
    refused = run_cli("etl", "run", env=env, check=False)
    assert refused.returncode == 75
    assert "another ETL run is in progress" in error_line(refused)
    assert time.monotonic() - started < 15  # at once, not after the first run

    waiting = start_cli("etl", "run", "--wait", env=env)
    assert finish(first).returncode == 0
    assert finish(waiting).returncode == 0
    assert costs(live) == COSTS_AFTER_MORE
    statuses = [run["status"] for run in runs(env)]
    assert statuses == ["published", "published", "published"]  # the refused run never started, so no record


READER = """
import sys, time, duckdb
path = sys.argv[1]
con = duckdb.connect(path, read_only=True)
print(con.execute("select run_id from meta.publication").fetchone()[0], flush=True)
sys.stdin.readline()  # hold the old file open until told
print(con.execute("select run_id from meta.publication").fetchone()[0], flush=True)
con.close()
con = duckdb.connect(path, read_only=True)
print(con.execute("select run_id from meta.publication").fetchone()[0], flush=True)
"""


def test_readers_holding_the_warehouse_do_not_stop_publishing(published: dict[str, str]):
    env = published
    live = warehouse_of(env)
    old = publication(live)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(live)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert reader.stdout.readline().strip() == old

    run_cli("etl", "run", env=env)  # publishes while the reader holds the old file open
    new = publication(live)
    assert new != old

    stdout, _ = reader.communicate("\n", timeout=60)
    assert reader.returncode == 0
    assert stdout.split() == [old, new]  # the open connection kept its version; reopening sees the new one


@contextmanager
def immutable(directory: Path) -> Iterator[None]:
    """Make a folder unwritable even for root (tests run as root, where chmod stops nothing)."""
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(directory)]).returncode != 0:
        pytest.skip("chattr +i is not available here, so a folder cannot be made unwritable for root")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(directory)], check=True)


def test_unwritable_warehouse_folder_fails_clearly_and_keeps_the_old_warehouse(published: dict[str, str]):
    env = published
    live = warehouse_of(env)
    before = digest(live)

    with immutable(live.parent):
        result = run_cli("etl", "run", env=env, check=False)

    assert result.returncode != 0
    assert str(live.parent) in error_line(result)
    assert digest(live) == before
    run_cli("etl", "run", env=env)  # writable again: recovers by itself
    assert costs(live) == COSTS_AFTER_MORE
    assert leftovers(env) == []


@contextmanager
def small_disk(directory: Path, size: str) -> Iterator[None]:
    """A tiny tmpfs on `directory` (root may mount one here; skip where it may not)."""
    directory.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill: {mounted.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=True)


def fill(directory: Path) -> Path:
    """Write a filler file until the file system is full; returns it."""
    filler = directory / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    return filler


def test_full_disk_fails_clearly_and_keeps_the_old_warehouse(cli_env: dict[str, str], source_url: str):
    env = cli_env
    live = warehouse_of(env)
    execute(source_url, HISTORY)
    with small_disk(live.parent, "64m"):
        run_cli("etl", "run", env=env)
        before = digest(live)
        execute(source_url, MORE)
        filler = fill(live.parent)

        result = run_cli("etl", "run", env=env, check=False)

        assert result.returncode != 0
        assert "space" in error_line(result).lower()
        assert digest(live) == before
        assert leftovers(env) == ["filler"]  # the failed run removed its own partial build
        filler.unlink()
        run_cli("etl", "run", env=env)
        assert costs(live) == COSTS_AFTER_MORE


@pytest.mark.parametrize(
    "foreign",
    [
        pytest.param(lambda path: path.write_bytes(b"this is not a database\n" * 100), id="garbage"),
        pytest.param(lambda path: duckdb.connect(str(path)).execute("create table t as select 1 as x").close(),
                     id="someone-elses-duckdb"),
    ],
)
def test_a_foreign_file_at_the_warehouse_path_is_never_overwritten(
    cli_env: dict[str, str], source_url: str, foreign: Callable[[Path], None]
):
    env = cli_env
    live = warehouse_of(env)
    execute(source_url, HISTORY)
    live.parent.mkdir(parents=True)
    foreign(live)
    before = digest(live)

    for args in (["etl", "run"], ["etl", "run", "--full"]):
        result = run_cli(*args, env=env, check=False)
        assert result.returncode != 0
        assert "--rebuild" in error_line(result)
        assert digest(live) == before

    run_cli("etl", "run", "--full", "--rebuild", env=env)
    assert costs(live) == COSTS
    asides = [name for name in leftovers(env) if ".corrupt-" in name]
    assert len(asides) == 1 and digest(live.parent / asides[0]) == before  # set aside, not destroyed


def test_scheduled_runs_go_on_after_a_failed_run(
    cli_env: dict[str, str], pg_admin_url: str, schema_template: str
):
    # The source database does not exist yet, so the first scheduled run fails; it is created meanwhile.
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = psycopg.conninfo.make_conninfo(pg_admin_url, dbname=name)
    env = {**cli_env, "EBOOK_ANALYTICS_SOURCE_URL": url}
    scheduler = start_cli("etl", "run", "--every", "3s", "--max-runs", "3", env=env)
    try:
        deadline = time.monotonic() + 60
        while not runs(env) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [run["status"] for run in runs(env)] == ["failed"]
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'create database "{name}" template "{schema_template}"')
        execute(url, HISTORY)

        result = finish(scheduler, timeout=120)
    finally:
        if scheduler.poll() is None:
            kill_9(scheduler)
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')

    assert result.returncode != 0  # not every run succeeded
    assert [run["status"] for run in runs(env)] == ["failed", "published", "published"]
    log = result.stdout + result.stderr
    assert log.count("failed") >= 1 and log.count("published") == 2
    assert costs(warehouse_of(env)) == COSTS
