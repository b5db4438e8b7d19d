"""Lifecycle and depth in writing days (Engagement page), on a hand-made history published once by `etl run`.

A writing day is a UTC day with a saved content version or a chapter_edit event. The dataset writes on both sides
of UTC midnight and of an ISO week boundary, has a writer coming back after a gap, a power writer, anonymous events
and events outside March; every figure below is worked out by hand from it. ISO weeks of March 2024: W0 starts Mon
2024-02-26, W1 03-04, W2 03-11, W3 03-18, W4 03-25, W5 04-01.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest

from pipelines import warehouse
from pipelines.metrics.query import query_metrics
from pipelines.queries import sql_file
from tests.test_dashboards import _env, _no_errors, _open

TODAY = datetime.now(UTC).date()
ANN, BEN, CAT, DAN, EVE = (uuid.UUID(f"a1000000-0000-0000-0000-{n:012d}") for n in range(1, 6))
USERS = [(ANN, "ann"), (BEN, "ben"), (CAT, "cat"), (DAN, "dan"), (EVE, "eve")]

# (writer, created_at): each writer's versions go to their own chapter.
VERSIONS = [
    (CAT, "2024-03-01 10:00:00+00"),  # W0
    (BEN, "2024-03-05 12:00:00+00"),  # W1
    (ANN, "2024-03-10 23:30:00-05"),  # Sunday evening in New York is Monday 03-11 04:30 UTC: W2, not W1
    (CAT, "2024-03-19 08:00:00+00"),  # W3, after a quiet W2
    (EVE, "2024-03-20 09:00:00+00"),  # W3, the same day as two of Eve's edits
    (CAT, "2024-03-27 08:00:00+00"),  # W4
]
EVE_EDITS = ["2024-03-20 10:00:00+00", "2024-03-20 11:00:00+00"] + [f"2024-03-{d} 10:00:00+00" for d in range(21, 28)]
# (user or None for anonymous, event_type, event_category, timestamp)
EVENTS = [
    (ANN, "chapter_edit", "writing", "2024-03-04 09:00:00+00"),  # W1
    (ANN, "chapter_edit", "writing", "2024-03-18 00:30:00+01"),  # Monday in Paris is Sunday 03-17 23:30 UTC: W2
    (BEN, "chapter_edit", "writing", "2024-03-26 10:00:00+00"),  # W4: back after two quiet weeks
    (CAT, "chapter_edit", "writing", "2024-03-06 10:00:00+00"),  # W1
    *[(EVE, "chapter_edit", "writing", at) for at in EVE_EDITS],  # 8 days, 03-20 to 03-27
    (None, "chapter_edit", "writing", "2024-03-15 10:00:00+00"),  # anonymous: nobody's writing day
    (DAN, "page_view", "navigation", "2024-02-20 10:00:00+00"),  # before March (the page's dates start here)
    (DAN, "page_view", "navigation", "2024-03-12 10:00:00+00"),  # not writing
    (None, "page_view", None, "2024-03-31 23:59:59+00"),
    (DAN, "page_view", "navigation", "2024-03-31 22:00:00-05"),  # 04-01 03:00 UTC: after March
    (DAN, "page_view", "navigation", f"{TODAY} 00:00:00+00"),  # the page's dates reach the run's own week
]
# (user, created_at) of AI generations: the week of a person's first one is their cohort.
GENERATIONS = [
    (ANN, "2024-03-04 08:00:00+00"),  # W1
    (ANN, "2024-03-20 08:00:00+00"),  # not her first
    (DAN, "2024-03-12 09:00:00+00"),  # W2
    (EVE, "2024-03-17 23:30:00-05"),  # 03-18 04:30 UTC: W3, not W2
]
MARCH = (date(2024, 3, 1), date(2024, 3, 31))
EVERYONE = {"plans": [], "tiers": []}  # the page's plan and tier filters, nothing picked


def _values(axis: object) -> list[float]:
    """A trace's values as the browser receives them: a list, or Plotly's typed array (base64 and its dtype)."""
    if isinstance(axis, dict):
        return np.frombuffer(base64.b64decode(axis["bdata"]), dtype=axis["dtype"]).tolist()
    return list(axis)  # type: ignore[call-overload]


def _insert(url: str) -> None:
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.executemany(
            "insert into users.users (id, email, tier, created_at) values (%s, %s, 'free', '2024-02-01 00:00:00+00')",
            [(user, f"{name}@example.com") for user, name in USERS],
        )
        for n, (user, _) in enumerate(USERS, start=1):
            project, chapter = uuid.UUID(int=n), uuid.UUID(int=100 + n)
            cur.execute(
                "insert into content.projects (id, owner_id, title, created_at)"
                " values (%s, %s, 'Book', '2024-02-01 00:00:00+00')",
                (project, user),
            )
            cur.execute(
                "insert into content.chapters (id, project_id, position) values (%s, %s, 1)", (chapter, project)
            )
        chapters = {user: uuid.UUID(int=100 + n) for n, (user, _) in enumerate(USERS, start=1)}
        projects = {user: uuid.UUID(int=n) for n, (user, _) in enumerate(USERS, start=1)}
        numbers: dict[uuid.UUID, int] = {}
        for n, (user, at) in enumerate(VERSIONS, start=1):
            numbers[user] = numbers.get(user, 0) + 1
            cur.execute(
                "insert into content.content_versions (id, chapter_id, version_number, word_count, content, changed_by,"
                " created_at) values (%s, %s, %s, 100, 'text', %s, %s)",
                (uuid.UUID(int=1000 + n), chapters[user], numbers[user], user, at),
            )
        cur.execute("insert into ai_processing.ai_providers (id, name) values (%s, 'openai')", (uuid.UUID(int=7),))
        cur.execute(
            "insert into ai_processing.ai_models (id, provider_id, name, version) values (%s, %s, 'gpt-4', '1')",
            (uuid.UUID(int=8), uuid.UUID(int=7)),
        )
        cur.executemany(
            "insert into ai_processing.ai_generations (id, user_id, project_id, model_id, prompt, status, tokens_used,"
            " cost, processing_time_ms, created_at, completed_at) values (%s, %s, %s, %s, 'write', 'completed', 100,"
            " 0.001, 1000, %s, %s::timestamptz + interval '1 second')",
            [
                (uuid.UUID(int=2000 + n), user, projects[user], uuid.UUID(int=8), at, at)
                for n, (user, at) in enumerate(GENERATIONS)
            ],
        )
        cur.executemany(
            "insert into analytics.user_events (user_id, event_type, event_category, timestamp)"
            " values (%s, %s, %s, %s)",
            EVENTS,
        )


@pytest.fixture(scope="module")
def published(publish_own_dataset: Callable[[Callable[[str], None], str], dict[str, str]]) -> dict[str, str]:
    return publish_own_dataset(_insert, "lifecycle")


def _rows(env: dict[str, str], sql: str, params: dict[str, object] | None = None) -> list[tuple]:
    con = warehouse.connect(env["EBOOK_ANALYTICS_WAREHOUSE"], read_only=True)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


def test_writing_days_are_utc_days_with_a_version_or_a_chapter_edit(published: dict[str, str]) -> None:
    rows = _rows(
        published,
        "select user_id, day, versions, chapter_edits from marts.user_writing_days order by user_id, day",
    )
    d = date
    assert rows == [
        (ANN, d(2024, 3, 4), 0, 1),
        (ANN, d(2024, 3, 11), 1, 0),
        (ANN, d(2024, 3, 17), 0, 1),
        (BEN, d(2024, 3, 5), 1, 0),
        (BEN, d(2024, 3, 26), 0, 1),
        (CAT, d(2024, 3, 1), 1, 0),
        (CAT, d(2024, 3, 6), 0, 1),
        (CAT, d(2024, 3, 19), 1, 0),
        (CAT, d(2024, 3, 27), 1, 0),
        (EVE, d(2024, 3, 20), 1, 2),  # a version and two edits: one writing day
        *[(EVE, d(2024, 3, day), 0, 1) for day in range(21, 28)],
    ]  # Dan only viewed pages; the anonymous edit is nobody's


# (week, new, returning, resurrecting, dormant, active)
LIFECYCLE = [
    (date(2024, 2, 26), 1, 0, 0, 0, 1),  # Cat's first week
    (date(2024, 3, 4), 2, 1, 0, 0, 3),  # Ann and Ben new, Cat returning
    (date(2024, 3, 11), 0, 1, 0, 2, 1),  # Ann returning (Monday and Sunday UTC); Ben and Cat dormant
    (date(2024, 3, 18), 1, 0, 1, 1, 2),  # Eve new, Cat resurrecting; Ann dormant
    (date(2024, 3, 25), 0, 2, 1, 0, 3),  # Cat and Eve returning, Ben resurrecting after two weeks
    (date(2024, 4, 1), 0, 0, 0, 3, 0),  # Ben, Cat and Eve dormant
    (date(2024, 4, 8), 0, 0, 0, 0, 0),  # a quiet week: zeros, not missing
]


def test_weekly_lifecycle_splits_writers_into_new_returning_resurrecting_and_dormant(
    published: dict[str, str],
) -> None:
    rows = _rows(
        published,
        "select week, new_writers, returning_writers, resurrecting_writers, dormant_writers, active_writers"
        " from marts.writer_lifecycle_weekly where week <= '2024-04-08' order by week",
    )
    assert rows == LIFECYCLE
    # Every week up to the snapshot's (the run's day) has a row, all of them over; the later ones are zeros.
    weeks, complete, writers = _rows(
        published,
        "select count(*), count(*) filter (where complete), sum(active_writers + dormant_writers)"
        " from marts.writer_lifecycle_weekly where week > '2024-04-08'",
    )[0]
    assert writers == 0 and weeks >= complete >= weeks - 1 > 0


def test_the_lifecycle_report_shows_dormant_writers_below_zero(published: dict[str, str]) -> None:
    rows = _rows(
        published,
        sql_file("reports/engagement/writer_lifecycle"),
        {"start": "2024-03-01", "end": "2024-03-31", **EVERYONE},
    )
    assert [row[:6] for row in rows] == [(week, n, r, s, -dormant, a) for week, n, r, s, dormant, a in LIFECYCLE[:5]]


def test_weekly_active_writers_metric_is_the_lifecycle_active_count(published: dict[str, str]) -> None:
    con = warehouse.connect(published["EBOOK_ANALYTICS_WAREHOUSE"], read_only=True)
    try:
        frame = query_metrics(con, ["weekly_active_writers"], start=MARCH[0], end=MARCH[1], grain="week")
    finally:
        con.close()
    assert frame["weekly_active_writers"].tolist() == [1, 3, 1, 2, 3]


def test_power_writer_histogram_and_its_weekly_trend(published: dict[str, str]) -> None:
    # Writing days in the 28 days 03-04..03-31: Ann 3, Ben 2, Cat 3 (03-01 falls outside), Eve 8.
    histogram = _rows(
        published, sql_file("reports/engagement/writing_days_histogram"), {"end": "2024-03-31", **EVERYONE}
    )
    assert histogram == [(days, {2: 1, 3: 2, 8: 1}.get(days, 0)) for days in range(1, 29)]
    trend = _rows(
        published,
        sql_file("reports/engagement/power_writers_weekly"),
        {"start": "2024-03-01", "end": "2024-03-31", **EVERYONE},
    )
    d = date
    assert trend == [
        (d(2024, 2, 26), d(2024, 3, 3), 1, 0, 0.0),  # 02-05..03-03: Cat
        (d(2024, 3, 4), d(2024, 3, 10), 3, 0, 0.0),
        (d(2024, 3, 11), d(2024, 3, 17), 3, 0, 0.0),
        (d(2024, 3, 18), d(2024, 3, 24), 4, 0, 0.0),  # Eve's 5 days so far
        (d(2024, 3, 25), d(2024, 3, 31), 4, 1, 0.25),  # Eve's 8 days
    ]


def test_events_by_type(published: dict[str, str]) -> None:
    rows = _rows(
        published,
        sql_file("reports/engagement/events_by_type"),
        {"start": "2024-03-01", "end": "2024-03-31", **EVERYONE},
    )
    # 4 of Ann's, Ben's and Cat's, 9 of Eve's and the anonymous one; Dan's late-evening view is April in UTC.
    assert rows == [("chapter_edit", "writing", 14), ("page_view", "navigation", 1), ("page_view", "uncategorised", 1)]


def test_retention_by_first_ai_generation(published: dict[str, str]) -> None:
    rows = _rows(
        published,
        sql_file("reports/engagement/retention_first_ai"),
        {"start": "2024-03-01", "end": "2024-03-31", **EVERYONE},
    )
    d = date
    # (cohort week, weeks since the first generation, cohort size, observed, active, rate). Ann (W1) was active in
    # W1 and W2 (her Sunday 23:30 UTC edit), Dan (W2) only in W2 (his 04-01 UTC view is after the range), Eve (W3)
    # in W3 and W4. Every week up to the one ending on 03-31 is over by the range's end.
    assert rows == [
        (d(2024, 3, 4), 0, 1, True, 1, 1.0),
        (d(2024, 3, 4), 1, 1, True, 1, 1.0),
        (d(2024, 3, 4), 2, 1, True, 0, 0.0),
        (d(2024, 3, 4), 3, 1, True, 0, 0.0),
        (d(2024, 3, 11), 0, 1, True, 1, 1.0),
        (d(2024, 3, 11), 1, 1, True, 0, 0.0),
        (d(2024, 3, 11), 2, 1, True, 0, 0.0),
        (d(2024, 3, 18), 0, 1, True, 1, 1.0),
        (d(2024, 3, 18), 1, 1, True, 1, 1.0),
    ]
    # Ending on a Saturday, the week it falls in is not over: an empty cell, not 0%.
    rows = _rows(
        published,
        sql_file("reports/engagement/retention_first_ai"),
        {"start": "2024-03-01", "end": "2024-03-30", **EVERYONE},
    )
    assert [row[:2] + row[3:] for row in rows if row[0] == d(2024, 3, 18)] == [
        (d(2024, 3, 18), 0, True, 1, 1.0),
        (d(2024, 3, 18), 1, False, None, None),
    ]


def test_the_engagement_page_shows_lifecycle_histogram_and_events_by_type(
    published: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in _env(Path(published["EBOOK_ANALYTICS_HOME"]), no_auth=True).items():
        monkeypatch.setenv(name, value)
    at = _open("engagement", {"dates": ["2024-03-01", "2024-03-31"]})
    _no_errors(at)
    figures = {
        chart.proto.id.rsplit("-chart_", 1)[-1]: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")
    }
    lifecycle = {trace["name"]: _values(trace["y"]) for trace in figures["writer_lifecycle"]["data"]}
    assert lifecycle == {
        "New writers": [1, 2, 0, 1, 0],
        "Returning writers": [0, 1, 1, 0, 2],
        "Resurrecting writers": [0, 0, 0, 1, 1],
        "Dormant writers": [0, 0, -2, -1, 0],
    }
    (histogram,) = figures["writing_days_histogram"]["data"]
    assert dict(zip(_values(histogram["x"]), _values(histogram["y"]), strict=True)) == {
        days: {2: 1, 3: 2, 8: 1}.get(days, 0) for days in range(1, 29)
    }
    (trend,) = figures["power_writers"]["data"]
    assert _values(trend["y"]) == [0.0, 0.0, 0.0, 0.0, 0.25]
    heatmap = figures["retention_first_ai"]["data"][0]
    rates = np.frombuffer(base64.b64decode(heatmap["z"]["bdata"]), dtype=heatmap["z"]["dtype"])
    # Cohorts W1, W2, W3 by weeks 0..3 since the first generation; weeks past the range's end are empty cells.
    expected = [[1, 1, 0, 0], [1, 0, 0, np.nan], [1, 1, np.nan, np.nan]]
    assert np.array_equal(rates.reshape(3, 4), expected, equal_nan=True)
    (events,) = [frame.value for frame in at.dataframe if "event_type" in frame.value.columns]
    assert events[["event_type", "category", "events"]].values.tolist() == [
        ["chapter_edit", "writing", 14],
        ["page_view", "navigation", 1],
        ["page_view", "uncategorised", 1],
    ]
    assert not [caption.value for caption in at.caption if "Partial" in caption.value]  # March is over

    at = _open("engagement", {"dates": [str(TODAY), str(TODAY)]})
    _no_errors(at)
    monday = TODAY - timedelta(days=TODAY.weekday())
    assert [caption.value for caption in at.caption if "Partial" in caption.value] == [
        f"**Partial**: the week of {monday:%b %d, %Y} had not ended when these data were taken."
    ]
