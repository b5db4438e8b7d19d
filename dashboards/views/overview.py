"""Overview: the headline KPIs against the previous period, and small trends; each role sees only its own KPIs.

A KPI's query lives in the folder of the page it belongs to (MRR under revenue_share, ...), so the data module's
scope check keeps, for example, revenue figures away from roles without the revenue share page.
"""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboards import charts, data
from dashboards.views import open_page, period_params

period = open_page("overview")
params = period_params(period)
st.caption(
    f"{period.start} to {period.end} ({period.days} days), compared with the {period.days} days before. "
    "MRR compares the last month of each period; gross margin covers the calendar months each period touches."
)

tiles: list[tuple] = []  # (label, current, previous, format, help[, lower_is_better])
if data.may_read("revenue_share"):
    revenue = data.report("revenue_share/kpis", **params).iloc[0]
    tiles.append(
        (
            "MRR",
            revenue.mrr,
            revenue.mrr_previous,
            charts.money,
            "Monthly recurring revenue of the subscriptions live at the end of the period's last month.",
        )
    )
    tiles.append(
        (
            "Book sales",
            revenue.book_sales,
            revenue.book_sales_previous,
            charts.money,
            "Gross book sales of the revenue-share statements whose period starts in the period.",
        )
    )
if data.may_read("writing_progress"):
    writing = data.report("writing_progress/kpis", genres=[], **params).iloc[0]
    tiles.append(
        (
            "Active writers",
            writing.active_writers,
            writing.active_writers_previous,
            charts.count,
            "Owners of projects that got at least one new content version in the period.",
        )
    )
    tiles.append(
        (
            "Words written",
            writing.words_written,
            writing.words_written_previous,
            charts.count,
            "Net growth of all projects' word counts over the period.",
        )
    )
if data.may_read("ai_cost"):
    cost = data.report("ai_cost/kpi_cost", providers=[], models=[], **params).iloc[0]
    margin = data.report("ai_cost/kpi_gross_margin", **params).iloc[0]
    tiles.append(
        (
            "AI cost",
            cost.current,
            cost.previous,
            charts.money,
            "Cost of all AI generations created in the period.",
            True,
        )
    )
    tiles.append(
        (
            "Gross margin",
            margin.current,
            margin.previous,
            charts.money,
            "Subscription MRR minus AI cost, over the calendar months the period touches.",
        )
    )
if data.may_read("engagement"):
    engagement = data.report("engagement/kpis", **params).set_index("period")
    tiles.append(
        (
            "Daily active users",
            engagement.avg_dau.get("current"),
            engagement.avg_dau.get("previous"),
            charts.average,
            "Average distinct users with an event per day.",
        )
    )

for row_start in range(0, len(tiles), 4):
    columns = st.columns(4)
    for column, tile in zip(columns, tiles[row_start : row_start + 4], strict=False):
        charts.kpi(column, *tile)

left, right = st.columns(2)
trends = []
if data.may_read("revenue_share"):
    trends.append(
        (
            "MRR by plan",
            data.report("revenue_share/mrr_by_plan", plans=[], **period.params()),
            lambda f: px.bar(f, x="month", y="mrr_usd", color="plan", labels={"mrr_usd": "MRR (USD)"}),
            "overview_mrr",
        )
    )
if data.may_read("ai_cost"):
    trends.append(
        (
            "AI cost per day",
            data.report("ai_cost/by_day", providers=[], models=[], **period.params()),
            lambda f: px.bar(f, x="day", y="cost_usd", color="provider", labels={"cost_usd": "cost (USD)"}),
            "overview_ai_cost",
        )
    )
if data.may_read("writing_progress"):
    trends.append(
        (
            "Words written per day",
            data.report("writing_progress/words_by_day", genres=[], **period.params()),
            lambda f: px.bar(f, x="day", y="words_written", labels={"words_written": "words"}),
            "overview_words",
        )
    )
if data.may_read("engagement"):
    trends.append(
        (
            "Daily active users",
            data.report("engagement/activity_by_day", **period.params()),
            lambda f: px.line(f, x="day", y="dau", labels={"dau": "DAU"}),
            "overview_dau",
        )
    )

for index, (title, frame, draw, key) in enumerate(trends):
    with left if index % 2 == 0 else right:
        charts.chart(title, frame, draw, key)
