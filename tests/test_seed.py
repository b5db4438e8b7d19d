"""The synthetic history: deterministic, consistent with every constraint and business rule, and extendable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import psycopg
import pytest
from psycopg import sql

from pipelines.source.seed import ai, billing, catalog
from pipelines.source.seed.columns import decimals, latest_at_or_before
from tests.conftest import cli_environment, run_cli, table_checksums

END = "2024-03-31"
SEED = "7"

# Every seeded table, with a stable order, for checksums over whole contents.
TABLES = (
    "ai_processing.ai_providers",
    "ai_processing.ai_models",
    "billing.subscription_plans",
    "users.users",
    "users.user_auth_methods",
    "users.user_sessions",
    "users.user_organizations",
    "users.organization_members",
    "content.projects",
    "content.project_collaborators",
    "content.chapters",
    "content.content_versions",
    "content.content_embeddings",
    "ai_processing.prompt_templates",
    "ai_processing.ai_generations",
    "billing.user_subscriptions",
    "billing.usage_records",
    "billing.revenue_shares",
    "analytics.user_events",
)


def checksums(url: str) -> dict[str, tuple[int, str]]:
    return table_checksums(url, TABLES)


def scalar(url: str, sql: str):
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()[0]


@pytest.fixture(scope="module")
def seeded(create_database, schema_template, tmp_path_factory) -> tuple[str, dict[str, str]]:
    """One tiny history shared by the read-only checks below."""
    url = create_database(template=schema_template)
    env = cli_environment(tmp_path_factory.mktemp("seeded"), url)
    run_cli("source", "seed", "--scale", "tiny", "--seed", SEED, "--end-date", END, env=env)
    return url, env


def test_same_seed_and_end_date_give_identical_data(seeded, create_database, schema_template, tmp_path):
    url, _ = seeded
    other = create_database(template=schema_template)
    run_cli(
        "source",
        "seed",
        "--scale",
        "tiny",
        "--seed",
        SEED,
        "--end-date",
        END,
        env=cli_environment(tmp_path / "other", other),
    )
    first, second = checksums(url), checksums(other)
    assert first == second
    assert all(count > 0 for count, _ in first.values()), first
    different = create_database(template=schema_template)
    run_cli(
        "source",
        "seed",
        "--scale",
        "tiny",
        "--seed",
        "8",
        "--end-date",
        END,
        env=cli_environment(tmp_path / "different", different),
    )
    assert checksums(different)["users.users"] != first["users.users"]


def test_revenue_shares_split_sales_exactly(seeded):
    url, _ = seeded
    assert scalar(url, "select count(*) from billing.revenue_shares") > 0
    assert (
        scalar(
            url,
            """
        select count(*) from billing.revenue_shares
        where user_revenue + platform_revenue <> book_sales
           or platform_revenue <> round(book_sales * platform_commission_rate, 2)
           or revenue_period_start <> date_trunc('month', revenue_period_start)::date
           or revenue_period_end <> (revenue_period_start + interval '1 month' - interval '1 day')::date
           or (payout_status = 'paid') <> (payout_date is not null)
    """,
        )
        == 0
    )


def test_every_completed_generation_is_metered_with_its_tokens_and_cost(seeded):
    url, _ = seeded
    assert scalar(url, "select count(*) from ai_processing.ai_generations where status = 'completed'") > 300
    assert (
        scalar(
            url,
            """
        select count(*) from ai_processing.ai_generations g
        left join billing.usage_records u on u.ai_generation_id = g.id and u.resource_type = 'ai_tokens'
        where g.status = 'completed'
          and (u.id is null or u.quantity <> g.tokens_used or u.total_cost <> round(g.cost, 2)
               or u.usage_date <> (g.created_at at time zone 'UTC')::date or u.user_id <> g.user_id)
    """,
        )
        == 0
    )
    # usage rows only for completed requests; cost is list price: between all-input and all-output pricing
    assert (
        scalar(
            url,
            """
        select count(*) from billing.usage_records u join ai_processing.ai_generations g on g.id = u.ai_generation_id
        where g.status <> 'completed'
    """,
        )
        == 0
    )
    assert (
        scalar(
            url,
            """
        select count(*) from ai_processing.ai_generations g join ai_processing.ai_models m on m.id = g.model_id
        where g.status = 'completed' and (
            g.cost < round(g.tokens_used * least(m.cost_per_input_token, m.cost_per_output_token), 6) - 0.000001
            or g.cost > round(g.tokens_used * greatest(m.cost_per_input_token, m.cost_per_output_token), 6) + 0.000001
            or g.completed_at <= g.created_at or g.started_at < g.created_at)
    """,
        )
        == 0
    )
    assert (
        scalar(
            url,
            """
        select count(*) from ai_processing.ai_generations
        where (status in ('pending', 'processing')) <> (completed_at is null)
           or (status = 'failed') <> (error_message is not null)
    """,
        )
        == 0
    )
    assert scalar(url, "select count(*) from ai_processing.ai_generations where status = 'pending'") >= 1


def test_events_are_by_existing_users_after_signup_and_never_in_the_future(seeded):
    url, _ = seeded
    assert (
        scalar(
            url,
            """
        select count(*) from analytics.user_events e join users.users u on u.id = e.user_id
        where e."timestamp" < u.created_at
    """,
        )
        == 0
    )
    assert scalar(url, f"""select count(*) from analytics.user_events where "timestamp" >= '{END}'::date + 1""") == 0
    assert scalar(url, "select count(*) from analytics.user_events where user_id is null") > 0
    # each generation has its ai_generate event at the same instant
    assert (
        scalar(
            url,
            """
        select count(*) from ai_processing.ai_generations g
        where not exists (select 1 from analytics.user_events e where e.event_type = 'ai_generate'
                          and e.user_id = g.user_id and e."timestamp" = g.created_at)
    """,
        )
        == 0
    )
    assert (
        scalar(
            url,
            """
        select count(*) from users.user_sessions s join users.users u on u.id = s.user_id
        where s.created_at < u.created_at
    """,
        )
        == 0
    )


def test_chapters_and_projects_tell_one_story(seeded):
    url, _ = seeded
    assert (
        scalar(
            url,
            """
        select count(*) from content.chapters c
        join lateral (select word_count, created_at from content.content_versions v where v.chapter_id = c.id
                      order by version_number desc limit 1) latest on true
        where c.word_count <> latest.word_count or c.updated_at <> latest.created_at
    """,
        )
        == 0
    )
    assert (
        scalar(
            url,
            """
        select count(*) from content.content_versions v
        join content.content_versions prev on prev.chapter_id = v.chapter_id
             and prev.version_number = v.version_number - 1
        where prev.created_at > v.created_at or prev.word_count > v.word_count
    """,
        )
        == 0
    )
    assert (
        scalar(
            url,
            """
        select count(*) from content.projects
        where (status = 'published') <> (published_at is not null)
           or published_at < completed_at or completed_at < created_at
           or (status in ('completed', 'published')) <> (completed_at is not null)
    """,
        )
        == 0
    )
    assert scalar(url, "select count(*) from content.chapters where ai_generated") > 0


def test_the_seeded_tables_are_left_settled(seeded):
    """A first full read of the seeded rows writes no WAL, as on a database whose pages were settled long ago.

    Unsettled pages (hint bits unset, not all-visible) would each get a full-page image (~8 KB, data checksums are
    on) when first read after a checkpoint: WAL of about the data's size, behind the ETL's new replication slot.
    The checkpoint makes every loaded page older than the last one, as on any real source. `t::text` reads every
    column, TOASTed ones too, as the extract does. The bound, less than one page image, allows no unsettled page.
    """
    url, _ = seeded
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("checkpoint")
        wal = {}
        for table in TABLES:
            read = sql.SQL("explain (analyze, wal, format json) select sum(length(t::text)) from {} as t").format(
                sql.Identifier(*table.split("."))
            )
            plan = conn.execute(read).fetchone()[0][0]["Plan"]
            wal[table] = (plan["WAL FPI"], plan["WAL Bytes"])
    assert {table: fpi for table, (fpi, _) in wal.items() if fpi} == {}
    assert sum(size for _, size in wal.values()) < 8192


def test_seeding_a_source_with_users_fails_with_one_line(seeded):
    _, env = seeded
    result = run_cli("source", "seed", "--scale", "tiny", "--end-date", END, env=env, check=False)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "error: the source already has users; seed an empty database (`source init` on a new one), "
        "or add days to this one with `ebook-analytics source advance --days N`"
    ]


def test_seeding_without_schema_fails_with_one_line(create_database, tmp_path):
    result = run_cli("source", "seed", "--scale", "tiny", env=cli_environment(tmp_path, create_database()), check=False)
    assert result.returncode != 0
    assert result.stderr.strip() == "error: the source has no platform schema; run `ebook-analytics source init` first"


def test_bad_history_bounds_fail_with_one_line(source_url, tmp_path):
    env = cli_environment(tmp_path, source_url)
    future = run_cli("source", "seed", "--scale", "tiny", "--end-date", "2999-01-01", env=env, check=False)
    assert future.returncode != 0
    assert len(future.stderr.strip().splitlines()) == 1
    assert future.stderr.startswith("error: --end-date 2999-01-01 is not in the past; history must end before today")
    months = run_cli("source", "seed", "--scale", "tiny", "--months", "0", env=env, check=False)
    assert months.returncode != 0
    assert months.stderr.strip() == "error: --months 0 is out of range; use 1 to 120"
    assert scalar(source_url, "select count(*) from users.users") == 0


def test_advance_appends_days_and_changes_rows_in_place(seeded, create_database, tmp_path):
    # Two copies of the seeded history (PostgreSQL clones it as a template: no second seed needed).
    template = psycopg.conninfo.conninfo_to_dict(seeded[0])["dbname"]
    urls = []
    for name in ("a", "b"):
        url = create_database(template=template)
        urls.append((url, cli_environment(tmp_path / name, url)))
    url = urls[0][0]
    before = {table: count for table, (count, _) in checksums(url).items()}
    pending = scalar(url, "select count(*) from ai_processing.ai_generations where status in ('pending', 'processing')")
    assert pending >= 2
    old_cancelled = (
        "select count(*) from ai_processing.ai_generations "
        f"where status = 'cancelled' and created_at < '{END}'::date + 1"
    )
    old_anonymous = (
        "select count(*) from analytics.user_events "
        f"""where user_id is null and "timestamp" < '{END}'::date + 1"""
    )
    cancelled, anonymous = scalar(url, old_cancelled), scalar(url, old_anonymous)

    for _, env_ in urls:
        run_cli("source", "advance", "--days", "2", "--seed", "3", env=env_)
    after = checksums(url)
    assert after == checksums(urls[1][0])

    for table in (
        "users.user_sessions",
        "ai_processing.ai_generations",
        "billing.usage_records",
        "analytics.user_events",
    ):
        assert after[table][0] > before[table], table
    # new activity only after the previous last day, and not beyond the two new days
    assert scalar(url, """select max("timestamp")::date from analytics.user_events""").isoformat() == "2024-04-02"
    for table, column in (
        ("users.users", "created_at"),
        ("users.user_sessions", "created_at"),
        ("content.content_versions", "created_at"),
        ("billing.usage_records", "created_at"),
        ("analytics.user_events", '"timestamp"'),
    ):
        new_rows = scalar(url, f"select count(*) from {table} where {column} >= '{END}'::date + 1")
        deleted = 2 if table == "analytics.user_events" else 0
        assert new_rows == after[table][0] - before[table] + deleted, table
        assert scalar(url, f"select count(*) from {table} where {column} >= '{END}'::date + 3") == 0, table
    assert (
        scalar(url, f"select count(*) from ai_processing.ai_generations where created_at >= '{END}'::date + 1")
        == after["ai_processing.ai_generations"][0] - before["ai_processing.ai_generations"] + 1
    )
    # requests left unfinished by the seed completed in place, each with its usage row
    assert (
        scalar(
            url,
            "select count(*) from ai_processing.ai_generations where status in ('pending', 'processing') "
            f"and created_at < '{END}'::date + 1",
        )
        == 0
    )
    assert (
        scalar(
            url,
            """
        select count(*) from ai_processing.ai_generations g
        where g.status = 'completed' and not exists (
            select 1 from billing.usage_records u where u.ai_generation_id = g.id and u.quantity = g.tokens_used)
    """,
        )
        == 0
    )
    # chapters that grew still equal their latest version
    assert (
        scalar(
            url,
            """
        select count(*) from content.chapters c
        join lateral (select word_count, created_at from content.content_versions v where v.chapter_id = c.id
                      order by version_number desc limit 1) latest on true
        where c.word_count <> latest.word_count or c.updated_at <> latest.created_at
    """,
        )
        == 0
    )
    assert scalar(url, f"select count(*) from content.chapters where updated_at >= '{END}'::date + 1") > 0
    # the oldest cancelled request and the two oldest anonymous events were deleted
    assert scalar(url, old_cancelled) == cancelled - 1
    assert scalar(url, old_anonymous) == anonymous - 2


@pytest.mark.fast
def test_money_helpers_round_half_up_exactly():
    gpt4o = [m.name for m in catalog.MODELS].index("gpt-4o")  # $2.50 / $10.00 per million tokens
    # 1,000 x 0.0000025 + 500 x 0.00001 = 0.0075 -> 7,500 micro-dollars; 3 x 0.0000025 + 1 x 0.00001 = 0.0000175
    # rounds half up to 0.000018
    assert ai.cost_micro_dollars(np.array([gpt4o, gpt4o]), np.array([1000, 3]), np.array([500, 1])).tolist() == [
        7500,
        18,
    ]
    usage = billing.token_usage(
        np.array([0, 0]),
        np.array([1500, 4]),
        np.array([7500, 18]),
        np.array([-1, -1]),
        np.array([0, 1]),
        np.array([0, 0]),
        np.array([1, 1]),
    )
    assert usage.total_cost.tolist() == [1, 0]  # $0.0075 -> $0.01, $0.000018 -> $0.00
    assert usage.unit_cost.tolist() == [5, 5]  # 7500/1500 = 5; 18/4 = 4.5 -> 5
    assert decimals(np.array([151, -5, 0]), 15, 2).to_pylist() == [Decimal("1.51"), Decimal("-0.05"), Decimal("0.00")]


@pytest.mark.fast
def test_latest_at_or_before_finds_each_owners_last_item():
    owner = np.array([0, 0, 2, 2, 2])
    at = np.array([10, 20, 5, 15, 15])
    found = latest_at_or_before(owner, at, np.array([0, 0, 0, 1, 2, 2, 2]), np.array([9, 10, 99, 50, 4, 15, 16]))
    assert found.tolist() == [-1, 0, 1, -1, -1, 4, 4]


def test_the_default_history_leaves_room_to_advance_three_days_today(source_url, tmp_path):
    """The newcomer's path, the day of seeding: seed, etl run, advance --days 3, an incremental etl run."""
    env = cli_environment(tmp_path, source_url)
    today = datetime.now(UTC).date()
    run_cli("source", "seed", "--scale", "tiny", env=env)
    last_event = "select max((timestamp at time zone 'UTC')::date) from analytics.user_events"
    assert scalar(source_url, last_event) == today - timedelta(days=4)
    run_cli("etl", "run", env=env)
    run_cli("source", "advance", "--days", "3", env=env)
    assert scalar(source_url, last_event) == today - timedelta(days=1)
    ran = run_cli("etl", "run", env=env).stdout
    assert ran.startswith("published run ") and " (incremental, " in ran, ran
    refused = run_cli("source", "advance", "--days", "1", env=env, check=False)
    assert refused.stderr == (
        f"error: the history ends on {today - timedelta(days=1)}: --days 1 would reach today ({today}, UTC); "
        "use at most 0\n"
    )
