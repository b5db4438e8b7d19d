"""Revenue share: a month's statements (with the finance export), payouts by status, per-author totals, platform
commission over time, and MRR by plan with new and churned subscriptions."""

from __future__ import annotations

from datetime import date

import plotly.express as px
import streamlit as st

from dashboards import charts, data, filters, views
from dashboards.views import open_page, series, tile
from pipelines.errors import UserError

period = open_page("revenue_share", default_days=365)
plans = filters.choose("Plan (MRR charts)", "plan", data.report("revenue_share/plans")["plan"].tolist())
# Months as YYYY-MM text: what the URL carries (`?month=2024-06`) and what the picker shows.
months = [f"{month:%Y-%m}" for month in data.report("revenue_share/months")["month"]]

st.subheader("Statements of a month")
if not months:
    st.info("No revenue-share statements yet.", icon=":material/receipt_long:")
else:
    picked = filters.select("Statement month (revenue period start)", "month", months)
    month = date.fromisoformat(f"{picked}-01")
    totals = data.report("revenue_share/month_totals", month=month).iloc[0]
    if totals.partial:
        st.warning(
            f"**Partial**: the revenue period of {picked} runs to {totals.period_end:%Y-%m-%d}, after these data were "
            "taken; its figures will still change.",
            icon=":material/hourglass_top:",
        )
    columns = st.columns(4)
    for column, name in zip(columns, ["book_sales", "platform_revenue", "author_revenue"], strict=False):
        tile(column, name, filters.month(month))
    columns[3].metric(
        "Authors' share not yet paid",
        charts.money(totals.author_revenue_unpaid),
        border=True,
        help=f"Pending, processing or failed payouts of the month's {charts.count(totals.statements)} statements.",
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
            on_click=data.record_download,
            args=(f"revenue-share-{month:%Y-%m}.csv", "export statements"),
        )
        right.download_button(
            "Statements XLSX",
            xlsx_file,
            file_name=f"revenue-share-{month:%Y-%m}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key="statements_xlsx",
            icon=":material/download:",
            on_click=data.record_download,
            args=(f"revenue-share-{month:%Y-%m}.xlsx", "export statements"),
        )
    charts.report_table(
        "Statements",
        "revenue_share/statements",
        "revenue_statements",
        {"month": month},
        shape=views.with_people("author_id", "author"),
        column_config={
            "commission_rate": st.column_config.NumberColumn("Commission", format="percent"),
        },
    )

st.subheader(f"{period.start:%B %Y} to {period.end:%B %Y}")
# A revenue-period month's statements are whole: every month the range touches, the last one marked if partial.
statement_months = filters.DateRange(period.start.replace(day=1), filters.month(period.end.replace(day=1)).end)
by_month = series(["book_sales", "platform_revenue"], statement_months, grain="month", time="month")
by_status = series("author_revenue", statement_months, grain="month", by=["payout_status"], time="month")
left, right = st.columns(2)
with left:
    charts.chart(
        "Authors' share by payout status (USD)",
        by_status,
        lambda f: px.bar(
            f,
            x="month",
            y="author_revenue",
            color="payout_status",
        ),
        "revenue_by_payout_status",
    )
with right:
    charts.chart(
        "Platform commission and book sales (USD)",
        by_month,
        lambda f: px.line(f, x="month", y=["book_sales", "platform_revenue"], markers=True),
        "revenue_commission",
    )
    partial = [f"{month:%Y-%m}" for month in data.report("revenue_share/partial_months", **period.params())["month"]]
    if partial:
        st.caption(f"**Partial**: {', '.join(partial)}; the revenue period had not ended when these data were taken.")

MOVEMENTS = ["new_mrr", "expansion_mrr", "reactivation_mrr", "contraction_mrr", "churned_mrr"]
plan_where = {"plan": plans}
left, right = st.columns(2)
with left:
    charts.chart(
        "MRR at each month's end, by plan (USD)",
        series("mrr", period, grain="month", by=["plan"], where=plan_where, time="month"),
        lambda f: px.bar(f, x="month", y="mrr", color="plan"),
        "revenue_mrr",
    )
with right:
    charts.chart(
        "MRR movements (USD; contraction and churn below zero)",
        series(MOVEMENTS, period, grain="month", where=plan_where, time="month"),
        lambda f: px.bar(
            f.assign(contraction_mrr=-f["contraction_mrr"], churned_mrr=-f["churned_mrr"]),
            x="month",
            y=MOVEMENTS,
            barmode="relative",
        ),
        "revenue_mrr_movements",
    )

charts.report_table(
    "Authors (statements starting in the period)",
    "revenue_share/author_totals",
    "revenue_authors",
    period.params(),
    shape=views.with_people("author_id", "author"),
)
