"""A small hand-made platform history whose mart values are worked out by hand in tests/test_marts.py.

It exercises the edges: offset timestamps that fall on another UTC day ('2024-02-29 23:30:00-05' is 2024-03-01
UTC), NULL costs and word counts, pending and failed generations, quiet days, monthly/yearly/one-time plans, an
incomplete and two cancelled subscriptions, revenue shares in every payout status over several periods, anonymous
events and a chapter with several versions across days.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg

from tests.conftest import cli_environment, run_cli


def uid(kind: str, n: int) -> uuid.UUID:
    """Readable fixed ids: uid('user', 1) is a0000000-...-000000000001 (one hex prefix per kind)."""
    prefix = {
        "user": "a",
        "provider": "b",
        "model": "c",
        "generation": "d",
        "plan": "e",
        "subscription": "f",
        "usage": "1",
        "project": "2",
        "chapter": "3",
        "version": "4",
        "share": "5",
        "event": "6",
        "session": "7",
    }[kind]
    return uuid.UUID(f"{prefix}0000000-0000-0000-0000-{n:012d}")


ALICE, BOB, CAROL, DAVE = (uid("user", n) for n in (1, 2, 3, 4))
LONG_NIGHT, SEA_GLASS, UNTITLED, DRAGONS = (uid("project", n) for n in (1, 2, 3, 4))
PRO_MONTHLY, PRO_YEARLY, LIFETIME = (uid("plan", n) for n in (1, 2, 3))

# (id, email, first_name, last_name, tier, created_at)
USERS = [
    (ALICE, "alice@example.com", "Alice", "Smith", "premium", "2024-02-26 10:00:00+00"),  # Monday
    (BOB, "bob@example.com", "Bob", "Brown", "basic", "2024-02-29 23:30:00-05"),  # 2024-03-01 04:30 UTC
    (CAROL, "carol@example.com", "Carol", "Jones", "free", "2024-03-03 20:00:00-05"),  # Mon 2024-03-04 01:00 UTC
    (DAVE, "dave@example.com", "Dave", "Lee", "enterprise", "2024-03-05 00:00:00+00"),
]

PROVIDERS = [(uid("provider", 1), "openai"), (uid("provider", 2), "anthropic")]

# (id, provider, name, version): two versions of gpt-4 are one model in the marts.
MODELS = [
    (uid("model", 1), uid("provider", 1), "gpt-4", "0613"),
    (uid("model", 2), uid("provider", 1), "gpt-4", "1106"),
    (uid("model", 3), uid("provider", 2), "claude-3", "opus"),
]

# (n, user, model n, status, tokens_used, cost, processing_time_ms, quality_rating, created_at)
GENERATIONS = [
    (1, ALICE, 1, "completed", 1000, "0.030000", 1000, 4, "2024-03-01 10:00:00+00"),
    (2, ALICE, 1, "completed", 500, "0.015000", 3000, None, "2024-03-01 23:30:00-05"),  # 2024-03-02 UTC
    (3, BOB, 2, "completed", 200, "0.006000", 2000, 5, "2024-03-01 12:00:00+00"),
    (4, BOB, 1, "failed", None, None, 9000, None, "2024-03-01 13:00:00+00"),
    (5, ALICE, 1, "pending", None, None, None, None, "2024-03-01 14:00:00+00"),
    (6, CAROL, 3, "completed", 300, "0.004500", 1500, 3, "2024-03-02 01:00:00+00"),
    (7, ALICE, 3, "completed", 100, None, 500, 2, "2024-02-29 20:00:00-05"),  # 2024-03-01 01:00 UTC
    (8, ALICE, 3, "completed", 50, "0.001000", 700, None, "2024-02-15 10:00:00+00"),
]

# (id, name, price, billing_cycle, ai_tokens_included, projects_limit)
PLANS = [
    (PRO_MONTHLY, "Pro Monthly", "20.00", "monthly", 1000, 5),
    (PRO_YEARLY, "Pro Yearly", "200.00", "yearly", 2000, 20),
    (LIFETIME, "Lifetime", "300.00", "one-time", 0, 10),
]

# (n, user, plan, status, amount, created_at, cancelled_at)
SUBSCRIPTIONS = [
    (1, ALICE, PRO_MONTHLY, "active", "20.00", "2024-02-10 00:00:00+00", None),
    (2, BOB, PRO_YEARLY, "active", "200.00", "2024-02-29 23:30:00-05", None),  # March UTC
    (3, CAROL, PRO_MONTHLY, "cancelled", "20.00", "2024-01-15 00:00:00+00", "2024-03-31 22:00:00-05"),  # Apr 1 UTC
    (4, DAVE, LIFETIME, "active", "300.00", "2024-03-05 00:00:00+00", None),
    (5, DAVE, PRO_MONTHLY, "incomplete", "20.00", "2024-03-06 00:00:00+00", None),
    (6, DAVE, PRO_MONTHLY, "cancelled", "20.00", "2024-03-01 00:00:00+00", "2024-03-04 00:00:00+00"),
]

# (n, user, subscription n, resource_type, quantity, total_cost, usage_date)
USAGE = [
    (1, ALICE, 1, "ai_tokens", 1000, "0.02", "2024-03-01"),
    (2, ALICE, 1, "ai_tokens", 600, None, "2024-03-01"),
    (3, ALICE, 1, "exports", 2, "1.50", "2024-03-01"),
    (4, BOB, 2, "ai_tokens", 200, "0.00", "2024-03-02"),
    (5, ALICE, 1, "ai_tokens", 50, "0.01", "2024-02-15"),
    (6, CAROL, 3, "ai_tokens", 300, "0.01", "2024-03-31"),
    (7, CAROL, 3, "ai_tokens", 100, "0.00", "2024-04-01"),
    (8, DAVE, 4, "exports", 1, "0.50", "2024-02-20"),  # before any subscription of Dave's: no plan that month
]

# (id, owner, title, genre, status, created_at, completed_at, published_at)
PROJECTS = [
    (
        LONG_NIGHT,
        ALICE,
        "The Long Night",
        "fantasy",
        "published",
        "2024-02-26 12:00:00+00",
        "2024-03-05 12:00:00+00",
        "2024-03-08 00:00:00+00",
    ),
    (SEA_GLASS, ALICE, "Sea Glass", "romance", "in_progress", "2024-03-01 00:00:00+00", None, None),
    (UNTITLED, BOB, "Untitled", None, "draft", "2024-02-29 22:00:00-05", None, None),  # 2024-03-01 UTC
    (
        DRAGONS,
        CAROL,
        "Dragons Rising",
        "fantasy",
        "completed",
        "2024-03-02 00:00:00+00",
        "2024-03-10 00:00:00+00",
        None,
    ),
]

# (n, project, position, created_at)
CHAPTERS = [
    (1, LONG_NIGHT, 1, "2024-02-27 00:00:00+00"),
    (2, LONG_NIGHT, 2, "2024-03-01 12:00:00+00"),
    (3, SEA_GLASS, 1, "2024-03-02 00:00:00+00"),
    (4, DRAGONS, 1, "2024-03-05 00:00:00+00"),
]

# (n, chapter n, version_number, word_count, created_at, change_type)
VERSIONS = [
    (1, 1, 1, 100, "2024-02-27 10:00:00+00", "manual"),
    (2, 1, 2, 250, "2024-02-27 22:00:00-05", "ai_generation"),  # 2024-02-28 03:00 UTC
    (3, 1, 3, 300, "2024-02-28 12:00:00+00", "manual"),
    (4, 2, 1, 500, "2024-03-01 12:00:00+00", "ai_generation"),
    (5, 1, 4, 280, "2024-03-01 13:00:00+00", "collaboration"),
    (6, 1, 5, 320, "2024-03-03 09:00:00+00", "ai_revision"),
    (7, 3, 1, 1000, "2024-03-02 00:00:00+00", "manual"),
    (8, 4, 1, 50, "2024-03-05 00:00:00+00", "manual"),
    (9, 4, 2, 70, "2024-03-05 00:00:00+00", "manual"),  # same instant as version 1: the higher version wins
]

# (n, author, project, book_sales, rate, user_revenue, platform_revenue, payout_status, payout_date, start, end)
REVENUE_SHARES = [
    (
        1,
        ALICE,
        LONG_NIGHT,
        "100.00",
        "0.1000",
        "90.00",
        "10.00",
        "paid",
        "2024-03-14 21:00:00-05",
        "2024-02-01",
        "2024-02-29",
    ),
    (2, ALICE, SEA_GLASS, "55.55", "0.1500", "47.22", "8.33", "pending", None, "2024-02-01", "2024-02-29"),
    (3, CAROL, DRAGONS, "19.99", "0.1000", "17.99", "2.00", "processing", None, "2024-02-01", "2024-02-29"),
    (4, ALICE, LONG_NIGHT, "200.00", "0.1000", "180.00", "20.00", "failed", None, "2024-03-01", "2024-03-31"),
    (5, BOB, UNTITLED, "0.00", "0.1000", "0.00", "0.00", "pending", None, "2024-03-01", "2024-03-31"),
    (
        6,
        CAROL,
        DRAGONS,
        "10.01",
        "0.1000",
        "9.01",
        "1.00",
        "paid",
        "2024-06-10 00:00:00+00",
        "2024-05-01",
        "2024-05-31",
    ),
]

# (n, user or None for anonymous, event_type, timestamp, event_category)
EVENTS = [
    (1, ALICE, "page_view", "2024-02-26 10:00:00+00", "session"),
    (2, ALICE, "page_view", "2024-02-29 23:30:00-05", "writing"),  # 2024-03-01 UTC
    (3, BOB, "page_view", "2024-03-01 09:00:00+00", "writing"),
    (4, None, "page_view", "2024-03-01 10:00:00+00", None),
    (5, ALICE, "page_view", "2024-03-01 11:00:00+00", "writing"),
    (6, CAROL, "page_view", "2024-03-04 12:00:00+00", "session"),
    (7, ALICE, "page_view", "2024-03-05 08:00:00+00", None),
    (8, None, "page_view", "2024-03-05 09:00:00+00", None),
    (9, BOB, "page_view", "2024-03-12 10:00:00+00", "writing"),
    (10, CAROL, "page_view", "2024-04-05 10:00:00+00", "session"),
    (90, ALICE, "chapter_edit", "2024-03-01 12:30:00+00", "writing"),  # between her two versions that day
]

# (n, user, created_at: the sign-in) and the events recorded in each session (event n, session n):
# session 1 lasts 10 minutes (10:50 -> event 5 at 11:00), session 2 one minute (11:59 -> event 6 at 12:00).
SESSIONS = [(1, ALICE, "2024-03-01 10:50:00+00"), (2, CAROL, "2024-03-04 11:59:00+00")]
SESSION_EVENTS = [(5, 1), (6, 2)]


def insert_platform_data(url: str) -> None:
    """Write the dataset into a freshly migrated platform database."""
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.executemany(
            "insert into users.users (id, email, first_name, last_name, tier, created_at)"
            " values (%s, %s, %s, %s, %s, %s)",
            USERS,
        )
        cur.executemany("insert into ai_processing.ai_providers (id, name) values (%s, %s)", PROVIDERS)
        cur.executemany(
            "insert into ai_processing.ai_models (id, provider_id, name, version) values (%s, %s, %s, %s)", MODELS
        )
        cur.executemany(
            "insert into ai_processing.ai_generations (id, user_id, model_id, prompt, status, tokens_used, cost,"
            " processing_time_ms, quality_rating, created_at) values (%s, %s, %s, 'write', %s, %s, %s, %s, %s, %s)",
            [(uid("generation", n), user, uid("model", model), *rest) for n, user, model, *rest in GENERATIONS],
        )
        cur.execute(
            "update ai_processing.ai_generations set completed_at = created_at + processing_time_ms * interval '1 ms'"
            " where status = 'completed'"
        )
        cur.executemany(
            "insert into billing.subscription_plans (id, name, price, billing_cycle, ai_tokens_included,"
            " projects_limit) values (%s, %s, %s, %s, %s, %s)",
            PLANS,
        )
        cur.executemany(
            "insert into billing.user_subscriptions (id, user_id, plan_id, status, amount, created_at, cancelled_at,"
            " current_period_start, current_period_end)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s::timestamptz, %s::timestamptz + interval '1 month')",
            [(uid("subscription", n), *rest, rest[4], rest[4]) for n, *rest in SUBSCRIPTIONS],
        )
        cur.executemany(
            "insert into billing.usage_records (id, user_id, subscription_id, resource_type, quantity, total_cost,"
            " usage_date) values (%s, %s, %s, %s, %s, %s, %s)",
            [(uid("usage", n), user, uid("subscription", sub), *rest) for n, user, sub, *rest in USAGE],
        )
        cur.executemany(
            "insert into content.projects (id, owner_id, title, genre, status, created_at, completed_at, published_at)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s)",
            PROJECTS,
        )
        cur.executemany(
            "insert into content.chapters (id, project_id, position, created_at) values (%s, %s, %s, %s)",
            [(uid("chapter", n), *rest) for n, *rest in CHAPTERS],
        )
        cur.executemany(
            "insert into content.content_versions (id, chapter_id, version_number, word_count, created_at, change_type,"
            " content, changed_by) values (%s, %s, %s, %s, %s, %s, 'text', %s)",
            [(uid("version", n), uid("chapter", chapter), *rest, ALICE) for n, chapter, *rest in VERSIONS],
        )
        cur.executemany(
            "insert into billing.revenue_shares (id, user_id, project_id, book_sales, platform_commission_rate,"
            " user_revenue, platform_revenue, payout_status, payout_date, revenue_period_start, revenue_period_end)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(uid("share", n), *rest) for n, *rest in REVENUE_SHARES],
        )
        cur.executemany(
            "insert into analytics.user_events (id, user_id, event_type, timestamp, event_category)"
            " values (%s, %s, %s, %s, %s)",
            [(uid("event", n), *rest) for n, *rest in EVENTS],
        )
        cur.executemany(
            "insert into users.user_sessions (id, user_id, session_token, created_at, expires_at)"
            " values (%s, %s, %s, %s, %s::timestamptz + interval '1 day')",
            [(uid("session", n), user, f"token-{n}", at, at) for n, user, at in SESSIONS],
        )
        cur.executemany(
            "update analytics.user_events set session_id = %s where id = %s",
            [(uid("session", session), uid("event", event)) for event, session in SESSION_EVENTS],
        )


def publish_platform_data(source_url: str, directory: Path) -> dict[str, str]:
    """Insert the dataset into `source_url` and publish it with `etl run --full`; returns the CLI environment."""
    insert_platform_data(source_url)
    env = cli_environment(directory, source_url)
    run_cli("etl", "run", "--full", env=env)
    return env
