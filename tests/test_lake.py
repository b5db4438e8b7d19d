"""Publications as DuckLake snapshots (`pipelines.publish.lake`), without the source: a working DuckDB file published
by difference, readers on one snapshot, `--as-of`, retention and compaction, a reader during publishes."""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines import warehouse
from pipelines.config import paths
from pipelines.errors import UserError
from pipelines.publish import lake
from tests.conftest import REPO_ROOT, cli_environment, run_cli, use_settings


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    settings = cli_environment(tmp_path, "postgresql://nobody@localhost/unused")  # no command here reads the source
    use_settings(monkeypatch, settings)
    return settings


@pytest.fixture
def work(env: dict[str, str]) -> Iterator[duckdb.DuckDBPyConnection]:
    """A working file as the ETL keeps it: a 1,000-row mart, a one-row mart and the publication record."""
    lake.work_file().parent.mkdir(parents=True)
    con = warehouse.connect(lake.work_file())
    con.execute("create schema marts")
    con.execute("create schema meta")
    con.execute("create table marts.sales as select range as id, 1 as version from range(1000)")
    con.execute("create table marts.one as select 1 as version")
    con.execute("create table meta.publication (run_id varchar, published_at timestamptz)")
    yield con
    con.close()


def publish(con: duckdb.DuckDBPyConnection, run_id: str, published_at: datetime | None = None) -> lake.Written:
    con.execute("delete from meta.publication")
    con.execute("insert into meta.publication values ($run_id, $at)", {"run_id": run_id, "at": published_at or _now()})
    with lake.attached(con, lake.configured()):
        return lake.publish(con, run_id)


def _now() -> datetime:
    return datetime.now(UTC)


def _reader(script: str, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """`script` (Python) with `args` in a process of its own, as a reader of the warehouse; stdin, stdout and stderr
    piped, as text."""
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        env=env,
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_publication_writes_only_what_changed_and_each_stays_readable(work: duckdb.DuckDBPyConnection) -> None:
    first = publish(work, "run-1")
    assert first.tables == {"marts.one": -1, "marts.sales": -1, "meta.publication": -1}  # created whole

    work.execute("update marts.sales set version = 2 where id < 3")
    second = publish(work, "run-2")
    # 3 rows out and 3 in; the one-row mart is untouched; the publication record is 1 out and 1 in.
    assert second.tables == {"marts.sales": 6, "meta.publication": 2}

    work.execute("alter table marts.one add column note varchar")  # a mart whose columns changed is replaced
    work.execute("delete from marts.sales where id = 999")
    third = publish(work, "run-3")
    assert third.tables == {"marts.one": -1, "marts.sales": 1, "meta.publication": 2}

    published = lake.configured()
    assert [(p.snapshot_id, p.run_id) for p in lake.publications(published)] == [
        (1, "run-1"),
        (2, "run-2"),
        (3, "run-3"),
    ]
    query = "select run_id, count(*), sum(version) from marts.sales, meta.publication group by run_id"
    for as_of, expected in (("run-1", 1000), ("run-2", 1003), ("run-3", 1002), (None, 1002)):
        with warehouse.open_publication(as_of) as con:
            assert con.execute(query).fetchall() == [
                (as_of or "run-3", 1000 if as_of in ("run-1", "run-2") else 999, expected)
            ]
    # A time names the last publication at or before it.
    second_at = lake.publications(published)[1].published_at
    with warehouse.open_publication((second_at + timedelta(microseconds=1)).isoformat()) as con:
        assert con.execute("select run_id from meta.publication").fetchall() == [("run-2",)]
    # Readers cannot write.
    with warehouse.open_publication() as con, pytest.raises(duckdb.Error, match="read-only|read only"):
        con.execute("delete from marts.sales")
    # The working file keeps the columns as published (the lake is not listed at each publish): the table replaced
    # for its columns is known with them, and not replaced again.
    assert lake.published_columns(work)[("marts", "one")] == [("version", "INTEGER"), ("note", "VARCHAR")]
    assert publish(work, "run-4").tables == {"meta.publication": 2}


def test_a_dirty_working_file_is_restored_from_the_lake(work: duckdb.DuckDBPyConnection) -> None:
    publish(work, "run-1")
    assert lake.work_state(work) == (1, False)
    work.execute(
        "create table main.mart_parameters as from (values ('sales', '{}'), ('one', '{}')) p (mart, parameters)"
    )
    lake.mark(work, snapshot_id=1, dirty=True)  # a run started, changed things, and died
    work.execute("update marts.sales set version = 7")
    work.execute("create table marts.half_built as select 1 as x")
    before = _table_oids(work)
    restore(work)
    assert lake.work_state(work) == (1, False)
    assert work.execute("select sum(version) from marts.sales").fetchall() == [(1000,)]
    after = _table_oids(work)
    assert sorted(after) == ["marts.one", "marts.sales", "meta.publication"]
    # Only the table the dead run changed was copied back; the others still hold their published rows, in place.
    assert {name for name in after if after[name] != before[name]} == {"marts.sales"}
    # The copied mart forgets the parameters it was built with (its model is recomputed if it binds any).
    assert work.execute("select mart from main.mart_parameters").fetchall() == [("one",)]
    # Every table's fingerprint as published is known again: the next publish reads none of them in the lake.
    assert publish(work, "run-2").methods == {"meta.publication": "diff"}  # (written outside a change set)

    # A file dirty on an older publication than the lake's latest knows nothing of it: every table is copied.
    lake.mark(work, snapshot_id=1, dirty=True)
    before = _table_oids(work)
    restore(work)
    after = _table_oids(work)
    assert all(after[name] != before[name] for name in after) and lake.work_state(work) == (2, False)


def restore(con: duckdb.DuckDBPyConnection) -> None:
    with lake.attached(con, lake.configured(), read_only=True):
        lake.restore(con, lake.resolve(lake.configured(), None))


def test_a_catalog_restored_in_place_then_published_to_is_another_version(work: duckdb.DuckDBPyConnection) -> None:
    published = lake.configured()
    assert published.local is not None
    publish(work, "run-1")
    backup = published.local.read_bytes()
    work.execute("update marts.one set version = 2")
    publish(work, "run-2")
    seen = lake.version(published)  # what the dashboards keep run-2's numbers under
    assert seen is not None

    published.local.write_bytes(backup)  # a backup copied over the catalog: the same file (inode), run-1's snapshots
    assert lake.version(published) != seen
    again = lake.new_snapshot(published)  # the restored catalog's next snapshot takes run-2's snapshot id ...
    assert again.split("-")[:2] == seen.split("-")[:2]
    assert again != seen  # ... and is another publication: another version, never run-2's cached numbers


@pytest.mark.parametrize(
    "committed",
    [
        "2026-12-06 07:02:54.07672+00",  # SQLite's text, a trailing zero cut
        "2026-12-06 12:32:54.07672+05:30",  # written in another zone
        datetime(2026, 12, 6, 7, 2, 54, 76720, tzinfo=UTC),  # PostgreSQL's
    ],
)
def test_a_commit_time_is_the_same_utc_digits_however_the_catalog_wrote_it(committed: object) -> None:
    assert lake.commit_stamp(committed) == "20261206070254076720"


def _table_oids(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The working file's published tables by name, each with its catalog id (a table made anew gets another)."""
    rows = con.execute(
        "select schema_name || '.' || table_name, table_oid from duckdb_tables()"
        " where database_name = current_database() and schema_name in ('marts', 'meta')"
    ).fetchall()
    return dict(rows)


def test_retention_expires_old_publications_then_as_of_them_is_one_line(
    work: duckdb.DuckDBPyConnection, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in (1, 2, 3):
        work.execute("update marts.sales set version = $n where id < 10", {"n": n})
        publish(work, f"run-{n}")
    published = lake.configured()
    files = _data_files(published)

    # 91 days later, with the default 90 days kept: run-1 and run-2 are past it; the latest always stays.
    later = _now() + timedelta(days=91)
    with lake.attached(work, published):
        done = lake.maintain(work, published, now=later, days=lake.retention_days())
    assert [p.run_id for p in lake.publications(published)] == ["run-3"]
    assert done["expired"] == 3  # the catalog's creation and run-1, run-2
    assert (len(files), len(_data_files(published))) == (1, 1)  # ten-row changes live in the catalog (inlined)
    with warehouse.open_publication() as con:
        assert con.execute("select count(*), sum(version) from marts.sales").fetchall() == [(1000, 1020)]

    refused = run_cli("sql", "select 1", "--as-of", "run-1", env=env, check=False)
    oldest = lake.publications(published)[0]
    assert (refused.returncode, refused.stderr) == (
        1,
        "error: no kept publication is run run-1, nor is it an ISO time (publications are kept 90 days); the"
        " oldest kept is run run-3, "
        f"published {oldest.published_at.isoformat()}\n",
    )
    monkeypatch.setenv("EBOOK_ANALYTICS_PUBLICATION_RETENTION_DAYS", "30")
    assert lake.retention_days() == 30
    monkeypatch.setenv("EBOOK_ANALYTICS_PUBLICATION_RETENTION_DAYS", "a month")
    with pytest.raises(UserError, match="PUBLICATION_RETENTION_DAYS is 'a month'; set it to a whole number"):
        lake.retention_days()


def test_runs_maintain_the_lake_hourly_at_most(work: duckdb.DuckDBPyConnection) -> None:
    at = _now()
    assert lake.maintenance_due(work, at)  # never maintained: the first run does it
    lake.maintained(work, at)
    assert not lake.maintenance_due(work, at + timedelta(minutes=59, seconds=59))
    assert lake.maintenance_due(work, at + timedelta(hours=1))


def test_compaction_keeps_the_file_count_bounded_and_old_publications_readable(
    work: duckdb.DuckDBPyConnection,
) -> None:
    for n in range(1, 11):  # ten publications, each adding 100 rows: a small file each
        work.execute("insert into marts.sales select 1000 * $n + range, $n from range(100)", {"n": n})
        publish(work, f"run-{n}")
    published = lake.configured()
    assert len(_data_files(published)) == 10  # run-1 made the table (one file), then one file per publication
    with lake.attached(work, published):
        done = lake.maintain(work, published, now=_now() + timedelta(hours=2), days=90)  # past the clean-up's grace
    # Every publication kept; 10 files merged into 1; none had deleted rows, and no run was killed.
    assert done == {"expired": 0, "rewritten": 0, "merged": 1, "deleted": 10, "orphans_deleted": 0}
    assert len(_data_files(published)) == 1
    # The merge is a snapshot of the catalog's own, the newest, but no publication: the latest is still run-10.
    with lake.attached(work, published):
        (newest_snapshot,) = work.execute("select max(snapshot_id) from ducklake_snapshots('lake')").fetchone()
    latest = lake.latest(published)
    assert latest is not None and (latest.run_id, latest.snapshot_id < newest_snapshot) == ("run-10", True)
    assert latest == lake.publications(published)[-1] == lake.resolve(published, None)
    query = "select count(*), sum(version) from marts.sales"
    with warehouse.open_publication("run-4") as con:  # still exactly as published
        assert con.execute(query).fetchall() == [(1400, 1000 + 100 * (1 + 2 + 3 + 4))]
    with warehouse.open_publication() as con:
        assert con.execute(query).fetchall() == [(2000, 1000 + 100 * 55)]

    # A file as large as the merge's bound stays as it is (at `large`, a first load's file rewritten every hour
    # with the hour's few small ones): three more publications merge into one file of their own beside it.
    (merged,) = _data_files(published)
    for n in range(11, 14):
        work.execute("insert into marts.sales select 1000 * $n + range, $n from range(100)", {"n": n})
        publish(work, f"run-{n}")
    with lake.attached(work, published):
        done = lake.maintain(
            work, published, now=_now() + timedelta(hours=4), days=90, merge_smaller_than=merged.stat().st_size
        )
    assert done == {"expired": 0, "rewritten": 0, "merged": 1, "deleted": 3, "orphans_deleted": 0}
    assert merged in _data_files(published) and len(_data_files(published)) == 2
    with warehouse.open_publication() as con:
        assert con.execute(query).fetchall() == [(2300, 1000 + 100 * (55 + 11 + 12 + 13))]


KILLED_WRITER = """
import os, signal
import duckdb
from pipelines.publish import lake
con = duckdb.connect()
lake.attach(con, lake.configured(), read_only=False)
con.execute("begin")
con.execute("insert into lake.marts.sales select 10000 + range, 99 from range(100000)")  # Parquet, not inlined
os.kill(os.getpid(), signal.SIGKILL)  # before the commit
"""

HOLDER = """
import sys
from pipelines import warehouse
copies = sys.argv[2] == "copies"  # as the dashboards: the second session reading marts.sales reads its copy
query = "select count(*), sum(version) from marts.sales"
for _ in range(2 if copies else 1):
    con = warehouse.connect(sys.argv[1], read_only=True, copies=copies, reads=(query,))
print(*con.execute(query).fetchone(), flush=True)
sys.stdin.readline()  # hold the publication open through the others' publications and the clean-up
print(*con.execute(query).fetchone(), flush=True)
"""


def _orphans(work: duckdb.DuckDBPyConnection, published: lake.Lake) -> list[str]:
    with lake.attached(work, published):
        return [
            name
            for (name,) in work.execute(
                "select * from ducklake_delete_orphaned_files('lake', dry_run => true, cleanup_all => true)"
            ).fetchall()
        ]


def test_a_killed_commit_leaves_no_trace_and_a_reader_keeps_its_publication_through_clean_up(
    work: duckdb.DuckDBPyConnection, env: dict[str, str]
) -> None:
    publish(work, "run-1")
    published = lake.configured()
    holders = [_reader(HOLDER, env, env["EBOOK_ANALYTICS_WAREHOUSE"], how) for how in ("lake", "copies")]
    for holder in holders:
        assert holder.stdout.readline() == "1000 1000\n"

    # A writer killed after writing its data files, before its commit: nothing of it is published, its files are
    # orphans, and the next publication commits as if it had never been.
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER], env=env, cwd=REPO_ROOT, capture_output=True)
    assert killed.returncode == -9, killed.stderr
    orphans = _orphans(work, published)
    assert orphans and all(Path(name).exists() for name in orphans)
    with warehouse.open_publication() as con:
        assert con.execute("select count(*), sum(version) from marts.sales").fetchall() == [(1000, 1000)]
    for n in (2, 3):  # 600 of the 1,000 rows change: run-1's file holds more deleted rows than live ones
        work.execute("update marts.sales set version = $n where id < 600", {"n": n})
        publish(work, f"run-{n}")

    with lake.attached(work, published):
        done = lake.maintain(work, published, now=_now() + timedelta(hours=2), days=90)  # past the grace
    assert done["orphans_deleted"] == len(orphans) and _orphans(work, published) == []
    assert not any(Path(name).exists() for name in orphans)
    assert done["rewritten"] >= 1 and done["deleted"] >= 1, done  # run-1's file rewritten, the old one deleted

    # The readers still read run-1 exactly (through the lake, and from a dashboard's copy); so does anyone opening it
    # now, and the latest is run-3.
    for holder in holders:
        out, err = holder.communicate("\n", timeout=60)
        assert (holder.returncode, out) == (0, "1000 1000\n"), err
    for as_of, expected in (("run-1", 1000), ("run-2", 600 * 2 + 400), (None, 600 * 3 + 400)):
        with warehouse.open_publication(as_of) as con:
            assert con.execute("select count(*), sum(version) from marts.sales").fetchall() == [(1000, expected)]


def _data_files(published: lake.Lake) -> list[Path]:
    return sorted(published.data_path.rglob("*.parquet"))


READER = """
import sys
from pipelines import warehouse
seen, held = set(), warehouse.connect(sys.argv[1], read_only=True)
first = held.execute("select min(version) from marts.sales").fetchone()[0]
print("ready", flush=True)
while True:
    con = warehouse.connect(sys.argv[1], read_only=True)
    row = con.execute(
        "select (select min(version) from marts.sales), (select max(version) from marts.sales), "
        "(select min(version) from marts.one), (select count(*) from marts.sales)"
    ).fetchone()
    con.close()
    if len(set(row[:3])) != 1 or row[3] != 1000:
        print("mixed", row, flush=True)
    seen.add(row[0])
    if row[0] == int(sys.argv[2]):
        break
assert held.execute("select min(version), max(version) from marts.sales").fetchone() == (first, first)
print("versions", len(seen), flush=True)
"""


def test_a_reader_during_publications_sees_one_whole_publication_at_a_time(
    work: duckdb.DuckDBPyConnection, env: dict[str, str]
) -> None:
    publish(work, "run-1")
    last = 30
    reader = _reader(READER, env, env["EBOOK_ANALYTICS_WAREHOUSE"], str(last))
    assert reader.stdout.readline() == "ready\n"
    for n in range(2, last + 1):  # every row of both marts changes in each publication
        work.execute("update marts.sales set version = $n", {"n": n})
        work.execute("update marts.one set version = $n", {"n": n})
        publish(work, f"run-{n}")
    out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err
    assert "mixed" not in out
    assert int(out.split()[-1]) >= 2  # it saw publications come and go while it read


LOCK_HOLDER = """
import sys
from pipelines import warehouse
from pipelines.publish import lake
held = warehouse.connect(sys.argv[1], read_only=True)
held.execute("select count(*) from marts.sales").fetchone()
print("reading", flush=True)
sys.stdin.readline()
# What a dashboard does between its reads: is there a newer publication, which ones are kept, open a session.
lake.version(lake.configured())
warehouse.connect(sys.argv[1], read_only=True).close()
print("checked", flush=True)
sys.stdin.readline()
"""


def _shared_lock_holder(catalog: Path) -> int | None:
    """The process holding a lock on the SQLite file's shared-lock bytes (SQLite's SHARED lock), if any: F_GETLK
    with a write lock over them answers with a conflicting lock's owner."""
    pending_byte = 0x40000000
    query = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, pending_byte + 2, 510, 0)
    with catalog.open("rb") as handle:
        kind, _, _, _, pid = struct.unpack("hhqqi4x", fcntl.fcntl(handle, fcntl.F_GETLK, query))
    return None if kind == fcntl.F_UNLCK else pid


def test_a_readers_catalog_locks_survive_its_checks_for_a_new_publication(
    work: duckdb.DuckDBPyConnection, env: dict[str, str]
) -> None:
    # A reader's SQLite locks on the catalog are what keep a publication's checkpoint from rewriting the pages it
    # reads; they were dropped whenever the same process read the catalog with Python's own sqlite3 (two copies of
    # SQLite in one process: closing any descriptor of the file drops all of the process's locks on it), and a reader
    # during publications failed now and then with "database disk image is malformed".
    publish(work, "run-1")
    catalog = lake.configured().local
    assert catalog is not None
    with catalog.open("rb") as handle:  # the header's read and write versions: 2, WAL (readers never block a commit)
        assert handle.read(20)[18:] == b"\x02\x02"
    reader = _reader(LOCK_HOLDER, env, env["EBOOK_ANALYTICS_WAREHOUSE"])
    assert reader.stdin is not None and reader.stdout is not None
    try:
        assert reader.stdout.readline() == "reading\n"
        assert _shared_lock_holder(catalog) == reader.pid  # DuckLake's SQLite keeps the catalog open between reads
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline() == "checked\n"
        assert _shared_lock_holder(catalog) == reader.pid
    finally:
        out, err = reader.communicate("\n", timeout=60)
    assert reader.returncode == 0, err


# The dashboards' reads (`copies=True`): small tables from an in-memory copy, the others through the lake.
DASHBOARD_QUERIES = (
    "select count(*), sum(version) from marts.sales",
    "select * from marts.money order by id",
    "select typeof(amount), typeof(paid_at), typeof(day) from marts.money limit 1",
    # a copied table joined to one read through the lake, and the publication record
    "select m.id, m.amount, s.version, p.run_id from marts.money m join marts.sales s on s.id = m.id "
    "cross join meta.publication p order by all",
    "select id, utc_day(paid_at), picked([], id), picked([2], id) from marts.money order by id",  # the house macros
    "select current_setting('TimeZone')",
    "select table_schema, table_name, column_name, data_type from information_schema.columns "
    "where table_catalog = current_database() and table_schema <> 'information_schema' order by all",
)


def _session() -> duckdb.DuckDBPyConnection:
    """A dashboard session of the latest publication declaring it reads DASHBOARD_QUERIES."""
    return warehouse.connect(paths().warehouse, read_only=True, copies=True, reads=DASHBOARD_QUERIES)


def _answers(as_of: str | None = None, *, copies: bool) -> tuple[str, list[list[tuple[object, ...]]]]:
    """The session's database (`memory`: the dashboards' base; `lake`: read through the lake) and its
    DASHBOARD_QUERIES rows."""
    con = warehouse.connect(paths().warehouse, read_only=True, as_of=as_of, copies=copies, reads=DASHBOARD_QUERIES)
    try:
        return _database(con), [con.execute(query).fetchall() for query in DASHBOARD_QUERIES]
    finally:
        con.close()


def _database(con: duckdb.DuckDBPyConnection) -> str:
    (database,) = con.execute("select current_database()").fetchone() or ("",)
    return str(database)


def _kinds(con: duckdb.DuckDBPyConnection | None = None) -> list[tuple[str, str]]:
    """What each table of a dashboard session (`con`, or a new one) is: a copy (BASE TABLE) or a view onto the lake
    (VIEW)."""
    session = con or warehouse.connect(paths().warehouse, read_only=True, copies=True)
    try:
        return session.execute(
            "select table_schema || '.' || table_name, table_type from information_schema.tables "
            "where table_catalog = 'memory' order by all"
        ).fetchall()
    finally:
        if con is None:
            session.close()


def _viewed(
    *copies: str, tables: tuple[str, ...] = ("marts.money", "marts.one", "marts.sales", "meta.publication")
) -> list[tuple[str, str]]:
    return [(table, "BASE TABLE" if table in copies else "VIEW") for table in tables]


THE_WORK = ("marts.one", "marts.sales", "meta.publication")  # the tables of the `work` fixture


def test_a_dashboard_reader_copies_a_small_table_on_its_second_read_and_answers_as_the_lake(
    work: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    work.execute(
        "create table marts.money as select * from (values "
        "(1, 12.345::decimal(18, 6), timestamptz '2024-03-01 23:30:00-02', date '2024-03-02'), "
        "(2, null, null, null)) as t(id, amount, paid_at, day)"
    )
    publish(work, "run-1")
    work.execute("update marts.sales set version = 2 where id < 10")
    publish(work, "run-2")
    # Only tables whose rows all live in the catalog (inlined, no data file) are under a threshold of 0 MB.
    monkeypatch.setenv("EBOOK_ANALYTICS_READER_COPY_MAX_MB", "0")

    assert _kinds() == _viewed()  # the base starts with views only
    database, first = _answers(copies=True)
    assert database == "memory"
    assert _kinds() == _viewed()  # a first read goes through the lake
    assert _answers(copies=True) == ("memory", first)  # the second copies what it reads
    # marts.one is small but never read; marts.sales is read but over the threshold: both stay views, read or not.
    assert _kinds() == _viewed("marts.money", "meta.publication")
    assert _answers(copies=True) == ("memory", first)
    assert _kinds() == _viewed("marts.money", "meta.publication")
    assert _answers(copies=False) == ("lake", first)
    assert first[:6] == [
        [(1000, 1010)],
        [
            (1, Decimal("12.345000"), datetime(2024, 3, 2, 1, 30, tzinfo=UTC), date(2024, 3, 2)),
            (2, None, None, None),
        ],
        [("DECIMAL(18,6)", "TIMESTAMP WITH TIME ZONE", "DATE")],
        [(1, Decimal("12.345000"), 2, "run-2"), (2, None, 2, "run-2")],  # a copy joined to a view, and one more copy
        [(1, date(2024, 3, 2), True, False), (2, None, True, True)],
        [("UTC",)],
    ]
    # An older publication is read through the lake, as published.
    database, older = _answers("run-1", copies=True)
    assert (database, older) == _answers("run-1", copies=False)
    assert database == "lake" and older[0] == [(1000, 1000)] and older[3][0][3] == "run-1"
    # The copies are read-only too.
    with closing(_session()) as con, pytest.raises(duckdb.Error, match="read-only"):
        con.execute("delete from marts.money")

    # A new publication gets a base of its own, with the threshold of then (the default: every table is small);
    # only the newest base with copies is kept.
    monkeypatch.delenv("EBOOK_ANALYTICS_READER_COPY_MAX_MB")
    work.execute("update marts.sales set version = 3 where id < 10")
    publish(work, "run-3")
    database, latest = _answers(copies=True)
    assert (database, latest[0], latest[3][0][3]) == ("memory", [(1000, 1020)], "run-3")
    assert _answers(copies=True) == (database, latest)
    assert _answers(copies=False) == ("lake", latest)
    assert _kinds() == _viewed("marts.money", "marts.sales", "meta.publication")
    assert [key[1] for key in lake._READERS if key[2]] == [3]

    monkeypatch.setenv("EBOOK_ANALYTICS_READER_COPY_MAX_MB", "a lot")
    with pytest.raises(UserError, match="READER_COPY_MAX_MB is 'a lot'; set it to a whole number of MB"):
        lake.copy_max_bytes()


def test_a_session_opened_before_a_copy_keeps_its_view_and_one_opened_after_reads_the_copy(
    work: duckdb.DuckDBPyConnection,
) -> None:
    publish(work, "run-1")
    query = "select count(*), sum(id), sum(version) from marts.sales"
    before = warehouse.connect(paths().warehouse, read_only=True, copies=True, reads=(query,))  # the first read
    assert before.execute(query).fetchall() == [(1000, 499500, 1000)]
    after = warehouse.connect(paths().warehouse, read_only=True, copies=True, reads=(query,))  # the second: a copy
    # The swap committed while `before` was open in its read-only transaction: it still sees the view, and reads
    # through the lake the same rows as `after` from the copy.
    assert _kinds(before) == _viewed(tables=THE_WORK)
    assert _kinds(after) == _viewed("marts.sales", tables=THE_WORK)
    for con in (before, after, before):
        assert con.execute(query).fetchall() == [(1000, 499500, 1000)]
    before.close()
    after.close()


def test_two_readers_of_a_table_copy_it_once(work: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    publish(work, "run-1")
    copies: list[str] = []
    copy = lake._copy

    def slow_copy(base: duckdb.DuckDBPyConnection, name: str) -> None:
        copies.append(name)
        threading.Event().wait(0.2)  # the other readers arrive while it copies
        copy(base, name)

    monkeypatch.setattr(lake, "_copy", slow_copy)
    query = "select count(*), sum(version) from marts.sales join marts.one using (version)"
    warehouse.connect(paths().warehouse, read_only=True, copies=True, reads=(query,)).close()  # the first read
    answers: list[object] = []
    start = threading.Barrier(4)

    def read() -> None:
        start.wait(60)
        with closing(warehouse.connect(paths().warehouse, read_only=True, copies=True, reads=(query,))) as con:
            answers.append((_database(con), con.execute(query).fetchall()))

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(60)
    # Both tables copied once, by one reader, the others waiting for it.
    assert answers == [("memory", [(1000, 1000)])] * 4
    assert copies == ['"marts"."one"', '"marts"."sales"']
    assert _kinds() == _viewed("marts.one", "marts.sales", tables=THE_WORK)


def test_a_copy_is_made_once_and_its_readers_meanwhile_read_through_the_lake(work: duckdb.DuckDBPyConnection) -> None:
    publish(work, "run-1")
    published, started, release, made = lake.configured(), threading.Event(), threading.Event(), []

    def slow_setup(base: duckdb.DuckDBPyConnection) -> None:
        made.append(base)
        started.set()
        release.wait(60)

    def database(con: duckdb.DuckDBPyConnection) -> str:
        try:
            return str(con.execute("select current_database()").fetchall()[0][0])
        finally:
            con.close()

    first: list[str] = []
    builder = threading.Thread(
        target=lambda: first.append(database(lake.open_publication(published, copies=slow_setup)[0]))
    )
    builder.start()
    assert started.wait(60)
    # Another reader of the same publication while the copy is being made: through the lake, at once.
    assert database(lake.open_publication(published, copies=slow_setup)[0]) == "lake"
    release.set()
    builder.join(60)
    assert first == ["memory"]
    assert database(lake.open_publication(published, copies=slow_setup)[0]) == "memory"
    assert len(made) == 1


def test_the_tables_a_query_reads_are_what_the_parser_sees_by_name() -> None:
    query = """
    with recent as (select * from marts.Sales where day >= $start)
    select utc_day(r.paid_at), picked($plans, p.plan)
    from recent r
    join staging.projects p using (project_id)
    join memory.meta.publication on true
    where r.id in (select id from "marts"."refunds") and r.id not in (select id from lake.marts.other)
    """
    assert lake.tables_read(query) == {
        ("marts", "sales"),
        ("staging", "projects"),
        ("meta", "publication"),
        ("marts", "refunds"),
    }  # not the CTE, nor a name of another catalog; parameters, macros and `using` need no binding
    assert lake.tables_read("select * from read_parquet('x.parquet'), information_schema.tables") == {
        ("information_schema", "tables")  # no small table of a publication: it stays what it is
    }
    assert lake.tables_read("not sql at all") == frozenset()
