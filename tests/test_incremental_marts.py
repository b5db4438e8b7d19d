"""Incremental marts (docs/etl.md, "Incremental marts"): after each kind of change an incremental run refreshes only
the periods the changed rows reach, and every table equals a `--full` run's on the same source, row for row."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines import warehouse
from pipelines.publish.lake import WORK_FILE
from pipelines.transform import runner
from pipelines.transform.changes import change_table
from pipelines.transform.contracts import load_contracts, shared_mappings
from tests.conftest import full_run_differences, last_run, run_cli
from tests.etl_rows import G3, M1, P1, PRO, S1, SUB1, U1, U2, U3, execute, insert_platform, query_warehouse

SUB3 = "41000000-0000-0000-0000-000000000003"

# Events beside the platform's two on 2024-03-02 (E1 U1 04:30 UTC, E2 U2 10:00): one id per event, named by number.
# Generations and usage beside the platform's (G1 U1 chapter C1 2024-03-02 04:30 UTC, G2 U1 10:00, G3 U2 11:00; U1's
# 1200 ai_tokens for 0.01 on 2024-03-02): G6 on C1 at 23:58, G5 four minutes later, past midnight (a regeneration
# of G6, on the next day).
EVENT = "f1000000-0000-0000-0000-0000000000{:02d}"
GENERATION = "d1000000-0000-0000-0000-0000000000{:02d}"
C1 = "c0000000-0000-0000-0000-000000000001"
EVENTS_SQL = f"""
insert into analytics.user_events (id, user_id, event_type, timestamp) values
  ('{EVENT.format(0)}', null, 'page_view', '2024-03-01 12:00:00+00'),
  ('{EVENT.format(3)}', '{U1}', 'login', '2024-03-05 10:00:00+00'),
  ('{EVENT.format(4)}', '{U2}', 'login', '2024-03-05 11:00:00+00'),
  ('{EVENT.format(5)}', '{U2}', 'page_view', '2024-03-10 09:00:00+00'),
  ('{EVENT.format(6)}', null, 'page_view', '2024-03-10 12:00:00+00'),
  ('{EVENT.format(7)}', '{U1}', 'login', '2024-04-10 08:00:00+00');
insert into ai_processing.ai_generations
  (id, user_id, project_id, chapter_id, model_id, prompt, tokens_used, cost, status, created_at) values
  ('{GENERATION.format(5)}', '{U1}', '{P1}', '{C1}', '{M1}', 'p', 100, 0.001, 'completed', '2024-03-03 00:02:00+00'),
  ('{GENERATION.format(6)}', '{U1}', '{P1}', '{C1}', '{M1}', 'p', 200, 0.002, 'completed', '2024-03-02 23:58:00+00');
"""
USAGE = "insert into billing.usage_records (user_id, resource_type, quantity, total_cost, usage_date) values "

# Each change, then the refresh it must cause: (mode, periods) of a few marts; every mart not reached is skipped.
NEW_DAY = f"""
insert into analytics.user_events (id, user_id, event_type, timestamp) values
  ('{EVENT.format(8)}', '{U1}', 'login', '2024-04-13 09:00:00+00'),
  ('{EVENT.format(9)}', '{U2}', 'page_view', '2024-04-13 23:59:59+00');
{USAGE} ('{U1}', 'exports', 2, 0.50, '2024-04-13');
insert into ai_processing.ai_generations (id, user_id, model_id, prompt, status, created_at)
  values ('{GENERATION.format(7)}', '{U2}', '{M1}', 'p', 'failed', '2024-04-13 12:00:00+00');
"""
# U3's late login lands in session S1 (created 2024-03-02 00:00 UTC, E1 04:30): S1 now ends at 15:00. An anonymous
# page view on the newest day beside it: the spine refreshes two runs of days, each from its own window of activity.
# U1's first export, on a day they were active already.
LATE_ROW = f"""
insert into analytics.user_events (id, user_id, session_id, event_type, timestamp) values
  ('{EVENT.format(10)}', '{U3}', '{S1}', 'login', '2024-03-02 15:00:00+00'),
  ('{EVENT.format(11)}', null, null, 'page_view', '2024-04-13 18:00:00+00'),
  ('{EVENT.format(12)}', '{U1}', null, 'export', '2024-03-02 16:00:00+00');
{USAGE} ('{U3}', 'ai_tokens', 300, 0.03, '2024-03-02');
insert into ai_processing.ai_generations (id, user_id, model_id, prompt, status, created_at)
  values ('{GENERATION.format(8)}', '{U3}', '{M1}', 'p', 'failed', '2024-03-02 15:00:00+00');
"""
# G6 moves to 03-07: G5 (03-03) is no longer a regeneration (G1, its previous now, is 20 hours before it). S1's
# creation moves to the evening before: the session starts, and lands, on 03-01.
MOVED_ROW = f"""
update analytics.user_events set timestamp = '2024-03-07 10:00:00+00' where id = '{EVENT.format(3)}';
update users.user_sessions set created_at = '2024-03-01 20:00:00+00' where id = '{S1}';
update ai_processing.ai_generations set created_at = '2024-03-07 10:00:00+00' where id = '{GENERATION.format(6)}';
"""
# Beside them U1 exports again on 03-09: not their first export.
DELETED_ROW = f"""
delete from analytics.user_events where id = '{EVENT.format(5)}';
insert into analytics.user_events (id, user_id, event_type, timestamp) values
  ('{EVENT.format(13)}', '{U1}', 'export', '2024-03-09 09:00:00+00');
delete from billing.usage_records where user_id = '{U1}' and usage_date = '2024-03-02';
delete from ai_processing.ai_generations where id = '{G3}';
"""
# U3 changes, not their tier: their usage days are not reached.
NULL_DATE = f"update users.users set created_at = null where id = '{U3}'"
# The events of the last two event days (04-10, 04-13) gone: the last event day is 03-10, and the days between go too.
# U1's first export (03-02) gone, and one on 03-08 beside it: their first export is now that one.
LAST_DAYS_DELETED = f"""
delete from analytics.user_events where id in
  ('{EVENT.format(7)}', '{EVENT.format(8)}', '{EVENT.format(9)}', '{EVENT.format(11)}', '{EVENT.format(12)}');
insert into analytics.user_events (id, user_id, event_type, timestamp) values
  ('{EVENT.format(14)}', '{U1}', 'export', '2024-03-08 09:00:00+00');
"""


def _tables(con: duckdb.DuckDBPyConnection, database: str) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_catalog = $db and table_schema in ('staging', 'history', 'marts') order by 1",
            {"db": database},
        ).fetchall()
    ]


def _snapshot_day(run: dict) -> date:
    """The run's snapshot date, UTC (the `$snapshot_date` its marts bind)."""
    return datetime.fromisoformat(run["snapshot_at"]).astimezone(UTC).date()


def _refreshed(run: dict, mart: str) -> dict:
    """How the run refreshed the mart, without its timing."""
    return {key: value for key, value in run["marts"][mart].items() if key != "seconds"}


def _daily(live: Path, day: str) -> tuple:
    return query_warehouse(
        live, "select dau, wau, mau, events, new_users from marts.engagement_daily where day = $day", {"day": day}
    )[0]


def _usage(live: Path, day: str) -> tuple:
    """(quantity, total_cost, rows) of usage_daily on the day."""
    return query_warehouse(
        live, "select sum(quantity), sum(total_cost), count(*) from marts.usage_daily where day = $day", {"day": day}
    )[0]


def _ai_cost(live: Path, day: str) -> list[tuple]:
    """(generations, tokens_used, cost_usd) of ai_cost_daily on the day."""
    return query_warehouse(
        live, "select generations, tokens_used, cost_usd from marts.ai_cost_daily where day = $day", {"day": day}
    )


def _session(live: Path) -> tuple:
    """(day, started_at, ended_at, events, length_seconds) of session S1."""
    sql = (
        "select day::varchar, started_at::varchar, ended_at::varchar, events, length_seconds "
        "from marts.session_facts where session_id = $id"
    )
    return query_warehouse(live, sql, {"id": S1})[0]


def _first_export(live: Path) -> str:
    """U1's first export (user_milestones), UTC."""
    sql = "select first_export_at::varchar from marts.user_milestones where user_id = $id"
    return query_warehouse(live, sql, {"id": U1})[0][0]


def _regeneration(live: Path, generation: str) -> bool:
    sql = "select is_regeneration from marts.ai_generation_facts where generation_id = $id"
    return bool(query_warehouse(live, sql, {"id": generation})[0][0])


def test_each_incremental_run_refreshes_only_what_changed_and_equals_full(
    source_url: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    # Logical capture, the default where the source allows it; the xmin method's change sets are held to a --full
    # run table by table, marts included, in tests/test_incremental.py.
    env = {**cli_env, "EBOOK_ANALYTICS_CAPTURE": "logical"}
    insert_platform(source_url)
    execute(source_url, EVENTS_SQL)
    run_cli("etl", "run", env=env)
    live = Path(env["EBOOK_ANALYTICS_WAREHOUSE"])
    assert _refreshed(last_run(env), "engagement_daily") == {"mode": "built"}
    first_day = _snapshot_day(last_run(env))  # the snapshot date the marts were built with

    skipped = {"mode": "skipped"}
    # The spine refreshes the 30 days a changed day's MAU window reaches (its days beyond its last event day have
    # no row), and when it loses its last day, again from its first day on (the days before the new last one went).
    steps = [
        # two days after the last event day: the spine gains the days between (04-11, 04-12)
        ("new_day", NEW_DAY, ["2024-04-13"], _day_range("2024-04-11", "2024-05-12")),
        (
            "late_row",
            LATE_ROW,
            ["2024-03-02", "2024-04-13"],
            [*_day_range("2024-03-02", "2024-03-31"), *_day_range("2024-04-13", "2024-05-12")],
        ),
        ("moved_row", MOVED_ROW, ["2024-03-05", "2024-03-07"], _day_range("2024-03-05", "2024-04-05")),
        ("deleted_row", DELETED_ROW, ["2024-03-09", "2024-03-10"], _day_range("2024-03-09", "2024-04-08")),
        ("null_date", NULL_DATE, None, [*_day_range("2024-03-01", "2024-03-30"), "null"]),
        (
            "last_days_deleted",
            LAST_DAYS_DELETED,
            ["2024-03-02", "2024-03-08", "2024-04-10", "2024-04-13"],
            [">= 2024-03-01"],
        ),
    ]
    # The days usage_daily, ai_generation_facts, ai_cost_daily (and so ai_writer_days) and session_facts refresh
    # (None: not touched; a dict: as said).
    no_period = {"mode": "skipped", "reason": "no period reached"}
    by_day: dict[str, tuple[list[str] | dict | None, ...]] = {
        "new_day": (["2024-04-13"], ["2024-04-13"], ["2024-04-13"], no_period),  # events without a session
        "late_row": (["2024-03-02"], ["2024-03-02"], ["2024-03-02"], ["2024-03-02"]),
        # G6 leaves 03-02 for 03-07, and G5 (03-03), next after it on C1, loses its previous
        "moved_row": (
            None,
            ["2024-03-02", "2024-03-03", "2024-03-07"],
            ["2024-03-02", "2024-03-07"],
            ["2024-03-01", "2024-03-02"],
        ),
        "deleted_row": (["2024-03-02"], ["2024-03-02"], ["2024-03-02"], no_period),
        # U3's row changed, not their tier: none of their usage days is reached
        "null_date": (no_period, None, None, None),
        "last_days_deleted": (None, None, None, no_period),  # events without a session
    }
    # The staged tables each change reaches (their change sets publish them).
    events_usage_generations = ["staging.ai_generations", "staging.usage_records", "staging.user_events"]
    staged = {
        "new_day": events_usage_generations,
        "late_row": events_usage_generations,
        "moved_row": ["staging.ai_generations", "staging.user_events", "staging.user_sessions"],
        "deleted_row": events_usage_generations,
        "null_date": ["staging.users"],
        "last_days_deleted": ["staging.user_events"],
    }
    # user_milestones refreshes the users whose first export or first completed generation may move (one later than
    # theirs moves neither: G6 moved, U1's second export), or whose sign-up moved.
    milestones = {name: {"mode": "key", "keys": 1} for name in ("late_row", "null_date", "last_days_deleted")}
    for name, change, activity_days, engagement_days in steps:
        execute(source_url, change)
        run_cli("etl", "run", env=env)
        run = last_run(env)
        assert (run["mode"], run["status"]) == ("incremental", "published"), name
        marts = {mart: _refreshed(run, mart) for mart in run["marts"]}
        if activity_days is None:  # a user's sign-up day: no event day changed
            assert marts["user_activity_days"] == {"mode": "skipped"}, name
        else:
            for mart in ("user_activity_days", "events_by_type_daily", "events_by_category_daily"):
                assert marts[mart] == {"mode": "day", "periods": activity_days}, (name, mart)
        assert marts["engagement_daily"] == {"mode": "day", "periods": engagement_days}, name
        assert marts["user_milestones"] == milestones.get(name, {"mode": "skipped", "reason": "no key reached"}), name
        by_day_marts = ("usage_daily", "ai_generation_facts", "ai_cost_daily", "session_facts")
        for mart, days in zip(by_day_marts, by_day[name], strict=True):
            expected = days if isinstance(days, dict) else {"mode": "day", "periods": days} if days else skipped
            assert marts[mart] == expected, (name, mart)
        # ai_writer_days reads what ai_cost_daily reads (generations, models), mapped alike: the same days
        assert marts["ai_writer_days"] == marts["ai_cost_daily"], name
        # Marts built from neither events, users, usage nor generations are not touched at all, nor one binding a
        # setting; nor, on the day they were built, those binding the snapshot date (subscriptions, MRR,
        # statements). One binding the snapshot instant is recomputed every run.
        for mart in ("ai_models", "project_funnel", "writing_progress_daily", "subscription_intervals"):
            assert marts[mart] == skipped, (name, mart)
        same_day = _snapshot_day(run) == first_day
        for mart in ("subscription_months", "mrr_monthly", "revenue_share_statements"):
            assert marts[mart] == (skipped if same_day else {"mode": "whole", "reason": "a parameter changed"}), mart
        assert marts["organization_monthly"] == {"mode": "whole", "reason": "a parameter changed"}, name
        # Published from the change sets (docs/etl.md, "At the cost of the change"): the staged tables the change
        # touched and the marts it refreshed; compared whole only the run record and marts rebuilt whole.
        publication = run["publication"]
        assert [table for table in publication["by_change_set"] if table.startswith("staging.")] == staged[name]
        written = {table.removeprefix("marts.") for table in publication["by_change_set"] if table.startswith("marts.")}
        assert written <= {mart for mart, how in marts.items() if how["mode"] != "skipped"}, name
        for table in publication["compared"]:
            assert table.startswith("meta.") or marts[table.removeprefix("marts.")]["mode"] == "whole", (name, table)
        assert full_run_differences(env, tmp_path / name) == {}, name

        # Hand-worked: (dau, wau, mau, events, new_users) on the days the change landed on.
        if name == "new_day":
            assert _daily(live, "2024-04-13") == (2, 2, 2, 2, 0)
            assert _daily(live, "2024-04-12") == (0, 1, 1, 0, 0)  # U1's 04-10 login
            assert _usage(live, "2024-04-13") == (2, Decimal("0.50"), 1)
        elif name == "late_row":  # U3's login 42 days before the newest day: with E1 (U1) and E2 (U2)
            assert _daily(live, "2024-03-02") == (3, 3, 3, 4, 0)
            assert _first_export(live) == "2024-03-02 16:00:00+00"
            assert _daily(live, "2024-03-31") == (0, 0, 3, 0, 0)  # U1 and U2 on 03-05, U3 on 03-02
            assert _usage(live, "2024-03-02") == (1500, Decimal("0.04"), 2)  # U3's 300 tokens beside U1's 1200
            assert _regeneration(live, GENERATION.format(5))  # four minutes after G6
            assert _session(live) == ("2024-03-02", "2024-03-02 00:00:00+00", "2024-03-02 15:00:00+00", 2, 54000)
        elif name == "moved_row":  # U1's 03-05 login now on 03-07
            assert _daily(live, "2024-03-05") == (1, 3, 3, 1, 0)
            assert _daily(live, "2024-03-07") == (1, 3, 3, 1, 0)
            assert not _regeneration(live, GENERATION.format(5))
            assert _session(live) == ("2024-03-01", "2024-03-01 20:00:00+00", "2024-03-02 15:00:00+00", 2, 68400)
            # G1, G2, G3 and G8 stay on 03-02; G6 alone on 03-07
            assert _ai_cost(live, "2024-03-02") == [(4, 1200, Decimal("0.012345"))]
            assert _ai_cost(live, "2024-03-07") == [(1, 200, Decimal("0.002000"))]
        elif name == "deleted_row":  # U2's 03-10 page view gone: the anonymous one is left
            assert _daily(live, "2024-03-10") == (0, 2, 3, 1, 0)
            assert _usage(live, "2024-03-02") == (300, Decimal("0.03"), 1)  # U1's row gone
            assert _ai_cost(live, "2024-03-02") == [(3, 1200, Decimal("0.012345"))]  # G3 gone
        elif name == "null_date":  # U3's sign-up (2024-03-01 08:00 UTC) no longer dated
            assert _daily(live, "2024-03-01") == (0, 0, 0, 1, 0)
        else:  # the days from 03-01 to the last event day, 03-10, are left
            days = "select min(day)::varchar, max(day)::varchar, count(*) from marts.engagement_daily"
            assert query_warehouse(live, days) == [("2024-03-01", "2024-03-10", 10)]
            assert query_warehouse(live, "select max(day)::varchar from marts.mau_daily") == [("2024-03-10",)]
            assert _first_export(live) == "2024-03-08 09:00:00+00"  # 03-02's gone


def _day_range(first: str, last: str) -> list[str]:
    """Every day from `first` to `last`, ISO dates as the run record lists them."""
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [date.fromordinal(day).isoformat() for day in range(start.toordinal(), end.toordinal() + 1)]


def _days(*days: int) -> list[date]:
    return [date(2024, 1, day) for day in days]


@pytest.mark.fast
@pytest.mark.parametrize(
    ("periods", "spine_from", "with_null", "expected"),
    [
        # a day of new events and an old day that lost one: two windows, not the year between
        ([date(2025, 12, 1), date(2026, 11, 1), date(2026, 11, 2)], None, False,
         [(date(2025, 12, 1), date(2025, 12, 1)), (date(2026, 11, 1), date(2026, 11, 2))]),
        # six runs: the closest (two days apart: 1-3 and 5, then 10 and 12) merged until four are left
        (_days(1, 2, 3, 5, 10, 12, 20, 30), None, False,
         [tuple(_days(1, 5)), tuple(_days(10, 12)), tuple(_days(20, 20)), tuple(_days(30, 30))]),
        (_days(9, 20), date(2024, 1, 9), False, [(date(2024, 1, 9), None)]),  # a spine: from its first day on
        # a spine refreshed again from its first day, before the first affected one (it lost an end): from that day on
        (_days(9, 20), date(2024, 1, 5), False, [(date(2024, 1, 5), None)]),
        (_days(9), None, True, [(None, None)]),  # rows without a day: every event
    ],
)  # fmt: skip
def test_a_refresh_by_day_reads_each_run_of_consecutive_days(
    periods: list[date], spine_from: date | None, with_null: bool, expected: list[tuple[date | None, date | None]]
) -> None:
    assert runner._windows(periods, spine_from=spine_from, with_null=with_null) == expected


def test_a_mart_whose_table_no_longer_has_the_models_columns_is_replaced(
    source_url: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """A table whose columns are not its contract's (a working file an older release built: a column more, a column
    fewer) is built anew, whether the mart refreshes whole or by day, and published with the contract's columns;
    the run still equals a full one."""
    insert_platform(source_url)
    run_cli("etl", "run", env=cli_env)
    live = Path(cli_env["EBOOK_ANALYTICS_WAREHOUSE"])
    with duckdb.connect(str(live.parent / WORK_FILE)) as con:
        con.execute("alter table marts.subscription_months add column retired integer")
        con.execute("alter table marts.user_activity_days drop column first_export_at")
    execute(source_url, f"update billing.user_subscriptions set amount = 19.99 where id = '{SUB1}'")
    execute(
        source_url,
        f"insert into analytics.user_events (user_id, event_type, timestamp) values ('{U1}', 'export', now())",
    )
    run_cli("etl", "run", env=cli_env)
    run = last_run(cli_env)
    assert [_refreshed(run, mart) for mart in ("subscription_months", "user_activity_days")] == [{"mode": "built"}] * 2
    columns = "select table_name, column_name from information_schema.columns where table_schema = 'marts'"
    published = set(query_warehouse(live, columns))
    assert ("subscription_months", "retired") not in published
    assert ("user_activity_days", "first_export_at") in published
    assert full_run_differences(cli_env, tmp_path) == {}


def test_a_plan_changed_in_place_reaches_every_subscription_and_sign_up_on_it(
    source_url: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """Pro renamed and made yearly in place, and Carol (signed up on 2024-03-01, no plan) subscribing to it on
    2024-03-10. The marts refreshed by key reach U1's subscription and plan months through the plan, Carol's through
    her subscription, and both sign-ups through their plan months whose plan changed (Carol's sign-up month now has
    one); the run equals a full one."""
    insert_platform(source_url)
    run_cli("etl", "run", env=cli_env)
    live = Path(cli_env["EBOOK_ANALYTICS_WAREHOUSE"])
    sign_ups = f"select user_id::varchar, plan from marts.user_signups where user_id in ('{U1}', '{U3}') order by 1"
    assert query_warehouse(live, sign_ups) == [(U1, "(no plan)"), (U3, "(no plan)")]
    execute(
        source_url,
        "update billing.subscription_plans set name = 'Pro Yearly', billing_cycle = 'yearly', price = 99.00"
        f" where id = '{PRO}';"
        " insert into billing.user_subscriptions"
        " (id, user_id, plan_id, current_period_start, current_period_end, amount, created_at)"
        f" values ('{SUB3}', '{U3}', '{PRO}', '2024-03-10 12:00:00+00', '2025-03-10 12:00:00+00', 99.00,"
        " '2024-03-10 12:00:00+00')",
    )
    run_cli("etl", "run", env=cli_env)
    run = last_run(cli_env)
    marts = ("subscriptions", "plan_utilization_monthly", "user_signups")
    assert [_refreshed(run, mart) for mart in marts] == [{"mode": "key", "keys": 2}] * 3
    subscriptions = "select subscription_id::varchar, plan, billing_cycle, mrr_usd from marts.subscriptions order by 1"
    assert query_warehouse(live, subscriptions) == [
        (SUB1, "Pro Yearly", "yearly", Decimal("0.832500")),  # 9.99 a year now (its amount): 0.8325 a month
        (SUB3, "Pro Yearly", "yearly", Decimal("8.250000")),
    ]
    assert query_warehouse(live, sign_ups) == [(U1, "(no plan)"), (U3, "Pro Yearly")]  # U1 signed up in January
    assert full_run_differences(cli_env, tmp_path) == {}


@pytest.mark.fast
def test_a_plan_month_reaches_the_users_event_days_in_it_only_when_its_plan_changed(tmp_path: Path) -> None:
    """The event marts' mapping of `plan_utilization_monthly`'s change set (their declaration, as the runner runs
    it), on hand-made rows: a month whose other columns changed reaches nothing; one whose plan changed, appeared or
    went reaches its user's event days in that month (UTC days), and no other month's."""
    declared = {
        contract.name: dict(contract.refresh.inputs).get("marts.plan_utilization_monthly")
        for contract in load_contracts()
    }
    expression = shared_mappings()["plan_month_event_days"]
    marts = {"user_activity_days", "events_by_type_daily", "events_by_category_daily"}
    assert {name for name, declaration in declared.items() if declaration == expression} == marts
    con = warehouse.connect(tmp_path / "w.duckdb")
    con.execute(
        "create schema staging; create table staging.user_events (user_id varchar, timestamp timestamptz);"
        f" create temp table {change_table('marts.plan_utilization_monthly')}"
        " (_version varchar, user_id varchar, month date, plan varchar, tokens bigint)"
    )
    events = [
        ("same plan", "2024-03-05 10:00:00+00"),
        ("upgraded", "2024-02-29 23:30:00+00"),  # February: another month
        ("upgraded", "2024-03-01 00:30:00+01"),  # 23:30 UTC on February 29th: another month too
        ("upgraded", "2024-03-02 09:00:00+00"),
        ("upgraded", "2024-03-02 18:00:00+00"),
        ("upgraded", "2024-03-31 23:59:59+00"),
        ("subscribed", "2024-03-10 12:00:00+00"),
        ("left", "2024-03-20 12:00:00+00"),
    ]
    con.executemany("insert into staging.user_events values (?, ?)", events)
    changes = [
        ("old", "same plan", "2024-03-01", "Pro", 10),  # its tokens moved, not its plan
        ("new", "same plan", "2024-03-01", "Pro", 20),
        ("old", "upgraded", "2024-03-01", "Basic", 10),
        ("new", "upgraded", "2024-03-01", "Pro", 10),
        ("new", "subscribed", "2024-03-01", "Basic", 0),  # a month that appeared
        ("old", "left", "2024-03-01", "Basic", 5),  # a month that went
    ]
    con.executemany(f"insert into {change_table('marts.plan_utilization_monthly')} values (?, ?, ?, ?, ?)", changes)
    with runner.mapping_plans(con):
        reached = con.execute(runner.mapping_select("marts.plan_utilization_monthly", expression, "day")).fetchall()
    assert sorted(day for (day,) in reached) == [date(2024, 3, d) for d in (2, 10, 20, 31)]
