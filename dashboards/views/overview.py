"""Overview: the headline KPIs against the previous period, and small trends; each role sees only its own KPIs.

Every tile and trend is a defined metric read through the metrics layer, shown only to the roles in the metric's
`audience`. Day-based metrics compare with the days just before; balances (MRR) are read at each period's end; gross
margin covers the whole months inside the range against as many whole months just before.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards import charts, data, plots
from dashboards.views import data_start, open_page, series, tile

# (metric, lower is better), in the order the tiles appear
TILES = [
    ("mrr", False),
    ("book_sales", False),
    ("active_writers", False),
    ("words_written", False),
    ("ai_cost", True),
    ("gross_margin", False),
    ("dau", False),
]

period = open_page("overview")
previous = period.previous()
months = period.complete_months()
previous_months = months.previous_months(data_start()) if months else None
st.caption(
    f"{period.start} to {period.end} ({period.days} days), compared with the {period.days} days before; MRR and "
    "active users are counted at the end of each period. Book sales and gross margin: "
    + (
        f"{months.start:%B %Y} to {months.end:%B %Y}"
        + (
            f", compared with {previous_months.start:%B %Y} to {previous_months.end:%B %Y}"
            if previous_months
            else " (no earlier months of data to compare with)"
        )
        if months
        else "no whole month inside the range"
    )
    + "."
)

shown = [(name, lower) for name, lower in TILES if data.may_read_metric(name)]
for row_start in range(0, len(shown), 4):
    for column, (name, lower) in zip(st.columns(4), shown[row_start : row_start + 4], strict=False):
        tile(column, name, period, previous, lower_is_better=lower)

trends: list[tuple[str, pd.DataFrame, Callable[[pd.DataFrame], go.Figure], str]] = []
if data.may_read_metric("mrr"):
    trends.append(
        (
            "MRR at each month's end, by plan",
            series("mrr", period, grain="month", by=["plan"], time="month"),
            lambda f: plots.bar(f, x="month", y="mrr", color="plan"),
            "overview_mrr",
        )
    )
if data.may_read_metric("ai_cost"):
    trends.append(
        (
            "AI cost per day",
            series("ai_cost", period, by=["provider"]),
            lambda f: plots.bar(f, x="day", y="ai_cost", color="provider"),
            "overview_ai_cost",
        )
    )
if data.may_read_metric("words_written"):
    trends.append(
        (
            "Words written per day",
            series("words_written", period),
            lambda f: plots.bar(f, x="day", y="words_written"),
            "overview_words",
        )
    )
if data.may_read_metric("dau"):
    trends.append(
        (
            "Daily active users",
            series("dau", period),
            lambda f: plots.line(f, x="day", y="dau"),
            "overview_dau",
        )
    )

left, right = st.columns(2)
for index, (title, frame, draw, key) in enumerate(trends):
    with left if index % 2 == 0 else right:
        charts.chart(title, frame, draw, key)
