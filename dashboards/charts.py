"""Shared page furniture: KPI tiles, charts with their CSV, paged tables and the empty state.

Every chart's data can be downloaded as the CSV it was drawn from; big tables show one page of rows at a time so
the browser never receives a million rows. Every chart goes through `chart`, which makes them read alike
(`_read_right`): a period column (`month`, `week`, `day`) becomes a date axis with one label per period
("Nov 2026") and hover text naming the period; sparse lines get markers; rate axes run from 0 to 100%; every series
is coloured by its name (`dashboards.colours`); legends and axis titles are words with units, from the metric
definitions (`queries/metrics/*.yml`) or `WORDS`, never column names.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from dashboards import data, publication_cache
from dashboards.colours import colour
from pipelines.metrics.definitions import Metric, definitions

PAGE_SIZE = 50
MISSING = "—"  # how an empty value reads, in tiles, tables and hover text
EMPTY = "No data for these filters. Widen the date range or clear a filter in the sidebar."
COST_PLACES = 4  # AI costs are fractions of a cent per row; other money shows cents


def money(value: object, places: int = 2) -> str:
    """`$1,234.56`; money stays Decimal until it becomes text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    amount = Decimal(str(value)).quantize(Decimal(1).scaleb(-places))
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.{places}f}"


def count(value: object) -> str:
    return MISSING if value is None or pd.isna(value) else f"{int(value):,}"


def percent(value: object, places: int = 1) -> str:
    return MISSING if value is None or pd.isna(value) else f"{float(value) * 100:.{places}f}%"


def milliseconds(value: object) -> str:
    return MISSING if value is None or pd.isna(value) else f"{float(value):,.0f} ms"


def rating(value: object) -> str:
    return MISSING if value is None or pd.isna(value) else f"{float(value):.2f}"


def seconds(value: object) -> str:
    """A duration: "45 s", "4 min 05 s", "1 h 02 min"."""
    if value is None or pd.isna(value):
        return MISSING
    total = round(float(value))
    sign, total = ("-" if total < 0 else ""), abs(total)
    if total < 60:
        return f"{sign}{total} s"
    if total < 3600:
        return f"{sign}{total // 60} min {total % 60:02d} s"
    return f"{sign}{total // 3600} h {total % 3600 // 60:02d} min"


# How a metric's value reads, by the `unit` of its definition.
UNIT_FORMATS: dict[str, Callable[[object], str]] = {
    "usd": money,
    "count": count,
    "words": count,
    "tokens": count,
    "ratio": percent,
    "ms": milliseconds,
    "rating": rating,
    "seconds": seconds,
    "number": rating,  # a plain number with two decimals (sessions per user)
}


def kpi(
    column,
    label: str,
    current: object,
    previous: object,
    fmt: Callable[[object], str],
    help: str,
    lower_is_better: bool = False,
) -> None:
    """A KPI tile with its change against the previous period (no delta when there is nothing to compare);
    a rise shows green unless `lower_is_better` (costs, failures)."""
    delta = None
    if current is not None and previous is not None and not pd.isna(current) and not pd.isna(previous):
        change = Decimal(str(current)) - Decimal(str(previous))
        delta = fmt(change) if change < 0 else f"+{fmt(change)}"
    column.metric(
        label,
        fmt(current),
        delta,
        help=help,
        border=True,
        delta_color="inverse" if lower_is_better else "normal",
        delta_description="vs previous" if delta else None,
    )


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def download(frame: pd.DataFrame, name: str, key: str) -> None:
    """The CSV of `frame`, made when clicked (not on every view); a click is recorded in the audit log."""
    st.download_button(
        "Download CSV",
        lambda: csv_bytes(frame),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"csv_{key}",
        icon=":material/download:",
        on_click=data.record_download,
        args=(f"{name}.csv",),
    )


def chart(title: str, frame: pd.DataFrame, draw: Callable[[pd.DataFrame], go.Figure], key: str) -> None:
    """A titled Plotly chart of `frame` with a CSV download of exactly that data, or the empty state."""
    st.markdown(f"**{title}**")
    marks = period_marks(frame, data.annotations())
    shown = with_annotations(frame, marks)
    data.note_section(title, key, shown)
    if frame.empty:
        st.info(EMPTY, icon=":material/filter_alt_off:")
        return
    address = publication_cache.figure_address(key, frame, marks)
    figure = publication_cache.figure(data.warehouse_version(), address, lambda: _figure(frame, draw, marks))
    st.plotly_chart(figure, key=f"chart_{key}", config={"displayModeBar": False})
    download(shown, key, key)


def _figure(
    frame: pd.DataFrame, draw: Callable[[pd.DataFrame], go.Figure], marks: dict[date, list[str]] | None
) -> go.Figure:
    plotted = _plottable(frame)
    figure = mark(read_right(draw(plotted), plotted), marks)
    return figure.update_layout(
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        height=figure.layout.height or 320,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "title": None},
    )


def cohort_heatmap(frame: pd.DataFrame, cohort: str, age: str, x_label: str, y_label: str) -> go.Figure:
    """Retention of cohorts (rows: `cohort`) by periods since their start (columns: `age`) from `retention_rate`; a
    period not yet fully observed has no rate and stays an empty cell (never 0%)."""
    grid = frame.pivot(index=cohort, columns=age, values="retention_rate").astype("float64")
    figure = px.imshow(
        grid,
        color_continuous_scale="Blues",
        zmin=0,
        zmax=1,
        aspect="auto",
        labels={"x": x_label, "y": y_label, "color": "retained"},
    )
    text = [["" if pd.isna(rate) else f"{rate:.0%}" for rate in row] for row in grid.to_numpy()]
    hover = f"%{{y}}, {x_label} %{{x}}: %{{text}}<extra></extra>"
    figure.update_traces(text=text, texttemplate="%{text}", hovertemplate=hover)
    figure.update_yaxes(type="category")
    return figure.update_layout(coloraxis_showscale=False, height=max(320, 28 * len(grid)))


# --- annotations: the platform's own changes on every time-series chart (docs/dashboards.md, "Annotations") --------

ANNOTATION = "annotation"  # the CSV column naming the changes of each row's period
MARK_COLOUR = "#8c8c8c"


def _period_column(frame: pd.DataFrame) -> str | None:
    return next((column for column in PERIODS if column in frame.columns), None)


def _period_start(day: date, period: str) -> date:
    """The first day of the period (`day`, Monday-based `week`, `month`) holding `day`."""
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def with_asked_period(frame: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """`frame` knowing the range its rows were asked for: a chart's time axis spans the range, not just the rows.
    As text: Streamlit writes a table's attrs as JSON, which has no dates."""
    frame.attrs["period"] = (start.isoformat(), end.isoformat())
    return frame


def asked_period(frame: pd.DataFrame) -> tuple[date, date] | None:
    """The range `with_asked_period` recorded, if any."""
    span = frame.attrs.get("period")
    return None if span is None else (date.fromisoformat(span[0]), date.fromisoformat(span[1]))


def period_marks(frame: pd.DataFrame, annotations: pd.DataFrame) -> dict[date, list[str]] | None:
    """The labels of `annotations` (day, kind, label) per period of the frame's period column, over the periods
    the frame spans (or the range its rows were asked for); None for a frame without a period column."""
    period = _period_column(frame)
    if period is None:
        return None
    days = [pd.Timestamp(value).date() for value in frame[period].dropna()]
    span = asked_period(frame)
    if span is not None:
        days += [span[0], span[1]]
    marks: dict[date, list[str]] = {}
    if not days:
        return marks
    first, last = _period_start(min(days), period), _period_start(max(days), period)
    for day, label in zip(annotations["day"], annotations["label"], strict=True):
        start = _period_start(pd.Timestamp(day).date(), period)
        if first <= start <= last:
            marks.setdefault(start, []).append(str(label))
    return marks


def with_annotations(frame: pd.DataFrame, marks: dict[date, list[str]] | None) -> pd.DataFrame:
    """`frame` with the changes of each row's period in column `annotation` (empty without any), for the CSV."""
    period = _period_column(frame)
    if marks is None or period is None:
        return frame
    labels = [
        "; ".join(marks.get(pd.Timestamp(value).date(), [])) or None if pd.notna(value) else None
        for value in frame[period]
    ]
    return frame.assign(**{ANNOTATION: pd.Series(labels, index=frame.index, dtype="object")})


def mark(figure: go.Figure, marks: dict[date, list[str]] | None) -> go.Figure:
    """A dotted line at each annotated period of a date axis, with a marker on top whose hover text lists the
    changes."""
    if not marks or figure.layout.xaxis.type != "date":
        return figure
    for start, labels in sorted(marks.items()):
        figure.add_vline(x=start.isoformat(), line={"dash": "dot", "width": 1, "color": MARK_COLOUR})
        figure.add_annotation(
            x=start.isoformat(),
            y=1,
            xref="x",
            yref="paper",
            yanchor="top",
            text="◆",
            showarrow=False,
            font={"color": MARK_COLOUR, "size": 10},
            hovertext="<br>".join(labels),
        )
    return figure


# Words for the columns of reports and the frame (metrics take theirs from their definitions).
WORDS: dict[str, str] = {
    "day": "Day",
    "week": "Week",
    "month": "Month",
    "provider": "Provider",
    "model": "Model",
    "tier": "Tier",
    "plan": "Plan",
    "genre": "Genre",
    "status": "Status",
    "payout_status": "Payout status",
    "resource_type": "Resource type",
    "category": "Event category",
    "events": "Events",
    "projects": "Projects",
    "created": "Created",
    "with_chapters": "With chapters",
    "completed": "Completed",
    "published": "Published",
    "human_words": "Words written by people",
    "median_utilization": "Median share of the token allowance used (%)",
    "over_token_limit": "Subscribers over their token allowance",
    "run_id": "Run",
    "seconds": "Duration (s)",
    "started_at": "Started (UTC)",
    "rows_changed": "Rows changed",
    "failed_checks": "Failed checks",
    "error": "Error",
    "mode": "Mode",
    "user": "User",
    "author": "Author",
    "owner": "Owner",
    "cost": "AI cost",
    "tokens_used": "Tokens",
    "generations": "Generations",
    "table_name": "Table",
    "table": "Table",
    "strategy": "Extract strategy",
    "rows": "Rows",
    "extracted": "Last extracted",
    "hours_since_extract": "Hours since the last extract",
    "unexpected_count": "Rows unexpected",
    "severity": "Severity",
    "success": "Passed",
    "name": "Check",
}
_UNIT_ENDINGS = {"_usd": "USD", "_ms": "ms", "_at": "UTC"}
UNIT_WORDS = {
    "usd": "USD",
    "words": "words",
    "tokens": "tokens",
    "ratio": "%",
    "ms": "ms",
    "rating": "1-5",
    "seconds": "s",
}
# How a value reads in hover text, by unit (d3 formats); costs keep fractions of a cent.
_HOVER_FORMATS = {
    "usd": "$,.2f",
    "ratio": ".1%",
    "rating": ".2f",
    "number": ".2f",
    "seconds": ",.0f",
    "ms": ",.0f",
    "count": ",.0f",
    "words": ",.0f",
    "tokens": ",.0f",
}
_PX_FIELD = re.compile(r"(?:^|<br>)([^=<]+)=%\{(x|y)\}")
_DAY_MS = 86_400_000


def _metric_definition(column: str) -> Metric | None:
    return definitions().get(column)


def unit(column: str) -> str | None:
    """The unit of a metric column (its definition's), "ratio" for a share, None for other columns."""
    metric = _metric_definition(column)
    if metric is not None:
        return metric.unit
    return "ratio" if column == "median_utilization" else None


def words(column: str) -> str:
    """How column `column` is named to readers: a metric's label with its unit ("AI latency p95 (ms)"), a word from
    WORDS, or the name with spaces."""
    metric = _metric_definition(column)
    if metric is not None:
        suffix = UNIT_WORDS.get(metric.unit)
        return f"{metric.label} ({suffix})" if suffix else metric.label
    if column in WORDS:
        return WORDS[column]
    for ending, unit_word in _UNIT_ENDINGS.items():
        if column.endswith(ending):
            return f"{words(column.removesuffix(ending))} ({unit_word})"
    return column.replace("_", " ").capitalize()


@dataclass(frozen=True)
class _Period:
    dtick: str | int  # one tick per period
    label: str  # strftime of a tick
    hover: str  # strftime naming the period in hover text
    pad: timedelta  # room on each side of the first and last period
    bar_ms: int  # a bar's width: most of the period


PERIODS: dict[str, _Period] = {
    "month": _Period("M1", "%b %Y", "%B %Y", timedelta(days=16), 24 * _DAY_MS),
    "week": _Period(7 * _DAY_MS, "%b %d", "week of %b %d, %Y", timedelta(days=4), 6 * _DAY_MS),
    "day": _Period(_DAY_MS, "%b %d", "%a %b %d, %Y", timedelta(hours=14), _DAY_MS * 8 // 10),
}
SPARSE_POINTS = 20  # a line of this many points or fewer shows each one
MAX_PERIOD_TICKS = 18  # beyond this many periods, Plotly picks fewer ticks (still on period starts)


def _fields(trace: go.Figure) -> dict[str, str]:
    """The columns on the x and y axes of `trace`, from its hover template (`dashboards.plots`, Plotly Express)."""
    return {axis: name for name, axis in _PX_FIELD.findall(getattr(trace, "hovertemplate", None) or "")}


def _hover_value(measure: str, rate: bool) -> str:
    measure_unit = "ratio" if rate else unit(measure)
    if measure_unit == "usd" and "cost" in measure:
        return f"$,.{COST_PLACES}f"
    return _HOVER_FORMATS.get(measure_unit or "", ",.4~f")


def read_right(figure: go.Figure, frame: pd.DataFrame) -> go.Figure:
    """Make a figure of `frame` (`dashboards.plots`, or Plotly Express for facets) read like every other chart (see
    the module's docstring)."""
    period_column: str | None = None
    measures: list[str] = []
    rate_axis = str(figure.layout.yaxis.tickformat or "").endswith("%")
    for trace in figure.data:
        if trace.type not in ("bar", "scatter"):
            continue
        fields = _fields(trace)
        value_axis, category_axis = ("x", "y") if trace.orientation == "h" else ("y", "x")
        measure = fields.get(value_axis, "")
        wide = str(trace.name) in frame.columns  # wide form: one trace per column, the column is its name
        if wide:
            measure = str(trace.name)
        category = fields.get(category_axis, "")
        if category in PERIODS and category in frame.columns:
            period_column = category
        measures.append(measure)
        rate = rate_axis or unit(measure) == "ratio"
        name = str(trace.name or "")
        shown = words(name) if wide else name
        series_colour = colour(name or measure)
        trace.update(name=shown, legendgroup=shown)
        if trace.type == "bar":
            trace.update(marker_color=series_colour)
        else:
            trace.update(line_color=series_colour, marker_color=series_colour)
            _mark_sparse(trace)
        where = f"%{{{category_axis}|{PERIODS[category].hover}}}" if category in PERIODS else f"%{{{category_axis}}}"
        heading = f"<b>{shown}</b><br>" if shown else ""
        suffix = " ms" if unit(measure) == "ms" else ""
        trace.hovertemplate = (
            f"{heading}{where}: %{{{value_axis}:{_hover_value(measure, rate)}}}{suffix}<extra></extra>"
        )
    if not measures:
        return figure
    if any(unit(measure) == "ratio" for measure in measures):
        rate_axis = True
    horizontal = figure.data[0].orientation == "h"
    value_title = words(measures[0]) if len(set(measures)) == 1 else _common_unit(measures)
    category_title = None if period_column else _category_title(figure, horizontal)
    if len(list(figure.select_yaxes())) == 1:  # facets name their rows themselves
        (figure.update_xaxes if horizontal else figure.update_yaxes)(title_text=value_title)
        (figure.update_yaxes if horizontal else figure.update_xaxes)(title_text=category_title)
    if rate_axis:
        rates = np.concatenate([np.asarray(trace.y, dtype="float64") for trace in figure.data])
        top = max(1.0, float(np.nanmax(rates))) if not np.isnan(rates).all() else 1.0
        figure.update_yaxes(tickformat=".0%", range=[0, top * (1.05 if top > 1 else 1)], rangemode="tozero")
    if period_column:
        _period_axis(figure, frame[period_column], PERIODS[period_column], asked_period(frame))
    return figure


def _common_unit(measures: list[str]) -> str | None:
    units = {unit(measure) for measure in measures}
    return UNIT_WORDS.get(units.pop() or "") if len(units) == 1 else None


def _category_title(figure: go.Figure, horizontal: bool) -> str | None:
    axis = figure.layout.yaxis if horizontal else figure.layout.xaxis
    title = axis.title.text
    return words(title) if title else None


def _mark_sparse(trace: go.Scatter) -> None:
    """Markers on a line with few points or with points standing alone between gaps (a line alone hides them)."""
    values = pd.Series(np.asarray(trace.y, dtype="float64"))
    present = values.notna()
    alone = present & ~present.shift(1, fill_value=False) & ~present.shift(-1, fill_value=False)
    if present.sum() <= SPARSE_POINTS or alone.any():
        trace.mode = "lines+markers"


def _period_axis(figure: go.Figure, periods: pd.Series, period: _Period, span: tuple[date, date] | None = None) -> None:
    """A date axis with one tick per period labelled by the period ("Nov 2026"), over the date range the rows were
    asked for (`span`, when known: `views.series` records it) or else the periods drawn."""
    days = pd.to_datetime(periods)
    first, last = days.min(), days.max()
    if span is not None:
        grain = {"M1": "MS", 7 * _DAY_MS: "W-MON", _DAY_MS: "D"}[period.dtick]
        asked = pd.date_range(pd.Timestamp(span[0]), pd.Timestamp(span[1]), freq=grain)
        if len(asked):
            first, last = min(first, asked.min()), max(last, asked.max())
    count = len(pd.date_range(first, last, freq={"M1": "MS", 7 * _DAY_MS: "7D", _DAY_MS: "D"}[period.dtick]))
    figure.update_xaxes(
        type="date",
        tickformat=period.label,
        hoverformat=period.hover,
        range=[first - period.pad, last + period.pad],
        title_text=None,
        **({"dtick": period.dtick, "tick0": first} if count <= MAX_PERIOD_TICKS else {}),
    )
    if figure.layout.barmode != "group":
        figure.update_traces(width=period.bar_ms, selector={"type": "bar"})


def _decimal_places(column: pd.Series) -> int | None:
    """Decimal places of a DECIMAL column (None for other columns); integer sums arrive as Decimal with 0."""
    sample = column.dropna()
    if sample.empty or not isinstance(sample.iloc[0], Decimal):
        return None
    return -int(sample.iloc[0].as_tuple().exponent)


def _plottable(frame: pd.DataFrame) -> pd.DataFrame:
    """Plotly draws numbers, not Decimal objects: convert for the picture only (the CSV keeps the exact values)."""
    decimals = [name for name in frame.columns if _decimal_places(frame[name]) is not None]
    return frame.astype({name: "float64" for name in decimals}) if decimals else frame


def _money_columns(frame: pd.DataFrame) -> dict:
    """Show DECIMAL columns with cents as dollars (integers stay plain numbers)."""
    config = {}
    for name in frame.columns:
        places = _decimal_places(frame[name])
        if places:
            places = min(places, COST_PLACES if "cost" in str(name) else 2)
            config[name] = st.column_config.NumberColumn(
                words(str(name)), format="dollar" if places == 2 else f"$%.{places}f"
            )
    return config


ROWS_PER_PAGE = (10, 25, PAGE_SIZE, 100)
AS_LISTED = ""  # the sort choice that keeps the rows as the report orders them


@dataclass(frozen=True)
class TableView:
    """What the reader asked of a table: sort column and order, search text, rows per page."""

    sort: str | None
    descending: bool
    search: str
    size: int


def _table_controls(key: str, columns: list[str]) -> TableView:
    """Search, sort and page size over every row of the table, above it."""
    search_at, sort_at, order_at, size_at = st.columns([3, 2, 1, 1])
    search = search_at.text_input(
        "Search all rows", key=f"search_{key}", placeholder="Text in any column; Enter to search"
    )
    sort = sort_at.selectbox(
        "Sort all rows by",
        [AS_LISTED, *columns],
        format_func=lambda column: "as listed" if column == AS_LISTED else words(column),
        key=f"sort_{key}",
    )
    order = order_at.selectbox("Order", ["Ascending", "Descending"], key=f"order_{key}")
    size = size_at.selectbox("Rows per page", ROWS_PER_PAGE, index=ROWS_PER_PAGE.index(PAGE_SIZE), key=f"size_{key}")
    return TableView(sort or None, order == "Descending", search, int(size))


def _page_number(key: str, total: int, size: int) -> int:
    """The page picked (1-based); the selector only when there is more than one page."""
    pages = max(1, math.ceil(total / size))
    if pages == 1:
        return 1
    return int(
        st.number_input(
            f"Page (of {pages}, {total:,} rows)", min_value=1, max_value=pages, value=1, step=1, key=f"page_{key}"
        )
    )


def _show(
    shown: pd.DataFrame,
    whole: pd.DataFrame,
    key: str,
    total: int,
    column_config: dict | None,
    row_style: Callable[[pd.Series], list[str]] | None = None,
) -> None:
    config = _column_words(whole) | _money_columns(whole) | (column_config or {})
    # `row_style`: CSS per cell of a row (e.g. failed payouts in red); the CSV keeps the plain values.
    rows = shown.style.apply(row_style, axis=1) if row_style is not None else shown
    st.dataframe(rows, hide_index=True, width="stretch", column_config=config, placeholder=MISSING)
    st.caption(f"{total:,} row{'s' if total != 1 else ''}")
    download(whole, key, key)


def table(title: str, frame: pd.DataFrame, key: str, column_config: dict | None = None) -> None:
    """A titled table sorted and searched over all its rows, shown a page of rows at a time with its row count, and
    the whole table as CSV."""
    st.markdown(f"**{title}**")
    data.note_section(title, key, frame)
    if frame.empty:
        st.info(EMPTY, icon=":material/filter_alt_off:")
        return
    view = _table_controls(key, [str(column) for column in frame.columns])
    rows = frame
    if view.search:
        text = frame.astype("string").fillna("").agg(" ".join, axis=1).str.lower()
        rows = frame[text.str.contains(view.search.strip().lower(), regex=False)]
    if view.sort:
        rows = rows.sort_values(view.sort, ascending=not view.descending, na_position="last", kind="stable")
    page = _page_number(key, len(rows), view.size)
    _show(rows.iloc[(page - 1) * view.size : page * view.size], frame, key, len(rows), column_config)


def report_table(
    title: str,
    name: str,
    key: str,
    params: dict[str, object] | None = None,
    shape: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    column_config: dict | None = None,
    row_style: Callable[[pd.Series], list[str]] | None = None,
) -> None:
    """A titled table of report `name`, sorted, searched and paged in the query (`data.report_page`), so sorting
    finds the smallest row of the whole result; `shape` turns rows into what is shown (names for ids, ...),
    `row_style` styles each shown row."""
    from dashboards import data  # the data module reads Streamlit's session: imported when a page draws a table

    st.markdown(f"**{title}**")
    params = params or {}
    shape = shape or (lambda frame: frame)
    whole = shape(data.report(name, **params))  # the CSV and the page's report pack: every row, whatever is shown
    data.note_section(title, key, whole)
    columns = data.report_page(name, limit=0, **params).columns
    view = _table_controls(key, columns)
    counted = data.report_page(name, search=view.search, limit=0, **params)
    if counted.total == 0:
        st.info(EMPTY if not view.search else f"No row matches “{view.search}”.", icon=":material/filter_alt_off:")
        return
    page = _page_number(key, counted.total, view.size)
    rows = data.report_page(
        name,
        sort=view.sort,
        descending=view.descending,
        search=view.search,
        offset=(page - 1) * view.size,
        limit=view.size,
        **params,
    ).rows
    _show(shape(rows), whole, key, counted.total, column_config, row_style)


def _column_words(frame: pd.DataFrame) -> dict:
    """Column headers in words (`words`), unless the page names a column itself."""
    return {name: st.column_config.Column(words(str(name))) for name in frame.columns}
