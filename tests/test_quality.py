"""The quality gate: each dataset breaks exactly one kind of check, and the clean one passes everything.

Warehouses are built from a real PostgreSQL source, either by the CLI (`etl run`) or in-process with the same
extract and transform steps, then corrupted in `staging` where the source's constraints forbid the fault.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg
import pytest
import sqlalchemy
from duckdb_engine import ConnectionWrapper

from pipelines import warehouse
from pipelines.extract.capture import Plan
from pipelines.extract.extract import extract, prepare
from pipelines.extract.postgres import SOURCE_ALIAS, attach_source
from pipelines.extract.tables import load_tables
from pipelines.fingerprints import fingerprint
from pipelines.quality import bounds, gate, reuse, row_checks, totals, validation
from pipelines.quality.gate import build_suites, previous_row_counts, run_checks
from pipelines.quality.result import CheckResult
from pipelines.quality.suites import TableSuite, expect
from pipelines.quality.validation import validate
from pipelines.queries import sql_file
from pipelines.run.etl import model_parameters
from pipelines.transform import changes
from pipelines.transform.history import update_history
from pipelines.transform.runner import run_models
from tests.conftest import REPO_ROOT, change_published, last_run, open_published, run_cli

U1, U2 = "00000000-0000-0000-0000-0000000000a1", "00000000-0000-0000-0000-0000000000a2"
PROVIDER, MODEL = "00000000-0000-0000-0000-0000000000b1", "00000000-0000-0000-0000-0000000000b2"
PROJECT, CHAPTER = "00000000-0000-0000-0000-0000000000c1", "00000000-0000-0000-0000-0000000000c2"
VERSION_1, VERSION_2 = "00000000-0000-0000-0000-0000000000d1", "00000000-0000-0000-0000-0000000000d2"
GEN_1, GEN_2 = "00000000-0000-0000-0000-0000000000e1", "00000000-0000-0000-0000-0000000000e2"
PLAN, SUBSCRIPTION = "00000000-0000-0000-0000-0000000000f1", "00000000-0000-0000-0000-0000000000f2"
SHARE, BAD_SHARE = "00000000-0000-0000-0000-000000000011", "00000000-0000-0000-0000-000000000012"
AUTH = "00000000-0000-0000-0000-000000000021"

# Every row dated in early March 2024, around a UTC day boundary ('2024-03-01 23:30-05' is March 2nd in UTC).
DATASET = [
    (
        "insert into users.users (id, email, username, status, tier, created_at) values "
        "(%s, 'ada@example.com', 'ada', 'active', 'premium', '2024-03-01 23:30:00-05'), "
        "(%s, 'bob@example.com', 'bob', 'active', 'free', '2024-03-01 10:00:00+00')",
        (U1, U2),
    ),
    (
        "insert into users.user_auth_methods (id, user_id, method_type, is_primary) values (%s, %s, 'password', true)",
        (AUTH, U1),
    ),
    (
        "insert into ai_processing.ai_providers (id, name, cost_per_token) values (%s, 'openai', 0.00000200)",
        (PROVIDER,),
    ),
    (
        "insert into ai_processing.ai_models (id, provider_id, name, version) values (%s, %s, 'gpt', '4')",
        (MODEL, PROVIDER),
    ),
    (
        "insert into content.projects (id, title, owner_id, status, target_word_count, created_at) "
        "values (%s, 'Book', %s, 'in_progress', 50000, '2024-03-01 12:00:00+00')",
        (PROJECT, U1),
    ),
    (
        "insert into content.chapters (id, project_id, position, word_count, status, created_at) "
        "values (%s, %s, 1, 1200, 'draft', '2024-03-01 12:30:00+00')",
        (CHAPTER, PROJECT),
    ),
    (
        "insert into content.content_versions (id, chapter_id, version_number, content, changed_by, change_type, "
        "word_count, created_at) values (%s, %s, 1, 'x', %s, 'manual', 1000, '2024-03-01 13:00:00+00'), "
        "(%s, %s, 2, 'xy', %s, 'ai_revision', 1200, '2024-03-02 01:00:00+00')",
        (VERSION_1, CHAPTER, U1, VERSION_2, CHAPTER, U1),
    ),
    (
        "insert into ai_processing.ai_generations (id, user_id, project_id, model_id, prompt, tokens_used, cost, "
        "processing_time_ms, quality_rating, status, created_at, started_at, completed_at) values "
        "(%s, %s, %s, %s, 'p', 1500, 0.045000, 900, 4, 'completed', '2024-03-01 23:30:00-05', "
        "'2024-03-01 23:30:01-05', '2024-03-01 23:30:02-05'), "
        "(%s, %s, null, %s, 'p', null, null, null, null, 'failed', '2024-03-02 08:00:00+00', null, null)",
        (GEN_1, U1, PROJECT, MODEL, GEN_2, U2, MODEL),
    ),
    (
        "insert into billing.subscription_plans (id, name, price, billing_cycle, ai_tokens_included) "
        "values (%s, 'Pro', 19.00, 'monthly', 100000)",
        (PLAN,),
    ),
    (
        "insert into billing.user_subscriptions (id, user_id, plan_id, status, current_period_start, "
        "current_period_end, amount, created_at) values (%s, %s, %s, 'active', '2024-03-01 00:00:00+00', "
        "'2024-04-01 00:00:00+00', 19.00, '2024-03-01 00:00:00+00')",
        (SUBSCRIPTION, U1, PLAN),
    ),
    (
        "insert into billing.usage_records (user_id, subscription_id, resource_type, quantity, unit_cost, total_cost, "
        "usage_date, created_at) values (%s, %s, 'ai_tokens', 1500, 0.000030, 0.05, '2024-03-02', "
        "'2024-03-01 23:30:00-05')",
        (U1, SUBSCRIPTION),
    ),
    (
        "insert into billing.revenue_shares (id, user_id, project_id, book_sales, platform_commission_rate, "
        "user_revenue, platform_revenue, payout_status, revenue_period_start, revenue_period_end) values "
        "(%s, %s, %s, 100.00, 0.1000, 90.00, 10.00, 'pending', '2024-03-01', '2024-03-31')",
        (SHARE, U1, PROJECT),
    ),
    (
        "insert into analytics.user_events (user_id, event_type, event_category, timestamp) values "
        "(%s, 'login', 'auth', '2024-03-01 23:30:00-05'), (null, 'page_view', 'web', '2024-03-02 09:00:00+00')",
        (U1,),
    ),
]
# The same platform still being written: one event, generation and usage record an hour before the snapshot.
RECENT_ACTIVITY = [
    (
        "insert into analytics.user_events (user_id, event_type, timestamp) "
        "values (%s, 'login', now() - interval '1h')",
        (U2,),
    ),
    (
        "insert into ai_processing.ai_generations (user_id, model_id, prompt, cost, status, created_at) "
        "values (%s, %s, 'p', 0.010000, 'pending', now() - interval '1h')",
        (U2, MODEL),
    ),
    (
        "insert into billing.usage_records (user_id, resource_type, quantity, total_cost, usage_date, created_at) "
        "values (%s, 'exports', 1, 0.00, current_date, now() - interval '1h')",
        (U2,),
    ),
]


def load(url: str, statements: list[tuple[str, tuple]]) -> None:
    with psycopg.connect(url) as conn:
        for statement, params in statements:
            conn.execute(statement, params)


@pytest.fixture
def stale_source(source_url: str) -> str:
    """The dataset alone: the newest activity is in March 2024."""
    load(source_url, DATASET)
    return source_url


@pytest.fixture
def fresh_source(stale_source: str) -> str:
    """The dataset plus activity an hour old: every check passes."""
    load(stale_source, RECENT_ACTIVITY)
    return stale_source


def build(url: str, path: Path) -> tuple[duckdb.DuckDBPyConnection, datetime]:
    """Extract and transform into `path` as `etl run` does; returns the open connection and the snapshot time."""
    con = warehouse.connect(path)
    tables = load_tables()
    prepare(con, tables)
    attach_source(con, url)
    extraction = extract(con, tables, Plan(logical=False), url)  # one snapshot, no slot
    con.execute(f"detach {SOURCE_ALIAS}")
    update_history(con, extraction.snapshot_at)  # the marts read the tier in force and completion days from it
    rebuild_marts(con, extraction.snapshot_at)
    return con, extraction.snapshot_at


def rebuild_marts(con: duckdb.DuckDBPyConnection, snapshot_at: datetime) -> None:
    run_models(con, model_parameters(snapshot_at))


def failures(results) -> dict[str, tuple[str, int, tuple[str, ...]]]:
    return {r.name: (r.severity, r.unexpected_count, r.sample_ids) for r in results if not r.success}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """In-process runs get their own data folder (extension copy, live warehouse path)."""
    monkeypatch.setenv("EBOOK_ANALYTICS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("EBOOK_ANALYTICS_WAREHOUSE", str(tmp_path / "home" / "warehouse" / "analytics.ducklake"))
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


@pytest.fixture(scope="module")
def clean_build(
    create_database: Callable[..., str], schema_template: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, datetime]:
    """The fresh dataset extracted and transformed once for the in-process tests, which each corrupt a copy."""
    url = create_database(template=schema_template)
    load(url, DATASET + RECENT_ACTIVITY)
    folder = tmp_path_factory.mktemp("clean_build")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EBOOK_ANALYTICS_HOME", str(folder))
        con, snapshot_at = build(url, folder / "clean.duckdb")
    con.close()
    return folder / "clean.duckdb", snapshot_at


@pytest.fixture
def built(clean_build: tuple[Path, datetime], home: Path) -> Iterator[tuple[duckdb.DuckDBPyConnection, datetime]]:
    """A private copy of the clean build, open for writing, and its snapshot time."""
    path, snapshot_at = clean_build
    shutil.copy(path, home / "build.duckdb")
    con = warehouse.connect(home / "build.duckdb")
    yield con, snapshot_at
    con.close()


def test_clean_dataset_passes_every_check(built) -> None:
    con, snapshot_at = built
    results = run_checks(con, snapshot_at=snapshot_at, previous=None)
    assert failures(results) == {}
    names = {r.name for r in results}
    assert len(names) == len(results)  # one result per check
    assert {
        "staging.users.id.unique",
        "staging.ai_generations.cost.range",
        "staging.content_versions.chapter_id.orphans",
        "staging.revenue_shares.shares_add_up_to_sales",
        "staging.user_events.freshness",
        "marts.ai_cost_daily.unique_key",
        "marts.ai_cost_daily.cost_matches_source",
    } <= names
    assert all(r.name.startswith(r.table + ".") and r.unexpected_count == 0 and not r.sample_ids for r in results)
    assert {r.name for r in results if r.name.endswith(".freshness")} == {
        "staging.user_events.freshness",
        "staging.ai_generations.freshness",
        "staging.usage_records.freshness",
    }


def test_generation_costing_2000_is_an_error_that_blocks(built) -> None:
    con, snapshot_at = built
    # The source's CHECK (cost < 1000) forbids it, so the fault is made in the staged copy.
    con.execute("update staging.ai_generations set cost = 2000 where id = $id", {"id": GEN_1})
    rebuild_marts(con, snapshot_at)
    results = run_checks(con, snapshot_at=snapshot_at, previous=None)
    assert failures(results) == {"staging.ai_generations.cost.range": ("error", 1, (GEN_1,))}
    assert [r.name for r in results if r.blocks_publish] == ["staging.ai_generations.cost.range"]


def test_orphan_content_version_is_counted_with_its_ids(built) -> None:
    con, snapshot_at = built
    con.execute(
        "update staging.content_versions set chapter_id = uuid() where id in ($a, $b)", {"a": VERSION_1, "b": VERSION_2}
    )
    rebuild_marts(con, snapshot_at)
    results = run_checks(con, snapshot_at=snapshot_at, previous=None)
    severity, count, samples = failures(results).pop("staging.content_versions.chapter_id.orphans")
    assert (severity, count, sorted(samples)) == ("error", 2, [VERSION_1, VERSION_2])
    assert set(failures(results)) == {"staging.content_versions.chapter_id.orphans"}


def test_duplicate_key_fails_uniqueness(built) -> None:
    con, snapshot_at = built
    con.execute("insert into staging.user_auth_methods select * from staging.user_auth_methods")
    results = run_checks(con, snapshot_at=snapshot_at, previous=None)
    # The milestone funnel reads user_auth_methods (the sign-up method): a duplicate key is an error there.
    assert failures(results) == {"staging.user_auth_methods.id.unique": ("error", 2, (AUTH, AUTH))}


def test_mart_that_no_longer_matches_its_source_fails_reconciliation(built) -> None:
    con, snapshot_at = built
    total = con.execute("select sum(cost_usd) from marts.ai_cost_daily").fetchone()[0]
    assert total == Decimal("0.055000")  # 0.045 + NULL-as-0 + 0.010
    con.execute("update marts.ai_cost_daily set cost_usd = cost_usd + 0.000001 where cost_usd > 0.04")
    results = run_checks(con, snapshot_at=snapshot_at, previous=None)
    assert failures(results) == {
        "marts.ai_cost_daily.cost_matches_source": ("error", 1, ("mart 0.055001 <> source 0.055000",)),
    }


def test_volume_against_the_previous_run(built, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EBOOK_ANALYTICS_VOLUME_MIN_ROWS", "2")
    monkeypatch.setenv("EBOOK_ANALYTICS_VOLUME_GROWTH_PCT", "25")
    con, snapshot_at = built
    # Staged now: 2 users, 3 events, 2 usage records, 3 generations.
    previous = {
        "tables": {
            "users": {"rows": 5},  # -60%: more than the 50% drop allowed, 3 rows lost
            "user_events": {"rows": 2},  # +50%: more than the 25% growth allowed (at most 2), 1 row over
            "usage_records": {"rows": 1},  # +100%, but 1 row is under the 2-row minimum: not judged
            "ai_generations": {"rows": 3},  # unchanged
        }
    }
    results = run_checks(con, snapshot_at=snapshot_at, previous=previous)
    assert failures(results) == {
        "staging.users.volume_drop": ("error", 3, ("observed 2",)),
        "staging.user_events.volume_growth": ("warn", 1, ("observed 3",)),
    }
    assert {r.name for r in results if "volume" in r.name} == {
        f"staging.{table}.{kind}"
        for table in ("users", "user_events", "ai_generations")
        for kind in ("volume_drop", "volume_growth")
    }


def test_volume_baseline_comes_from_the_live_warehouse(home: Path) -> None:
    """A history record only knows the rows an incremental run re-read; the live file knows the staged counts."""
    live = home / "warehouse" / "analytics.ducklake"
    with change_published(live) as writer:
        writer.execute("create schema meta")
        writer.execute(
            "create table meta.extract_state as from (values ('users', 'xmin', 1, 0, 40, now()), "
            "('user_events', 'xmin', 1, 0, 700, now())) t(table_name, method, last_xmin, xid_epoch, rows, extracted_at)"
        )
    building = duckdb.connect(str(home / "build.duckdb"))
    incremental_record = {"tables": {"users": {"rows_read": 1, "rows_changed": 1, "rows_deleted": 0}}}
    assert previous_row_counts(building, incremental_record) == {"users": 40, "user_events": 700}
    assert previous_row_counts(building, {"tables": {"users": {"rows": 3}}}) == {"users": 3}
    assert previous_row_counts(building, None) == {}  # first run: no baseline


def test_bad_threshold_setting_is_one_line(built, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.errors import UserError

    con, snapshot_at = built
    monkeypatch.setenv("EBOOK_ANALYTICS_FRESHNESS_HOURS", "two days")
    with pytest.raises(
        UserError, match="^EBOOK_ANALYTICS_FRESHNESS_HOURS is 'two days', not a non-negative number; set"
    ):
        run_checks(con, snapshot_at=snapshot_at, previous=None)


def query(env: dict[str, str], statement: str) -> list[tuple]:
    """Rows of the live warehouse, read-only."""
    con = open_published(env["EBOOK_ANALYTICS_WAREHOUSE"])
    try:
        return con.execute(statement).fetchall()
    finally:
        con.close()


REVENUE_MARTS = "select * from marts.revenue_share_statements order by all"
REVENUE_MONTHLY = "select * from marts.revenue_monthly order by all"
EVENTS = (  # summed over the tiers and plans the mart splits the day by
    "select event_category, sum(events)::bigint, sum(users)::bigint from marts.events_by_category_daily"
    " where day = '2024-03-02' group by event_category order by all"
)


def test_split_that_does_not_add_up_holds_back_only_what_the_revenue_shares_reach(
    fresh_source: str, cli_env: dict[str, str]
) -> None:
    run_cli("etl", "run", "--full", env=cli_env)
    first_run = last_run(cli_env)
    statements, monthly = query(cli_env, REVENUE_MARTS), query(cli_env, REVENUE_MONTHLY)
    assert len(statements) == 1 and query(cli_env, "select count(*) from staging.revenue_shares") == [(1,)]
    assert query(cli_env, EVENTS) == [("auth", 1, 1), ("web", 1, 0)]  # the anonymous page view

    # 85.00 + 10.00 <> 100.00 (the source has no constraint against it), and one more 'web' event on March 2nd.
    load(
        fresh_source,
        [
            (
                "insert into billing.revenue_shares (id, user_id, project_id, book_sales, platform_commission_rate, "
                "user_revenue, platform_revenue, revenue_period_start, revenue_period_end) "
                "values (%s, %s, %s, 100.00, 0.1000, 85.00, 10.00, '2024-03-01', '2024-03-31')",
                (BAD_SHARE, U2, PROJECT),
            ),
            (
                "insert into analytics.user_events (user_id, event_type, event_category, timestamp) "
                "values (%s, 'page_view', 'web', '2024-03-02 23:59:59+00')",
                (U2,),
            ),
        ],
    )
    partial = run_cli("etl", "run", env=cli_env, check=False)

    assert partial.returncode == 2, partial.stderr
    staged_check = "staging.revenue_shares.shares_add_up_to_sales"
    statements_check = "marts.revenue_share_statements.shares_add_up_to_sales"
    monthly_check = "marts.revenue_monthly.shares_add_up_to_sales"
    books_check = "marts.unit_economics_books.shares_add_up_to_sales"
    lines = partial.stderr.splitlines()
    held_lines = lines[lines.index(next(line for line in lines if line.startswith("partial: "))) :][:8]
    assert held_lines == [
        "partial: 4 error check(s) failed; 7 mart(s) held back (they keep their previous publication), "
        "the others are published",
        f"  held back revenue_monthly: {monthly_check}, {statements_check}, {staged_check}",
        f"  held back revenue_share_restatements: {statements_check}, {staged_check}",
        f"  held back revenue_share_statements: {statements_check}, {staged_check}",
        f"  held back unit_economics_authors: {statements_check}, {staged_check}",
        f"  held back unit_economics_books: {statements_check}, {books_check}, {staged_check}",
        f"  held back unit_economics_daily: {statements_check}, {staged_check}",
        f"  held back user_milestones: {staged_check}",  # first sale
    ]
    assert partial.stdout.startswith("partial run ")
    run = last_run(cli_env)
    assert json.loads(run_cli("runs", "--json", "--limit", "1", env=cli_env).stdout) == [run]
    assert run["status"] == "partial"
    assert run["held_back"] == {
        "revenue_monthly": [monthly_check, statements_check, staged_check],
        "revenue_share_restatements": [statements_check, staged_check],
        "revenue_share_statements": [statements_check, staged_check],
        "unit_economics_authors": [statements_check, staged_check],
        "unit_economics_books": [statements_check, books_check, staged_check],
        "unit_economics_daily": [statements_check, staged_check],
        "user_milestones": [staged_check],
    }
    assert run["writeback_held_back"] == []  # project metrics are not made of revenue shares
    assert {
        c["name"]: (c["severity"], c["unexpected_count"], c["sample_ids"]) for c in run["checks"] if not c["success"]
    } == {
        staged_check: ("error", 1, [BAD_SHARE]),
        statements_check: ("error", 1, [BAD_SHARE]),
        monthly_check: ("error", 1, ["2024-03-01"]),  # the month's totals
        books_check: ("error", 1, [PROJECT]),  # the book's lifetime totals
    }
    # Held back: exactly the first publication's rows, and said so; everything else is this run's.
    assert query(cli_env, REVENUE_MARTS) == statements and query(cli_env, REVENUE_MONTHLY) == monthly
    assert query(cli_env, "select mart, kept_run_id from meta.held_back order by mart") == [
        ("revenue_monthly", first_run["run_id"]),
        ("revenue_share_restatements", first_run["run_id"]),
        ("revenue_share_statements", first_run["run_id"]),
        ("unit_economics_authors", first_run["run_id"]),
        ("unit_economics_books", first_run["run_id"]),
        ("unit_economics_daily", first_run["run_id"]),
        ("user_milestones", first_run["run_id"]),
    ]
    assert query(cli_env, "select run_id from meta.publication") == [(run["run_id"],)]
    assert query(cli_env, "select count(*) from staging.revenue_shares") == [(2,)]
    assert query(cli_env, EVENTS) == [("auth", 1, 1), ("web", 2, 1)]  # the new event counts: this mart is fresh
    listing = run_cli("runs", env=cli_env).stdout.splitlines()
    assert " partial " in listing[1] and listing[1].endswith(
        "held back: revenue_monthly, revenue_share_restatements, revenue_share_statements, unit_economics_authors, "
        "unit_economics_books, unit_economics_daily, user_milestones"
    )

    # Fixed at the source: the next run publishes everything, and the held-back marts catch up.
    load(fresh_source, [("update billing.revenue_shares set user_revenue = 90.00 where id = %s", (BAD_SHARE,))])
    fixed = run_cli("etl", "run", env=cli_env)
    assert fixed.stdout.startswith("published run ") and "held back" not in fixed.stderr
    run = last_run(cli_env)
    assert (run["status"], run["held_back"]) == ("published", {})
    assert query(cli_env, "select count(*) from meta.held_back") == [(0,)]
    assert query(
        cli_env, "select revenue_share_id::varchar, author_revenue from marts.revenue_share_statements order by 1"
    ) == [(SHARE, Decimal("90.00")), (BAD_SHARE, Decimal("90.00"))]

    # A completed generation without completed_at changes no published figure: a warning, everything publishes.
    load(fresh_source, [("update ai_processing.ai_generations set completed_at = null where id = %s", (GEN_1,))])
    warned = run_cli("etl", "run", env=cli_env)
    assert warned.stdout.startswith("published run ") and " 1 warning(s)" in warned.stdout
    run = last_run(cli_env)
    assert (run["status"], run["held_back"]) == ("published", {})
    assert [
        (c["name"], c["severity"], c["unexpected_count"], c["sample_ids"]) for c in run["checks"] if not c["success"]
    ] == [("staging.ai_generations.completed_has_completed_at", "warn", 1, [GEN_1])]
    assert query(cli_env, "select warnings from meta.publication") == [(1,)]


def _checks(run: dict) -> dict[str, dict]:
    return {check["name"]: check for check in run["checks"]}


def _verdicts(check_output: str) -> list[tuple[str, str, str]]:
    """(check, severity, result) of each line `check` prints."""
    lines = check_output.split("\n\n")[0].splitlines()[1:]
    return [tuple(line.split()[:3]) for line in lines]


def test_checks_whose_tables_did_not_change_keep_their_result(fresh_source: str, cli_env: dict[str, str]) -> None:
    run_cli("etl", "run", "--full", env=cli_env)
    first = _checks(last_run(cli_env))
    assert not any(check["reused"] for check in first.values())

    # The model renamed (a parent whose child, ai_generations, is unchanged) and a revenue split that does not add up.
    load(
        fresh_source,
        [
            ("update ai_processing.ai_models set name = 'gpt-4o' where id = %s", (MODEL,)),
            ("update billing.revenue_shares set user_revenue = 85.00 where id = %s", (SHARE,)),
        ],
    )
    partial = run_cli("etl", "run", env=cli_env, check=False)
    assert partial.returncode == 2
    second = _checks(last_run(cli_env))
    # Row-by-row checks of the changed rows that passed before: decided on those rows alone, and said so.
    renamed = second["staging.ai_models.id.not_null"]
    assert (renamed["changed_rows"], renamed["reused"], renamed["success"]) == (True, False, True)
    assert second["staging.ai_models.id.unique"]["changed_rows"]  # the changed key looked up in the whole table
    # A mart's changed rows too (the model's generations renamed): the mart's checks of one row at a time and its key.
    for name in ("marts.ai_generation_facts.model.not_null", "marts.ai_generation_facts.unique_key"):
        assert (second[name]["changed_rows"], second[name]["rows_checked"], second[name]["element_count"]) == (
            True,
            3,
            3,
        ), name
    assert not second["marts.ai_generation_facts.generations_match_source"]["changed_rows"]  # a reconciliation
    assert query(
        cli_env,
        "select name, scope, rows_checked, element_count from meta.check_results "
        "where name in ('staging.ai_models.id.not_null', 'staging.users.id.unique') order by name",
    ) == [("staging.ai_models.id.not_null", "changed rows", 1, 1), ("staging.users.id.unique", "whole table", 2, 2)]
    split = second["staging.revenue_shares.shares_add_up_to_sales"]  # failed on the changed row: rerun whole
    assert (split["changed_rows"], split["success"], split["unexpected_count"]) == (False, False, 1)
    ran = sum(not check["reused"] for check in second.values())
    on_changed_rows = sum(check["changed_rows"] and not check["reused"] for check in second.values())
    kept = len(second) - ran
    assert f"; {ran} checks run ({on_changed_rows} on the changed rows only), {kept} kept" in partial.stdout
    rerun = {name for name, check in second.items() if not check["reused"]}
    assert {
        "staging.ai_models.id.unique",
        "staging.ai_generations.model_id.orphans",  # its parent changed
        "staging.revenue_shares.shares_add_up_to_sales",
        "staging.user_events.freshness",  # its bound moves with every snapshot
        "marts.ai_cost_daily.model.not_null",  # the mart names the model
    } <= rerun
    for name in (
        "staging.users.id.unique",
        "staging.ai_generations.id.not_null",
        "staging.ai_generations.user_id.orphans",  # neither it nor its parent changed
        "staging.user_events.user_id.orphans",
    ):
        assert second[name]["reused"] and second[name]["checked_at"] == first[name]["checked_at"], name
    assert {name for name, check in second.items() if not check["success"]} == {
        "staging.revenue_shares.shares_add_up_to_sales",
        "marts.revenue_share_statements.shares_add_up_to_sales",
        "marts.revenue_monthly.shares_add_up_to_sales",
        "marts.unit_economics_books.shares_add_up_to_sales",
    }

    # Nothing changed at the source: the failures are kept as they were, and still hold the same marts back. The
    # volume and freshness checks are decided without GX, so the run (a fresh interpreter) never imports it.
    unchanged = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pipelines.cli", "etl", "run"],
        env=cli_env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert unchanged.returncode == 2, unchanged.stderr[-2000:]
    imported = {line.rpartition("|")[2].strip() for line in unchanged.stderr.splitlines()}
    assert "pipelines.quality.gate" in imported and "great_expectations" not in imported
    third = last_run(cli_env)
    kept = _checks(third)
    for name in (
        "staging.revenue_shares.shares_add_up_to_sales",
        "marts.revenue_share_statements.shares_add_up_to_sales",
    ):
        assert kept[name]["reused"] and not kept[name]["success"], name
        assert (kept[name]["unexpected_count"], kept[name]["sample_ids"]) == (1, [SHARE]), name
    assert sorted(third["held_back"]) == [
        "revenue_monthly",
        "revenue_share_restatements",
        "revenue_share_statements",
        "unit_economics_authors",
        "unit_economics_books",
        "unit_economics_daily",
        "user_milestones",
    ]

    # `check` keeps the publication's results of unchanged tables; the held-back marts hold the earlier rows, so
    # their checks run again (and pass). `--full`, or results older than full_check_hours, run everything: the
    # same verdicts.
    checked = run_cli("check", env=cli_env, check=False)
    full = run_cli("check", "--full", env=cli_env, check=False)
    expired = run_cli("check", env={**cli_env, "EBOOK_ANALYTICS_FULL_CHECK_HOURS": "0"}, check=False)
    assert checked.returncode == full.returncode == expired.returncode == 2
    assert _verdicts(checked.stdout) == _verdicts(full.stdout) == _verdicts(expired.stdout)
    assert ("marts.revenue_share_statements.shares_add_up_to_sales", "error", "pass") in _verdicts(checked.stdout)
    assert ("staging.revenue_shares.shares_add_up_to_sales", "error", "FAIL") in _verdicts(checked.stdout)
    assert "kept from the run that published them" in checked.stdout
    assert "kept from" not in full.stdout and "kept from" not in expired.stdout
    # Checked on a private copy of the publication, which leaves nothing beside the warehouse.
    assert not list(Path(cli_env["EBOOK_ANALYTICS_WAREHOUSE"]).parent.glob(".copy-*"))


def test_stale_source_publishes_with_freshness_warnings(
    stale_source: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    run_cli("etl", "run", "--full", env=cli_env)
    con = open_published(cli_env["EBOOK_ANALYTICS_WAREHOUSE"])
    try:
        warnings = con.execute("select warnings from meta.publication").fetchone()[0]
        failed = con.execute(
            "select name, severity, unexpected_count from meta.check_results where not success order by name"
        ).fetchall()
    finally:
        con.close()
    assert failed == [
        ("staging.ai_generations.freshness", "warn", 1),
        ("staging.usage_records.freshness", "warn", 1),
        ("staging.user_events.freshness", "warn", 1),
    ]
    assert warnings == 3
    check = run_cli("check", "--failed", "--html", str(tmp_path / "docs"), env=cli_env)  # warnings alone: exit 0
    assert "staging.user_events.freshness" in check.stdout and "0 errors, 3 warnings" in check.stdout
    assert (tmp_path / "docs" / "index.html").is_file()
    # The newest event is 2024-03-02 09:00 UTC, whatever zone it was written in.
    assert "observed 2024-03-02 09:00:00+00:00" in check.stdout


def test_the_checks_sql_engines_reflect_primary_keys_from_duckdb() -> None:
    """GX's engines reflect a table's primary key from DuckDB's catalog (duckdb-engine's `pg_catalog` way fails)."""
    con = duckdb.connect()
    con.execute("create schema staging")
    con.execute("create table staging.keyed (a integer, b varchar, c date, primary key (b, a))")
    con.execute("create table staging.plain (a integer)")
    engine = sqlalchemy.create_engine(validation.WAREHOUSE_URL, creator=lambda: ConnectionWrapper(con.cursor()))
    inspector = sqlalchemy.inspect(engine)
    assert inspector.get_pk_constraint("keyed", schema="staging") == {
        "constrained_columns": ["b", "a"],
        "name": "keyed_b_a_pkey",
    }
    assert inspector.get_pk_constraint("plain", schema="staging") == {"constrained_columns": [], "name": None}
    engine.dispose()
    con.close()


def test_check_without_a_warehouse_is_one_line(cli_env: dict[str, str]) -> None:
    result = run_cli("check", env=cli_env, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: no warehouse at ") and result.stderr.count("\n") == 1


def test_a_check_that_cannot_run_fails_instead_of_passing(built) -> None:
    con, _ = built
    suite = TableSuite("staging", "users", ("id",))
    broken = expect(
        "UnexpectedRowsExpectation", unexpected_rows_query="select id from {batch} where no_such_column > 0"
    )
    suite.add("broken", "error", broken)
    [result] = validate(con, [suite])
    assert (result.name, result.success, result.unexpected_count) == ("staging.users.broken", False, 0)
    assert result.sample_ids[0].startswith("check failed to run: ") and "no_such_column" in result.sample_ids[0]


GEN_3, GEN_4 = "00000000-0000-0000-0000-0000000000e3", "00000000-0000-0000-0000-0000000000e4"


def test_a_row_by_row_check_that_passed_runs_on_the_changed_rows_only(built) -> None:
    con, snapshot_at = built
    table = ("staging", "ai_generations")

    def checks_after(
        statements: list[str], ids: list[str], earlier: dict[str, CheckResult], *, unrecorded: str | None = None
    ) -> dict[str, CheckResult]:
        """Change staged generations as an incremental run would, recording the old and new versions of the rows
        `ids` names (a change `unrecorded` is made too, but left out of the change set), then check."""
        as_published = {table: fingerprint(con, *table)}
        changed = "from staging.ai_generations where list_contains($ids, id::varchar)"
        changes.start(con)
        con.execute(f"create or replace temp table old_versions as {changed}", {"ids": ids})
        changes.record(con, "staging.ai_generations", "old", "from old_versions")
        for statement in [*statements, *([unrecorded] if unrecorded else [])]:
            con.execute(statement)
        con.execute(f"create or replace temp table new_versions as {changed}", {"ids": ids})
        changes.record(con, "staging.ai_generations", "new", "from new_versions")
        recorded = reuse.Changes(as_published, frozenset({table}))
        results = run_checks(con, snapshot_at=snapshot_at, previous=None, earlier=earlier, changes=recorded)
        return {result.name: result for result in results}

    def copy_of(source: str, new_id: str) -> str:
        return (
            f"insert into staging.ai_generations by name select '{new_id}'::uuid as id, * exclude (id) "
            f"from staging.ai_generations where id = '{source}'"
        )

    first = {result.name: result for result in run_checks(con, snapshot_at=snapshot_at, previous=None)}
    assert {result.scope for result in first.values()} == {"whole table"}
    cost_range = first["staging.ai_generations.cost.range"]
    assert (cost_range.rows_checked, cost_range.element_count) == (3, 3)

    # One generation updated, one added: the row-by-row checks and uniqueness of the table decided on those 2 rows.
    update = f"update staging.ai_generations set tokens_used = 7 where id = '{GEN_1}'"
    second = checks_after([update, copy_of(GEN_2, GEN_3)], [GEN_1, GEN_3], first)
    on_changed = {name for name, result in second.items() if result.changed_rows}
    assert {
        "staging.ai_generations.tokens_used.range",
        "staging.ai_generations.status.accepted_values",
        "staging.ai_generations.completed_not_before_created",  # a row condition
        "staging.ai_generations.user_id.orphans",  # its parent did not change
        "staging.ai_generations.id.unique",  # the changed keys looked up in the whole table
    } <= on_changed
    assert all(name.startswith("staging.ai_generations.") for name in on_changed)
    for name in on_changed:  # a pass of the whole table's 4 rows; checked whole when the first results were
        result = second[name]
        assert (result.success, result.reused, result.table, result.scope) == (
            True,
            False,
            "staging.ai_generations",
            "changed rows",
        ), name
        assert (result.rows_checked, result.element_count, result.checked_at) == (2, 4, first[name].checked_at), name
    freshness = second["staging.ai_generations.freshness"]  # not decided row by row: the whole table, now
    assert (freshness.scope, freshness.rows_checked, freshness.element_count) == ("whole table", 4, 4)
    assert second["staging.users.id.unique"].reused  # an unchanged table
    assert con.execute("select count(*) from duckdb_schemas() where schema_name = 'changed_rows'").fetchone() == (0,)

    # Changed rows that fail: the checks run again on the whole table, with the counts and samples a full check
    # (`check --full`: no earlier results) gives.
    costly = f"update staging.ai_generations set cost = 2000 where id = '{GEN_1}'"
    third = checks_after([costly, copy_of(GEN_2, GEN_2)], [GEN_1, GEN_2], second)
    full = {result.name: result for result in run_checks(con, snapshot_at=snapshot_at, previous=None)}
    assert {result.scope for result in full.values()} == {"whole table"}
    for name, count, samples in (
        ("staging.ai_generations.cost.range", 1, (GEN_1,)),
        ("staging.ai_generations.id.unique", 2, (GEN_2, GEN_2)),
    ):
        result = third[name]
        assert (result.success, result.unexpected_count, result.sample_ids, result.scope) == (
            False,
            count,
            samples,
            "whole table",
        ), name
        assert (result.unexpected_count, result.sample_ids, result.rows_checked) == (
            full[name].unexpected_count,
            full[name].sample_ids,
            5,
        ), name
    assert third["staging.ai_generations.tokens_used.range"].scope == "changed rows"  # the changed rows pass it

    # A check that failed before runs on the whole table, whatever the changed rows hold.
    fourth = checks_after([f"update staging.ai_generations set tokens_used = 8 where id = '{GEN_3}'"], [GEN_3], third)
    assert fourth["staging.ai_generations.cost.range"].scope == "whole table"
    assert (fourth["staging.ai_generations.id.unique"].scope, fourth["staging.ai_generations.id.unique"].success) == (
        "whole table",
        False,
    )
    tokens = fourth["staging.ai_generations.tokens_used.range"]
    assert (tokens.scope, tokens.rows_checked, tokens.element_count) == ("changed rows", 1, 5)

    # A change the change set misses: it no longer leads from the table as published to the table, so nothing is
    # decided on it.
    fifth = checks_after([], [GEN_3], fourth, unrecorded=copy_of(GEN_3, GEN_4))
    assert not any(result.changed_rows and not result.reused for result in fifth.values())
    assert fifth["staging.ai_generations.tokens_used.range"].rows_checked == 6


def test_an_orphan_check_takes_the_changed_rows_while_its_parent_keeps_every_key(built) -> None:
    """An orphan check reads its parent too. A parent that only gained or changed rows turns no unchanged child row
    into an orphan, so the child's changed rows decide the check; a parent that lost a key runs it on the whole
    child table, where the unchanged rows naming that key are the orphans."""
    con, snapshot_at = built
    users, generations = ("staging", "users"), ("staging", "ai_generations")
    orphans = "staging.ai_generations.user_id.orphans"

    def checks_after(statements: list[str], changed: dict[tuple[str, str], list[str]], earlier: dict[str, CheckResult]):
        """Change the staged users and generations as an incremental run would (the rows `changed` names, by
        table, recorded as old and new versions), then check."""
        as_published = {table: fingerprint(con, *table) for table in changed}
        changes.start(con)
        versions = {table: f"from {table[0]}.{table[1]} where list_contains($ids, id::varchar)" for table in changed}
        for table, ids in changed.items():
            con.execute(f"create or replace temp table old_{table[1]} as {versions[table]}", {"ids": ids})
            changes.record(con, ".".join(table), "old", f"from old_{table[1]}")
        for statement in statements:
            con.execute(statement)
        for table, ids in changed.items():
            con.execute(f"create or replace temp table new_{table[1]} as {versions[table]}", {"ids": ids})
            changes.record(con, ".".join(table), "new", f"from new_{table[1]}")
        recorded = reuse.Changes(as_published, frozenset(changed))
        results = run_checks(con, snapshot_at=snapshot_at, previous=None, earlier=earlier, changes=recorded)
        return {result.name: result for result in results}

    first = {result.name: result for result in run_checks(con, snapshot_at=snapshot_at, previous=None)}
    assert first[orphans].success

    # U2 edited in place, GEN_1 updated: every key U2 held is still there, so GEN_1 alone decides the check.
    edits = [
        f"update staging.users set created_at = created_at + interval 1 second where id = '{U2}'",
        f"update staging.ai_generations set tokens_used = 7 where id = '{GEN_1}'",
    ]
    second = checks_after(edits, {users: [U2], generations: [GEN_1]}, first)
    assert (second[orphans].success, second[orphans].scope, second[orphans].rows_checked) == (True, "changed rows", 1)

    # U2 gone, GEN_1 updated again: U2's two generations (GEN_2 and the recent one), unchanged, now name no user.
    # GEN_1 alone would pass.
    gone = [
        f"delete from staging.users where id = '{U2}'",
        f"update staging.ai_generations set tokens_used = 8 where id = '{GEN_1}'",
    ]
    third = checks_after(gone, {users: [U2], generations: [GEN_1]}, second)
    result = third[orphans]
    assert (result.success, result.unexpected_count, result.scope) == (False, 2, "whole table")
    assert GEN_2 in result.sample_ids and GEN_1 not in result.sample_ids


def test_in_memory_batches_and_sql_give_the_same_results(built, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small tables' column checks run on pandas first (docs/quality.md, "Engines"): every kind of column and table
    check, failing and passing, must come out exactly as on SQL alone, counts, samples and order included."""
    monkeypatch.setenv("EBOOK_ANALYTICS_VOLUME_MIN_ROWS", "2")
    con, snapshot_at = built
    con.execute("update staging.users set status = 'bogus' where id = $id", {"id": U1})  # accepted_values
    con.execute("update staging.projects set target_word_count = 0")  # range: {min: 1}
    con.execute("update staging.ai_generations set cost = 2000 where id = $id", {"id": GEN_1})  # DECIMAL range
    con.execute("update staging.ai_generations set cost = 1000 where id = $id", {"id": GEN_2})  # on the bound: passes
    con.execute("update staging.ai_generations set status = null where id = $id", {"id": GEN_2})  # not_null
    con.execute("insert into staging.user_auth_methods select * from staging.user_auth_methods")  # unique
    rebuild_marts(con, snapshot_at)
    con.execute("insert into marts.ai_cost_daily select * from marts.ai_cost_daily")  # compound unique key
    previous = {"users": 5, "user_events": 3}  # volume: users dropped by 60%, events unchanged
    suites, _ = build_suites(con, snapshot_at=datetime(2030, 1, 1, tzinfo=UTC), previous_rows=previous)  # stale
    assert validation._frame(con, "staging.users", ["status"]) is not None  # the batch path is taken
    # and for the row-by-row and uniqueness checks of empty tables (sessions, trials, organizations, ...): an empty
    # batch keeps its columns' types
    assert len(validation._frame(con, "staging.user_sessions", ["id", "user_id"])) == 0

    on_batches = validate(con, suites)
    day_keys = sorted(str(day) for (day,) in con.execute("select distinct day from marts.ai_cost_daily").fetchall())
    assert on_batches == validate(con, suites, frame_max_rows=0)
    assert {name: (count, sorted(samples)) for name, (_, count, samples) in failures(on_batches).items()} == {
        "staging.users.status.accepted_values": (1, [U1]),
        "staging.users.volume_drop": (3, ["observed 2"]),
        "staging.projects.target_word_count.range": (1, [PROJECT]),
        "staging.ai_generations.cost.range": (1, [GEN_1]),
        "staging.ai_generations.status.not_null": (1, [GEN_2]),
        "marts.ai_generation_facts.status.not_null": (1, [GEN_2]),
        "staging.user_auth_methods.id.unique": (2, [AUTH, AUTH]),
        "marts.ai_cost_daily.unique_key": (4, sorted(f"{day}/openai/gpt" for day in day_keys * 2)),
        "marts.ai_cost_daily.generations_match_source": (1, ["mart 6 <> source 3"]),
        "marts.ai_cost_daily.tokens_match_source": (1, ["mart 3000 <> source 1500"]),
        "marts.ai_cost_daily.cost_matches_source": (1, ["mart 6000.020000 <> source 3000.010000"]),
        **{
            f"staging.{table}.freshness": (1, [f"observed {newest}"])
            for table, newest in con.execute(
                "select 'user_events', max(timestamp) from staging.user_events union all "
                "select 'ai_generations', max(created_at) from staging.ai_generations union all "
                "select 'usage_records', max(created_at) from staging.usage_records"
            ).fetchall()
        },
    }


def test_volume_and_freshness_are_decided_without_gx_as_gx_decides_them() -> None:
    """Row counts (from the fingerprint) and newest values (one query) against bounds, each bound inclusive: the same
    verdicts, counts and observed values as GX's. A column without a value, or whose values do not compare with the
    bound (a timestamp without a time zone), is left to GX."""
    con = duckdb.connect()
    con.execute(
        "create schema staging; create table staging.t as select * from (values "
        "(1, timestamptz '2024-01-01 23:30:00-05', timestamp '2024-01-01 00:00:00'), "
        "(2, timestamptz '2024-01-01 10:00:00+00', null), (3, null, null)) as v (id, ts, naive); "
        "create table staging.empty as select * from staging.t limit 0"
    )
    newest = datetime(2024, 1, 2, 4, 30, tzinfo=UTC)  # 23:30 at -05
    t, empty = TableSuite("staging", "t", ("id",)), TableSuite("staging", "empty", ("id",))
    for suite in (t, empty):
        suite.add("volume_drop", "error", expect("ExpectTableRowCountToBeBetween", min_value=3), baseline_rows=5)
        suite.add("volume_growth", "warn", expect("ExpectTableRowCountToBeBetween", max_value=2), baseline_rows=1)
        suite.add("fresh", "warn", expect("ExpectColumnMaxToBeBetween", column="ts", min_value=newest))
    t.add("stale", "warn", expect("ExpectColumnMaxToBeBetween", column="ts", min_value=newest + timedelta(minutes=1)))
    # two values at or after the lower bound (10:00, and 04:30 the next day), the newest beyond the upper one
    since, until = datetime(2024, 1, 1, 9, 0, tzinfo=UTC), datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    t.add("too_new", "warn", expect("ExpectColumnMaxToBeBetween", column="ts", min_value=since, max_value=until))
    t.add("naive", "warn", expect("ExpectColumnMaxToBeBetween", column="naive", min_value=newest))
    t.add("id.not_null", "error", expect("ExpectColumnValuesToNotBeNull", column="id"))
    taken = {("staging", name): fingerprint(con, "staging", name) for name in ("t", "empty")}

    decided = bounds.decide(con, [t, empty], taken)
    assert {r.name: (r.success, r.unexpected_count, r.sample_ids) for r in decided} == {
        "staging.t.volume_drop": (True, 0, ()),  # 3 rows, at least 3
        "staging.t.volume_growth": (False, 2, ("observed 3",)),  # at most 2: 2 more than the 1 before
        "staging.t.fresh": (True, 0, ()),  # on the bound
        "staging.t.stale": (False, 1, ("observed 2024-01-02 04:30:00+00:00",)),
        "staging.t.too_new": (False, 1, ("observed 2024-01-02 04:30:00+00:00",)),
        "staging.empty.volume_drop": (False, 5, ("observed 0",)),
        "staging.empty.volume_growth": (True, 0, ()),
    }
    by_gx = validate(
        con,
        [
            replace(suite, checks=[c for c in suite.checks if c.name in {r.name for r in decided}])
            for suite in (t, empty)
        ],
    )
    assert sorted(decided, key=lambda r: r.name) == sorted(by_gx, key=lambda r: r.name)


def test_checks_that_pass_in_duckdb_pass_in_gx_and_the_rest_are_left_to_it() -> None:
    """Each kind `row_checks` decides, on hand-made tables: what passes there passes in GX; what does not (a failure,
    a compound key of NULLs, which GX ignores, a `mostly`, a bound DuckDB refuses) is left to GX, so the gate's results
    are GX's alone, counts and samples included."""
    con = duckdb.connect()
    con.execute(
        "create schema marts; create table marts.t as select * from (values "
        "(1, 'a', 'x', 5, 1.50::decimal(6,2), 10, date '2024-01-01'), (2, 'b', 'x', null, 0.00, 10, null), "
        "(3, null, 'y', 7, 2.00, 11, date '2024-01-31'), (4, null, null, 9, null, 11, date '2024-02-01')) "
        "as v (id, k, s, n, d, g, day); "
        "create table marts.nulls as select * from (values (1, 1), (null, null), (null, null)) as v (a, b); "
        "create table marts.refused as select id, d from marts.t; "
        "create table marts.empty as select * from marts.t limit 0"
    )
    t, nulls, refused, empty = (TableSuite("marts", name, ("id",)) for name in ("t", "nulls", "refused", "empty"))
    for suite in (t, empty):
        suite.add("id.not_null", "error", expect("ExpectColumnValuesToNotBeNull", column="id"))
        suite.add("k.not_null", "warn", expect("ExpectColumnValuesToNotBeNull", column="k"))
        suite.add("k.mostly", "warn", expect("ExpectColumnValuesToNotBeNull", column="k", mostly=0.5))
        suite.add("k.unique", "error", expect("ExpectColumnValuesToBeUnique", column="k"))  # NULLs ignored
        suite.add("s.unique", "error", expect("ExpectColumnValuesToBeUnique", column="s"))
        suite.add("s.in_set", "error", expect("ExpectColumnValuesToBeInSet", column="s", value_set=["x", "y"]))
        suite.add("s.in_x", "error", expect("ExpectColumnValuesToBeInSet", column="s", value_set=["x"]))
        suite.add("n.range", "error", expect("ExpectColumnValuesToBeBetween", column="n", min_value=5, max_value=9))
        suite.add("n.at_most_8", "error", expect("ExpectColumnValuesToBeBetween", column="n", max_value=8))
        suite.add("d.at_least_0", "error", expect("ExpectColumnValuesToBeBetween", column="d", min_value=0))
        suite.add("d.at_least_1", "error", expect("ExpectColumnValuesToBeBetween", column="d", min_value=1))
        since = expect("ExpectColumnValuesToBeBetween", column="day", min_value=date(2024, 1, 1))  # not a number
        suite.add("day.since", "warn", since)
        suite.add("id_k.unique", "error", expect("ExpectCompoundColumnsToBeUnique", column_list=["id", "k"]))
        suite.add("s_g.unique", "error", expect("ExpectCompoundColumnsToBeUnique", column_list=["s", "g"]))
        no_k = sql_file("checks/row_condition").format(key='"id"', condition="k is not null")
        suite.add("k.set", "warn", expect("UnexpectedRowsExpectation", unexpected_rows_query=no_k), row_by_row=True)
        small = sql_file("checks/row_condition").format(key='"id"', condition="id < 10")
        suite.add("id.small", "warn", expect("UnexpectedRowsExpectation", unexpected_rows_query=small), row_by_row=True)
    nulls.add("a_b.unique", "error", expect("ExpectCompoundColumnsToBeUnique", column_list=["a", "b"]))
    refused.add("id.not_null", "error", expect("ExpectColumnValuesToNotBeNull", column="id"))
    refused.add("d.in_set", "error", expect("ExpectColumnValuesToBeInSet", column="d", value_set=["none"]))
    suites = [t, nulls, refused, empty]

    passed = {result.name for result in row_checks.passed(con, suites)}
    assert passed == {f"marts.t.{name}" for name in ("id.not_null", "k.unique", "s.in_set", "n.range")} | {
        f"marts.t.{name}" for name in ("d.at_least_0", "id_k.unique", "id.small")
    } | {check.name for check in empty.checks if check.name not in ("marts.empty.k.mostly", "marts.empty.day.since")}
    by_gx = {result.name: result for result in validate(con, suites)}
    assert passed <= {name for name, result in by_gx.items() if result.success}
    # Left to GX and passed there: the compound key of NULLs (GX ignores rows whose values are all missing), `mostly`,
    # a bound that is not a number, and every check of a table whose statement DuckDB refuses (a DECIMAL in a set of
    # text).
    assert {name for name, result in by_gx.items() if result.success} - passed == {
        "marts.nulls.a_b.unique",
        "marts.t.k.mostly",
        "marts.empty.k.mostly",
        "marts.t.day.since",
        "marts.empty.day.since",
        "marts.refused.id.not_null",
    }
    assert {(r.name, r.unexpected_count, r.sample_ids) for r in by_gx.values() if not r.success} == {
        ("marts.t.k.not_null", 2, ("3", "4")),
        ("marts.t.s.unique", 2, ("1", "2")),
        ("marts.t.s.in_x", 1, ("3",)),
        ("marts.t.n.at_most_8", 1, ("4",)),
        ("marts.t.d.at_least_1", 1, ("2",)),
        ("marts.t.s_g.unique", 2, ("", "")),  # GX lists a compound key's offending combinations, not the rows' ids
        ("marts.t.k.set", 2, ("3", "4")),
        (
            "marts.refused.d.in_set",
            0,
            (
                "check failed to run: (_duckdb.ConversionException) Conversion Error: Could not convert string "
                '"none" to DECIMAL(6,2)',
            ),
        ),
    }
    assert sorted(gate.validate(con, suites), key=lambda r: r.name) == sorted(by_gx.values(), key=lambda r: r.name)


def test_batches_and_sql_agree_on_nulls_bounds_and_types() -> None:
    """The cases where pandas could read a value differently from SQL: NULLs in unique and compound keys, DECIMAL and
    DOUBLE on a bound, dates, timestamps across a UTC day boundary, a NaN (sent to SQL) and an empty table."""
    con = duckdb.connect()
    con.execute(
        "create schema marts; create table marts.t as select * from (values "
        "(1, null, date '2024-01-01', timestamptz '2024-01-01 10:00:00+00', 0.1::double, 0.30::decimal(10,2), 'x'), "
        "(2, null, date '2024-01-01', timestamptz '2024-01-01 23:30:00-05', 0.2, 0.10, 'x'), "
        "(3, 'a', null, null, 0.3, null, null), "
        "(4, 'a', null, null, null, 1000.00, 'y')) as v (id, k, day, ts, f, d, s); "
        "create table marts.nan as select id, f from marts.t union all select 5, 'nan'::double; "
        "create table marts.empty as select * from marts.t limit 0"
    )
    boundary = datetime(2024, 1, 2, 4, 30, tzinfo=UTC)  # the newest ts, 23:30 at -05

    def suites() -> list[TableSuite]:
        result = []
        for table in ("t", "nan", "empty"):
            suite = TableSuite("marts", table, ("id",))
            suite.add(
                "f.range", "error", expect("ExpectColumnValuesToBeBetween", column="f", min_value=0.1, max_value=0.3)
            )
            suite.add("f.not_null", "error", expect("ExpectColumnValuesToNotBeNull", column="f"))
            suite.add("rows", "error", expect("ExpectTableRowCountToBeBetween", min_value=1))
            result.append(suite)
        # An aggregate of no rows is NULL in SQL but NaN in pandas: on an empty table it stays on SQL.
        result[2].add("ts.fresh", "warn", expect("ExpectColumnMaxToBeBetween", column="ts", min_value=boundary))
        result[2].add("k_day.unique", "error", expect("ExpectCompoundColumnsToBeUnique", column_list=["k", "day"]))
        suite = result[0]
        suite.add("k.unique", "error", expect("ExpectColumnValuesToBeUnique", column="k"))
        suite.add("s.unique", "error", expect("ExpectColumnValuesToBeUnique", column="s"))
        suite.add("k_day.unique", "error", expect("ExpectCompoundColumnsToBeUnique", column_list=["k", "day"]))
        suite.add("d.range", "error", expect("ExpectColumnValuesToBeBetween", column="d", min_value=0.1, max_value=0.3))
        suite.add(
            "d.range_int", "error", expect("ExpectColumnValuesToBeBetween", column="d", min_value=0, max_value=1000)
        )
        suite.add("s.accepted_values", "error", expect("ExpectColumnValuesToBeInSet", column="s", value_set=["x"]))
        suite.add("ts.fresh", "warn", expect("ExpectColumnMaxToBeBetween", column="ts", min_value=boundary))
        later = boundary.replace(minute=31)
        suite.add("ts.stale", "warn", expect("ExpectColumnMaxToBeBetween", column="ts", min_value=later))
        return result

    on_batches = validate(con, suites())
    assert on_batches == validate(con, suites(), frame_max_rows=0)
    assert validation._frame(con, "marts.t", ["f", "d"]) is not None
    assert validation._frame(con, "marts.nan", ["f"]) is None
    assert list(validation._frame(con, "marts.empty", ["f", "k"]).dtypes.astype(str)) == ["float64", "str"]
    assert {r.name: (r.unexpected_count, r.sample_ids) for r in on_batches if not r.success} == {
        "marts.t.f.not_null": (1, ("4",)),
        "marts.t.s.unique": (2, ("1", "2")),
        "marts.t.k.unique": (2, ("3", "4")),
        "marts.t.d.range": (1, ("4",)),
        "marts.t.s.accepted_values": (1, ("4",)),
        "marts.t.ts.stale": (1, ("observed 2024-01-02 04:30:00+00:00",)),
        "marts.nan.f.range": (1, ("5",)),
        "marts.nan.f.not_null": (1, ("4",)),
        "marts.empty.rows": (1, ("observed 0",)),
        "marts.empty.ts.fresh": (1, ("observed None",)),
    }


COST_CHECKS = tuple(
    f"marts.ai_cost_daily.{name}" for name in ("generations_match_source", "tokens_match_source", "cost_matches_source")
)


def test_reconciliations_of_additive_totals_are_decided_on_totals_kept_by_change_sets(
    built, monkeypatch: pytest.MonkeyPatch
) -> None:
    con, snapshot_at = built
    generations, mart = ("staging", "ai_generations"), ("marts", "ai_cost_daily")
    by_name = dict[str, CheckResult]

    def published() -> dict[tuple[str, str], tuple[int, int]]:
        return {table: fingerprint(con, *table) for table in (generations, mart)}

    def incremental(statements: list[str], ids: list[str], earlier: by_name, *, refresh: bool) -> reuse.Changes:
        """Change staged generations as an incremental run would, recording the old and new versions of the rows
        `ids` names; with `refresh`, the marts refresh from that change set and record their own changed rows."""
        as_published = published()
        changed = "from staging.ai_generations where list_contains($ids, id::varchar)"
        changes.start(con)
        con.execute(f"create or replace temp table old_versions as {changed}", {"ids": ids})
        changes.record(con, "staging.ai_generations", "old", "from old_versions")
        for statement in statements:
            con.execute(statement)
        con.execute(f"create or replace temp table new_versions as {changed}", {"ids": ids})
        changes.record(con, "staging.ai_generations", "new", "from new_versions")
        if refresh:
            run_models(con, model_parameters(snapshot_at), changes.read(con))
        change_set = changes.read(con)
        recorded = {tuple(name.split(".", 1)) for name in change_set.rows - change_set.everything}
        return reuse.Changes(as_published, frozenset(recorded) & {generations, mart})

    def checks(earlier: by_name | None = None, recorded: reuse.Changes | None = None) -> tuple[by_name, totals.Totals]:
        kept: totals.Totals = {}
        results = run_checks(
            con, snapshot_at=snapshot_at, previous=None, earlier=earlier, changes=recorded, kept_totals=kept
        )
        return {result.name: result for result in results}, kept

    def sums() -> tuple[Decimal, Decimal, Decimal]:
        return con.execute(
            "select count(*), sum(coalesce(tokens_used, 0)), sum(coalesce(cost, 0)) from staging.ai_generations"
        ).fetchone()

    # The whole check: totals of 3 generations (GEN_1, GEN_2 and the recent one), 1500 + NULL + NULL tokens,
    # 0.045 + NULL + 0.010 USD; kept with the results, as `etl run` does.
    first, kept = checks()
    assert {first[name].scope for name in COST_CHECKS} == {"whole table"}
    assert all(first[name].success for name in COST_CHECKS)
    expected = dict(zip(COST_CHECKS, (Decimal(3), Decimal(1500), Decimal("0.055000")), strict=True))
    for name, total in expected.items():
        assert (kept[(name, "mart")].total, kept[(name, "source")].total) == (total, total), name
    assert kept[(COST_CHECKS[2], "source")].table == "staging.ai_generations"
    totals.keep(con, kept)
    # A side whose sum may be of no value at all (NULL, as 0), with a condition: the tokens of generations
    # without a cost, none but GEN_2's (NULL) before the run.
    nulls = TableSuite("marts", "ai_cost_daily", ())
    probe = expect("UnexpectedRowsExpectation", unexpected_rows_query="select 1 from {batch} where false")
    source = "select sum(tokens_used) from staging.ai_generations where cost is null"
    nulls.add("uncosted_tokens", "warn", probe, reconciled=("count(*)", source))
    [uncosted] = nulls.checks

    def uncosted_totals(recorded: reuse.Changes | None, stored: totals.Totals) -> totals.Totals:
        told: totals.Totals = {}
        now = datetime.now(UTC)
        earlier = {uncosted.name: CheckResult(uncosted.name, "warn", False, 1, nulls.name, checked_at=now)}
        taken = {table: fingerprint(con, *table) for table in (generations, mart)}
        assert not totals.decide(
            con,
            [nulls],
            pending={uncosted.name},
            earlier=earlier,
            stored=stored,
            changes=recorded,
            taken=taken,
            digests={},
            oldest=now - timedelta(hours=1),
            now=now,
            computed=told,
        )  # 2 mart rows, not that sum: unequal, left to the whole check
        return told

    uncosted_before = uncosted_totals(None, {})
    assert uncosted_before[(uncosted.name, "source")].total == Decimal(0)

    # An incremental run: GEN_1 costs 1.50 now, GEN_2 (no cost, no tokens) is deleted, GEN_3 (2.25 USD, 100
    # tokens) and GEN_4 (no cost, 7 tokens) are added, all on GEN_1's day (March 2nd, UTC).
    gen_4 = "00000000-0000-0000-0000-0000000000e5"
    add = (
        "insert into staging.ai_generations by name select '{id}'::uuid as id, {tokens} as tokens_used, "
        "{cost} as cost, * exclude (id, tokens_used, cost) from staging.ai_generations where id = '" + GEN_1 + "'"
    )
    recorded = incremental(
        [
            f"update staging.ai_generations set cost = 1.500000 where id = '{GEN_1}'",
            f"delete from staging.ai_generations where id = '{GEN_2}'",
            add.format(id=GEN_3, tokens=100, cost="2.250000"),
            add.format(id=gen_4, tokens=7, cost="null"),
        ],
        [GEN_1, GEN_2, GEN_3, gen_4],
        first,
        refresh=True,
    )
    assert recorded.recorded == {generations, mart}
    second, kept = checks(first, recorded)
    # 4 generations, 1500 + 100 + 7 tokens, 1.50 + 2.25 + 0.010 USD: the totals brought up to date, exactly, equal
    # the whole tables' sums.
    assert sums() == (4, Decimal(1607), Decimal("3.760000"))
    expected = dict(zip(COST_CHECKS, sums(), strict=True))
    for name, total in expected.items():
        result = second[name]
        assert (result.success, result.reused, result.scope, result.checked_at) == (
            True,
            False,
            "kept totals",
            first[name].checked_at,
        ), name
        # The change sets read: the staged old versions of GEN_1 and GEN_2 and new ones of GEN_1, GEN_3 and GEN_4,
        # the mart's March 2nd row, old and new; of the mart's 2 rows (March 2nd and today).
        assert (result.rows_checked, result.element_count) == (2 + 3 + 2, 2), name
        assert (kept[(name, "mart")].total, kept[(name, "source")].total) == (total, total), name
        assert isinstance(kept[(name, "source")].total, Decimal)
    totals.keep(con, kept)
    # Brought up to date: 0 + 7 (GEN_4, the new version without a cost) - NULL as 0 (GEN_2's old version, the only
    # one without a cost), as the whole table says.
    uncosted_after = uncosted_totals(recorded, uncosted_before)
    assert (
        uncosted_after[(uncosted.name, "source")].total
        == Decimal(7)
        == con.execute(
            "select coalesce(sum(tokens_used), 0) from staging.ai_generations where cost is null"
        ).fetchone()[0]
    )
    # ... from the kept total, not the whole table: a kept total off by 100 stays off by 100.
    before = uncosted_before[(uncosted.name, "source")]
    off = {(uncosted.name, "source"): replace(before, total=before.total + 100)}
    assert uncosted_totals(recorded, off)[(uncosted.name, "source")].total == Decimal(107)

    # The next run changes GEN_3's cost to 3.00 and the marts are not refreshed: the source's total, brought up to
    # date (3.760000 - 2.250000 + 3.000000), no longer matches the mart's, kept as is. The check runs whole, with
    # the count and sample a full check gives.
    recorded = incremental(
        [f"update staging.ai_generations set cost = 3.000000 where id = '{GEN_3}'"], [GEN_3], second, refresh=False
    )
    assert recorded.recorded == {generations}
    third, kept = checks(second, recorded)
    full, _ = checks()
    cost = third[COST_CHECKS[2]]
    assert (cost.success, cost.unexpected_count, cost.sample_ids, cost.scope) == (
        False,
        1,
        ("mart 3.760000 <> source 4.510000",),
        "whole table",
    )
    assert (cost.unexpected_count, cost.sample_ids) == (full[cost.name].unexpected_count, full[cost.name].sample_ids)
    assert kept[(cost.name, "source")].total == Decimal("4.510000")
    tokens = third[COST_CHECKS[1]]  # its totals did not move: kept, and read from the 2 changed rows
    assert (tokens.success, tokens.scope, tokens.rows_checked) == (True, "kept totals", 2)

    # GEN_3 back to 2.25, the marts refreshed: the source's total (4.510000 - 3.000000 + 2.250000) matches the
    # mart's again. Then a mart row changed outside its change set: that side is aggregated whole (3.760001), and the
    # check fails as a full check does.
    totals.keep(con, kept)
    recorded = incremental(
        [f"update staging.ai_generations set cost = 2.250000 where id = '{GEN_3}'"], [GEN_3], third, refresh=True
    )
    fourth, kept = checks(third, recorded)
    assert (fourth[COST_CHECKS[2]].success, fourth[COST_CHECKS[2]].scope) == (True, "kept totals")
    assert kept[(COST_CHECKS[2], "source")].total == Decimal("3.760000")
    con.execute("update marts.ai_cost_daily set cost_usd = cost_usd + 0.000001 where cost_usd > 1")
    broken, kept = checks(third, recorded)
    full, _ = checks()
    cost = broken[COST_CHECKS[2]]
    assert (cost.success, cost.unexpected_count, cost.sample_ids, cost.scope) == (
        False,
        1,
        ("mart 3.760001 <> source 3.760000",),
        "whole table",
    )
    assert (cost.unexpected_count, cost.sample_ids) == (full[cost.name].unexpected_count, full[cost.name].sample_ids)
    assert (kept[(cost.name, "mart")].total, kept[(cost.name, "source")].total) == (
        Decimal("3.760001"),
        Decimal("3.760000"),
    )
    assert broken[COST_CHECKS[1]].scope == "kept totals"  # the tokens did not move

    # A result older than full_check_hours: the totals are aggregated whole again.
    monkeypatch.setenv("EBOOK_ANALYTICS_FULL_CHECK_HOURS", "0")
    expired, _ = checks(fourth, recorded)
    assert {expired[name].scope for name in COST_CHECKS} == {"whole table"}
    assert (expired[COST_CHECKS[1]].success, expired[COST_CHECKS[2]].success) == (True, False)
