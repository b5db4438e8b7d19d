"""Days are UTC calendar days, wherever the code runs: the one day boundary of the product (queries/macros/utc_day.sql
is the same rule in SQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime


def utc_day(instant: datetime) -> date:
    """The UTC calendar day of an aware instant (a naive one is taken as local time, as `astimezone` does)."""
    return instant.astimezone(UTC).date()


def utc_instant(text: str) -> datetime:
    """An ISO time (a `T` or a space between the day and the time), UTC unless it says otherwise."""
    moment = datetime.fromisoformat(text.replace(" ", "T"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
