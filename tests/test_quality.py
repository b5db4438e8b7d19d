"""The quality gate: each dataset breaks exactly one kind of check, and the clean one passes everything.

Warehouses are built from a real PostgreSQL source, either by the CLI (`etl run`) or in-process with the same
extract and transform steps, then corrupted in `staging` where the source's constraints forbid the fault.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg
import pytest

from pipelines import warehouse
from pipelines.extract.extract import extract, prepare
from pipelines.extract.postgres import SOURCE_ALIAS, attach_source
from pipelines.extract.tables import load_tables
from pipelines.quality.gate import run_checks
from pipelines.transform.runner import run_models
from tests.conftest import run_cli

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
    ("insert into users.users (id, email, username, status, tier, created_at) values "
     "(%s, 'ada@example.com', 'ada', 'active', 'premium', '2024-03-01 23:30:00-05'), "
     "(%s, 'bob@example.com', 'bob', 'active', 'free', '2024-03-01 10:00:00+00')", (U1, U2)),
    ("insert into users.user_auth_methods (id, user_id, method_type, is_primary) values (%s, %s, 'password', true)",
     (AUTH, U1)),
    ("insert into ai_processing.ai_providers (id, name, cost_per_token) values (%s, 'openai', 0.00000200)",
     (PROVIDER,)),
    ("insert into ai_processing.ai_models (id, provider_id, name, version) values (%s, %s, 'gpt', '4')",
     (MODEL, PROVIDER)),
    ("insert into content.projects (id, title, owner_id, status, target_word_count, created_at) "
     "values (%s, 'Book', %s, 'in_progress', 50000, '2024-03-01 12:00:00+00')", (PROJECT, U1)),
    ("insert into content.chapters (id, project_id, position, word_count, status, created_at) "
     "values (%s, %s, 1, 1200, 'draft', '2024-03-01 12:30:00+00')", (CHAPTER, PROJECT)),
    ("insert into content.content_versions (id, chapter_id, version_number, content, changed_by, change_type, "
     "word_count, created_at) values (%s, %s, 1, 'x', %s, 'manual', 1000, '2024-03-01 13:00:00+00'), "
     "(%s, %s, 2, 'xy', %s, 'ai_revision', 1200, '2024-03-02 01:00:00+00')",
     (VERSION_1, CHAPTER, U1, VERSION_2, CHAPTER, U1)),
    ("insert into ai_processing.ai_generations (id, user_id, project_id, model_id, prompt, tokens_used, cost, "
     "processing_time_ms, quality_rating, status, created_at, started_at, completed_at) values "
     "(%s, %s, %s, %s, 'p', 1500, 0.045000, 900, 4, 'completed', '2024-03-01 23:30:00-05', "
     "'2024-03-01 23:30:01-05', '2024-03-01 23:30:02-05'), "
     "(%s, %s, null, %s, 'p', null, null, null, null, 'failed', '2024-03-02 08:00:00+00', null, null)",
     (GEN_1, U1, PROJECT, MODEL, GEN_2, U2, MODEL)),
    ("insert into billing.subscription_plans (id, name, price, billing_cycle, ai_tokens_included) "
     "values (%s, 'Pro', 19.00, 'monthly', 100000)", (PLAN,)),
    ("insert into billing.user_subscriptions (id, user_id, plan_id, status, current_period_start, "
     "current_period_end, amount, created_at) values (%s, %s, %s, 'active', '2024-03-01 00:00:00+00', "
     "'2024-04-01 00:00:00+00', 19.00, '2024-03-01 00:00:00+00')", (SUBSCRIPTION, U1, PLAN)),
    ("insert into billing.usage_records (user_id, subscription_id, resource_type, quantity, unit_cost, total_cost, "
     "usage_date, created_at) values (%s, %s, 'ai_tokens', 1500, 0.000030, 0.05, '2024-03-02', "
     "'2024-03-01 23:30:00-05')", (U1, SUBSCRIPTION)),
    ("insert into billing.revenue_shares (id, user_id, project_id, book_sales, platform_commission_rate, "
     "user_revenue, platform_revenue, payout_status, revenue_period_start, revenue_period_end) values "
     "(%s, %s, %s, 100.00, 0.1000, 90.00, 10.00, 'pending', '2024-03-01', '2024-03-31')", (SHARE, U1, PROJECT)),
    ("insert into analytics.user_events (user_id, event_type, event_category, timestamp) values "
     "(%s, 'login', 'auth', '2024-03-01 23:30:00-05'), (null, 'page_view', 'web', '2024-03-02 09:00:00+00')",
     (U1,)),
]
# The same platform still being written: one event, generation and usage record an hour before the snapshot.
RECENT_ACTIVITY = [
    ("insert into analytics.user_events (user_id, event_type, timestamp) values (%s, 'login', now() - interval '1h')",
     (U2,)),
    ("insert into ai_processing.ai_generations (user_id, model_id, prompt, cost, status, created_at) "
     "values (%s, %s, 'p', 0.010000, 'pending', now() - interval '1h')", (U2, MODEL)),
    ("insert into billing.usage_records (user_id, resource_type, quantity, total_cost, usage_date, created_at) "
     "values (%s, 'exports', 1, 0.00, current_date, now() - interval '1h')", (U2,)),
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
    extraction = extract(con, tables)
    con.execute(f"detach {SOURCE_ALIAS}")
    rebuild_marts(con, extraction.snapshot_at)
    return con, extraction.snapshot_at


def rebuild_marts(con: duckdb.DuckDBPyConnection, snapshot_at: datetime) -> None:
    run_models(con, {"snapshot_at": snapshot_at, "snapshot_date": snapshot_at.astimezone(UTC).date()})


def failures(results) -> dict[str, tuple[str, int, tuple[str, ...]]]:
    return {r.name: (r.severity, r.unexpected_count, r.sample_ids) for r in results if not r.success}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """In-process runs get their own data folder (extension copy, live warehouse path)."""
    monkeypatch.setenv("EBOOK_ANALYTICS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("EBOOK_ANALYTICS_WAREHOUSE", str(tmp_path / "home" / "warehouse" / "analytics.duckdb"))
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


def test_clean_dataset_passes_every_check(fresh_source: str, home: Path) -> None:
    con, snapshot_at = build(fresh_source, home / "build.duckdb")
    results = run_checks(con, snapshot_at=snapshot_at, previous=None)
    assert failures(results) == {}
    names = {r.name for r in results}
    assert len(names) == len(results)  # one result per check
    assert {
        "staging.users.id.unique", "staging.ai_generations.cost.range", "staging.content_versions.chapter_id.orphans",
        "staging.revenue_shares.shares_add_up_to_sales", "staging.user_events.freshness",
        "marts.ai_cost_daily.unique_key", "marts.ai_cost_daily.cost_matches_source",
    } <= names
    assert all(r.table == r.name.rsplit(".", 2)[0] or r.name.startswith(r.table + ".") for r in results)


def test_generation_costing_2000_is_an_error_that_blocks(fresh_source: str, home: Path) -> None:
    con, snapshot_at = build(fresh_source, home / "build.duckdb")
    # The source's CHECK (cost < 1000) forbids it, so the fault is made in the staged copy.
    con.execute("update staging.ai_generations set cost = 2000 where id = $id", {"id": GEN_1})
    rebuild_marts(con, snapshot_at)
    results = run_checks(con, snapshot_at=snapshot_at, previous=None)
    assert failures(results) == {"staging.ai_generations.cost.range": ("error", 1, (GEN_1,))}
    assert [r.name for r in results if r.blocks_publish] == ["staging.ai_generations.cost.range"]


def test_orphan_content_version_is_counted_with_its_ids(fresh_source: str, home: Path) -> None:
    con, snapshot_at = build(fresh_source, home / "build.duckdb")
    con.execute("update staging.content_versions set chapter_id = uuid() where id in ($a, $b)",
                {"a": VERSION_1, "b": VERSION_2})
    rebuild_marts(con, snapshot_at)
    results = run_checks(con, snapshot_at=snapshot_at, previous=None)
    severity, count, samples = failures(results).pop("staging.content_versions.chapter_id.orphans")
    assert (severity, count, sorted(samples)) == ("error", 2, [VERSION_1, VERSION_2])
    assert set(failures(results)) == {"staging.content_versions.chapter_id.orphans"}


def test_duplicate_key_fails_uniqueness(fresh_source: str, home: Path) -> None:
    con, snapshot_at = build(fresh_source, home / "build.duckdb")
    con.execute("insert into staging.user_auth_methods select * from staging.user_auth_methods")
    results = run_checks(con, snapshot_at=snapshot_at, previous=None)
    assert failures(results) == {"staging.user_auth_methods.id.unique": ("error", 2, (AUTH, AUTH))}


def test_mart_that_no_longer_matches_its_source_fails_reconciliation(fresh_source: str, home: Path) -> None:
    con, snapshot_at = build(fresh_source, home / "build.duckdb")
    total = con.execute("select sum(cost_usd) from marts.ai_cost_daily").fetchone()[0]
    assert total == Decimal("0.055000")  # 0.045 + NULL-as-0 + 0.010
    con.execute("update marts.ai_cost_daily set cost_usd = cost_usd + 0.000001 where cost_usd > 0.04")
    results = run_checks(con, snapshot_at=snapshot_at, previous=None)
    assert failures(results) == {
        "marts.ai_cost_daily.cost_matches_source": ("error", 1, ("mart 0.055001 <> source 0.055000",)),
    }


def test_volume_against_the_previous_run(
    fresh_source: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EBOOK_ANALYTICS_VOLUME_MIN_ROWS", "3")
    con, snapshot_at = build(fresh_source, home / "build.duckdb")
    # Now: 2 users, 3 generations, 3 events. Users halved and more (5 -> 2: error), events more than doubled
    # (1 -> 3: under the 3-row minimum, not judged), generations doubled exactly (3 -> 3 of 1.5: not judged).
    previous = {"tables": {"users": {"rows": 5}, "user_events": {"rows": 1}, "ai_generations": {"rows": 3},
                           "usage_records": {"rows": 1}}}
    results = run_checks(con, snapshot_at=snapshot_at, previous=previous)
    assert failures(results) == {"staging.users.volume_drop": ("error", 3, ("observed 2",))}
    monkeypatch.setenv("EBOOK_ANALYTICS_VOLUME_GROWTH_PCT", "0")
    results = run_checks(con, snapshot_at=snapshot_at, previous={"tables": {"ai_generations": {"rows": 4}}})
    assert failures(results) == {}
    results = run_checks(con, snapshot_at=snapshot_at, previous={"tables": {"user_events": {"rows": 2}}})
    assert failures(results) == {}  # 2 rows is under the minimum
    monkeypatch.setenv("EBOOK_ANALYTICS_VOLUME_MIN_ROWS", "1")
    results = run_checks(con, snapshot_at=snapshot_at, previous={"tables": {"user_events": {"rows": 2}}})
    assert failures(results) == {"staging.user_events.volume_growth": ("warn", 1, ("observed 3",))}


def test_bad_threshold_setting_is_one_line(fresh_source: str, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.errors import UserError

    con, snapshot_at = build(fresh_source, home / "build.duckdb")
    monkeypatch.setenv("EBOOK_ANALYTICS_FRESHNESS_HOURS", "two days")
    with pytest.raises(UserError, match="freshness_hours is 'two days'"):
        run_checks(con, snapshot_at=snapshot_at, previous=None)
