"""The model league table (AI cost page) and the regeneration flag of marts.ai_generation_facts, on hand-made
tables in a real DuckDB file; every figure worked out by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines import warehouse
from pipelines.metrics.query import query_metrics
from pipelines.queries import sql_file

pytestmark = pytest.mark.fast

D = Decimal
# (day, id, provider, model, status, cost, latency ms, rating, confidence, chapter, is_regeneration, writing task)
FACTS = [
    ("2024-03-01", 1, "p1", "A", "completed", "0.010000", 1000, 5, "0.9000", "c1", False, "drafting"),
    ("2024-03-01", 2, "p1", "A", "completed", "0.010000", 2000, 4, "0.8000", "c1", True, "drafting"),
    ("2024-03-02", 3, "p1", "A", "failed", "0.000000", None, None, None, "c2", False, "drafting"),
    ("2024-03-02", 4, "p1", "A", "completed", "0.010000", 3000, None, "0.7000", None, False, "drafting"),
    ("2024-02-28", 5, "p1", "A", "failed", "9.000000", 1, 1, "0.1000", "c9", True, "drafting"),  # before the period
    ("2024-03-03", 6, "p2", "B", "completed", "0.001000", 500, 4, "0.5000", "c3", False, "drafting"),
    ("2024-03-04", 7, "p2", "B", "completed", "0.002000", 700, None, None, None, False, "drafting"),
    ("2024-03-05", 8, "p2", "C", "completed", "0.003000", 900, 5, None, "c4", False, "editing"),
    ("2024-03-05", 9, "p2", "C", "completed", "0.003000", 1100, 4, None, "c4", True, "editing"),
    ("2024-03-06", 10, "p2", "C", "pending", "0.000000", None, None, None, None, False, "editing"),
]
# (day, provider, model, is_ai, ai_words, attributed generation)
VERSIONS = [
    ("2024-03-01", "p1", "A", True, 300, 1),
    ("2024-03-02", "p1", "A", True, 200, 2),
    ("2024-03-02", "p1", "A", False, 0, None),
    ("2024-02-01", "p1", "A", True, 9000, 5),  # before the period
    ("2024-03-05", "p2", "C", True, 4000, 8),
]


def _league_warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = warehouse.connect(tmp_path / "w.duckdb")
    con.execute(
        "create schema marts; create table marts.ai_generation_facts (day date, generation_id integer,"
        " provider varchar, model varchar, status varchar, cost_usd decimal(18, 6), processing_time_ms integer,"
        " quality_rating integer, confidence_score decimal(5, 4), chapter_id varchar, is_regeneration boolean,"
        " category varchar)"
    )
    con.executemany("insert into marts.ai_generation_facts values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", FACTS)
    con.execute(
        "create table marts.version_facts (day date, provider varchar, model varchar, is_ai boolean, ai_words bigint,"
        " generation_id integer)"
    )
    con.executemany("insert into marts.version_facts values (?, ?, ?, ?, ?, ?)", VERSIONS)
    return con


def test_league_table(tmp_path: Path) -> None:
    con = _league_warehouse(tmp_path)
    rows = con.execute(
        sql_file("reports/ai_cost/model_league"), {"start": "2024-03-01", "end": "2024-03-31"}
    ).fetchall()
    columns = [column[0] for column in con.description]
    league = [dict(zip(columns, row, strict=True)) for row in rows]
    # Ranks: failure B 0, C 0 (1, 1), A 0.25 (3); p95 B 690, C 1,090, A 2,900; rating A 4.5, C 4.5 (1, 1), B 4.0;
    # cost per generation B 0.0015, C 0.002, A 0.0075. Composite: B (1+1+3+1)/4 = 1.5, C (1+2+1+2)/4 = 1.5,
    # A (3+3+1+3)/4 = 2.5. Best rating 4.5: A and C lie within 0.2 stars of it, C is the cheaper.
    every_task = [
        {
            "category": "all",
            "composite_rank": 1,
            "provider": "p2",
            "model": "B",
            "generations": 2,
            "failure_rate": 0.0,
            "latency_p95_ms": 690.0,  # 500 + 0.95 x 200
            "mean_rating": 4.0,
            "ratings": 1,
            "mean_confidence": 0.5,
            "cost_per_generation_usd": D("0.001500"),
            "cost_per_1k_ai_words_usd": None,  # no AI words attributed to B
            "regeneration_rate": 0.0,  # 0 of 1 generation on a chapter
            "composite_score": 1.5,
            "cheapest_near_best": False,
        },
        {
            "category": "all",
            "composite_rank": 1,
            "provider": "p2",
            "model": "C",
            "generations": 3,
            "failure_rate": 0.0,  # the pending one has not finished
            "latency_p95_ms": 1090.0,
            "mean_rating": 4.5,
            "ratings": 2,
            "mean_confidence": None,
            "cost_per_generation_usd": D("0.002000"),  # 0.006 / 3
            "cost_per_1k_ai_words_usd": D("0.001500"),  # 0.006 x 1,000 / 4,000
            "regeneration_rate": 0.5,
            "composite_score": 1.5,
            "cheapest_near_best": True,
        },
        {
            "category": "all",
            "composite_rank": 3,
            "provider": "p1",
            "model": "A",
            "generations": 4,
            "failure_rate": 0.25,
            "latency_p95_ms": 2900.0,  # 2,000 + 0.9 x 1,000 over 1,000, 2,000, 3,000
            "mean_rating": 4.5,
            "ratings": 2,
            "mean_confidence": pytest.approx(0.8),
            "cost_per_generation_usd": D("0.007500"),
            "cost_per_1k_ai_words_usd": D("0.060000"),  # 0.03 x 1,000 / 500
            "regeneration_rate": pytest.approx(1 / 3),  # 1 of 3 on chapters
            "composite_score": 2.5,
            "cheapest_near_best": False,
        },
    ]
    by_model = {row["model"]: row for row in every_task}
    # Within a task every model has the same generations as in 'all' (A and B draft, C edits), so the same figures;
    # only the ranks are among the task's models. Drafting: B ranks 1, 1, 2, 1 (mean 1.25), A 2, 2, 1, 2 (1.75); the
    # best rating 4.5 is A's and B's 4.0 lies 0.5 below it, so A is the cheapest within 0.2 stars. Editing: C alone.
    drafting = [
        {**by_model["B"], "category": "drafting", "composite_rank": 1, "composite_score": 1.25},
        {
            **by_model["A"],
            "category": "drafting",
            "composite_rank": 2,
            "composite_score": 1.75,
            "cheapest_near_best": True,
        },
    ]
    editing = [{**by_model["C"], "category": "editing", "composite_rank": 1, "composite_score": 1.0}]
    assert league == every_task + drafting + editing


def test_a_generation_on_the_same_chapter_within_10_minutes_is_a_regeneration(tmp_path: Path) -> None:
    con = warehouse.connect(tmp_path / "w.duckdb")
    con.execute(
        "create schema staging; create schema marts; create schema history;"
        " create table staging.ai_generations (id varchar, user_id varchar, project_id varchar, chapter_id varchar,"
        " model_id varchar, status varchar, tokens_used integer, cost decimal(10, 6), processing_time_ms integer,"
        " quality_rating integer, confidence_score decimal(5, 4), created_at timestamptz, prompt_fingerprint varchar,"
        " error_class varchar);"
        " create table staging.prompt_templates (id varchar, category varchar, prompt_fingerprint varchar);"
        " create table marts.ai_models (model_id varchar, provider varchar, model varchar);"
        " create table history.user_tiers (user_id varchar, tier varchar, effective_from timestamptz,"
        " effective_to timestamptz)"
    )
    con.executemany(
        "insert into staging.ai_generations"
        " values (?, 'u', 'p', ?, 'm', 'completed', 1, 0.1, 1, null, null, ?, null, null)",
        [
            ("g1", "X", "2024-03-01 10:00:00+00"),
            ("g2", "X", "2024-03-01 05:10:00-05"),  # 10:10 UTC: exactly 10 minutes after g1
            ("g3", "X", "2024-03-01 10:20:01+00"),  # 10 minutes 1 second after g2
            ("g4", "Y", "2024-03-01 10:05:00+00"),  # another chapter
            ("g5", None, "2024-03-01 10:06:00+00"),  # no chapter
            ("g6", "X", "2024-03-01 10:20:01+00"),  # the same instant as g3
            ("g7", "Z", "2024-03-01 23:55:00+00"),
            ("g8", "Z", "2024-03-02 00:04:00+00"),  # 9 minutes after g7, on the next UTC day
        ],
    )
    flags = f"select generation_id, is_regeneration from ({sql_file('marts/ai_generation_facts')}) order by 1"
    every_day = {"window_first": None, "window_last": None}
    assert con.execute(flags, every_day).fetchall() == [
        ("g1", False),
        ("g2", True),
        ("g3", False),
        ("g4", False),
        ("g5", False),
        ("g6", True),
        ("g7", False),
        ("g8", True),
    ]
    # A refresh of March 2 builds only its generation, whose previous one on the chapter is on March 1.
    march_2 = {"window_first": date(2024, 3, 2), "window_last": date(2024, 3, 2)}
    assert con.execute(flags, march_2).fetchall() == [("g8", True)]


def test_regeneration_and_confidence_metrics_match_the_league(tmp_path: Path) -> None:
    con = _league_warehouse(tmp_path)
    frame = query_metrics(
        con,
        ["ai_regeneration_rate", "ai_regenerations", "ai_chapter_generations", "ai_confidence_avg"],
        start=date(2024, 3, 1),
        end=date(2024, 3, 31),
        by=["model"],
    )
    assert frame.drop(columns="period").to_dict("records") == [
        {
            "model": "A",
            "ai_regeneration_rate": pytest.approx(1 / 3),
            "ai_regenerations": 1,
            "ai_chapter_generations": 3,
            "ai_confidence_avg": pytest.approx(0.8),
        },
        {
            "model": "B",
            "ai_regeneration_rate": 0.0,
            "ai_regenerations": 0,
            "ai_chapter_generations": 1,
            "ai_confidence_avg": 0.5,
        },
        {
            "model": "C",
            "ai_regeneration_rate": 0.5,
            "ai_regenerations": 1,
            "ai_chapter_generations": 2,
            "ai_confidence_avg": pytest.approx(float("nan"), nan_ok=True),  # none reported: undefined
        },
    ]
