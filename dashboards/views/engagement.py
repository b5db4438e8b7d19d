"""Engagement: DAU/WAU/MAU and stickiness, the weekly retention of signup cohorts, events by category and by type,
new users, and the lifecycle and depth in writing days (dashboards/writing_depth.py).

Active users, stickiness and new users come from the metrics layer; retention, events and the writing section are
reports. Below them, the writing-milestone funnel of the period's sign-ups (`dashboards/milestone_funnel.py`).
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from dashboards import charts, data, milestone_funnel, sessions, writing_depth
from dashboards.views import open_page, series, tile

period = open_page("engagement")
previous = period.previous()

columns = st.columns(4)
for column, name in zip(columns, ["dau", "mau", "stickiness", "new_users"], strict=True):
    tile(column, name, period, previous)

activity = series(["dau", "wau", "mau", "stickiness", "new_users"], period)
left, right = st.columns(2)
with left:
    charts.chart(
        "Active users (each day, and the 7 and 30 days ending on it)",
        activity,
        lambda f: px.line(f, x="day", y=["dau", "wau", "mau"]),
        "active_users",
    )
with right:
    charts.chart(
        "Stickiness (DAU/MAU)",
        activity,
        lambda f: px.line(f, x="day", y="stickiness").update_yaxes(tickformat=".0%"),
        "stickiness",
    )


_COHORT_WORDS = {"signup": "signup", "first_ai": "first AI generation"}


def _retention_heatmap(frame: pd.DataFrame, since: str = "signup") -> go.Figure:
    """Cohorts by weeks since `since` (signup, first_ai); a week not yet fully observed has no rate and stays an empty
    cell (never 0%)."""
    grid = frame.pivot(index="cohort_week", columns=f"weeks_since_{since}", values="retention_rate").astype("float64")
    figure = px.imshow(
        grid,
        color_continuous_scale="Blues",
        zmin=0,
        zmax=1,
        aspect="auto",
        labels={
            "x": f"weeks since {_COHORT_WORDS[since]}",
            "y": f"cohort (week of {_COHORT_WORDS[since]})",
            "color": "retained",
        },
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
charts.chart(
    "Weekly retention by first-AI-generation cohort (share of the cohort active N weeks after its first generation)",
    data.report("engagement/retention_first_ai", **period.params()),
    lambda f: _retention_heatmap(f, "first_ai"),
    "retention_first_ai",
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
    charts.table("Events by type", data.report("engagement/events_by_type", **period.params()), "events_by_type")

charts.chart(
    "New users per day",
    activity,
    lambda f: px.bar(f, x="day", y="new_users"),
    "new_users",
)

writing_depth.show(period)
milestone_funnel.show(period)
sessions.show(period, previous)
