"""Every mart, on the hand-made history of tests/marts_dataset.py, published by the real `etl run`.

Expected values are worked out by hand (the comments show the arithmetic). Months and weeks that run up to the
snapshot depend on the day the test runs, so those tails are built from the published snapshot date.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import duckdb
import psycopg
import pytest

from pipelines import warehouse
from pipelines.metrics.query import query_metrics
from pipelines.queries import sql_file
from pipelines.run.etl import model_parameters
from pipelines.transform.contracts import load_contracts
from pipelines.transform.runner import load_models
from tests.conftest import copy_published, run_cli
from tests.marts_dataset import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    DRAGONS,
    LONG_NIGHT,
    SEA_GLASS,
    UNTITLED,
    uid,
)

D = Decimal


@pytest.fixture(scope="module")
def con(published_dataset: dict[str, str]) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = warehouse.connect(published_dataset["EBOOK_ANALYTICS_WAREHOUSE"], read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def snapshot_date(con: duckdb.DuckDBPyConnection) -> date:
    return con.execute("select snapshot_at::date from meta.publication").fetchone()[0]


def rows(con: duckdb.DuckDBPyConnection, query: str) -> list[tuple]:
    return con.execute(query).fetchall()


def report(con: duckdb.DuckDBPyConnection, name: str, **params: object) -> list[tuple]:
    """The rows of the dashboards' report `queries/reports/<name>.sql` with these parameters bound."""
    return con.execute(sql_file(f"reports/{name}"), params).fetchall()


def months(first: date, last: date) -> list[date]:
    """First days of the months from `first` to `last`, both included."""
    result, month = [], first.replace(day=1)
    while month <= last:
        result.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return result


def test_ai_cost_daily(con):
    assert rows(con, "select * from marts.ai_cost_daily order by day, provider, model") == [
        # generation 8 only; not rated
        (date(2024, 2, 15), "anthropic", "claude-3", 1, 1, 0, 50, D("0.001000"), 700.0, 700.0, None),
        # generation 7 ('2024-02-29 20:00-05' is March 1 UTC): NULL cost counts as 0
        (date(2024, 3, 1), "anthropic", "claude-3", 1, 1, 0, 100, D("0.000000"), 500.0, 500.0, 2.0),
        # generations 1, 3 (gpt-4 version 1106, same model name), 4 (failed), 5 (pending):
        # tokens 1000 + 200 = 1200; cost 0.03 + 0.006 = 0.036; completed latencies [1000, 2000]:
        # p50 = 1500, p95 = 1000 + 0.95 * 1000 = 1950 (the failed one's 9000 ms is left out); rating (4 + 5) / 2
        (date(2024, 3, 1), "openai", "gpt-4", 4, 2, 1, 1200, D("0.036000"), 1500.0, 1950.0, 4.5),
        (date(2024, 3, 2), "anthropic", "claude-3", 1, 1, 0, 300, D("0.004500"), 1500.0, 1500.0, 3.0),
        # generation 2: '2024-03-01 23:30-05' is March 2 UTC
        (date(2024, 3, 2), "openai", "gpt-4", 1, 1, 0, 500, D("0.015000"), 3000.0, 3000.0, None),
    ]


def test_usage_daily(con):
    # plan: plan_utilization_monthly's plan of the day's month (Alice Pro Monthly from February, Bob Pro Yearly from
    # March, Carol Pro Monthly through April 1 UTC); Dave's February has no live subscription
    assert rows(con, "select * from marts.usage_daily order by day, user_id, resource_type") == [
        (date(2024, 2, 15), ALICE, "ai_tokens", "premium", "Pro Monthly", 50, D("0.01")),
        (date(2024, 2, 20), DAVE, "exports", "enterprise", "(no plan)", 1, D("0.50")),
        (date(2024, 3, 1), ALICE, "ai_tokens", "premium", "Pro Monthly", 1600, D("0.02")),  # 1000 + 600; NULL as 0
        (date(2024, 3, 1), ALICE, "exports", "premium", "Pro Monthly", 2, D("1.50")),
        (date(2024, 3, 2), BOB, "ai_tokens", "basic", "Pro Yearly", 200, D("0.00")),
        (date(2024, 3, 31), CAROL, "ai_tokens", "free", "Pro Monthly", 300, D("0.01")),
        (date(2024, 4, 1), CAROL, "ai_tokens", "free", "Pro Monthly", 100, D("0.00")),
    ]


def test_ai_models(con):
    assert rows(con, "select * from marts.ai_models order by model_id") == [
        (uid("model", 1), "openai", "gpt-4"),
        (uid("model", 2), "openai", "gpt-4"),  # another version: the same model name
        (uid("model", 3), "anthropic", "claude-3"),
    ]


def test_ai_writer_days(con):
    assert rows(con, "select * from marts.ai_writer_days order by day, user_id, provider, model") == [
        (date(2024, 2, 15), ALICE, "anthropic", "claude-3", 1, D("0.001000")),  # generation 8
        (date(2024, 3, 1), ALICE, "anthropic", "claude-3", 1, D("0.000000")),  # 7 ('Feb 29 20:00-05'), NULL cost
        (date(2024, 3, 1), ALICE, "openai", "gpt-4", 2, D("0.030000")),  # 1 and 5 (pending, NULL cost)
        (date(2024, 3, 1), BOB, "openai", "gpt-4", 2, D("0.006000")),  # 3 (version 1106) and 4 (failed)
        (date(2024, 3, 2), ALICE, "openai", "gpt-4", 1, D("0.015000")),  # 2 ('Mar 1 23:30-05')
        (date(2024, 3, 2), CAROL, "anthropic", "claude-3", 1, D("0.004500")),  # 6
    ]


def test_ai_words_daily(con):
    # AI-written versions: 2 (ai_generation, 'Feb 27 22:00-05' = Feb 28 UTC), 4 (ai_generation), 6 (ai_revision);
    # 5 (collaboration) and the manual ones are not the AI's. Words added, never the chapter's whole length:
    # 250 - 100 (version 1), 500 (chapter 2's first version), 320 - 280 (version 5)
    assert rows(con, "select * from marts.ai_words_daily order by day") == [
        (date(2024, 2, 28), 1, 150),
        (date(2024, 3, 1), 1, 500),
        (date(2024, 3, 3), 1, 40),
    ]


def test_events_by_category_daily(con):
    # Summed over the tiers and plans it is split by (a user is in one of each a day, so users add up too).
    totals = (
        "select day, event_category, sum(events)::bigint, sum(users)::bigint from marts.events_by_category_daily"
        " group by day, event_category order by day, event_category"
    )
    assert rows(con, totals) == [
        (date(2024, 2, 26), "session", 1, 1),
        (date(2024, 3, 1), "uncategorised", 1, 0),  # the anonymous event 4: no user
        (date(2024, 3, 1), "writing", 4, 2),  # Alice three times (one is 'Feb 29 23:30-05', one a chapter edit), Bob
        (date(2024, 3, 4), "session", 1, 1),
        (date(2024, 3, 5), "uncategorised", 2, 1),  # Alice and an anonymous event
        (date(2024, 3, 12), "writing", 1, 1),
        (date(2024, 4, 5), "session", 1, 1),
    ]


def test_subscriptions(con):
    def at(*args: int) -> datetime:
        return datetime(*args, tzinfo=UTC)

    assert rows(con, "select * from marts.subscriptions order by subscription_id") == [
        (
            uid("subscription", 1),
            ALICE,
            uid("plan", 1),
            "Pro Monthly",
            "monthly",
            D("20.000000"),
            at(2024, 2, 10),
            date(2024, 2, 1),
            None,
        ),
        # '2024-02-29 23:30-05' is March 1 04:30 UTC; 200.00 / 12 = 16.6666666... -> 16.666667
        (
            uid("subscription", 2),
            BOB,
            uid("plan", 2),
            "Pro Yearly",
            "yearly",
            D("16.666667"),
            at(2024, 3, 1, 4, 30),
            date(2024, 3, 1),
            None,
        ),
        # cancelled '2024-03-31 22:00-05' = April 1 UTC
        (
            uid("subscription", 3),
            CAROL,
            uid("plan", 1),
            "Pro Monthly",
            "monthly",
            D("20.000000"),
            at(2024, 1, 15),
            date(2024, 1, 1),
            date(2024, 4, 1),
        ),
        (
            uid("subscription", 4),
            DAVE,
            uid("plan", 3),
            "Lifetime",
            "one-time",
            D("0.000000"),
            at(2024, 3, 5),
            date(2024, 3, 1),
            None,
        ),
        # 5 is incomplete: never a subscription
        (
            uid("subscription", 6),
            DAVE,
            uid("plan", 1),
            "Pro Monthly",
            "monthly",
            D("20.000000"),
            at(2024, 3, 1),
            date(2024, 3, 1),
            date(2024, 3, 1),
        ),
    ]


def test_subscription_months(con, snapshot_date):
    now = snapshot_date.replace(day=1)
    counted = rows(
        con,
        """
        select subscription_id, min(month), max(month), count(*), any_value(plan), any_value(mrr_usd)
        from marts.subscription_months group by subscription_id order by subscription_id
    """,
    )
    assert counted == [
        (
            uid("subscription", 1),
            date(2024, 2, 1),
            now,
            len(months(date(2024, 2, 1), now)),
            "Pro Monthly",
            D("20.000000"),
        ),
        # created '2024-02-29 23:30-05' = March UTC; 200.00 / 12 = 16.6666666... -> 16.666667
        (
            uid("subscription", 2),
            date(2024, 3, 1),
            now,
            len(months(date(2024, 3, 1), now)),
            "Pro Yearly",
            D("16.666667"),
        ),
        # cancelled '2024-03-31 22:00-05' = April 1 UTC: live at the end of March, not of April
        (uid("subscription", 3), date(2024, 1, 1), date(2024, 3, 1), 3, "Pro Monthly", D("20.000000")),
        # 4 is one-time: never MRR; 5 is incomplete: never counts. 6 was created at 2024-03-01 00:00 UTC, the
        # instant that ends February (month ends are read at the exclusive midnight, like every balance), and
        # cancelled March 4: it counts for February only
        (uid("subscription", 6), date(2024, 2, 1), date(2024, 2, 1), 1, "Pro Monthly", D("20.000000")),
    ]


def test_mrr_monthly(con, snapshot_date):
    # (month, plan, active, mrr, new, churned); one-time plans are never MRR (Lifetime: zeros)
    expected = [
        (date(2024, 1, 1), "Lifetime", 0, D("0"), 0, 0),
        (date(2024, 1, 1), "Pro Monthly", 1, D("20"), 1, 0),  # subscription 3
        (date(2024, 1, 1), "Pro Yearly", 0, D("0"), 0, 0),
        (date(2024, 2, 1), "Lifetime", 0, D("0"), 0, 0),
        # 3, new 1 and new 6 (created at 2024-03-01 00:00, the instant ending February): 20 + 20 + 20
        (date(2024, 2, 1), "Pro Monthly", 3, D("60"), 2, 0),
        (date(2024, 2, 1), "Pro Yearly", 0, D("0"), 0, 0),
        (date(2024, 3, 1), "Lifetime", 0, D("0"), 0, 0),
        # 1 and 3 paying at the end of March; 6 churned (cancelled March 4); 5 (incomplete) is nothing
        (date(2024, 3, 1), "Pro Monthly", 2, D("40"), 0, 1),
        (date(2024, 3, 1), "Pro Yearly", 1, D("16.666667"), 1, 0),
        (date(2024, 4, 1), "Lifetime", 0, D("0"), 0, 0),
        (date(2024, 4, 1), "Pro Monthly", 1, D("20"), 0, 1),  # 3 churned on April 1 UTC
        (date(2024, 4, 1), "Pro Yearly", 1, D("16.666667"), 0, 0),
    ]
    for month in months(date(2024, 5, 1), snapshot_date):
        expected += [
            (month, "Lifetime", 0, D("0"), 0, 0),
            (month, "Pro Monthly", 1, D("20"), 0, 0),
            (month, "Pro Yearly", 1, D("16.666667"), 0, 0),
        ]
    assert rows(con, "select * from marts.mrr_monthly order by month, plan") == expected


def test_ai_cost_by_user_monthly(con, snapshot_date):
    # Dave's one-time plan is no MRR: he has no row without AI cost or MRR
    expected = [
        (date(2024, 1, 1), CAROL, "free", 0, 0, D("0"), D("20"), D("20")),
        (date(2024, 2, 1), ALICE, "premium", 1, 50, D("0.001"), D("20"), D("19.999")),
        (date(2024, 2, 1), CAROL, "free", 0, 0, D("0"), D("20"), D("20")),
        (date(2024, 2, 1), DAVE, "enterprise", 0, 0, D("0"), D("20"), D("20")),  # 6, paying at 2024-03-01 00:00
        # generations 1, 2, 5, 7: tokens 1000 + 500 + 0 + 100; cost 0.03 + 0.015 + 0 + 0; margin 20 - 0.045
        (date(2024, 3, 1), ALICE, "premium", 4, 1600, D("0.045"), D("20"), D("19.955")),
        # generations 3 and 4 (failed, NULL cost); 16.666667 - 0.006
        (date(2024, 3, 1), BOB, "basic", 2, 200, D("0.006"), D("16.666667"), D("16.660667")),
        (date(2024, 3, 1), CAROL, "free", 1, 300, D("0.0045"), D("20"), D("19.9955")),
    ]
    for month in months(date(2024, 4, 1), snapshot_date):
        expected += [
            (month, ALICE, "premium", 0, 0, D("0"), D("20"), D("20")),
            (month, BOB, "basic", 0, 0, D("0"), D("16.666667"), D("16.666667")),
        ]
    assert rows(con, "select * from marts.ai_cost_by_user_monthly order by month, user_id") == expected


def test_plan_utilization_monthly(con, snapshot_date):
    expected = [
        (date(2024, 1, 1), CAROL, "Pro Monthly", 0, 1000, 0.0, 0, 5),
        (date(2024, 2, 1), ALICE, "Pro Monthly", 50, 1000, 0.05, 1, 5),  # 50 / 1000; The Long Night
        (date(2024, 2, 1), CAROL, "Pro Monthly", 0, 1000, 0.0, 0, 5),
        (date(2024, 3, 1), ALICE, "Pro Monthly", 1600, 1000, 1.6, 2, 5),  # (1000 + 600) / 1000, over the plan
        # Untitled was created '2024-02-29 22:00-05' = March UTC
        (date(2024, 3, 1), BOB, "Pro Yearly", 200, 2000, 0.1, 1, 20),
        (date(2024, 3, 1), CAROL, "Pro Monthly", 300, 1000, 0.3, 1, 5),
        # subscriptions 6 (Pro Monthly, Mar 1-4) and 4 (Lifetime, Mar 5) both live in March: the later one;
        # 5 (incomplete, Mar 6) would be later still but never counts. No allowance: utilization NULL
        (date(2024, 3, 1), DAVE, "Lifetime", 0, 0, None, 0, 10),
        (date(2024, 4, 1), ALICE, "Pro Monthly", 0, 1000, 0.0, 2, 5),
        (date(2024, 4, 1), BOB, "Pro Yearly", 0, 2000, 0.0, 1, 20),
        # subscription 3 was live on April 1 until 03:00 UTC: April is its last month
        (date(2024, 4, 1), CAROL, "Pro Monthly", 100, 1000, 0.1, 1, 5),
        (date(2024, 4, 1), DAVE, "Lifetime", 0, 0, None, 0, 10),
    ]
    for month in months(date(2024, 5, 1), snapshot_date):
        expected += [
            (month, ALICE, "Pro Monthly", 0, 1000, 0.0, 2, 5),
            (month, BOB, "Pro Yearly", 0, 2000, 0.0, 1, 20),
            (month, DAVE, "Lifetime", 0, 0, None, 0, 10),
        ]
    assert (
        rows(
            con,
            "select month, user_id, plan, ai_tokens_used, ai_tokens_included, utilization, projects, projects_limit"
            " from marts.plan_utilization_monthly order by month, user_id",
        )
        == expected
    )


def test_revenue_share_statements(con):
    paid_march_15 = datetime(2024, 3, 15, 2, tzinfo=UTC)  # '2024-03-14 21:00-05'
    paid_june_10 = datetime(2024, 6, 10, tzinfo=UTC)
    assert rows(con, "select * from marts.revenue_share_statements order by revenue_share_id") == [
        (
            uid("share", 1),
            ALICE,
            LONG_NIGHT,
            "The Long Night",
            date(2024, 2, 1),
            date(2024, 2, 29),
            date(2024, 2, 1),  # period_month
            False,  # partial: ended before the snapshot
            D("100.00"),
            D("0.1000"),
            D("10.00"),
            D("90.00"),
            "paid",
            paid_march_15,
        ),
        (
            uid("share", 2),
            ALICE,
            SEA_GLASS,
            "Sea Glass",
            date(2024, 2, 1),
            date(2024, 2, 29),
            date(2024, 2, 1),  # period_month
            False,  # partial: ended before the snapshot
            D("55.55"),
            D("0.1500"),
            D("8.33"),
            D("47.22"),
            "pending",
            None,
        ),
        (
            uid("share", 3),
            CAROL,
            DRAGONS,
            "Dragons Rising",
            date(2024, 2, 1),
            date(2024, 2, 29),
            date(2024, 2, 1),  # period_month
            False,  # partial: ended before the snapshot
            D("19.99"),
            D("0.1000"),
            D("2.00"),
            D("17.99"),
            "processing",
            None,
        ),
        (
            uid("share", 4),
            ALICE,
            LONG_NIGHT,
            "The Long Night",
            date(2024, 3, 1),
            date(2024, 3, 31),
            date(2024, 3, 1),  # period_month
            False,  # partial: ended before the snapshot
            D("200.00"),
            D("0.1000"),
            D("20.00"),
            D("180.00"),
            "failed",
            None,
        ),
        (
            uid("share", 5),
            BOB,
            UNTITLED,
            "Untitled",
            date(2024, 3, 1),
            date(2024, 3, 31),
            date(2024, 3, 1),  # period_month
            False,  # partial: ended before the snapshot
            D("0.00"),
            D("0.1000"),
            D("0.00"),
            D("0.00"),
            "pending",
            None,
        ),
        (
            uid("share", 6),
            CAROL,
            DRAGONS,
            "Dragons Rising",
            date(2024, 5, 1),
            date(2024, 5, 31),
            date(2024, 5, 1),  # period_month
            False,  # partial: ended before the snapshot
            D("10.01"),
            D("0.1000"),
            D("1.00"),
            D("9.01"),
            "paid",
            paid_june_10,
        ),
    ]
    columns = [c[0] for c in con.execute("select * from marts.revenue_share_statements limit 0").description]
    assert not {"email", "first_name", "last_name", "author_email", "author_name"} & set(columns)


def test_revenue_monthly(con):
    # (month, statements, partial, book_sales, platform, author, paid, pending, processing, failed)
    assert rows(con, "select * from marts.revenue_monthly order by month") == [
        # 100.00 + 55.55 + 19.99 = 175.54; 10.00 + 8.33 + 2.00 = 20.33; 90.00 + 47.22 + 17.99 = 155.21
        (date(2024, 2, 1), 3, False, D("175.54"), D("20.33"), D("155.21"), D("90.00"), D("47.22"), D("17.99"), D("0")),
        (date(2024, 3, 1), 2, False, D("200.00"), D("20.00"), D("180.00"), D("0"), D("0.00"), D("0"), D("180.00")),
        (date(2024, 4, 1), 0, False, D("0"), D("0"), D("0"), D("0"), D("0"), D("0"), D("0")),  # the gap shows as zero
        (date(2024, 5, 1), 1, False, D("10.01"), D("1.00"), D("9.01"), D("9.01"), D("0"), D("0"), D("0")),
    ]


def test_engagement_daily(con):
    # Active days: Alice Feb 26, Mar 1, Mar 5; Bob Mar 1, Mar 12; Carol Mar 4, Apr 5; anonymous Mar 1, Mar 5.
    # WAU window d-6..d: Alice Feb 26..Mar 11, Bob Mar 1..7 and Mar 12..18, Carol Mar 4..10 and Apr 5.
    # MAU window d-29..d: Alice Feb 26..Apr 3 (Mar 5 + 29), Bob Mar 1..Apr 10, Carol Mar 4..Apr 2 and Apr 5.
    # New users (UTC): Alice Feb 26, Bob Mar 1 ('Feb 29 23:30-05'), Carol Mar 4 ('Mar 3 20:00-05'), Dave Mar 5.
    expected: dict[date, tuple] = {}

    def days(first: date, last: date, values: tuple) -> None:
        while first <= last:
            expected[first] = values
            first += timedelta(days=1)

    # (dau, wau, mau, events, new_users)
    days(date(2024, 2, 26), date(2024, 2, 26), (1, 1, 1, 1, 1))
    days(date(2024, 2, 27), date(2024, 2, 29), (0, 1, 1, 0, 0))
    days(date(2024, 3, 1), date(2024, 3, 1), (2, 2, 2, 5, 1))  # Alice three times, Bob, one anonymous
    days(date(2024, 3, 2), date(2024, 3, 3), (0, 2, 2, 0, 0))  # quiet days
    days(date(2024, 3, 4), date(2024, 3, 4), (1, 3, 3, 1, 1))
    days(date(2024, 3, 5), date(2024, 3, 5), (1, 3, 3, 2, 1))
    days(date(2024, 3, 6), date(2024, 3, 7), (0, 3, 3, 0, 0))
    days(date(2024, 3, 8), date(2024, 3, 10), (0, 2, 3, 0, 0))  # Bob's Mar 1 left the week
    days(date(2024, 3, 11), date(2024, 3, 11), (0, 1, 3, 0, 0))  # Carol's Mar 4 left
    days(date(2024, 3, 12), date(2024, 3, 12), (1, 1, 3, 1, 0))  # Alice's Mar 5 left, Bob back
    days(date(2024, 3, 13), date(2024, 3, 18), (0, 1, 3, 0, 0))
    days(date(2024, 3, 19), date(2024, 4, 2), (0, 0, 3, 0, 0))
    days(date(2024, 4, 3), date(2024, 4, 3), (0, 0, 2, 0, 0))  # Carol's Mar 4 left the 30 days
    days(date(2024, 4, 4), date(2024, 4, 4), (0, 0, 1, 0, 0))  # Alice's Mar 5 left
    days(date(2024, 4, 5), date(2024, 4, 5), (1, 1, 2, 1, 0))
    assert rows(con, "select * from marts.engagement_daily order by day") == [
        (day, *values) for day, values in expected.items()
    ]


def test_retention_weekly(con, snapshot_date):
    # Cohort Feb 26: Alice (Feb 26), Bob (Mar 1 UTC). Alice active weeks 0 and 1 (Mar 5), Bob weeks 0 and 2 (Mar 12).
    # Cohort Mar 4: Carol ('Mar 3 20:00-05' is Monday Mar 4 UTC), Dave. Carol active week 0 and week 4 (Apr 5).
    active = {
        (date(2024, 2, 26), 0): 2,
        (date(2024, 2, 26), 1): 1,
        (date(2024, 2, 26), 2): 1,
        (date(2024, 3, 4), 0): 1,
        (date(2024, 3, 4), 4): 1,
    }
    # The snapshot's own week is not over: not fully observed, so empty (NULL), never 0%.
    this_week = snapshot_date - timedelta(days=snapshot_date.weekday())
    expected = [
        (cohort, week, 2, True, active.get((cohort, week), 0), active.get((cohort, week), 0) / 2)
        if cohort + timedelta(days=7 * week) < this_week
        else (cohort, week, 2, False, None, None)
        for cohort in (date(2024, 2, 26), date(2024, 3, 4))
        for week in range((this_week - cohort).days // 7 + 1)
    ]
    assert expected[-1] == (date(2024, 3, 4), (this_week - date(2024, 3, 4)).days // 7, 2, False, None, None)
    whole_cohorts = (  # summed over the tiers and plans at signup it is split by
        "select cohort_week, weeks_since_signup, sum(cohort_size)::bigint, bool_and(observed),"
        " sum(active_users)::bigint, sum(active_users) / sum(cohort_size) from marts.retention_weekly"
        " group by cohort_week, weeks_since_signup order by cohort_week, weeks_since_signup"
    )
    assert rows(con, whole_cohorts) == expected


def test_writing_progress_daily(con):
    # (day, project, owner, genre, versions_created, words_written, words_total)
    assert rows(con, "select * from marts.writing_progress_daily order by project_id, day") == [
        (date(2024, 2, 27), LONG_NIGHT, ALICE, "fantasy", 1, 100, 100),  # chapter 1 v1
        # v2 ('Feb 27 22:00-05' = Feb 28 UTC) then v3: 300, so 200 more
        (date(2024, 2, 28), LONG_NIGHT, ALICE, "fantasy", 2, 200, 300),
        # chapter 2 v1 500 + chapter 1 v4 280 (20 fewer than v3): 780, 480 more
        (date(2024, 3, 1), LONG_NIGHT, ALICE, "fantasy", 2, 480, 780),
        (date(2024, 3, 3), LONG_NIGHT, ALICE, "fantasy", 1, 40, 820),  # chapter 1 v5 320 + chapter 2 500
        (date(2024, 3, 2), SEA_GLASS, ALICE, "romance", 1, 1000, 1000),
        (date(2024, 3, 5), DRAGONS, CAROL, "fantasy", 2, 70, 70),  # v1 50 and v2 70 at the same instant: v2 wins
    ]


def test_project_funnel(con):
    # fantasy: The Long Night (created Feb 26 12:00, chapter Feb 27 00:00 = 0.5 days, completed Mar 5 12:00 =
    # 7.5 days later, published Mar 8 00:00 = 2.5 days later) and Dragons Rising (chapter after 3 days,
    # completed 5 days after it, unpublished): medians (0.5 + 3) / 2, (7.5 + 5) / 2, 2.5
    assert rows(con, "select * from marts.project_funnel order by genre") == [
        ("fantasy", 2, 2, 2, 1, 1.75, 6.25, 2.5),
        ("romance", 1, 1, 0, 0, 1.0, None, None),  # created Mar 1, chapter Mar 2
        ("unknown", 1, 0, 0, 0, None, None, None),  # NULL genre
    ]


def test_usage_metrics_read_the_plan_of_usage_daily(con):
    everything = {"start": date(2024, 2, 1), "end": date(2024, 4, 30)}
    by_tier_plan = query_metrics(
        con, ["usage_users", "usage_quantity", "usage_cost"], **everything, by=["tier", "plan", "resource_type"]
    )
    # (period, tier, plan, resource_type, users, quantity, cost)
    assert list(by_tier_plan.itertuples(index=False, name=None)) == [
        (None, "basic", "Pro Yearly", "ai_tokens", 1, 200, D("0.00")),
        (None, "enterprise", "(no plan)", "exports", 1, 1, D("0.50")),  # Dave's February: before his subscriptions
        (None, "free", "Pro Monthly", "ai_tokens", 1, 400, D("0.01")),  # 300 (Mar 31) + 100 (Apr 1)
        (None, "premium", "Pro Monthly", "ai_tokens", 1, 1650, D("0.03")),  # 50 + 1600
        (None, "premium", "Pro Monthly", "exports", 1, 2, D("1.50")),
    ]
    no_plan = query_metrics(
        con,
        ["usage_quantity", "usage_cost"],
        **everything,
        grain="day",
        by=["resource_type"],
        where={"plan": ["(no plan)"]},
    )
    assert list(no_plan.itertuples(index=False, name=None)) == [(date(2024, 2, 20), "exports", 1, D("0.50"))]
    # AI tokens billed: only the 'ai_tokens' records, whatever the resource filter says about the others
    march = query_metrics(
        con, ["usage_users", "usage_ai_tokens", "usage_cost"], start=date(2024, 3, 1), end=date(2024, 3, 31)
    )
    assert list(march.itertuples(index=False, name=None)) == [(None, 3, 2100, D("1.53"))]


def test_reports_read_the_small_marts(con):
    march = {"start": date(2024, 3, 1), "end": date(2024, 3, 31)}
    # writing: Alice twice and Bob on Mar 1, Bob on Mar 12; uncategorised: anonymous Mar 1, Alice and anonymous Mar 5
    assert report(con, "engagement/events_by_category", **march, plans=[], tiers=[]) == [
        ("writing", 5),
        ("uncategorised", 3),
        ("session", 1),
    ]
    # cost per 1k AI words: 0.0555 over the words AI versions added in March, 500 (chapter 2's first version, Mar 1)
    # + 40 (chapter 1: 280 -> 320, Mar 3) = 540
    assert query_metrics(con, ["ai_cost_per_1k_ai_words"], start=march["start"], end=march["end"]).iat[0, 1] == (
        D("0.055500") * 1000 / 540
    )


def test_words_written_by_genre_and_the_most_active_projects(con):
    march = {"start": date(2024, 3, 1), "end": date(2024, 3, 31)}
    # fantasy: The Long Night on Mar 1 (+480, 2 versions) and Mar 3 (+40), Dragons Rising on Mar 5 (+70, 2 versions)
    words = query_metrics(con, ["words_written"], **march, grain="day", by=["genre"], where={"genre": ["fantasy"]})
    assert list(words.itertuples(index=False, name=None)) == [
        (date(2024, 3, 1), "fantasy", 480),
        (date(2024, 3, 3), "fantasy", 40),
        (date(2024, 3, 5), "fantasy", 70),
    ]
    most_active = [row[:8] for row in report(con, "writing_progress/most_active", **march, genres=[])]
    assert most_active == [
        ("The Long Night", str(ALICE), "fantasy", "published", 3, 520, 820, date(2024, 3, 3)),
        ("Dragons Rising", str(CAROL), "fantasy", "completed", 2, 70, 70, date(2024, 3, 5)),
        ("Sea Glass", str(ALICE), "romance", "in_progress", 1, 1000, 1000, date(2024, 3, 2)),
    ]


def test_marts_follow_updates_and_deletes(published_dataset, create_database, tmp_path):
    """An incremental run after the source changed: marts follow updates, deletes and late rows."""
    cli_env = copy_published(published_dataset, tmp_path, create_database)  # the dataset, published by a full run
    source_url = cli_env["EBOOK_ANALYTICS_SOURCE_URL"]
    with psycopg.connect(source_url) as conn:
        conn.execute("delete from ai_processing.ai_generations where id = %s", (uid("generation", 1),))
        conn.execute(
            "update ai_processing.ai_generations set status = 'completed', tokens_used = 40, cost = 0.002,"
            " processing_time_ms = 4000, completed_at = created_at + interval '4 s' where id = %s",
            (uid("generation", 5),),
        )
        conn.execute(
            "update billing.revenue_shares set payout_status = 'paid', payout_date = '2024-04-02 00:00+00'"
            " where id = %s",
            (uid("share", 4),),
        )
        conn.execute(
            "update billing.user_subscriptions set status = 'cancelled', cancelled_at = '2024-04-30 23:00-05'"
            " where id = %s",
            (uid("subscription", 1),),
        )
    run_cli("etl", "run", env=cli_env)
    con = warehouse.connect(cli_env["EBOOK_ANALYTICS_WAREHOUSE"], read_only=True)
    try:
        # March 1, gpt-4: generation 1 gone, 5 now completed: 3 generations (3, 4, 5), tokens 200 + 40,
        # cost 0.006 + 0.002, completed latencies [2000, 4000]: p50 3000, p95 2000 + 0.95 * 2000 = 3900
        assert rows(con, "select * from marts.ai_cost_daily where day = '2024-03-01' and model = 'gpt-4'") == [
            (date(2024, 3, 1), "openai", "gpt-4", 3, 2, 1, 240, D("0.008000"), 3000.0, 3900.0, 5.0),
        ]
        assert rows(
            con,
            "select author_revenue_paid, author_revenue_failed from marts.revenue_monthly where month = '2024-03-01'",
        ) == [(D("180.00"), D("0.00"))]
        # cancelled '2024-04-30 23:00-05' = May 1 UTC: live at the end of April, churned in May
        assert rows(
            con,
            "select month, active_subscriptions, mrr_usd, churned_subscriptions from marts.mrr_monthly"
            " where plan = 'Pro Monthly' and month between '2024-04-01' and '2024-06-01'"
            " order by month",
        ) == [
            (date(2024, 4, 1), 1, D("20"), 1),
            (date(2024, 5, 1), 0, D("0"), 1),
            (date(2024, 6, 1), 0, D("0"), 0),
        ]
    finally:
        con.close()


KEYED = sorted(
    (contract.name, contract.refresh.column) for contract in load_contracts() if contract.refresh.by == "key"
)
# Marts without rows in the hand-made history here: chapter completions (tests/test_incremental_keyed.py refreshes
# them by chapter) and organisation days (tests/test_organizations.py builds them by organisation on its own).
WITHOUT_ROWS = {"chapter_completions", "organization_days"}


@pytest.mark.parametrize(
    ("mart", "column"),
    [(name, column) for name, column in KEYED if name not in WITHOUT_ROWS],
    ids=[name for name, _ in KEYED if name not in WITHOUT_ROWS],
)
def test_a_refresh_by_key_reads_only_its_keys_and_builds_their_rows_exactly(con, mart, column):
    assert_builds_by_key(con, mart, column)


def assert_builds_by_key(con: duckdb.DuckDBPyConnection, mart: str, column: str) -> None:
    """A mart refreshed by key builds its rows for a list of keys from those keys' input rows alone
    (`$window_keys`): for each key of the published dataset `con` reads, and for all of them at once, exactly the
    rows the whole build published for them; for no key, nothing (every input it filters is empty)."""
    model = {model.name: model for model in load_models()}[mart]  # (binds its keys: the test below)
    (snapshot_at,) = con.execute("select snapshot_at from meta.publication").fetchone()
    bound = model.bind(model_parameters(snapshot_at))
    body = model.sql.strip().rstrip(";")
    keys = [key for (key,) in con.execute(f"select distinct {column} from marts.{mart} order by 1").fetchall()]
    assert len(keys) >= 2
    for chosen in [[key] for key in keys] + [keys]:
        built = f"(select * from ({body}) where {column} in (select unnest($chosen)))"
        published = f"(select * from marts.{mart} where {column} in (select unnest($chosen)))"
        params = {**bound, "window_keys": chosen, "chosen": chosen}
        differing = con.execute(
            f"select count(*) from ((from {built} except all from {published}) union all"
            f" (from {published} except all from {built}))",
            params,
        ).fetchone()
        assert differing == (0,), (mart, chosen)
        assert con.execute(f"select count(*) from {published}", {"chosen": chosen}).fetchone()[0] > 0
    assert con.execute(f"select count(*) from ({body})", {**bound, "window_keys": []}).fetchone() == (0,)


def test_every_mart_refreshed_by_key_reads_only_its_keys():
    models = {model.name: model for model in load_models()}
    assert [mart for mart, _ in KEYED if not models[mart].reads_keys] == []


def test_only_the_marts_without_rows_are_left_out_of_the_by_key_test(con):
    assert {mart for mart, _ in KEYED if con.execute(f"select count(*) from marts.{mart}").fetchone() == (0,)} == (
        WITHOUT_ROWS
    )
