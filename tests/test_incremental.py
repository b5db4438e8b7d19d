"""Incremental runs by the xmin method: in-place updates without updated_at, inserts and deletes all land, and
equal a --full run. (Change capture from a replication slot, where the source allows it: tests/test_capture.py.)"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.publish.lake import WORK_FILE
from tests.conftest import full_run_differences, last_run, run_cli
from tests.etl_rows import E2, G2, G3, G4, M1, P2, RS1, U2, U3, execute, insert_platform, query_warehouse

CHANGES = f"""
insert into ai_processing.ai_generations (id, user_id, project_id, model_id, prompt, processing_time_ms, status,
                                          created_at)
  values ('{G4}', '{U2}', '{P2}', '{M1}', 'secret prompt', 30000, 'processing', '2024-03-03 01:00:00+00');
-- in place, no updated_at column: only xmin tells
update ai_processing.ai_generations
  set status = 'completed', completed_at = '2024-03-02 10:05:00+00', tokens_used = 800, cost = 0.004000
  where id = '{G2}';
update billing.revenue_shares set payout_status = 'paid', payout_date = '2024-03-05 00:00:00+00' where id = '{RS1}';
delete from ai_processing.ai_generations where id = '{G3}';
delete from analytics.user_events where id = '{E2}';
-- U1's 2024-03-02 usage moved to 03-04 in place: both days refresh
update billing.usage_records set usage_date = '2024-03-04';
"""


@pytest.fixture
def cli_env(cli_env: dict[str, str]) -> dict[str, str]:
    """The xmin method, as where the source allows no change capture (the test server does)."""
    return {**cli_env, "EBOOK_ANALYTICS_CAPTURE": "xmin"}


def _xmin(**counts: int) -> dict[str, int | str]:
    return {**counts, "capture_method": "xmin"}


def test_incremental_run_reflects_changes_and_equals_full(
    source_url: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    insert_platform(source_url)
    run_cli("etl", "run", env=cli_env)
    live = Path(cli_env["EBOOK_ANALYTICS_WAREHOUSE"])
    assert last_run(cli_env)["mode"] == "full"  # nothing published yet: the first run is a full one
    # A table without extract state (as after an xid epoch change) is re-read whole, yet counts no change.
    with duckdb.connect(str(live.parent / WORK_FILE)) as con:  # the ETL's working file, which the next run builds on
        con.execute("delete from meta.extract_state where table_name = 'users'")

    execute(source_url, CHANGES)
    result = run_cli("etl", "run", env=cli_env)

    run = last_run(cli_env)
    assert run["mode"] == "incremental" and run["status"] == "published"
    tables = run["tables"]
    assert tables["ai_generations"] == _xmin(rows_read=2, rows_changed=2, rows_deleted=1, rows=3)
    assert tables["revenue_shares"] == _xmin(rows_read=1, rows_changed=1, rows_deleted=0, rows=1)
    assert tables["user_events"] == _xmin(rows_read=0, rows_changed=0, rows_deleted=1, rows=1)
    # no extract state: re-read whole
    assert tables["users"] == {
        "rows_read": 3,
        "rows_changed": 0,
        "rows_deleted": 0,
        "rows": 3,
        "capture_method": "full",
    }
    assert tables["projects"] == _xmin(rows_read=0, rows_changed=0, rows_deleted=0, rows=2)
    assert tables["ai_models"] == {  # strategy full
        "rows_read": 1,
        "rows_changed": 0,
        "rows_deleted": 0,
        "rows": 1,
        "capture_method": "full",
    }
    assert tables["usage_records"] == _xmin(rows_read=1, rows_changed=1, rows_deleted=0, rows=1)
    assert sum(t["rows_changed"] for t in tables.values()) == 4
    assert "4 changed, 2 deleted" in result.stdout
    # G2 (in place) and G3 (deleted) on 03-02, G4 new on 03-03: none on a chapter
    marts = {mart: {k: v for k, v in refresh.items() if k != "seconds"} for mart, refresh in run["marts"].items()}
    for mart in ("ai_generation_facts", "ai_cost_daily"):
        assert marts[mart] == {"mode": "day", "periods": ["2024-03-02", "2024-03-03"]}, mart
    assert marts["usage_daily"] == {"mode": "day", "periods": ["2024-03-02", "2024-03-04"]}
    assert query_warehouse(live, "select day::varchar, quantity from marts.usage_daily") == [("2024-03-04", 1200)]

    assert query_warehouse(
        live, "select id::varchar, status, tokens_used, cost::varchar from staging.ai_generations order by id"
    ) == [
        ("d0000000-0000-0000-0000-000000000001", "completed", 1200, "0.012345"),
        (G2, "completed", 800, "0.004000"),
        (G4, "processing", None, None),
    ]
    assert query_warehouse(live, "select payout_status, payout_date::varchar from staging.revenue_shares") == [
        ("paid", "2024-03-05 00:00:00+00")
    ]
    for table in ("ai_generations", "revenue_shares", "user_events", "users"):
        assert query_warehouse(live, f"select count(*) - count(distinct id) from staging.{table}") == [(0,)]

    assert full_run_differences(cli_env, tmp_path) == {}

    # The tests' oracle can fail: a change made after the live warehouse's last run is in the full run beside it and
    # not in the live one, row for row.
    execute(source_url, f"update users.users set email = 'carol@example.org' where id = '{U3}'")
    assert full_run_differences(cli_env, tmp_path / "changed") == {"staging.user_pii": (1, 1)}


def test_after_advancing_three_days_the_incremental_run_reads_only_the_change_and_equals_full(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    # Seed 7 has revenue shares at tiny scale, so payouts moving to paid are part of the change.
    run_cli("source", "seed", "--scale", "tiny", "--seed", "7", "--end-date", "2024-03-31", env=cli_env)
    run_cli("etl", "run", env=cli_env)
    rows_before = {name: table["rows"] for name, table in last_run(cli_env)["tables"].items()}
    run_cli("source", "advance", "--days", "3", "--seed", "1", env=cli_env)
    run_cli("etl", "run", env=cli_env)

    run = last_run(cli_env)
    assert (run["mode"], run["status"]) == ("incremental", "published")
    read = sum(table["rows_read"] for table in run["tables"].values())
    changed = sum(table["rows_changed"] for table in run["tables"].values())
    assert 0 < changed <= read < sum(rows_before.values()) // 2  # it read the change, not the history
    assert run["tables"]["user_events"]["rows"] > rows_before["user_events"]

    assert full_run_differences(cli_env, tmp_path) == {}
