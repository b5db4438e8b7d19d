"""Data quality: recent ETL runs with status and duration, the checks of each run, and each source table's
freshness."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from dashboards import charts, data, filters, plots
from dashboards.views import guard

guard("data_quality")
runs = data.runs(limit=200)


def _run_row(run: dict) -> dict:
    steps = run.get("steps") or {}
    tables = run.get("tables") or {}
    return {
        "run_id": run.get("run_id"),
        "started_at": pd.to_datetime(run.get("started_at"), utc=True, errors="coerce"),
        "status": run.get("status"),
        "mode": run.get("mode"),
        "seconds": round(sum(v for v in steps.values() if isinstance(v, int | float)), 1),
        "rows_changed": sum((t or {}).get("rows_changed") or 0 for t in tables.values()),
        "failed_checks": len(run["failed_checks"]),
        "held_back": ", ".join(sorted(run.get("held_back") or {})),
        "error": run.get("error"),
    }


history = pd.DataFrame([_run_row(run) for run in runs])
st.subheader("Recent runs")
if history.empty:
    st.info("No ETL run recorded yet beside this warehouse.", icon=":material/history:")
else:
    columns = st.columns(4)
    latest = history.iloc[0]
    columns[0].metric("Last run", str(latest.status), border=True, help=f"run {latest.run_id}")
    columns[1].metric("Last run took", f"{latest.seconds:,.1f} s", border=True)
    columns[2].metric("Runs shown", charts.count(len(history)), border=True)
    columns[3].metric(
        "Not published",
        charts.count((history["status"] != "published").sum()),
        border=True,
        help="Partial (some marts held back by failing checks), blocked or failed.",
    )
    capture = runs[0].get("capture") or {}
    if capture:  # change capture (docs/etl.md): how the last run read the source, and the slot's backlog then
        backlog = capture.get("backlog_bytes")
        st.caption(
            f"Source read by: {capture.get('method')}"
            + (f" · slot {capture['slot']}" if capture.get("slot") else "")
            + (f" · slot lag at the last run: {backlog / 2**20:,.1f} MiB of WAL" if backlog is not None else "")
            + (f" · {capture['note']}" if capture.get("note") else "")
        )
    charts.chart(
        "Run durations (seconds), oldest to newest",
        history.iloc[::-1],
        lambda f: plots.bar(
            f,
            x="run_id",
            y="seconds",
            color="status",
        ).update_xaxes(type="category", showticklabels=len(f) <= 12, title=None),
        "run_durations",
    )
    charts.table("Runs, newest first", history, "runs")

    run_ids = history["run_id"].astype(str).tolist()
    picked = filters.select("Checks of run", "run", run_ids)
    checks = pd.DataFrame(data.run_checks(picked))
    failed_only = st.toggle("Failed checks only", value=True, key="failed_only")
    if not checks.empty:
        checks = checks.sort_values(["success", "severity"], kind="stable")
        failed = checks[~checks["success"].astype(bool)]
        st.caption(f"{len(failed):,} of {len(checks):,} checks failed in run {picked}.")
        if failed_only:
            checks = failed
    if failed_only and checks.empty:
        st.success(f"Every check of run {picked} passed.", icon=":material/check_circle:")
    else:
        charts.table(f"Checks of run {picked}" + (" that failed" if failed_only else ""), checks, "run_checks")

st.subheader("Freshness of the source tables")


def _with_age(freshness: pd.DataFrame) -> pd.DataFrame:
    now = datetime.now(UTC)
    hours = [round((now - ts).total_seconds() / 3600, 1) for ts in freshness["extracted_at"]]
    return freshness.assign(hours_since_extract=hours)


charts.report_table("Last extract of each staged table", "data_quality/freshness", "freshness", shape=_with_age)
