"""Engagement: DAU/WAU/MAU and stickiness, the weekly retention of signup cohorts, events by category and by type,
new users, and the lifecycle and depth in writing days (dashboards/writing_depth.py).

Active users, stickiness and new users come from the metrics layer; retention, events and the writing section are
reports. Below them, the writing-milestone funnel of the period's sign-ups (`dashboards/milestone_funnel.py`), the
sessions and the organisations (`dashboards/organizations.py`). The plan and tier filters in the sidebar apply to
every section: to the metrics as dimension filters, to every report through `picked($plans, plan)`.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards import charts, data, filters, milestone_funnel, organizations, plots, sessions, writing_depth
from dashboards.views import open_page, series, tile

period = open_page("engagement")
previous = period.previous()
options = data.report("engagement/options")


def _choices(kind: str) -> list[str]:
    return options.loc[options["filter"] == kind, "value"].tolist() if not options.empty else []


plans = filters.choose("Plan", "plan", _choices("plan"))
tiers = filters.choose("Tier", "tier", _choices("tier"))
where = {"plan": plans, "tier": tiers}  # the metrics' dimension filters
chosen = {**filters.report_params(where), **period.params()}  # the reports' parameters

columns = st.columns(4)
for column, name in zip(columns, ["dau", "mau", "stickiness", "new_users"], strict=True):
    tile(column, name, period, previous, where=where)

activity = series(["dau", "wau", "mau", "stickiness", "new_users"], period, where=where)
left, right = st.columns(2)
with left:
    charts.chart(
        "Active users (each day, and the 7 and 30 days ending on it)",
        activity,
        lambda f: plots.line(f, x="day", y=["dau", "wau", "mau"]),
        "active_users",
    )
with right:
    charts.chart(
        "Stickiness (DAU/MAU)",
        activity,
        lambda f: plots.line(f, x="day", y="stickiness").update_yaxes(tickformat=".0%"),
        "stickiness",
    )


_COHORT_WORDS = {"signup": "signup", "first_ai": "first AI generation"}


def _retention_heatmap(frame: pd.DataFrame, since: str = "signup") -> go.Figure:
    """Cohorts by weeks since `since` (signup, first_ai)."""
    words = _COHORT_WORDS[since]
    return charts.cohort_heatmap(
        frame, "cohort_week", f"weeks_since_{since}", f"weeks since {words}", f"cohort (week of {words})"
    )


retention = data.report("engagement/retention", **chosen)
charts.chart(
    "Weekly retention by signup cohort (share of the cohort active N weeks after signup)",
    retention,
    _retention_heatmap,
    "retention",
)
charts.chart(
    "Weekly retention by first-AI-generation cohort (share of the cohort active N weeks after its first generation)",
    data.report("engagement/retention_first_ai", **chosen),
    lambda f: _retention_heatmap(f, "first_ai"),
    "retention_first_ai",
)

left, right = st.columns(2)
with left:
    charts.chart(
        "Events by category",
        data.report("engagement/events_by_category", **chosen),
        lambda f: plots.bar(f, x="events", y="category", orientation="h").update_yaxes(autorange="reversed"),
        "events_by_category",
    )
with right:
    charts.table("Events by type", data.report("engagement/events_by_type", **chosen), "events_by_type")

charts.chart(
    "New users per day",
    activity,
    lambda f: plots.bar(f, x="day", y="new_users"),
    "new_users",
)

writing_depth.show(period, where)
milestone_funnel.show(period, where)
sessions.show(period, previous, where)
organizations.show(period, previous, where)
