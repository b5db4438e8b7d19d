"""The Engagement page's lifecycle and depth in writing days: writers of each ISO week split into new, returning,
resurrecting and dormant (below zero, as in PostHog's lifecycle), the power-writer curve (writing days per writer
over the 28 days ending on the range's last day) and its weekly trend, and events by type.

A writing day is a UTC day with a saved content version or a chapter_edit event (marts.user_writing_days).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st

from dashboards import charts, data, plots
from dashboards.filters import DateRange, report_params

LIFECYCLE = ["new_writers", "returning_writers", "resurrecting_writers", "dormant_writers"]


def show(period: DateRange, where: Mapping[str, Sequence[str]]) -> None:
    """Draw the section for `period`, for the writers in the page's plans and tiers (`where`)."""
    params = {**period.params(), **report_params(where)}
    lifecycle = data.report("engagement/writer_lifecycle", **params)
    charts.chart(
        "Writer lifecycle per week (writing = a saved version or a chapter edit; dormant writers below zero)",
        lifecycle,
        lambda f: plots.bar(f, x="week", y=LIFECYCLE, barmode="relative"),
        "writer_lifecycle",
    )
    partial = lifecycle.loc[~lifecycle["complete"].astype(bool), "week"]
    if len(partial):  # the snapshot's own week: its writers so far, its dormant writers not final
        st.caption(f"**Partial**: the week of {min(partial):%b %d, %Y} had not ended when these data were taken.")
    left, right = st.columns(2)
    with left:
        charts.chart(
            f"Writing days per writer in the 28 days to {period.end:%b %d, %Y} (the power-writer curve)",
            data.report("engagement/writing_days_histogram", end=period.end, **report_params(where)),
            lambda f: plots.bar(f, x="writing_days", y="writers"),
            "writing_days_histogram",
        )
    with right:
        charts.chart(
            "Share of writers writing on 7 or more of the 28 days to each week's end",
            data.report("engagement/power_writers_weekly", **params),
            lambda f: plots.line(f, x="week", y="power_writer_share").update_yaxes(tickformat=".0%"),
            "power_writers",
        )
