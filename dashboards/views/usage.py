"""Usage: what users consume by resource type over time, by tier and plan; plan utilization; top users."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboards import charts, data, filters
from dashboards.views import open_page, period_params

period = open_page("usage")
options = data.report("usage/options")


def _choices(kind: str) -> list[str]:
    return options.loc[options["filter"] == kind, "value"].tolist() if not options.empty else []


chosen = {
    "tiers": filters.choose("Tier", "tier", _choices("tier")),
    "plans": filters.choose("Plan", "plan", _choices("plan")),
    "resource_types": filters.choose("Resource type", "resource", _choices("resource_type")),
}
kpis = data.report("usage/kpis", **chosen, **period_params(period)).set_index("period")
over_limit = data.report("usage/over_limit", plans=chosen["plans"], end=period.end)


def _kpi(column_name: str):
    return kpis[column_name].get("current", 0), kpis[column_name].get("previous", 0)


columns = st.columns(4)
charts.kpi(columns[0], "Users with usage", *_kpi("users"), charts.count, "Distinct users with a usage record.")
charts.kpi(columns[1], "Usage cost", *_kpi("total_cost"), charts.money, "Sum of the usage records' total cost.")
charts.kpi(columns[2], "AI tokens", *_kpi("ai_tokens"), charts.count, "Quantity of 'ai_tokens' usage.")
columns[3].metric(
    "Over a plan limit",
    charts.count(len(over_limit)),
    border=True,
    help=f"Subscribers over their token allowance or project limit in {period.end:%B %Y}.",
)

by_day = data.report("usage/by_day", **chosen, **period.params())
charts.chart(
    "Quantity per day by resource type",
    by_day,
    lambda f: (
        px.bar(f, x="day", y="quantity", facet_row="resource_type", facet_row_spacing=0.08)
        .update_yaxes(matches=None, title=None)
        .for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
        .update_layout(height=120 + 140 * f["resource_type"].nunique())
    ),
    "usage_by_day",
)

by_tier_plan = data.report("usage/by_tier_plan", **chosen, **period.params())
left, right = st.columns(2)
with left:
    charts.chart(
        "Cost by tier (USD)",
        by_tier_plan,
        lambda f: px.bar(f, x="tier", y="total_cost", color="resource_type", labels={"total_cost": "USD"}),
        "usage_cost_by_tier",
    )
with right:
    charts.chart(
        "Cost by plan (USD)",
        by_tier_plan,
        lambda f: px.bar(f, x="plan", y="total_cost", color="resource_type", labels={"total_cost": "USD"}),
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
        lambda f: px.line(
            f,
            x="month",
            y="median_utilization",
            color="plan",
            markers=True,
            labels={"median_utilization": "used / included"},
        ).update_yaxes(tickformat=".0%"),
        "usage_utilization",
    )
with right:
    charts.chart(
        "Subscribers over their token allowance",
        utilization,
        lambda f: px.bar(f, x="month", y="over_token_limit", color="plan", labels={"over_token_limit": "subscribers"}),
        "usage_over_limit_by_month",
    )
if not over_limit.empty:
    over_limit.insert(0, "user", data.people(over_limit.pop("user_id")))
charts.table(
    f"Subscribers over a limit in {period.end:%B %Y}",
    over_limit,
    "usage_over_limit",
    column_config={
        "utilization": st.column_config.NumberColumn("utilization", format="percent"),
    },
)

top = data.report("usage/top_users", **chosen, **period.params())
if not top.empty:
    top.insert(0, "user", data.people(top.pop("user_id")))
charts.table("Top users by usage cost", top, "usage_top_users")
