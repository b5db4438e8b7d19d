"""Issue 16 item 1, the writing-milestone funnel, on the hand-made platform of tests/funnel_dataset.py published once.

Worked out by hand (UTC; hours from the previous step):

| user | cohort  | plan      | tier    | method   | project | chapter | AI gen | completed | export | published | sale |
|------|---------|-----------|---------|----------|---------|---------|--------|-----------|--------|-----------|------|
| Una  | 2024-03 | Pro       | basic   | google   | 1.5     | 1.5     | 2      | 28        | 17.5   | 143.5     | 624  |
| Vic  | 2024-04 | (no plan) | free    | password | 1       | -       | (3.5h after sign-up) | - | (day 2) | -  | -    |
| Wes  | 2024-03 | Basic     | premium | github   | 1       | 10      | 1.5    | -         | (day 2) | -        | -    |
| Xan  | 2024-03 | (no plan) | free    | unknown  | -       | -       | -      | -         | -      | -         | -    |

A step counts when it and every step before it were reached within the window: Vic skips the chapter, so her
generation and export count nowhere; Wes's export comes without a completed chapter and does not count either.
Any time, all users: 4, 3 (median 1 h of 1.5, 1, 1), 2 (median of 1.5 and 10: 5.75 h), 2 (of 2 and 1.5: 1.75 h),
1 (28), 1 (17.5), 1 (143.5), 1 (624). Within 7 days Una's book (published 8 days 2 h after sign-up) and sale drop
out: steps 7 and 8 reach 0. Within 30 days her book counts, not her sale (34 days 2 h).
Vic signed up '2024-03-31 21:00-05', April 1 in UTC: a March-only period leaves her out (project median 1.25 h).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from pipelines import warehouse
from pipelines.queries import sql_file
from tests.conftest import REPO_ROOT
from tests.etl_rows import query_warehouse
from tests.funnel_dataset import UNA, VIC, WES, XAN, insert_funnel_platform

APP = str(REPO_ROOT / "dashboards" / "app.py")
SPRING = {"start": date(2024, 3, 1), "end": date(2024, 4, 30)}
STEPS = [
    "Signed up",
    "First project",
    "First chapter",
    "First AI generation",
    "First completed chapter",
    "First export",
    "First published book",
    "First sale",
]


@pytest.fixture(scope="module")
def published(publish_own_dataset: Callable[[Callable[[str], None], str], dict[str, str]]) -> dict[str, str]:
    return publish_own_dataset(insert_funnel_platform, "funnel")


def _warehouse(env: dict[str, str]) -> Path:
    return Path(env["EBOOK_ANALYTICS_WAREHOUSE"])


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _funnel(env: dict[str, str], window_days: int | None, breakdown: str, **period: date) -> list[tuple[Any, ...]]:
    with warehouse.connect(_warehouse(env), read_only=True) as con:  # UTC and the house macros (picked)
        return con.execute(
            f"select * from ({sql_file('reports/engagement/milestone_funnel')})",
            {**(period or SPRING), "window_days": window_days, "breakdown": breakdown, "plans": [], "tiers": []},
        ).fetchall()


def _column(rows: list[tuple[Any, ...]], index: int, segment: str | None = None) -> list[Any]:
    return [row[index] for row in rows if segment is None or row[0] == segment]


def test_one_row_per_signed_up_user_with_first_moments(published: dict[str, str]) -> None:
    rows = query_warehouse(
        _warehouse(published),
        "select user_id, signup_at, signup_day, cohort_month, plan, tier, signup_method, first_project_at,"
        " first_chapter_at, first_generation_at, first_completed_chapter_at, first_export_at, first_published_at,"
        " first_sale_at from marts.user_milestones order by signup_at",
    )
    assert rows == [
        (UNA, _at("2024-03-01 22:00+00"), date(2024, 3, 1), date(2024, 3, 1), "Pro", "basic", "google",
         _at("2024-03-01 23:30+00"), _at("2024-03-02 01:00+00"), _at("2024-03-02 03:00+00"),
         _at("2024-03-03 07:00+00"), _at("2024-03-04 00:30+00"), _at("2024-03-10 00:00+00"),
         _at("2024-04-05 00:00+00")),
        (WES, _at("2024-03-15 12:00+00"), date(2024, 3, 15), date(2024, 3, 1), "Basic", "premium", "github",
         _at("2024-03-15 13:00+00"), _at("2024-03-15 23:00+00"), _at("2024-03-16 00:30+00"), None,
         _at("2024-03-17 10:00+00"), None, None),
        (XAN, _at("2024-03-20 10:00+00"), date(2024, 3, 20), date(2024, 3, 1), "(no plan)", "free", "unknown",
         None, None, None, None, None, None, None),
        (VIC, _at("2024-04-01 02:00+00"), date(2024, 4, 1), date(2024, 4, 1), "(no plan)", "free", "password",
         _at("2024-04-01 03:00+00"), None, _at("2024-04-01 05:00+00"), None, _at("2024-04-02 10:00+00"), None,
         None),
    ]  # fmt: skip


def test_funnel_counts_conversions_and_medians_at_any_time(published: dict[str, str]) -> None:
    rows = _funnel(published, None, "all")
    assert _column(rows, 0) == ["All users"] * 8
    assert _column(rows, 2) == STEPS
    assert _column(rows, 3) == [4, 3, 2, 2, 1, 1, 1, 1]
    assert _column(rows, 4) == [None, 3 / 4, 2 / 3, 1.0, 1 / 2, 1.0, 1.0, 1.0]
    assert _column(rows, 5) == [1.0, 3 / 4, 2 / 4, 2 / 4, 1 / 4, 1 / 4, 1 / 4, 1 / 4]
    assert _column(rows, 6) == [None, 1.0, 5.75, 1.75, 28.0, 17.5, 143.5, 624.0]
    assert _column(rows, 7) == [None, 1 / 24, 5.75 / 24, 1.75 / 24, 28 / 24, 17.5 / 24, 143.5 / 24, 26.0]


def test_the_window_drops_steps_reached_too_late(published: dict[str, str]) -> None:
    week = _funnel(published, 7, "all")
    assert _column(week, 3) == [4, 3, 2, 2, 1, 1, 0, 0]
    assert _column(week, 4)[5:] == [1.0, 0.0, None]  # nobody left to convert: no ratio, not 0%
    assert _column(week, 6)[5:] == [17.5, None, None]
    month = _funnel(published, 30, "all")
    assert _column(month, 3) == [4, 3, 2, 2, 1, 1, 1, 0]
    assert _column(_funnel(published, 90, "all"), 3) == [4, 3, 2, 2, 1, 1, 1, 1]  # 90 days: the sale too


def test_breakdowns_by_cohort_plan_tier_and_method(published: dict[str, str]) -> None:
    cohorts = _funnel(published, None, "cohort")
    assert sorted(set(_column(cohorts, 0))) == ["2024-03", "2024-04"]
    assert _column(cohorts, 3, "2024-03") == [3, 2, 2, 2, 1, 1, 1, 1]
    assert _column(cohorts, 6, "2024-03")[1:3] == [1.25, 5.75]
    assert _column(cohorts, 3, "2024-04") == [1, 1, 0, 0, 0, 0, 0, 0]  # Vic skipped the chapter
    plans = _funnel(published, None, "plan")
    assert {row[0]: row[3] for row in plans if row[1] == 2} == {"(no plan)": 1, "Basic": 1, "Pro": 1}
    assert _column(plans, 3, "(no plan)")[:3] == [2, 1, 0]
    tiers = _funnel(published, None, "tier")
    assert _column(tiers, 3, "free")[:4] == [2, 1, 0, 0]
    assert _column(tiers, 4, "free")[:4] == [None, 0.5, 0.0, None]
    assert _column(tiers, 3, "premium") == [1, 1, 1, 1, 0, 0, 0, 0]
    methods = _funnel(published, None, "method")
    assert {row[0]: row[3] for row in methods if row[1] == 1} == {"github": 1, "google": 1, "password": 1, "unknown": 1}


def test_the_period_is_of_utc_sign_up_days(published: dict[str, str]) -> None:
    march = _funnel(published, None, "all", start=date(2024, 3, 1), end=date(2024, 3, 31))
    assert _column(march, 3) == [3, 2, 2, 2, 1, 1, 1, 1]
    assert _column(march, 6)[:2] == [None, 1.25]
    assert _funnel(published, None, "all", start=date(2024, 5, 1), end=date(2024, 5, 31)) == []


def test_engagement_page_shows_the_funnel_table(published: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EBOOK_ANALYTICS_HOME", published["EBOOK_ANALYTICS_HOME"])
    monkeypatch.setenv("EBOOK_ANALYTICS_WAREHOUSE", published["EBOOK_ANALYTICS_WAREHOUSE"])
    monkeypatch.setenv("EBOOK_ANALYTICS_BIND_ADDRESS", "127.0.0.1")
    monkeypatch.setenv("EBOOK_ANALYTICS_NO_AUTH", "1")
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("views/engagement.py")
    at.query_params.update({"dates": ["2024-03-01", "2024-04-30"], "funnel_window": "7 days", "funnel_by": "Tier"})
    at.run()
    assert not at.exception, [exception.value for exception in at.exception]
    assert not at.error, [error.value for error in at.error]
    assert "**Writing-milestone funnel of the period's sign-ups (steps reached within 7 days of sign-up)**" in [
        markdown.value for markdown in at.markdown
    ]
    funnel = next(frame.value for frame in at.dataframe if "conversion_from_signup" in frame.value.columns)
    assert list(funnel["segment"].unique()) == ["basic", "free", "premium"]
    assert list(funnel.loc[funnel["segment"] == "basic", "users"]) == [1, 1, 1, 1, 1, 1, 0, 0]
    assert list(funnel.loc[funnel["segment"] == "free", "users"]) == [2, 1, 0, 0, 0, 0, 0, 0]
