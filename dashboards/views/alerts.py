"""Alerts: what fired into the platform's job queue (docs/alerts.md), open and resolved, for the signed-in role (an
admin sees every rule), and the rules themselves."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import charts, data
from dashboards.views import guard
from pipelines.alerts.rules import rules

guard("alerts")
role = data.current_user().role
episodes = data.alert_episodes()
if not episodes.empty:
    # People are named only to the roles that see personal data; the others get the pseudonymous key.
    personal = episodes["subject_kind"].isin(["user", "author"])
    episodes.loc[personal, "subject"] = data.people(episodes.loc[personal, "subject"]).to_numpy()
    for column in ("fired_at", "resolved_at"):
        episodes[column] = pd.to_datetime(episodes[column], utc=True, errors="coerce")
is_open = episodes["resolved_at"].isna()

columns = st.columns(3)
columns[0].metric("Open alerts", charts.count(is_open.sum()), border=True)
columns[1].metric("Critical open", charts.count((is_open & (episodes["severity"] == "critical")).sum()), border=True)
columns[2].metric("Resolved", charts.count((~is_open).sum()), border=True)

SHOWN = ["rule", "severity", "subject", "value", "threshold", "alert_window", "detail", "fired_at", "fired_run_id"]
charts.table(
    "Open alerts, newest first", episodes.loc[is_open, SHOWN].rename(columns={"alert_window": "window"}), "open_alerts"
)
resolved = episodes.loc[~is_open, [*SHOWN, "resolved_at", "resolved_run_id"]].rename(columns={"alert_window": "window"})
charts.table("Resolved alerts, newest first", resolved, "resolved_alerts")
undelivered = episodes.loc[is_open & episodes["delivered_at"].isna(), ["rule", "subject", "delivery_error"]]
if not undelivered.empty:
    st.warning(
        f"{len(undelivered)} open alert(s) not yet in the platform's job queue; the next ETL run retries.",
        icon=":material/sync_problem:",
    )

catalog = pd.DataFrame(
    [
        (item.name, item.severity, item.role, item.description)
        for item in rules().values()
        if role == "admin" or item.role == role
    ],
    columns=["rule", "severity", "role", "fires when"],
)
charts.table("Rules", catalog, "alert_rules")
