"""When a schedule is due: `daily at HH:MM`, `weekly on DAY at HH:MM`, `monthly on N at HH:MM` or a five-field cron
line (`minute hour day-of-month month day-of-week`), always in UTC.

Each form becomes the same cron-like sets of minutes, hours, days, months and weekdays, and the due times are the
minutes matching them. `latest(now)` is the newest due time at or before `now`: the one a run sends when it has not
been sent yet (older ones it missed are not sent again: the newest pack holds the newest data).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Far enough for any cron line that matches at all (29 February on a Monday recurs within 28 years).
SEARCH_DAYS = 366 * 28
_TIME = r"at (\d{1,2}):(\d{2})"
_DAILY = re.compile(rf"daily {_TIME}")
_WEEKLY = re.compile(rf"weekly on ([a-z]+) {_TIME}")
_MONTHLY = re.compile(rf"monthly on (\d{{1,2}}) {_TIME}")
_CRON_PART = re.compile(r"(\*|\d+(?:-\d+)?)(?:/(\d+))?")
# name, lowest, highest of each cron field
_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))


class WhenError(ValueError):
    """The text is not a schedule time; the message says what would be."""


@dataclass(frozen=True)
class When:
    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # Monday 0 .. Sunday 6, as `date.weekday()`
    any_day: bool  # day of month `*`
    any_weekday: bool  # day of week `*`

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        in_month, in_week = day.day in self.days, day.weekday() in self.weekdays
        # cron: when both day fields are restricted, a day matching either one is due
        if not self.any_day and not self.any_weekday:
            return in_month or in_week
        return in_month and in_week

    def _times(self) -> list[tuple[int, int]]:
        return sorted((hour, minute) for hour in self.hours for minute in self.minutes)

    def latest(self, now: datetime) -> datetime | None:
        """The newest due time at or before `now` (UTC, to the minute); None when there is none in the search span."""
        now = now.astimezone(UTC)
        times = self._times()
        for back in range(SEARCH_DAYS):
            day = now.date() - timedelta(days=back)
            if not self._day_matches(day):
                continue
            fitting = [t for t in times if back > 0 or t <= (now.hour, now.minute)]
            if fitting:
                hour, minute = fitting[-1]
                return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
        return None

    def next(self, now: datetime) -> datetime | None:
        """The first due time after `now`."""
        now = now.astimezone(UTC)
        times = self._times()
        for ahead in range(SEARCH_DAYS):
            day = now.date() + timedelta(days=ahead)
            if not self._day_matches(day):
                continue
            fitting = [t for t in times if ahead > 0 or t > (now.hour, now.minute)]
            if fitting:
                hour, minute = fitting[0]
                return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
        return None


def _clock(hour: str, minute: str) -> tuple[int, int]:
    if int(hour) > 23 or int(minute) > 59:
        raise WhenError(f"{hour}:{minute} is not a time of day; write HH:MM from 00:00 to 23:59 (UTC)")
    return int(hour), int(minute)


def _cron_field(text: str, name: str, low: int, high: int) -> tuple[frozenset[int], bool]:
    values: set[int] = set()
    for part in text.split(","):
        match = _CRON_PART.fullmatch(part)
        if not match:
            raise WhenError(f"cron {name} {text!r} is not *, N, N-M, */S or a comma list of them")
        span, step = match[1], int(match[2] or 1)
        first, _, last = span.partition("-")
        start, stop = (low, high) if span == "*" else (int(first), int(last or first))
        if not low <= start <= stop <= high or step < 1:
            raise WhenError(f"cron {name} {text!r} is outside {low}-{high}")
        values.update(range(start, stop + 1, step))
    return frozenset(values), text == "*"


def parse_when(text: str) -> When:
    """`daily at 06:00`, `weekly on monday at 06:00`, `monthly on 1 at 06:00` or a cron line `0 6 * * 1` (UTC)."""
    spoken = " ".join(text.lower().split())
    every = frozenset(range(1, 32)), frozenset(range(1, 13)), frozenset(range(7))
    if match := _DAILY.fullmatch(spoken):
        hour, minute = _clock(match[1], match[2])
        return When(text, frozenset({minute}), frozenset({hour}), *every, any_day=True, any_weekday=True)
    if match := _WEEKLY.fullmatch(spoken):
        if match[1] not in WEEKDAYS:
            raise WhenError(f"{match[1]!r} is not a day of the week; write one of {', '.join(WEEKDAYS)}")
        hour, minute = _clock(match[2], match[3])
        days, months, _ = every
        weekday = frozenset({WEEKDAYS.index(match[1])})
        return When(
            text, frozenset({minute}), frozenset({hour}), days, months, weekday, any_day=True, any_weekday=False
        )
    if match := _MONTHLY.fullmatch(spoken):
        if not 1 <= int(match[1]) <= 28:
            raise WhenError(f"monthly on {match[1]}: choose a day from 1 to 28 (every month has it)")
        hour, minute = _clock(match[2], match[3])
        _, months, weekdays = every
        day = frozenset({int(match[1])})
        return When(
            text, frozenset({minute}), frozenset({hour}), day, months, weekdays, any_day=False, any_weekday=True
        )
    fields = spoken.split()
    if len(fields) != len(_CRON_FIELDS) or not fields[0][0].isdigit() and fields[0][0] != "*":
        raise WhenError(
            f"{text!r} is not a schedule time; write daily at HH:MM, weekly on DAY at HH:MM, monthly on N at HH:MM "
            "or a cron line such as '0 6 * * 1' (UTC)"
        )
    parsed = [_cron_field(field, *spec) for field, spec in zip(fields, _CRON_FIELDS, strict=True)]
    (minutes, _), (hours, _), (days, any_day), (months, _), (cron_weekdays, any_weekday) = parsed
    # cron counts Sunday as 0 (and 7), Monday as 1; `date.weekday()` counts Monday as 0
    weekdays = frozenset((day - 1) % 7 for day in cron_weekdays)
    when = When(text, minutes, hours, days, months, weekdays, any_day=any_day, any_weekday=any_weekday)
    if when.next(datetime(2000, 1, 1, tzinfo=UTC)) is None:
        raise WhenError(f"cron line {text!r} never matches a real day")
    return when
