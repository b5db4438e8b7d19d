"""The sessions section of the Engagement page: sessions, sessions per user and session length (marts.session_facts
through the metrics layer), drawn by the page after its own sections."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st

from dashboards import charts, filters, plots
from dashboards.views import series, tile

METRICS = ["sessions", "sessions_per_user", "session_length_median"]


def show(period: filters.DateRange, previous: filters.DateRange | None, where: Mapping[str, Sequence[str]]) -> None:
    st.subheader("Sessions")
    for column, name in zip(st.columns(len(METRICS)), METRICS, strict=True):
        tile(column, name, period, previous, where=where)
    daily = series(METRICS, period, where=where)
    left, right = st.columns(2)
    with left:
        charts.chart(
            "Sessions started per day",
            daily,
            lambda f: plots.bar(f, x="day", y="sessions"),
            "sessions",
        )
    with right:
        charts.chart(
            "Median session length (sign-in to last event) per day",
            daily,
            lambda f: plots.line(f, x="day", y="session_length_median"),
            "session_length",
        )
