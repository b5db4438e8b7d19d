"""Fault drills: the real CLI against the real PostgreSQL, hit where it hurts (kill -9, source down, full disk...).

Each drill checks the promises of the publish step: the live warehouse is always the last published one, a failed
or killed run leaves nothing behind that the next run does not clean up, and the next run recovers by itself.

A drill starts the CLI in a process of its own (`start_cli`: a child of the warm CLI process) with the phase hook of
`tests/paused_cli.py` (`pipelines.run.hooks`) pausing the run at a named phase (printing `paused at <phase>` on
stderr): the drill kills it or pulls the source away at exactly that point. Production code has no pause of its own.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
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
from urllib.parse import urlsplit

import duckdb
import psycopg
import pytest
from streamlit.testing.v1 import AppTest

from pipelines.alerts.state import STATE_FILE
from pipelines.cli import main
from pipelines.errors import UserError
from pipelines.publish.lake import WORK_FILE
from pipelines.run import hooks
from pipelines.run.schedule import parse_interval
from pipelines.source import server
from tests.conftest import (
    REPO_ROOT,
    CliProcess,
    _database_url,
    cli_environment,
    copy_folder,
    full_run_differences,
    last_run,
    open_published,
    run_cli,
    runs,
    start_cli,
    use_settings,
)
from tests.paused_cli import resume
from tests.test_dashboards import APP

# A hand-made history: one user, one model and three generations whose UTC days are known:
# 2024-03-01 23:30 at -05:00 is 2024-03-02 04:30 UTC, so day 2024-03-01 holds only the 12:00 UTC generation.
HISTORY = """
insert into users.users (id, email, username, created_at)
values ('00000000-0000-0000-0000-0000000000a1', 'ada@example.com', 'ada', '2024-02-01 09:00:00+00');
insert into ai_processing.ai_providers (id, name) values ('00000000-0000-0000-0000-0000000000b1', 'openai');
insert into ai_processing.ai_models (id, provider_id, name, version)
values ('00000000-0000-0000-0000-0000000000c1', '00000000-0000-0000-0000-0000000000b1', 'gpt-4', '0613');
insert into ai_processing.ai_generations (user_id, model_id, prompt, tokens_used, cost, status, created_at,
                                          completed_at) values
  ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000c1', 'p', 100, 0.500000,
   'completed', '2024-03-01 23:30:00-05', '2024-03-01 23:30:05-05'),
  ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000c1', 'p', null, 0.250000,
   'failed', '2024-03-02 10:00:00+00', null),
  ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000c1', 'p', 50, null,
   'completed', '2024-03-01 12:00:00+00', '2024-03-01 12:00:09+00');
insert into content.projects (id, title, owner_id, status, created_at) values
  ('00000000-0000-0000-0000-0000000000d1', 'Dragons', '00000000-0000-0000-0000-0000000000a1', 'in_progress',
   '2024-02-02 10:00:00+00'),
  ('00000000-0000-0000-0000-0000000000d2', 'Tides', '00000000-0000-0000-0000-0000000000a1', 'draft',
   '2024-02-03 10:00:00+00');
insert into content.chapters (id, project_id, position, word_count, ai_generated, status, created_at) values
  ('00000000-0000-0000-0000-0000000000e1', '00000000-0000-0000-0000-0000000000d1', 1, 300, true, 'completed',
   '2024-02-05 10:00:00+00'),
  ('00000000-0000-0000-0000-0000000000e2', '00000000-0000-0000-0000-0000000000d1', 2, 100, false, 'draft',
   '2024-02-06 10:00:00+00'),
  ('00000000-0000-0000-0000-0000000000e3', '00000000-0000-0000-0000-0000000000d2', 1, 50, false, 'completed',
   '2024-02-07 10:00:00+00');
"""
# day -> (generations, tokens_used, cost_usd)
COSTS = {"2024-03-01": (1, 50, Decimal("0.000000")), "2024-03-02": (2, 100, Decimal("0.750000"))}

# One more generation on 2024-03-02, so the next run's warehouse differs from the last one.
MORE = """
insert into ai_processing.ai_generations (user_id, model_id, prompt, tokens_used, cost, status, created_at,
                                          completed_at)
values ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000c1', 'p', 10, 1.000000,
        'completed', '2024-03-02 23:59:59+00', '2024-03-03 00:00:03+00');
"""
COSTS_AFTER_MORE = {**COSTS, "2024-03-02": (3, 110, Decimal("1.750000"))}


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
    with open_published(warehouse) as con:
        rows = con.execute(
            "select day::varchar, sum(generations), sum(tokens_used), sum(cost_usd) "
            "from marts.ai_cost_daily group by day order by day"
        ).fetchall()
    return {day: (int(generations), int(tokens), cost) for day, generations, tokens, cost in rows}


def publication(warehouse: Path) -> str:
    with open_published(warehouse) as con:
        return con.execute("select run_id from meta.publication").fetchone()[0]


def leftovers(env: dict[str, str]) -> list[str]:
    """Files in the warehouse folder other than the lake (catalog and data files), the ETL's working file, the run
    history, the alert state and the lock."""
    live = warehouse_of(env)
    catalog = {live.name, f"{live.name}-wal", f"{live.name}-shm", f"{live.name}.files"}
    expected = {*catalog, WORK_FILE, f"{WORK_FILE}.wal", "runs.jsonl", STATE_FILE, ".etl.lock"}
    return sorted(p.name for p in live.parent.iterdir() if p.name not in expected)


def work_is_dirty(env: dict[str, str]) -> bool:
    """Whether the ETL's working file is marked as changed since the publication it records."""
    with duckdb.connect(str(warehouse_of(env).parent / WORK_FILE), read_only=True) as con:
        return bool(con.execute("select dirty from main.work_state").fetchone()[0])


def error_line(result: subprocess.CompletedProcess) -> str:
    """The one `error: ...` line a failing command prints; a traceback fails the drill."""
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def dashboard(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The dashboards' default page, as a viewer of the warehouse of `env` opens it (local, no sign-in)."""
    use_settings(monkeypatch, {**env, "EBOOK_ANALYTICS_NO_AUTH": "1", "EBOOK_ANALYTICS_BIND_ADDRESS": "127.0.0.1"})
    return AppTest.from_file(APP, default_timeout=30).run()


def paused_run(phase: str, *args: str, env: dict[str, str]) -> CliProcess:
    """Start `etl run ARGS` and return once it sits paused at `phase` (for two minutes at most: the drill kills it
    or `resume`s it)."""
    process = start_cli("etl", "run", *args, env=env, pause=(phase, 120))
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


def kill_9(process: CliProcess) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    process.stderr.close()


def finish(process: CliProcess, timeout: float = 120) -> subprocess.CompletedProcess:
    stdout, stderr = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


# --- fixtures ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def published_template(
    create_database: Callable[..., str], schema_template: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path]:
    """Run the ETL once for the whole module: a source database (HISTORY published, MORE waiting) to clone per
    drill, and the warehouse folder it published, to copy per drill."""
    url = create_database(template=schema_template)
    execute(url, HISTORY)
    env = cli_environment(tmp_path_factory.mktemp("template"), url)
    run_cli("etl", "run", env=env)
    assert costs(warehouse_of(env)) == COSTS
    execute(url, MORE)
    return urlsplit(url).path.lstrip("/"), warehouse_of(env).parent


@pytest.fixture
def source_url(create_database: Callable[..., str], published_template: tuple[str, Path]) -> str:
    """This module's source: a clone of the template database (cli_env uses it)."""
    return create_database(template=published_template[0])


@pytest.fixture
def published(cli_env: dict[str, str], published_template: tuple[str, Path]) -> dict[str, str]:
    """cli_env with the template's published warehouse (and its run history) in place."""
    copy_folder(published_template[1], warehouse_of(cli_env).parent)
    return cli_env


# --- drills ------------------------------------------------------------------------------------------------------


def test_killed_mid_run_leaves_the_last_published_warehouse(published: dict[str, str], tmp_path: Path):
    env = published
    live = warehouse_of(env)
    before, run_id = digest(live), publication(live)

    for phase in ("extract", "transform", "publish", "commit"):  # commit: data files written, catalog not yet
        kill_9(paused_run(phase, env=env))

        assert digest(live) == before, phase  # byte-identical
        assert publication(live) == run_id and costs(live) == COSTS, phase  # opens read-only, still the old data
    run_cli("check", env=env)  # the same bytes after each kill, so checking them once covers all four
    assert work_is_dirty(env)  # the killed run had changed the working file: the next one must not trust it
    assert len(runs(env)) == 1  # kill -9 leaves no record

    # The next run restores the working file from the lake by itself and publishes the new data.
    run_cli("etl", "run", env=env)
    assert costs(live) == COSTS_AFTER_MORE
    assert leftovers(env) == [] and not work_is_dirty(env)
    assert [run["status"] for run in runs(env)] == ["published", "published"]
    # ... and equals what a full rebuild from the same source publishes, table by table.
    assert full_run_differences(env, tmp_path) == {}


def test_source_stopped_mid_run_fails_clearly_and_the_next_run_recovers(tmp_path: Path):
    from pipelines.source.migrate import apply_migrations

    pgdata = tmp_path / "home" / "pg"  # the embedded server of this CLI home: `source stop|start` drive it
    url = server.start(pgdata)
    try:
        with psycopg.connect(url) as conn:
            apply_migrations(conn)
        execute(url, HISTORY)
        env = cli_environment(tmp_path, url)
        live = warehouse_of(env)

        process = paused_run("extract", env=env)
        server.stop(pgdata)  # in this process: a CLI `source stop` might start too late under load
        resume(process.pid)
        result = finish(process)

        assert result.returncode == 1
        assert "source" in error_line(result)
        assert not live.exists()  # nothing published
        assert [run["status"] for run in runs(env)] == ["failed"]

        run_cli("source", "start", env=env)
        run_cli("etl", "run", env=env)
        assert costs(live) == COSTS
        assert leftovers(env) == []
    finally:
        server.stop(pgdata)


def test_a_second_run_exits_at_once_or_waits_its_turn(published: dict[str, str]):
    env = published
    live = warehouse_of(env)
    first = paused_run("transform", env=env)

    refused = run_cli("etl", "run", env=env, check=False)  # while the first is paused: at once, not after it
    assert refused.returncode == 75
    assert f"another ETL run is in progress (pid {first.pid})" in error_line(refused)

    waiting = start_cli("etl", "run", "--wait", env=env)
    assert waiting.stderr.readline() == f"waiting for the ETL run in progress (pid {first.pid}) to finish\n"
    resume(first.pid)
    assert finish(first).returncode == 0
    assert finish(waiting).returncode == 0
    assert costs(live) == COSTS_AFTER_MORE
    statuses = [run["status"] for run in runs(env)]
    assert statuses == ["published", "published", "published"]  # the refused run never started, so no record
    first_end, second_start = runs(env)[1]["finished_at"], runs(env)[2]["started_at"]
    assert second_start >= first_end  # the waiting run really waited for the first


READER = """
import sys
from pipelines import warehouse
path = sys.argv[1]
con = warehouse.connect(path, read_only=True)
print(con.execute("select run_id from meta.publication").fetchone()[0], flush=True)
sys.stdin.readline()  # hold the old publication open until told
print(con.execute("select run_id from meta.publication").fetchone()[0], flush=True)
con.close()
con = warehouse.connect(path, read_only=True)
print(con.execute("select run_id from meta.publication").fetchone()[0], flush=True)
"""


def test_readers_holding_the_warehouse_do_not_stop_publishing(published: dict[str, str]):
    env = published
    live = warehouse_of(env)
    old = publication(live)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(live)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO_ROOT,
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
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill: {mounted.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=True)


def fill(directory: Path) -> Path:
    """Write a filler file until the file system is full; returns it."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as handle:  # unbuffered: closing it has nothing left to write
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError:
            pass
    return filler


def test_full_disk_fails_clearly_and_keeps_the_old_warehouse(
    cli_env: dict[str, str], published_template: tuple[str, Path]
):
    env = cli_env
    live = warehouse_of(env)
    with small_disk(live.parent, "64m"):
        copy_folder(published_template[1], live.parent)
        before = digest(live)
        filler = fill(live.parent)

        result = run_cli("etl", "run", env=env, check=False)

        assert result.returncode == 1
        assert "space" in error_line(result).lower()
        assert digest(live) == before
        assert leftovers(env) == ["filler"]  # the failed run removed its own partial build
        filler.unlink()
        run_cli("etl", "run", env=env)
        assert costs(live) == COSTS_AFTER_MORE


def test_full_disk_at_the_checkpoint_after_the_publication_says_so_and_the_next_run_goes_on(
    cli_env: dict[str, str], published_template: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
):
    """Published, then the disk fills before the working file's checkpoint: the error says the run is published
    (not that nothing changed); a reader is told the disk is full (the catalog is in WAL mode: even a reader needs
    room beside it), not that an extension could not be downloaded; once space is freed the publication stands, and
    the next run opens the working file (its log replayed) and goes on from it."""
    env = cli_env
    live = warehouse_of(env)
    with small_disk(live.parent, "64m"):
        copy_folder(published_template[1], live.parent)
        process = paused_run("checkpoint", env=env)
        filler = fill(live.parent)
        resume(process.pid)
        result = finish(process)

        assert result.returncode == 1
        line = error_line(result)
        assert "space" in line.lower() and "is published; only the working file's checkpoint failed" in line, line
        read = run_cli("sql", "select count(*) from marts.ai_cost_daily", env=env, check=False)
        assert (read.returncode, read.stderr) == (
            1,
            f"error: cannot read the warehouse catalog {live}: its disk is full; free disk space in {live.parent}\n",
        )
        page = dashboard(env, monkeypatch)  # not "nothing published yet"
        assert ([error.value for error in page.error], page.exception) == (
            [
                f"The warehouse cannot be read now: cannot read the warehouse catalog {live}: its disk is full; "
                f"free disk space in {live.parent}. Reload this page once there is space."
            ],
            [],
        )
        filler.unlink()
        assert costs(live) == COSTS_AFTER_MORE  # the publication stands
        run_cli("etl", "run", env=env)
        assert last_run(env)["mode"] == "incremental"  # from the working file, not a rebuild
        assert costs(live) == COSTS_AFTER_MORE
        assert leftovers(env) == []


# Fifty more generations on 2024-03-04: changes too large for DuckLake to keep in its catalog (it inlines up to ten
# rows), so publishing them writes Parquet data files.
FIFTY_MORE = """
insert into ai_processing.ai_generations (user_id, model_id, prompt, tokens_used, cost, status, created_at)
select '00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000c1', 'p', 1, 0.010000,
       'completed', timestamptz '2024-03-04 12:00:00+00' + n * interval '1 second'
from generate_series(1, 50) as n;
"""


def test_full_disk_while_writing_data_files_publishes_nothing_and_the_next_run_recovers(
    cli_env: dict[str, str], source_url: str, tmp_path: Path
):
    data = tmp_path / "data"  # the lake's data files on a disk of their own (warehouse_data_path)
    env = {**cli_env, "EBOOK_ANALYTICS_WAREHOUSE_DATA_PATH": str(data)}
    live = warehouse_of(env)
    with small_disk(data, "32m"):
        run_cli("etl", "run", env=env)
        assert costs(live) == COSTS_AFTER_MORE
        before, run_id = digest(live), publication(live)
        execute(source_url, FIFTY_MORE)
        filler = fill(data)

        result = run_cli("etl", "run", env=env, check=False)

        assert result.returncode == 1
        assert "space" in error_line(result).lower()
        assert digest(live) == before and publication(live) == run_id  # the catalog never saw the half-written files
        assert costs(live) == COSTS_AFTER_MORE
        assert [run["status"] for run in runs(env)] == ["published", "failed"]
        filler.unlink()
        run_cli("etl", "run", env=env)  # space again: the next run publishes the change by itself
        assert costs(live) == {**COSTS_AFTER_MORE, "2024-03-04": (50, 50, Decimal("0.500000"))}
        assert leftovers(env) == []


def garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database\n" * 100)


def someone_elses_duckdb(path: Path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create table notes as select 1 as x")


@pytest.mark.parametrize("foreign", [garbage, someone_elses_duckdb])
def test_a_foreign_file_at_the_warehouse_path_is_never_overwritten(
    cli_env: dict[str, str], foreign: Callable[[Path], None]
):
    env = cli_env
    live = warehouse_of(env)
    live.parent.mkdir(parents=True)
    foreign(live)
    before = digest(live)

    for args in (["etl", "run"], ["etl", "run", "--full"]):
        result = run_cli(*args, env=env, check=False)
        assert result.returncode == 1 and result.stderr.count("\n") == 1
        line = error_line(result)
        assert "is not a warehouse published by ebook-analytics" in line
        assert "it was left untouched" in line and "--full --rebuild" in line
        assert digest(live) == before

    run_cli("etl", "run", "--full", "--rebuild", env=env)
    assert costs(live) == COSTS_AFTER_MORE
    asides = [name for name in leftovers(env) if ".corrupt-" in name]
    assert len(asides) == 1 and digest(live.parent / asides[0]) == before  # set aside, not destroyed


@pytest.mark.fast
@pytest.mark.parametrize(("text", "seconds"), [("90s", 90.0), ("15m", 900.0), ("1h", 3600.0), (" 2s ", 2.0)])
def test_schedule_intervals(text: str, seconds: float):
    assert parse_interval(text) == seconds


@pytest.mark.fast
@pytest.mark.parametrize("text", ["0s", "15", "m", "1d", "1.5h", "-5m"])
def test_schedule_refuses_what_is_not_an_interval(text: str):
    with pytest.raises(argparse.ArgumentTypeError, match="write it like 90s, 15m or 1h"):
        parse_interval(text)


def test_scheduled_runs_go_on_after_a_failed_run(
    cli_env: dict[str, str], pg_admin_url: str, published_template: tuple[str, Path]
):
    # The source database does not exist yet, so the first scheduled run fails; it is created meanwhile.
    name = f"t_{uuid.uuid4().hex[:12]}"
    env = {**cli_env, "EBOOK_ANALYTICS_SOURCE_URL": _database_url(pg_admin_url, name)}
    scheduler = start_cli("etl", "run", "--every", "3s", "--max-runs", "3", env=env)
    try:
        deadline = time.monotonic() + 60
        while not runs(env) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [run["status"] for run in runs(env)] == ["failed"]
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'create database "{name}" template "{published_template[0]}"')

        result = finish(scheduler, timeout=180)
    finally:
        if scheduler.poll() is None:
            kill_9(scheduler)
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')

    assert result.returncode == 1  # not every run published
    assert [run["status"] for run in runs(env)] == ["failed", "published", "published"]
    log = re.findall(r"^\S+Z run (\d)/3: (\w+)", result.stdout, flags=re.MULTILINE)  # one line per run
    assert log == [("1", "failed"), ("2", "published"), ("3", "published")]
    assert "run 1/3: failed: cannot connect" in result.stdout
    assert costs(warehouse_of(env)) == COSTS_AFTER_MORE


def test_sigterm_lets_the_run_in_progress_publish_then_stops_the_schedule(published: dict[str, str]):
    env = published
    scheduler = paused_run("transform", "--every", "1h", env=env)
    os.kill(scheduler.pid, signal.SIGTERM)  # as `systemctl stop` or `docker stop` would, mid-run
    resume(scheduler.pid)  # (the signal is handled first: it interrupts the pause's sleep)
    result = finish(scheduler, timeout=60)  # not the hour until the next tick

    assert result.returncode == 0, result.stderr
    assert [run["status"] for run in runs(env)] == ["published", "published"]
    assert costs(warehouse_of(env)) == COSTS_AFTER_MORE
    log = re.findall(r"^\S+Z (run \d+: \w+|stopped: SIGTERM)", result.stdout, flags=re.MULTILINE)
    assert log == ["run 1: published", "stopped: SIGTERM"]
    assert result.stdout.rstrip().endswith("1 scheduled runs, 0 not published")


# project_id -> (total_words, chapters_completed, ai_generated_percentage)
METRICS = {"d1": (400, 1, Decimal("75.00")), "d2": (50, 1, Decimal("0.00"))}
REWRITE = """
update content.chapters set word_count = 500, status = 'completed'
where id = '00000000-0000-0000-0000-0000000000e2';
update content.chapters set word_count = 150 where id = '00000000-0000-0000-0000-0000000000e3';
"""
METRICS_AFTER_REWRITE = {"d1": (800, 2, Decimal("37.50")), "d2": (150, 1, Decimal("0.00"))}


def project_metrics(url: str) -> dict[str, tuple[int, int, Decimal]]:
    """analytics.project_metrics of the latest metrics date (the runs' snapshot date: a test that runs across midnight
    UTC writes a second one), by the last two characters of the project id."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select project_id::text, total_words, chapters_completed, ai_generated_percentage "
            "from analytics.project_metrics "
            "where metrics_date = (select max(metrics_date) from analytics.project_metrics)"
        ).fetchall()
    return {project[-2:]: (words, completed, share) for project, words, completed, share in rows}


def test_a_run_killed_during_write_back_leaves_the_old_metrics_whole(published: dict[str, str], source_url: str):
    env = published
    assert project_metrics(source_url) == METRICS  # written back by the template's run
    execute(source_url, REWRITE)

    kill_9(paused_run("writeback", env=env))  # after the new rows were upserted, before the commit

    assert project_metrics(source_url) == METRICS  # entirely old: the transaction died with the run
    run_cli("etl", "run", env=env)
    assert project_metrics(source_url) == METRICS_AFTER_REWRITE  # entirely new


def test_a_publish_that_fails_rolls_the_write_back_back(
    published: dict[str, str], source_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """The write-back runs beside the publish and commits only once the publication has: a publish that fails
    leaves the source's rollups as they were, and the next run writes them."""
    env = published
    execute(source_url, REWRITE)
    use_settings(monkeypatch, env)

    def failed_commit() -> None:
        raise UserError("the catalog commit failed")

    monkeypatch.setattr(hooks, "_callbacks", {})
    hooks.on_phase("commit", failed_commit)  # data files written, the catalog commit not made
    assert main(["etl", "run"]) == 1
    assert capsys.readouterr().err == "error: the catalog commit failed\n"

    assert [run["status"] for run in runs(env)] == ["published", "failed"]
    assert project_metrics(source_url) == METRICS  # the write-back had written them, and rolled back
    monkeypatch.setattr(hooks, "_callbacks", {})
    run_cli("etl", "run", env=env)
    assert project_metrics(source_url) == METRICS_AFTER_REWRITE
