"""Sidebar filters that live in the URL, so a filtered view can be shared by link.

Streamlit's `bind="query-params"` keeps each widget and its query parameter in step and drops values from the URL
that are not valid for the widget (unknown options, non-dates), so hostile links fall back to the defaults; the
frame then says which parameters were ignored and why (`start_run`, `ignored`). Dates are a preset (last 7/30/90
days, month or quarter to date, last complete month or quarter) or a custom range; a reversed range, or one without
a day of data, stops the page with a message instead of figures (`check_range`). Filters that select nothing mean
"all"; the report queries read an empty list that way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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


def _quarter_start(day: date) -> date:
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def _last_days(days: int) -> Callable[[date], DateRange]:
    return lambda last: DateRange(last - timedelta(days=days - 1), last)


CUSTOM = "Custom range"
# Ranges people ask for every day, all ending on (or before) the last day with data: the warehouse may be behind
# the calendar, and a range into days it cannot know would show zeros, not news.
# By label: the URL carries what the picker shows (`?period=Last+30+days`).
PRESETS: dict[str, Callable[[date], DateRange]] = {
    "Last 7 days": _last_days(7),
    "Last 30 days": _last_days(30),
    "Last 90 days": _last_days(90),
    "Last 365 days": _last_days(365),
    "Month to date": lambda last: DateRange(last.replace(day=1), last),
    "Last complete month": lambda last: month(_add_months(last.replace(day=1), -1)),
    "Quarter to date": lambda last: DateRange(_quarter_start(last), last),
    "Last complete quarter": lambda last: DateRange(
        _add_months(_quarter_start(last), -3), _quarter_start(last) - timedelta(days=1)
    ),
    CUSTOM: _last_days(DEFAULT_DAYS),
}
# The widest dates the custom picker takes: wider than any data, so a link's dates reach the checks below rather
# than being dropped silently by the widget.
_EARLIEST, _LATEST = date(1970, 1, 1), date(2999, 12, 31)
_OFFERED = "_filters_offered"  # session state: the URL parameters this page's filters read, and their choices


class RangeRefused(ValueError):
    """A date range that cannot give figures: reversed, or with no day of data in it."""


def check_range(picked: DateRange, first: date, last: date) -> DateRange:
    """The picked range cut to the days with data; RangeRefused (with the reader's message) when it is reversed or
    holds no day with data."""
    if picked.end < picked.start:
        raise RangeRefused(
            f"The range ends ({picked.end:%b %d, %Y}) before it starts ({picked.start:%b %d, %Y}). "
            "Pick the start date first, then the end date."
        )
    if picked.end < first or picked.start > last:
        raise RangeRefused(
            f"No data between {picked.start:%b %d, %Y} and {picked.end:%b %d, %Y}: the warehouse holds "
            f"{first:%b %d, %Y} to {last:%b %d, %Y}. Pick dates in that span."
        )
    return DateRange(max(picked.start, first), min(picked.end, last))


def date_range(first: date, last: date, default_days: int = DEFAULT_DAYS) -> DateRange:
    """The UTC date range picked in the sidebar: a preset (URL `period`) or a custom range (URL `dates`), checked
    against the days with data [first, last]. A refused range stops the page with a message and no figures."""
    default = f"Last {default_days} days" if f"Last {default_days} days" in PRESETS else f"Last {DEFAULT_DAYS} days"
    keys = list(PRESETS)
    asked_dates = "dates" in st.query_params and "period" not in st.query_params  # a link with dates: custom
    _offer("period", "Period", keys)
    preset = st.sidebar.selectbox(
        "Period",
        keys,
        index=keys.index(CUSTOM if asked_dates else default),
        key="period",
        bind="query-params",
        help=f"Ranges end on the last day with data ({last:%b %d, %Y}). Days are UTC calendar days.",
    )
    picked = _custom_range(PRESETS[default](last)) if preset == CUSTOM else PRESETS[preset](last)
    try:
        period = check_range(picked, first, last)
    except RangeRefused as refused:
        st.warning(str(refused), icon=":material/event_busy:")
        st.stop()
    if period != picked and preset == CUSTOM:  # presets reach before the data by nature: no news there
        st.sidebar.caption(f"Data exist from {first:%b %d, %Y} to {last:%b %d, %Y}: the range is cut to them.")
    st.sidebar.caption(f"{period.start:%b %d, %Y} to {period.end:%b %d, %Y} ({period.days} days, UTC)")
    return period


def _custom_range(default: DateRange) -> DateRange:
    """Two dates in a form, so typing them and pressing Enter (or Apply) applies them in one step."""
    _offer("dates", "Dates", None)
    with st.sidebar.form("dates_form", border=False, enter_to_submit=True):
        picked = st.date_input(
            "Dates (UTC)",
            value=(default.start, default.end),
            min_value=_EARLIEST,
            max_value=_LATEST,
            key="dates",
            bind="query-params",
            help="Both ends included. Type or pick two dates, then press Enter or Apply.",
        )
        st.form_submit_button("Apply", icon=":material/check:")
    if isinstance(picked, tuple | list) and len(picked) == 2:
        return DateRange(*picked)
    if isinstance(picked, tuple | list) and len(picked) == 1:  # one day picked (or linked): that day alone
        return DateRange(picked[0], picked[0])
    return default


def choose(label: str, key: str, options: list[str]) -> list[str]:
    """A multi-select in the sidebar (URL `key`, repeated for several values); nothing chosen means all."""
    _offer(key, label, options)
    return st.sidebar.multiselect(
        label,
        options,
        default=[],
        key=key,
        bind="query-params",
        placeholder="All",
    )


def report_params(where: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """A page's dimension filters as its report queries take them: {"plan": [...]} -> {"plans": [...]}, read by
    `picked($plans, plan)` (an empty list: all)."""
    return {f"{dimension}s": list(values) for dimension, values in where.items()}


def select(label: str, key: str, options: list[str]) -> str:
    """A single choice in the page (URL `key`), the first option by default."""
    _offer(key, label, options)
    return str(st.selectbox(label, options, key=key, bind="query-params"))


def _offer(key: str, label: str, options: list[str] | None) -> None:
    st.session_state.setdefault(_OFFERED, {})[key] = (label, options)


def start_run() -> dict[str, list[str]]:
    """Called by the frame before the page runs: forget the last page's filters; the link's parameters as asked."""
    st.session_state[_OFFERED] = {}
    return {key: st.query_params.get_all(key) for key in st.query_params}


def offered() -> set[str]:
    """The URL keys of the filters the page offered in this run."""
    return set(st.session_state.get(_OFFERED, {}))


def ignored(asked: dict[str, list[str]]) -> list[str]:
    """After the page ran: why each parameter of the link the filters did not take was dropped, in words."""
    offered: dict[str, tuple[str, list[str] | None]] = st.session_state.get(_OFFERED, {})
    reasons = []
    for key, values in asked.items():
        if key not in offered:
            reasons.append(f"`{_short(key)}`: this page has no such filter")
            continue
        label, options = offered[key]
        kept = st.query_params.get_all(key)
        for value in values:
            if value in kept:
                continue
            if key == "dates":
                reasons.append(f"dates `{_short(value)}`: not a date (YYYY-MM-DD) or not a two-date range")
            elif key == "period":
                reasons.append(f"period `{_short(value)}`: not a period on offer")
            elif options is not None and value not in options:
                reasons.append(f"{label.lower()} `{_short(value)}`: no such {label.lower()} in the data")
    return reasons


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…"
