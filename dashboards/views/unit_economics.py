"""Unit economics: what each book and each author cost in AI and bring in, over the whole history to the data as of.

The KPIs come from the metrics layer (`queries/metrics/unit_economics.yml`) over every day with data; the per-book
and per-author tables and the reconciliation line are reports on the unit economics marts. Genre and publication
cohort pick books, plan picks authors (by their latest subscription's plan); all three live in the URL.
"""

from __future__ import annotations

import streamlit as st

from dashboards import charts, data, filters, views
from dashboards.views import guard, tile

TILES = ["economics_ai_cost", "economics_book_sales", "ai_cost_per_sales_dollar", "unpublished_ai_share"]

guard("unit_economics")
span = data.data_span()
if span is None:
    st.info("The published warehouse holds no activity yet. Seed or advance the source, then run the ETL.")
    st.stop()
options = data.report("unit_economics/options")


def choices(name: str) -> list[str]:
    return options.loc[options["filter"] == name, "choice"].tolist() if not options.empty else []


genres = filters.choose("Genre", "genre", choices("genre"))
plans = filters.choose("Plan (the author's latest)", "plan", choices("plan"))
cohorts = filters.choose("Publication cohort (UTC month)", "cohort", choices("cohort"))
lifetime = filters.DateRange(*span)
st.caption(
    f"Whole history: {lifetime.start:%b %d, %Y} to {lifetime.end:%b %d, %Y} (UTC). AI cost by the day of each "
    "generation, book sales by the first day of their revenue period."
)

where = {"genre": genres, "plan": plans, "cohort": cohorts}
for column, name in zip(st.columns(len(TILES)), TILES, strict=True):
    tile(column, name, lifetime, None, where=where, lower_is_better=name != "economics_book_sales")

chosen = {"genres": genres, "plans": plans, "cohorts": cohorts}
charts.report_table(
    "Books",
    "unit_economics/books",
    "economics_books",
    chosen,
    shape=views.with_people("author_id", "author", position=1),
    column_config={
        "cohort": st.column_config.TextColumn("Publication cohort"),
        "words_written": st.column_config.NumberColumn("Words written"),
        "platform_commission": st.column_config.NumberColumn("Platform commission (USD)", format="dollar"),
        "author_share": st.column_config.NumberColumn("Author share (USD)", format="dollar"),
        "payback_month": st.column_config.DateColumn(
            "Payback month",
            format="MMM YYYY",
            help="The first UTC month in which the book's commission so far covered its AI cost so far; empty if "
            "never (or without AI cost).",
        ),
    },
)
charts.report_table(
    "Authors (contribution = subscription revenue + commission - AI cost)",
    "unit_economics/authors",
    "economics_authors",
    chosen,
    shape=views.with_people("author_id", "author"),
    column_config={
        "unbooked_ai_cost_usd": st.column_config.NumberColumn(
            "AI cost tied to no book (USD)", format=f"$%.{charts.COST_PLACES}f"
        ),
        "platform_commission": st.column_config.NumberColumn("Platform commission (USD)", format="dollar"),
    },
)
if genres or cohorts:
    st.caption("Genre and cohort keep the authors with a book among those picked; their figures stay whole.")

totals = data.report("unit_economics/totals")
if not totals.empty:
    row = totals.iloc[0]
    st.caption(
        f"Reconciled (error-level checks): AI cost on books {charts.money(row.book_ai_cost_usd, charts.COST_PLACES)}"
        f" + tied to no book {charts.money(row.unbooked_ai_cost_usd, charts.COST_PLACES)}"
        f" = all AI cost {charts.money(row.total_ai_cost_usd, charts.COST_PLACES)}; commission"
        f" {charts.money(row.platform_commission)} = the statements' platform revenue"
        f" {charts.money(row.statements_platform_revenue)}."
    )
