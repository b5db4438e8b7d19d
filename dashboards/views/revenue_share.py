"""Revenue share: a month's statements (with the finance export and its month close), outstanding payouts by age
and as a worklist, restatements after close, payouts by status, per-author totals, platform commission over time,
and MRR by plan with new and churned subscriptions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import streamlit as st

from dashboards import charts, data, filters, plots, views
from dashboards.views import open_page, series, tile
from pipelines.days import utc_day
from pipelines.errors import UserError
from pipelines.export.revenue_share import next_month

CLOSE_REFUSED = "_revenue_share_close_refused"
FAILED_ROW = "background-color: rgba(255, 43, 43, 0.16); color: rgb(125, 0, 0)"


def _close(month: date) -> None:
    """The "Close month" button's on-click: runs before the page draws, so the page shows the month closed."""
    try:
        data.close_month(month)
    except UserError as refused:
        st.session_state[CLOSE_REFUSED] = str(refused)


def _failed_in_red(row: pd.Series) -> list[str]:
    return [FAILED_ROW if row["payout_status"] == "failed" else ""] * len(row)


period = open_page("revenue_share", default_days=365)
# Finance can read the page as it was published then (a statement as it was sent); the latest by default.
views.as_published_at()
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
    failed = totals.author_revenue_failed
    columns[3].metric(
        "Authors' share not yet paid",
        charts.money(totals.author_revenue_unpaid),
        delta=f"{charts.money(failed)} of it failed payouts" if failed else None,
        delta_color="red",
        delta_arrow="off",
        border=True,
        help=f"Pending, processing or failed payouts of the month's {charts.count(totals.statements)} statements; "
        "failed payouts need a retry (the worklist below).",
    )
    source = data.publication()
    snapshot_day = utc_day(source.snapshot_at) if source else None
    complete = not totals.partial and snapshot_day is not None and snapshot_day >= next_month(month)
    if data.may_close_months() and data.reading_latest() and data.month_close(month) is None:
        st.button(
            f"Close month {picked}",
            key="close_month",
            icon=":material/lock:",
            disabled=not complete,
            help="Freeze this month's statements as published now: later changes to their amounts are listed as "
            "restatements (`ebook-analytics close-month`)."
            if complete
            else "Only a complete month closes: it must have ended, and every revenue period with it, in these data.",
            on_click=_close,
            args=(month,),
        )
    close_refused = st.session_state.pop(CLOSE_REFUSED, None)
    if close_refused:
        st.error(f"Not closed: {close_refused}", icon=":material/block:")
    closed = data.month_close(month)
    if closed is not None:
        st.success(
            f"**Closed** {closed.closed_at:%Y-%m-%d %H:%M} UTC by {closed.closed_by}: {closed.counted} frozen from "
            f"run {closed.run_id}. Amounts that change later are listed under Restatements.",
            icon=":material/lock:",
        )
    try:
        csv_file, make_xlsx = data.statement_files(month)
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
            make_xlsx,  # made on click
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

st.subheader("Payouts outstanding, every month")
source = data.publication()
as_of = utc_day(source.snapshot_at if source else datetime.now(UTC))
st.caption(
    f"Age: UTC days from the end of the statement's month to {as_of:%Y-%m-%d}, the day of these data (a month not "
    "over yet counts 0 days). Failed payouts are shown in red."
)
charts.table(
    "Authors' share not yet paid, by age",
    data.report("revenue_share/payout_ageing", as_of=as_of),
    "payout_ageing",
)
charts.report_table(
    "Outstanding payouts (failed first, then the oldest)",
    "revenue_share/payout_worklist",
    "payout_worklist",
    {"as_of": as_of},
    shape=views.with_people("author_id", "author", position=1),
    row_style=_failed_in_red,
)
RESTATEMENTS = "Restatements: amounts changed after the month's close"
if data.report("revenue_share/restatements").empty:
    st.markdown(f"**{RESTATEMENTS}**")
    st.info("No amount of a closed month has changed since its close.", icon=":material/lock:")
else:
    charts.report_table(
        RESTATEMENTS,
        "revenue_share/restatements",
        "restatements",
        shape=views.with_people("author_id", "author", position=1),
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
        lambda f: plots.bar(
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
        lambda f: plots.line(f, x="month", y=["book_sales", "platform_revenue"], markers=True),
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
        lambda f: plots.bar(f, x="month", y="mrr", color="plan"),
        "revenue_mrr",
    )
with right:
    charts.chart(
        "MRR movements (USD; contraction and churn below zero)",
        series(MOVEMENTS, period, grain="month", where=plan_where, time="month"),
        lambda f: plots.bar(
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
