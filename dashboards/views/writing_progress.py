"""Writing progress: words written over time, chapters completed, projects by status, the funnel by genre, the
share of AI-generated words and the most active projects.

Words written, active writers, chapters completed and words added by AI come from the metrics layer; the funnel,
projects by status, AI share by genre and the most active projects are reports.
"""

from __future__ import annotations

import streamlit as st

from dashboards import charts, data, filters, plots, views
from dashboards.views import open_page, series, tile

TILES = ["words_written", "active_writers", "chapters_completed", "ai_words"]

period = open_page("writing_progress")
genres = filters.choose("Genre", "genre", data.report("writing_progress/genres")["genre"].tolist())
chosen = {"genres": genres, **period.params()}
where = {"genre": genres}
previous = period.previous()

shown = [name for name in TILES if data.may_read_metric(name)]  # words added by AI: not for product
for column, name in zip(st.columns(4), shown, strict=False):
    tile(column, name, period, previous, where=where)

ai_share = data.report("writing_progress/ai_share", **chosen)
left, right = st.columns(2)
with left:
    charts.chart(
        "Words written per day",
        series("words_written", period, where=where),
        lambda f: plots.bar(f, x="day", y="words_written"),
        "words_by_day",
    )
with right:
    charts.chart(
        "Chapters completed per day (the day the completion was first seen)",
        series("chapters_completed", period, where=where),
        lambda f: plots.bar(f, x="day", y="chapters_completed"),
        "chapters_completed",
    )

funnel = data.report("writing_progress/funnel", genres=genres)
with left:
    charts.chart(
        "Projects by status (all projects, now)",
        data.report("writing_progress/projects_by_status", genres=genres),
        lambda f: plots.bar(f, x="projects", y="status", orientation="h"),
        "projects_by_status",
    )
with right:
    charts.chart(
        "Funnel by genre",
        funnel,
        lambda f: plots.bar(
            f,
            x="genre",
            y=["created", "with_chapters", "completed", "published"],
            barmode="group",
        ),
        "funnel_by_genre",
    )
with left:
    charts.chart(
        "AI-generated and written words (chapters created in the period)",
        ai_share,
        lambda f: plots.bar(f, x="genre", y=["ai_words", "human_words"]),
        "ai_share",
    )
with right:
    charts.table(
        "Funnel: median days between steps",
        funnel[
            [
                "genre",
                "median_days_to_first_chapter",
                "median_days_first_chapter_to_completed",
                "median_days_completed_to_published",
            ]
        ]
        if not funnel.empty
        else funnel,
        "funnel_days",
        column_config={
            "median_days_to_first_chapter": st.column_config.NumberColumn("to first chapter", format="%.1f"),
            "median_days_first_chapter_to_completed": st.column_config.NumberColumn("to completed", format="%.1f"),
            "median_days_completed_to_published": st.column_config.NumberColumn("to published", format="%.1f"),
        },
    )

charts.report_table(
    "Most active projects",
    "writing_progress/most_active",
    "most_active_projects",
    chosen,
    shape=views.with_people("owner_id", "owner", position=1),
)
