"""Revenue, revenue-share and margin metrics (issue 11 findings 5, 6, 8, 9, 11, 13) on tests/revenue_datasets.py,
through the real ETL, `metrics query` and the notebook function.

Month-end MRR by hand (the exclusive midnight ending each month; Dan past_due throughout: 10.00 at risk):

| month | Ann | Bea | Eve       | Fay | Gus | Jo | MRR        | customers | movements                                 |
|-------|-----|-----|-----------|-----|-----|----|------------|-----------|-------------------------------------------|
| Jan   | 0   | 0   |           | 10  | 30  | 10 | 50         | 3         | new 50 (Fay, Gus, Jo)                     |
| Feb   | 30  | 10  |           | 0   | 30  | 10 | 80         | 4         | new 40 (Ann, Bea's trial), churn 10 (Fay) |
| Mar   | 30  | 10  | 20.833333 | 0   | 30  | 30 | 120.833333 | 5         | new 20.833333 (Eve), expansion 20 (Jo)    |
| Apr   | 30  | 10  | 20.833333 | 30  | 10  | 30 | 130.833333 | 6         | reactivation 30 (Fay), contraction 20     |

Gus's Pro subscription runs on from its cancellation (Mar 25) to his Basic one (Apr 3): March ends at 30, not 0.
Cal's trial lapsed and Ida's one-time plan never count; Ann's free plan is 0.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import psycopg
import pytest

from pipelines.metrics import metrics
from tests.conftest import cli_environment, run_cli
from tests.etl_rows import publish_then_change, query_warehouse
from tests.marts_dataset import uid
from tests.revenue_datasets import (
    BASIC,
    BEA,
    CAL,
    DAN,
    EVE,
    FAY,
    GUS,
    JO,
    PRO,
    change_after_first_load,
    insert_revenue_platform,
    this_month,
)

D = Decimal
JAN, FEB, MAR, APR = (date(2024, m, 1) for m in (1, 2, 3, 4))
APR_30 = date(2024, 4, 30)
MONTHLY_2024 = ["mrr", "mrr_at_risk", "paying_customers"]
MOVEMENTS = ["new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "reactivation_mrr"]


def values(path: Path, names: list[str], start: date, end: date, **options: Any) -> list[list[Any]]:
    return metrics(names, start, end, warehouse=path, **options).values.tolist()


@pytest.fixture(scope="module")
def runs(create_database, schema_template, tmp_path_factory) -> dict[str, Any]:
    url = create_database(template=schema_template)
    insert_revenue_platform(url)
    env, path, first = publish_then_change(
        url,
        tmp_path_factory.mktemp("revenue_metrics"),
        change_after_first_load,
        lambda path: values(path, MONTHLY_2024, JAN, APR_30, grain="month"),
    )
    return {"env": env, "path": path, "first": first}


def test_mrr_excludes_trials_past_due_and_one_time_and_divides_yearly_exactly(runs):
    # (period, mrr, mrr_at_risk, paying_customers): Dan's 10.00 is at risk, never MRR; Eve's 250.00 / 12
    expected = [
        [JAN, D("50.000000"), D("10.000000"), 3],
        [FEB, D("80.000000"), D("10.000000"), 4],
        [MAR, D("120.833333"), D("10.000000"), 5],
        [APR, D("130.833333"), D("10.000000"), 6],
    ]
    assert values(runs["path"], MONTHLY_2024, JAN, APR_30, grain="month") == expected
    # Dan paying again and Ann's new tier, seen by the second run today, leave 2024 as it was
    assert runs["first"] == expected
    # ARPA in April: 130.833333 / 6 = 21.8055555 -> $21.81
    ((_, arpa),) = values(runs["path"], ["arpa"], APR, APR_30)
    assert arpa.quantize(D("0.01")) == D("21.81")
    # by plan at the end of March: Pro = Ann 30 + Gus 30 (bridged) + Jo 30; Basic = Bea 10; Pro Yearly = Eve
    assert values(runs["path"], ["mrr"], MAR, date(2024, 3, 31), by=["plan"]) == [
        [None, "Basic", D("10.000000")],
        [None, "Pro", D("90.000000")],
        [None, "Pro Yearly", D("20.833333")],
    ]


def test_mrr_now_follows_the_status_in_force_today(runs):
    # Today Dan pays: 130.833333 + 10 = 140.833333, nothing at risk
    today = date.today()
    assert values(runs["path"], ["mrr", "mrr_at_risk", "paying_customers"], today, today) == [
        [None, D("140.833333"), D("0.000000"), 7]
    ]


def test_movements_follow_chartmogul_customer_rules_and_bridge(runs):
    assert values(runs["path"], MOVEMENTS, JAN, APR_30, grain="month") == [
        [JAN, D("50.000000"), D("0.000000"), D("0.000000"), D("0.000000"), D("0.000000")],
        [FEB, D("40.000000"), D("0.000000"), D("0.000000"), D("10.000000"), D("0.000000")],
        [MAR, D("20.833333"), D("20.000000"), D("0.000000"), D("0.000000"), D("0.000000")],
        [APR, D("0.000000"), D("0.000000"), D("20.000000"), D("0.000000"), D("30.000000")],
    ]
    # the bridge, month by month: MRR(m-1) + new + expansion + reactivation - contraction - churned = MRR(m)
    mrr = [row[1] for row in values(runs["path"], ["mrr"], date(2023, 12, 1), APR_30, grain="month")]
    moves = values(runs["path"], MOVEMENTS, JAN, APR_30, grain="month")
    for before, after, (_, new, expansion, contraction, churned, reactivation) in zip(
        mrr[:-1], mrr[1:], moves, strict=True
    ):
        assert before + new + expansion + reactivation - contraction - churned == after
    # per customer: Gus contracts (no churn in March, no new in April), Jo expands, Fay reactivates
    assert query_warehouse(
        runs["path"],
        "select month, user_id, plan, mrr_start, new_mrr, expansion_mrr, contraction_mrr, churned_mrr,"
        " reactivation_mrr, mrr_end from marts.mrr_movements_monthly"
        " where user_id in ($gus, $jo, $fay) and month between '2024-01-01' and '2024-04-01' order by user_id, month",
        {"gus": GUS, "jo": JO, "fay": FAY},
    ) == [
        (JAN, FAY, "Basic", D(0), D(10), D(0), D(0), D(0), D(0), D(10)),
        (FEB, FAY, "Basic", D(10), D(0), D(0), D(0), D(10), D(0), D(0)),
        (APR, FAY, "Pro", D(0), D(0), D(0), D(0), D(0), D(30), D(30)),
        (JAN, GUS, "Pro", D(0), D(30), D(0), D(0), D(0), D(0), D(30)),
        (FEB, GUS, "Pro", D(30), D(0), D(0), D(0), D(0), D(0), D(30)),
        (MAR, GUS, "Pro", D(30), D(0), D(0), D(0), D(0), D(0), D(30)),
        (APR, GUS, "Basic", D(30), D(0), D(0), D(20), D(0), D(0), D(10)),
        (JAN, JO, "Basic", D(0), D(10), D(0), D(0), D(0), D(0), D(10)),
        (FEB, JO, "Basic", D(10), D(0), D(0), D(0), D(0), D(0), D(10)),
        (MAR, JO, "Pro", D(10), D(0), D(20), D(0), D(0), D(0), D(30)),
        (APR, JO, "Pro", D(30), D(0), D(0), D(0), D(0), D(0), D(30)),
    ]
    # the subscription counts agree: Ann's free plan and Gus's and Jo's old plans are not churned subscriptions
    assert query_warehouse(
        runs["path"],
        "select month, sum(new_subscriptions), sum(churned_subscriptions) from marts.mrr_monthly"
        " where month between '2024-01-01' and '2024-04-01' group by month order by month",
    ) == [(JAN, 3, 0), (FEB, 2, 1), (MAR, 1, 0), (APR, 1, 0)]


def test_trial_conversion_churn_rate_and_net_revenue_retention(runs):
    # February: Bea's trial converted (Feb 3), Cal's lapsed (Feb 8): 1 / 2
    assert values(
        runs["path"], ["trials_ended", "trials_converted", "trial_conversion_rate"], FEB, date(2024, 2, 29)
    ) == [[None, 2, 1, 0.5]]
    # churn: Fay of Feb's 3 starting customers; over Jan-Apr 1 / (0 + 3 + 4 + 5)
    rates = values(runs["path"], ["customer_churn_rate", "net_revenue_retention"], FEB, APR_30, grain="month")
    assert [[period, round(churn, 6), round(nrr, 6)] for period, churn, nrr in rates] == [
        [FEB, round(1 / 3, 6), round(40 / 50, 6)],  # Gus 30 + Jo 10 + Fay 0 of 50
        [MAR, 0.0, round(100 / 80, 6)],  # Ann 30 + Bea 10 + Gus 30 + Jo 30 of 80
        [APR, 0.0, round(100.833333 / 120.833333, 6)],  # Gus down to 10
    ]
    ((_, churn_all),) = values(runs["path"], ["customer_churn_rate"], JAN, APR_30)
    assert churn_all == pytest.approx(1 / 12)


def test_gross_margin_counts_complete_months_with_the_tier_in_force(runs):
    # February: revenue 80 (premium: Ann 30 + Gus 30 + Jo 10; basic: Bea 10); AI cost Bea 0.25 and Cal 0.40 during
    # his Pro trial. March: 120.833333 - Ann's 1.50 (premium: Ann moved to enterprise only today)
    assert values(
        runs["path"],
        ["subscription_revenue", "margin_ai_cost", "gross_margin"],
        FEB,
        MAR + timedelta(30),
        grain="month",
    ) == [
        [FEB, D("80.000000"), D("0.650000"), D("79.350000")],
        [MAR, D("120.833333"), D("1.500000"), D("119.333333")],
    ]
    assert values(runs["path"], ["gross_margin"], FEB, date(2024, 2, 29), by=["tier"]) == [
        [None, "basic", D("9.350000")],  # 10 - 0.25 - 0.40
        [None, "premium", D("70.000000")],
    ]
    assert values(runs["path"], ["gross_margin"], FEB, date(2024, 2, 29), by=["plan"]) == [
        [None, "Basic", D("19.750000")],  # Bea 10 + Jo 10 - 0.25
        [None, "Pro", D("59.600000")],  # Ann 30 + Gus 30 - Cal's 0.40
    ]
    # a range cutting February counts March only; the month running at the snapshot is never in the mart
    assert values(runs["path"], ["gross_margin"], date(2024, 2, 15), date(2024, 3, 31)) == [[None, D("119.333333")]]
    assert query_warehouse(
        runs["path"], "select count(*) from marts.margin_monthly where month >= $month", {"month": this_month()}
    ) == [(0,)]


def test_revenue_share_by_period_month_marks_the_running_period_partial(runs, tmp_path):
    assert values(runs["path"], ["book_sales", "platform_revenue", "author_revenue"], FEB, date(2024, 2, 29)) == [
        [None, D("100.00"), D("15.00"), D("85.00")]
    ]
    month = this_month()
    last = date(month.year + month.month // 12, month.month % 12 + 1, 1) - timedelta(days=1)
    assert values(runs["path"], ["book_sales"], month, last, by=["partial"]) == [[None, True, D("40.00")]]
    assert query_warehouse(
        runs["path"],
        "select month, partial from marts.revenue_monthly where month in ('2024-02-01', $month) order by month",
        {"month": month},
    ) == [(FEB, False), (month, True)]

    out = tmp_path / "now.csv"
    result = run_cli(
        "export", "revenue-share", "--period", f"{month:%Y-%m}", "--format", "csv", "--out", str(out), env=runs["env"]
    )
    header, line = out.read_text().splitlines()
    run_id = query_warehouse(runs["path"], "select run_id from meta.publication")[0][0]
    assert header.endswith(",partial,run_id") and line.endswith(f",true,{run_id}")
    assert result.stderr == (
        f"warning: partial: the revenue period of 1 of 1 statement(s) runs to {last:%Y-%m-%d} and had not ended "
        "when the warehouse was published; their figures may still change\n"
    )
    xlsx = tmp_path / "now.xlsx"
    run_cli("export", "revenue-share", "--period", f"{month:%Y-%m}", "--format", "xlsx", "--out", str(xlsx),
            env=runs["env"])  # fmt: skip
    sheet = openpyxl.load_workbook(xlsx)["Statements"]
    assert sheet.cell(row=sheet.max_row, column=1).value.startswith("Note: partial: the revenue period of 1 of 1")
    february = run_cli(
        "export", "revenue-share", "--period", "2024-02", "--format", "csv", "--out", str(tmp_path / "feb.csv"),
        env=runs["env"],
    )  # fmt: skip
    assert february.stderr == ""


def test_cli_query_gives_money_as_exact_strings(runs):
    result = run_cli(
        "metrics", "query", "mrr,paying_customers", "--start", "2024-03-01", "--end", "2024-03-31", "--format", "json",
        env=runs["env"],
    )  # fmt: skip
    assert json.loads(result.stdout) == [{"period": None, "mrr": "120.833333", "paying_customers": 5}]


def test_intervals_keep_the_state_in_force(runs):
    rows = query_warehouse(
        runs["path"],
        "select user_id, plan_id, state, valid_from::date, valid_to::date, bridged, mrr_usd, mrr_at_risk_usd"
        " from marts.subscription_intervals where user_id in ($bea, $dan, $gus, $eve) order by user_id, valid_from",
        {"bea": BEA, "dan": DAN, "gus": GUS, "eve": EVE},
    )
    today = query_warehouse(runs["path"], "select snapshot_at::date from meta.publication")[0][0]
    assert rows[:2] == [
        (BEA, BASIC, "trialing", date(2024, 1, 20), date(2024, 2, 3), False, D(0), D(0)),
        (BEA, BASIC, "paying", date(2024, 2, 3), None, False, D(10), D(0)),
    ]
    assert rows[2:4] == [
        (DAN, BASIC, "at_risk", date(2024, 1, 10), today, False, D(0), D(10)),  # past_due until today's run
        (DAN, BASIC, "paying", today, None, False, D(10), D(0)),
    ]
    assert [row[2:] for row in rows[4:]] == [
        ("paying", date(2024, 3, 15), None, False, D("20.833333"), D(0)),  # Eve: 250.00 / 12
        ("paying", date(2024, 1, 8), date(2024, 4, 3), True, D(30), D(0)),  # Gus's Pro, bridged to Basic
        ("paying", date(2024, 4, 3), None, False, D(10), D(0)),
    ]


def test_a_plan_changed_in_place_keeps_each_month_on_the_plan_it_had(create_database, schema_template, tmp_path):
    """Eve's yearly plan and Bea's Basic become Pro (30.00 a month) in place, between two runs today. Each month end
    keeps the plan in force then: Pro Yearly, which no subscription has any more, keeps its months (so the MRR marts
    agree and publish); the move is neither new nor churned; Bea's trial stays a trial of Basic. A new user, whose
    first tier version is in force since -infinity, reaches the margin's months from its first one (not from
    -infinity: the refresh by month would fail)."""

    def change_plans(url: str) -> None:
        with psycopg.connect(url) as conn:
            conn.execute(
                "insert into users.users (id, email, first_name, tier, created_at)"
                " values (%s, 'kim@example.com', 'Kim', 'basic', '2024-01-01 00:00+00')",
                (uid("user", 40),),
            )
            for n in (3, 6):  # Bea's, Eve's
                conn.execute(
                    "update billing.user_subscriptions set plan_id = %s, amount = 30.00 where id = %s",
                    (PRO, uid("subscription", 20 + n)),
                )

    url = create_database(template=schema_template)
    insert_revenue_platform(url)
    _, path, _ = publish_then_change(url, tmp_path, change_plans, lambda path: None)

    assert query_warehouse(path, "select count(*) from meta.held_back") == [(0,)]
    this, last = this_month(), (this_month() - timedelta(days=1)).replace(day=1)
    rows = query_warehouse(
        path,
        "select month, plan, active_subscriptions, mrr_usd, new_subscriptions, churned_subscriptions"
        " from marts.mrr_monthly where month in ($mar, $last, $this) and plan in ('Basic', 'Pro', 'Pro Yearly')"
        " order by month, plan",
        {"mar": MAR, "last": last, "this": this},
    )
    assert rows == [
        (MAR, "Basic", 1, D(10), 0, 0),  # Bea
        (MAR, "Pro", 3, D(90), 0, 0),  # Ann, Jo (continuing his Basic), Gus (bridged)
        (MAR, "Pro Yearly", 1, D("20.833333"), 1, 0),  # Eve's start, on the plan she started on
        (last, "Basic", 2, D(20), 0, 0),  # Bea, Gus
        (last, "Pro", 3, D(90), 0, 0),  # Ann, Jo, Fay
        (last, "Pro Yearly", 1, D("20.833333"), 0, 0),
        (this, "Basic", 1, D(10), 0, 0),  # Gus
        (this, "Pro", 5, D(150), 0, 0),  # and Bea, Eve: moved, not new
        (this, "Pro Yearly", 0, D(0), 0, 0),  # Eve moved away: not churned
    ]
    assert query_warehouse(
        path,
        "select user_id, plan from marts.subscription_trials where user_id in ($bea, $cal) order by plan",
        {"bea": BEA, "cal": CAL},
    ) == [(BEA, "Basic"), (CAL, "Pro")]


def test_a_subscription_in_another_currency_holds_back_the_subscription_marts(
    create_database, schema_template, tmp_path
):
    url = create_database(template=schema_template)
    insert_revenue_platform(url)
    with psycopg.connect(url) as conn:
        conn.execute("update billing.user_subscriptions set currency = 'EUR' where id = %s", (uid("subscription", 26),))
    env = cli_environment(tmp_path, url)
    result = run_cli("etl", "run", env=env, check=False)
    assert result.returncode == 2
    assert "partial: 1 error check(s) failed" in result.stderr
    assert "marts.subscription_intervals.amounts_in_usd" in result.stderr
    # A first run: nothing to keep, so the marts made of the intervals are published empty, and say so.
    # EUR is never added as USD; the marts that do not read the intervals are published.
    held = query_warehouse(
        Path(env["EBOOK_ANALYTICS_WAREHOUSE"]),
        "select mart, failed_checks, kept_run_id from meta.held_back order by mart",
    )
    assert [mart for mart, _, _ in held] == HELD_BY_INTERVALS
    assert {(tuple(checks), kept) for _, checks, kept in held} == {
        (("marts.subscription_intervals.amounts_in_usd",), None)
    }
    for mart in HELD_BY_INTERVALS:
        assert query_warehouse(Path(env["EBOOK_ANALYTICS_WAREHOUSE"]), f"select count(*) from marts.{mart}") == [(0,)]
    assert query_warehouse(Path(env["EBOOK_ANALYTICS_WAREHOUSE"]), "select count(*) > 0 from marts.subscriptions") == [
        (True,)
    ]


HELD_BY_INTERVALS = [
    "ai_cost_by_user_monthly",
    "margin_monthly",
    "mrr_monthly",
    "mrr_movements_monthly",
    "subscription_intervals",
    "subscription_months",
    "subscription_trials",
    "unit_economics_authors",
]
