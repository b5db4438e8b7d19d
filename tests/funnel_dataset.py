"""A hand-made platform for the writing-milestone funnel (issue 16 item 1); every figure tests/test_milestone_funnel.py
expects is worked out by hand there from these rows. Times are UTC unless offset.

- Una (basic; google, then a password added later; Pro, then Basic) signs up 2024-03-01 22:00 and reaches every
  milestone, two of them across UTC midnight: project 23:30 (+1.5 h), chapter 03-02 01:00 (+1.5 h), a failed
  generation 02:00 (no milestone) then a completed one 03:00 (+2 h), chapter completed by its last version
  03-03 07:00 (+28 h), export 03-04 00:30 (+17.5 h), book published 03-10 00:00 (+143.5 h), first statement with
  sales issued 04-05 00:00 (+624 h). A second project, never published, changes none of her firsts.
- Vic (free; password; no plan) signs up '2024-03-31 21:00-05' = 04-01 02:00 UTC (cohort 2024-04), project 03:00
  (+1 h), then skips the chapter: a completed generation on the project 05:00 and an export 04-02 10:00.
- Wes (premium; github primary and apple at the same moment; Basic) signs up 03-15 12:00: project 13:00 (+1 h),
  chapter 23:00 (+10 h), generation 03-16 00:30 (+1.5 h), an export 03-17 but no completed chapter, and a statement
  with no sales (0.00: no sale).
- Xan (free; no auth method; no plan) signs up 03-20 10:00 and only has a failed generation.
- Yul has no created_at (NULL): no sign-up, in no funnel. An anonymous export (NULL user) is nobody's.
"""

from __future__ import annotations

import psycopg

from tests.marts_dataset import uid

UNA, VIC, WES, XAN, YUL = (uid("user", n) for n in (61, 62, 63, 64, 65))
ATLAS, SKETCH, ROUGH, NOTES = (uid("project", n) for n in (61, 62, 63, 64))
PRO, BASIC = uid("plan", 61), uid("plan", 62)
MODEL = uid("model", 61)

# (id, email, tier, created_at)
USERS = [
    (UNA, "una@example.com", "basic", "2024-03-01 22:00+00"),
    (VIC, "vic@example.com", "free", "2024-03-31 21:00-05"),
    (WES, "wes@example.com", "premium", "2024-03-15 12:00+00"),
    (XAN, "xan@example.com", "free", "2024-03-20 10:00+00"),
    (YUL, "yul@example.com", "free", None),
]

# (user, method, is_primary, created_at)
AUTH_METHODS = [
    (UNA, "google", True, "2024-03-01 22:00+00"),
    (UNA, "password", False, "2024-03-05 09:00+00"),
    (VIC, "password", True, "2024-04-01 02:00+00"),
    (WES, "apple", False, "2024-03-15 12:00+00"),
    (WES, "github", True, "2024-03-15 12:00+00"),
]

PLANS = [(PRO, "Pro", "30.00", "monthly"), (BASIC, "Basic", "10.00", "monthly")]

# (n, user, plan, created_at)
SUBSCRIPTIONS = [
    (61, UNA, PRO, "2024-03-02 08:00+00"),
    (62, UNA, BASIC, "2024-04-02 08:00+00"),
    (63, WES, BASIC, "2024-03-16 08:00+00"),
]

# (id, owner, title, status, created_at, published_at)
PROJECTS = [
    (ATLAS, UNA, "Atlas", "published", "2024-03-01 23:30+00", "2024-03-10 00:00+00"),
    (SKETCH, UNA, "Sketch", "draft", "2024-03-05 10:00+00", None),
    (ROUGH, VIC, "Rough", "draft", "2024-03-31 22:00-05", None),
    (NOTES, WES, "Notes", "in_progress", "2024-03-15 13:00+00", None),
]

# (n, project, position, status, created_at, updated_at)
CHAPTERS = [
    (61, ATLAS, 1, "completed", "2024-03-02 01:00+00", "2024-03-03 07:00+00"),
    (62, SKETCH, 1, "draft", "2024-03-05 11:00+00", "2024-03-05 11:00+00"),
    (63, NOTES, 1, "in_progress", "2024-03-15 23:00+00", "2024-03-16 09:00+00"),
]

# (n, chapter n, version_number, author, created_at)
VERSIONS = [
    (61, 61, 1, UNA, "2024-03-02 01:00+00"),
    (62, 61, 2, UNA, "2024-03-03 07:00+00"),
    (63, 63, 1, WES, "2024-03-16 09:00+00"),
]

# (n, user, project, chapter n, status, created_at)
GENERATIONS = [
    (61, UNA, ATLAS, 61, "failed", "2024-03-02 02:00+00"),
    (62, UNA, ATLAS, 61, "completed", "2024-03-02 03:00+00"),
    (63, VIC, ROUGH, None, "completed", "2024-04-01 05:00+00"),
    (64, WES, NOTES, 63, "completed", "2024-03-16 00:30+00"),
    (65, XAN, None, None, "failed", "2024-03-21 10:00+00"),
]

# (n, user, event_type, timestamp)
EVENTS = [
    (61, UNA, "export", "2024-03-04 00:30+00"),
    (62, UNA, "export", "2024-03-06 10:00+00"),
    (63, VIC, "export", "2024-04-02 10:00+00"),
    (64, WES, "export", "2024-03-17 10:00+00"),
    (65, None, "export", "2024-03-01 00:00+00"),
    (66, XAN, "page_view", "2024-03-20 10:05+00"),
]

# (n, user, project, book_sales, period start, period end, created_at)
REVENUE_SHARES = [
    (61, UNA, ATLAS, "25.00", "2024-03-01", "2024-03-31", "2024-04-05 00:00+00"),
    (62, UNA, ATLAS, "40.00", "2024-04-01", "2024-04-30", "2024-05-05 00:00+00"),
    (63, WES, NOTES, "0.00", "2024-03-01", "2024-03-31", "2024-04-05 00:00+00"),
]


def insert_funnel_platform(url: str) -> None:
    """Write the dataset into a freshly migrated platform database."""
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.executemany("insert into users.users (id, email, tier, created_at) values (%s, %s, %s, %s)", USERS)
        cur.executemany(
            "insert into users.user_auth_methods (user_id, method_type, is_primary, created_at)"
            " values (%s, %s, %s, %s)",
            AUTH_METHODS,
        )
        cur.executemany(
            "insert into billing.subscription_plans (id, name, price, billing_cycle) values (%s, %s, %s, %s)", PLANS
        )
        cur.executemany(
            "insert into billing.user_subscriptions (id, user_id, plan_id, status, amount, created_at,"
            " current_period_start, current_period_end)"
            " values (%s, %s, %s, 'active', 10.00, %s, %s::timestamptz, %s::timestamptz + interval '1 month')",
            [(uid("subscription", n), user, plan, at, at, at) for n, user, plan, at in SUBSCRIPTIONS],
        )
        cur.executemany(
            "insert into content.projects (id, owner_id, title, status, created_at, published_at)"
            " values (%s, %s, %s, %s, %s, %s)",
            PROJECTS,
        )
        cur.executemany(
            "insert into content.chapters (id, project_id, position, status, created_at, updated_at)"
            " values (%s, %s, %s, %s, %s, %s)",
            [(uid("chapter", n), *rest) for n, *rest in CHAPTERS],
        )
        cur.executemany(
            "insert into content.content_versions (id, chapter_id, version_number, changed_by, created_at, content)"
            " values (%s, %s, %s, %s, %s, 'text')",
            [(uid("version", n), uid("chapter", chapter), *rest) for n, chapter, *rest in VERSIONS],
        )
        cur.execute("insert into ai_processing.ai_providers (id, name) values (%s, 'openai')", (uid("provider", 61),))
        cur.execute(
            "insert into ai_processing.ai_models (id, provider_id, name, version) values (%s, %s, 'model-f', '1')",
            (MODEL, uid("provider", 61)),
        )
        cur.executemany(
            "insert into ai_processing.ai_generations (id, user_id, project_id, chapter_id, model_id, prompt, status,"
            " tokens_used, cost, processing_time_ms, created_at, completed_at)"
            " values (%s, %s, %s, %s, %s, 'write', %s, 100, 0.010000, 1000, %s, %s::timestamptz + interval '1 second')",
            [
                (uid("generation", n), user, project, chapter and uid("chapter", chapter), MODEL, status, at, at)
                for n, user, project, chapter, status, at in GENERATIONS
            ],
        )
        cur.executemany(
            "insert into analytics.user_events (id, user_id, event_type, event_category, timestamp)"
            " values (%s, %s, %s, 'writing', %s)",
            [(uid("event", n), *rest) for n, *rest in EVENTS],
        )
        cur.executemany(
            "insert into billing.revenue_shares (id, user_id, project_id, book_sales, platform_commission_rate,"
            " user_revenue, platform_revenue, payout_status, revenue_period_start, revenue_period_end, created_at)"
            " values (%s, %s, %s, %s, 0.1000, %s::numeric * 0.9, %s::numeric * 0.1, 'pending', %s, %s, %s)",
            [
                (uid("share", n), user, project, sales, sales, sales, *rest)
                for n, user, project, sales, *rest in REVENUE_SHARES
            ],
        )
