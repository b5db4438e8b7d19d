"""A hand-made history for the Unit economics page and marts (issue 15 item 1); every figure
tests/test_unit_economics.py expects is worked out by hand there from these rows. Times are UTC unless offset.

- Ana (Pro, 30.00 a month, live at the ends of January, February and March 2024) writes Atlas (fantasy, published
  2024-02-15) and Draft (mystery, never published); Cy, a collaborator without a plan, generates on Atlas through a
  chapter only (the generation names no project).
- Bo (Basic, 10.00 a month, live at the ends of February and March) writes Beacon (fantasy, published
  '2024-03-31 23:30-05', i.e. 2024-04-01 UTC: cohort 2024-04) and Bridge (mystery, published 2024-01-20).
- Generations on both sides of the UTC month boundary: '2024-01-31 23:59:59+00' is January, '2024-01-31 20:30-05'
  and '2024-01-31 19:30-05' are February 1 UTC. Ana, Bo and Cy each have a generation tied to no book.
"""

from __future__ import annotations

import psycopg

from tests.marts_dataset import uid

ANA, BO, CY = (uid("user", n) for n in (41, 42, 43))
ATLAS, DRAFT, BEACON, BRIDGE = (uid("project", n) for n in (41, 42, 43, 44))
PRO, BASIC = uid("plan", 41), uid("plan", 42)
MODEL = uid("model", 41)

# (id, email, first_name, last_name)
USERS = [
    (ANA, "ana@example.com", "Ana", "Reed"),
    (BO, "bo@example.com", "Bo", "Stone"),
    (CY, "cy@example.com", "Cy", "Park"),
]

PLANS = [(PRO, "Pro", "30.00", "monthly"), (BASIC, "Basic", "10.00", "monthly")]

# (n, user, plan, amount, created_at, cancelled_at): cancelled, so the months counted do not depend on today
SUBSCRIPTIONS = [
    (41, ANA, PRO, "30.00", "2024-01-10 00:00+00", "2024-04-10 00:00+00"),
    (42, BO, BASIC, "10.00", "2024-02-05 00:00+00", "2024-04-20 00:00+00"),
]

# (id, owner, title, genre, status, published_at)
PROJECTS = [
    (ATLAS, ANA, "Atlas", "fantasy", "published", "2024-02-15 12:00+00"),
    (DRAFT, ANA, "Draft", "mystery", "in_progress", None),
    (BEACON, BO, "Beacon", "fantasy", "published", "2024-03-31 23:30-05"),
    (BRIDGE, BO, "Bridge", "mystery", "published", "2024-01-20 09:00+00"),
]

# (n, project, position, word_count): Bridge has no chapter; a NULL word count counts 0
CHAPTERS = [
    (41, ATLAS, 1, 1200),
    (42, ATLAS, 2, 800),
    (43, DRAFT, 1, 500),
    (44, BEACON, 1, 3000),
    (45, BEACON, 2, None),
]

# (n, user, project, chapter n, status, tokens, cost, created_at)
GENERATIONS = [
    (41, ANA, ATLAS, 41, "completed", 1000, "2.000000", "2024-01-31 23:59:59+00"),  # January
    (42, ANA, ATLAS, None, "completed", 800, "1.500000", "2024-01-31 20:30:00-05"),  # February 1 01:30 UTC
    (43, CY, None, 42, "completed", 200, "0.500000", "2024-02-10 10:00:00+00"),  # Atlas through its chapter
    (44, ANA, DRAFT, 43, "completed", 1500, "3.250000", "2024-02-20 10:00:00+00"),
    (45, ANA, None, None, "completed", 300, "0.750000", "2024-03-05 10:00:00+00"),  # no book
    (46, BO, BEACON, 44, "completed", 2000, "4.000000", "2024-01-15 10:00:00+00"),
    (47, BO, BEACON, 44, "failed", None, None, "2024-02-02 10:00:00+00"),  # counts, costs 0
    (48, BO, BRIDGE, None, "completed", 400, "0.800000", "2024-01-31 19:30:00-05"),  # February 1 00:30 UTC
    (49, BO, None, None, "completed", 50, "0.125000", "2024-03-31 23:00:00+00"),  # no book
    (50, CY, None, None, "completed", 10, "0.010000", "2024-02-29 10:00:00+00"),  # no book
]

# (n, author, project, book_sales, rate, author share, platform share, payout status, period start, period end)
REVENUE_SHARES = [
    (41, ANA, ATLAS, "20.00", "0.1000", "18.00", "2.00", "paid", "2024-02-01", "2024-02-29"),
    (42, ANA, ATLAS, "30.00", "0.1000", "27.00", "3.00", "pending", "2024-03-01", "2024-03-31"),
    (43, BO, BEACON, "50.00", "0.1500", "42.50", "7.50", "pending", "2024-04-01", "2024-04-30"),
    (44, BO, BRIDGE, "10.00", "0.1000", "9.00", "1.00", "paid", "2024-01-01", "2024-01-31"),
    (45, BO, BRIDGE, "12.34", "0.1000", "11.11", "1.23", "failed", "2024-03-01", "2024-03-31"),
]


def insert_economics_platform(url: str) -> None:
    """Write the dataset into a freshly migrated platform database."""
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.executemany(
            "insert into users.users (id, email, first_name, last_name, tier, created_at)"
            " values (%s, %s, %s, %s, 'basic', '2024-01-01 00:00+00')",
            USERS,
        )
        cur.executemany(
            "insert into billing.subscription_plans (id, name, price, billing_cycle) values (%s, %s, %s, %s)", PLANS
        )
        cur.executemany(
            "insert into billing.user_subscriptions (id, user_id, plan_id, status, amount, created_at, cancelled_at,"
            " current_period_start, current_period_end)"
            " values (%s, %s, %s, 'cancelled', %s, %s, %s, %s::timestamptz, %s::timestamptz + interval '1 month')",
            [(uid("subscription", n), *rest, rest[3], rest[3]) for n, *rest in SUBSCRIPTIONS],
        )
        cur.executemany(
            "insert into content.projects (id, owner_id, title, genre, status, created_at, published_at)"
            " values (%s, %s, %s, %s, %s, '2024-01-01 00:00+00', %s)",
            PROJECTS,
        )
        cur.executemany(
            "insert into content.chapters (id, project_id, position, word_count, created_at)"
            " values (%s, %s, %s, %s, '2024-01-02 00:00+00')",
            [(uid("chapter", n), *rest) for n, *rest in CHAPTERS],
        )
        cur.execute("insert into ai_processing.ai_providers (id, name) values (%s, 'openai')", (uid("provider", 41),))
        cur.execute(
            "insert into ai_processing.ai_models (id, provider_id, name, version) values (%s, %s, 'model-e', '1')",
            (MODEL, uid("provider", 41)),
        )
        cur.executemany(
            "insert into ai_processing.ai_generations (id, user_id, project_id, chapter_id, model_id, prompt, status,"
            " tokens_used, cost, processing_time_ms, created_at) values (%s, %s, %s, %s, %s, 'write', %s, %s, %s,"
            " 1000, %s)",
            [
                (uid("generation", n), user, project, chapter and uid("chapter", chapter), MODEL, *rest)
                for n, user, project, chapter, *rest in GENERATIONS
            ],
        )
        cur.execute(
            "update ai_processing.ai_generations set completed_at = created_at + interval '1 second'"
            " where status = 'completed'"
        )
        cur.executemany(
            "insert into billing.revenue_shares (id, user_id, project_id, book_sales, platform_commission_rate,"
            " user_revenue, platform_revenue, payout_status, revenue_period_start, revenue_period_end)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(uid("share", n), *rest) for n, *rest in REVENUE_SHARES],
        )
        cur.execute(
            "update billing.revenue_shares set payout_date = revenue_period_end + interval '10 days'"
            " where payout_status = 'paid'"
        )
