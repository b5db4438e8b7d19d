"""The platform schema on a real PostgreSQL: migrations, the seed document's tables and rules, partitions, grants."""

from __future__ import annotations

import re
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from psycopg import errors, sql

from pipelines.errors import UserError
from pipelines.source.grants import grant_roles
from pipelines.source.migrate import MIGRATIONS_DIR, apply_migrations
from pipelines.source.partitions import ensure_monthly_partitions

# Transcribed by hand from the schema document (sections 2-7): "column type [not null]" per table.
# The only departures are the partition keys, NOT NULL because they are part of the primary key (section 8.2).
SEED_COLUMNS = {
    "users.users": """
        id uuid not null | email varchar(255) not null | username varchar(50) | password_hash varchar(255)
        first_name varchar(100) | last_name varchar(100) | avatar_url text | email_verified boolean
        email_verified_at timestamptz | preferences jsonb | timezone varchar(50) | language varchar(10)
        status varchar(20) | tier varchar(20) | created_at timestamptz | updated_at timestamptz
        last_login_at timestamptz""",
    "users.user_auth_methods": """
        id uuid not null | user_id uuid not null | method_type varchar(20) not null | external_id varchar(255)
        is_primary boolean | metadata jsonb | created_at timestamptz""",
    "users.user_sessions": """
        id uuid not null | user_id uuid not null | session_token varchar(255) not null | ip_address inet
        user_agent text | expires_at timestamptz not null | created_at timestamptz""",
    "users.user_profiles": """
        user_id uuid not null | bio text | website varchar(255) | social_links jsonb | writing_experience varchar(20)
        preferred_genres text[] | writing_goals jsonb | notification_preferences jsonb | updated_at timestamptz""",
    "users.user_organizations": """
        id uuid not null | name varchar(255) not null | description text | owner_id uuid not null | settings jsonb
        created_at timestamptz""",
    "users.organization_members": """
        id uuid not null | organization_id uuid not null | user_id uuid not null | role varchar(20)
        joined_at timestamptz""",
    "content.projects": """
        id uuid not null | title varchar(500) not null | description text | genre varchar(100)
        target_audience varchar(100) | target_word_count integer | settings jsonb | ai_configuration jsonb
        style_guide jsonb | owner_id uuid not null | organization_id uuid | status varchar(20) | visibility varchar(20)
        created_at timestamptz | updated_at timestamptz | completed_at timestamptz | published_at timestamptz""",
    "content.project_collaborators": """
        id uuid not null | project_id uuid not null | user_id uuid not null | role varchar(20) | permissions jsonb
        invited_by uuid | invited_at timestamptz | accepted_at timestamptz""",
    "content.chapters": """
        id uuid not null | project_id uuid not null | title varchar(500) | position integer not null | content text
        summary text | notes text | word_count integer | character_count integer | ai_generated boolean
        ai_model varchar(100) | ai_prompt_used text | ai_generation_timestamp timestamptz | status varchar(20)
        created_at timestamptz | updated_at timestamptz""",
    "content.content_versions": """
        id uuid not null | chapter_id uuid not null | version_number integer not null | content text not null
        title varchar(500) | change_summary text | changed_by uuid not null | change_type varchar(20)
        created_at timestamptz | word_count integer""",
    "content.content_embeddings": """
        id uuid not null | content_id uuid not null | content_type varchar(20) not null | embedding vector(1536)
        model varchar(100) not null | created_at timestamptz""",
    "content.content_statistics": """
        id uuid not null | content_id uuid not null | content_type varchar(20) not null | word_count integer
        character_count integer | sentence_count integer | paragraph_count integer | flesch_reading_ease decimal(5,2)
        flesch_kincaid_grade decimal(5,2) | ai_confidence_score decimal(5,4) | sentiment_score decimal(5,4)
        topics jsonb | calculated_at timestamptz""",
    "ai_processing.ai_providers": """
        id uuid not null | name varchar(100) not null | api_endpoint varchar(500) | configuration jsonb
        cost_per_token decimal(10,8) | rate_limit_config jsonb | status varchar(20) | created_at timestamptz""",
    "ai_processing.ai_models": """
        id uuid not null | provider_id uuid not null | name varchar(100) not null | version varchar(50)
        context_window integer | max_tokens integer | cost_per_input_token decimal(10,8)
        cost_per_output_token decimal(10,8) | capabilities jsonb | status varchar(20)""",
    "ai_processing.ai_generations": """
        id uuid not null | user_id uuid not null | project_id uuid | chapter_id uuid | model_id uuid not null
        prompt text not null | system_prompt text | temperature decimal(3,2) | max_tokens integer | response text
        tokens_used integer | cost decimal(10,6) | processing_time_ms integer | confidence_score decimal(5,4)
        quality_rating integer | status varchar(20) | error_message text | created_at timestamptz
        started_at timestamptz | completed_at timestamptz""",
    "ai_processing.prompt_templates": """
        id uuid not null | name varchar(255) not null | description text | category varchar(100) | genre varchar(100)
        system_prompt text | user_prompt_template text not null | variables jsonb | default_model_id uuid
        default_parameters jsonb | usage_count integer | average_rating decimal(3,2) | created_by uuid
        created_at timestamptz | updated_at timestamptz | is_public boolean""",
    "billing.subscription_plans": """
        id uuid not null | name varchar(100) not null | description text | price decimal(10,2) not null
        billing_cycle varchar(20) | features jsonb | ai_tokens_included integer | projects_limit integer
        collaborators_limit integer | export_formats text[] | status varchar(20) | created_at timestamptz""",
    "billing.user_subscriptions": """
        id uuid not null | user_id uuid not null | plan_id uuid not null | stripe_subscription_id varchar(255)
        status varchar(20) | current_period_start timestamptz not null | current_period_end timestamptz not null
        trial_end timestamptz | next_billing_date timestamptz | amount decimal(10,2) not null | currency varchar(3)
        created_at timestamptz | updated_at timestamptz | cancelled_at timestamptz""",
    "billing.usage_records": """
        id uuid not null | user_id uuid not null | subscription_id uuid | resource_type varchar(50) not null
        quantity integer not null | unit_cost decimal(10,6) | total_cost decimal(10,2) | project_id uuid
        ai_generation_id uuid | usage_date date not null | created_at timestamptz""",
    "billing.revenue_shares": """
        id uuid not null | user_id uuid not null | project_id uuid not null | book_sales decimal(15,2)
        platform_commission_rate decimal(5,4) | user_revenue decimal(15,2) | platform_revenue decimal(15,2)
        payout_status varchar(20) | payout_date timestamptz | payout_method jsonb | revenue_period_start date not null
        revenue_period_end date not null | created_at timestamptz""",
    "analytics.user_events": """
        id uuid not null | user_id uuid | session_id uuid | event_type varchar(100) not null
        event_category varchar(50) | event_data jsonb | page_url text | referrer text | user_agent text
        ip_address inet | timestamp timestamptz not null""",
    "analytics.project_metrics": """
        id uuid not null | project_id uuid not null | total_words integer | chapters_completed integer
        ai_generated_percentage decimal(5,2) | active_writing_time_minutes integer | ai_generation_time_minutes integer
        collaborator_count integer | comments_count integer | revisions_count integer | metrics_date date not null
        created_at timestamptz""",
    "system.app_settings": """
        id uuid not null | setting_key varchar(255) not null | setting_value jsonb not null | description text
        category varchar(100) | is_public boolean | updated_by uuid | updated_at timestamptz""",
    "system.feature_flags": """
        id uuid not null | flag_key varchar(255) not null | is_enabled boolean | description text
        target_audience jsonb | created_at timestamptz | updated_at timestamptz""",
    "system.background_jobs": """
        id uuid not null | job_type varchar(100) not null | payload jsonb not null | status varchar(20)
        priority integer | max_retries integer | retry_count integer | error_message text | scheduled_at timestamptz
        started_at timestamptz | completed_at timestamptz | created_at timestamptz""",
}

SEED_INDEXES = {
    "idx_users_email",
    "idx_users_username",
    "idx_users_status",
    "idx_users_tier",
    "idx_users_created_at",
    "idx_sessions_expires_at",
    "idx_projects_owner",
    "idx_projects_status",
    "idx_projects_genre",
    "idx_projects_created_at",
    "idx_projects_updated_at",
    "idx_chapters_project",
    "idx_chapters_position",
    "idx_chapters_status",
    "idx_chapters_updated_at",
    "idx_chapters_content_fts",
    "idx_content_versions_chapter",
    "idx_ai_generations_user",
    "idx_ai_generations_status",
    "idx_ai_generations_created_at",
    "idx_usage_records_user_date",
    "idx_usage_records_subscription",
    "idx_user_events_user_time",
    "idx_user_events_type",
    "idx_jobs_status_priority",
    "idx_users_active_lookup",
    "idx_chapters_project_active",
    "idx_ai_gen_cost_summary",
    "idx_usage_monthly_summary",
    # named by us where the document's inline index / UNIQUE ... WHERE had no name
    "idx_content_embeddings_embedding",
    "uq_user_auth_methods_external",
}

_SPELLING = {"varchar": "character varying", "decimal": "numeric", "timestamptz": "timestamp with time zone"}


def _expected_columns(spec: str) -> list[tuple[str, str, bool]]:
    columns = []
    for item in re.split(r"\s*[|\n]\s*", spec.strip()):
        name, kind, *not_null = item.split()
        base = re.match(r"[a-z]+", kind)[0]
        columns.append((name, kind.replace(base, _SPELLING.get(base, base), 1), bool(not_null)))
    return columns


@pytest.fixture
def conn(source_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(source_url, autocommit=True) as connection:
        yield connection


def test_every_seed_table_and_column_exists_with_its_type_and_nullability(conn: psycopg.Connection) -> None:
    actual: dict[str, list[tuple[str, str, bool]]] = {}
    rows = conn.execute("""
        select n.nspname || '.' || c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        where n.nspname in ('users', 'content', 'ai_processing', 'billing', 'analytics', 'system')
          and c.relkind in ('r', 'p') and not c.relispartition and c.relname <> 'schema_migrations'
        order by 1, a.attnum""").fetchall()
    for table, name, kind, not_null in rows:
        actual.setdefault(table, []).append((name, kind, not_null))
    assert actual == {table: _expected_columns(spec) for table, spec in SEED_COLUMNS.items()}


def test_seed_indexes_exist_and_time_series_tables_are_partitioned(conn: psycopg.Connection) -> None:
    names = {row[0] for row in conn.execute("select indexname from pg_indexes where schemaname <> 'pg_catalog'")}
    assert names >= SEED_INDEXES
    partitions = conn.execute("""
        select inhparent::regclass::text, inhrelid::regclass::text, pg_get_expr(c.relpartbound, c.oid)
        from pg_inherits join pg_class c on c.oid = inhrelid
        where inhparent in ('analytics.user_events'::regclass, 'billing.usage_records'::regclass)
        order by 1, 2""").fetchall()
    assert partitions == [
        ("analytics.user_events", "analytics.user_events_default", "DEFAULT"),
        (
            "analytics.user_events",
            "analytics.user_events_y2024m01",
            "FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2024-02-01 00:00:00+00')",
        ),
        ("billing.usage_records", "billing.usage_records_default", "DEFAULT"),
        ("billing.usage_records", "billing.usage_records_y2024m01", "FOR VALUES FROM ('2024-01-01') TO ('2024-02-01')"),
    ]


def test_defaults_of_the_seed(conn: psycopg.Connection) -> None:
    row = conn.execute("""
        insert into users.users (email) values ('ada@example.com')
        returning email_verified, preferences, timezone, language, status, tier, created_at is not null""").fetchone()
    assert row == (False, {}, "UTC", "en", "active", "free", True)
    user_id = conn.execute("select id from users.users").fetchone()[0]
    project = conn.execute(
        """
        insert into content.projects (title, owner_id) values ('Book', %s) returning id, status, visibility""",
        (user_id,),
    ).fetchone()
    assert project[1:] == ("draft", "private")
    share = conn.execute(
        """
        insert into billing.revenue_shares (user_id, project_id, revenue_period_start, revenue_period_end)
        values (%s, %s, '2024-03-01', '2024-03-31')
        returning book_sales, platform_commission_rate, payout_status, payout_method""",
        (user_id, project[0]),
    ).fetchone()
    assert share == (Decimal("0.00"), Decimal("0.1000"), "pending", {})


@pytest.fixture
def platform(conn: psycopg.Connection) -> dict[str, uuid.UUID]:
    """One user, project, chapter, provider, model and plan to hang rows on."""
    ids = {}
    ids["user"] = conn.execute("insert into users.users (email) values ('u1@example.com') returning id").fetchone()[0]
    ids["other"] = conn.execute("insert into users.users (email) values ('u2@example.com') returning id").fetchone()[0]
    ids["project"] = conn.execute(
        "insert into content.projects (title, owner_id) values ('P', %s) returning id", (ids["user"],)
    ).fetchone()[0]
    ids["provider"] = conn.execute(
        "insert into ai_processing.ai_providers (name) values ('openai') returning id"
    ).fetchone()[0]
    ids["model"] = conn.execute(
        "insert into ai_processing.ai_models (provider_id, name) values (%s, 'gpt') returning id", (ids["provider"],)
    ).fetchone()[0]
    ids["plan"] = conn.execute(
        "insert into billing.subscription_plans (name, price) values ('Pro', 19.00) returning id"
    ).fetchone()[0]
    return ids


# (statement, parameters from the platform fixture, expected error, expected constraint name or None)
REJECTED = [
    (
        "insert into users.users (email, status) values ('z@example.com', 'zombie')",
        [],
        errors.CheckViolation,
        "users_status_check",
    ),
    ("insert into users.users (email) values ('not-an-email')", [], errors.CheckViolation, "valid_email"),
    ("insert into users.users (email) values ('u1@example.com')", [], errors.UniqueViolation, "users_email_key"),
    (
        "insert into ai_processing.ai_generations (user_id, model_id, prompt, cost) values (%s, %s, 'p', 1000)",
        ["user", "model"],
        errors.CheckViolation,
        "check_reasonable_cost",
    ),
    (
        "insert into ai_processing.ai_generations (user_id, model_id, prompt, cost) values (%s, %s, 'p', -0.000001)",
        ["user", "model"],
        errors.CheckViolation,
        "check_reasonable_cost",
    ),
    (
        "insert into ai_processing.ai_generations (user_id, model_id, prompt, quality_rating) values (%s, %s, 'p', 6)",
        ["user", "model"],
        errors.CheckViolation,
        "ai_generations_quality_rating_check",
    ),
    (
        "insert into billing.user_subscriptions (user_id, plan_id, current_period_start, current_period_end, amount) "
        "values (%s, %s, '2024-03-01 00:00:00+00', '2024-02-29 23:59:59+00', 19.00)",
        ["user", "plan"],
        errors.CheckViolation,
        "check_subscription_period",
    ),
    (
        "insert into content.projects (title, owner_id, target_word_count) values ('P0', %s, 0)",
        ["user"],
        errors.CheckViolation,
        "check_word_count_positive",
    ),
    (
        "insert into content.projects (title, owner_id) values ('Orphan', gen_random_uuid())",
        [],
        errors.ForeignKeyViolation,
        "projects_owner_id_fkey",
    ),
    (
        "insert into content.chapters (project_id, position) values (%s, 1), (%s, 1)",
        ["project", "project"],
        errors.UniqueViolation,
        "chapters_project_id_position_key",
    ),
    (
        "insert into users.user_auth_methods (user_id, method_type, external_id) values (%s, 'google', 'g-1'), "
        "(%s, 'google', 'g-1')",
        ["user", "other"],
        errors.UniqueViolation,
        "uq_user_auth_methods_external",
    ),
    (
        "insert into users.user_auth_methods (user_id, method_type) values (%s, 'myspace')",
        ["user"],
        errors.CheckViolation,
        "user_auth_methods_method_type_check",
    ),
    (
        "insert into users.user_sessions (user_id, session_token, expires_at, created_at) "
        "values (%s, 't', '2024-03-01 23:30:00-05', '2024-03-02 04:30:00+00')",
        ["user"],
        errors.CheckViolation,
        "user_sessions_check",
    ),
    (
        "insert into analytics.user_events (event_type, timestamp) values ('view', null)",
        [],
        errors.NotNullViolation,
        None,
    ),
]


@pytest.mark.parametrize(
    ("statement", "refs", "error", "constraint"),
    REJECTED,
    ids=[case[3] or "partition_key_not_null" for case in REJECTED],
)
def test_constraints_reject_bad_rows(
    conn: psycopg.Connection,
    platform: dict[str, uuid.UUID],
    statement: str,
    refs: list[str],
    error: type[Exception],
    constraint: str | None,
) -> None:
    with pytest.raises(error) as raised:
        conn.execute(statement, [platform[ref] for ref in refs])
    assert raised.value.diag.constraint_name == constraint


def test_constraints_accept_the_edge_rows(conn: psycopg.Connection, platform: dict[str, uuid.UUID]) -> None:
    user, other, model = platform["user"], platform["other"], platform["model"]
    conn.execute(
        "insert into ai_processing.ai_generations (user_id, model_id, prompt, cost) "
        "values (%s, %s, 'p', 999.999999), (%s, %s, 'p', 0), (%s, %s, 'p', null)",
        [user, model] * 3,
    )
    conn.execute("insert into content.projects (title, owner_id, target_word_count) values ('Open', %s, null)", [user])
    # The partial unique index only covers rows with an external id: two users may both lack one.
    conn.execute(
        "insert into users.user_auth_methods (user_id, method_type) values (%s, 'password'), (%s, 'password')",
        [user, other],
    )
    # 23:30 at UTC-5 is 04:30 UTC the next day: the session ends 1 second after it starts.
    conn.execute(
        "insert into users.user_sessions (user_id, session_token, expires_at, created_at) "
        "values (%s, 't', '2024-03-02 04:30:01+00', '2024-03-01 23:30:00-05')",
        [user],
    )
    counts = conn.execute("""select (select count(*) from ai_processing.ai_generations),
                                    (select count(*) from users.user_auth_methods),
                                    (select count(*) from users.user_sessions)""").fetchone()
    assert counts == (3, 2, 1)


def test_migrations_are_recorded_and_a_second_run_applies_nothing(create_database: Callable[..., str]) -> None:
    with psycopg.connect(create_database()) as conn:
        assert apply_migrations(conn) == (2, ["0001_platform_schema", "0002_content_statistics_lookup_index"])
        assert apply_migrations(conn) == (2, [])
        ledger = conn.execute("select version, name from system.schema_migrations").fetchall()
    assert ledger == [(1, "0001_platform_schema"), (2, "0002_content_statistics_lookup_index")]


def test_a_later_migration_applies_to_an_existing_database_without_losing_rows(source_url: str, tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    for shipped in MIGRATIONS_DIR.glob("*.sql"):
        shutil.copy(shipped, migrations)
    (migrations / "0003_pen_name.sql").write_text("alter table users.users add column pen_name varchar(100);\n")
    (migrations / "README.md").write_text("not a migration")
    with psycopg.connect(source_url) as conn:
        conn.execute("insert into users.users (email) values ('a@example.com'), ('b@example.com')")
        conn.commit()
        assert apply_migrations(conn, migrations) == (3, ["0003_pen_name"])
        assert apply_migrations(conn, migrations) == (3, [])
        rows = conn.execute("select email, pen_name from users.users order by email").fetchall()
    assert rows == [("a@example.com", None), ("b@example.com", None)]


def test_two_concurrent_inits_apply_each_migration_once(create_database: Callable[..., str]) -> None:
    url = create_database()
    outcomes: list[tuple[int, list[str]]] = []
    errors: list[Exception] = []

    def init() -> None:
        try:
            with psycopg.connect(url) as conn:
                outcomes.append(apply_migrations(conn))
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            errors.append(exc)

    threads = [threading.Thread(target=init) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # Each file takes the lock in its own transaction, so the two may share the work (one applies 0001, the other
    # 0002): what matters is that every file is applied exactly once and both end at version 2.
    assert [version for version, _ in outcomes] == [2, 2]
    assert sorted(name for _, names in outcomes for name in names) == [
        "0001_platform_schema",
        "0002_content_statistics_lookup_index",
    ]


@pytest.fixture
def make_role(source_url: str) -> Iterator[Callable[[], str]]:
    """Unique role names; the roles (cluster-wide) are dropped after the test."""
    names: list[str] = []

    def make() -> str:
        names.append(f"t_role_{uuid.uuid4().hex[:10]}")
        return names[-1]

    yield make
    with psycopg.connect(source_url, autocommit=True) as conn:
        for name in names:
            if conn.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone():
                conn.execute(sql.SQL("drop owned by {0}; drop role {0}").format(sql.Identifier(name)))


def test_migrating_without_permission_is_a_user_error(
    create_database: Callable[..., str], make_role: Callable[[], str], source_url: str
) -> None:
    url = create_database()
    role = make_role()
    with psycopg.connect(source_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
    with psycopg.connect(psycopg.conninfo.make_conninfo(url, user=role)) as conn, pytest.raises(UserError) as raised:
        apply_migrations(conn)
    assert str(raised.value).startswith("not allowed to change the schema (permission denied for database")


def test_migrating_over_unrecorded_tables_is_a_user_error(create_database: Callable[..., str]) -> None:
    with psycopg.connect(create_database()) as conn:
        conn.execute("create schema users; create table users.users (id integer)")
        conn.commit()
        with pytest.raises(UserError) as raised:
            apply_migrations(conn)
    assert str(raised.value) == (
        'migration 0001_platform_schema clashes with objects already in the database (relation "users" already '
        "exists) that system.schema_migrations does not record; run `source init` on an empty database"
    )


def _rows_by_partition(conn: psycopg.Connection) -> list[tuple[str, str]]:
    return conn.execute("""
        select tableoid::regclass::text, event_type from analytics.user_events
        union all
        select tableoid::regclass::text, resource_type from billing.usage_records
        order by 2""").fetchall()


def test_partitions_move_waiting_rows_out_of_default(conn: psycopg.Connection, platform: dict[str, uuid.UUID]) -> None:
    conn.execute("""
        insert into analytics.user_events (event_type, timestamp) values
            ('mar_evening_ny', '2031-03-31 20:30:00-05'),   -- 2031-04-01 01:30 UTC: April
            ('mar_first', '2031-03-01 00:30:00+00'),
            ('feb_late_ny', '2031-02-28 23:30:00-05'),      -- 2031-03-01 04:30 UTC: March
            ('dec_far', '2031-12-15 12:00:00+00')""")
    conn.execute(
        "insert into billing.usage_records (user_id, resource_type, quantity, usage_date) "
        "values (%s, 'ai_tokens', 10, '2031-03-31')",
        [platform["user"]],
    )
    waiting = _rows_by_partition(conn)
    assert {partition for partition, _ in waiting} == {"analytics.user_events_default", "billing.usage_records_default"}

    this_month = datetime.now(UTC).date().replace(day=1)
    to_april_2031 = (2031 * 12 + 4) - (this_month.year * 12 + this_month.month)
    created = ensure_monthly_partitions(conn, months_ahead=to_april_2031)  # starts at the earliest waiting month
    assert created == [
        "analytics.user_events_y2031m03",
        "analytics.user_events_y2031m04",
        "billing.usage_records_y2031m03",
        "billing.usage_records_y2031m04",
    ]
    assert _rows_by_partition(conn) == [
        ("billing.usage_records_y2031m03", "ai_tokens"),
        ("analytics.user_events_default", "dec_far"),  # beyond the range: still accepted, still in DEFAULT
        ("analytics.user_events_y2031m03", "feb_late_ny"),
        ("analytics.user_events_y2031m04", "mar_evening_ny"),
        ("analytics.user_events_y2031m03", "mar_first"),
    ]
    assert ensure_monthly_partitions(conn, months_ahead=to_april_2031, start=date(2031, 3, 17)) == []


def test_partitions_start_skips_existing_months_and_defaults_to_this_month(conn: psycopg.Connection) -> None:
    created = ensure_monthly_partitions(conn, months_ahead=0, start=date(2023, 12, 31))
    this_month = datetime.now(UTC).date()
    months = (this_month.year * 12 + this_month.month) - (2023 * 12 + 12) + 1
    assert len(created) == 2 * (months - 1)  # every month but January 2024, which migration 0001 made
    assert created[:2] == ["analytics.user_events_y2023m12", "analytics.user_events_y2024m02"]
    next_month = f"{_add_month(this_month):y%Ym%m}"
    assert ensure_monthly_partitions(conn, months_ahead=1) == [
        f"analytics.user_events_{next_month}",
        f"billing.usage_records_{next_month}",
    ]


def test_partitions_inside_a_callers_open_transaction(source_url: str) -> None:
    last_month = _add_month(datetime.now(UTC).date(), -1)
    with psycopg.connect(source_url) as conn:
        conn.execute("select 1")  # the caller's transaction is open: ours become savepoints inside it
        created = ensure_monthly_partitions(conn, months_ahead=0, start=last_month)
        conn.commit()
        this_month = _add_month(last_month)
        assert created == [
            f"{schema_table}_{month:y%Ym%m}"
            for schema_table in ("analytics.user_events", "billing.usage_records")
            for month in (last_month, this_month)
        ]


def _add_month(day: date, count: int = 1) -> date:
    index = day.year * 12 + day.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def _connect_as(url: str, role: str) -> psycopg.Connection:
    return psycopg.connect(psycopg.conninfo.make_conninfo(url, user=role), autocommit=True)


def test_reader_selects_only_staged_columns_and_writes_nothing(
    source_url: str, conn: psycopg.Connection, platform: dict[str, uuid.UUID], make_role: Callable[[], str]
) -> None:
    reader = make_role()
    lines = grant_roles(conn, reader=reader, writer=None)
    assert lines[0].startswith(f"reader role {reader}: created, password ")
    assert lines[1] == (
        f"reader role {reader}: USAGE on ai_processing, analytics, billing, content, users; "
        "SELECT on 163 columns of 18 tables"
    )
    with _connect_as(source_url, reader) as as_reader:
        assert as_reader.execute("select count(*), min(tier) from users.users").fetchone() == (2, "free")
        assert as_reader.execute("select xmin::text::bigint > 0, id from users.users limit 1").fetchone()[0]
        assert as_reader.execute("select id, content, updated_at from content.chapters").fetchall() == []
        for statement in (
            "select password_hash from users.users",
            "select session_token from users.user_sessions",
            "select ip_address from analytics.user_events",
            "select * from content.projects",
            "select api_endpoint from ai_processing.ai_providers",
            "select * from system.app_settings",
            "insert into users.users (email) values ('x@example.com')",
            "insert into analytics.project_metrics (project_id, metrics_date) "
            f"values ('{platform['project']}', '2024-03-01')",
            "delete from content.content_statistics",
            "update users.users set tier = 'premium'",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                as_reader.execute(statement)


def test_writer_upserts_rollups_and_reads_only_what_the_write_back_needs(
    source_url: str,
    conn: psycopg.Connection,
    platform: dict[str, uuid.UUID],
    make_role: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writer = make_role()
    monkeypatch.setenv("EBOOK_ANALYTICS_WRITER_PASSWORD", "s3cret-from-env")
    assert grant_roles(conn, reader=None, writer=writer) == [
        f"writer role {writer}: created, password from EBOOK_ANALYTICS_WRITER_PASSWORD",
        f"writer role {writer}: SELECT, INSERT, UPDATE, DELETE on analytics.project_metrics, "
        "content.content_statistics only; SELECT on content.chapters(id, project_id, content, updated_at); "
        "content.projects(id); INSERT on system.background_jobs",
    ]
    conn.execute(
        "insert into content.chapters (project_id, position, content) values (%s, 1, 'Call me Ishmael.')",
        (platform["project"],),
    )
    upsert = """insert into analytics.project_metrics (project_id, metrics_date, total_words) values (%s, %s, %s)
                on conflict (project_id, metrics_date) do update set total_words = excluded.total_words"""
    with _connect_as(source_url, writer) as as_writer:
        as_writer.execute(upsert, (platform["project"], date(2024, 3, 1), 100))
        as_writer.execute(upsert, (platform["project"], date(2024, 3, 1), 250))
        as_writer.execute(
            "insert into content.content_statistics (content_id, content_type, word_count) values (%s, 'project', 250)",
            (platform["project"],),
        )
        # Alert jobs: it may add one to the platform's queue, never read, change or remove one.
        as_writer.execute(
            "insert into system.background_jobs (job_type, payload) values ('analytics_alert', '{\"rule\": \"r\"}')"
        )
        chapters = as_writer.execute(
            "select project_id, content from content.chapters where xmin::text::bigint > 0 "
            "and exists (select 1 from content.projects where projects.id = project_id)"
        )
        assert chapters.fetchall() == [(platform["project"], "Call me Ishmael.")]
        for statement in (
            "select id from users.users",
            "update users.users set tier = 'premium'",
            "insert into users.users (email) values ('x@example.com')",
            "select title from content.chapters",
            "update content.chapters set content = ''",
            "select title from content.projects",
            "delete from content.projects",
            "select id from ai_processing.ai_generations",
            "select payload from system.background_jobs",
            "update system.background_jobs set status = 'completed'",
            "delete from system.background_jobs",
            "select setting_key from system.app_settings",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                as_writer.execute(statement)
    jobs = conn.execute("select job_type, payload, status from system.background_jobs").fetchall()
    assert jobs == [("analytics_alert", {"rule": "r"}, "pending")]
    metrics = conn.execute("select metrics_date, total_words from analytics.project_metrics").fetchall()
    assert metrics == [(date(2024, 3, 1), 250)]
    # Re-running keeps the role, takes the configured password again, and grants the same.
    assert grant_roles(conn, reader=None, writer=writer)[0] == (
        f"writer role {writer}: exists, password set from EBOOK_ANALYTICS_WRITER_PASSWORD"
    )


@pytest.mark.parametrize(
    ("reader", "writer", "message"),
    [
        (
            "Robert'); drop table users.users; --",
            None,
            'role name "Robert\'); drop table users.users; --" is not allowed',
        ),
        ("same", "same", "the reader and the writer must be two different roles"),
        ("postgres", None, "role 'postgres' is a superuser or bypasses row security"),
    ],
)
def test_grant_refuses_bad_role_names(conn: psycopg.Connection, reader: str, writer: str | None, message: str) -> None:
    with pytest.raises(UserError) as raised:
        grant_roles(conn, reader=reader, writer=writer)
    assert str(raised.value).startswith(message)
