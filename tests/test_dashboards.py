"""The dashboards in Streamlit's AppTest, on the hand-made history of tests/marts_dataset.py published by `etl run`.

Headline numbers are checked against values worked out by hand from the dataset (March 2024 against the 31 days
before it) or, where the mart's rule is the contract (MRR, margins), against the marts read in the test.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import socket
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import psycopg
import pytest
from openpyxl.utils import get_column_letter
from streamlit.testing.v1 import AppTest

from dashboards import charts, plots
from dashboards.auth import PAGES
from pipelines.publish import lake
from tests.app_sessions import sign_in
from tests.conftest import REPO_ROOT, copy_published, open_published, run_cli
from tests.marts_dataset import ALICE, LONG_NIGHT, uid

APP = str(REPO_ROOT / "dashboards" / "app.py")
GENERATION_1, GENERATION_4 = uid("generation", 1), uid("generation", 4)
MARCH = ["2024-03-01", "2024-03-31"]
BEFORE_MARCH = ["2024-01-30", "2024-02-29"]  # the 31 days before March: what March's tiles compare with
FEBRUARY = ["2024-02-01", "2024-02-29"]
TIMEOUT = 30
SQL = "'; drop table marts.ai_cost_daily; --"
LONG = "x" * 10_000
# Links with values no widget offers: SQL, a 10k-character string, non-dates, markup, blanks, unknown months.
HOSTILE_LINKS = [
    {
        "dates": [SQL, LONG],
        "tier": [SQL, LONG],
        "plan": "<script>alert(1)</script>",
        "provider": "1 or 1=1",
        "model": [LONG],
        "genre": SQL,
        "resource": "",
        "month": "2099-01",
        "run": SQL,
    },
    {
        "dates": ["2024-13-45", "2024-02-30"],
        "tier": "",
        "plan": [LONG, SQL],
        "provider": [SQL],
        "model": "",
        "genre": [LONG],
        "resource": [SQL, LONG],
        "month": "2024-3",
        "run": LONG,
    },
    {"dates": ["2024-13-01", "2024-03-31"], "month": [SQL, LONG], "tier": "free%", "period": SQL},
]


def _env(home: Path, *, no_auth: bool) -> dict[str, str]:
    env = {
        "EBOOK_ANALYTICS_HOME": str(home),
        "EBOOK_ANALYTICS_WAREHOUSE": str(home / "warehouse" / "analytics.ducklake"),
        "EBOOK_ANALYTICS_BIND_ADDRESS": "127.0.0.1",
        "EBOOK_ANALYTICS_PSEUDONYM_KEY": "test-key",
    }
    if no_auth:
        env["EBOOK_ANALYTICS_NO_AUTH"] = "1"
    return env


@pytest.fixture(scope="module")
def published(published_dataset: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The CLI environment of a warehouse published from the hand-made dataset (a copy: the tests add users)."""
    return copy_published(published_dataset, tmp_path_factory.mktemp("dashboards"))


@pytest.fixture
def as_admin(published: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The app's process environment: this warehouse, `--no-auth` (a local admin). Returns the warehouse path."""
    for name, value in _env(Path(published["EBOOK_ANALYTICS_HOME"]), no_auth=True).items():
        monkeypatch.setenv(name, value)
    return Path(published["EBOOK_ANALYTICS_WAREHOUSE"])


def _open(page: str, query: dict[str, object] | None = None, signed_in: str | None = None) -> AppTest:
    """A new browser session opening `page` (a key of PAGES) from a link with these URL query parameters.

    Each call is a new session, as a shared link is; the process (and so Streamlit's cache) is the same server's.
    """
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if signed_in:  # as a tab where this account has just signed in
        sign_in(at, signed_in)
    at.switch_page(f"views/{page}.py")  # before the first run: the page's file name, which is also its URL path
    at.query_params.update(query or {})
    return at.run()


def _metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def _no_errors(at: AppTest) -> None:
    assert not at.exception, [exception.value for exception in at.exception]
    assert not at.error, [error.value for error in at.error]


def _scalar(warehouse: Path, sql: str) -> object:
    con = open_published(warehouse)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def test_every_page_renders_and_says_how_fresh_the_data_is(as_admin: Path) -> None:
    for page in PAGES:
        at = _open(page)
        _no_errors(at)
        assert any("Data as of" in caption.value for caption in at.caption), page
        # Every chart comes with its data as CSV.
        assert len(at.get("plotly_chart")) <= len(at.get("download_button")), page


def test_overview_kpis_are_the_hand_computed_values(as_admin: Path) -> None:
    at = _open("overview", {"dates": MARCH})
    _no_errors(at)
    assert _metrics(at) == {
        # Live at the end of March (April 1 00:00 UTC): Alice 20.00, Bob's yearly 200.00 / 12 = 16.666667, Carol
        # 20.00 (cancelled April 1 03:00 UTC); Dave's lifetime plan is one-time, his other two are incomplete or
        # cancelled on March 4.
        "MRR": "$56.67",
        # Statements starting in March: 200.00 + 0.00; in February: 100.00 + 55.55 + 19.99 = 175.54.
        "Book sales": "$200.00",
        # Issue 11: people who saved a version (changed_by), not project owners: Alice saved every version, so 1
        # (the page said 2 before, counting Carol as the owner of Dragons Rising).
        "Active writers": "1",
        # The Long Night 300 -> 820, Sea Glass 0 -> 1000, Dragons Rising 0 -> 70 (the higher version wins).
        "Words written": "1,590",
        # 0.030 + 0.015 + 0.006 + 0.0045 (NULL costs count 0; 2024-02-29 20:00-05 is March 1 UTC) = 0.0555.
        "AI cost": "$0.06",
        # March is the whole month inside the range: MRR at its end 56.666667 - AI cost 0.0555 = 56.611167.
        "Gross margin": "$56.61",
        # Active on the period's last day, March 31: nobody (the page showed the mean DAU before).
        "Daily active users": "0",
    }
    deltas = {metric.label: metric.delta for metric in at.metric}
    # At the end of February (March 1 00:00 UTC): Alice 20, Carol 20 and Dave's monthly plan, live from that very
    # instant, 20 = 60.00; Bob subscribed at 04:30.
    assert deltas["MRR"] == "-$3.33"
    assert deltas["Book sales"] == "+$24.46"
    assert deltas["Words written"] == "+1,290"  # February: The Long Night 0 -> 300
    assert deltas["Active writers"] == "+0"  # Alice in February too
    # February, the month before: MRR 60.00 - AI cost 0.001 (generation 8) = 59.999; 56.611167 - 59.999 = -3.387833.
    assert deltas["Gross margin"] == "-$3.39"


def test_page_headlines_match_the_marts(as_admin: Path) -> None:
    usage = _metrics(_open("usage", {"dates": MARCH}))
    # March usage: Alice 0.02 + NULL + 1.50, Bob 0.00, Carol 0.01 (2024-03-31); AI tokens 1000 + 600 + 200 + 300.
    assert usage["Users with usage"] == "3"
    assert usage["Usage cost"] == "$1.53"
    assert usage["AI tokens billed"] == "2,100"

    revenue = _metrics(_open("revenue_share", {"month": "2024-02"}))
    assert revenue == {
        "Book sales": "$175.54",
        "Platform revenue": "$20.33",  # 10.00 + 8.33 + 2.00 (labels: the metrics' definitions)
        "Author revenue": "$155.21",  # 90.00 + 47.22 + 17.99
        "Authors' share not yet paid": "$65.21",  # pending 47.22 + processing 17.99
    }

    ai_cost = _metrics(_open("ai_cost", {"dates": MARCH, "provider": "anthropic"}))
    assert ai_cost["AI cost"] == "$0.00"  # claude-3 in March: 0.0045 + NULL
    ai_cost = _metrics(_open("ai_cost", {"dates": MARCH}))
    # 7 generations created in March UTC: 1 failed, 1 pending. Issue 11: failed / finished, in-flight excluded, so
    # 1 / 6 (the page said 1 / 7 before).
    assert ai_cost["AI failure rate"] == "16.7%"
    # Exact p95 of the completed generations' times 500, 1000, 1500, 2000, 3000 ms: 0.95 * 4 = 3.8, so 2000 +
    # 0.8 * (3000 - 2000) = 2800 ms. AI words 500 + 40 = 540, so 0.0555 * 1000 / 540 = $0.1028 per 1k.
    assert ai_cost["AI latency p95"] == "2,800 ms"
    assert ai_cost["AI cost per 1k AI words"] == "$0.10"

    # Words added by AI are not defined by genre: with a genre chosen the tile is empty and says why, never unfiltered.
    writing = {m.label: m for m in _open("writing_progress", {"dates": MARCH, "genre": "fantasy"}).metric}
    assert writing["Words written"].value == "590"  # fantasy: 480 (Mar 1) + 40 (Mar 3) + 70 (Mar 5)
    assert writing["Words added by AI"].value == "—"
    assert writing["Words added by AI"].help.endswith("Not defined by genre: clear that filter to see it.")

    engagement = _metrics(_open("engagement", {"dates": MARCH}))
    assert engagement["New users"] == "3"  # Bob (2024-03-01 UTC), Carol (2024-03-04 UTC), Dave


# Each page opened from a link, the period its tiles cover and the one they compare with (None: no delta), and the
# `metrics query --where` equal to the link's filters.
TILE_CASES = [
    ("overview", {"dates": MARCH}, MARCH, BEFORE_MARCH, {}),
    ("usage", {"dates": MARCH, "tier": "premium"}, MARCH, BEFORE_MARCH, {"tier": ["premium"]}),
    ("revenue_share", {"month": "2024-02"}, FEBRUARY, None, {}),
    ("ai_cost", {"dates": MARCH, "provider": "openai"}, MARCH, BEFORE_MARCH, {"provider": ["openai"]}),
    ("writing_progress", {"dates": MARCH}, MARCH, BEFORE_MARCH, {}),
    ("engagement", {"dates": MARCH}, MARCH, BEFORE_MARCH, {}),
    # the plan filter reaches every tile of the page (each cut by the plan of the person, or the owner, that day)
    ("engagement", {"dates": MARCH, "plan": "Pro Monthly"}, MARCH, BEFORE_MARCH, {"plan": ["Pro Monthly"]}),
]
# Monthly metrics (book sales, gross margin) cover the whole months inside the range: these ranges are whole
# months, compared with the month before.
MONTH_BEFORE = {tuple(MARCH): FEBRUARY, tuple(FEBRUARY): None}
# lists of people or organisations, not defined metrics
NOT_METRICS = {"Over a plan limit", "Authors' share not yet paid", "Organisations over their seat limit"}
PAGE_METRICS = {
    "overview": {"mrr", "book_sales", "active_writers", "words_written", "ai_cost", "gross_margin", "dau"},
    "usage": {"usage_users", "usage_cost", "usage_ai_tokens"},
    "revenue_share": {"book_sales", "platform_revenue", "author_revenue"},
    "ai_cost": {"ai_cost", "ai_failure_rate", "ai_cost_per_1k_ai_words", "ai_latency_p95", "gross_margin"},
    "writing_progress": {"words_written", "active_writers", "chapters_completed", "ai_words"},
    "engagement": {
        "dau",
        "mau",
        "stickiness",
        "new_users",
        "sessions",
        "sessions_per_user",
        "session_length_median",
        "weekly_active_organizations",
        "monthly_active_organizations",
        "organization_ai_cost",
    },
}


def _metrics_query(env: dict[str, str], names: list[str], days: list[str], where: dict[str, list[str]]) -> dict:
    """`ebook-analytics metrics query` as users run it: the one row of grain all, values as their JSON says."""
    argv = ["metrics", "query", ",".join(names), "--start", days[0], "--end", days[1], "--format", "json"]
    argv += [f"--where={dim}={value}" for dim, values in where.items() for value in values]
    (row,) = json.loads(run_cli(*argv, env=env).stdout, parse_float=Decimal)
    return {name: Decimal(row[name]) if isinstance(row[name], str) else row[name] for name in names}


def _delta(current: object, previous: object, fmt: Callable[[object], str]) -> str | None:
    if current is None or previous is None:
        return None
    change = Decimal(str(current)) - Decimal(str(previous))
    return fmt(change) if change < 0 else f"+{fmt(change)}"


def test_every_kpi_tile_is_the_metrics_query_for_the_same_filters(published: dict[str, str], as_admin: Path) -> None:
    definitions = {m["label"]: m for m in json.loads(run_cli("metrics", "list", "--json", env=published).stdout)}
    for page, link, days, before, where in TILE_CASES:
        at = _open(page, link)
        _no_errors(at)
        tiles = {metric.label: metric for metric in at.metric if metric.label not in NOT_METRICS}
        names = {label: definitions[label]["name"] for label in tiles}  # every other tile is a defined metric
        assert set(names.values()) == PAGE_METRICS[page], page
        asked: dict[tuple, list[str]] = {}  # one CLI call per period and filter
        for label, name in names.items():
            definition = definitions[label]
            own_before = MONTH_BEFORE[tuple(days)] if definition["time_grain"] == "month" and before else before
            own_where = {dim: values for dim, values in where.items() if dim in definition["dimensions"]}
            for span, key in ((days, "current"), (own_before, "previous")):
                if span is not None:
                    asked.setdefault((key, tuple(span), json.dumps(own_where)), []).append(name)
        answers: dict[tuple[str, str], object] = {}
        for (key, span, chosen), wanted in asked.items():
            for name, value in _metrics_query(published, wanted, list(span), json.loads(chosen)).items():
                answers[key, name] = value
        for label, shown in tiles.items():
            definition = definitions[label]
            fmt = charts.UNIT_FORMATS[definition["unit"]]
            current, previous = answers["current", names[label]], answers.get(("previous", names[label]))
            assert (shown.value, shown.delta or None) == (fmt(current), _delta(current, previous, fmt)), (page, label)
            assert shown.help == f"**{label}**: {definition['description']}", (page, label)


def test_analysts_see_pseudonyms_and_no_revenue_share(
    published: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboards.auth.users import add_user

    home = Path(published["EBOOK_ANALYTICS_HOME"])
    for name, value in _env(home, no_auth=False).items():
        monkeypatch.setenv(name, value)
    add_user("ana@example.com", "analyst", "correct horse battery")
    at = _open("overview", signed_in="ana@example.com")
    _no_errors(at)
    # Revenue-share figures (money owed to named authors) are for admin and finance only; MRR, AI cost and gross
    # margin have analysts in their audience.
    assert set(_metrics(at)) == {"MRR", "Active writers", "Words written", "AI cost", "Gross margin"}
    with pytest.raises(ValueError):  # not registered in the navigation at all
        at.switch_page("views/revenue_share.py")
    at = _open("ai_cost", {"dates": MARCH}, signed_in="ana@example.com")
    _no_errors(at)
    spenders = next(frame.value for frame in at.dataframe if "user" in frame.value.columns)
    assert spenders["user"].str.fullmatch(r"u_[0-9a-f]{12}").all()
    assert not spenders["user"].str.contains("@").any()


def test_finance_sees_authors_by_name(published: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboards.auth.users import add_user

    for name, value in _env(Path(published["EBOOK_ANALYTICS_HOME"]), no_auth=False).items():
        monkeypatch.setenv(name, value)
    add_user("fin@example.com", "finance", "correct horse battery")
    at = _open("overview", signed_in="fin@example.com")
    # Issue 11 finding 8: finance answers for the margin, so it sees AI cost and gross margin too.
    assert set(_metrics(at)) == {"MRR", "Book sales", "AI cost", "Gross margin"}
    _no_errors(_open("ai_cost", {"dates": MARCH}, signed_in="fin@example.com"))
    at = _open("revenue_share", {"month": "2024-02"}, signed_in="fin@example.com")
    _no_errors(at)
    statements = at.dataframe[0].value
    assert sorted(statements["author"]) == [
        "Alice Smith <alice@example.com>",
        "Alice Smith <alice@example.com>",
        "Carol Jones <carol@example.com>",
    ]


def test_product_sees_only_the_metrics_of_its_audience(
    published: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboards.auth.users import add_user

    for name, value in _env(Path(published["EBOOK_ANALYTICS_HOME"]), no_auth=False).items():
        monkeypatch.setenv(name, value)
    add_user("pat@example.com", "product", "correct horse battery")
    at = _open("overview", {"dates": MARCH}, signed_in="pat@example.com")
    _no_errors(at)
    assert set(_metrics(at)) == {"Active writers", "Words written", "Daily active users"}
    at = _open("writing_progress", {"dates": MARCH}, signed_in="pat@example.com")
    _no_errors(at)
    assert list(_metrics(at)) == ["Words written", "Active writers", "Chapters completed"]  # no AI words


def test_reports_and_metrics_outside_the_role_are_refused(
    published: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def script() -> None:
        from datetime import date

        import streamlit as st

        from dashboards import data
        from dashboards.auth import User

        data.start_run(User(email="p@example.com", role="product"))
        categories = data.report(
            "engagement/events_by_category", start=date(2024, 3, 1), end=date(2024, 3, 31), plans=[], tiers=[]
        )
        st.write(f"{len(categories)} categories")
        try:
            data.report("revenue_share/statements", month=date(2024, 2, 1))
        except data.OutOfScope as refused:
            st.write(f"refused: {refused}")
        days = data.metric("dau", start=date(2024, 3, 1), end=date(2024, 3, 31), grain="day")
        st.write(f"{len(days)} days")
        for names in (["ai_cost"], ["dau", "mrr"]):  # AI cost is for admin, analyst and finance; MRR too
            try:
                data.metric(names, start=date(2024, 3, 1), end=date(2024, 3, 31))
            except data.OutOfScope as refused:
                st.write(f"refused: {refused}")

    for name, value in _env(Path(published["EBOOK_ANALYTICS_HOME"]), no_auth=False).items():
        monkeypatch.setenv(name, value)
    at = AppTest.from_function(script, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert [text.value for text in at.markdown] == [
        "3 categories",  # writing, uncategorised, session
        "refused: the product role may not read revenue_share reports",
        "31 days",  # a row for every day of the range
        "refused: the product role may not read the ai_cost metric",
        "refused: the product role may not read the mrr metric",
    ]


@pytest.mark.parametrize("page", PAGES)
def test_hostile_and_empty_filters_fall_back_without_errors(as_admin: Path, page: str) -> None:
    defaults = _metrics(_open(page))
    for query in HOSTILE_LINKS:
        at = _open(page, query)
        _no_errors(at)
        if page != "data_quality":  # its "last run took" tile is not a function of the warehouse
            assert _metrics(at) == defaults, (page, query)
        if page != "overview" or query is not HOSTILE_LINKS[0]:
            continue
        # The link says which of its parameters were ignored, and why (it fell back silently before).
        (notice,) = [info.value for info in at.info if info.value.startswith("Parts of the link were ignored")]
        assert notice.splitlines()[1:] == [
            f"- dates `{SQL}`: not a date (YYYY-MM-DD) or not a two-date range",
            f"- dates `{LONG[:40]}…`: not a date (YYYY-MM-DD) or not a two-date range",
            *[f"- `{key}`: this page has no such filter" for key in list(query)[1:]],
        ]
    # A range without any activity: every chart shows the empty state instead of failing.
    at = _open(page, {"dates": ["2024-02-02", "2024-02-03"]})
    _no_errors(at)


@pytest.fixture
def published_copy(published: dict[str, str], create_database: Callable[..., str], tmp_path: Path) -> dict[str, str]:
    """A copy of the published source database and data folder, for a test that runs the ETL again."""
    return copy_published(published, tmp_path, create_database)


def test_a_new_publication_is_picked_up_and_held_back_marts_are_announced(
    published_copy: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cli_env, source_url = published_copy, published_copy["EBOOK_ANALYTICS_SOURCE_URL"]
    home = Path(cli_env["EBOOK_ANALYTICS_HOME"])
    for name, value in _env(home, no_auth=True).items():
        monkeypatch.setenv(name, value)
    at = _open("ai_cost", {"dates": MARCH})
    assert _metrics(at)["AI cost"] == "$0.06"

    with psycopg.connect(source_url) as conn:  # generation 4 (failed, cost NULL) gets billed after all
        conn.execute("update ai_processing.ai_generations set cost = 2.5 where id = %s", (GENERATION_4,))
    run_cli("etl", "run", env=cli_env)
    at = _open("ai_cost", {"dates": MARCH})  # the same server process and cache: no restart
    assert _metrics(at)["AI cost"] == "$2.56"
    assert not at.error

    kept = _scalar(home / "warehouse" / "analytics.ducklake", "select run_id from meta.publication")
    # An error-level check on the generations fails: the marts made of them are held back, the others publish.
    with psycopg.connect(source_url) as conn:
        conn.execute(
            "update ai_processing.ai_generations set completed_at = created_at - interval '1 day' where id = %s",
            (GENERATION_1,),
        )
    assert run_cli("etl", "run", env=cli_env, check=False).returncode == 2
    at = _open("ai_cost", {"dates": MARCH})
    assert _metrics(at)["AI cost"] == "$2.56"  # the last good publication's figures
    (banner,) = at.error
    assert "**`ai_cost_daily` is held back**: it shows the last good publication" in banner.value
    assert f"(run `{kept}`, published " in banner.value
    assert "- `staging.ai_generations.completed_not_before_created` on `staging.ai_generations`: 1 unexpected" in (
        banner.value
    )
    _no_errors(_open("usage", {"dates": MARCH}))  # not made of generations: published fresh, no banner


def test_revenue_share_reads_the_publication_picked_as_published_at(
    published_copy: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cli_env = published_copy
    for name, value in _env(Path(cli_env["EBOOK_ANALYTICS_HOME"]), no_auth=True).items():
        monkeypatch.setenv(name, value)
    at = _open("revenue_share", {"month": "2024-02"})
    assert _metrics(at)["Book sales"] == "$175.54"  # 100.00 + 55.55 + 19.99
    assert at.selectbox(key="published").options == ["latest"]  # one publication kept: nothing older to pick
    with psycopg.connect(cli_env["EBOOK_ANALYTICS_SOURCE_URL"]) as conn:  # Sea Glass sold 44.45 more in February
        conn.execute(
            "update billing.revenue_shares set book_sales = 100.00, platform_revenue = 15.00, user_revenue = 85.00 "
            "where id = '50000000-0000-0000-0000-000000000002'"
        )
    run_cli("etl", "run", env=cli_env)

    at = _open("revenue_share", {"month": "2024-02"})
    assert _metrics(at)["Book sales"] == "$219.99"
    first, _ = lake.publications(lake.configured())
    earlier = f"{first.published_at:%Y-%m-%d %H:%M:%S} UTC (run {first.run_id})"
    assert at.selectbox(key="published").options == ["latest", earlier]
    at = _open("revenue_share", {"month": "2024-02", "published": earlier})  # a link to the page as published then
    _no_errors(at)
    assert _metrics(at)["Book sales"] == "$175.54"
    assert not [button for button in at.button if button.key == "close_month"]  # months close on the latest only
    at = at.selectbox(key="published").set_value("latest").run()
    assert _metrics(at)["Book sales"] == "$219.99"


def _figure(at: AppTest, key: str) -> dict:
    """The Plotly figure of chart `key` (charts.chart's key) as the browser receives it."""
    (chart,) = [c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-chart_{key}")]
    return json.loads(chart.proto.spec)


def test_periods_not_over_at_the_snapshot_are_marked_partial_or_left_empty(
    published_copy: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cli_env, source_url = published_copy, published_copy["EBOOK_ANALYTICS_SOURCE_URL"]
    for name, value in _env(Path(cli_env["EBOOK_ANALYTICS_HOME"]), no_auth=True).items():
        monkeypatch.setenv(name, value)
    with psycopg.connect(source_url) as conn:
        today = conn.execute("select (now() at time zone 'UTC')::date").fetchone()[0]
        month = today.replace(day=1)
        # This month's statement: its revenue period ends after the snapshot.
        conn.execute(
            "insert into billing.revenue_shares (id, user_id, project_id, book_sales, platform_commission_rate,"
            " user_revenue, platform_revenue, payout_status, revenue_period_start, revenue_period_end)"
            " values (%s, %s, %s, 12.00, 0.1000, 10.80, 1.20, 'pending', %s,"
            " %s + interval '1 month' - interval '1 day')",
            (uid("share", 7), ALICE, LONG_NIGHT, month, month),
        )
        # Erin signs up and writes today: her cohort's first week is not over at the snapshot.
        conn.execute(
            "insert into users.users (id, email, first_name, last_name, tier, created_at)"
            " values (%s, 'erin@example.com', 'Erin', 'Stone', 'free', now())",
            (uid("user", 5),),
        )
        conn.execute(
            "insert into analytics.user_events (id, user_id, event_type, timestamp, event_category)"
            " values (%s, %s, 'page_view', now(), 'writing')",
            (uid("event", 11), uid("user", 5)),
        )
    run_cli("etl", "run", env=cli_env)

    at = _open("revenue_share", {"month": f"{month:%Y-%m}"})
    _no_errors(at)
    (warning,) = [w.value for w in at.warning if "Partial" in w.value]
    assert warning.startswith(f"**Partial**: the revenue period of {month:%Y-%m} runs to ")
    assert _metrics(at)["Book sales"] == "$12.00"
    # The default range ends today: the month charts name this month as partial.
    assert [c.value for c in at.caption if c.value.startswith("**Partial**")] == [
        f"**Partial**: {month:%Y-%m}; the revenue period had not ended when these data were taken."
    ]
    at = _open("revenue_share", {"month": "2024-02"})  # an ended period carries no mark
    assert not [w.value for w in at.warning if "Partial" in w.value]

    at = _open("engagement", {"dates": [str(today), str(today)]})
    _no_errors(at)
    (heatmap,) = _figure(at, "retention")["data"]
    rates = np.frombuffer(base64.b64decode(heatmap["z"]["bdata"]), dtype=heatmap["z"]["dtype"])  # Plotly's binary
    assert len(rates) == 1 and np.isnan(rates[0]) and heatmap["text"] == [[""]]  # an empty cell, not 0%


def test_without_a_warehouse_the_app_says_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in _env(tmp_path, no_auth=True).items():
        monkeypatch.setenv(name, value)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "ebook-analytics etl run" in at.info[0].value
    assert os.path.exists(tmp_path / "warehouse") is False


def test_big_tables_show_one_page_of_rows_at_a_time() -> None:
    def script() -> None:
        import pandas as pd

        from dashboards import charts

        charts.table("Numbers", pd.DataFrame({"n": range(120)}), "numbers")

    at = AppTest.from_function(script, default_timeout=TIMEOUT).run()
    assert list(at.dataframe[0].value["n"]) == list(range(50))
    at.number_input(key="page_numbers").set_value(3).run()
    assert list(at.dataframe[0].value["n"]) == list(range(100, 120))
    assert at.number_input(key="page_numbers").label == "Page (of 3, 120 rows)"
    # Sorting and searching run over all 120 rows, not over the page on screen.
    at.selectbox(key="sort_numbers").set_value("n").run()
    at.selectbox(key="order_numbers").set_value("Descending").run()
    at.number_input(key="page_numbers").set_value(1).run()
    assert list(at.dataframe[0].value["n"])[:3] == [119, 118, 117]
    at.text_input(key="search_numbers").input("11").run()
    assert list(at.dataframe[0].value["n"]) == [119, 118, 117, 116, 115, 114, 113, 112, 111, 110, 11]
    assert at.caption[-1].value == "11 rows"


def test_dashboard_command_refuses_bad_options(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("EBOOK_ANALYTICS_")},
        **_env(tmp_path, no_auth=False),
    }
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        cases = {
            ("dashboard", "--port", "0"): "error: --port 0 is not a TCP port; use a number from 1 to 65535\n",
            ("dashboard", "--port", port): f"error: cannot listen on 127.0.0.1:{port} (Address already in use); "
            "pick another port with --port, or stop what is using it\n",
            ("dashboard", "--no-auth", "--host", "0.0.0.0"): "error: --no-auth is allowed only on a loopback address",
        }
        for argv, message in cases.items():
            result = run_cli(*argv, env=env, check=False)
            assert result.returncode == 1, argv
            assert result.stderr.startswith(message), result.stderr
            assert "Traceback" not in result.stderr


def test_alerts_page_shows_each_role_the_alerts_that_concern_it(
    published: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the session's publication fired (tests/marts_dataset.py, snapshot now): statement 4's payout failed;
    Alice's and Carol's February shares are unpaid (Bob's March share is 0.00: nothing owed); the 2024 generations
    and events are stale; 2024-03-02 cost 0.0195 against a median day of 0."""
    from dashboards.auth.users import add_user

    for name, value in _env(Path(published["EBOOK_ANALYTICS_HOME"]), no_auth=False).items():
        monkeypatch.setenv(name, value)
    add_user("alerts-admin@example.com", "admin", "correct horse battery")
    add_user("alerts-fin@example.com", "finance", "correct horse battery")
    add_user("alerts-ana@example.com", "analyst", "correct horse battery")
    add_user("alerts-pat@example.com", "product", "correct horse battery")

    def shown(email: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
        at = _open("alerts", signed_in=email)
        _no_errors(at)
        open_alerts = at.dataframe[0].value
        return _metrics(at), sorted(zip(open_alerts["rule"], open_alerts["subject"], strict=True))

    metrics, alerts = shown("alerts-admin@example.com")
    assert metrics == {"Open alerts": "6", "Critical open": "1", "Resolved": "0"}
    assert alerts == [
        ("ai_cost_spike", "ai_cost"),
        ("author_share_unpaid", "Alice Smith <alice@example.com>"),
        ("author_share_unpaid", "Carol Jones <carol@example.com>"),
        ("payout_failed", str(uid("share", 4))),
        ("stale_data", "staging.ai_generations"),
        ("stale_data", "staging.user_events"),
    ]
    metrics, alerts = shown("alerts-fin@example.com")
    assert metrics == {"Open alerts": "3", "Critical open": "1", "Resolved": "0"}
    assert [rule for rule, _subject in alerts] == ["author_share_unpaid", "author_share_unpaid", "payout_failed"]
    assert shown("alerts-ana@example.com") == (
        {"Open alerts": "1", "Critical open": "0", "Resolved": "0"},
        [("ai_cost_spike", "ai_cost")],
    )
    at = _open("alerts", signed_in="alerts-pat@example.com")
    _no_errors(at)
    assert _metrics(at) == {"Open alerts": "0", "Critical open": "0", "Resolved": "0"}


def test_model_league_table_on_the_ai_cost_page(as_admin: Path) -> None:
    """March: gpt-4 (both versions) generations 1-5: 1 failed of 4 finished, p95 of 1,000/2,000/3,000 ms = 2,900,
    rating (4 + 5) / 2, cost 0.051 / 5; claude-3 generations 6 and 7: rating (3 + 2) / 2, p95 of 500/1,500 = 1,450,
    cost 0.0045 / 2. Ranks: claude-3 (1 + 1 + 2 + 1) / 4 = 1.25, gpt-4 1.75; gpt-4 alone is within 0.2 stars of
    the best rating."""
    at = _open("ai_cost", {"dates": MARCH})
    _no_errors(at)
    league = next(frame.value for frame in at.dataframe if "composite_rank" in frame.value.columns)
    shown = league[
        ["composite_rank", "model", "generations", "failure_rate", "latency_p95_ms", "mean_rating"]
        + ["cost_per_generation_usd", "composite_score", "cheapest_near_best"]
    ]
    assert shown.to_dict("records") == [
        {
            "composite_rank": 1,
            "model": "claude-3",
            "generations": 2,
            "failure_rate": 0.0,
            "latency_p95_ms": 1450.0,
            "mean_rating": 2.5,
            "cost_per_generation_usd": Decimal("0.002250"),
            "composite_score": 1.25,
            "cheapest_near_best": False,
        },
        {
            "composite_rank": 2,
            "model": "gpt-4",
            "generations": 5,
            "failure_rate": 0.25,
            "latency_p95_ms": 2900.0,
            "mean_rating": 4.5,
            "cost_per_generation_usd": Decimal("0.010200"),
            "composite_score": 1.75,
            "cheapest_near_best": True,
        },
    ]


def test_downloads_are_recorded_and_only_admins_read_the_audit_log(
    as_admin: Path, published: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    log = Path(published["EBOOK_ANALYTICS_HOME"]) / "audit" / "audit.jsonl"
    before = log.read_text().count("\n") if log.exists() else 0
    run_id = _scalar(as_admin, "select run_id from meta.publication")
    at = _open("revenue_share", {"month": "2024-02", "dates": MARCH})
    _no_errors(at)
    buttons = {button.label: button for button in at.get("download_button")}
    buttons["Statements XLSX"].click().run()
    _no_errors(at)
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(entries) == before + 1
    assert {key: value for key, value in entries[-1].items() if key != "at"} == {
        "user": "local",  # --no-auth: the local admin
        "role": "admin",
        "action": "export statements",
        "what": "revenue-share-2024-02.xlsx",
        "filters": {"page": "revenue_share", "dates": "2024-03-01,2024-03-31", "month": "2024-02"},
        "run_id": run_id,
        "files": [],
    }
    # The page's report pack is recorded too, named by the page and the day of the data.
    buttons = {button.label: button for button in at.get("download_button")}
    buttons["Download page (XLSX)"].click().run()
    newest = json.loads(log.read_text().splitlines()[-1])
    snapshot_day = f"{_scalar(as_admin, 'select snapshot_at from meta.publication'):%Y-%m-%d}"
    assert (newest["action"], newest["what"]) == ("report pack", f"revenue_share-{snapshot_day}.xlsx")

    at = _open("audit_log")
    _no_errors(at)
    shown = at.dataframe[0].value
    assert list(shown.columns) == ["at", "user", "role", "action", "what", "filters", "run_id", "files"]
    assert shown.iloc[1][["user", "role", "what", "filters"]].tolist() == [
        "local",
        "admin",
        "revenue-share-2024-02.xlsx",
        "dates=2024-03-01,2024-03-31; month=2024-02; page=revenue_share",  # the log keeps keys sorted
    ]
    # The log's own CSV download is an export too.
    at.get("download_button")[0].click().run()
    assert json.loads(log.read_text().splitlines()[-1])["what"] == "audit_log.csv"

    def script() -> None:
        import streamlit as st

        from dashboards import data
        from dashboards.auth import User

        data.start_run(User(email="f@example.com", role="finance"))
        try:
            data.audit_entries()
        except data.OutOfScope as refused:
            st.write(f"refused: {refused}")

    for name, value in _env(Path(published["EBOOK_ANALYTICS_HOME"]), no_auth=False).items():
        monkeypatch.setenv(name, value)
    refused = AppTest.from_function(script, default_timeout=TIMEOUT).run()
    assert [text.value for text in refused.markdown] == ["refused: the finance role may not read the audit log"]


def _same_as_csv(cell: object, text: str) -> bool:
    """Whether an XLSX cell holds the value its CSV line prints (numbers as numbers, timestamps as dates)."""
    if text == "":
        return cell is None
    if isinstance(cell, datetime):
        return pd.Timestamp(text).tz_localize(None) == pd.Timestamp(cell)
    if isinstance(cell, bool) or not isinstance(cell, int | float | Decimal):
        return str(cell) == text
    return Decimal(str(cell)) == Decimal(text)


def test_the_statements_xlsx_is_made_on_click_as_the_export_makes_it(
    published: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The revenue share page gives Streamlit a function for its statements XLSX (at large the workbook takes
    seconds, which every first view of a month waited for), called on another thread when the button is clicked:
    outside the script run, it makes the export's workbook, cell for cell; the CSV is the export's, byte for byte."""

    def script() -> None:
        from datetime import date

        import streamlit as st

        from dashboards import data
        from dashboards.auth import User

        data.start_run(User(email="fin@example.com", role="finance"))
        data.open_page("revenue_share")
        st.session_state["files"] = data.statement_files(date(2024, 2, 1))

    for name, value in _env(Path(published["EBOOK_ANALYTICS_HOME"]), no_auth=False).items():
        monkeypatch.setenv(name, value)
    at = AppTest.from_function(script, default_timeout=TIMEOUT).run()
    _no_errors(at)
    csv_file, make_xlsx = at.session_state["files"]
    made: list[bytes] = []
    clicked = threading.Thread(target=lambda: made.append(make_xlsx()))  # as Streamlit calls it: no script run
    clicked.start()
    clicked.join()
    exported = {kind: tmp_path / f"statements.{kind}" for kind in ("csv", "xlsx")}
    for kind, path in exported.items():
        run_cli("export", "revenue-share", "--period", "2024-02", "--format", kind, "--out", str(path), env=published)

    def cells(workbook: bytes) -> dict[str, list[list[object]]]:
        book = openpyxl.load_workbook(io.BytesIO(workbook))
        generated = "Generated at (UTC)"  # the cover's one line that is the moment it was made
        return {
            name: [[cell.value for cell in row] for row in book[name].iter_rows() if row[0].value != generated]
            for name in book.sheetnames
        }

    assert csv_file == exported["csv"].read_bytes()
    assert cells(made[0]) == cells(exported["xlsx"].read_bytes())
    assert len(cells(made[0])["Statements"]) == 5  # a header, February's three statements and their total


def test_an_analysts_page_pack_equals_the_page_csvs_and_names_nobody(
    published: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def script() -> None:
        import runpy

        import streamlit as st

        from dashboards import data
        from dashboards.auth import User
        from dashboards.pages import page

        data.start_run(User(email="ann@example.com", role="analyst"))
        data.open_page("ai_cost")
        runpy.run_path(str(page("ai_cost").view_path))
        st.session_state["pack"] = data.page_pack("AI cost")()

    for name, value in _env(Path(published["EBOOK_ANALYTICS_HOME"]), no_auth=False).items():
        monkeypatch.setenv(name, value)
    at = AppTest.from_function(script, default_timeout=TIMEOUT)
    at.query_params.update({"dates": MARCH, "provider": "openai"})
    at.run()
    _no_errors(at)
    sections = at.session_state["_data_sections"]
    book = openpyxl.load_workbook(io.BytesIO(at.session_state["pack"]))
    assert len(book.sheetnames) == len(sections) + 1 == 10  # the cover, 5 charts and 4 tables
    cover = {row[0].value: row[1].value for row in book["Cover"].iter_rows()}
    con = open_published(published["EBOOK_ANALYTICS_WAREHOUSE"])
    try:
        run_id, snapshot_at = con.execute("select run_id, snapshot_at from meta.publication").fetchone()
    finally:
        con.close()
    assert {key: cover[key] for key in list(cover)[:9]} == {
        "Page": "AI cost",
        "Role": "analyst",
        "Filter: dates": "2024-03-01,2024-03-31",
        "Filter: provider": "openai",
        "Data as of (UTC)": snapshot_at.astimezone(UTC).replace(tzinfo=None, microsecond=0),
        "Run id": run_id,
        "Currency": "USD",
        # The page read staging.ai_generations, whose last row is from 2024: the freshness check warns.
        "Open warnings": 1,
        "Warning": "staging.ai_generations.freshness on staging.ai_generations: 1 unexpected",
    }
    assert cover["Sheets"] == 9
    for name, section in zip(book.sheetnames[1:], sections, strict=True):
        assert (name, cover[name]) == (section.key, section.title)
        sheet = book[name]
        lines = list(csv.reader(io.StringIO(charts.csv_bytes(section.frame).decode())))
        cells = [[cell.value for cell in row] for row in sheet.iter_rows()]
        assert cells[0] == lines[0] and len(cells) == len(lines), name
        for row, line in zip(cells[1:], lines[1:], strict=True):
            assert all(_same_as_csv(cell, text) for cell, text in zip(row, line, strict=True)), (name, row, line)
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == f"A1:{get_column_letter(len(lines[0]))}{len(lines)}"
    # Money numeric with a currency format: the top spenders' cost (AI cost keeps its 6 places).
    spenders = book["ai_top_spenders"]
    header = [cell.value for cell in spenders[1]]
    cost = spenders.cell(row=2, column=header.index("cost_usd") + 1)
    assert (type(cost.value), cost.number_format) == (float, '"$"#,##0.000000')
    generations = spenders.cell(row=2, column=header.index("generations") + 1)
    assert generations.number_format in ("General", "0")
    # An analyst's pack: people under their pseudonymous key, never a name or an email.
    texts = [str(cell.value) for sheet in book for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert not [text for text in texts if "@" in text or "Alice" in text or str(ALICE) in text]
    assert any(text.startswith("u_") for text in texts)


def test_charts_read_right_whatever_the_page_draws() -> None:
    from dashboards.colours import PALETTE, colour

    november = pd.DataFrame({"month": [date(2026, 11, 1)], "plan": ["Basic Monthly"], "mrr": [Decimal("9.99")]})
    figure = charts.read_right(plots.bar(november, x="month", y="mrr", color="plan"), november)
    axis = figure.layout.xaxis
    # One month: a month axis labelled "Nov 2026" (it was "00:00:00 Nov 1, 2026"), from Oct 16 to Nov 17.
    assert (axis.type, axis.dtick, axis.tickformat, axis.hoverformat) == ("date", "M1", "%b %Y", "%B %Y")
    assert [str(end)[:10] for end in axis.range] == ["2026-10-16", "2026-11-17"]
    (bar,) = figure.data
    assert bar.hovertemplate == "<b>Basic Monthly</b><br>%{x|%B %Y}: %{y:$,.2f}<extra></extra>"
    assert bar.marker.color == colour("basic monthly") == "#56b4e9"  # the plan's declared colour, any case
    assert figure.layout.yaxis.title.text == "MRR (USD)"  # the metric's label and unit, not `mrr`

    days = pd.DataFrame(
        {
            "day": [date(2024, 3, day) for day in range(1, 41 - 9)],
            "ai_latency_p50": [None] * 10 + [500.0] + [None] * 20,  # one point alone: invisible without a marker
            "ai_latency_p95": [700.0] * 31,
            "ai_failure_rate": [0.0] * 31,
        }
    )
    figure = charts.read_right(plots.line(days, x="day", y=["ai_latency_p50", "ai_latency_p95"]), days)
    assert [(line.name, line.mode) for line in figure.data] == [
        ("AI latency p50 (ms)", "lines+markers"),
        ("AI latency p95 (ms)", "lines"),  # 31 points in a row: the line shows them
    ]
    assert figure.data[0].hovertemplate == (
        "<b>AI latency p50 (ms)</b><br>%{x|%a %b %d, %Y}: %{y:,.0f} ms<extra></extra>"
    )
    assert figure.layout.yaxis.title.text == "ms"  # two measures of one unit: the unit
    figure = charts.read_right(plots.line(days, x="day", y="ai_failure_rate"), days)
    # A failure rate of 0 everywhere ran from -100% to 100%; rates run from 0 to 100%.
    assert (figure.layout.yaxis.tickformat, tuple(figure.layout.yaxis.range)) == (".0%", (0, 1.0))

    # A name nobody declared still has one colour, the same in every process.
    assert colour("Team Plan (2027)") == colour("team plan (2027)") == "#59a14f"
    assert colour("Team Plan (2027)") in PALETTE
    assert (charts.money(None), charts.count(float("nan")), charts.percent(None)) == ("—", "—", "—")


def test_date_presets_and_refused_ranges(as_admin: Path) -> None:
    # The hand-made history runs from 2024-02-01 to 2024-05-01: presets end on its last day.
    cases = {
        "Last 7 days": "Apr 25, 2024 to May 01, 2024 (7 days, UTC)",
        "Month to date": "May 01, 2024 to May 01, 2024 (1 days, UTC)",
        "Last complete month": "Apr 01, 2024 to Apr 30, 2024 (30 days, UTC)",
        "Quarter to date": "Apr 01, 2024 to May 01, 2024 (31 days, UTC)",
        "Last complete quarter": "Feb 01, 2024 to Mar 31, 2024 (60 days, UTC)",  # Jan 1 to Mar 31, cut to the data
    }
    for preset, shown in cases.items():
        at = _open("overview", {"period": preset})
        _no_errors(at)
        assert shown in [caption.value for caption in at.sidebar.caption], preset
    # March as a link's custom range is March, and "last complete month" on a March-end warehouse would be too.
    at = _open("writing_progress", {"dates": MARCH})
    assert at.selectbox(key="period").value == "Custom range"
    assert _metrics(at)["Words written"] == "1,590"
    # Reversed, or without a day of data: a message and no figures (it showed "-180 days" and a bogus MRR).
    at = _open("overview", {"dates": ["2024-03-31", "2024-03-01"]})
    _no_errors(at)
    assert not at.metric and not at.get("plotly_chart")
    assert [w.value for w in at.warning if "range" in w.value] == [
        "The range ends (Mar 01, 2024) before it starts (Mar 31, 2024). Pick the start date first, then the end date."
    ]
    at = _open("overview", {"dates": ["2020-01-01", "2020-01-31"]})
    assert not at.metric
    assert any(
        w.value.startswith("No data between Jan 01, 2020 and Jan 31, 2020: the warehouse holds Feb 01, 2024 to May")
        for w in at.warning
    )
    # A range wider than the data is cut to it, and says so.
    at = _open("usage", {"dates": ["1999-01-01", "2999-12-31"]})
    _no_errors(at)
    assert "Feb 01, 2024 to May 01, 2024 (91 days, UTC)" in [caption.value for caption in at.sidebar.caption]
    # Comparisons only against a period mostly with data: the 91 days before February have none, so no delta.
    tiles = {metric.label: metric for metric in at.metric}
    assert tiles["Users with usage"].delta in (None, "")
    assert tiles["Users with usage"].help.endswith("lies mostly before the data start (Feb 01, 2024).")


def test_report_tables_sort_search_and_page_the_whole_result_in_the_query(as_admin: Path) -> None:
    warehouse = as_admin
    tables = json.loads(
        _scalar(warehouse, "select to_json(list(table_name order by table_name)) from meta.extract_state")
    )
    smallest = _scalar(warehouse, "select min(rows) from meta.extract_state")
    at = _open("data_quality")
    _no_errors(at)
    at.selectbox(key="size_freshness").set_value(10).run()
    shown = next(frame.value for frame in at.dataframe if "table_name" in frame.value.columns)
    assert list(shown["table_name"]) == tables[:10]  # as listed: by table name
    assert at.number_input(key="page_freshness").label == f"Page (of {-(-len(tables) // 10)}, {len(tables)} rows)"
    at.selectbox(key="sort_freshness").set_value("rows").run()
    shown = next(frame.value for frame in at.dataframe if "table_name" in frame.value.columns)
    assert shown["rows"].iloc[0] == smallest  # the smallest of all rows, wherever it was listed
    at.selectbox(key="order_freshness").set_value("Descending").run()
    at.selectbox(key="sort_freshness").set_value("table_name").run()
    at.number_input(key="page_freshness").set_value(2).run()
    shown = next(frame.value for frame in at.dataframe if "table_name" in frame.value.columns)
    assert list(shown["table_name"]) == sorted(tables, reverse=True)[10:20]
    at.text_input(key="search_freshness").input("AI_").run()  # any column, any case
    shown = next(frame.value for frame in at.dataframe if "table_name" in frame.value.columns)
    assert list(shown["table_name"]) == ["ai_providers", "ai_models", "ai_generations"]
    assert "3 rows" in [caption.value for caption in at.caption]


def test_the_banner_says_what_is_affected_and_data_quality_shows_the_failed_checks(as_admin: Path) -> None:
    warehouse = as_admin
    snapshot = _scalar(warehouse, "select snapshot_at from meta.publication")
    # The hand-made history's newest generation is from March 2, 2024: days old at the snapshot (run today).
    age = (snapshot.date() - date(2024, 3, 2)).days
    at = _open("ai_cost", {"dates": MARCH})
    _no_errors(at)
    (banner,) = [w.value for w in at.warning if "old" in w.value]
    assert banner == (
        f"- **AI cost data** is {age:,} days old; figures after Mar 02, 2024 are missing. Affected: AI cost, "
        "AI tokens, AI generations, Failed AI generations, …"
    )
    (details,) = at.expander
    assert "`staging.ai_generations.freshness` on `staging.ai_generations`: 1 unexpected" in details.markdown[0].value

    at = _open("data_quality")
    _no_errors(at)
    failed = _scalar(warehouse, "select count(*) from meta.check_results where not success")
    every = _scalar(warehouse, "select count(*) from meta.check_results")
    checks = next(frame.value for frame in at.dataframe if "success" in frame.value.columns)
    assert len(checks) == failed == 2 and not checks["success"].any()  # the two freshness warnings
    assert f"2 of {every:,} checks failed in run" in " ".join(caption.value for caption in at.caption)
    at.toggle(key="failed_only").set_value(False).run()
    checks = next(frame.value for frame in at.dataframe if "success" in frame.value.columns)
    assert len(checks) == min(every, 50)
