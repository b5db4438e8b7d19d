"""The lineage the gate holds marts back by, and the severity rule it relies on (fast: no database)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.publish.held_back import keep_previous
from pipelines.quality.staging_checks import load_staging_checks
from pipelines.transform.lineage import WRITEBACK, consumed_tables, lineage, tables_read
from pipelines.transform.runner import load_models

pytestmark = pytest.mark.fast


def test_lineage_is_read_from_the_sql() -> None:
    assert tables_read(
        "with marts as (select * from staging.users) select * from marts join marts.ai_models m using (id) "
        "where exists (select 1 from history.user_tiers)  -- staging.not_read"
    ) == {"staging.users", "marts.ai_models", "history.user_tiers"}
    graph = lineage()
    for model in load_models():  # the runner's order and the gate's lineage agree on mart dependencies
        reads = graph.reads[f"marts.{model.name}"]
        assert {name.removeprefix("marts.") for name in reads if name.startswith("marts.")} == model.depends_on
    assert graph.reads["marts.revenue_monthly"] == {"marts.revenue_share_statements"}
    assert graph.upstream("marts.revenue_monthly") == {
        "marts.revenue_share_statements",
        "staging.revenue_shares",
        "staging.projects",
    }
    assert graph.held_back({"staging.revenue_shares": ["c"], "marts.revenue_monthly": ["m"]}) == {
        "marts.revenue_share_statements": ["c"],
        "marts.revenue_monthly": ["c", "m"],
        "marts.revenue_share_restatements": ["c"],
        "marts.unit_economics_daily": ["c"],
        "marts.unit_economics_books": ["c"],
        "marts.unit_economics_authors": ["c"],
        "marts.user_milestones": ["c"],  # first sale
    }
    assert set(graph.held_back({"staging.project_collaborators": ["c"]})) == {WRITEBACK}


def test_error_checks_are_declared_only_where_a_published_figure_depends_on_them() -> None:
    consumed = consumed_tables()
    read = {"users", "ai_generations", "project_collaborators", "prompt_templates", "user_sessions"}
    assert {f"staging.{table}" for table in read} <= consumed
    assert "staging.user_pii" not in consumed
    for table in load_staging_checks():
        if f"staging.{table.table}" in consumed:
            continue
        declared = [check.severity for checks in table.columns.values() for check in checks]
        declared += [check.severity for check in table.checks] + [ref.severity for ref in table.references]
        assert set(declared) <= {"warn"}, table.table


def test_a_held_back_mart_with_nothing_to_keep_is_published_empty(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    con.execute("create schema marts; create schema meta")
    con.execute("create table marts.revenue_monthly as select 1 as n")
    con.execute("create table marts.user_signups as select 2 as n")
    con.execute(
        "create table meta.held_back (mart varchar, failed_checks varchar[], kept_run_id varchar, "
        "kept_snapshot_at timestamptz, kept_published_at timestamptz)"
    )
    keep_previous(con, {"revenue_monthly": ["staging.revenue_shares.x"]}, None)
    assert con.execute("select count(*) from marts.revenue_monthly").fetchall() == [(0,)]
    assert con.execute("select n from marts.user_signups").fetchall() == [(2,)]
    assert con.execute("select * from meta.held_back").fetchall() == [
        ("revenue_monthly", ["staging.revenue_shares.x"], None, None, None)
    ]
