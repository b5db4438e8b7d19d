"""Writing progress: words written over time, chapters completed, projects by status, the funnel by genre, the
share of AI-generated words and the most active projects."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboards import charts, data, filters
from dashboards.views import open_page, period_params

period = open_page("writing_progress")
genres = filters.choose("Genre", "genre", data.report("writing_progress/genres")["genre"].tolist())
chosen = {"genres": genres, **period.params()}

kpis = data.report("writing_progress/kpis", genres=genres, **period_params(period)).iloc[0]
ai_share = data.report("writing_progress/ai_share", **chosen)
chapters = data.report("writing_progress/chapters_completed", **chosen)
ai_words, human_words = ai_share["ai_words"].sum(), ai_share["human_words"].sum()

columns = st.columns(4)
charts.kpi(
    columns[0],
    "Words written",
    kpis.words_written,
    kpis.words_written_previous,
    charts.count,
    "Net growth of the projects' word counts over the period.",
)
charts.kpi(
    columns[1],
    "Active writers",
    kpis.active_writers,
    kpis.active_writers_previous,
    charts.count,
    "Owners of projects that got at least one new content version.",
)
columns[2].metric(
    "Chapters completed",
    charts.count(chapters["chapters_completed"].sum()),
    border=True,
    help="Chapters now completed whose last update falls in the period.",
)
columns[3].metric(
    "AI-generated words",
    charts.percent(ai_words / (ai_words + human_words) if ai_words + human_words else None),
    border=True,
    help="Share of the words of chapters created in the period that the AI generated.",
)

words = data.report("writing_progress/words_by_day", **chosen)
left, right = st.columns(2)
with left:
    charts.chart(
        "Words written per day",
        words,
        lambda f: px.bar(f, x="day", y="words_written", labels={"words_written": "words"}),
        "words_by_day",
    )
with right:
    charts.chart(
        "Chapters completed per day",
        chapters,
        lambda f: px.bar(f, x="day", y="chapters_completed", labels={"chapters_completed": "chapters"}),
        "chapters_completed",
    )

funnel = data.report("writing_progress/funnel", genres=genres)
with left:
    charts.chart(
        "Projects by status (all projects, now)",
        data.report("writing_progress/projects_by_status", genres=genres),
        lambda f: px.bar(f, x="projects", y="status", orientation="h"),
        "projects_by_status",
    )
with right:
    charts.chart(
        "Funnel by genre",
        funnel,
        lambda f: px.bar(
            f,
            x="genre",
            y=["created", "with_chapters", "completed", "published"],
            barmode="group",
            labels={"value": "projects", "variable": ""},
        ),
        "funnel_by_genre",
    )
with left:
    charts.chart(
        "AI-generated and written words (chapters created in the period)",
        ai_share,
        lambda f: px.bar(f, x="genre", y=["ai_words", "human_words"], labels={"value": "words", "variable": ""}),
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

active = data.report("writing_progress/most_active", **chosen)
if not active.empty:
    active.insert(1, "owner", data.people(active.pop("owner_id")))
charts.table("Most active projects", active, "most_active_projects")
