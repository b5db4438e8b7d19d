"""The page scripts `app.py` registers with `st.navigation` (not `pages/`, so Streamlit does not auto-discover them).

Each page opens with `open_page(key)`: a server-side guard (a page reached without its role's permission renders
nothing) and the page's date range from the sidebar. KPI tiles of defined metrics go through `tiles`: the values come
from the metrics layer for the period and its comparison period, the label, tooltip and format from the definition.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date

import pandas as pd
import streamlit as st

from dashboards import charts, data, filters
from dashboards.auth import ensure_page_allowed


def guard(key: str) -> None:
    """Stop here, showing a refusal, when the signed-in role may not see page `key`."""
    ensure_page_allowed(data.current_user(), key)
    data.open_page(key)


def open_page(key: str, default_days: int = filters.DEFAULT_DAYS) -> filters.DateRange:
    """The guard, then the date range chosen in the sidebar (bounded by the days the warehouse has data for)."""
    guard(key)
    span = data.data_span()
    if span is None:
        st.info("The published warehouse holds no activity yet. Seed or advance the source, then run the ETL.")
        st.stop()
    return filters.date_range(*span, default_days=default_days)


def as_published_at() -> None:
    """The "as published at" picker: the rest of the page reads the kept publication chosen (the latest by default,
    which a link keeps as `latest`)."""
    kept = data.publications()
    choices: dict[str, str | None] = {"latest": None}
    for publication in kept[1:]:
        choices[f"{publication.published_at:%Y-%m-%d %H:%M:%S} UTC (run {publication.run_id})"] = publication.run_id
    picked = filters.select("As published at", "published", list(choices))
    data.read_as_published(choices[picked])


def data_start() -> date:
    """The first UTC day with data: no comparison reaches before it."""
    span = data.data_span()
    return span[0] if span else date.min


def tile(
    column: object,
    name: str,
    period: filters.DateRange | None,
    previous: filters.DateRange | None = None,
    *,
    where: Mapping[str, Sequence[str]] | None = None,
    lower_is_better: bool = False,
) -> None:
    """The KPI tile of metric `name` in `column`: its value over `period` against `previous` (None: no delta);
    label, tooltip and format from its definition. A monthly metric (gross margin, book sales) covers the whole
    months inside `period` against as many whole months just before, none before the data starts. Without a whole
    period, or with a filter on a dimension the metric does not have, the tile says "–" rather than mislead."""
    definition = data.definition(name)
    tooltip = data.metric_help(name)
    if previous is not None and not _mostly_with_data(previous):  # a delta against nothing reads as growth
        previous = None
        tooltip += f"\n\nNo comparison: the period before lies mostly before the data start ({data_start():%b %d, %Y})."
    if definition.time_grain == "month" and period is not None:
        period = period.complete_months()
        previous = period.previous_months(data_start()) if period and previous else None
    uncut = sorted(dim for dim, values in (where or {}).items() if values and dim not in definition.dimensions)
    if uncut:
        period = None
        tooltip += f"\n\nNot defined by {', '.join(uncut)}: clear that filter to see it."
    charts.kpi(
        column,
        definition.label,
        value(name, period, where),
        value(name, previous, where) if period is not None else None,
        charts.UNIT_FORMATS[definition.unit],
        tooltip,
        lower_is_better=lower_is_better,
    )


def _mostly_with_data(period: filters.DateRange) -> bool:
    """Whether at least half the days of `period` are on or after the first day with data."""
    covered = (period.end - max(period.start, data_start())).days + 1
    return covered * 2 >= period.days


def value(name: str, period: filters.DateRange | None, where: Mapping[str, Sequence[str]] | None = None) -> object:
    """Metric `name` over the whole of `period` (grain all), or None without a period."""
    if period is None:
        return None
    rows = data.metric(name, start=period.start, end=period.end, where=where)
    return None if rows.empty else rows.iloc[0][name]


def series(
    names: str | Sequence[str],
    period: filters.DateRange,
    *,
    grain: str = "day",
    by: Sequence[str] = (),
    where: Mapping[str, Sequence[str]] | None = None,
    time: str = "day",
) -> pd.DataFrame:
    """Metrics per `grain` period of the range (and per `by`), for a chart, the period column named `time`; no rows
    when every value is empty or 0, so a range without activity shows the empty state, not a flat line."""
    wanted = [names] if isinstance(names, str) else list(names)
    rows = data.metric(wanted, start=period.start, end=period.end, grain=grain, by=by, where=where)
    rows = rows.rename(columns={"period": time})
    values = rows[wanted]
    rows = rows.iloc[0:0] if (values.isna() | (values == 0)).all(axis=None) else rows
    return charts.with_asked_period(rows, period.start, period.end)


def with_people(id_column: str, label: str, position: int = 0) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """A table's `shape`: the column of user ids replaced by how the role sees people (`data.people`)."""

    def shape(frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return frame
        shaped = frame.copy()
        shaped.insert(position, label, data.people(shaped.pop(id_column)))
        return shaped

    return shape
