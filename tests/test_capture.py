"""Change capture: incremental runs read the source's row changes from a logical replication slot (pgoutput).

The hand-made platform of tests/etl_rows.py, changed between runs in ways a table scan would find hard: an insert
deleted again before the next run, in-place updates without updated_at, an update of a months-old row, a late
row, deletes. Every expected count below is worked out from those rows.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from pipelines.bench.tuples import tuples_read, wait_until_quiet
from pipelines.extract.tables import load_tables
from tests.conftest import cli_environment, full_run_differences, last_run, run_cli
from tests.etl_rows import E1, E2, G2, G3, G4, M1, P2, RS1, U1, U2, U3, insert_platform, query_warehouse
from tests.paused_cli import resume
from tests.test_fault_drills import error_line, finish, kill_9, paused_run

G5 = "d0000000-0000-0000-0000-000000000005"
E3 = "f0000000-0000-0000-0000-000000000003"

# Each statement commits on its own (autocommit), so the slot sees six separate transactions in this order.
CHANGES = (
    f"""insert into ai_processing.ai_generations (id, user_id, project_id, model_id, prompt, status, created_at)
        values ('{G4}', '{U2}', '{P2}', '{M1}', 'secret prompt', 'processing', '2024-03-03 01:00:00+00')""",
    # in place, no updated_at: only the WAL (or xmin) tells
    f"""update ai_processing.ai_generations set status = 'completed', completed_at = '2024-03-02 10:05:00+00',
        tokens_used = 800, cost = 0.004000 where id = '{G2}'""",
    # inserted and deleted between two runs: must leave no trace
    f"""insert into ai_processing.ai_generations (id, user_id, model_id, prompt, status, created_at)
        values ('{G5}', '{U1}', '{M1}', 'secret prompt', 'failed', '2024-03-03 02:00:00+00')""",
    f"delete from ai_processing.ai_generations where id = '{G5}'",
    f"delete from ai_processing.ai_generations where id = '{G3}'",
    # G4 finishes later: the staged row is its last state
    f"""update ai_processing.ai_generations set status = 'completed', completed_at = '2024-03-03 01:00:30+00',
        tokens_used = 10, cost = 0.000100 where id = '{G4}'""",
    # a months-old row updated in place: February's statement is paid
    f"""update billing.revenue_shares set payout_status = 'paid', payout_date = '2024-03-05 00:00:00+00'
        where id = '{RS1}'""",
    # a late row: an event of February arriving now
    f"""insert into analytics.user_events (id, user_id, event_type, timestamp)
        values ('{E3}', '{U3}', 'login', '2024-02-15 08:00:00+00')""",
    f"delete from analytics.user_events where id = '{E2}'",
    # a personal column only: users is re-read but unchanged, user_pii changed
    f"update users.users set email = 'carol@example.org', password_hash = 'secret-hash-3' where id = '{U3}'",
)
UNTOUCHED = {"rows_read": 0, "rows_changed": 0, "rows_deleted": 0}


def apply(url: str, statements: tuple[str, ...]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def warehouse(env: dict[str, str]) -> Path:
    return Path(env["EBOOK_ANALYTICS_WAREHOUSE"])


def slot_position(env: dict[str, str]) -> tuple[str, int]:
    ((slot, lsn),) = query_warehouse(warehouse(env), "select slot_name, lsn from meta.capture_state")
    return slot, lsn


def confirmed_lsn(url: str, slot: str) -> int | None:
    """Where the slot's consumer has confirmed it read up to."""
    return _slot_lsn(url, slot, "confirmed_flush_lsn")


def restart_lsn(url: str, slot: str) -> int | None:
    """Where the slot's next decoding starts reading WAL (and what the source keeps for it)."""
    return _slot_lsn(url, slot, "restart_lsn")


def _slot_lsn(url: str, slot: str, column: str) -> int | None:
    """`column` of the slot's row in pg_replication_slots (one of the two names above)."""
    from pipelines.extract.capture import lsn_number

    query = f"select {column}::text from pg_replication_slots where slot_name = %s"
    with psycopg.connect(url) as conn:
        row = conn.execute(query, (slot,)).fetchone()
    return lsn_number(row[0]) if row else None


def running_transactions_logged(url: str) -> int:
    """Write a running-transactions record to the WAL now (as PostgreSQL does every 15 s while there is activity,
    and at checkpoints); the WAL position just before it: a slot can restart from there."""
    from pipelines.extract.capture import lsn_number

    with psycopg.connect(url, autocommit=True) as conn:
        (before,) = conn.execute("select pg_current_wal_insert_lsn()::text").fetchone()
        conn.execute("select pg_log_standby_snapshot()")
    return lsn_number(before)


def counts(run: dict, table: str) -> dict:
    return {key: value for key, value in run["tables"][table].items() if key not in ("rows", "capture_method")}


@pytest.fixture
def captured(source_url: str, cli_env: dict[str, str]) -> dict[str, str]:
    """The platform published once by a full run that created this warehouse's slot."""
    insert_platform(source_url)
    result = run_cli("etl", "run", env=cli_env)
    run = last_run(cli_env)
    assert run["capture"]["method"] == "logical" and run["capture"]["note"] is None
    assert {table["capture_method"] for table in run["tables"].values()} == {"full"}
    assert "(full, full)" in result.stdout
    slot, lsn = slot_position(cli_env)
    assert confirmed_lsn(source_url, slot) == lsn  # a new slot starts where its snapshot ends
    return cli_env


def test_changes_arrive_exactly_and_equal_a_full_run(captured: dict[str, str], source_url: str, tmp_path: Path):
    env = captured
    # With running-transactions records written between the changes (as PostgreSQL does every 15 s while there is
    # activity): the slot's restart point after the run is checked below.
    apply(source_url, CHANGES[:3])
    first = running_transactions_logged(source_url)
    apply(source_url, CHANGES[3:6])
    last = running_transactions_logged(source_url)
    apply(source_url, CHANGES[6:])  # (a record is written out with the next commit)
    result = run_cli("etl", "run", env=env)

    run = last_run(env)
    assert (run["mode"], run["status"], run["capture"]["method"]) == ("incremental", "published", "logical")
    assert {table["capture_method"] for table in run["tables"].values()} == {"logical"}
    assert "(incremental, logical)" in result.stdout
    # 6 messages: G4 insert + update, G2 update, G5 insert + delete, G3 delete; G5 never reaches the staging
    assert counts(run, "ai_generations") == {"rows_read": 6, "rows_changed": 2, "rows_deleted": 1}
    assert counts(run, "revenue_shares") == {"rows_read": 1, "rows_changed": 1, "rows_deleted": 0}
    assert counts(run, "user_events") == {"rows_read": 2, "rows_changed": 1, "rows_deleted": 1}
    assert counts(run, "users") == {"rows_read": 1, "rows_changed": 0, "rows_deleted": 0}
    assert counts(run, "user_pii") == {"rows_read": 1, "rows_changed": 1, "rows_deleted": 0}
    assert counts(run, "projects") == UNTOUCHED and counts(run, "ai_models") == UNTOUCHED
    assert sum(table["rows_changed"] for table in run["tables"].values()) == 5
    assert run["tables"]["ai_generations"]["rows"] == 3 and run["tables"]["user_events"]["rows"] == 2

    live = warehouse(env)
    assert query_warehouse(
        live, "select id::varchar, status, tokens_used, cost::varchar from staging.ai_generations order by id"
    ) == [
        ("d0000000-0000-0000-0000-000000000001", "completed", 1200, "0.012345"),
        (G2, "completed", 800, "0.004000"),
        (G4, "completed", 10, "0.000100"),
    ]
    assert query_warehouse(live, "select payout_status, payout_date::varchar from staging.revenue_shares") == [
        ("paid", "2024-03-05 00:00:00+00")
    ]
    assert query_warehouse(live, "select id::varchar, timestamp::varchar from staging.user_events order by id") == [
        (E1, "2024-03-02 04:30:00+00"),
        (E3, "2024-02-15 08:00:00+00"),
    ]
    assert query_warehouse(live, f"select email from staging.user_pii where id = '{U3}'") == [("carol@example.org",)]
    # The slot moved on to exactly what the warehouse holds, and restarts from the last running-transactions record
    # before that position, not from the first one after the previous run's: the next run decodes its own changes
    # only, and the source keeps that much WAL.
    slot, lsn = slot_position(env)
    assert first < last <= restart_lsn(source_url, slot) <= lsn == confirmed_lsn(source_url, slot)

    # Deleted and inserted again under the same key: the staged row is replaced, not doubled (an insert is known
    # to be new only when it is its key's first change since the last run).
    apply(
        source_url,
        (
            f"delete from analytics.user_events where id = '{E1}'",
            f"""insert into analytics.user_events (id, user_id, event_type, timestamp)
                values ('{E1}', '{U1}', 'logout', '2024-03-02 06:00:00+00')""",
        ),
    )
    run_cli("etl", "run", env=env)
    assert counts(last_run(env), "user_events") == {"rows_read": 2, "rows_changed": 1, "rows_deleted": 0}
    assert query_warehouse(live, "select id::varchar, event_type from staging.user_events order by id") == [
        (E1, "logout"),
        (E3, "login"),
    ]
    # nothing to read the next time
    run_cli("etl", "run", env=env)
    assert sum(table["rows_read"] for table in last_run(env)["tables"].values()) == 0

    assert full_run_differences(env, tmp_path) == {}


def test_a_transaction_larger_than_the_decoding_memory_arrives_streamed_and_exact(
    captured: dict[str, str], source_url: str
):
    """A transaction beyond the server's `logical_decoding_work_mem` (64kB for the run, the least it takes) arrives
    streamed in chunks, not spilled to disk: 1,000 events kept, 300 rolled back to a savepoint, an update and a
    delete, while a late event commits on its own in the middle; then another 1,000 events rolled back whole."""
    env = {**captured, "PGOPTIONS": "-c logical_decoding_work_mem=64kB"}
    events = """insert into analytics.user_events (user_id, event_type, timestamp, event_data)
        select %s, 'page_view', '2024-03-02 05:00:00+00'::timestamptz + g * interval '1 second',
            jsonb_build_object('padding', repeat('x', 200))
        from generate_series(1, %s) g"""
    with psycopg.connect(source_url) as big, psycopg.connect(source_url, autocommit=True) as small:
        big.execute(events, (U1, 1000))
        big.execute("savepoint half")
        big.execute(events, (U2, 300))
        big.execute("rollback to savepoint half")
        small.execute(CHANGES[7])  # E3, late, committed first
        big.execute(f"update analytics.user_events set event_type = 'logout' where id = '{E1}'")
        big.execute(f"delete from analytics.user_events where id = '{E2}'")
        big.commit()
        big.execute(events, (U3, 1000))
        big.rollback()
        small.execute("create temp table flushed (x int)")  # a commit that wrote WAL flushes what the rollback left
    run_cli("etl", "run", env=env)

    run = last_run(env)
    assert counts(run, "user_events") == {"rows_read": 1003, "rows_changed": 1002, "rows_deleted": 1}
    staged = "select user_id::varchar, event_type, count(*) from staging.user_events group by all order by 1, 2"
    assert query_warehouse(warehouse(env), staged) == [(U1, "logout", 1), (U1, "page_view", 1000), (U3, "login", 1)]
    decoded = re.search(
        r"decoded: ([\d,]+) transactions streamed \([\d,]+ bytes\), ([\d,]+) spilled to disk", status(env)
    )
    assert decoded is not None
    streamed, spilled = (int(count.replace(",", "")) for count in decoded.groups())
    assert streamed >= 1 and spilled == 0  # (the rolled-back one PostgreSQL may discard unstreamed)


def test_a_value_too_large_to_keep_inline_stays_staged_when_its_row_changes_elsewhere(
    captured: dict[str, str], source_url: str
):
    """A value PostgreSQL keeps out of line (TOASTed) is not in the WAL when another column of its row changes: the
    slot says "unchanged", and the staged value stays. The platform's staged text columns are too short to be
    TOASTed, so this source widens one (as another platform's schema may be)."""
    from pipelines.extract.capture import publication_columns

    env = captured
    audience = "select string_agg(md5(g::text), '') from generate_series(1, 400) g"  # 12,800 characters
    published = ", ".join(publication_columns()["content.projects"])
    apply(
        source_url,
        (
            "alter publication ebook_analytics drop table content.projects",  # (a published column keeps its type)
            "alter table content.projects alter column target_audience type text",
            f"alter publication ebook_analytics add table content.projects ({published})",
            f"update content.projects set target_audience = ({audience}) where id = '{P2}'",
        ),
    )
    run_cli("etl", "run", env=env)
    apply(source_url, (f"update content.projects set status = 'archived' where id = '{P2}'",))
    run_cli("etl", "run", env=env)

    assert counts(last_run(env), "projects") == {"rows_read": 1, "rows_changed": 1, "rows_deleted": 0}
    with psycopg.connect(source_url) as conn:
        (expected,) = conn.execute(audience).fetchone()
    assert query_warehouse(
        warehouse(env),
        f"select status, length(target_audience), target_audience from staging.projects where id = '{P2}'",
    ) == [("archived", 12_800, expected)]


def test_a_truncated_table_arrives_as_every_staged_row_deleted(captured: dict[str, str], source_url: str):
    env = captured
    apply(source_url, ("truncate analytics.user_events", CHANGES[7]))  # then the late event E3 again
    run_cli("etl", "run", env=env)

    run = last_run(env)
    assert run["capture"]["method"] == "logical"
    assert {key: counts(run, "user_events")[key] for key in ("rows_changed", "rows_deleted")} == {
        "rows_changed": 1,  # E3
        "rows_deleted": 2,  # E1 and E2, which no message names
    }
    assert query_warehouse(warehouse(env), "select id::varchar from staging.user_events") == [(E3,)]


def test_redact_pii_stages_no_personal_column_from_the_slot(captured: dict[str, str], source_url: str):
    env = captured
    apply(source_url, CHANGES)
    run_cli("etl", "run", "--redact-pii", env=env)
    run = last_run(env)
    assert "user_pii" not in run["tables"] and run["capture"]["method"] == "logical"
    assert counts(run, "users") == {"rows_read": 1, "rows_changed": 0, "rows_deleted": 0}
    columns = query_warehouse(
        warehouse(env), "select column_name from information_schema.columns where table_schema = 'staging'"
    )
    assert not {"email", "first_name", "last_name", "username", "password_hash"} & {c for (c,) in columns}


def test_a_partial_run_consumes_its_changes_and_the_fix_catches_up(
    captured: dict[str, str], source_url: str, tmp_path: Path
):
    env = captured
    slot, published_lsn = slot_position(env)
    apply(source_url, CHANGES)
    # an error-level defect on the generations: their marts are held back, the staged rows (and the slot) move on
    apply(
        source_url,
        (f"update ai_processing.ai_generations set completed_at = created_at - interval '1 day' where id = '{G2}'",),
    )
    partial = run_cli("etl", "run", env=env, check=False)
    assert partial.returncode == 2 and last_run(env)["status"] == "partial"
    assert "ai_cost_daily" in last_run(env)["held_back"]
    assert confirmed_lsn(source_url, slot) > published_lsn  # consumed: staging was published

    apply(
        source_url,
        (f"update ai_processing.ai_generations set completed_at = '2024-03-02 10:05:00+00' where id = '{G2}'",),
    )
    run_cli("etl", "run", env=env)
    run = last_run(env)
    assert (run["status"], run["held_back"], run["capture"]["method"]) == ("published", {}, "logical")
    assert counts(run, "ai_generations") == {"rows_read": 1, "rows_changed": 1, "rows_deleted": 0}  # the fix only
    assert counts(run, "user_events") == {"rows_read": 0, "rows_changed": 0, "rows_deleted": 0}
    assert full_run_differences(env, tmp_path) == {}


def test_a_slot_dropped_behind_the_etls_back_falls_back_to_a_full_snapshot(
    captured: dict[str, str], source_url: str, tmp_path: Path
):
    env = captured
    slot, _ = slot_position(env)
    with psycopg.connect(source_url, autocommit=True) as conn:
        conn.execute("select pg_drop_replication_slot(%s)", (slot,))
    apply(source_url, CHANGES)

    result = run_cli("etl", "run", env=env)
    run = last_run(env)
    assert (run["mode"], run["status"]) == ("incremental", "published")
    assert run["capture"]["note"] == f"replication slot {slot} is gone: full snapshot"
    assert f"capture: replication slot {slot} is gone: full snapshot" in result.stdout
    assert {table["capture_method"] for table in run["tables"].values()} == {"full"}
    assert counts(run, "ai_generations") == {"rows_read": 3, "rows_changed": 2, "rows_deleted": 1}
    new_slot, lsn = slot_position(env)
    assert new_slot != slot and confirmed_lsn(source_url, new_slot) == lsn

    apply(source_url, (f"delete from analytics.user_events where id = '{E3}'",))
    run_cli("etl", "run", env=env)  # logical again from the new slot
    run = last_run(env)
    assert run["capture"] == {
        "method": "logical",
        "slot": new_slot,
        "note": None,
        "backlog_bytes": run["capture"]["backlog_bytes"],
    }
    assert counts(run, "user_events") == {"rows_read": 1, "rows_changed": 0, "rows_deleted": 1}
    assert full_run_differences(env, tmp_path) == {}


def test_xmin_stays_where_the_role_may_not_replicate_until_granted(
    source_url: str, cli_env: dict[str, str], tmp_path: Path
):
    from urllib.parse import urlsplit, urlunsplit

    insert_platform(source_url)
    reader = f"reader_{tmp_path.name[-8:].lower().replace('-', '_')}"
    grant_env = {**cli_env, "EBOOK_ANALYTICS_READER_PASSWORD": "pw-reader"}
    run_cli("source", "grant", "--reader", reader, env=grant_env)
    parts = urlsplit(source_url)
    reader_url = urlunsplit(parts._replace(netloc=f"{reader}:pw-reader@{parts.hostname or ''}"))
    env = {**cli_env, "EBOOK_ANALYTICS_SOURCE_URL": reader_url, "EBOOK_ANALYTICS_ROLLUP_URL": source_url}

    run_cli("etl", "run", env=env)
    apply(source_url, CHANGES)
    result = run_cli("etl", "run", env=env)
    run = last_run(env)
    assert run["capture"]["method"] == "xmin"
    assert run["capture"]["note"] == "the source role may not replicate (`source grant --replication`): xmin method"
    methods = {name: table["capture_method"] for name, table in run["tables"].items()}
    assert methods["ai_generations"] == "xmin" and methods["ai_models"] == "full"
    assert "(incremental, xmin 11 + full 8)" in result.stdout

    granted = run_cli("source", "grant", "--reader", reader, "--replication", env=grant_env)
    assert f"reader role {reader}: REPLICATION" in granted.stdout
    run_cli("etl", "run", env=env)  # starts the slot with a full snapshot
    assert last_run(env)["capture"]["note"] == "no change-capture slot yet: full snapshot"
    apply(source_url, (f"delete from analytics.user_events where id = '{E3}'",))
    run_cli("etl", "run", env=env)
    run = last_run(env)
    assert run["capture"]["method"] == "logical"
    assert counts(run, "user_events") == {"rows_read": 1, "rows_changed": 0, "rows_deleted": 1}
    assert full_run_differences(env, tmp_path) == {}


def test_an_incremental_run_reads_at_most_twice_the_rows_it_changes(
    captured: dict[str, str], source_url: str, create_database, schema_template: str
):
    # The write-back goes to another database, so only the extract's reads of the source are counted.
    env = {**captured, "EBOOK_ANALYTICS_ROLLUP_URL": create_database(template=schema_template)}
    names = sorted({table.source for table in load_tables()})
    apply(source_url, CHANGES)
    wait_until_quiet(source_url)
    before = tuples_read(source_url, names)
    run_cli("etl", "run", env=env)
    wait_until_quiet(source_url)
    read = sum(tuples_read(source_url, names).values()) - sum(before.values())

    run = last_run(env)
    changed = sum(table["rows_changed"] + table["rows_deleted"] for table in run["tables"].values())
    assert changed == 7 and run["capture"]["method"] == "logical"
    # The changes come from the WAL; only the computed columns of the 2 generations changed (G2, G4) are read from
    # the source, by key: at most the 3 rows of the table (the planner may scan a table this small).
    assert 0 < read <= 3 <= 2 * changed

    # The xmin method on the same change scans the tables (calibration: the counter does see the ETL's reads).
    apply(source_url, (f"delete from analytics.user_events where id = '{E3}'",))
    wait_until_quiet(source_url)
    before = tuples_read(source_url, names)
    run_cli("etl", "run", env={**env, "EBOOK_ANALYTICS_CAPTURE": "xmin"})
    wait_until_quiet(source_url)
    assert last_run(env)["capture"]["method"] == "xmin"
    after = tuples_read(source_url, names)
    # every row of every table: 25 staged source rows (users.users once, though staged twice); the xmin tables are
    # scanned for changes and counted for deletes
    assert after["ai_processing.ai_generations"] - before["ai_processing.ai_generations"] >= 3
    assert sum(after.values()) - sum(before.values()) > 2 * 1


# --- fault drills (tests/test_fault_drills.py style: the real CLI, paused at a phase, then hit) ---------------------


def test_killed_before_the_publish_the_next_run_reads_the_same_changes(
    captured: dict[str, str], source_url: str, tmp_path: Path
):
    env = captured
    slot, published_lsn = slot_position(env)
    apply(source_url, CHANGES)

    kill_9(paused_run("publish", env=env))  # extracted and checked, not yet published
    assert confirmed_lsn(source_url, slot) == published_lsn

    run_cli("etl", "run", env=env)
    run = last_run(env)
    assert (run["status"], run["capture"]["method"]) == ("published", "logical")
    assert counts(run, "ai_generations") == {"rows_read": 6, "rows_changed": 2, "rows_deleted": 1}
    assert confirmed_lsn(source_url, slot) == slot_position(env)[1] > published_lsn
    assert full_run_differences(env, tmp_path) == {}


def test_killed_after_the_publish_the_next_run_skips_what_is_staged(
    captured: dict[str, str], source_url: str, tmp_path: Path
):
    env = captured
    slot, first_lsn = slot_position(env)
    apply(source_url, CHANGES)

    kill_9(paused_run("checkpoint", env=env))  # published, the slot not yet advanced
    _, published_lsn = slot_position(env)
    assert confirmed_lsn(source_url, slot) == first_lsn < published_lsn  # the slot is behind the warehouse

    apply(source_url, (f"delete from analytics.user_events where id = '{E3}'",))
    run_cli("etl", "run", env=env)
    run = last_run(env)
    assert run["capture"]["method"] == "logical"
    # the published transactions are still in the slot but skipped: only the new delete is read
    assert sum(table["rows_read"] for table in run["tables"].values()) == 1
    assert counts(run, "user_events") == {"rows_read": 1, "rows_changed": 0, "rows_deleted": 1}
    assert confirmed_lsn(source_url, slot) == slot_position(env)[1]
    assert full_run_differences(env, tmp_path) == {}


def test_source_restarted_mid_run_fails_clearly_and_the_next_run_continues_from_the_slot(tmp_path: Path):
    from pipelines.source import server
    from pipelines.source.migrate import apply_migrations

    pgdata = tmp_path / "home" / "pg"  # this CLI home's own embedded server: `source start` restarts it
    url = server.start(pgdata)
    try:
        with psycopg.connect(url) as conn:
            apply_migrations(conn)
        insert_platform(url)
        env = cli_environment(tmp_path, url)
        run_cli("etl", "run", env=env)
        slot, published_lsn = slot_position(env)
        apply(url, CHANGES)

        process = paused_run("extract", env=env)  # the slot checked, its changes not yet read
        server.stop(pgdata)
        resume(process.pid)
        result = finish(process)
        assert result.returncode == 1 and "source" in error_line(result)
        assert last_run(env)["status"] == "failed"

        run_cli("source", "start", env=env)
        assert confirmed_lsn(url, slot) == published_lsn  # the slot survived the restart, unconsumed
        run_cli("etl", "run", env=env)
        run = last_run(env)
        assert (run["status"], run["capture"]["method"], run["capture"]["slot"]) == ("published", "logical", slot)
        assert counts(run, "ai_generations") == {"rows_read": 6, "rows_changed": 2, "rows_deleted": 1}
        assert full_run_differences(env, tmp_path) == {}
    finally:
        server.stop(pgdata)


def status(env: dict[str, str]) -> str:
    """The line `source status` prints for this warehouse's slot."""
    slot, _ = slot_position(env)
    (line,) = [row for row in run_cli("source", "status", env=env, check=False).stdout.splitlines() if slot in row]
    return line


def test_source_status_shows_the_slot_and_its_lag(captured: dict[str, str], source_url: str):
    env = captured
    slot, _ = slot_position(env)
    database = urlsplit(source_url).path.lstrip("/")
    before = status(env)
    apply(source_url, CHANGES)  # WAL the slot has not consumed yet
    after = status(env)

    pattern = re.compile(
        re.escape(f"slot {slot} ({database}): ")
        + r"([\d,]+) bytes behind, [\d,]+ bytes of WAL kept, unused for [\d,]+ s, wal_status reserved; "
        + r"decoded: 0 transactions streamed \(0 bytes\), 0 spilled to disk \(0 bytes\)$"
    )
    lag_before, lag_after = (int(pattern.match(row).group(1).replace(",", "")) for row in (before, after))
    assert lag_after > lag_before


def test_a_server_before_17_continues_from_its_slot_without_the_slot_columns_17_added(
    captured: dict[str, str], source_url: str, tmp_path: Path
):
    """PostgreSQL 15 and 16 have no `inactive_since` or `invalidation_reason` in pg_replication_slots. The source's
    sessions see the view as 16 has it (a view of the real one, ahead of the catalog in their search path): the
    incremental run still continues from its slot, and `source status` shows the slot without an idle time."""
    database = urlsplit(source_url).path.lstrip("/")
    columns_of_16 = (
        "slot_name, plugin, slot_type, datoid, database, temporary, active, active_pid, xmin, catalog_xmin, "
        "restart_lsn, confirmed_flush_lsn, wal_status, safe_wal_size, two_phase, conflicting"
    )
    with psycopg.connect(source_url, autocommit=True) as conn:
        conn.execute("create schema catalog_of_16")
        conn.execute(
            f"create view catalog_of_16.pg_replication_slots as select {columns_of_16} from pg_replication_slots"
        )
        conn.execute(f'alter database "{database}" set search_path = catalog_of_16, pg_catalog, "$user", public')
    apply(source_url, CHANGES)
    run_cli("etl", "run", env=captured)

    run = last_run(captured)
    assert (run["mode"], run["status"], run["capture"]["method"]) == ("incremental", "published", "logical")
    assert counts(run, "ai_generations") == {"rows_read": 6, "rows_changed": 2, "rows_deleted": 1}
    assert ", unused, wal_status reserved; decoded: " in status(captured)
    assert full_run_differences(captured, tmp_path) == {}
