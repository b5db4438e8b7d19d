"""`etl run` end to end against a real PostgreSQL: what is staged, what never is, and how runs fail safely."""

from __future__ import annotations

import fcntl
import json
import os
import re
from pathlib import Path

import psycopg

from tests.conftest import run_cli, runs, start_cli
from tests.etl_rows import (
    E2,
    P2,
    STAGED_ROWS,
    U3,
    execute,
    insert_platform,
    query_warehouse,
    sha256,
    values_matching,
)

NOBODY = "99999999-0000-0000-0000-000000000000"  # a key no row has
SECRET_COLUMNS = {
    "password_hash",
    "session_token",
    "ip_address",
    "user_agent",
    "external_id",
    "payout_method",
    "api_endpoint",
    "configuration",
    "stripe_subscription_id",
    "prompt",
    "response",
    "content",
    "system_prompt",
}


def _warehouse(env: dict[str, str]) -> Path:
    return Path(env["EBOOK_ANALYTICS_WAREHOUSE"])


def test_full_run_stages_every_table_and_no_secret(source_url: str, cli_env: dict[str, str]) -> None:
    insert_platform(source_url)
    live = _warehouse(cli_env)
    result = run_cli("etl", "run", "--full", env=cli_env)

    # (full, full): a full run, every table read whole (docs/etl.md, "Change capture")
    assert re.match(r"published run \S+ \(full, full\): 19 tables, 31 rows read, 31 changed, 0 deleted", result.stdout)
    counts = dict(query_warehouse(live, "select table_name, rows from meta.extract_state"))
    assert counts == STAGED_ROWS
    for name, rows in STAGED_ROWS.items():
        assert query_warehouse(live, f"select count(*) from staging.{name}") == [(rows,)]
    columns = {name for (name,) in query_warehouse(live, "select column_name from information_schema.columns")}
    assert not columns & SECRET_COLUMNS
    # The scan reads every table's rows: the personal data is staged, in its own table only.
    assert values_matching(live, r"alice@example\.com|^Liddell$") == {
        "staging.user_pii.email": ["alice@example.com"],
        "staging.user_pii.last_name": ["Liddell"],
    }
    assert values_matching(live, r"secret|^10\.9\.8\.7") == {}
    # money stays DECIMAL, timestamps stay instants
    types = dict(
        query_warehouse(
            live,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'staging' and table_name = 'ai_generations'",
        )
    )
    assert types["cost"] == "DECIMAL(10,6)" and types["created_at"] == "TIMESTAMP WITH TIME ZONE"
    # '2024-03-01 23:30:00-05' is March 2nd in UTC
    assert query_warehouse(
        live,
        "select cost::varchar, created_at::date::varchar from staging.ai_generations where processing_time_ms = 90000",
    ) == [("0.012345", "2024-03-02")]

    publication = query_warehouse(live, "select run_id, redacted, snapshot_at <= published_at from meta.publication")
    run = runs(cli_env)[-1]
    assert publication == [(run["run_id"], False, True)]
    assert run["status"] == "published" and run["mode"] == "full" and run["error"] is None
    assert set(run["steps"]) == {"extract", "history", "transform", "checks", "publish", "writeback", "alerts"}
    # every built-in alert rule evaluated on the published warehouse, and what fired reached the job queue
    assert (run["alerts"]["errors"], run["alerts"]["delivery"]) == ({}, [])
    assert run["tables"]["ai_generations"] == {
        "rows_read": 3,
        "rows_changed": 3,
        "rows_deleted": 0,
        "rows": 3,
        "capture_method": "full",
    }
    stored_checks = query_warehouse(live, "select count(*) from meta.check_results")[0][0]
    assert stored_checks == len(run["checks"])

    listing = run_cli("runs", "--json", "--limit", "1", env=cli_env)
    assert [r["run_id"] for r in json.loads(listing.stdout)] == [run["run_id"]]
    # The publication is the lake's snapshot 1 (0 made the catalog); `runs` names it while it is kept.
    assert run["publication"] == {
        "snapshot_id": 1,
        "tables_written": 19 + 8 + 39 + 7,  # staging, history, marts, meta (with check_totals)
        "by_change_set": [],
        "compared": [],
    }
    table = run_cli("runs", env=cli_env).stdout.splitlines()
    assert table[0].split()[-6:] == ["seconds", "publication", "error", "/", "held", "back"]
    assert table[1].startswith(run["run_id"]) and " #1 " in table[1]


def test_redact_pii_leaves_out_every_email(source_url: str, cli_env: dict[str, str]) -> None:
    insert_platform(source_url)
    run_cli("etl", "run", "--full", env=cli_env)
    live = _warehouse(cli_env)
    assert query_warehouse(live, "select count(*) from staging.user_pii") == [(3,)]

    run_cli("etl", "run", "--redact-pii", env=cli_env)  # incremental: the PII table is dropped from the copy

    tables = {name for (name,) in query_warehouse(live, "select table_name from information_schema.tables")}
    assert "user_pii" not in tables and "users" in tables
    assert query_warehouse(live, "select redacted from meta.publication") == [(True,)]
    assert values_matching(live, r"\S@\S+\.\S") == {}
    assert "user_pii" not in dict(query_warehouse(live, "select table_name, rows from meta.extract_state"))
    assert [run["mode"] for run in runs(cli_env)] == ["full", "incremental"]


def test_second_concurrent_run_is_refused_and_wait_waits(source_url: str, cli_env: dict[str, str]) -> None:
    directory = _warehouse(cli_env).parent
    directory.mkdir(parents=True)
    with open(directory / ".etl.lock", "w") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        holder.write(f"{os.getpid()}\n")
        holder.flush()

        refused = run_cli("etl", "run", env=cli_env, check=False)
        assert refused.returncode == 75
        assert refused.stderr.strip() == (
            f"error: another ETL run is in progress (pid {os.getpid()}); wait for it or use --wait"
        )
        waiting = start_cli("etl", "run", "--wait", env=cli_env)
        assert waiting.stderr.readline() == f"waiting for the ETL run in progress (pid {os.getpid()}) to finish\n"
        assert waiting.poll() is None
        assert not (directory / "runs.jsonl").exists()
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert out.startswith("published run")
    assert [run["status"] for run in runs(cli_env)] == ["published"]


def test_failed_runs_leave_the_published_file_byte_identical(
    source_url: str, cli_env: dict[str, str], create_database
) -> None:
    insert_platform(source_url)
    run_cli("etl", "run", env=cli_env)
    live = _warehouse(cli_env)
    before = sha256(live)

    # A faulty release at the source breaks users, models, subscriptions, projects and events at once: failed
    # error-level checks reach every mart, so nothing is published (blocked), each listed with counts and ids.
    execute(
        source_url,
        f"""
        alter table users.users drop constraint users_tier_check;
        update users.users set tier = 'platinum' where id = '{U3}';
        set session_replication_role = replica;  -- foreign keys off: orphans
        update ai_processing.ai_models set provider_id = '{NOBODY}';
        update billing.user_subscriptions set plan_id = '{NOBODY}';
        update content.projects set owner_id = '{NOBODY}' where id = '{P2}';
        update analytics.user_events set user_id = '{NOBODY}' where id = '{E2}';
        """,
    )
    blocked = run_cli("etl", "run", env=cli_env, check=False)
    assert blocked.returncode == 2
    assert "blocked: 5 error check(s) failed, reaching every mart; the published warehouse is unchanged" in (
        blocked.stderr
    )
    assert f"staging.users.tier.accepted_values (staging.users): 1 unexpected, e.g. {U3}" in blocked.stderr
    assert f"staging.projects.owner_id.orphans (staging.projects): 1 unexpected, e.g. {P2}" in blocked.stderr
    assert blocked.stdout.startswith("blocked run ")
    assert sha256(live) == before
    last = runs(cli_env)[-1]
    assert last["status"] == "blocked" and len(last["held_back"]) == 39  # every mart

    gone = create_database()
    name = psycopg.conninfo.conninfo_to_dict(gone)["dbname"]
    admin = psycopg.conninfo.make_conninfo(gone, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database "{name}"')
    failing = run_cli("etl", "run", env={**cli_env, "EBOOK_ANALYTICS_SOURCE_URL": gone}, check=False)

    assert failing.returncode == 1
    assert failing.stderr.count("\n") == 1 and failing.stderr.startswith("error: cannot connect to the source")
    assert "Traceback" not in failing.stderr
    assert sha256(live) == before
    last = runs(cli_env)[-1]
    assert last["status"] == "failed" and "does not exist" in last["error"]

    bad_url = run_cli("etl", "run", env={**cli_env, "EBOOK_ANALYTICS_SOURCE_URL": "mysql://u@h/db"}, check=False)
    assert bad_url.returncode == 1
    assert bad_url.stderr.startswith("error: source URL 'mysql://u@h/db' is not a PostgreSQL URL; use postgresql://")
    assert bad_url.stderr.count("\n") == 1

    # A build beyond its memory and spill limits, or a limit that is no size, fails in one line that names them.
    for limits, expected in (
        (
            {"EBOOK_ANALYTICS_ETL_MEMORY_LIMIT": "2MB", "EBOOK_ANALYTICS_ETL_SPILL_LIMIT": "1KB"},
            "error: the run needs more than etl_memory_limit 2MB and etl_spill_limit 1KB (spill in ",
        ),
        (
            {"EBOOK_ANALYTICS_ETL_SPILL_LIMIT": "lots"},
            "error: EBOOK_ANALYTICS_ETL_SPILL_LIMIT is 'lots'; set it to a size such as 1GB",
        ),
    ):
        beyond = run_cli("etl", "run", "--full", env={**cli_env, **limits}, check=False)
        assert beyond.returncode == 1 and beyond.stderr.count("\n") == 1
        assert beyond.stderr.startswith(expected), beyond.stderr
        assert sha256(live) == before
    assert runs(cli_env)[-1]["status"] == "failed"

    empty = create_database()  # reachable, but without the platform schema
    missing = run_cli("etl", "run", env={**cli_env, "EBOOK_ANALYTICS_SOURCE_URL": empty}, check=False)
    assert missing.returncode == 1
    assert "run `ebook-analytics source init`" in missing.stderr and missing.stderr.count("\n") == 1
    assert sha256(live) == before
