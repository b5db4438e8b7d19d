"""The metrics engine on small hand-made mart-shaped tables in a real DuckDB file; every value worked out by hand.

The tables hold only the columns the definitions read. 2024-03-04 is a Monday: ISO weeks start there and on
2024-03-11.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml

from pipelines import warehouse
from pipelines.errors import UserError
from pipelines.metrics import metrics
from pipelines.metrics.definitions import definitions, load_metrics, parse_metric
from pipelines.metrics.docs import DOC_PATH, render
from pipelines.metrics.query import query_metrics
from tests.conftest import run_cli

D = Decimal

# (day, generation, provider, model, tier, status, tokens, cost, latency ms, rating)
GENERATIONS = [
    # Monday 3/4: model A three completed at 1,000 ms, model B one at 9,000 ms
    ("2024-03-04", 1, "p1", "A", "free", "completed", 100, "0.010000", 1000, 5),
    ("2024-03-04", 2, "p1", "A", "free", "completed", 100, "0.010000", 1000, None),
    ("2024-03-04", 3, "p1", "A", "premium", "completed", 100, "0.010000", 1000, None),
    ("2024-03-04", 4, "p2", "B", "premium", "completed", 1000, "0.100000", 9000, None),
    # Tuesday 3/5: three ratings of 1, one failure (its latency says nothing about speed)
    ("2024-03-05", 5, "p1", "A", "free", "completed", 200, "0.020000", 2000, 1),
    ("2024-03-05", 6, "p1", "A", "free", "completed", 200, "0.020000", 2000, 1),
    ("2024-03-05", 7, "p1", "A", "free", "completed", 200, "0.020000", 2000, 1),
    ("2024-03-05", 8, "p1", "A", "free", "failed", 0, "0.000000", 500, None),
    # Sunday 3/10 (still the week of 3/4): in flight; Monday 3/11: the next week
    ("2024-03-10", 9, "p2", "B", "free", "pending", 0, "0.000000", None, None),
    ("2024-03-11", 10, "p2", "B", "free", "completed", 300, "0.050000", 3000, 4),
]
# (day, version, model, ai_words, words_added, changed_by, genre, change_type)
VERSIONS = [
    ("2024-03-04", 1, "A", 200, 200, "u1", "fantasy", "ai_generation"),
    ("2024-03-04", 2, "B", 1000, 1000, "u2", "fantasy", "ai_revision"),
    ("2024-03-05", 3, "unknown", 0, -50, "u1", "romance", "manual"),
]
# (day, user, tier)
ACTIVITY = [
    ("2024-03-01", "u1", "free", "(no plan)"),
    ("2024-03-04", "u2", "premium", "Pro"),
    ("2024-03-09", "u3", "free", "(no plan)"),
    ("2024-03-10", "u1", "free", "(no plan)"),
]
# (day, tier, plan, mau): the 30-day actives of ACTIVITY on the days around 3/9-3/10, in the tier and plan of their
# latest active day (marts.mau_daily)
MAU_DAILY = [
    ("2024-03-08", "free", "(no plan)", 1),
    ("2024-03-08", "premium", "Pro", 1),
    ("2024-03-09", "free", "(no plan)", 2),
    ("2024-03-09", "premium", "Pro", 1),
    ("2024-03-10", "free", "(no plan)", 2),
    ("2024-03-10", "premium", "Pro", 1),
]
# (subscription, user, mrr, valid_from, valid_to)
INTERVALS = [
    (1, "u1", "10.00", "2024-02-10 00:00:00+00", "2024-03-15 12:00:00+00"),
    (2, "u1", "20.00", "2024-03-15 12:00:00+00", None),
    # ends exactly at April's first midnight: not in force at the end of March
    (3, "u2", "5.00", "2024-03-31 23:59:59+00", "2024-04-01 00:00:00+00"),
]
# (month, margin)
MONTHS = [("2024-02-01", "100.00"), ("2024-03-01", "200.00"), ("2024-04-01", "300.00")]

TEST_METRICS = [
    {
        "name": "mrr_test",
        "label": "MRR",
        "description": "Counted MRR in force at the period end.",
        "unit": "usd",
        "kind": "balance",
        "aggregate": "sum",
        "model": "marts.test_intervals",
        "expression": "mrr_usd",
        "dimensions": ["user_id"],
        "grains": ["day", "week", "month", "all"],
        "audience": ["admin"],
    },
    {
        "name": "customers_test",
        "label": "Customers",
        "description": "Users with a subscription in force at the period end.",
        "unit": "count",
        "kind": "balance",
        "aggregate": "count_distinct",
        "model": "marts.test_intervals",
        "expression": "user_id",
        "filter": "mrr_usd > 0",
        "dimensions": [],
        "grains": ["month", "all"],
        "audience": ["admin"],
    },
    {
        "name": "margin_test",
        "label": "Margin",
        "description": "A monthly model: complete months only.",
        "unit": "usd",
        "kind": "sum",
        "model": "marts.test_months",
        "time": "month",
        "time_grain": "month",
        "expression": "margin",
        "dimensions": [],
        "grains": ["month", "all"],
        "audience": ["admin"],
    },
]


def build_warehouse(path: Path) -> None:
    with warehouse.connect(path) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.ai_generation_facts (day date, generation_id integer, provider varchar,"
            " model varchar, tier varchar, status varchar, tokens_used bigint, cost_usd decimal(18, 6),"
            " processing_time_ms integer, quality_rating integer)"
        )
        con.executemany("insert into marts.ai_generation_facts values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", GENERATIONS)
        con.execute(
            "create table marts.version_facts (day date, version_id integer, model varchar, ai_words bigint,"
            " words_added bigint, changed_by varchar, genre varchar, change_type varchar, provider varchar,"
            " is_ai boolean)"
        )
        con.executemany(
            "insert into marts.version_facts values (?, ?, ?, ?, ?, ?, ?, ?, 'p', ? like 'ai_%')",
            [(*row, row[-1]) for row in VERSIONS],
        )
        con.execute("create table marts.user_activity_days (day date, user_id varchar, tier varchar, plan varchar)")
        con.executemany("insert into marts.user_activity_days values (?, ?, ?, ?)", ACTIVITY)
        con.execute("create table marts.mau_daily (day date, tier varchar, plan varchar, mau bigint)")
        con.executemany("insert into marts.mau_daily values (?, ?, ?, ?)", MAU_DAILY)
        con.execute(
            "create table marts.test_intervals (subscription_id integer, user_id varchar, mrr_usd decimal(18, 2),"
            " valid_from timestamptz, valid_to timestamptz)"
        )
        con.executemany("insert into marts.test_intervals values (?, ?, ?, ?, ?)", INTERVALS)
        con.execute("create table marts.test_months (month date, margin decimal(18, 2))")
        con.executemany("insert into marts.test_months values (?, ?)", MONTHS)


@pytest.fixture(scope="module")
def warehouse_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("metrics") / "analytics.duckdb"
    build_warehouse(path)
    return path


@pytest.fixture(scope="module")
def con(warehouse_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = warehouse.connect(warehouse_path, read_only=True)
    yield connection
    connection.close()


def query(con: duckdb.DuckDBPyConnection, names: list[str], start: str, end: str, **options: object) -> list[tuple]:
    frame = query_metrics(con, names, start=date.fromisoformat(start), end=date.fromisoformat(end), **options)
    return [tuple(row) for row in frame.itertuples(index=False)]


def test_percentile_is_exact_over_models_never_a_mean_of_percentiles(con):
    # [1000, 1000, 1000, 9000]: position 0.95 * 3 = 2.85 -> 1000 + 0.85 * 8000 = 7800 (a mean of the per-model
    # p95s weighted by completions would be (3 * 1000 + 9000) / 4 = 3000)
    assert query(con, ["ai_latency_p95", "ai_latency_p50"], "2024-03-04", "2024-03-04") == [(None, 7800.0, 1000.0)]
    assert query(con, ["ai_latency_p95"], "2024-03-04", "2024-03-04", by=["model"]) == [
        (None, "A", 1000.0),
        (None, "B", 9000.0),
    ]
    # the week: [1000 x3, 2000 x3, 9000] (the failed 500 ms left out): position 0.95 * 6 = 5.7 -> 2000 + 0.7 * 7000
    assert query(con, ["ai_latency_p95"], "2024-03-04", "2024-03-10") == [(None, 6900.0)]


def test_mean_weighs_each_rating_once_never_a_mean_of_daily_means(con):
    # ratings {5} on 3/4 and {1, 1, 1} on 3/5: (5 + 1 + 1 + 1) / 4 = 2.0 (the mean of daily means would be 3.0)
    assert query(con, ["ai_quality_avg"], "2024-03-04", "2024-03-05") == [(None, 2.0)]
    # a day with no rating is empty, never 0
    assert query(con, ["ai_quality_avg", "ai_generations"], "2024-03-10", "2024-03-10") == [(None, None, 1)]


def test_weeks_start_monday_and_a_range_cuts_its_periods(con):
    assert query(con, ["ai_generations", "ai_cost", "ai_tokens"], "2024-03-04", "2024-03-17", grain="week") == [
        # generations 1-9; cost 0.03 + 0.1 + 0.06 + 0 + 0; tokens 300 + 1000 + 600 + 0 + 0
        (date(2024, 3, 4), 9, D("0.190000"), 1900),
        (date(2024, 3, 11), 1, D("0.050000"), 300),
    ]
    # 3/6-3/12: the week of 3/4 keeps 3/6-3/10 (generation 9 only), the week of 3/11 keeps 3/11-3/12
    assert query(con, ["ai_generations"], "2024-03-06", "2024-03-12", grain="week") == [
        (date(2024, 3, 4), 1),
        (date(2024, 3, 11), 1),
    ]
    # every day of the range has a row; a quiet day is 0 for additive metrics
    assert query(con, ["ai_generations", "ai_cost"], "2024-03-05", "2024-03-07", grain="day") == [
        (date(2024, 3, 5), 4, D("0.060000")),
        (date(2024, 3, 6), 0, D("0")),
        (date(2024, 3, 7), 0, D("0")),
    ]
    assert query(con, ["ai_generations"], "2024-02-20", "2024-03-31", grain="month") == [
        (date(2024, 2, 1), 0),
        (date(2024, 3, 1), 10),
    ]


def test_ratio_of_sums_with_both_sides_cut_by_the_same_filter(con):
    # failed / finished: 1 / 8 (generation 9 is pending: in neither)
    assert query(con, ["ai_failure_rate"], "2024-03-04", "2024-03-10") == [(None, 0.125)]
    # cost 0.13 per 1,200 AI words (the manual version's words are not AI words)
    assert query(con, ["ai_cost_per_1k_ai_words"], "2024-03-04", "2024-03-04") == [(None, D("0.130000") * 1000 / 1200)]
    # with a model filter both sides are that model's: 0.1 / 1,000 words, never 0.1 / 1,200
    assert query(con, ["ai_cost_per_1k_ai_words"], "2024-03-04", "2024-03-04", where={"model": ["B"]}) == [
        (None, D("0.1"))
    ]
    assert query(con, ["ai_cost_per_1k_ai_words"], "2024-03-04", "2024-03-04", by=["model"]) == [
        (None, "A", D("0.15")),
        (None, "B", D("0.1")),
    ]
    # no AI words on 3/11: empty, never a division by zero
    assert query(con, ["ai_cost_per_1k_ai_words"], "2024-03-11", "2024-03-11") == [(None, None)]


def test_trailing_windows_end_at_the_period_end_and_reach_before_the_range(con):
    # at 3/10: dau {u1}; wau 3/4-3/10 {u2, u3, u1}; mau 2/10-3/10 {u1, u2, u3}
    assert query(con, ["dau", "wau", "mau"], "2024-03-01", "2024-03-10") == [(None, 1, 3, 3)]
    # a two-day range still counts the 7 days ending on 3/10 (u2 was active on 3/4, before the range)
    assert query(con, ["wau"], "2024-03-09", "2024-03-10") == [(None, 3)]
    # 3/11 has nobody active that day; 3/5-3/11 holds u3 and u1
    assert query(con, ["dau", "wau"], "2024-03-10", "2024-03-11", grain="day") == [
        (date(2024, 3, 10), 1, 3),
        (date(2024, 3, 11), 0, 2),
    ]
    # weeks: the 7 days ending on Sunday 3/10, then on 3/17 (nobody)
    assert query(con, ["wau"], "2024-03-04", "2024-03-17", grain="week") == [
        (date(2024, 3, 4), 3),
        (date(2024, 3, 11), 0),
    ]
    assert query(con, ["mau"], "2024-03-01", "2024-03-10", by=["tier"]) == [(None, "free", 2), (None, "premium", 1)]


def test_stickiness_is_a_ratio_of_sums(con):
    # active user-days 3/9-3/10: u3 + u1 = 2; MAU summed over the days: 3 + 3 = 6
    assert query(con, ["stickiness", "active_user_days", "mau_days"], "2024-03-09", "2024-03-10") == [
        (None, 2 / 6, 2, 6)
    ]
    # by plan: u3 + u1 over 2 + 2 on no plan; u2 (Pro) was not active on either day but in both MAUs: 0 / 2
    assert query(con, ["stickiness"], "2024-03-09", "2024-03-10", by=["plan"]) == [
        (None, "(no plan)", 2 / 4),
        (None, "Pro", 0.0),
    ]


def test_balance_at_the_period_end(con):
    catalog = {**definitions(), **{m["name"]: parse_metric(m, "test") for m in TEST_METRICS}}
    # end of February: subscription 1 (10.00); end of March: subscription 2 (20.00), subscription 3 ended at the
    # exclusive midnight; April cut at 4/10: the end of 4/10, subscription 2
    assert query(con, ["mrr_test", "customers_test"], "2024-02-01", "2024-04-10", grain="month", catalog=catalog) == [
        (date(2024, 2, 1), D("10.00"), 1),
        (date(2024, 3, 1), D("20.00"), 1),
        (date(2024, 4, 1), D("20.00"), 1),
    ]
    # the end of 3/15 (subscription 2 started at noon); the end of 3/31 is April's first midnight, when
    # subscription 3 has just ended
    assert query(con, ["mrr_test"], "2024-03-15", "2024-03-15", catalog=catalog) == [(None, D("20.00"))]
    assert query(con, ["mrr_test"], "2024-03-14", "2024-03-14", catalog=catalog) == [(None, D("10.00"))]
    assert query(con, ["mrr_test"], "2024-03-31", "2024-03-31", by=["user_id"], catalog=catalog) == [
        (None, "u1", D("20.00"))
    ]


def test_a_monthly_model_counts_complete_months_only(con):
    catalog = {**definitions(), **{m["name"]: parse_metric(m, "test") for m in TEST_METRICS}}
    # 2/15-4/30: February is cut, so March and April only; a cut month is empty, never 0
    assert query(con, ["margin_test"], "2024-02-15", "2024-04-30", catalog=catalog) == [(None, D("500.00"))]
    assert query(con, ["margin_test"], "2024-02-15", "2024-04-29", grain="month", catalog=catalog) == [
        (date(2024, 2, 1), None),
        (date(2024, 3, 1), D("200.00")),
        (date(2024, 4, 1), None),
    ]
    assert query(con, ["margin_test"], "2024-03-02", "2024-03-31", catalog=catalog) == [(None, None)]


@pytest.mark.parametrize(
    ("names", "options", "message"),
    [
        (["ai_cost_per_1k_ai_words"], {"by": ["tier"]}, "metric ai_cost_per_1k_ai_words cannot be cut by 'tier'"),
        (["ai_cost", "stickiness"], {"where": {"model": ["A"]}}, "metric stickiness cannot be cut by 'model'"),
        (["ai_cost", "nope"], {}, "unknown metric nope;"),
        (["ai_cost"], {"grain": "year"}, "unknown grain 'year'"),
        (["ai_cost"], {"end": date(2024, 3, 1)}, "the range starts (2024-03-04) after it ends (2024-03-01)"),
        (  # a warehouse from before the mart was added: the first line of DuckDB's error, then what to do
            ["sessions"],
            {},
            "metric sessions: the warehouse has no marts.session_facts (Catalog Error: Table with name session_facts"
            " does not exist!); run `ebook-analytics etl run` to rebuild the marts",
        ),
    ],
)
def test_requests_the_definitions_do_not_allow_are_refused(con, names, options, message):
    arguments = {"start": date(2024, 3, 4), "end": date(2024, 3, 10), **options}
    with pytest.raises(UserError) as caught:
        query_metrics(con, names, **arguments)
    assert message in str(caught.value)


def test_bad_definitions_are_refused(tmp_path: Path):
    good = {
        "name": "x",
        "label": "X",
        "description": "d",
        "unit": "count",
        "kind": "sum",
        "model": "marts.t",
        "time": "day",
        "expression": "n",
        "dimensions": [],
        "grains": ["day"],
        "audience": ["admin"],
    }
    cases = [
        ({**good, "kind": "median"}, "`kind` must be one of"),
        ({key: value for key, value in good.items() if key != "time"}, "missing time"),
        ({**good, "window_days": 7}, "window_days not allowed for kind sum"),
        ({**good, "audience": ["everyone"]}, "`audience` must be among the roles"),
        ({**good, "model": "staging.t; drop table x"}, "`model` must be marts.<table>"),
        (
            {**good, "kind": "ratio", "numerator": "x", "denominator": "y"},
            "expression, model, time not allowed",
        ),
    ]
    for definition, message in cases:
        (tmp_path / "m.yml").write_text(yaml.safe_dump({"metrics": [definition]}))
        with pytest.raises(UserError) as caught:
            load_metrics(tmp_path)
        assert message in str(caught.value), definition
    ratio = {**good, "name": "r", "kind": "ratio", "numerator": "x", "denominator": "missing"}
    for key in ("model", "time", "expression"):
        del ratio[key]
    (tmp_path / "m.yml").write_text(yaml.safe_dump({"metrics": [good, ratio]}))
    with pytest.raises(UserError, match="`missing` is not a defined metric"):
        load_metrics(tmp_path)
    (tmp_path / "m.yml").write_text(yaml.safe_dump({"metrics": [good, good]}))
    with pytest.raises(UserError, match="'x' is also defined"):
        load_metrics(tmp_path)


def test_docs_are_generated_from_the_definitions():
    assert DOC_PATH.read_text() == render(definitions()), "run `python -m pipelines.metrics.docs`"


def test_notebook_function_reads_the_warehouse_read_only(warehouse_path: Path):
    frame = metrics(
        ["ai_cost", "ai_generations"], date(2024, 3, 4), date(2024, 3, 5), by=["model"], warehouse=warehouse_path
    )
    assert list(frame.columns) == ["period", "model", "ai_cost", "ai_generations"]
    assert frame.to_dict("records") == [
        {"period": None, "model": "A", "ai_cost": D("0.090000"), "ai_generations": 7},
        {"period": None, "model": "B", "ai_cost": D("0.100000"), "ai_generations": 1},
    ]


def test_cli_query_and_list(warehouse_path: Path, tmp_path: Path):
    env = {"EBOOK_ANALYTICS_HOME": str(tmp_path), "EBOOK_ANALYTICS_WAREHOUSE": str(warehouse_path), "PATH": ""}
    result = run_cli(
        "metrics",
        "query",
        "ai_cost,ai_generations,ai_latency_p95,ai_failure_rate",
        "--start",
        "2024-03-04",
        "--end",
        "2024-03-11",
        "--grain",
        "week",
        "--by",
        "model",
        "--where",
        "model=B",
        "--where",
        "model=A",
        "--format",
        "json",
        env=env,
    )
    assert json.loads(result.stdout) == [
        {
            "period": "2024-03-04",
            "model": "A",
            "ai_cost": "0.090000",
            "ai_generations": 7,
            "ai_latency_p95": 2000.0,
            "ai_failure_rate": 1 / 7,
        },
        {
            "period": "2024-03-04",
            "model": "B",
            "ai_cost": "0.100000",
            "ai_generations": 2,
            "ai_latency_p95": 9000.0,
            "ai_failure_rate": 0.0,
        },
        {
            "period": "2024-03-11",
            "model": "B",
            "ai_cost": "0.050000",
            "ai_generations": 1,
            "ai_latency_p95": 3000.0,
            "ai_failure_rate": 0.0,
        },
    ]
    csv = run_cli(
        "metrics",
        "query",
        "ai_cost",
        "--start",
        "2024-03-04",
        "--end",
        "2024-03-05",
        "--grain",
        "day",
        "--format",
        "csv",
        env=env,
    )
    assert csv.stdout == "period,ai_cost\n2024-03-04,0.130000\n2024-03-05,0.060000\n"
    table = run_cli("metrics", "query", "ai_tokens", "--start", "2024-03-04", "--end", "2024-03-04", env=env)
    assert table.stdout == "period  ai_tokens\n        1300\n"
    refused = run_cli(
        "metrics",
        "query",
        "ai_cost",
        "--start",
        "2024-03-04",
        "--end",
        "2024-03-04",
        "--by",
        "plan",
        env=env,
        check=False,
    )
    assert refused.returncode == 1
    assert refused.stderr.startswith(
        "error: metric ai_cost cannot be cut by 'plan' (its dimensions: provider, model, tier, status);"
    )
    assert refused.stderr.count("\n") == 1
    listed = json.loads(run_cli("metrics", "list", "--json", env=env).stdout)
    assert [entry["name"] for entry in listed] == list(definitions())
    assert listed[0]["description"] == definitions()[listed[0]["name"]].description
