"""The league per writing task on a real source: generations matched to their prompt template by a fingerprint the
extract computes in PostgreSQL, error classes computed there too, and no prompt or error text in the warehouse.

The hand-made platform of tests/etl_rows.py (its three generations' prompts match no template) plus the templates
and generations below, published once for the module; every figure is worked out from these rows.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from pipelines import warehouse
from pipelines.extract.tables import array_literal
from pipelines.queries import sql_file
from tests.etl_rows import C2, M1, P1, U1, insert_platform, query_warehouse
from tests.test_dashboards import _env, _no_errors, _open

D = Decimal
M2 = "30000000-0000-0000-0000-000000000002"
H = [f"d1000000-0000-0000-0000-00000000000{n}" for n in range(1, 9)]
MARCH = {"start": "2024-03-01", "end": "2024-03-31"}

# Fingerprints: md5 of the first 12 characters of the lower-cased, whitespace-collapsed text (before the template's
# first variable): "outline chap", "end chapter ", none for a template starting with a variable, and "rewrite this"
# twice (two templates share it: it identifies neither).
TEMPLATES_SQL = f"""
insert into ai_processing.prompt_templates (name, category, user_prompt_template) values
  ('Chapter outline', 'outline', 'Outline chapter {{chapter}} of my {{genre}} book in ten beats.'),
  ('Cliffhanger', 'drafting', 'End chapter {{chapter}} on a cliffhanger that raises the stakes.'),
  ('Title ideas', 'marketing', '{{genre}} titles, ten of them'),
  ('Show it', 'editing', 'Rewrite this paragraph to show the emotion.'),
  ('First person', 'editing', 'Rewrite this scene in the first person.');
insert into ai_processing.ai_models (id, provider_id, name, version)
  values ('{M2}', '31000000-0000-0000-0000-000000000001', 'gpt-4o-mini', '1');
insert into ai_processing.ai_generations
  (id, user_id, project_id, chapter_id, model_id, prompt, cost, processing_time_ms, quality_rating, confidence_score,
   status, error_message, created_at, completed_at) values
  ('{H[0]}', '{U1}', '{P1}', '{C2}', '{M1}', E'  Outline \\t CHAPTER 7 of my fantasy book in ten beats.', 0.010000,
   1000, 5, 0.9000, 'completed', null, '2024-03-03 10:00:00+00', '2024-03-03 10:01:00+00'),
  ('{H[1]}', '{U1}', '{P1}', '{C2}', '{M2}', 'Outline chapter 12 of my romance book in ten beats.', 0.002000,
   2000, 4, 0.8000, 'completed', null, '2024-03-03 10:05:00+00', '2024-03-03 10:06:00+00'),
  ('{H[2]}', '{U1}', null, null, '{M2}', 'Outline chapter 3 of my story book in ten beats.', null,
   null, null, null, 'failed', 'rate_limit_exceeded: provider returned 429', '2024-03-03 11:00:00+00', null),
  ('{H[3]}', '{U1}', null, null, '{M1}', 'End chapter 9 on a cliffhanger that raises the stakes.', null,
   null, null, null, 'failed', 'upstream_timeout: no response within 120 s', '2024-03-03 12:00:00+00', null),
  ('{H[4]}', '{U1}', null, null, '{M1}', 'End chapter 2 on a cliffhanger that raises the stakes.', 0.004000,
   3000, 3, 0.5000, 'completed', null, '2024-03-03 13:00:00+00', '2024-03-03 13:00:03+00'),
  ('{H[5]}', '{U1}', null, null, '{M1}', 'Rewrite this paragraph to show the emotion.', null,
   null, null, null, 'failed', 'rate_limit_exceeded: retry after 20 s', '2024-03-03 14:00:00+00', null),
  ('{H[6]}', '{U1}', null, null, '{M2}', 'Romance titles, ten of them', null,
   null, null, null, 'failed', 'Something went wrong', '2024-03-03 15:00:00+00', null),
  ('{H[7]}', '{U1}', null, null, '{M2}', 'End', 0.001000,
   500, 2, 0.1000, 'completed', null, '2024-03-03 16:00:00+00', '2024-03-03 16:00:01+00');
-- 300 AI words kept on chapter 2, the work of the latest generation completed there before it (H2's, at 10:06)
insert into content.content_versions (chapter_id, version_number, content, changed_by, change_type, word_count,
  created_at) values ('{C2}', 2, 'secret text', '{U1}', 'ai_generation', 300, '2024-03-03 10:07:00+00');
"""


def _insert(url: str) -> None:
    insert_platform(url)
    with psycopg.connect(url) as conn:
        conn.execute(TEMPLATES_SQL)


@pytest.fixture(scope="module")
def published(publish_own_dataset: Callable[[Callable[[str], None], str], dict[str, str]]) -> tuple[Path, str]:
    env = publish_own_dataset(_insert, "template-league")
    return Path(env["EBOOK_ANALYTICS_WAREHOUSE"]), env["EBOOK_ANALYTICS_SOURCE_URL"]


def _report(path: Path, name: str) -> list[dict[str, object]]:
    con = warehouse.connect(path, read_only=True)
    try:
        cursor = con.execute(sql_file(f"reports/ai_cost/{name}"), MARCH)
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def test_generations_match_their_template_by_the_fingerprint(published: tuple[Path, str]) -> None:
    path, _ = published
    # Matched: H1-H3 (outline, despite the case and whitespace), H4-H5 (drafting). Not: the platform's three
    # ("secret prompt"), H6 (two templates share its fingerprint), H7 (its template starts with a variable), H8.
    assert _report(path, "template_match") == [{"generations": 11, "matched": 5, "share_matched": 5 / 11}]
    categories = query_warehouse(
        path, "select category, count(*) from marts.ai_generation_facts group by category order by category"
    )
    assert categories == [("drafting", 2), ("outline", 3), ("unmatched", 6)]


def test_the_league_per_writing_task(published: tuple[Path, str]) -> None:
    path, _ = published
    league = {(row["category"], row["model"]): row for row in _report(path, "model_league")}
    # Outline: gpt-4o ranks 1, 1, 1, 2 (mean 1.25), gpt-4o-mini 2, 2, 2, 1 (1.75); the best rating is 5, which only
    # gpt-4o reaches within 0.2 stars. H2 came 5 minutes after H1 on chapter 2: a regeneration.
    assert league["outline", "gpt-4o"] == {
        "category": "outline",
        "composite_rank": 1,
        "provider": "openai",
        "model": "gpt-4o",
        "generations": 1,
        "failure_rate": 0.0,
        "latency_p95_ms": 1000.0,
        "mean_rating": 5.0,
        "ratings": 1,
        "mean_confidence": pytest.approx(0.9),
        "cost_per_generation_usd": D("0.010000"),
        "cost_per_1k_ai_words_usd": None,
        "regeneration_rate": 0.0,
        "composite_score": 1.25,
        "cheapest_near_best": True,
    }
    assert league["outline", "gpt-4o-mini"] == {
        "category": "outline",
        "composite_rank": 2,
        "provider": "openai",
        "model": "gpt-4o-mini",
        "generations": 2,
        "failure_rate": 0.5,  # H3 failed
        "latency_p95_ms": 2000.0,
        "mean_rating": 4.0,  # H3 unrated
        "ratings": 1,
        "mean_confidence": pytest.approx(0.8),
        "cost_per_generation_usd": D("0.001000"),  # 0.002 / 2
        "cost_per_1k_ai_words_usd": D("0.006667"),  # 0.002 x 1,000 / 300
        "regeneration_rate": 1.0,  # 1 of 1 on a chapter
        "composite_score": 1.75,
        "cheapest_near_best": False,
    }
    assert league["drafting", "gpt-4o"] == {
        "category": "drafting",
        "composite_rank": 1,
        "provider": "openai",
        "model": "gpt-4o",
        "generations": 2,
        "failure_rate": 0.5,
        "latency_p95_ms": 3000.0,
        "mean_rating": 3.0,
        "ratings": 1,
        "mean_confidence": pytest.approx(0.5),
        "cost_per_generation_usd": D("0.002000"),
        "cost_per_1k_ai_words_usd": None,
        "regeneration_rate": None,  # none on a chapter
        "composite_score": 1.0,
        "cheapest_near_best": True,
    }
    # Unmatched: gpt-4o has the platform's G1 (completed, 0.012345, 90 s), G2 (pending), G3 (failed) and H6 (failed);
    # gpt-4o-mini H7 (failed) and H8. gpt-4o-mini ranks first on all four; only it is rated.
    unmatched = {model: league["unmatched", model] for model in ("gpt-4o", "gpt-4o-mini")}
    assert {model: (row["generations"], row["failure_rate"]) for model, row in unmatched.items()} == {
        "gpt-4o": (4, pytest.approx(2 / 3)),  # 2 failed of 3 finished
        "gpt-4o-mini": (2, 0.5),
    }
    assert unmatched["gpt-4o"]["cost_per_generation_usd"] == D("0.003086")  # 0.012345 / 4, half up
    assert unmatched["gpt-4o"]["latency_p95_ms"] == 90000.0
    assert (unmatched["gpt-4o"]["mean_rating"], unmatched["gpt-4o"]["ratings"]) == (None, 0)
    assert [
        (row["composite_rank"], row["composite_score"], row["cheapest_near_best"]) for row in unmatched.values()
    ] == [
        (2, 2.0, False),
        (1, 1.0, True),
    ]
    # 'all' holds each model's every generation: 1 + 2 + 4 = 7 for gpt-4o, 2 + 2 = 4 for gpt-4o-mini.
    assert (league["all", "gpt-4o"]["generations"], league["all", "gpt-4o-mini"]["generations"]) == (7, 4)
    assert sorted({category for category, _ in league}) == ["all", "drafting", "outline", "unmatched"]


def test_error_classes_by_model(published: tuple[Path, str]) -> None:
    path, _ = published
    # G3 failed without a message: no class. "Something went wrong" has no colon: 'other', its text not staged.
    assert _report(path, "error_classes") == [
        {
            "provider": "openai",
            "model": "gpt-4o",
            "error_class": "rate_limit_exceeded",
            "generations": 1,
            "share_of_model_errors": 0.5,
        },
        {
            "provider": "openai",
            "model": "gpt-4o",
            "error_class": "upstream_timeout",
            "generations": 1,
            "share_of_model_errors": 0.5,
        },
        {
            "provider": "openai",
            "model": "gpt-4o-mini",
            "error_class": "other",
            "generations": 1,
            "share_of_model_errors": 0.5,
        },
        {
            "provider": "openai",
            "model": "gpt-4o-mini",
            "error_class": "rate_limit_exceeded",
            "generations": 1,
            "share_of_model_errors": 0.5,
        },
    ]


def test_no_prompt_template_or_error_text_reaches_the_warehouse(published: tuple[Path, str]) -> None:
    path, _ = published
    staged = query_warehouse(
        path,
        "select table_name, column_name from information_schema.columns where table_schema = 'staging'"
        " and table_name in ('ai_generations', 'prompt_templates') order by all",
    )
    names = {column for _, column in staged}
    assert {"prompt", "system_prompt", "response", "error_message", "user_prompt_template"}.isdisjoint(names)
    assert ("ai_generations", "prompt_fingerprint") in staged and ("prompt_templates", "prompt_fingerprint") in staged
    # Nor any of their text in any staged or mart value.
    texts = query_warehouse(
        path,
        "select count(*) from staging.ai_generations as g where g::varchar ilike '%beats%'"
        " or g::varchar ilike '%went wrong%' or g::varchar ilike '%provider returned%'",
    )
    assert texts == [(0,)]


def test_the_ai_cost_page_shows_a_task_league_the_share_matched_and_error_classes(
    published: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = published
    for name, value in _env(path.parent.parent, no_auth=True).items():
        monkeypatch.setenv(name, value)
    at = _open("ai_cost", {"dates": ["2024-03-01", "2024-03-31"]})
    _no_errors(at)
    assert "45.5% of the period's 11 generations were matched" in " ".join(caption.value for caption in at.caption)
    task = next(box for box in at.selectbox if box.label == "Writing task")
    assert task.options == ["all", "drafting", "outline", "unmatched"] and task.value == "all"
    at = task.set_value("outline").run()
    _no_errors(at)
    league = next(frame.value for frame in at.dataframe if "composite_rank" in frame.value.columns)
    assert league[["composite_rank", "model", "generations", "cheapest_near_best"]].to_dict("records") == [
        {"composite_rank": 1, "model": "gpt-4o", "generations": 1, "cheapest_near_best": True},
        {"composite_rank": 2, "model": "gpt-4o-mini", "generations": 2, "cheapest_near_best": False},
    ]
    errors = next(frame.value for frame in at.dataframe if "error_class" in frame.value.columns)
    assert errors[["model", "error_class", "generations"]].values.tolist() == [
        ["gpt-4o", "rate_limit_exceeded", 1],
        ["gpt-4o", "upstream_timeout", 1],
        ["gpt-4o-mini", "other", 1],
        ["gpt-4o-mini", "rate_limit_exceeded", 1],
    ]


def test_keys_reach_postgresql_as_they_are(published: tuple[Path, str]) -> None:
    _, url = published
    keys = ["plain", 'with "quotes"', "back\\slash", "comma, {braces}", ""]
    with psycopg.connect(url) as conn:
        assert conn.execute("select %s::text[]", (array_literal(keys),)).fetchone() == (keys,)
