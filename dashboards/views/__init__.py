"""The page scripts `app.py` registers with `st.navigation` (not `pages/`, so Streamlit does not auto-discover them).

Each page opens with `open_page(key)`: a server-side guard (a page reached without its role's permission renders
nothing) and the page's date range from the sidebar.
"""

from __future__ import annotations

import streamlit as st

from dashboards import data, filters
from dashboards.auth import ensure_page_allowed


def guard(key: str) -> None:
    """Stop here, showing a refusal, when the signed-in role may not see page `key`."""
    ensure_page_allowed(data.current_user(), key)


def open_page(key: str, default_days: int = filters.DEFAULT_DAYS) -> filters.DateRange:
    """The guard, then the date range chosen in the sidebar (bounded by the days the warehouse has data for)."""
    guard(key)
    span = data.data_span()
    if span is None:
        st.info("The published warehouse holds no activity yet. Seed or advance the source, then run the ETL.")
        st.stop()
    return filters.date_range(*span, default_days=default_days)


def period_params(period: filters.DateRange) -> dict[str, object]:
    """The bound parameters of KPI queries: this period and the previous one of the same length."""
    previous = period.previous()
    return {"start": period.start, "end": period.end, "prev_start": previous.start, "prev_end": previous.end}
