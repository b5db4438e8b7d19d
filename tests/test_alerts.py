"""Alert rules on small hand-made mart tables in a real DuckDB file (every value worked out by hand), the alert
state's episodes, and the rule files' validation. The drill through PostgreSQL and the ETL is in
tests/test_alerts_drill.py.

The snapshot is 2024-03-31 18:00 UTC: the latest day of the model rules is 2024-03-31, their baseline the 28 days
2024-03-03..2024-03-30.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from pipelines import warehouse
from pipelines.alerts.docs import DOC_PATH, render
from pipelines.alerts.evaluate import Breach, Context, evaluate_rule, exact
from pipelines.alerts.rules import load_rules, parse_rule, rule, rules
from pipelines.alerts.state import open_state, read_episodes, reconcile
from pipelines.errors import UserError
from pipelines.metrics.definitions import definitions

pytestmark = pytest.mark.fast

D = Decimal
SNAPSHOT = datetime(2024, 3, 31, 18, 0, tzinfo=UTC)
LAST_DAY = date(2024, 3, 31)
BASELINE_DAYS = [LAST_DAY - timedelta(days=n) for n in range(28, 0, -1)]  # 2024-03-03 .. 2024-03-30
WINDOW = "2024-03-31 against 2024-03-03..2024-03-30"


def _facts(con: duckdb.DuckDBPyConnection, rows: Iterable[tuple[Any, ...]]) -> None:
    """marts.ai_generation_facts with the columns the AI metrics read: (day, model, status, cost, latency ms)."""
    con.execute(
        "create table marts.ai_generation_facts (day date, generation_id integer, provider varchar, model varchar,"
        " tier varchar, status varchar, cost_usd decimal(18, 6), tokens_used bigint, processing_time_ms integer,"
        " quality_rating integer)"
    )
    values = [(day, n, model, status, cost, ms) for n, (day, model, status, cost, ms) in enumerate(rows)]
    if values:
        con.executemany("insert into marts.ai_generation_facts values (?, ?, 'p', ?, 'free', ?, ?, 0, ?, null)", values)


def _warehouse(tmp_path: Path, generations: Iterable[tuple[Any, ...]] = ()) -> duckdb.DuckDBPyConnection:
    con = warehouse.connect(tmp_path / "w.duckdb")
    con.execute("create schema marts; create schema staging; create schema meta")
    _facts(con, generations)
    return con


def _context(now: datetime = SNAPSHOT, runs: Iterable[dict[str, Any]] = ()) -> Context:
    return Context(snapshot_at=SNAPSHOT, now=now, runs=lambda: iter(runs))


def _times(count: int, *row: Any) -> list[tuple[Any, ...]]:
    return [row] * count


def test_cost_spike_against_the_median_day_quiet_days_counting_as_zero(tmp_path: Path) -> None:
    # Baseline: 13 quiet days, 7 days at 0.50 and 8 at 1.20 (two generations of 0.60): sorted, the 14th and 15th of
    # the 28 daily costs are both 0.50, so the median is 0.50 and the threshold 1.00.
    rows = [(day, "m", "completed", "0.500000", 100) for day in BASELINE_DAYS[13:20]]
    rows += [(day, "m", "completed", "0.600000", 100) for day in BASELINE_DAYS[20:] for _ in range(2)]
    rows += [(LAST_DAY, "m", "completed", "1.000001", 100), (LAST_DAY, "m", "failed", None, None)]
    con = _warehouse(tmp_path, rows)
    assert evaluate_rule(con, rule("ai_cost_spike"), _context()) == [
        Breach("ai_cost_spike", "ai_cost", D("1.000001"), D("1"), WINDOW, "baseline 0.5")
    ]
    # Exactly twice the median is not over it.
    con.execute(
        "update marts.ai_generation_facts set cost_usd = 1.0 where status = 'completed' and day = ?", [LAST_DAY]
    )
    assert evaluate_rule(con, rule("ai_cost_spike"), _context()) == []


def test_model_failure_rate_and_latency_against_the_models_own_baseline(tmp_path: Path) -> None:
    rows: list[tuple[Any, ...]] = []
    # m1: 36 completed (1,000 ms) and 4 failed before: rate 0.1, threshold 2 x 0.1 + 0.05 = 0.25. On the day 10
    # completed and 5 failed of 15 finished: 0.333333; p95 of 9 x 1,000 ms and one 30,000 ms: position 0.95 x 9
    # = 8.55, 1,000 + 0.55 x 29,000 = 16,950 ms against 2 x 1,000.
    rows += _times(36, BASELINE_DAYS[0], "m1", "completed", None, 1000)
    rows += _times(4, BASELINE_DAYS[5], "m1", "failed", None, None)
    rows += _times(9, LAST_DAY, "m1", "completed", None, 1000) + [(LAST_DAY, "m1", "completed", None, 30000)]
    rows += _times(5, LAST_DAY, "m1", "failed", None, None) + _times(3, LAST_DAY, "m1", "pending", None, None)
    # m2: 9 of 9 finished failed on the day: under the minimum volume of 10.
    rows += _times(10, BASELINE_DAYS[1], "m2", "completed", None, 1000) + _times(
        9, LAST_DAY, "m2", "failed", None, None
    )
    # m3: a new model, no baseline: not judged.
    rows += _times(10, LAST_DAY, "m3", "failed", None, None)
    # m4: 9 completed and 1 failed before (0.1, threshold 0.25); 9 completed and 3 failed on the day: exactly 0.25.
    rows += _times(9, BASELINE_DAYS[27], "m4", "completed", None, 500) + [
        (BASELINE_DAYS[27], "m4", "failed", None, None)
    ]
    rows += _times(9, LAST_DAY, "m4", "completed", None, 1000) + _times(3, LAST_DAY, "m4", "failed", None, None)
    # m5: failing long ago, outside the 28 days: its baseline is its empty-failure recent days.
    rows += _times(10, LAST_DAY - timedelta(days=29), "m5", "failed", None, None)
    rows += _times(10, BASELINE_DAYS[3], "m5", "completed", None, 1000)
    rows += _times(10, LAST_DAY, "m5", "completed", None, 1000) + [(LAST_DAY, "m5", "failed", None, None)]
    con = _warehouse(tmp_path, rows)

    assert evaluate_rule(con, rule("model_failure_rate"), _context()) == [
        Breach(
            "model_failure_rate", "m1", D("0.333333"), D("0.25"), WINDOW, "baseline 0.1, 15 ai_finished_generations"
        ),
        # m5: 1 of 11 = 0.090909 over 2 x 0 + 0.05
        Breach("model_failure_rate", "m5", D("0.090909"), D("0.05"), WINDOW, "baseline 0, 11 ai_finished_generations"),
    ]
    assert evaluate_rule(con, rule("model_latency_p95"), _context()) == [
        Breach("model_latency_p95", "m1", D("16950"), D("2000"), WINDOW, "baseline 1000, 10 ai_completed_generations")
    ]


def test_sql_rules_on_hand_made_marts(tmp_path: Path) -> None:
    con = _warehouse(tmp_path)
    con.execute(
        "create table marts.plan_utilization_monthly as select * from (values"
        " (date '2024-03-01', 'u1', 1.2), (date '2024-03-01', 'u2', 1.0), (date '2024-02-01', 'u3', 3.0),"
        " (date '2024-03-01', 'u4', null)) as t(month, user_id, utilization)"
    )
    # (statement, author, period_end, author_revenue, payout_status): 2024-03-31 is 46 days after 2024-02-14.
    con.execute(
        "create table marts.revenue_share_statements as select * from (values"
        " ('s1', 'a1', date '2024-02-01', date '2024-02-14', 10.50, 'pending'),"
        " ('s2', 'a1', date '2024-01-01', date '2024-01-31', 4.25, 'processing'),"
        " ('s3', 'a2', date '2024-02-01', date '2024-02-15', 7.00, 'pending'),"
        " ('s4', 'a3', date '2023-01-01', date '2023-01-31', 1.00, 'paid'),"
        " ('s5', 'a4', date '2023-02-01', date '2023-02-28', 180.00, 'failed'),"
        " ('s6', 'a5', date '2023-02-01', date '2023-02-28', 0.00, 'pending'))"
        " as t(revenue_share_id, author_id, period_start, period_end, author_revenue, payout_status)"
    )
    # MRR at month ends: January 150, February 140 (down 10), March (not complete at the snapshot) 10.
    con.execute(
        "create table marts.mrr_monthly as select * from (values"
        " (date '2024-01-01', 'a', 100.00), (date '2024-01-01', 'b', 50.00), (date '2024-02-01', 'a', 120.00),"
        " (date '2024-02-01', 'b', 20.00), (date '2024-03-01', 'a', 10.00)) as t(month, plan, mrr_usd)"
    )
    assert evaluate_rule(con, rule("user_over_allowance"), _context()) == [
        Breach("user_over_allowance", "u1", D("1.2"), D("1"), "2024-03")
    ]
    assert evaluate_rule(con, rule("author_share_unpaid"), _context()) == [
        Breach(
            "author_share_unpaid",
            "a1",
            D("60"),
            D("45"),
            "periods ended by 2024-01-31",
            "2 statement(s), 14.75 USD owed",
        )
    ]
    assert evaluate_rule(con, rule("payout_failed"), _context()) == [
        Breach("payout_failed", "s5", D("180"), D("0"), "2023-02-01..2023-02-28", "author a4")
    ]
    assert evaluate_rule(con, rule("mrr_down"), _context()) == [
        Breach("mrr_down", "mrr", D("140"), D("150"), "2024-01..2024-02", "down 10.00 USD")
    ]
    con.execute("update marts.mrr_monthly set mrr_usd = 30.00 where month = '2024-02-01' and plan = 'b'")
    assert evaluate_rule(con, rule("mrr_down"), _context()) == []


def test_held_back_runs_of_the_last_day(tmp_path: Path) -> None:
    con = _warehouse(tmp_path)
    now = datetime(2024, 4, 2, 12, 0, tzinfo=UTC)
    failed_check = {"severity": "error", "success": False}
    runs = [
        {"run_id": "r4", "status": "published", "started_at": "2024-04-02T11:00:00+00:00", "checks": []},
        {
            "run_id": "r3",
            "status": "blocked",
            "started_at": "2024-04-02T10:00:00+00:00",
            "checks": [failed_check, failed_check, {"severity": "warn", "success": False}],
        },
        {"run_id": "r2b", "status": "failed", "error": "a line written by hand, without its start"},
        {"run_id": "r2", "status": "failed", "started_at": "2024-04-01T12:30:00+00:00", "error": "source down"},
        {"run_id": "r1", "status": "failed", "started_at": "2024-04-01T11:59:59", "error": "too old (UTC, no zone)"},
    ]
    held_back = [
        Breach("etl_run_held_back", "r2", D("0"), D("0"), "2024-04-01T12:30:00Z", "failed: source down"),
        Breach("etl_run_held_back", "r3", D("2"), D("0"), "2024-04-02T10:00:00Z", "blocked"),
    ]
    assert evaluate_rule(con, rule("etl_run_held_back"), _context(now, runs)) == held_back

    def history() -> Iterator[dict[str, Any]]:  # years of runs before r1: the rule's day is read, and no further
        yield from runs
        raise AssertionError("the history was read past the first run before the rule's window")

    assert evaluate_rule(con, rule("etl_run_held_back"), Context(SNAPSHOT, now, history)) == held_back


def test_stale_tables_and_publication(tmp_path: Path) -> None:
    con = _warehouse(tmp_path)
    con.execute("create table meta.publication (run_id varchar, snapshot_at timestamptz)")
    con.execute("insert into meta.publication values ('r1', ?)", [SNAPSHOT])
    # Newest rows 49 h, exactly 48 h and 2.5 h before the snapshot.
    con.execute("create table staging.ai_generations as select timestamptz '2024-03-29 17:00:00+00' as created_at")
    con.execute("create table staging.usage_records as select timestamptz '2024-03-29 18:00:00+00' as created_at")
    con.execute("create table staging.user_events as select timestamptz '2024-03-31 15:30:00+00' as \"timestamp\"")
    assert evaluate_rule(con, rule("stale_data"), _context(SNAPSHOT + timedelta(hours=50, minutes=3))) == [
        Breach("stale_data", "publication", D("50.1"), D("48"), ""),
        Breach("stale_data", "staging.ai_generations", D("49"), D("48"), ""),
    ]


def test_episodes_fire_once_and_resolve(tmp_path: Path) -> None:
    state = tmp_path / "alerts.sqlite"
    catalog = rules()
    first, second, third = (datetime(2024, 4, 1, hour, tzinfo=UTC) for hour in (1, 2, 3))
    spike = Breach("model_failure_rate", "m1", D("0.5"), D("0.25"), "w", "d")
    with open_state(state) as conn:
        changes = reconcile(conn, {"model_failure_rate": [spike], "payout_failed": []}, catalog, run_id="r1", now=first)
    assert (len(changes.fired), changes.resolved, changes.still_open) == (1, [], 0)
    with open_state(state) as conn:
        again = Breach("model_failure_rate", "m1", D("0.6"), D("0.25"), "w", "d")
        # model_latency_p95 could not be evaluated (absent): nothing of it changes
        changes = reconcile(conn, {"model_failure_rate": [again]}, catalog, run_id="r2", now=second)
    assert (changes.fired, changes.resolved, changes.still_open) == ([], [], 1)
    with open_state(state) as conn:
        changes = reconcile(conn, {"model_failure_rate": []}, catalog, run_id="r3", now=third)
    assert (changes.fired, changes.still_open) == ([], 0) and len(changes.resolved) == 1
    [episode] = read_episodes(state)
    assert {k: episode[k] for k in ("rule", "subject", "value", "last_value", "fired_run_id", "resolved_run_id")} == {
        "rule": "model_failure_rate",
        "subject": "m1",
        "value": "0.5",
        "last_value": "0.6",
        "fired_run_id": "r1",
        "resolved_run_id": "r3",
    }
    assert (episode["fired_at"], episode["resolved_at"]) == (first.isoformat(), third.isoformat())
    # A new breach after the resolution is a new episode.
    with open_state(state) as conn:
        changes = reconcile(conn, {"model_failure_rate": [spike]}, catalog, run_id="r4", now=third)
    assert len(changes.fired) == 1 and len(read_episodes(state)) == 2


def test_exact_figures() -> None:
    assert [exact(v) for v in (None, float("nan"), 0.1 + 0.2, D("45.000000"), D("100.00"), 7)] == [
        None,
        None,
        D("0.3"),
        D("45"),
        D("100"),
        D("7"),
    ]
    assert str(exact(D("100.00"))) == "100"


def _write(directory: Path, data: dict[str, Any]) -> Path:
    path = directory / f"{data.get('name', 'rule')}.yml"
    path.write_text(yaml.safe_dump(data))
    return path


GOOD = {
    "name": "r",
    "description": "d",
    "severity": "warning",
    "role": "analyst",
    "subject_kind": "model",
    "metric": "ai_failure_rate",
    "by": "model",
    "window_days": 1,
    "baseline": {"days": 28, "factor": 2},
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"severity": "loud"}, "`severity` must be one of info, warning, critical"),
        ({"role": "boss"}, "`role` must be one of admin, finance, analyst, product"),
        ({"metric": "nope"}, "`metric` 'nope' is not a defined metric"),
        ({"metric": "mrr"}, "metric mrr has no daily values to compare; use a `sql` rule"),
        ({"by": "plan"}, "`by` must be one of the metric's dimensions (provider, model, tier)"),
        ({"baseline": {"days": 28}}, "`baseline` misses factor"),
        ({"baseline": {"days": 0, "factor": 2}}, "`baseline.days` must be a positive whole number"),
        ({"baseline": {"days": 2, "factor": 2, "statistic": "mean"}}, "`baseline.statistic` must be one of"),
        ({"min_volume": {"metric": "ai_cost", "at_least": 3}}, "`min_volume.metric` must be a count metric"),
        ({"sql": "x"}, "give exactly one of `metric` and `sql`"),
        ({"threshold": 3}, "threshold not allowed here"),
        ({"window_days": None}, "missing window_days"),
    ],
)
def test_bad_rules_are_refused_with_the_fix(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    data = {key: value for key, value in {**GOOD, **change}.items() if value is not None}
    _write(tmp_path, data)
    with pytest.raises(UserError, match="fix the alert rule") as raised:
        load_rules(tmp_path)
    assert message in str(raised.value)


def test_sql_rule_needs_its_file_and_the_file_its_name(tmp_path: Path) -> None:
    sql_rule = {k: v for k, v in GOOD.items() if k not in ("metric", "by", "baseline", "window_days")}
    with pytest.raises(UserError, match=r"`sql` must name a \.sql file beside the rule"):
        parse_rule({**sql_rule, "sql": "missing", "threshold": 1}, "r.yml", definitions(), tmp_path)
    with pytest.raises(UserError, match="the file must be named after the rule"):
        parse_rule(GOOD, "other.yml", definitions(), tmp_path)
    (tmp_path / "q.sql").write_text("select $window_days")
    with pytest.raises(UserError, match=r"its SQL binds \$window_days; set `window_days` in the rule"):
        parse_rule({**sql_rule, "sql": "q", "threshold": 1}, "r.yml", definitions(), tmp_path)
    (tmp_path / "q.sql").write_text("select $run_id")
    with pytest.raises(UserError, match=r"its SQL binds \$run_id; a rule's SQL may bind snapshot_at, "):
        parse_rule({**sql_rule, "sql": "q", "threshold": 1}, "r.yml", definitions(), tmp_path)
    (tmp_path / "q.sql").write_text("select $threshold")
    parsed = parse_rule({**sql_rule, "sql": "q", "threshold": 0.05}, "r.yml", definitions(), tmp_path)
    assert (parsed.sql, parsed.threshold, parsed.window_days) == ("q", D("0.05"), None)


def test_the_built_in_rules() -> None:
    assert list(rules()) == [
        "ai_cost_spike",
        "author_share_unpaid",
        "etl_run_held_back",
        "model_failure_rate",
        "model_latency_p95",
        "mrr_down",
        "payout_failed",
        "stale_data",
        "user_over_allowance",
    ]
    with pytest.raises(UserError, match="unknown alert rule 'nope'; `ebook-analytics alerts list` shows the rules"):
        rule("nope")


def test_docs_are_generated_from_the_rules() -> None:
    assert DOC_PATH.read_text() == render(rules()), "run `python -m pipelines.alerts.docs`"
