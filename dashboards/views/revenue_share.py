"""Revenue share: a month's statements (with the finance export), payouts by status, per-author totals, platform
commission over time, and MRR by plan with new and churned subscriptions."""

from __future__ import annotations

from datetime import date

import plotly.express as px
import streamlit as st

from dashboards import charts, data, filters
from dashboards.views import open_page
from pipelines.errors import UserError

period = open_page("revenue_share", default_days=365)
plans = filters.choose("Plan (MRR charts)", "plan", data.report("revenue_share/plans")["plan"].tolist())
# Months as YYYY-MM text: what the URL carries (`?month=2024-06`) and what the picker shows.
months = [f"{month:%Y-%m}" for month in data.report("revenue_share/months")["month"]]

st.subheader("Statements of a month")
if not months:
    st.info("No revenue-share statements yet.", icon=":material/receipt_long:")
else:
    picked = st.selectbox("Statement month (revenue period start)", months, key="month", bind="query-params")
    month = date.fromisoformat(f"{picked}-01")
    totals = data.report("revenue_share/month_totals", month=month).iloc[0]
    if totals.partial:
        st.warning(
            f"**Partial**: the revenue period of {picked} runs to {totals.period_end:%Y-%m-%d}, after these data were "
            "taken; its figures will still change.",
            icon=":material/hourglass_top:",
        )
    columns = st.columns(4)
    columns[0].metric(
        "Book sales", charts.money(totals.book_sales), border=True, help=f"{charts.count(totals.statements)} statements"
    )
    columns[1].metric("Platform commission", charts.money(totals.platform_revenue), border=True)
    columns[2].metric("Authors' share", charts.money(totals.author_revenue), border=True)
    columns[3].metric(
        "Authors' share not yet paid",
        charts.money(totals.author_revenue_unpaid),
        border=True,
        help="Pending, processing or failed payouts.",
    )
    try:
        csv_file, xlsx_file = data.statement_files(month)
    except UserError as refused:  # e.g. a --redact-pii warehouse has no author emails to put on statements
        st.info(f"The statement files are not available: {refused}", icon=":material/file_download_off:")
    else:
        left, right, _ = st.columns([1, 1, 4])
        left.download_button(
            "Statements CSV",
            csv_file,
            file_name=f"revenue-share-{month:%Y-%m}.csv",
            mime="text/csv",
            key="statements_csv",
            icon=":material/download:",
        )
        right.download_button(
            "Statements XLSX",
            xlsx_file,
            file_name=f"revenue-share-{month:%Y-%m}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key="statements_xlsx",
            icon=":material/download:",
        )
    statements = data.report("revenue_share/statements", month=month)
    statements.insert(0, "author", data.people(statements.pop("author_id")))
    charts.table(
        "Statements",
        statements,
        "revenue_statements",
        column_config={
            "commission_rate": st.column_config.NumberColumn("commission", format="percent"),
        },
    )

st.subheader(f"{period.start:%B %Y} to {period.end:%B %Y}")
by_month = data.report("revenue_share/by_month", **period.params())
left, right = st.columns(2)
with left:
    charts.chart(
        "Authors' share by payout status (USD)",
        by_month,
        lambda f: px.bar(
            f.rename(columns=lambda c: c.removeprefix("author_revenue_")),
            x="month",
            y=["paid", "processing", "pending", "failed"],
            labels={"value": "USD", "variable": ""},
        ),
        "revenue_by_payout_status",
    )
with right:
    charts.chart(
        "Platform commission and book sales (USD)",
        by_month,
        lambda f: px.line(
            f, x="month", y=["book_sales", "platform_revenue"], markers=True, labels={"value": "USD", "variable": ""}
        ),
        "revenue_commission",
    )

mrr = data.report("revenue_share/mrr_by_plan", plans=plans, **period.params())
left, right = st.columns(2)
with left:
    charts.chart(
        "MRR by plan (USD)",
        mrr,
        lambda f: px.bar(f, x="month", y="mrr_usd", color="plan", labels={"mrr_usd": "MRR (USD)"}),
        "revenue_mrr",
    )
with right:
    charts.chart(
        "New and churned subscriptions",
        mrr,
        lambda f: px.bar(
            f.assign(churned_subscriptions=-f["churned_subscriptions"]),
            x="month",
            y=["new_subscriptions", "churned_subscriptions"],
            barmode="relative",
            labels={"value": "subscriptions", "variable": ""},
        ),
        "revenue_new_churned",
    )

authors = data.report("revenue_share/author_totals", **period.params())
if not authors.empty:
    authors.insert(0, "author", data.people(authors.pop("author_id")))
charts.table("Authors (statements starting in the period)", authors, "revenue_authors")
