"""Publications as DuckLake snapshots (`pipelines.publish.lake`), without the source: a working DuckDB file published
by difference, readers on one snapshot, `--as-of`, retention and compaction, a reader during publishes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines import warehouse
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


def test_a_dirty_working_file_is_restored_from_the_lake(work: duckdb.DuckDBPyConnection) -> None:
    publish(work, "run-1")
    assert lake.work_state(work) == (1, False)
    lake.mark(work, snapshot_id=1, dirty=True)  # a run started, changed things, and died
    work.execute("update marts.sales set version = 7")
    work.execute("create table marts.half_built as select 1 as x")
    with lake.attached(work, lake.configured(), read_only=True):
        lake.restore(work, lake.resolve(lake.configured(), None))
    assert lake.work_state(work) == (1, False)
    assert work.execute("select sum(version) from marts.sales").fetchall() == [(1000,)]
    tables = work.execute("select table_name from duckdb_tables() where schema_name = 'marts' order by 1").fetchall()
    assert tables == [("one",), ("sales",)]


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
        "error: publication run-1 is not kept (publications are kept 90 days); the oldest kept is run run-3, "
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
    query = "select count(*), sum(version) from marts.sales"
    with warehouse.open_publication("run-4") as con:  # still exactly as published
        assert con.execute(query).fetchall() == [(1400, 1000 + 100 * (1 + 2 + 3 + 4))]
    with warehouse.open_publication() as con:
        assert con.execute(query).fetchall() == [(2000, 1000 + 100 * 55)]


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
con = warehouse.connect(sys.argv[1], read_only=True)
query = "select count(*), sum(version) from marts.sales"
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
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, env["EBOOK_ANALYTICS_WAREHOUSE"]],
        env=env,
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
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

    # The reader still reads run-1 exactly; so does anyone opening it now, and the latest is run-3.
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
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, env["EBOOK_ANALYTICS_WAREHOUSE"], str(last)],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout.readline() == "ready\n"
    for n in range(2, last + 1):  # every row of both marts changes in each publication
        work.execute("update marts.sales set version = $n", {"n": n})
        work.execute("update marts.one set version = $n", {"n": n})
        publish(work, f"run-{n}")
    out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err
    assert "mixed" not in out
    assert int(out.split()[-1]) >= 2  # it saw publications come and go while it read
