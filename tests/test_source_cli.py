"""`ebook-analytics source ...` as users run it: init, partitions, grant, the embedded server, and its errors."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from pipelines.connections import redact
from tests.conftest import run_cli

APPLIED_ON_EMPTY = "0001_platform_schema, 0002_content_statistics_lookup_index"


def _one_error_line(result, expected_start: str) -> None:
    assert result.returncode != 0
    assert result.stderr.splitlines() == [result.stderr.strip()], result.stderr
    assert result.stderr.startswith(expected_start), result.stderr
    assert "Traceback" not in result.stderr


def test_init_twice_reports_the_version(cli_env: dict[str, str], create_database: Callable[..., str]) -> None:
    url = create_database()
    env = {**cli_env, "EBOOK_ANALYTICS_SOURCE_URL": url}
    first = run_cli("source", "init", env=env)
    assert first.stdout == f"schema version 2 in {redact(url)} (applied {APPLIED_ON_EMPTY})\n"
    second = run_cli("source", "init", env=env)
    assert second.stdout == f"schema version 2 in {redact(url)} (already up to date)\n"
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from system.schema_migrations").fetchone() == (2,)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://x", "error: source URL 'mysql://x' is not a PostgreSQL URL; use postgresql://"),
        (
            "postgresql://postgres@127.0.0.1:1/x",
            "error: cannot connect to the source database at postgresql://postgres@127.0.0.1:1/x: Connection refused."
            " Check EBOOK_ANALYTICS_SOURCE_URL, or run `ebook-analytics source start` for the embedded server",
        ),
    ],
)
def test_bad_source_urls_give_one_error_line(cli_env: dict[str, str], url: str, expected: str) -> None:
    result = run_cli("source", "init", env={**cli_env, "EBOOK_ANALYTICS_SOURCE_URL": url}, check=False)
    _one_error_line(result, expected)


def test_a_missing_database_gives_one_error_line(cli_env: dict[str, str], source_url: str) -> None:
    url = urlunsplit(urlsplit(source_url)._replace(path="/no_such_db"))
    result = run_cli("source", "init", env={**cli_env, "EBOOK_ANALYTICS_SOURCE_URL": url}, check=False)
    _one_error_line(result, "error: cannot connect to the source database at ")
    assert 'database "no_such_db" does not exist' in result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("source", "grant"), "error: name at least one role: --reader NAME and/or --writer NAME\n"),
        (
            ("source", "grant", "--reader", "Bad-Name"),
            "error: role name 'Bad-Name' is not allowed; use lowercase letters, digits and _ (max 63)\n",
        ),
    ],
)
def test_bad_arguments_give_one_error_line(cli_env: dict[str, str], args: tuple[str, ...], expected: str) -> None:
    result = run_cli(*args, env=cli_env, check=False)
    assert (result.returncode, result.stderr) == (1, expected)


def test_partitions_command_moves_a_2031_event_into_its_month(cli_env: dict[str, str], source_url: str) -> None:
    with psycopg.connect(source_url, autocommit=True) as conn:
        conn.execute(
            "insert into analytics.user_events (event_type, timestamp) values "
            "('late', '2031-06-30 22:00:00-05'), ('early', '2031-06-01 00:00:00+00')"
        )
        where = "select tableoid::regclass::text from analytics.user_events order by event_type"
        assert conn.execute(where).fetchall() == [("analytics.user_events_default",)] * 2
        this_month = datetime.now(UTC).date()
        to_june_2031 = (2031 * 12 + 6) - (this_month.year * 12 + this_month.month)
        result = run_cli(
            "source", "partitions", "--start", "2031-06-01", "--months-ahead", str(to_june_2031), env=cli_env
        )
        assert result.stdout == (
            "created 2 partitions: analytics.user_events_y2031m06, billing.usage_records_y2031m06\n"
        )
        # 22:00 at UTC-5 on June 30 is July 1 UTC: that row waits in DEFAULT for July's partition.
        assert conn.execute(where).fetchall() == [
            ("analytics.user_events_y2031m06",),
            ("analytics.user_events_default",),
        ]
        again = run_cli(
            "source", "partitions", "--start", "2031-06-01", "--months-ahead", str(to_june_2031), env=cli_env
        )
        assert again.stdout == "created 0 partitions\n"


def test_grant_command_creates_both_roles(cli_env: dict[str, str], source_url: str) -> None:
    reader, writer = (f"t_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("reader", "writer"))
    env = {**cli_env, "EBOOK_ANALYTICS_READER_PASSWORD": "reader-pw"}
    try:
        result = run_cli("source", "grant", "--reader", reader, "--writer", writer, env=env)
        lines = result.stdout.splitlines()
        assert lines[0] == f"reader role {reader}: created, password from EBOOK_ANALYTICS_READER_PASSWORD"
        # without --replication the reader may not replicate: the ETL reads it with the xmin method
        assert lines[2] == (
            f"reader role {reader}: NOREPLICATION (the ETL reads with the xmin method; --replication allows more)"
        )
        assert lines[3].startswith(f"writer role {writer}: created, password ")
        assert lines[3].endswith("(shown once; or set EBOOK_ANALYTICS_WRITER_PASSWORD)")
        assert "reader-pw" not in result.stdout
        with psycopg.connect(source_url, autocommit=True) as conn:
            conn.execute(sql.SQL("set role {}").format(sql.Identifier(reader)))
            assert conn.execute("select count(*) from users.users").fetchone() == (0,)
    finally:
        with psycopg.connect(source_url, autocommit=True) as conn:
            for role in (reader, writer):
                conn.execute(sql.SQL("drop owned by {0}; drop role if exists {0}").format(sql.Identifier(role)))


def test_embedded_server_start_status_url_stop(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EBOOK_ANALYTICS_")}
    env["EBOOK_ANALYTICS_HOME"] = str(tmp_path / "home")
    stopped = run_cli("source", "status", env=env, check=False)
    assert (stopped.returncode, stopped.stdout) == (3, "stopped\n")
    try:
        started = run_cli("source", "start", env=env)
        url = started.stdout.removeprefix("embedded PostgreSQL running: ").strip()
        assert url.startswith("postgresql://postgres") and url.endswith(f"/ebook_platform?host={tmp_path}/home/pg")
        assert run_cli("source", "status", env=env).stdout == f"running: {url}\n"
        assert run_cli("source", "url", env=env).stdout == f"{url}\n"
        assert run_cli("source", "init", env=env).stdout.endswith(f"(applied {APPLIED_ON_EMPTY})\n")
    finally:
        stop = run_cli("source", "stop", env=env)
    assert stop.stdout == "embedded PostgreSQL stopped\n"
    assert run_cli("source", "stop", env=env).stdout == "embedded PostgreSQL was not running\n"
    assert run_cli("source", "status", env=env, check=False).stdout == "stopped\n"


def test_no_source_is_an_error_not_a_server_started_behind_your_back(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EBOOK_ANALYTICS_")}
    env["EBOOK_ANALYTICS_HOME"] = str(tmp_path / "home")
    result = run_cli("source", "init", env=env, check=False)
    _one_error_line(
        result,
        "error: no source database: EBOOK_ANALYTICS_SOURCE_URL is unset and the embedded PostgreSQL is not running; "
        "run `ebook-analytics source start`, or set EBOOK_ANALYTICS_SOURCE_URL",
    )
    assert not (tmp_path / "home" / "pg").exists()
