"""AI cost: cost and tokens by day, provider and model; latency; failures; unit costs; margin by tier; top spenders.

Every figure of a defined metric comes from the metrics layer (exact percentiles, ratios of sums); the top spenders
list is a report.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import charts, data, filters, plots, views
from dashboards.views import open_page, series, tile

BY_MODEL = [
    "ai_generations",
    "ai_failure_rate",
    "ai_tokens",
    "ai_cost",
    "ai_words",
    "ai_cost_per_1k_ai_words",
    "ai_latency_p50",
    "ai_latency_p95",
    "ai_quality_avg",
]
MARGIN = ["subscription_revenue", "margin_ai_cost", "gross_margin"]

period = open_page("ai_cost")
options = data.report("ai_cost/options")
providers = filters.choose("Provider", "provider", sorted(options["provider"].unique()) if not options.empty else [])
shown_models = options[options["provider"].isin(providers)] if providers else options
models = filters.choose("Model", "model", sorted(shown_models["model"].unique()) if not options.empty else [])
tiers = filters.choose("Tier", "tier", data.report("ai_cost/tiers")["tier"].tolist())
where = {"provider": providers, "model": models}
previous = period.previous()

columns = st.columns(4)
tile(columns[0], "ai_cost", period, previous, where=where, lower_is_better=True)
tile(columns[1], "ai_failure_rate", period, previous, where=where, lower_is_better=True)
tile(columns[2], "ai_cost_per_1k_ai_words", period, previous, where=where, lower_is_better=True)
tile(columns[3], "ai_latency_p95", period, previous, where=where, lower_is_better=True)

by_day = series(["ai_cost", "ai_tokens"], period, by=["provider"], where=where)
health = series(["ai_latency_p50", "ai_latency_p95", "ai_failure_rate"], period, where=where)
left, right = st.columns(2)
with left:
    charts.chart(
        "Cost per day by provider (USD)",
        by_day,
        lambda f: plots.bar(f, x="day", y="ai_cost", color="provider"),
        "ai_cost_by_day",
    )
with right:
    charts.chart(
        "Tokens per day by provider",
        by_day,
        lambda f: plots.bar(f, x="day", y="ai_tokens", color="provider"),
        "ai_tokens_by_day",
    )
with left:
    charts.chart(
        "Latency of completed generations (ms), exact percentiles of each day",
        health,
        lambda f: plots.line(f, x="day", y=["ai_latency_p50", "ai_latency_p95"]),
        "ai_latency",
    )
with right:
    charts.chart(
        "Failure rate per day (failed / finished)",
        health,
        lambda f: plots.line(f, x="day", y="ai_failure_rate").update_yaxes(tickformat=".0%"),
        "ai_failure_rate",
    )

by_model = data.metric(BY_MODEL, start=period.start, end=period.end, by=["provider", "model"], where=where)
charts.table(
    "By model",
    by_model.drop(columns="period"),
    "ai_by_model",
    column_config={
        "ai_generations": st.column_config.NumberColumn("generations"),
        "ai_failure_rate": st.column_config.NumberColumn("failure rate", format="percent"),
        "ai_tokens": st.column_config.NumberColumn("tokens"),
        "ai_cost": st.column_config.NumberColumn("cost", format=f"$%.{charts.COST_PLACES}f"),
        "ai_words": st.column_config.NumberColumn("words added by AI"),
        "ai_cost_per_1k_ai_words": st.column_config.NumberColumn(
            "cost per 1k AI words", format=f"$%.{charts.COST_PLACES}f"
        ),
        "ai_latency_p50": st.column_config.NumberColumn("p50 ms", format="%.0f"),
        "ai_latency_p95": st.column_config.NumberColumn("p95 ms", format="%.0f"),
        "ai_quality_avg": st.column_config.NumberColumn("quality (1-5)", format="%.2f"),
    },
)

league = data.report("ai_cost/model_league", **period.params())
matching = data.report("ai_cost/template_match", **period.params())
# The writing task: the category of the prompt template a generation was matched to at the source ('all' first).
task = st.selectbox("Writing task", list(dict.fromkeys(["all", *league["category"]])), key="ai_league_task")
league = league[league["category"] == task].drop(columns="category")
if not matching.empty and matching["generations"].iloc[0]:
    st.caption(
        f"{matching['share_matched'].iloc[0]:.1%} of the period's {matching['generations'].iloc[0]:,} generations "
        "were matched to their prompt template (by a fingerprint of the prompt computed at the source); the others "
        "form the task 'unmatched'."
    )
# The ranks are over every model of the task; the provider and model filters only narrow what is shown.
if providers:
    league = league[league["provider"].isin(providers)]
if models:
    league = league[league["model"].isin(models)]
charts.table(
    "Model league table (rank: mean of the ranks on failure rate, p95 latency, rating and cost per generation)",
    league,
    "ai_model_league",
    column_config={
        "composite_rank": st.column_config.NumberColumn("rank"),
        "failure_rate": st.column_config.NumberColumn("failure rate", format="percent"),
        "latency_p95_ms": st.column_config.NumberColumn("p95 ms", format="%.0f"),
        "mean_rating": st.column_config.NumberColumn("rating (1-5)", format="%.2f"),
        "ratings": st.column_config.NumberColumn("rated"),
        "mean_confidence": st.column_config.NumberColumn("confidence", format="%.3f"),
        "cost_per_generation_usd": st.column_config.NumberColumn(
            "cost per generation", format=f"$%.{charts.COST_PLACES}f"
        ),
        "cost_per_1k_ai_words_usd": st.column_config.NumberColumn(
            "cost per 1k AI words", format=f"$%.{charts.COST_PLACES}f"
        ),
        "regeneration_rate": st.column_config.NumberColumn(
            "regenerated",
            format="percent",
            help="Generations on a chapter that had another one in the 10 minutes before.",
        ),
        "composite_score": st.column_config.NumberColumn("mean rank", format="%.2f"),
        "cheapest_near_best": st.column_config.CheckboxColumn(
            "cheapest within 0.2 stars of the best",
            help="The cheapest per generation among the models rated within 0.2 stars of the best-rated one.",
        ),
    },
)

errors = data.report("ai_cost/error_classes", **period.params())
if providers:
    errors = errors[errors["provider"].isin(providers)]
if models:
    errors = errors[errors["model"].isin(models)]
charts.table(
    "Error classes by model (the error message up to its first colon)",
    errors,
    "ai_error_classes",
    column_config={
        "error_class": st.column_config.TextColumn("error class"),
        "generations": st.column_config.NumberColumn("generations"),
        "share_of_model_errors": st.column_config.NumberColumn("share of the model's errors", format="percent"),
    },
)

if all(data.may_read_metric(name) for name in MARGIN):
    st.subheader("Cost against subscription revenue")
    months = period.complete_months()
    st.caption(
        "Whole calendar months inside the date range"
        + (f" ({months.start:%B %Y} to {months.end:%B %Y})" if months else " (none: widen the range to a whole month)")
        + ", each user in the tier in force that month; provider and model filters do not apply here."
    )
    tier_where = {"tier": tiers}
    tile(st.columns(4)[0], "gross_margin", period, period.previous(), where=tier_where)
    charts.chart(
        "Subscription revenue, AI cost and gross margin by tier (USD)",
        series(MARGIN, months, grain="all", by=["tier"], where=tier_where).drop(columns="day")
        if months
        else pd.DataFrame(),
        lambda f: plots.bar(f, x="tier", y=MARGIN, barmode="group"),
        "ai_by_tier",
    )

charts.report_table(
    "Top spenders",
    "ai_cost/top_spenders",
    "ai_top_spenders",
    {"tiers": tiers, **period.params()},
    shape=views.with_people("user_id", "user"),
)
