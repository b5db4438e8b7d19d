"""The lineage the gate holds marts back by, and the severity rule it relies on (fast: no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from pipelines.publish.held_back import keep_previous
from pipelines.quality import reuse
from pipelines.quality.result import CheckResult
from pipelines.quality.staging_checks import load_staging_checks
from pipelines.quality.suites import staging_suite
from pipelines.transform.lineage import WRITEBACK, consumed_tables, every_table_read, lineage, tables_read
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


def test_a_check_reads_its_table_and_every_table_its_sql_names() -> None:
    assert every_table_read(
        "with recent as (select * from staging.users) select * from recent join marts.ai_models using (id)"
    ) == {("staging", "users"), ("marts", "ai_models")}
    # What these read is not known for sure, so their checks always run.
    assert every_table_read("select * from users") is None  # no schema and no CTE of that name
    assert every_table_read("select * from meta.publication") is None
    assert every_table_read("select from where") is None
    assert every_table_read("select * from staging.users where created_at > current_date - 7") is None  # the clock
    assert every_table_read("select * from staging.users where created_at > now() - interval 7 day") is None
    [generations] = [table for table in load_staging_checks() if table.table == "ai_generations"]
    suite = staging_suite(generations)
    checks = {check.name: check for check in suite.checks}
    assert reuse.tables_read(suite, checks["staging.ai_generations.model_id.orphans"]) == {
        ("staging", "ai_generations"),
        ("staging", "ai_models"),
    }
    assert reuse.tables_read(suite, checks["staging.ai_generations.id.not_null"]) == {("staging", "ai_generations")}


def test_a_result_is_kept_only_for_the_same_inputs_and_while_young_enough() -> None:
    def result(name: str, inputs: str | None, hour: int) -> CheckResult:
        checked_at = datetime(2026, 3, 2, hour, tzinfo=UTC)
        return CheckResult(name, "error", False, 3, "staging.t", ("k1",), inputs, checked_at)

    earlier = {
        "same": result("same", "a", 12),
        "changed": result("changed", "b", 12),
        "old": result("old", "c", 9),
        "at_the_limit": result("at_the_limit", "d", 10),
        "never_kept": result("never_kept", "e", 12),
        "gone": result("gone", "f", 12),
    }
    digests = {"same": "a", "changed": "b2", "old": "c", "at_the_limit": "d", "never_kept": None, "new": "g"}
    kept = reuse.kept(earlier, digests, oldest=datetime(2026, 3, 2, 10, tzinfo=UTC))
    assert sorted(kept) == ["at_the_limit", "same"]
    # Kept as it was (a failure stays a failure, with its count, samples and time), and said to be kept.
    assert kept["same"] == CheckResult(
        "same", "error", False, 3, "staging.t", ("k1",), "a", datetime(2026, 3, 2, 12, tzinfo=UTC), reused=True
    )


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
