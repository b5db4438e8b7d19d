"""The UTC calendar day of an instant, whatever its offset: the day boundary of every figure."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pipelines.days import utc_day, utc_instant

pytestmark = pytest.mark.fast


@pytest.mark.parametrize(
    ("instant", "day"),
    [
        ("2024-03-01T23:59:59.999999+00:00", date(2024, 3, 1)),
        ("2024-03-02T00:00:00+00:00", date(2024, 3, 2)),  # midnight starts the day
        ("2024-03-02T00:30:00+01:00", date(2024, 3, 1)),  # 23:30 UTC: the day before, locally after midnight
        ("2024-03-01T20:00:00-05:00", date(2024, 3, 2)),  # 01:00 UTC: the day after, locally still the evening
        ("2024-12-31T23:00:00-01:00", date(2025, 1, 1)),  # a new year in UTC only
    ],
)
def test_the_utc_day_of_an_instant(instant: str, day: date) -> None:
    assert utc_day(datetime.fromisoformat(instant)) == day


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2024-03-01T23:30:00", datetime(2024, 3, 1, 23, 30, tzinfo=UTC)),  # no offset: UTC, never the local zone
        ("2024-03-01 23:30:00.5+00", datetime(2024, 3, 1, 23, 30, 0, 500000, tzinfo=UTC)),  # SQLite's catalog text
        ("2024-03-02T00:30:00+01:00", datetime(2024, 3, 1, 23, 30, tzinfo=UTC)),  # its own offset kept
    ],
)
def test_an_iso_time_without_an_offset_is_utc(text: str, instant: datetime) -> None:
    assert utc_instant(text) == instant and utc_instant(text).utcoffset() is not None
