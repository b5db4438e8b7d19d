"""The Engagement page's organisations: active organisations per day and over 7 and 30 days, seats used against the
owner's plan (and who is over it), AI spend and books published per organisation and month, and the monthly
retention of organisations by creation month.

An organisation is active on a UTC day when someone who was its member that day (the owner included) wrote: a saved
content version or a chapter_edit event (marts.organization_days). Plan and tier are the owner's, so the page's
plan and tier filters pick organisations by their owner. Organisations show as their key (names are not staged:
teams are often named after their owner); owners are people, shown as the role sees people (pseudonyms for product).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import streamlit as st

from dashboards import charts, data, filters, plots
from dashboards.views import series, tile, with_people

ACTIVE = ["active_organizations", "weekly_active_organizations", "monthly_active_organizations"]
OVER_LIMIT_ROW = "background-color: rgba(255, 43, 43, 0.16); color: rgb(125, 0, 0)"
SEATS = {
    "organization_id": st.column_config.Column("Organisation"),
    "members": st.column_config.NumberColumn("Seats used"),
    "collaborators_limit": st.column_config.NumberColumn("Seat limit (plan)"),
    "seats_left": st.column_config.NumberColumn("Seats left"),
    "over_limit": st.column_config.CheckboxColumn("Over limit"),
}


def _over_limit_in_red(row: pd.Series) -> list[str]:
    return [OVER_LIMIT_ROW if row["over_limit"] else ""] * len(row)


def show(period: filters.DateRange, previous: filters.DateRange | None, picks: Mapping[str, Sequence[str]]) -> None:
    """Draw the section for `period`, filtered by the page's `picks` ({"plan": [...], "tier": [...]})."""
    st.subheader("Organisations")
    chosen = filters.report_params(picks)
    seats = data.report("engagement/organization_seats", end=period.end, **chosen)
    columns = st.columns(4)
    tile(columns[0], "weekly_active_organizations", period, previous, where=picks)
    tile(columns[1], "monthly_active_organizations", period, previous, where=picks)
    tile(columns[2], "organization_ai_cost", period, previous, where=picks, lower_is_better=True)
    charts.kpi(
        columns[3],
        "Organisations over their seat limit",
        int(seats["over_limit"].sum()) if not seats.empty else 0,
        None,
        charts.count,
        f"Organisations whose members other than the owner, at the end of {period.end:%B %Y} (at the snapshot while "
        "it runs), outnumber the collaborators_limit of the owner's plan. An owner without a live subscription has "
        "no known limit.",
    )
    charts.chart(
        "Active organisations (a member wrote that day, and in the 7 and 30 days ending on it)",
        series(ACTIVE, period, where=picks),
        lambda f: plots.line(f, x="day", y=ACTIVE),
        "active_organizations",
    )
    left, right = st.columns(2)
    with left:
        charts.chart(
            "AI spend on organisations' projects per month, by the owner's plan (USD, complete months)",
            series("organization_ai_cost", period, grain="month", by=["plan"], where=picks, time="month"),
            lambda f: plots.bar(f, x="month", y="organization_ai_cost", color="plan"),
            "organization_ai_cost",
        )
    with right:
        charts.chart(
            "Books published by organisations per month (complete months)",
            series("organization_publications", period, grain="month", where=picks, time="month"),
            lambda f: plots.bar(f, x="month", y="organization_publications"),
            "organization_publications",
        )
    charts.report_table(
        f"Seats used against the owner's plan at the end of {period.end:%B %Y}",
        "engagement/organization_seats",
        "organization_seats",
        {"end": period.end, **chosen},
        shape=with_people("owner_id", "owner", position=1),
        column_config=SEATS,
        row_style=_over_limit_in_red,
    )
    charts.chart(
        "Monthly retention of organisations by creation month (share of the cohort active N months later)",
        data.report("engagement/organization_retention", **period.params(), **chosen),
        lambda f: charts.cohort_heatmap(
            f, "cohort_month", "months_since_created", "months since creation", "cohort (month created)"
        ),
        "organization_retention",
    )
    charts.report_table(
        "Organisations per month: days a member wrote, AI spend and books published",
        "engagement/organization_months",
        "organization_months",
        {**period.params(), **chosen},
        shape=with_people("owner_id", "owner", position=2),
    )
