"""Shared fixtures: one real PostgreSQL per test session, fresh databases per test, the CLI as users run it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import duckdb
import psycopg
import pytest
from psycopg import sql

from dashboards.report import scan_installed_components_once
from pipelines import warehouse
from pipelines.duckdb_extensions import CONNECT_CONFIG, quoted
from pipelines.extract.tables import load_tables
from pipelines.fingerprints import Fingerprint, fingerprint
from pipelines.publish import lake
from pipelines.queries import one_row
from pipelines.source import server
from pipelines.transform.lineage import lineage
from tests.warm_cli import WarmCli, WarmProcess, one_thread_per_connection

REPO_ROOT = Path(__file__).resolve().parents[1]
# The tests' own DuckDB connections (comparisons of warehouses, in-process dashboards) too: tests/warm_cli.py says why.
one_thread_per_connection()


# The in-process pages (AppTest) of the tests scan the installed components once, as the product's headless runner
# does: a few hundred AppTests a session.
scan_installed_components_once()


def skip_the_direct_run_warning() -> None:
    """Streamlit warns once per process when a page draws outside `streamlit run` (AppTest's pages here). To choose
    its wording it calls `inspect.stack()`, which reads the source of every frame and looks each one's module up
    among all those imported: 1-7 s of a worker's CPU (py-spy, 2026-12-04), for a line nobody reads here."""
    from streamlit import delta_generator

    delta_generator._use_warning_has_been_displayed = True


skip_the_direct_run_warning()


def pytest_configure() -> None:
    """A stop by SIGTERM (a CI's cancel or time limit; tests/run.sh passes its own on) ends the session as Ctrl+C
    does: the teardowns run, so the tests' PostgreSQL servers stop and their folders go. (Python's default for
    SIGTERM ends the process without them; and SIGINT is ignored in a job a script starts in the background.)"""
    # pytest.main() called from another thread (some IDE runners) may not set handlers: signal.signal would raise.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.default_int_handler)


def pytest_sessionfinish() -> None:
    """AppTest writes each page script into a folder it makes on import and removes at the interpreter's exit, which
    an xdist worker never reaches (it ends with `os._exit`): removed here, or every session leaves it in /tmp."""
    app_test = sys.modules.get("streamlit.testing.v1.app_test")
    if app_test is not None:
        app_test.TMP_DIR.cleanup()


# How the tests are split between xdist workers (tests/run.sh).
pytest_plugins = ("tests.work_units",)
# bcrypt at its lowest cost for the accounts the tests make (~1 ms a hash or check, not ~0.2 s at the default 12): the
# suite makes and signs in to a few hundred. In this process, in every CLI environment and in `use_settings`;
# tests/test_auth.py checks the default cost without it.
FAST_PASSWORDS = {"EBOOK_ANALYTICS_PASSWORD_ROUNDS": "4"}
os.environ.update(FAST_PASSWORDS)


def _configured_server() -> str | None:
    """`EBOOK_ANALYTICS_TEST_SOURCE_URL`: a server of the user's, whose databases the session must leave as it found
    them; without it, each worker's own embedded server, thrown away with its data folder."""
    return os.environ.get("EBOOK_ANALYTICS_TEST_SOURCE_URL")


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A maintenance-database URL: `EBOOK_ANALYTICS_TEST_SOURCE_URL`, or an embedded server for this session."""
    configured = _configured_server()
    if configured:
        yield configured
        return
    pgdata = tmp_path_factory.mktemp("embedded") / "pg"
    platform_url = server.start(pgdata)
    yield platform_url.replace(f"/{server.DATABASE}?", "/postgres?")
    server.stop(pgdata)


def _database_url(admin_url: str, name: str) -> str:
    """The same server, another database: still a postgresql:// URL, as the CLI requires of SOURCE_URL."""
    return urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def create_database(pg_admin_url: str) -> Iterator[Callable[..., str]]:
    """Factory: a new empty database (optionally cloned from a template); returns its URL."""
    created: list[str] = []

    def create(template: str | None = None) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            clause = f' template "{template}"' if template else ""
            conn.execute(f'create database "{name}"{clause}')
        created.append(name)
        return _database_url(pg_admin_url, name)

    yield create
    if not _configured_server():
        return  # the embedded server goes whole: each drop would wait for a checkpoint (11 s for 60 databases)
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        for name in created:
            conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def schema_template(pg_admin_url: str) -> Iterator[str]:
    """Name of a database holding the migrated, empty platform schema, to clone per test."""
    from pipelines.source.migrate import apply_migrations

    name = f"tmpl_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    with psycopg.connect(_database_url(pg_admin_url, name)) as conn:
        apply_migrations(conn)
    yield name
    if _configured_server():
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def published_dataset(
    create_database: Callable[..., str], schema_template: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The CLI environment of tests/marts_dataset.py published by `etl run --full`, once per session.

    Read-only: a module that writes to the data folder (users, logins) takes `copy_published` of it, and a test that
    changes the source clones the source database first.
    """
    from tests.marts_dataset import publish_platform_data  # it imports this module: not at the top

    return publish_platform_data(create_database(template=schema_template), tmp_path_factory.mktemp("published"))


@pytest.fixture(scope="session")
def publish_own_dataset(
    create_database: Callable[..., str], schema_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[Callable[[str], None], str], dict[str, str]]:
    """For a module with a hand-made platform of its own: `publish(insert, name)` fills a fresh source with
    `insert(url)`, publishes it by `etl run --full` and returns the CLI environment (take it in a module fixture)."""

    def publish(insert: Callable[[str], None], name: str) -> dict[str, str]:
        url = create_database(template=schema_template)
        insert(url)
        env = cli_environment(tmp_path_factory.mktemp(name), url)
        run_cli("etl", "run", "--full", env=env)
        return env

    return publish


def copy_folder(source: Path | str, target: Path | str) -> None:
    """Copy a data folder (a home, a warehouse's catalog and files) into `target` (made if missing; links kept as
    links). In a child process: this process may read the catalog through DuckLake, and closing a descriptor of the
    file here would drop this process's SQLite locks on it (pipelines/publish/lake.py, reading the catalog)."""
    Path(target).mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", f"{source}/.", str(target)], check=True)


def copy_published(
    env: dict[str, str], directory: Path, create_database: Callable[..., str] | None = None
) -> dict[str, str]:
    """A copy of a published data folder (warehouse, run history) under `directory`: on the same source, or, given
    `create_database`, on a clone of it (for a test that changes the source and runs the ETL again)."""
    copy_folder(env["EBOOK_ANALYTICS_HOME"], directory / "home")
    source = env["EBOOK_ANALYTICS_SOURCE_URL"]
    if create_database is not None:
        source = create_database(template=urlsplit(source).path.lstrip("/"))
    return cli_environment(directory, source)


@pytest.fixture
def source_url(create_database: Callable[..., str], schema_template: str) -> str:
    """A fresh database with the platform schema and no rows."""
    return create_database(template=schema_template)


def cli_environment(directory: Path, source_url: str) -> dict[str, str]:
    """Environment for running the CLI against `source_url`, with its data folder under `directory`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EBOOK_ANALYTICS_")}
    env.update(
        FAST_PASSWORDS,
        EBOOK_ANALYTICS_HOME=str(directory / "home"),
        EBOOK_ANALYTICS_SOURCE_URL=source_url,
        EBOOK_ANALYTICS_WAREHOUSE=str(directory / "home" / "warehouse" / "analytics.ducklake"),
    )
    return env


def use_settings(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """Make this process see exactly `env`'s EBOOK_ANALYTICS_* settings (AppTest runs the app in-process), and the
    tests' cheap passwords unless `env` sets their cost."""
    for name in list(os.environ):
        if name.startswith("EBOOK_ANALYTICS_"):
            monkeypatch.delenv(name)
    for name, value in {**FAST_PASSWORDS, **env}.items():
        if name.startswith("EBOOK_ANALYTICS_"):
            monkeypatch.setenv(name, value)


@pytest.fixture
def cli_env(tmp_path: Path, source_url: str) -> dict[str, str]:
    """Environment for running the CLI against this test's source, with its own data folder."""
    return cli_environment(tmp_path, source_url)


_warm: list[WarmCli] = []  # this session's warm CLI process (tests/warm_cli.py), once started


@pytest.fixture(scope="session", autouse=True)
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The data folder of the test process, and of its warm CLI, where a test names none: what the code keeps under
    the home when a test reads a warehouse in this process (the extensions' links, their checked signatures) goes
    here, not to `.ebook-analytics/` of the checkout. Each test's CLI environment names its own (`cli_environment`)."""
    home = tmp_path_factory.mktemp("session-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EBOOK_ANALYTICS_HOME", str(home))
        yield home


@pytest.fixture(scope="session", autouse=True)
def warm_cli(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, session_home: Path
) -> Iterator[None]:
    # (started once `session_home` is set: the warm process keeps that home until a call names another)
    # The check results the session's runs remember (tests/check_cache.py): one folder for both xdist workers, named
    # by the session (never a former session's: the code checked may have changed since).
    root = tmp_path_factory.getbasetemp()
    worker_input = getattr(request.config, "workerinput", None)
    if worker_input is None:
        results = root / "check-results"
    else:
        results = root.parent / f"check-results-{worker_input['testrunuid']}"
    _warm.append(WarmCli(REPO_ROOT, check_results=results))
    yield
    _warm.pop().close()


def run_cli(
    *args: str, env: dict[str, str], check: bool = True, timeout: float = 600, input: str | None = None
) -> subprocess.CompletedProcess:
    """Run `ebook-analytics ARGS` as a user would, in a process of its own (`input`: what it reads on stdin): a
    child of the warm CLI process, or a fresh interpreter when that one is busy."""
    result = _warm[0].run(list(args), env=env, cwd=REPO_ROOT, timeout=timeout, input=input) if _warm else None
    if result is None:
        result = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", *args],
            env=env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
        )
    if check and result.returncode != 0:
        raise AssertionError(f"ebook-analytics {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


CliProcess = subprocess.Popen[str] | WarmProcess  # a CLI started in the background (`start_cli`)


def start_cli(*args: str, env: dict[str, str], pause: tuple[str, float] | None = None) -> CliProcess:
    """Start `ebook-analytics ARGS` in the background, in a process of its own (stdout and stderr piped, text):
    a child of the warm CLI process, or a fresh interpreter when that one is busy. `pause`: (phase, seconds), the run
    stops at that phase for that long, having printed `paused at PHASE` on stderr (tests/paused_cli.py)."""
    process = _warm[0].start(list(args), env=env, cwd=REPO_ROOT, pause=pause) if _warm else None
    if process is not None:
        return process
    launcher = ("tests.paused_cli", pause[0], str(pause[1])) if pause else ("pipelines.cli",)
    return subprocess.Popen(
        [sys.executable, "-m", *launcher, *args],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


PLATFORM_SCHEMAS = ("users", "content", "ai_processing", "billing", "analytics", "system")


def table_checksums(url: str, tables: Iterable[str] | None = None) -> dict[str, tuple[int, str]]:
    """Row count and md5 of the ordered rows of each table (default: every table of the six platform schemas)."""
    with psycopg.connect(url) as conn:
        if tables is None:
            tables = [
                f"{schema}.{table}"
                for schema, table in conn.execute(
                    "select table_schema, table_name from information_schema.tables "
                    "where table_type = 'BASE TABLE' and table_schema = any(%s) order by 1, 2",
                    [list(PLATFORM_SCHEMAS)],
                ).fetchall()
            ]
        return {
            table: conn.execute(
                sql.SQL(
                    "select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {} t"
                ).format(sql.Identifier(*table.split(".")))
            ).fetchone()
            for table in tables
        }


def open_published(path: Path | str, as_of: str | None = None) -> duckdb.DuckDBPyConnection:
    """The published warehouse at `path` (a DuckLake catalog), read-only at its latest publication or `as_of`: how
    every reader opens it (`pipelines.warehouse.connect`), UTC and the house macros included."""
    return warehouse.connect(path, read_only=True, as_of=as_of)


def attach_published(
    con: duckdb.DuckDBPyConnection, path: Path | str, alias: str, as_of: str | None = None
) -> lake.Publication:
    """Attach the publication of the warehouse at `path` (the latest, or `as_of`) to `con`, read-only, as `alias`."""
    published = lake.at(Path(path))
    publication = lake.resolve(published, as_of)
    lake.attach(con, published, alias=alias, snapshot=publication.snapshot_id)
    return publication


def publication_differences(
    first: Path | str,
    second: Path | str,
    *,
    as_of: tuple[str | None, str | None] = (None, None),
    schemas: tuple[str, ...] = ("staging", "history", "marts"),
) -> dict[str, tuple[int, int]]:
    """Per table of `schemas` (both publications must have the same ones, column for column), the rows only in the
    first publication and the rows only in the second (EXCEPT ALL both ways), each at its `as_of` (the latest by
    default).

    Everything is read in one transaction: DuckLake reads its catalog once."""
    con = duckdb.connect(config=CONNECT_CONFIG)
    try:
        attach_published(con, first, "one", as_of[0])
        attach_published(con, second, "two", as_of[1])
        con.execute("begin")
        return _differences(con, schemas)
    finally:
        con.close()


def full_run_differences(env: dict[str, str], directory: Path) -> dict[str, tuple[int, int]]:
    """`etl run --full` into a copy of the warehouse of `env`, `live` (its history carried over, which the source
    cannot give back: docs/etl.md, "History"); the staging, history and mart tables whose rows differ between the two,
    each with its rows only in `live` and its rows only in the full run. Empty when the runs that built `live` left it
    as a full run builds it; `live` must keep true fingerprints of its tables (asserted), as its next run trusts them.

    Compared in the two warehouses' working files, each equal to its latest publication (asserted): the full run on
    a copy writes to the lake only the tables whose rows differ from `live`'s, so for every equal table the two lakes
    hold the same data files, and reading them through DuckLake (catalog queries at every scan) would cost a
    comparison three times as much for nothing more."""
    live = Path(env["EBOOK_ANALYTICS_WAREHOUSE"])
    full = directory / "full" / live.name
    copy_folder(live.parent, full.parent)  # the lake (its catalog and data files) and its working file
    run_cli("etl", "run", "--full", env={**env, "EBOOK_ANALYTICS_WAREHOUSE": str(full)})
    con = duckdb.connect(config=CONNECT_CONFIG)
    try:
        for alias, path in (("one", live), ("two", full)):
            con.execute(f"attach '{quoted(str(path.parent / lake.WORK_FILE))}' as {alias} (read_only)")
            con.execute(f"use {alias}")
            published = lake.latest(lake.at(path))
            assert published is not None and lake.stored_work_state(con) == (published.snapshot_id, False), path
        differences = _differences(con, ("staging", "history", "marts"))
    finally:
        con.close()
    built = [table for table in lineage().reads if table.startswith(("history.", "marts."))]
    every_table = [f"staging.{table.name}" for table in load_tables()] + built
    assert [table for table in every_table if table not in differences] == []  # each compared
    assert untrue_kept_fingerprints(live) == {}
    return {table: rows for table, rows in differences.items() if rows != (0, 0)}


def _differences(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """`publication_differences` of the databases attached as `one` and `two`. Tables whose fingerprints (row count
    and sum of row hashes) are equal are (0, 0) without comparing them row by row: a scan of a small table costs a
    few milliseconds where an EXCEPT ALL costs tens (two of them per table were most of some tests)."""
    columns = {alias: _columns(con, alias, schemas) for alias in ("one", "two")}
    assert columns["one"] == columns["two"]
    tables = sorted({table for table, _, _ in columns["one"]})
    prints = {alias: _fingerprints(con, alias, tables) for alias in ("one", "two")}
    return {
        table: (0, 0) if prints["one"][table] == prints["two"][table] else _rows_only_in_each(con, table)
        for table in tables
    }


def runs(env: dict[str, str]) -> list[dict]:
    """The run history (`runs.jsonl` beside the warehouse of `env`), oldest first; empty before any run."""
    path = Path(env["EBOOK_ANALYTICS_WAREHOUSE"]).parent / "runs.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def last_run(env: dict[str, str]) -> dict:
    """The latest record of the run history of `env`."""
    return runs(env)[-1]


def untrue_kept_fingerprints(live: Path | str) -> dict[str, tuple[Fingerprint, Fingerprint]]:
    """The tables whose fingerprint the ETL's working file beside the publication `live` keeps (for its next run's
    checks and publish) differs from a scan of the table: kept, scanned. An incremental run takes the changed
    tables' fingerprints from their change sets, so this is empty exactly when every change set was whole."""
    with duckdb.connect(str(Path(live).parent / lake.WORK_FILE), read_only=True, config=CONNECT_CONFIG) as con:
        kept = lake.stored_fingerprints(con)
        scanned = {table: fingerprint(con, *table) for table in kept}
    return {f"{s}.{t}": (kept[(s, t)], scanned[(s, t)]) for s, t in kept if kept[(s, t)] != scanned[(s, t)]}


def _columns(con: duckdb.DuckDBPyConnection, alias: str, schemas: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(schema.table, column, type) of every table of `schemas` in the database attached as `alias`, in order."""
    return con.execute(
        "select table_schema || '.' || table_name, column_name, data_type from information_schema.columns "
        "where table_catalog = $alias and table_schema in $schemas order by 1, ordinal_position",
        {"alias": alias, "schemas": list(schemas)},
    ).fetchall()


def _fingerprints(con: duckdb.DuckDBPyConnection, alias: str, tables: list[str]) -> dict[str, Fingerprint]:
    """Every table's fingerprint as the product takes it (`pipelines.fingerprints`), in the publication `alias`."""
    con.execute(f"use {alias}")
    return {table: fingerprint(con, *table.split(".")) for table in tables}


def _rows_only_in_each(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, int]:
    only = "select count(*) from (from {a}.{table} except all from {b}.{table})"
    first = one_row(con.execute(only.format(a="one", b="two", table=table)))[0]
    second = one_row(con.execute(only.format(a="two", b="one", table=table)))[0]
    return int(first), int(second)


def published_as_file(path: Path | str, target: Path) -> Path:
    """The latest publication at `path` copied into the plain DuckDB file `target` (a writable scratch copy)."""
    with duckdb.connect(str(target), config=CONNECT_CONFIG) as con:
        lake.restore(con, attach_published(con, path, lake.LAKE_ALIAS))
    return target


@contextmanager
def change_published(path: Path | str, run_id: str = "changed-by-a-test") -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse at `path` open for writing (`use lake`; created when missing): what the block changes commits as
    one publication of run `run_id`, as a run's publish step would (a test altering what was published)."""
    con = duckdb.connect(config=CONNECT_CONFIG)
    try:
        lake.attach(con, lake.at(Path(path)), read_only=False)
        con.execute(f"use {lake.LAKE_ALIAS}")
        con.execute("begin")
        yield con
        con.execute(
            f"call {lake.LAKE_ALIAS}.set_commit_message($author, $run_id)", {"author": lake.AUTHOR, "run_id": run_id}
        )
        con.execute("commit")
    finally:
        con.close()
