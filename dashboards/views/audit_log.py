"""Audit log (admins): every export, statement pack and dashboard download, newest first, with its CSV.

The page only reads the log (`pipelines.audit`); the dashboards add to it only through their download buttons."""

from __future__ import annotations

from dashboards import charts, data
from dashboards.views import guard

guard("audit_log")
entries = data.audit_entries()
charts.table("Exports and downloads, newest first (times in UTC)", entries, "audit_log")
