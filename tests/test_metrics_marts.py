"""Issue 11 findings 1, 2, 3, 4, 10 and 12 and the tier in force, through the real ETL on tests/metrics_datasets.py.

Two runs: a full load, then (after Amy's upgrade, a revision of completed chapter 1 and chapter 2's completion) an
incremental run. Expected values are worked out by hand in the comments.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from pipelines.metrics import metrics
from tests.conftest import run_cli
from tests.etl_rows import publish_then_change, query_warehouse
from tests.metrics_datasets import AMY, BEN, CH1, CH2, PROJECT, change_after_first_load, insert_metrics_platform

D = Decimal
MON, TUE, WED = date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 6)


@pytest.fixture(scope="module")
def runs(create_database, schema_template, tmp_path_factory) -> dict[str, Any]:
    url = create_database(template=schema_template)
    insert_metrics_platform(url)
    env, path, first = publish_then_change(
        url,
        tmp_path_factory.mktemp("metrics_marts"),
        change_after_first_load,
        lambda path: {
            "completions": query_warehouse(path, "select * from marts.chapter_completions order by chapter_id"),
            "cost_by_tier": metrics(["ai_cost"], MON, TUE, by=["tier"], warehouse=path).values.tolist(),
        },
    )
    snapshot = query_warehouse(path, "select snapshot_at::date from meta.publication")[0][0]
    return {"env": env, "path": path, "first": first, "snapshot_date": snapshot}


def values(runs: dict[str, Any], names: list[str], start: date, end: date, **options: Any) -> list[list[Any]]:
    return metrics(names, start, end, warehouse=runs["path"], **options).values.tolist()


def test_latency_percentiles_are_exact_across_models(runs):
    # Monday's completed: A 1000, 1000, 1000; B 9000. p95: position 0.95 * 3 = 2.85 -> 1000 + 0.85 * 8000 = 7800
    # (the old page showed the completions-weighted mean of per-model p95s: (3 * 1000 + 9000) / 4 = 3000)
    assert values(runs, ["ai_latency_p50", "ai_latency_p95"], MON, MON) == [[None, 1000.0, 7800.0]]
    # both days: 1000 x3, 2000 x3, 9000 (the failed 500 ms left out): p95 position 5.7 -> 2000 + 0.7 * 7000 = 6900
    assert values(runs, ["ai_latency_p95"], MON, TUE, by=["model"]) == [
        [None, "model-a", 2000.0],  # 1000 x3, 2000 x2: position 3.8 -> 2000
        [None, "model-b", 8650.0],  # 2000, 9000: 2000 + 0.95 * 7000
    ]
    assert values(runs, ["ai_latency_p95"], MON, TUE) == [[None, 6900.0]]


def test_quality_is_the_mean_of_the_ratings(runs):
    # {5} on Monday, {1, 1, 1} on Tuesday: 8 / 4 = 2.0 (a mean of daily means: 3.0); per model A {5, 1, 1}, B {1}
    assert values(runs, ["ai_quality_avg"], MON, TUE) == [[None, 2.0]]
    assert values(runs, ["ai_quality_avg"], MON, TUE, by=["model"]) == [
        [None, "model-a", 7 / 3],
        [None, "model-b", 1.0],
    ]


def test_failure_rate_leaves_in_flight_generations_out(runs):
    # 1 failed / (7 completed + 1 failed); the pending generation 9 is in neither; 9 generations in all
    assert values(runs, ["ai_failure_rate", "ai_generations", "ai_tokens", "ai_cost"], MON, TUE) == [
        [None, 0.125, 9, 1800, D("0.180000")]
    ]


def test_ai_words_are_growth_and_cost_per_1k_words_is_cut_by_the_same_model(runs):
    # AI versions: 2 (+300, A), 4 (+250, A: 1500 over the collaborator's 1250), 5 (+400, B, chapter 2's first);
    # the old mart summed their chapter lengths: 1300 + 1500 + 400 = 3200
    assert values(runs, ["ai_words"], MON, TUE, by=["model"]) == [[None, "model-a", 550], [None, "model-b", 400]]
    assert query_warehouse(runs["path"], "select sum(words) from marts.ai_words_daily") == [(950,)]
    # all: 0.18 * 1000 / 950; model B: (0.09 + 0.02) * 1000 / 400 = 0.275, never B's cost over every model's words
    assert values(runs, ["ai_cost_per_1k_ai_words"], MON, TUE) == [[None, D("0.180000") * 1000 / 950]]
    assert values(runs, ["ai_cost_per_1k_ai_words"], MON, TUE, where={"model": ["model-b"]}) == [[None, D("0.275")]]
    # model A: (0.03 + 0.04 + 0 for the failed one) * 1000 / 550
    assert values(runs, ["ai_cost_per_1k_ai_words"], MON, TUE, by=["model"]) == [
        [None, "model-a", D("0.070000") * 1000 / 550],
        [None, "model-b", D("0.275")],
    ]


def test_activity_is_user_initiated_only(runs):
    # Monday: Amy's login (Cid's payment_failed and the anonymous view make nobody active); Tuesday UTC: Ben's
    # view. Cid, touched only by billing events, is never active.
    assert values(runs, ["dau", "wau", "mau"], MON, TUE, grain="day") == [[MON, 1, 1, 1], [TUE, 1, 2, 2]]
    assert query_warehouse(runs["path"], "select * from marts.user_activity_days order by day") == [
        (MON, AMY, "free", "(no plan)", 1, None),  # (no export: no first export of the day)
        (TUE, BEN, "premium", "(no plan)", 1, None),
    ]
    # engagement_daily: events still count every event (Monday 3: login, payment_failed, anonymous view)
    assert query_warehouse(runs["path"], "select day, dau, wau, mau, events from marts.engagement_daily") == [
        (MON, 1, 1, 1, 3),
        (TUE, 1, 2, 2, 2),
    ]
    # stickiness: DAU summed (1 + 1) / MAU summed (1 + 2)
    assert values(runs, ["stickiness"], MON, TUE) == [[None, 2 / 3]]
    # sign-ups: Amy Mar 1, Ben Mar 4 UTC ('Mar 3 23:30-05'), Cid Mar 4
    assert values(runs, ["new_users"], date(2024, 3, 1), TUE, grain="week") == [
        [date(2024, 2, 26), 1],
        [MON, 2],
    ]


def test_writing_metrics(runs):
    # net growth: 1000 + 300 - 50 + 250 + 400 = 1900 = the chapters' lengths (1500 + 400); Wednesday +100
    assert values(runs, ["words_written", "active_writers"], MON, WED, grain="day") == [
        [MON, 1650, 2],  # Amy and Ben (a collaborator's version counts him)
        [TUE, 250, 1],
        [WED, 100, 1],
    ]


def test_completed_chapters_keep_their_day(runs):
    # chapter 1 was completed at the first load: the day of its last version then (Tuesday), basis initial_load;
    # revised on Wednesday afterwards, it keeps Tuesday. Chapter 2 completed between the runs: the second run's day.
    expected_first = [(TUE, CH1, PROJECT, "fantasy", "initial_load")]
    assert runs["first"]["completions"] == expected_first
    assert query_warehouse(runs["path"], "select * from marts.chapter_completions order by day") == [
        *expected_first,
        (runs["snapshot_date"], CH2, PROJECT, "fantasy", "observed"),
    ]
    assert values(runs, ["chapters_completed"], MON, WED) == [[None, 1]]


def test_tier_is_the_tier_in_force_when_the_cost_was_incurred(runs):
    # Amy was free when she generated (0.03 + 0.04); her upgrade after the first load does not move that cost
    expected = [[None, "free", D("0.070000")], [None, "premium", D("0.110000")]]
    assert runs["first"]["cost_by_tier"] == expected
    assert values(runs, ["ai_cost"], MON, TUE, by=["tier"]) == expected


def test_cli_json(runs):
    result = run_cli(
        "metrics",
        "query",
        "ai_cost,ai_words,ai_cost_per_1k_ai_words,ai_latency_p95",
        "--start",
        "2024-03-04",
        "--end",
        "2024-03-05",
        "--grain",
        "day",
        "--where",
        "model=model-b",
        "--format",
        "json",
        env=runs["env"],
    )
    assert json.loads(result.stdout) == [
        {
            "period": "2024-03-04",
            "ai_cost": "0.090000",
            "ai_words": 400,
            "ai_cost_per_1k_ai_words": "0.225000",
            "ai_latency_p95": 9000.0,
        },
        # no AI words from model B on Tuesday: no cost per 1k words, not infinity
        {
            "period": "2024-03-05",
            "ai_cost": "0.020000",
            "ai_words": 0,
            "ai_cost_per_1k_ai_words": None,
            "ai_latency_p95": 2000.0,
        },
    ]
