"""Engagement: DAU/WAU/MAU and stickiness, the weekly retention of signup cohorts, events by category, new users."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from dashboards import charts, data
from dashboards.views import open_page, period_params

period = open_page("engagement")
kpis = data.report("engagement/kpis", **period_params(period)).set_index("period")


def _kpi(column_name: str) -> tuple[object, object]:
    return kpis[column_name].get("current"), kpis[column_name].get("previous")


columns = st.columns(4)
charts.kpi(columns[0], "Daily active users", *_kpi("avg_dau"), charts.average, "Average DAU over the period.")
charts.kpi(
    columns[1],
    "Monthly active users",
    *_kpi("avg_mau"),
    charts.average,
    "Average MAU (distinct users in the 30 days ending each day) over the period.",
)
charts.kpi(
    columns[2],
    "Stickiness (DAU/MAU)",
    *_kpi("stickiness"),
    charts.percent,
    "Sum of DAU over sum of MAU across the period's days.",
)
charts.kpi(columns[3], "New users", *_kpi("new_users"), charts.count, "Users who signed up in the period.")

activity = data.report("engagement/activity_by_day", **period.params())
left, right = st.columns(2)
with left:
    charts.chart(
        "Active users",
        activity,
        lambda f: px.line(f, x="day", y=["dau", "wau", "mau"], labels={"value": "users", "variable": ""}),
        "active_users",
    )
with right:
    charts.chart(
        "Stickiness (DAU/MAU)",
        activity,
        lambda f: px.line(f, x="day", y="stickiness").update_yaxes(tickformat=".0%"),
        "stickiness",
    )


def _retention_heatmap(frame: pd.DataFrame) -> go.Figure:
    """Cohorts by weeks since signup; a week not yet fully observed has no rate and stays an empty cell (never 0%)."""
    grid = frame.pivot(index="cohort_week", columns="weeks_since_signup", values="retention_rate").astype("float64")
    figure = px.imshow(
        grid,
        color_continuous_scale="Blues",
        zmin=0,
        zmax=1,
        aspect="auto",
        labels={"x": "weeks since signup", "y": "cohort (week of signup)", "color": "retained"},
    )
    text = [["" if pd.isna(rate) else f"{rate:.0%}" for rate in row] for row in grid.to_numpy()]
    figure.update_traces(text=text, texttemplate="%{text}", hovertemplate="%{y}, week %{x}: %{text}<extra></extra>")
    figure.update_yaxes(type="category")
    return figure.update_layout(coloraxis_showscale=False, height=max(320, 28 * len(grid)))


retention = data.report("engagement/retention", **period.params())
charts.chart(
    "Weekly retention by signup cohort (share of the cohort active N weeks after signup)",
    retention,
    _retention_heatmap,
    "retention",
)

left, right = st.columns(2)
with left:
    charts.chart(
        "Events by category",
        data.report("engagement/events_by_category", **period.params()),
        lambda f: px.bar(f, x="events", y="category", orientation="h").update_yaxes(autorange="reversed"),
        "events_by_category",
    )
with right:
    charts.chart(
        "New users per day",
        activity,
        lambda f: px.bar(f, x="day", y="new_users", labels={"new_users": "new users"}),
        "new_users",
    )
