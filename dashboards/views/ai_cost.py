"""AI cost: cost and tokens by day, provider and model; latency; failures; unit costs; margin by tier; top spenders."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboards import charts, data, filters
from dashboards.views import open_page, period_params

period = open_page("ai_cost")
options = data.report("ai_cost/options")
providers = filters.choose("Provider", "provider", sorted(options["provider"].unique()) if not options.empty else [])
shown_models = options[options["provider"].isin(providers)] if providers else options
models = filters.choose("Model", "model", sorted(shown_models["model"].unique()) if not options.empty else [])
tiers = filters.choose("Tier", "tier", data.report("ai_cost/tiers")["tier"].tolist())
chosen = {"providers": providers, "models": models, **period.params()}

kpis = data.report("ai_cost/kpi_cost", providers=providers, models=models, **period_params(period)).iloc[0]
units = data.report("ai_cost/unit_costs", **chosen).iloc[0]
by_day = data.report("ai_cost/by_day", **chosen)
health = data.report("ai_cost/health_by_day", **chosen)

columns = st.columns(4)
charts.kpi(
    columns[0],
    "AI cost",
    kpis.current,
    kpis.previous,
    charts.money,
    "Cost of the generations of the chosen providers and models created in the period.",
    lower_is_better=True,
)
charts.kpi(
    columns[1],
    "Failure rate",
    kpis.failure_rate,
    kpis.failure_rate_previous,
    charts.percent,
    "Failed generations out of all generations created in the period.",
    lower_is_better=True,
)
columns[2].metric(
    "Cost per 1k AI words",
    charts.money(units.cost_per_1k_words, 4),
    border=True,
    help="AI cost per 1,000 words of AI-written content versions (ai_generation, ai_revision).",
)
columns[3].metric(
    "Cost per active writer",
    charts.money(units.cost_per_writer),
    border=True,
    help="AI cost over the distinct users with a generation in the period.",
)

left, right = st.columns(2)
with left:
    charts.chart(
        "Cost per day by provider (USD)",
        by_day,
        lambda f: px.bar(f, x="day", y="cost_usd", color="provider", labels={"cost_usd": "cost (USD)"}),
        "ai_cost_by_day",
    )
with right:
    charts.chart(
        "Tokens per day by provider",
        by_day,
        lambda f: px.bar(f, x="day", y="tokens_used", color="provider", labels={"tokens_used": "tokens"}),
        "ai_tokens_by_day",
    )
with left:
    charts.chart(
        "Latency of completed generations (ms)",
        health,
        lambda f: px.line(f, x="day", y=["p50_latency_ms", "p95_latency_ms"], labels={"value": "ms", "variable": ""}),
        "ai_latency",
    )
with right:
    charts.chart(
        "Failure rate per day",
        health,
        lambda f: px.line(f, x="day", y="failure_rate", labels={"failure_rate": "failed / all"}).update_yaxes(
            tickformat=".0%"
        ),
        "ai_failure_rate",
    )

charts.table(
    "By model",
    data.report("ai_cost/by_model", **chosen),
    "ai_by_model",
    column_config={
        "failure_rate": st.column_config.NumberColumn("failure rate", format="percent"),
        "p50_latency_ms": st.column_config.NumberColumn("p50 ms", format="%.0f"),
        "p95_latency_ms": st.column_config.NumberColumn("p95 ms", format="%.0f"),
        "avg_quality_rating": st.column_config.NumberColumn("quality (1-5)", format="%.2f"),
    },
)

st.subheader("Cost against subscription revenue")
st.caption(
    "By calendar month and user, so the months the date range touches count whole; provider and model "
    "filters do not apply here."
)
by_tier = data.report("ai_cost/by_tier", tiers=tiers, **period.params())
charts.chart(
    "Cost, subscription revenue and gross margin by tier (USD)",
    by_tier,
    lambda f: px.bar(
        f,
        x="tier",
        y=["cost_usd", "subscription_revenue_usd", "gross_margin_usd"],
        barmode="group",
        labels={"value": "USD", "variable": ""},
    ),
    "ai_by_tier",
)

spenders = data.report("ai_cost/top_spenders", tiers=tiers, **period.params())
if not spenders.empty:
    spenders.insert(0, "user", data.people(spenders.pop("user_id")))
charts.table("Top spenders", spenders, "ai_top_spenders")
