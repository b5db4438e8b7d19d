"""Publishing by change set (`pipelines.publish.lake.publish`, docs/etl.md "Publishing"): a table whose run recorded
its changed rows gets exactly those written to the lake, and equals the working table afterwards, row for row and
copy for copy; when the change set is not exactly the difference from the lake, the whole table is compared. Each
on both catalogs: the default SQLite file and a PostgreSQL database (`warehouse_catalog`)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines import warehouse
from pipelines.fingerprints import after_change_set, fingerprint
from pipelines.publish import lake
from pipelines.transform import changes
from tests.conftest import cli_environment, use_settings
from tests.test_lake import publish

# 1,000 events, one an hour from 2024-03-01 00:00 UTC: every column type the bounds of a delete are taken of
# (BIGINT, TIMESTAMPTZ, DECIMAL, UUID, VARCHAR, DATE), and a column of NULLs (no bound).
EVENTS = """
create table staging.events as
select
    range::bigint as id,
    timestamptz '2024-03-01 00:00:00+00' + range * interval 1 hour as happened_at,
    (range % 3)::decimal(12, 2) as amount,
    ('00000000-0000-0000-0000-' || lpad(range::varchar, 12, '0'))::uuid as user_id,
    ['login', 'page_view'][range % 2 + 1] as kind,
    (timestamptz '2024-03-01 00:00:00+00' + range * interval 1 hour)::date as day,
    null::varchar as note
from range(1000)
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def work(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A working file, published once: 1,000 staged events, a mart of equal rows (1, 1, 1, 2), the run record. The
    lake's catalog is the default SQLite file, or a PostgreSQL database (`warehouse_catalog`: a warehouse several
    machines share), whose catalog DuckLake reads through another extension."""
    env = cli_environment(tmp_path, "postgresql://nobody@localhost/unused")
    if request.param == "postgresql":
        env["EBOOK_ANALYTICS_WAREHOUSE_CATALOG"] = request.getfixturevalue("create_database")()
    use_settings(monkeypatch, env)
    assert lake.configured().postgres == (request.param == "postgresql")
    lake.work_file().parent.mkdir(parents=True)
    con = warehouse.connect(lake.work_file())
    for schema in ("staging", "marts", "meta"):
        con.execute(f"create schema {schema}")
    con.execute(EVENTS)
    con.execute("create table marts.counts as select * from (values (1), (1), (1), (2)) as counts (n)")
    con.execute("create table meta.publication (run_id varchar, published_at timestamptz)")
    first = publish(con, "run-1")
    assert first.methods == {"marts.counts": "replace", "meta.publication": "replace", "staging.events": "replace"}
    yield con
    con.close()


def _change(con: duckdb.DuckDBPyConnection, table: str, *steps: tuple[str, str, str]) -> None:
    """Change `table` as a run does, recording each step's changed rows: (old versions' condition, the statement,
    new versions' condition); a condition selects rows of the table (before, then after the statement)."""
    for old, statement, new in steps:
        changes.record(con, table, "old", f"from {table} where {old}")
        con.execute(statement)
        changes.record(con, table, "new", f"from {table} where {new}")


def _published(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    """The latest publication's rows of `table`, sorted (equal rows stay apart)."""
    with lake.attached(con, lake.configured(), read_only=True):
        return con.execute(f"from lake.{table} order by all").fetchall()


def _equal_to_work(con: duckdb.DuckDBPyConnection, *tables: str) -> None:
    for table in tables:
        assert _published(con, table) == con.execute(f"from {table} order by all").fetchall(), table


def _rows_written(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, int]:
    """The rows the latest snapshot deleted from and inserted into `table`, by kind of change (DuckLake's own
    record of them)."""
    schema, name = table.split(".")
    with lake.attached(con, lake.configured(), read_only=True):
        row = con.execute("select max(snapshot_id) from lake.snapshots()").fetchone()
        assert row is not None
        rows = con.execute(
            "select change_type, count(*) from ducklake_table_changes('lake', $schema, $table, $snapshot, $snapshot) "
            "group by all",
            {"schema": schema, "table": name, "snapshot": row[0]},
        ).fetchall()
    return dict(rows)


def test_appended_updated_deleted_and_restored_rows_publish_by_change_set(work: duckdb.DuckDBPyConnection) -> None:
    events = "staging.events"
    new_day = (
        "insert into staging.events select id + 1000, happened_at + interval 1000 hour, amount, user_id, kind, "
        "(happened_at + interval 1000 hour)::date, note from staging.events where id < 24"
    )

    # A day of new rows only: 24 inserted, nothing deleted (no delete statement at all: the snapshot inserted only).
    changes.start(work)
    _change(work, events, ("false", new_day, "id >= 1000"))
    written = publish(work, "run-2")
    assert (written.tables, written.methods) == (
        {"staging.events": 24, "meta.publication": 2},
        {"staging.events": "change set", "meta.publication": "diff"},
    )
    assert _rows_written(work, events) == {"insert": 24}
    _equal_to_work(work, events)
    assert len(_published(work, events)) == 1024

    # Row 5 updated in place (amount 2 -> 9), row 7 deleted: 2 old versions out, 1 new in.
    changes.start(work)
    _change(
        work,
        events,
        ("id = 5", "update staging.events set amount = 9 where id = 5", "id = 5"),
        ("id = 7", "delete from staging.events where id = 7", "false"),
    )
    written = publish(work, "run-3")
    assert (written.tables["staging.events"], written.methods["staging.events"]) == (3, "change set")
    assert _rows_written(work, events) == {"delete": 2, "insert": 1}
    _equal_to_work(work, events)
    published = _published(work, events)
    assert (len(published), [row[0] for row in published[5:8]], published[5][2]) == (1023, [5, 6, 8], Decimal("9.00"))

    # Row 5 back to its earlier value; row 6 changed and changed back within the run (its old and new versions
    # cancel: neither deleted nor inserted).
    changes.start(work)
    _change(
        work,
        events,
        ("id = 5", "update staging.events set amount = 2 where id = 5", "id = 5"),
        ("id = 6", "update staging.events set kind = 'logout' where id = 6", "id = 6"),
        ("id = 6", "update staging.events set kind = 'login' where id = 6", "id = 6"),
    )
    written = publish(work, "run-4")
    assert (written.tables["staging.events"], written.methods["staging.events"]) == (2, "change set")
    assert _rows_written(work, events) == {"delete": 1, "insert": 1}
    _equal_to_work(work, events)
    published = _published(work, events)
    assert [(row[0], row[2], row[4]) for row in published[5:7]] == [
        (5, Decimal("2.00"), "page_view"),
        (6, Decimal("0.00"), "login"),
    ]


def test_equal_rows_keep_their_copies(work: duckdb.DuckDBPyConnection) -> None:
    counts = "marts.counts"
    # (1, 1, 1, 2) -> (1, 1, 2, 2): one copy of 1 out (the delete takes all three; two go back from the working
    # table), one more 2 in: 3 deleted, 2 + 1 inserted.
    changes.start(work)
    work.execute("create or replace table marts.counts as select * from (values (1), (1), (2), (2)) as counts (n)")
    changes.record(work, counts, "old", "select 1 as n")
    changes.record(work, counts, "new", "select 2 as n")
    written = publish(work, "run-2")
    assert (written.tables["marts.counts"], written.methods["marts.counts"]) == (6, "change set")
    assert _rows_written(work, counts) == {"delete": 3, "insert": 3}
    assert _published(work, counts) == [(1,), (1,), (2,), (2,)]

    # Another copy of 2 only: inserted beside the two published, nothing deleted.
    changes.start(work)
    work.execute("insert into marts.counts values (2)")
    changes.record(work, counts, "new", "select 2 as n")
    written = publish(work, "run-3")
    assert (written.tables["marts.counts"], written.methods["marts.counts"]) == (1, "change set")
    assert _published(work, counts) == [(1,), (1,), (2,), (2,), (2,)]
    assert _rows_written(work, counts) == {"insert": 1}


def test_a_change_set_that_is_not_the_whole_difference_falls_back_to_comparing_the_table(
    work: duckdb.DuckDBPyConnection,
) -> None:
    events = "staging.events"
    # Row 8 changed outside the change set (row 9's is recorded): the sums do not add up, the table is compared.
    changes.start(work)
    work.execute("update staging.events set amount = 7 where id = 8")
    _change(work, events, ("id = 9", "update staging.events set amount = 7 where id = 9", "id = 9"))
    written = publish(work, "run-2")
    assert (written.tables["staging.events"], written.methods["staging.events"]) == (4, "diff")
    assert _rows_written(work, events) == {"delete": 2, "insert": 2}
    _equal_to_work(work, events)

    # A held-back mart: its change set recorded, then its published rows put back (as `keep_previous` does): it equals
    # the lake again, and is not written at all.
    changes.start(work)
    _change(work, "marts.counts", ("n = 2", "update marts.counts set n = 3 where n = 2", "n = 3"))
    work.execute("create or replace table marts.counts as select * from (values (1), (1), (1), (2)) as counts (n)")
    written = publish(work, "run-3")
    assert "marts.counts" not in written.tables and "marts.counts" not in written.methods
    assert _published(work, "marts.counts") == [(1,), (1,), (1,), (2,)]

    # A restore keeps the fingerprints as published (of the tables it kept, and of those it copied back, taken after
    # the copy): a change recorded after it is still written by its change set.
    lake.mark(work, snapshot_id=3, dirty=True)
    work.execute("update staging.events set amount = 8 where id = 11")  # the dead run's change, copied back over
    with lake.attached(work, lake.configured(), read_only=True):
        lake.restore(work, lake.resolve(lake.configured(), None))
    changes.start(work)
    _change(work, events, ("id = 10", "delete from staging.events where id = 10", "false"))
    written = publish(work, "run-4")
    assert (written.tables["staging.events"], written.methods["staging.events"]) == (1, "change set")
    _equal_to_work(work, events)
    assert len(_published(work, events)) == 999


def test_a_change_set_reads_only_the_lake_files_its_rows_can_be_in(work: duckdb.DuckDBPyConnection) -> None:
    events = "staging.events"
    changes.start(work)
    _change(
        work,
        events,
        (
            "false",
            "insert into staging.events select id + 1000, * exclude (id) from staging.events where id < 24",
            "id >= 1000",
        ),
    )
    publish(work, "run-2")
    with lake.attached(work, lake.configured(), read_only=True):
        files = [
            Path(path)
            for (path,) in work.execute(
                "select data_file from ducklake_list_files('lake', 'events', schema => 'staging')"
            ).fetchall()
        ]
        first = [
            path for path in files if work.execute(f"select min(id) from read_parquet('{path}')").fetchone() == (0,)
        ]
    assert len(files) == 2 and len(first) == 1  # the first 1,000 rows, and the day appended

    # The first publication's file is away while rows of the appended day are updated and deleted: their ids'
    # range (1005-1007) rules it out, so it is never opened; comparing the table whole would need it, and so would a
    # filter on their times alone (copied from the first rows: that range reaches the first file, not the second).
    aside = first[0].with_name("aside.parquet")
    first[0].rename(aside)
    changes.start(work)
    _change(
        work,
        events,
        ("id = 1005", "update staging.events set kind = 'logout' where id = 1005", "id = 1005"),
        ("id = 1007", "delete from staging.events where id = 1007", "false"),
    )
    written = publish(work, "run-3")
    aside.rename(first[0])
    assert (written.tables["staging.events"], written.methods["staging.events"]) == (3, "change set")
    _equal_to_work(work, events)


# 300,000 events in one data file, three row groups of it (DuckLake writes 122,880 rows to a row group): ids in no
# order (as random UUIDs are), times in the order the rows were written, one a minute from 2024-01-01 00:00 UTC.
BIG = """
create table staging.big as
select
    md5(range::varchar)::uuid as id,
    timestamptz '2024-01-01 00:00:00+00' + range * interval 1 minute as created_at,
    range as minute,
    range % 7 as n
from range(300000)
"""


def test_a_change_set_in_a_big_file_is_bounded_by_its_times_whose_row_groups_are_skipped(
    work: duckdb.DuckDBPyConnection,
) -> None:
    """No column's range rules the one file out, but the times' range reaches one row group of its three, which DuckDB
    skips the others of by their statistics; the ids' range reaches them all (and DuckDB prunes no row group by a
    UUID's statistics)."""
    big = "staging.big"
    work.execute(BIG)
    assert publish(work, "run-2").methods[big] == "replace"

    def update(*minutes: int) -> tuple[int, str, dict[str, str]]:
        """Update the rows of those minutes since 2024-01-01 00:00 UTC (row n is minute n) and publish."""
        changes.start(work)
        rows = f"minute in {minutes}"
        _change(work, big, (rows, f"update {big} set n = n + 100 where {rows}", rows))
        written = publish(work, f"run-{minutes}")
        return written.tables[big], written.methods[big], written.bounded_by

    # minutes 150,000 and 150,030 are in the second row group (rows 122,880-245,759): one range
    assert update(150_000, 150_030) == (4, "change set", {big: "created_at"})
    # minute 5,000 is in the first, 290,000 in the third: two ranges, a delete each, as 200 days lie between them
    assert update(5_000, 290_000) == (4, "change set", {big: "created_at, 2 ranges"})
    with lake.attached(work, lake.configured(), read_only=True):  # compared in DuckDB: 300,000 rows
        lake_only, work_only = f"from lake.{big} except all from {big}", f"from {big} except all from lake.{big}"
        differing = f"select count(*) from (({lake_only}) union all ({work_only}))"
        assert work.execute(differing).fetchone() == (0,)


def test_a_diff_is_exactly_the_multiset_difference() -> None:
    """`changes.record_diff` (by row hashes) records what EXCEPT ALL gives each way: equal rows counted, NULLs equal,
    a row moved between copies recorded only by the copies that differ in number."""
    con = duckdb.connect()
    con.execute(
        "create table before as select * from (values (1, 'a'), (1, 'a'), (1, 'a'), (2, null), (3, 'c'), (5, 'e'))"
        " as rows (n, s)"
    )
    con.execute(
        "create table after as select * from (values (1, 'a'), (2, null), (4, 'd'), (4, 'd'), (5, 'e'), (5, 'e'))"
        " as rows (n, s)"
    )
    changes.start(con)
    assert changes.record_diff(con, "marts.things", "from before", "from after") == 6
    recorded = con.execute(f"select _version, n, s from {changes.change_table('marts.things')} order by all").fetchall()
    assert recorded == [
        ("new", 4, "d"),
        ("new", 4, "d"),
        ("new", 5, "e"),
        ("old", 1, "a"),
        ("old", 1, "a"),
        ("old", 3, "c"),
    ]
    assert changes.record_diff(con, "marts.same", "from before", "from before") == 0


@pytest.mark.fast
def test_a_change_set_added_to_after_its_fingerprint_was_read_is_read_again() -> None:
    """The transform, the checks and the publish each take what a change set does to its table's fingerprint; it is
    read once (`changes.fingerprint_change`), and read again once the change set grows: the table as published,
    changed by each, is the table as it is after each step."""
    con = duckdb.connect()
    con.execute("create schema staging")
    con.execute("create table staging.t as select range as id, range * 10 as v from range(5)")
    published = fingerprint(con, "staging", "t")
    name = changes.change_table("staging.t")
    changes.start(con)
    _change(con, "staging.t", ("id = 1", "update staging.t set v = 11 where id = 1", "id = 1"))
    assert changes.fingerprint_change(con, name)[:2] == (1, 1)
    assert after_change_set(con, name, published) == fingerprint(con, "staging", "t")
    _change(con, "staging.t", ("id = 3", "delete from staging.t where id = 3", "false"))
    assert changes.fingerprint_change(con, name)[:2] == (2, 1)  # old versions of ids 1 and 3, the new one of id 1
    # not read again, the first step's change (5 rows) would be taken for the table now (4 rows)
    assert after_change_set(con, name, published) == fingerprint(con, "staging", "t")
    assert fingerprint(con, "staging", "t")[0] == 4
