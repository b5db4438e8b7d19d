"""History (queries/history/): SCD-2 tables kept across incremental and --full runs, on tests/marts_dataset.py.

Run 1 loads the dataset (chapter 4 already completed); between runs a user's tier, a subscription's status, a
chapter's status and a payout change in place at the source. Each run's snapshot_at comes from runs.jsonl.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg

from tests.conftest import open_published, publication_differences, published_as_file, run_cli, runs
from tests.marts_dataset import ALICE, BOB, CAROL, DAVE, PRO_MONTHLY, insert_platform_data, uid

SINCE_EVER = datetime.min  # '-infinity'::timestamptz as DuckDB hands it to Python
FOREVER = datetime.max  # 'infinity'


def _snapshots(env: dict[str, str]) -> list[datetime]:
    return [datetime.fromisoformat(run["snapshot_at"]) for run in runs(env)]


def _rows(path: Path | str, query: str) -> list[tuple]:
    with open_published(path) as con:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(query).fetchall()


def _runs(env: dict[str, str]) -> list[dict]:
    """Every run of the history, oldest first."""
    return list(reversed(json.loads(run_cli("runs", "--json", env=env).stdout)))


def _execute(url: str, statement: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(statement)


def _history_differences(live: Path, first: str, second: str) -> dict[str, tuple[int, int]]:
    """Per history table, rows only in publication `first` and rows only in `second` (run ids)."""
    differences = publication_differences(live, live, as_of=(first, second), schemas=("history",))
    assert len(differences) == 8  # the entities of queries/history/entities.yml and chapter_completions
    return differences


def test_history_follows_in_place_changes_across_incremental_and_full_runs(
    source_url: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    insert_platform_data(source_url)
    # Chapter 4 is completed before the first load: it is dated by its last version (versions 8, 9: 2024-03-05).
    _execute(source_url, f"update content.chapters set status = 'completed' where id = '{uid('chapter', 4)}'")
    run_cli("etl", "run", env=cli_env)
    live = Path(cli_env["EBOOK_ANALYTICS_WAREHOUSE"])
    (s1,) = _snapshots(cli_env)

    assert _rows(live, "select * from history.user_tiers order by user_id") == [
        (ALICE, "premium", s1, None, SINCE_EVER, FOREVER),
        (BOB, "basic", s1, None, SINCE_EVER, FOREVER),
        (CAROL, "free", s1, None, SINCE_EVER, FOREVER),
        (DAVE, "enterprise", s1, None, SINCE_EVER, FOREVER),
    ]
    assert _rows(live, "select * from history.chapter_completions") == [
        (uid("chapter", 4), date(2024, 3, 5), "initial_load")
    ]

    _execute(
        source_url,
        f"""
        update users.users set tier = 'basic' where id = '{CAROL}';
        update billing.user_subscriptions set status = 'past_due' where id = '{uid("subscription", 1)}';
        update content.chapters set status = 'completed' where id = '{uid("chapter", 1)}';
        update billing.revenue_shares set payout_status = 'paid', payout_date = '2024-03-20 00:00:00+00'
            where id = '{uid("share", 2)}';
        -- chapter 4 is revised after its completion (back in review, a new version): its day stays
        update content.chapters set status = 'review' where id = '{uid("chapter", 4)}';
        insert into content.content_versions (id, chapter_id, version_number, word_count, created_at, change_type,
                                              content, changed_by)
            values ('{uid("version", 10)}', '{uid("chapter", 4)}', 3, 90, now(), 'manual', 'text', '{ALICE}');
        """,
    )
    run_cli("etl", "run", env=cli_env)
    s1, s2 = _snapshots(cli_env)
    # Only the history tables a changed staged table reaches are extended: no model, plan or membership changed.
    # Chapter 1 completed and chapter 4 back in review: two chapter states, one completion.
    assert _runs(cli_env)[-1]["history"] == {
        "user_tiers": 1,
        "subscription_states": 1,
        "chapter_states": 2,
        "payout_states": 1,
        "chapter_completions": 1,
    }

    assert _rows(live, f"select * from history.user_tiers where user_id = '{CAROL}' order by valid_from") == [
        (CAROL, "free", s1, s2, SINCE_EVER, s2),
        (CAROL, "basic", s2, None, s2, FOREVER),
    ]
    assert _rows(live, "select count(*) from history.user_tiers where valid_to is null") == [(4,)]
    created = datetime(2024, 2, 10, tzinfo=UTC)
    assert _rows(
        live,
        f"select * from history.subscription_states where subscription_id = '{uid('subscription', 1)}' "
        "order by valid_from",
    ) == [
        (uid("subscription", 1), ALICE, PRO_MONTHLY, "active", Decimal("20.00"), "USD", None, None, created,
         s1, s2, SINCE_EVER, s2),
        (uid("subscription", 1), ALICE, PRO_MONTHLY, "past_due", Decimal("20.00"), "USD", None, None, created,
         s2, None, s2, FOREVER),
    ]  # fmt: skip
    assert _rows(live, "select count(*), count(valid_to) from history.subscription_states") == [(7, 1)]
    assert _rows(
        live, f"select * from history.chapter_states where chapter_id = '{uid('chapter', 4)}' order by valid_from"
    ) == [
        (uid("chapter", 4), "completed", s1, s2, SINCE_EVER, s2),
        (uid("chapter", 4), "review", s2, None, s2, FOREVER),
    ]
    assert _rows(live, "select * from history.chapter_completions order by completed_day") == [
        (uid("chapter", 4), date(2024, 3, 5), "initial_load"),  # revised later: the day does not move
        (uid("chapter", 1), s2.date(), "observed"),  # first seen completed by run 2
    ]
    assert _rows(
        live, f"select * from history.payout_states where revenue_share_id = '{uid('share', 2)}' order by valid_from"
    ) == [
        (uid("share", 2), "pending", None, s1, s2, SINCE_EVER, s2),
        (uid("share", 2), "paid", datetime(2024, 3, 20, tzinfo=UTC), s2, None, s2, FOREVER),
    ]
    assert _rows(live, "select count(*), count(valid_to) from history.model_prices") == [(3, 0)]

    # --full rebuilds staging and marts but carries the history over: with no change at the source, the history
    # is exactly the incremental run's. Its publish knows the publication's fingerprints (kept by the working file it
    # replaces), so of the tables it rebuilt it compares with the lake only those whose rows changed: the run record.
    # Nor does it do the retention and compaction that is due an hour after the first run's publication.
    after_incremental = _rows(live, "select run_id from meta.publication")[0][0]
    run_cli("etl", "run", "--full", env=cli_env)
    full = _runs(cli_env)[-1]["publication"]
    assert "maintenance" not in full
    assert full["compared"] == [
        "meta.capture_state", "meta.check_results", "meta.extract_state", "meta.publication",
    ]  # fmt: skip
    assert _snapshots(cli_env)[-1] > s2
    after_full = _rows(live, "select run_id from meta.publication")[0][0]
    assert set(_history_differences(live, after_incremental, after_full).values()) == {(0, 0)}

    # and the history goes on from there: Carol moves again, chapter 1 stays dated by run 2
    _execute(
        source_url,
        f"update users.users set tier = 'premium' where id = '{CAROL}';"
        f"update content.chapters set status = 'review' where id = '{uid('chapter', 1)}'",
    )
    run_cli("etl", "run", "--full", env=cli_env)
    s4 = _snapshots(cli_env)[-1]
    assert _rows(live, f"select * from history.user_tiers where user_id = '{CAROL}' order by valid_from") == [
        (CAROL, "free", s1, s2, SINCE_EVER, s2),
        (CAROL, "basic", s2, s4, s2, s4),
        (CAROL, "premium", s4, None, s4, FOREVER),
    ]
    assert _rows(live, "select chapter_id, completed_day from history.chapter_completions order by 2") == [
        (uid("chapter", 4), date(2024, 3, 5)),
        (uid("chapter", 1), s2.date()),
    ]


def test_full_rebuild_over_an_unusable_file_starts_the_history_afresh(source_url: str, cli_env: dict[str, str]) -> None:
    insert_platform_data(source_url)
    live = Path(cli_env["EBOOK_ANALYTICS_WAREHOUSE"])
    live.parent.mkdir(parents=True)
    live.write_bytes(b"not a warehouse")
    run_cli("etl", "run", "--full", "--rebuild", env=cli_env)
    (snapshot,) = _snapshots(cli_env)
    assert _rows(live, "select tier, valid_from, effective_from, effective_to from history.user_tiers order by 1") == [
        ("basic", snapshot, SINCE_EVER, FOREVER),
        ("enterprise", snapshot, SINCE_EVER, FOREVER),
        ("free", snapshot, SINCE_EVER, FOREVER),
        ("premium", snapshot, SINCE_EVER, FOREVER),
    ]
    assert len(list(live.parent.glob(f"{live.name}.corrupt-*"))) == 1


def test_the_first_run_after_the_upgrade_to_the_lake_carries_the_history_of_the_old_file_over(
    source_url: str, cli_env: dict[str, str]
) -> None:
    insert_platform_data(source_url)
    run_cli("etl", "run", env=cli_env)
    live = Path(cli_env["EBOOK_ANALYTICS_WAREHOUSE"])
    # The warehouse as it was before the lake: one DuckDB file beside where the catalog now goes, and no lake yet.
    legacy = published_as_file(live, live.with_name("analytics.duckdb"))
    for path in live.parent.iterdir():
        if path.is_dir() and path.name.startswith(live.name):
            shutil.rmtree(path)
        elif path.name.startswith((live.name, "etl-work")):
            path.unlink()
    _execute(source_url, f"update users.users set tier = 'basic' where id = '{CAROL}'")

    output = run_cli("etl", "run", env=cli_env).stdout
    s1, s2 = _snapshots(cli_env)

    assert f"history table(s) over from the earlier warehouse file {legacy}" in output
    assert _rows(live, f"select * from history.user_tiers where user_id = '{CAROL}' order by valid_from") == [
        (CAROL, "free", s1, s2, SINCE_EVER, s2),
        (CAROL, "basic", s2, None, s2, FOREVER),
    ]
    assert _rows(live, "select count(*) from history.user_tiers where valid_to is null") == [(4,)]
