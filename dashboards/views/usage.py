"""Usage: what users consume by resource type over time, by tier and plan; plan utilization; top users.

Users with usage, usage cost, AI tokens billed and quantities come from the metrics layer; plan utilization, the
subscribers over a limit and the top users are reports.
"""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboards import charts, data, filters, plots, views
from dashboards.views import open_page, series, tile

period = open_page("usage")
options = data.report("usage/options")


def _choices(kind: str) -> list[str]:
    return options.loc[options["filter"] == kind, "value"].tolist() if not options.empty else []


chosen = {
    "tiers": filters.choose("Tier", "tier", _choices("tier")),
    "plans": filters.choose("Plan", "plan", _choices("plan")),
    "resource_types": filters.choose("Resource type", "resource", _choices("resource_type")),
}
where = {"tier": chosen["tiers"], "plan": chosen["plans"], "resource_type": chosen["resource_types"]}
previous = period.previous()
over_limit = data.report("usage/over_limit", plans=chosen["plans"], end=period.end)

columns = st.columns(4)
for column, name in zip(columns, ["usage_users", "usage_cost", "usage_ai_tokens"], strict=False):
    tile(column, name, period, previous, where=where)
columns[3].metric(
    "Over a plan limit",
    charts.count(len(over_limit)),
    border=True,
    help=f"Subscribers over their token allowance or project limit in {period.end:%B %Y}.",
)

charts.chart(
    "Quantity per day by resource type",
    series("usage_quantity", period, by=["resource_type"], where=where),
    lambda f: (
        px.bar(f, x="day", y="usage_quantity", facet_row="resource_type", facet_row_spacing=0.08)
        .update_yaxes(matches=None, title=None)
        .for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
        .update_layout(height=120 + 140 * f["resource_type"].nunique())
    ),
    "usage_by_day",
)

by_tier_plan = series(
    ["usage_users", "usage_quantity", "usage_cost"],
    period,
    grain="all",
    by=["tier", "plan", "resource_type"],
    where=where,
).drop(columns="day", errors="ignore")
left, right = st.columns(2)
with left:
    charts.chart(
        "Cost by tier (USD)",
        by_tier_plan,
        lambda f: plots.bar(f, x="tier", y="usage_cost", color="resource_type"),
        "usage_cost_by_tier",
    )
with right:
    charts.chart(
        "Cost by plan (USD)",
        by_tier_plan,
        lambda f: plots.bar(f, x="plan", y="usage_cost", color="resource_type"),
        "usage_cost_by_plan",
    )
charts.table("Usage by tier, plan and resource type", by_tier_plan, "usage_by_tier_plan")

st.subheader("Plan utilization")
utilization = data.report("usage/utilization", plans=chosen["plans"], **period.params())
left, right = st.columns(2)
with left:
    charts.chart(
        "Median share of the token allowance used",
        utilization,
        lambda f: plots.line(
            f,
            x="month",
            y="median_utilization",
            color="plan",
            markers=True,
        ).update_yaxes(tickformat=".0%"),
        "usage_utilization",
    )
with right:
    charts.chart(
        "Subscribers over their token allowance",
        utilization,
        lambda f: plots.bar(f, x="month", y="over_token_limit", color="plan"),
        "usage_over_limit_by_month",
    )
charts.report_table(
    f"Subscribers over a limit in {period.end:%B %Y}",
    "usage/over_limit",
    "usage_over_limit",
    {"plans": chosen["plans"], "end": period.end},
    shape=views.with_people("user_id", "user"),
    column_config={
        "utilization": st.column_config.NumberColumn("Utilization", format="percent"),
    },
)
charts.report_table(
    "Top users by usage cost",
    "usage/top_users",
    "usage_top_users",
    {**chosen, **period.params()},
    shape=views.with_people("user_id", "user"),
)
