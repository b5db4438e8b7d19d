"""A hand-made subscription history for the revenue, revenue-share and margin metrics (issue 11).

Every figure tests/test_revenue_metrics.py expects is worked out by hand from these rows (the table in the module
docstring there). Times are UTC; month ends are read at the exclusive midnight that ends the month.

- Ann upgrades from the free plan to Pro Monthly (the free subscription is cancelled, a new one created).
- Bea's Basic trial converts on Feb 3; Cal's Pro trial lapses (cancelled at trial_end, Feb 8).
- Dan is past_due from the first load (MRR at risk); he pays again after it (the history keeps the past).
- Eve pays a yearly plan: 250.00 / 12 = 20.833333 a month.
- Fay churns in February and comes back in April on another plan: reactivation.
- Gus cancels Pro on Mar 25 and takes Basic on Apr 3, 9 days later: a plan change (contraction), never churn + new.
- Jo upgrades Basic -> Pro at one instant on Mar 10: expansion.
- Ida buys the one-time Lifetime plan: never MRR.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import psycopg

from tests.marts_dataset import uid

ANN, BEA, CAL, DAN, EVE, FAY, GUS, IDA, JO = (uid("user", n) for n in range(21, 30))
FREE, BASIC, PRO, PRO_YEARLY, LIFETIME = (uid("plan", n) for n in range(21, 26))
MODEL = uid("model", 21)

# (id, tier)
USERS = [
    (ANN, "premium"),
    (BEA, "basic"),
    (CAL, "basic"),
    (DAN, "basic"),
    (EVE, "enterprise"),
    (FAY, "basic"),
    (GUS, "premium"),
    (IDA, "free"),
    (JO, "premium"),
]

# (id, name, price, billing_cycle)
PLANS = [
    (FREE, "Free", "0.00", "monthly"),
    (BASIC, "Basic", "10.00", "monthly"),
    (PRO, "Pro", "30.00", "monthly"),
    (PRO_YEARLY, "Pro Yearly", "250.00", "yearly"),
    (LIFETIME, "Lifetime", "300.00", "one-time"),
]

# (n, user, plan, status, amount, created_at, trial_end, cancelled_at)
SUBSCRIPTIONS = [
    (1, ANN, FREE, "cancelled", "0.00", "2024-01-05 00:00+00", None, "2024-02-10 12:00+00"),
    (2, ANN, PRO, "active", "30.00", "2024-02-10 12:00+00", None, None),
    (3, BEA, BASIC, "active", "10.00", "2024-01-20 00:00+00", "2024-02-03 00:00+00", None),
    (4, CAL, PRO, "cancelled", "30.00", "2024-01-25 00:00+00", "2024-02-08 00:00+00", "2024-02-08 00:00+00"),
    (5, DAN, BASIC, "past_due", "10.00", "2024-01-10 00:00+00", None, None),
    (6, EVE, PRO_YEARLY, "active", "250.00", "2024-03-15 00:00+00", None, None),
    (7, FAY, BASIC, "cancelled", "10.00", "2024-01-02 00:00+00", None, "2024-02-15 00:00+00"),
    (8, FAY, PRO, "active", "30.00", "2024-04-10 00:00+00", None, None),
    (9, GUS, PRO, "cancelled", "30.00", "2024-01-08 00:00+00", None, "2024-03-25 00:00+00"),
    (10, GUS, BASIC, "active", "10.00", "2024-04-03 00:00+00", None, None),
    (11, IDA, LIFETIME, "active", "300.00", "2024-02-01 00:00+00", None, None),
    (12, JO, BASIC, "cancelled", "10.00", "2024-01-03 00:00+00", None, "2024-03-10 10:00+00"),
    (13, JO, PRO, "active", "30.00", "2024-03-10 10:00+00", None, None),
]

# (n, user, cost, created_at): Cal's is during his trial (plan Pro, no MRR)
GENERATIONS = [
    (1, BEA, "0.250000", "2024-02-20 10:00+00"),
    (2, CAL, "0.400000", "2024-02-02 10:00+00"),
    (3, ANN, "1.500000", "2024-03-05 10:00+00"),
]


def this_month() -> date:
    return datetime.now(UTC).date().replace(day=1)


def insert_revenue_platform(url: str) -> None:
    """Write the dataset into a freshly migrated platform database."""
    month = this_month()
    month_end = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.executemany(
            "insert into users.users (id, email, first_name, tier, created_at)"
            " values (%s, %s, %s, %s, '2024-01-01 00:00+00')",
            [(user, f"user{n}@example.com", f"User{n}", tier) for n, (user, tier) in enumerate(USERS)],
        )
        cur.executemany(
            "insert into billing.subscription_plans (id, name, price, billing_cycle) values (%s, %s, %s, %s)", PLANS
        )
        cur.executemany(
            "insert into billing.user_subscriptions (id, user_id, plan_id, status, amount, created_at, trial_end,"
            " cancelled_at, current_period_start, current_period_end)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s, %s::timestamptz, %s::timestamptz + interval '1 month')",
            [(uid("subscription", 20 + n), *rest, rest[4], rest[4]) for n, *rest in SUBSCRIPTIONS],
        )
        cur.execute("insert into ai_processing.ai_providers (id, name) values (%s, 'openai')", (uid("provider", 21),))
        cur.execute(
            "insert into ai_processing.ai_models (id, provider_id, name, version) values (%s, %s, 'model-r', '1')",
            (MODEL, uid("provider", 21)),
        )
        cur.executemany(
            "insert into ai_processing.ai_generations (id, user_id, model_id, prompt, status, tokens_used, cost,"
            " processing_time_ms, created_at, completed_at)"
            " values (%s, %s, %s, 'write', 'completed', 100, %s, 1000, %s, %s::timestamptz + interval '1 second')",
            [(uid("generation", 20 + n), user, MODEL, cost, at, at) for n, user, cost, at in GENERATIONS],
        )
        cur.execute(
            "insert into content.projects (id, owner_id, title, status, created_at)"
            " values (%s, %s, 'Ledger', 'published', '2024-01-01 00:00+00')",
            (uid("project", 21), ANN),
        )
        # February's statement has ended; this month's has not (partial).
        cur.executemany(
            "insert into billing.revenue_shares (id, user_id, project_id, book_sales, platform_commission_rate,"
            " user_revenue, platform_revenue, payout_status, revenue_period_start, revenue_period_end)"
            " values (%s, %s, %s, %s, 0.1500, %s, %s, 'pending', %s, %s)",
            [
                (uid("share", 21), ANN, uid("project", 21), "100.00", "85.00", "15.00", date(2024, 2, 1),
                 date(2024, 2, 29)),
                (uid("share", 22), ANN, uid("project", 21), "40.00", "34.00", "6.00", month,
                 date.fromordinal(month_end.toordinal() - 1)),
            ],
        )  # fmt: skip


def change_after_first_load(url: str) -> None:
    """Between two runs, today: Dan pays again and Ann moves to the enterprise tier; 2024 must not change."""
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("update billing.user_subscriptions set status = 'active' where id = %s", (uid("subscription", 25),))
        cur.execute("update users.users set tier = 'enterprise' where id = %s", (ANN,))
