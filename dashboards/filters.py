"""Sidebar filters that live in the URL, so a filtered view can be shared by link.

Streamlit's `bind="query-params"` keeps each widget and its query parameter in step and drops values from the URL
that are not valid for the widget (unknown options, non-dates, dates out of range), so hostile links fall back to
the defaults. Filters that select nothing mean "all"; the report queries read an empty list that way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import streamlit as st

from pipelines.metrics.query import complete_months

DEFAULT_DAYS = 90


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> DateRange:
        """The period of the same length just before this one: what KPI deltas compare against."""
        return DateRange(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def params(self) -> dict[str, date]:
        return {"start": self.start, "end": self.end}

    def complete_months(self) -> DateRange | None:
        """The whole calendar months inside this range (from the 1st of the first to the last day of the last), or
        None when it holds no whole month: what monthly figures such as gross margin cover."""
        months = complete_months(self.start, self.end)  # the engine's rule for monthly models
        return DateRange(*months) if months else None

    def previous_months(self, data_start: date) -> DateRange | None:
        """As many whole months just before these (whole) months, or None when they would begin before the data
        does: a comparison with months the warehouse cannot know would show growth from nothing."""
        months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1
        previous = DateRange(_add_months(self.start, -months), self.start - timedelta(days=1))
        return previous if previous.start >= data_start else None


def month(first_day: date) -> DateRange:
    """The calendar month starting on `first_day`."""
    return DateRange(first_day, _add_months(first_day, 1) - timedelta(days=1))


def _add_months(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def date_range(first: date, last: date, default_days: int = DEFAULT_DAYS) -> DateRange:
    """The UTC date range picked in the sidebar (URL `dates`); default: the last `default_days` days with data."""
    default = DateRange(max(first, last - timedelta(days=default_days - 1)), last)
    picked = st.sidebar.date_input(
        "Dates (UTC)",
        value=(default.start, default.end),
        min_value=first,
        max_value=last,
        key="dates",
        bind="query-params",
        help="Both ends included. Days are UTC calendar days.",
    )
    # While the user has clicked only the first day of a new range, keep showing the old one.
    if not isinstance(picked, tuple | list) or len(picked) != 2:
        return default
    return DateRange(*picked)


def choose(label: str, key: str, options: list[str]) -> list[str]:
    """A multi-select in the sidebar (URL `key`, repeated for several values); nothing chosen means all."""
    return st.sidebar.multiselect(
        label,
        options,
        default=[],
        key=key,
        bind="query-params",
        placeholder="All",
    )
