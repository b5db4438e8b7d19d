"""The writing-milestone funnel of the Engagement page: of the users who signed up in the period, how many reached
each milestone (and every one before it) within the conversion window, the conversion between steps and the median
time each step took, for all users or per sign-up cohort, plan, tier or sign-up method (`marts.user_milestones`,
report `engagement/milestone_funnel`). The window and the breakdown live in the URL like the other filters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards import charts, data, filters, plots

# By label, as the URL carries them: `?funnel_window=30+days&funnel_by=Plan`.
WINDOWS: dict[str, int | None] = {"Any time": None, "7 days": 7, "30 days": 30, "90 days": 90}
BREAKDOWNS = {"None": "all", "Sign-up cohort": "cohort", "Plan": "plan", "Tier": "tier", "Sign-up method": "method"}
COLUMNS = {
    "segment": st.column_config.Column("Segment"),
    "step_number": st.column_config.NumberColumn("Step"),
    "step": st.column_config.Column("Milestone"),
    "users": st.column_config.NumberColumn("Users reached"),
    "conversion_from_previous": st.column_config.NumberColumn("From previous step", format="percent"),
    "conversion_from_signup": st.column_config.NumberColumn("From sign-up", format="percent"),
    "median_hours_from_previous": st.column_config.NumberColumn("Median hours from previous", format="%.1f"),
    "median_days_from_previous": st.column_config.NumberColumn("Median days from previous", format="%.2f"),
}


def _bars(frame: pd.DataFrame) -> go.Figure:
    """One bar per milestone, top to bottom in funnel order; one colour per segment."""
    figure = plots.bar(
        frame, x="users", y="step", color="segment", orientation="h", barmode="group", text="users",
        labels={"users": "users reached", "step": "milestone", "segment": "segment"},
    )  # fmt: skip
    return figure.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=frame["step"].unique())


def _within(window: str) -> str:
    return "at any time after sign-up" if WINDOWS[window] is None else f"within {window} of sign-up"


def show(period: filters.DateRange, where: Mapping[str, Sequence[str]]) -> None:
    """The funnel's selectors, bar chart and table for the sign-ups of `period` in the page's plans and tiers."""
    left, right = st.columns(2)
    with left:
        window = filters.select("Conversion window (after sign-up)", "funnel_window", list(WINDOWS))
    with right:
        breakdown = filters.select("Funnel by", "funnel_by", list(BREAKDOWNS))
    funnel = data.report(
        "engagement/milestone_funnel",
        **period.params(),
        **filters.report_params(where),
        window_days=WINDOWS[window],
        breakdown=BREAKDOWNS[breakdown],
    )
    charts.chart(
        f"Writing-milestone funnel of the period's sign-ups (steps reached {_within(window)})",
        funnel,
        _bars,
        "milestone_funnel",
    )
    st.caption(
        "A user reaches a step when they reached it and every step before it within the window. Sign-ups near the "
        "period's end may not have had the whole window yet. Times are exact medians over the users reaching the step; "
        "a negative one means they usually took the step before the previous one (e.g. an AI generation drafting the "
        "first chapter)."
    )
    charts.table("Writing-milestone funnel", funnel, "milestone_funnel_table", column_config=COLUMNS)
