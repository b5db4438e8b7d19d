"""Sessions (marts.session_facts and the session metrics) on hand-made staged tables in a real DuckDB file; every
figure worked out by hand, on both sides of UTC midnight."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from dashboards import charts
from pipelines import warehouse
from pipelines.metrics.query import query_metrics
from pipelines.queries import sql_file
from pipelines.transform.contracts import load_contracts
from tests.conftest import REPO_ROOT

# (session, user, created_at)
SESSIONS = [
    ("s1", "alice", "2024-03-01 23:50:00+00"),
    ("s2", "alice", "2024-03-02 00:30:00+01"),  # 23:30 UTC on March 1st
    ("s3", "bob", "2024-03-02 00:00:00+00"),  # midnight: March 2nd; no events
    ("s4", "bob", None),  # no sign-in time: starts at its first event
    ("s5", "carol", None),  # neither a sign-in time nor an event: left out
    ("s6", "carol", "2024-03-02 12:00:00+00"),
]
# (event, user, session, timestamp)
EVENTS = [
    ("e1", "alice", "s1", "2024-03-01 23:55:00+00"),
    ("e2", "alice", "s1", "2024-03-02 01:10:30+01"),  # 00:10:30 UTC: the session crosses midnight
    ("e3", "alice", "s2", "2024-03-01 23:20:00+00"),  # before the sign-in was recorded: the session starts here
    ("e4", "alice", "s2", "2024-03-01 23:40:00+00"),
    ("e5", "bob", "s4", "2024-03-02 10:00:00+00"),
    ("e6", "bob", "s4", "2024-03-02 10:01:40+00"),
    ("e7", "carol", "s6", "2024-03-02 12:05:00+00"),
    ("e8", "carol", "gone", "2024-03-02 13:00:00+00"),  # its session is no longer staged
    ("e9", None, None, "2024-03-02 13:00:00+00"),  # anonymous, outside any session
]
# (user, tier, effective_from, effective_to)
TIERS = [
    ("alice", "premium", "-infinity", "infinity"),
    ("bob", "free", "-infinity", "2024-03-02 05:00:00+00"),
    ("bob", "basic", "2024-03-02 05:00:00+00", "infinity"),
]


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = warehouse.connect(tmp_path / "w.duckdb")
    con.execute(
        "create schema staging; create schema history; create schema marts;"
        " create table staging.user_sessions (id varchar, user_id varchar, expires_at timestamptz,"
        " created_at timestamptz);"
        " create table staging.user_events (id varchar, user_id varchar, session_id varchar, event_type varchar,"
        " event_category varchar, timestamp timestamptz);"
        " create table history.user_tiers (user_id varchar, tier varchar, effective_from timestamptz,"
        " effective_to timestamptz);"
        " create table marts.plan_utilization_monthly (month date, user_id varchar, plan varchar);"
        " insert into marts.plan_utilization_monthly values ('2024-03-01', 'alice', 'Pro')"  # bob and carol: none
    )
    con.executemany("insert into staging.user_sessions values (?, ?, '2099-01-01 00:00:00+00', ?)", SESSIONS)
    con.executemany("insert into staging.user_events values (?, ?, ?, 'page_view', 'navigation', ?)", EVENTS)
    con.executemany("insert into history.user_tiers values (?, ?, ?, ?)", TIERS)
    all_days = {"window_first": None, "window_last": None}
    con.execute(f"create table marts.session_facts as {sql_file('marts/session_facts')}", all_days)
    return con


@pytest.mark.fast
def test_each_session_runs_from_sign_in_or_first_event_to_its_last_event(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        "select day, session_id, user_id, tier, plan, events, length_seconds from marts.session_facts"
        " order by session_id"
    ).fetchall()
    assert rows == [
        (date(2024, 3, 1), "s1", "alice", "premium", "Pro", 2, 1230),  # 23:50 -> 00:10:30
        (date(2024, 3, 1), "s2", "alice", "premium", "Pro", 2, 1200),  # 23:20 -> 23:40
        (date(2024, 3, 2), "s3", "bob", "free", "(no plan)", 0, 0),
        (date(2024, 3, 2), "s4", "bob", "basic", "(no plan)", 2, 100),  # 10:00 -> 10:01:40, basic since 05:00
        (date(2024, 3, 2), "s6", "carol", "unknown", "(no plan)", 1, 300),
    ]


@pytest.mark.fast
def test_a_refresh_of_some_days_builds_only_the_sessions_that_may_start_on_them(con: duckdb.DuckDBPyConnection) -> None:
    """A refresh by day binds its days: the model builds the sessions signed in on them or never (s4, s5), and those
    with an event on them, each with all its events (s1's on March 2nd too); its rows of those days are the whole
    build's."""
    model = f"select * from ({sql_file('marts/session_facts')}) where day = $day order by session_id"
    built = {
        date(2024, 3, 1): ["s1", "s2", "s4"],  # s4: no sign-in time, so it may start any day (on March 2nd)
        date(2024, 3, 2): ["s1", "s3", "s4", "s6"],  # s1: an event after midnight, but it starts on March 1st
    }
    for day, sessions in built.items():
        window = {"window_first": day, "window_last": day}
        everything_built = f"select session_id from ({sql_file('marts/session_facts')}) order by all"
        assert [row[0] for row in con.execute(everything_built, window).fetchall()] == sessions, day
        whole = con.execute("from marts.session_facts where day = $day order by session_id", {"day": day}).fetchall()
        assert con.execute(model, {**window, "day": day}).fetchall() == whole, day


@pytest.mark.fast
def test_a_refresh_of_a_day_finds_its_sessions_by_the_time_range_of_its_events(con: duckdb.DuckDBPyConnection) -> None:
    """The day's sessions come from a scan of the events bounded by the day's time range, so DuckDB skips every row
    group outside it. The model reads the events twice, and DuckDB would materialize a CTE read twice: the scan then
    has no time range, and the refresh of one day read all 19M events at large (0.8 s against 0.17 s)."""
    day = date(2024, 3, 2)
    plan = con.execute(
        f"explain (format json) {sql_file('marts/session_facts')}", {"window_first": day, "window_last": day}
    ).fetchone()
    assert plan is not None
    nodes, event_scan_filters = json.loads(plan[1]), []
    while nodes:
        node = nodes.pop()
        nodes.extend(node.get("children", []))
        extra = node.get("extra_info", {})
        if str(extra.get("Table", "")).endswith("staging.user_events"):
            filters = extra.get("Filters", [])
            event_scan_filters.append(" and ".join([filters] if isinstance(filters, str) else filters))
    assert len(event_scan_filters) == 2
    assert any("timestamp>='2024-03-02 00:00:00+00'" in filters for filters in event_scan_filters), event_scan_filters


@pytest.mark.fast
def test_the_reconciliation_counts_the_sessions_with_a_start(con: duckdb.DuckDBPyConnection) -> None:
    """The contract's `sessions_match_source` counts, from staging alone, the sessions the mart keeps: s1, s2, s3
    and s6 (a sign-in time), s4 (none, but events); not s5 (neither)."""
    (contract,) = [contract for contract in load_contracts() if contract.name == "session_facts"]
    (reconciliation,) = [r for r in contract.reconcile if r.name == "sessions_match_source"]
    assert con.execute(reconciliation.source).fetchone() == (5,)
    assert con.execute(f"select {reconciliation.mart} from marts.session_facts").fetchone() == (5,)


@pytest.mark.fast
def test_sessions_per_user_and_the_exact_median_length(con: duckdb.DuckDBPyConnection) -> None:
    names = ["sessions", "session_users", "sessions_per_user", "session_length_median"]
    whole = query_metrics(con, names, start=date(2024, 3, 1), end=date(2024, 3, 2))
    # Five sessions of three people; lengths 0, 100, 300, 1,200, 1,230: the median is the middle one.
    assert whole[names].to_dict("records") == [
        {
            "sessions": 5,
            "session_users": 3,
            "sessions_per_user": pytest.approx(5 / 3),
            "session_length_median": 300.0,
        }
    ]
    daily = query_metrics(con, names, start=date(2024, 3, 1), end=date(2024, 3, 2), grain="day")
    assert daily[["period", *names]].to_dict("records") == [
        # 1,200 and 1,230: the median of an even count is the mean of the middle two (never of daily medians).
        {
            "period": date(2024, 3, 1),
            "sessions": 2,
            "session_users": 1,
            "sessions_per_user": 2.0,
            "session_length_median": 1215.0,
        },
        {
            "period": date(2024, 3, 2),
            "sessions": 3,
            "session_users": 2,
            "sessions_per_user": 1.5,
            "session_length_median": 100.0,
        },
    ]
    basic = query_metrics(con, names, start=date(2024, 3, 1), end=date(2024, 3, 2), where={"tier": ["basic"]})
    assert basic[names].to_dict("records") == [
        {"sessions": 1, "session_users": 1, "sessions_per_user": 1.0, "session_length_median": 100.0}
    ]


@pytest.mark.fast
def test_session_lengths_read_as_durations() -> None:
    assert [charts.seconds(value) for value in (None, 0, 59.6, 1215, 3600, 7385)] == [
        "—",
        "0 s",
        "1 min 00 s",
        "20 min 15 s",
        "1 h 00 min",
        "2 h 03 min",
    ]


def test_the_engagement_page_shows_the_sessions_of_the_published_dataset(
    published_dataset: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in published_dataset.items():
        if name.startswith("EBOOK_ANALYTICS_"):
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("EBOOK_ANALYTICS_NO_AUTH", "1")  # a local admin, on a loopback address only
    monkeypatch.setenv("EBOOK_ANALYTICS_BIND_ADDRESS", "127.0.0.1")
    at = AppTest.from_file(str(REPO_ROOT / "dashboards" / "app.py"), default_timeout=30)
    at.switch_page("views/engagement.py")
    at.query_params.update({"dates": ["2024-03-01", "2024-03-31"]})
    at.run()
    assert not at.exception, [exception.value for exception in at.exception]
    assert not at.error, [error.value for error in at.error]
    tiles = {metric.label: metric.value for metric in at.metric}
    # tests/marts_dataset.py: Alice's 10-minute session on March 1st and Carol's 1-minute one on March 4th.
    assert (tiles["Sessions"], tiles["Sessions per user"], tiles["Median session length"]) == (
        "2",
        "1.00",
        "5 min 30 s",
    )
    (daily,) = [section.frame for section in at.session_state["_data_sections"] if section.key == "session_length"]
    lengths = daily.dropna(subset=["session_length_median"])
    assert [
        (str(day), length) for day, length in zip(lengths["day"], lengths["session_length_median"], strict=True)
    ] == [
        ("2024-03-01", 600.0),
        ("2024-03-04", 60.0),
    ]
