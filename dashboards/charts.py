"""Shared page furniture: KPI tiles, charts with their CSV, paged tables and the empty state.

Every chart's data can be downloaded as the CSV it was drawn from; big tables show one page of rows at a time so
the browser never receives a million rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards import data

PAGE_SIZE = 50
EMPTY = "No data for these filters. Widen the date range or clear a filter in the sidebar."
COST_PLACES = 4  # AI costs are fractions of a cent per row; other money shows cents


def money(value: object, places: int = 2) -> str:
    """`$1,234.56`; money stays Decimal until it becomes text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    amount = Decimal(str(value)).quantize(Decimal(1).scaleb(-places))
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.{places}f}"


def count(value: object) -> str:
    return "–" if value is None or pd.isna(value) else f"{int(value):,}"


def percent(value: object, places: int = 1) -> str:
    return "–" if value is None or pd.isna(value) else f"{float(value) * 100:.{places}f}%"


def milliseconds(value: object) -> str:
    return "–" if value is None or pd.isna(value) else f"{float(value):,.0f} ms"


def rating(value: object) -> str:
    return "–" if value is None or pd.isna(value) else f"{float(value):.2f}"


# How a metric's value reads, by the `unit` of its definition.
UNIT_FORMATS: dict[str, Callable[[object], str]] = {
    "usd": money,
    "count": count,
    "words": count,
    "tokens": count,
    "ratio": percent,
    "ms": milliseconds,
    "rating": rating,
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
    """The CSV of `frame`; a click is recorded in the audit log."""
    st.download_button(
        "Download CSV",
        csv_bytes(frame),
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
    data.note_section(title, key, frame)
    if frame.empty:
        st.info(EMPTY, icon=":material/filter_alt_off:")
        return
    figure = draw(_plottable(frame))
    figure.update_layout(
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        height=figure.layout.height or 320,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "title": None},
    )
    st.plotly_chart(figure, key=f"chart_{key}", config={"displayModeBar": False})
    download(frame, key, key)


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
            config[name] = st.column_config.NumberColumn(format="dollar" if places == 2 else f"$%.{places}f")
    return config


def table(title: str, frame: pd.DataFrame, key: str, column_config: dict | None = None) -> None:
    """A titled table, PAGE_SIZE rows at a time with a page selector, and the whole table as CSV."""
    st.markdown(f"**{title}**")
    data.note_section(title, key, frame)
    if frame.empty:
        st.info(EMPTY, icon=":material/filter_alt_off:")
        return
    pages = max(1, math.ceil(len(frame) / PAGE_SIZE))
    page = 1
    if pages > 1:
        page = int(
            st.number_input(
                f"Page (of {pages}, {len(frame):,} rows)",
                min_value=1,
                max_value=pages,
                value=1,
                step=1,
                key=f"page_{key}",
            )
        )
    shown = frame.iloc[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    config = _money_columns(frame) | (column_config or {})
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config)
    download(frame, key, key)
