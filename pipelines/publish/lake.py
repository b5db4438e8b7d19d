"""Publications as DuckLake snapshots: the ETL writes what changed, readers read one snapshot, old ones are kept.

The published warehouse is a DuckLake: a catalog (by default a SQLite file, `<home>/warehouse/analytics.ducklake`;
a PostgreSQL database when `warehouse_catalog` names one, so several machines share one warehouse) and Parquet data
files (`<catalog>.files/`, or `warehouse_data_path`). Each ETL run that publishes commits one DuckLake transaction,
one snapshot, whose commit message is the run id (author `ebook-analytics`). Readers attach the lake read-only at
one snapshot (the latest publication unless `as_of` names another), so every query of a connection sees the same
publication, and a run committing meanwhile never blocks them.

The ETL builds in its own working DuckDB file beside the catalog (`etl-work.duckdb`), updated in place, and publishes
the difference between its tables and the lake's (`publish`): unchanged tables are not touched; a changed table
gets the rows that differ deleted and inserted; a table whose columns changed is replaced. The working file records
which publication it equals (`main.work_state`); a run marks it dirty before changing it, so a run that failed, was
blocked or was killed leaves it dirty, and the next run restores it from the lake (`restore`), which holds all of
it: staging, history, marts and meta.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa

from pipelines.config import paths, setting, whole_number_setting
from pipelines.days import utc_instant
from pipelines.duckdb_extensions import CONNECT_CONFIG, DUCKLAKE, POSTGRES, SQLITE, quoted
from pipelines.errors import UserError, first_line
from pipelines.fingerprints import Fingerprint, change_set_adds_up, fingerprint, row_count
from pipelines.queries import one_row, registered, sql_file, sql_template
from pipelines.sql_tree import base_tables, parse
from pipelines.transform import changes as change_sets

AUTHOR = "ebook-analytics"  # the commit author of every publication; other snapshots (compaction) have none
SCHEMAS = ("staging", "history", "marts", "meta")  # what the working file publishes
LAKE_ALIAS = "lake"
WORK_FILE = "etl-work.duckdb"
# The warehouse as one DuckDB file, before publications became DuckLake snapshots; the first run after the upgrade
# carries its history over (docs/operations.md, "Upgrading from the single-file warehouse").
LEGACY_FILE = "analytics.duckdb"
LEGACY_ALIAS = "legacy"
DEFAULT_RETENTION_DAYS = 90
# Files of expired snapshots stay this long, so a reader that opened an old publication just before it expired
# can finish its queries.
CLEANUP_GRACE = timedelta(hours=1)
# A data file is rewritten without its deleted rows once they are this share of it (DuckLake's default, 0.95, leaves
# the delete files of the publish's row replacements piling up).
REWRITE_DELETED_SHARE = 0.5
# Only files smaller than this are merged: DuckLake's default bound is its target file size (512 MB), so each hour a
# table's whole first-load file (160 MB of usage records at `large`) was rewritten with the last hour's few small
# files (4.5 s of the maintenance there). Small files still merge until they reach it; a larger one stays as it is.
MERGE_SMALLER_THAN_BYTES = 16 * 1024 * 1024
# Retention and compaction find nothing to do after most runs of a 15-minute schedule, yet cost about a second of
# catalog round trips: a run does them when the last were at least this long ago.
MAINTENANCE_INTERVAL = timedelta(hours=1)
_MAINTENANCE_TABLE = "create table if not exists main.work_maintenance (maintained_at timestamptz)"


@dataclass(frozen=True)
class Lake:
    """Where a published warehouse lives."""

    catalog: str  # the DuckLake metadata: `sqlite:<file>` or `postgres:<libpq connection string or URL>`
    data_path: Path  # where new Parquet files go (readers take it from the catalog)
    local: Path | None  # the SQLite catalog file; None with a PostgreSQL catalog

    @property
    def postgres(self) -> bool:
        return self.local is None


@dataclass(frozen=True)
class Publication:
    snapshot_id: int
    run_id: str
    published_at: datetime  # the snapshot's commit time


def configured() -> Lake:
    """The warehouse of the settings: `warehouse` (the SQLite catalog file) or `warehouse_catalog` (a PostgreSQL
    URL), and `warehouse_data_path`."""
    home = paths().warehouse
    data = setting("warehouse_data_path")
    data_path = Path(data) if data else home.with_name(home.name + ".files")
    url = setting("warehouse_catalog")
    if url:
        return Lake(catalog=f"postgres:{url}", data_path=data_path, local=None)
    return Lake(catalog=f"sqlite:{home}", data_path=data_path, local=home)


def at(path: Path) -> Lake:
    """The lake whose catalog is `path` (the configured warehouse's, else a SQLite catalog file there)."""
    lake = configured()
    if lake.postgres and Path(path) == paths().warehouse:
        return lake
    if lake.local is not None and Path(path) == lake.local:
        return lake
    return Lake(catalog=f"sqlite:{path}", data_path=Path(f"{path}.files"), local=Path(path))


def is_catalog(path: Path) -> bool:
    """Whether `path` names a published warehouse rather than a plain DuckDB file."""
    path = Path(path)
    if configured().postgres and path == paths().warehouse:
        return True
    if not path.is_file():
        return path.suffix == ".ducklake"
    stat = path.stat()
    if (stat.st_dev, stat.st_ino) in _SQLITE_FILES:
        return True
    if stat.st_size == 0:  # SQLite would take an empty file for an empty database
        return False
    try:
        _sqlite_rows(path, "select 1 from sqlite_master limit 1")
    except duckdb.Error as exc:
        if _NOT_SQLITE in str(exc):  # a DuckDB warehouse
            return False
        raise _unreadable_catalog(path, exc) from exc
    _SQLITE_FILES.add((stat.st_dev, stat.st_ino))
    return True


def work_file() -> Path:
    """The ETL's private working DuckDB file, beside the catalog."""
    return paths().warehouse_dir / WORK_FILE


def exists(lake: Lake) -> bool:
    """Whether the catalog is there (it may hold no publication yet)."""
    if lake.local is not None:
        return lake.local.is_file()
    try:
        _catalog_rows(lake, "select 1 from ducklake_snapshot limit 1")
    except UserError:
        return False
    return True


# --- the catalog, read directly (a query of a few rows; no DuckLake) ---
#
# A SQLite catalog is opened in this process by one copy of SQLite only: DuckDB's sqlite extension, which DuckLake
# uses. Python's `sqlite3` is another copy, and so is any plain read of the file: closing a descriptor of a file drops
# every POSIX lock the process holds on it, those of the other copy's connections too (sqlite.org/howtocorrupt.html,
# 2.2.1). A reader whose locks were dropped so reads pages a publication's checkpoint is rewriting ("database disk
# image is malformed"), as a dashboard checking for a new publication while it reads the last one did. So the
# catalog's few-row reads go through one small DuckDB per process with that extension, never through `sqlite3`.

_SQLITE_READER: tuple[int, duckdb.DuckDBPyConnection] | None = None  # (the process that made it, the database)
# (device, inode) of the files found to be SQLite: a file keeps its header, and every dashboard session asks.
_SQLITE_FILES: set[tuple[int, int]] = set()
_SQLITE_READER_LOCK = threading.Lock()
_NOT_SQLITE = "file is not a database"  # SQLite's reason for a file that is no SQLite database (a DuckDB file)
_ROOM_TO_READ = 2**20  # below this free, a disk I/O error reading the catalog is the full disk's


def _sqlite_rows(catalog: Path, sql: str) -> list[tuple[object, ...]]:
    """`sql` run by SQLite itself (`sqlite_query`) on the file `catalog`, through this process's in-memory DuckDB
    with the sqlite extension (made again in a forked child). A file is attached once, by path: SQLite opens the path
    at each query, so a catalog replaced by another file (`--rebuild`, a restore) is read as it is now."""
    global _SQLITE_READER
    path = str(catalog.absolute())
    alias = "catalog_" + hashlib.sha256(path.encode()).hexdigest()[:16]
    with _SQLITE_READER_LOCK:
        if _SQLITE_READER is None or _SQLITE_READER[0] != os.getpid():
            reader = duckdb.connect(config={**CONNECT_CONFIG, "threads": 1})  # a few rows: no worker threads
            SQLITE.load(reader)
            _SQLITE_READER = (os.getpid(), reader)
        cursor = _SQLITE_READER[1].cursor()
        cursor.execute(f"attach if not exists '{quoted(path)}' as {alias} (type sqlite, read_only)")
    with closing(cursor):
        # The module's own SQL as a literal, not bound: any bound parameter makes DuckDB's Python client import
        # pandas (0.4 s), which `runs` and the other commands reading only the catalog never need.
        return cursor.execute(f"select * from sqlite_query('{alias}', '{quoted(sql)}')").fetchall()


def _catalog_rows(lake: Lake, sql: str) -> list[tuple[object, ...]]:
    if lake.local is not None:
        try:
            return _sqlite_rows(lake.local, sql)
        except duckdb.Error as exc:
            raise _unreadable_catalog(lake.local, exc) from exc
    try:
        with psycopg.connect(lake.catalog.removeprefix("postgres:"), connect_timeout=10) as conn:
            return [tuple(row) for row in conn.execute(sql.encode()).fetchall()]
    except psycopg.Error as exc:
        raise UserError(f"cannot read the warehouse catalog {_name(lake)}: {first_line(exc)}") from exc


class CatalogDiskFull(UserError):
    """The SQLite catalog is fine but cannot be read: its disk is full."""


def _unreadable_catalog(catalog: Path, exc: duckdb.Error) -> UserError:
    """The error for a SQLite catalog SQLite could not read: its reason without our query's text, and what to do
    when the disk is full. The catalog is in WAL mode, so even a reader needs room for its shared-memory file: a
    full disk stops the dashboards reading the last publication too."""
    reason = first_line(exc)
    if reason.startswith("Failed to prepare query"):
        reason = reason.rpartition('": ')[2]
    folder = catalog.absolute().parent
    if reason == "disk I/O error" and shutil.disk_usage(folder).free < _ROOM_TO_READ:
        return CatalogDiskFull(
            f"cannot read the warehouse catalog {catalog}: its disk is full; free disk space in {folder}"
        )
    return UserError(f"cannot read the warehouse catalog {catalog}: {reason}")


def _name(lake: Lake) -> str:
    return str(lake.local) if lake.local is not None else "in PostgreSQL (warehouse_catalog)"


def publications(lake: Lake) -> list[Publication]:
    """Every kept publication, oldest first."""
    return _publications(lake, newest_only=False)


def _publications(lake: Lake, *, newest_only: bool) -> list[Publication]:
    """The kept publications, oldest first, or the newest alone: a run every 15 minutes kept 90 days (the
    defaults) is thousands, 38 ms to read and parse, where the newest is one row (1 ms)."""
    if lake.local is not None and not lake.local.is_file():
        return []
    # Ordered by the changes' key: SQLite then walks that table's index from the end and stops at the first
    # publication (by the snapshots' key, it sorts every row first).
    rows = _catalog_rows(
        lake,
        "select c.snapshot_id, c.commit_message, cast(s.snapshot_time as varchar), c.commit_extra_info "
        "from ducklake_snapshot_changes c join ducklake_snapshot s on s.snapshot_id = c.snapshot_id "
        f"where c.author = '{AUTHOR}' order by c.snapshot_id" + (" desc limit 1" if newest_only else ""),
    )
    return [Publication(int(str(sid)), str(run), _published_at(when, extra)) for sid, run, when, extra in rows]


def _published_at(committed: object, extra: object) -> datetime:
    """The run's own `meta.publication.published_at` (what exports and pages show), kept in the commit's extra
    info; the commit time for a snapshot without it."""
    try:
        recorded = json.loads(str(extra)).get("published_at") if extra else None
    except (ValueError, AttributeError):
        recorded = None
    return utc_instant(str(recorded or committed))


def latest(lake: Lake) -> Publication | None:
    newest = _publications(lake, newest_only=True)
    return newest[0] if newest else None


def version(lake: Lake) -> str | None:
    """Identifies the latest snapshot (for caches keyed per publication; compaction, which runs before a
    publication at most hourly, makes one too: a cache made again, never a stale one); None when nothing is
    published."""
    if lake.local is not None and not lake.local.is_file():
        return None
    try:
        rows = _catalog_rows(
            lake,
            "select snapshot_id, snapshot_time from ducklake_snapshot"
            " where snapshot_id = (select max(snapshot_id) from ducklake_snapshot)",
        )
    except CatalogDiskFull:
        raise  # published, but unreadable until there is space: not "nothing published"
    except UserError:  # not (yet) a DuckLake catalog
        return None
    newest, committed = rows[0] if rows else (None, None)
    if newest is None or int(str(newest)) == 0:
        return None
    # The catalog file's inode, and the snapshot's commit time beside its id: a copy of a warehouse (a test's copy) is
    # another warehouse, and a catalog restored from a backup, then published to, numbers its snapshots again from
    # the backup's (a file copied over in place keeps its inode).
    where = str(lake.local.stat().st_ino) if lake.local is not None else "snapshot"
    return f"{where}-{newest}-{commit_stamp(committed)}"


def commit_stamp(committed: object) -> str:
    """A snapshot's commit time as UTC digits to the microsecond: the same instant gives the same name whatever the
    zone it was written in (SQLite's catalog keeps it as text in the writer's zone, trailing zeros cut; PostgreSQL's
    as a timestamp), and a version made of it stays a plain name for cache folders."""
    return utc_instant(str(committed)).astimezone(UTC).strftime("%Y%m%d%H%M%S%f")


def resolve(lake: Lake, as_of: str | None) -> Publication:
    """The publication `as_of` names (a run id, or an ISO time: the last one published at or before it; UTC unless
    it has an offset), the latest when None; a one-line error naming the oldest kept one when it is not kept."""
    return _resolve(lake, _candidates(lake, as_of), as_of)


def _candidates(lake: Lake, as_of: str | None) -> list[Publication]:
    """The publications `as_of` is looked for among, oldest first: every kept one, or the latest alone for None."""
    return publications(lake) if as_of is not None else _publications(lake, newest_only=True)


def _resolve(lake: Lake, kept: list[Publication], as_of: str | None) -> Publication:
    if not kept:
        raise UserError(f"no warehouse at {_name(lake)}; run `ebook-analytics etl run` first")
    if as_of is None:
        return kept[-1]
    oldest = kept[0]
    # (kept or never made: a run id gone from the catalog, or a time before the first publication, are the same)
    kept_since = (
        f"(publications are kept {retention_days()} days); the oldest kept is run {oldest.run_id}, "
        f"published {oldest.published_at.isoformat()}"
    )
    for publication in kept:
        if publication.run_id == as_of:
            return publication
    try:
        moment = utc_instant(as_of)
    except ValueError:
        raise UserError(f"no kept publication is run {as_of}, nor is it an ISO time {kept_since}") from None
    before = [publication for publication in kept if publication.published_at <= moment]
    if not before:
        raise UserError(f"no kept publication was published at or before {moment.isoformat()} {kept_since}")
    return before[-1]


# --- attaching ---


def load_extensions(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    (POSTGRES if lake.postgres else SQLITE).load(con)
    DUCKLAKE.load(con)


def attach(
    con: duckdb.DuckDBPyConnection,
    lake: Lake,
    *,
    alias: str = LAKE_ALIAS,
    read_only: bool = True,
    snapshot: int | None = None,
) -> None:
    """Attach the lake as `alias`: read-only at `snapshot` for readers, writable (created when missing) for the ETL."""
    load_extensions(con, lake)
    # The data path as configured now, not as stored when the catalog was made: a warehouse folder moved or copied
    # elsewhere (a restore from backup) reads and writes the files beside its catalog.
    options = [f"data_path '{quoted(str(lake.data_path))}/'", "override_data_path true"]
    if read_only:
        options.append("read_only")
    if snapshot is not None:
        options.append(f"snapshot_version {int(snapshot)}")
    if lake.local is not None and not read_only:
        # WAL (it stays so): a reader's open transaction never stops a publication from committing, and a commit
        # never stops a reader. Set by DuckLake's own SQLite (module comment on reading the catalog).
        options.append("meta_journal_mode 'WAL'")
        lake.local.parent.mkdir(parents=True, exist_ok=True)
    try:
        con.execute(f"attach 'ducklake:{quoted(lake.catalog)}' as {alias} ({', '.join(options)})")
    except duckdb.Error as exc:
        raise UserError(
            f"cannot open the warehouse catalog {_name(lake)}: {first_line(exc)}; "
            "run `ebook-analytics etl run --full --rebuild` to set it aside and build a fresh one"
        ) from exc


# Readers share one in-memory DuckDB per publication in a process: loading the two extensions costs a few hundred
# ms (each is a ~35 MB file DuckDB verifies) and attaching the snapshot a catalog round trip, so each is done once per
# publication, and every reader is a cursor of that database. One database per publication, not one for all: a
# session sees only its publication's tables (information_schema included).
#
# A long-lived reader making many small queries (the dashboards: `copies=True`) gets a base of its own for the latest
# publication: every query through DuckLake pays ~10 ms of catalog look-ups (about twenty SQLite statements) however
# small its table, against ~1 ms on a table in memory. That base starts with a view onto the lake for every table
# (made in a moment, nothing scanned), so `marts.x` names it in the base's own catalog; the house macros are in it
# too, made once. A table of `COPIED_SCHEMAS` whose data files are at most `reader_copy_max_mb` is copied into the
# base's memory, replacing its view, just before the second session that reads it opens (`reads`, `copy_reads`):
# cost follows what the viewers read, not what was published. Only the latest publication is copied, and only the
# newest base with copies is kept (`MAX_COPIED`): a copy is memory, and an older publication (`as_of`, the "as
# published at" picker) is read through the lake as before.
COPIED_SCHEMAS = ("staging", "marts", "meta")  # what the dashboards read; history is read through views
DEFAULT_COPY_MAX_MB = 64
MAX_READERS = 8  # publications kept open per process; the least recently opened is let go (its cursors live on)
MAX_COPIED = 1  # of which with copies


@dataclass
class _Base:
    """One publication's database, made by the first reader to ask for it (`building` meanwhile)."""

    made: threading.Condition = field(default_factory=threading.Condition)  # guards con, building, read: moments
    con: duckdb.DuckDBPyConnection | None = None
    building: bool = False
    small: set[tuple[str, str]] = field(default_factory=set)  # (schema, table): a view a read would copy
    read: set[tuple[str, str]] = field(default_factory=set)  # of which read once already
    copying: threading.Lock = field(default_factory=threading.Lock)  # one copier per base; the others wait for it


_READERS: OrderedDict[tuple[str, int, bool], _Base] = OrderedDict()  # (catalog, snapshot, copies) -> base
_READERS_LOCK = threading.Lock()  # guards the registry only: bases are made outside it


def copy_max_bytes() -> int:
    """The largest table (bytes of its data files) a dashboard reader copies into memory (`reader_copy_max_mb`)."""
    return whole_number_setting("reader_copy_max_mb", DEFAULT_COPY_MAX_MB, "MB") * 1024 * 1024


def open_publication(
    lake: Lake,
    as_of: str | None = None,
    *,
    prepare: Callable[[duckdb.DuckDBPyConnection], object] | None = None,
    copies: Callable[[duckdb.DuckDBPyConnection], object] | None = None,
    reads: Iterable[str] = (),
) -> tuple[duckdb.DuckDBPyConnection, Publication]:
    """A DuckDB session on one publication (`marts.x`, `staging.x`, `meta.x` name its tables), read-only.

    `prepare` sets the session up (settings, temporary macros) before it enters the lake: once the lake is the
    default catalog, each statement's binding also looks names up in DuckLake's catalog (six macros: 20 ms instead
    of 3.5 ms), and every dashboard query opens a session of its own.

    `copies`, for a long-lived reader making many queries (the dashboards): the latest publication is read from a
    base of views onto the lake and in-memory copies of the small tables read so far (module comment), set up once
    by `copies(base)` (global settings, persistent macros) instead of `prepare` per session; the small tables the
    SQL statements `reads` read are copied before the session opens (`copy_reads`), and the session is a read-only
    transaction. An older publication is read as without it."""
    kept = _candidates(lake, as_of)
    publication = _resolve(lake, kept, as_of)
    copied = copies is not None and publication == kept[-1]
    opened = _session(lake, publication, copies if copied else None)
    if opened is None:  # its base is being made by another reader: this one reads through the lake meanwhile
        copied, opened = False, _session(lake, publication, None)
    assert opened is not None
    con, base = opened
    try:
        if copied:
            copy_reads(base, reads)  # before the transaction: a session sees the catalog of its transaction's start
            con.execute("begin transaction read only")  # the copies are tables of this process's memory
        else:
            if prepare is not None:
                prepare(con)
            con.execute(f"use {LAKE_ALIAS}")
    except BaseException:
        con.close()
        raise
    return con, publication


def _session(
    lake: Lake, publication: Publication, copies: Callable[[duckdb.DuckDBPyConnection], object] | None
) -> tuple[duckdb.DuckDBPyConnection, _Base] | None:
    """A cursor of the publication's base (with copies or not), made first if need be, and the base; None while
    another reader makes the base with copies."""
    key = (lake.catalog, publication.snapshot_id, copies is not None)
    with _READERS_LOCK:
        base = _READERS.get(key)
        if base is None:
            base = _READERS[key] = _Base()
            while len(_READERS) > MAX_READERS:
                _READERS.popitem(last=False)
            while sum(1 for *_, copied in _READERS if copied) > MAX_COPIED:
                del _READERS[next(other for other in _READERS if other[2])]
        _READERS.move_to_end(key)
    with base.made:
        if base.building and copies is not None:
            return None
        base.made.wait_for(lambda: not base.building)  # another reader attaching it: a moment
        if base.con is not None:
            return base.con.cursor(), base
        base.building = True
    # Made outside every lock, by exactly one reader; other readers go on meanwhile (those of this publication
    # through the lake).
    try:
        if copies is None:
            made = _attached(lake, publication)
        else:
            made, base.small = _viewed(lake, publication, copies)
    except BaseException:
        with _READERS_LOCK:
            if _READERS.get(key) is base:
                del _READERS[key]
        with base.made:
            base.building = False
            base.made.notify_all()
        raise
    with base.made:
        base.con, base.building = made, False
        base.made.notify_all()
        return made.cursor(), base


def _attached(lake: Lake, publication: Publication) -> duckdb.DuckDBPyConnection:
    base = duckdb.connect(config=CONNECT_CONFIG)
    try:
        attach(base, lake, snapshot=publication.snapshot_id)
    except BaseException:
        base.close()
        raise
    return base


def _viewed(
    lake: Lake, publication: Publication, setup: Callable[[duckdb.DuckDBPyConnection], object]
) -> tuple[duckdb.DuckDBPyConnection, set[tuple[str, str]]]:
    """A base whose own catalog has a view onto the lake for each of the publication's tables and views, set up by
    `setup`, and its small tables: those of `COPIED_SCHEMAS` a read copies (`copy_reads`)."""
    base = _attached(lake, publication)
    try:
        limit, sizes = copy_max_bytes(), table_sizes(lake, publication.snapshot_id)
        base.execute("begin")  # one transaction: DuckLake reads its catalog once for all the views
        for schema, table in sorted(sizes):
            base.execute(f'create schema if not exists memory."{schema}"')
            base.execute(f'create view memory."{schema}"."{table}" as from {LAKE_ALIAS}."{schema}"."{table}"')
        base.execute("commit")
        setup(base)
    except BaseException:
        base.close()
        raise
    small = {
        (schema.lower(), table.lower())
        for (schema, table), size in sizes.items()
        if size is not None and schema in COPIED_SCHEMAS and size <= limit
    }
    return base, small


def copy_reads(base: _Base, reads: Iterable[str]) -> None:
    """Copy into the base's memory, each in place of its view, the small tables the SQL statements `reads` read
    that are still views and were read once before: a copy costs about two reads through the lake (one DuckLake scan
    with its catalog look-ups, ~40 ms at tiny, against ~10-20 ms for a query), so a table read once per publication
    is never copied. A name the parser does not see (inside a macro) or that is no small table of the publication
    stays a view: read through the lake, correctly, only slower.

    One thread copies at a time per base; another wanting a table meanwhile waits (a copy is a scan of a table under
    the threshold: ~50 ms at tiny), then finds it copied. A session opened before a swap keeps the view (DuckDB's
    catalog is transactional, the session is a transaction) and reads it through the lake; one opened after reads
    the copy."""
    wanted = {name for sql in reads for name in tables_read(sql)} & base.small
    if not wanted:
        return
    with base.made:  # the first read of a table goes through the lake; the second copies it
        wanted, base.read = wanted & base.read, base.read | wanted
    if not wanted:
        return
    assert base.con is not None
    with base.copying:
        for schema, table in sorted(wanted & base.small):
            _copy(base.con, f'"{schema}"."{table}"')
            base.small.discard((schema, table))


def _copy(base: duckdb.DuckDBPyConnection, name: str) -> None:
    with closing(base.cursor()) as copier:
        copier.execute("begin")  # the view goes and the copy comes in one commit
        copier.execute(f"drop view memory.{name}")
        copier.execute(f"create table memory.{name} as from {LAKE_ALIAS}.{name}")
        copier.execute("commit")


@lru_cache(maxsize=1024)
def tables_read(sql: str) -> frozenset[tuple[str, str]]:
    """The (schema, table) names a SQL text reads by name (its FROM and JOIN clauses, subqueries and CTEs included;
    not what a macro or a view reads), lower case; none when it does not parse. `duckdb.get_table_names` would bind
    the query instead: it fails on `$parameters`, the house macros and `join ... using`."""
    try:
        named = list(base_tables(parse(sql)))
    except ValueError:
        return frozenset()
    return frozenset(
        (str(node.get("schema_name", "")).lower(), str(node.get("table_name", "")).lower())
        for node in named
        if node.get("catalog_name", "") in ("", "memory") and node.get("schema_name")
    )


def table_sizes(lake: Lake, snapshot: int) -> dict[tuple[str, str], int | None]:
    """(schema, table) -> bytes of the data files the table reads at `snapshot` (0: its rows are all inlined in the
    catalog), and (schema, view) -> None for its views, from the DuckLake catalog."""
    live = "begin_snapshot <= {s} and (end_snapshot is null or end_snapshot > {s})".format(s=int(snapshot))
    rows = _catalog_rows(
        lake,
        "select s.schema_name, t.table_name, coalesce(sum(f.file_size_bytes), 0) "
        f"from (select * from ducklake_table where {live}) t "
        f"join (select * from ducklake_schema where {live}) s on s.schema_id = t.schema_id "
        f"left join (select * from ducklake_data_file where {live}) f on f.table_id = t.table_id "
        "group by s.schema_name, t.table_name "
        "union all select s.schema_name, v.view_name, null "
        f"from (select * from ducklake_view where {live}) v "
        f"join (select * from ducklake_schema where {live}) s on s.schema_id = v.schema_id",
    )
    return {(str(schema), str(name)): None if size is None else int(str(size)) for schema, name, size in rows}


def schema_tables(lake: Lake, schema: str) -> list[str]:
    """The tables of `schema` in the lake's latest snapshot, by name, from its catalog: listed through the attached
    lake instead (information_schema), every published table's columns are loaded first, half a second at any size."""
    assert schema in SCHEMAS  # a literal in the catalog's own SQL
    rows = _catalog_rows(
        lake,
        "select t.table_name from ducklake_table t join ducklake_schema s on s.schema_id = t.schema_id "
        f"where t.end_snapshot is null and s.end_snapshot is null and s.schema_name = '{schema}' order by 1",
    )
    return [str(name) for (name,) in rows]


# --- the working file ---


def work_state(con: duckdb.DuckDBPyConnection) -> tuple[int | None, bool]:
    """The publication (snapshot id) the working file equals, and whether a run changed it since (dirty)."""
    con.execute("create table if not exists main.work_state (snapshot_id bigint, dirty boolean)")
    return stored_work_state(con)


def stored_work_state(con: duckdb.DuckDBPyConnection) -> tuple[int | None, bool]:
    """`work_state` of a working file opened read-only (a CatalogException if it never had one)."""
    row = con.execute("select snapshot_id, dirty from main.work_state").fetchone()
    return (None, True) if row is None else (row[0], bool(row[1]))


def mark(con: duckdb.DuckDBPyConnection, *, snapshot_id: int | None, dirty: bool) -> None:
    work_state(con)
    con.execute("delete from main.work_state")
    con.execute("insert into main.work_state values ($snapshot, $dirty)", {"snapshot": snapshot_id, "dirty": dirty})


def _tables(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(schema, table) -> [(column, type)] of the published schemas in `catalog`."""
    rows = con.execute(
        "select table_schema, table_name, column_name, data_type from information_schema.columns "
        "where table_catalog = $catalog and table_schema in $schemas order by table_schema, table_name, "
        "ordinal_position",
        {"catalog": catalog, "schemas": list(SCHEMAS)},
    ).fetchall()
    tables: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, data_type in rows:
        tables.setdefault((schema, table), []).append((column, data_type))
    return tables


def restore(con: duckdb.DuckDBPyConnection, publication: Publication, *, alias: str = LAKE_ALIAS) -> None:
    """Make the working file (`con`'s own database) equal the attached lake: every published table the dirty file no
    longer holds as published copied back, every other table of the published schemas dropped.

    A file left dirty on this very publication still has its tables' fingerprints as published: a table whose rows
    and columns still match them equals the lake's already (the publish trusts the same sums) and stays, so a run
    that died after changing a few tables costs a copy of those few, not of the warehouse. Every table then has its
    fingerprint as published (a copied one's taken after the copy), so the next publish reads none in the lake."""
    own = _current_database(con)
    published, work = _tables(con, alias), _tables(con, own)
    on_this_publication = work_state(con)[0] == publication.snapshot_id
    as_published = published_fingerprints(con) if on_this_publication else {}
    for schema, table in work:
        if (schema, table) not in published:
            con.execute(f'drop table "{schema}"."{table}"')
    kept: dict[tuple[str, str], Fingerprint] = {}
    copied: list[tuple[str, str]] = []
    for (schema, table), columns in published.items():
        known = as_published.get((schema, table))
        # (a count is free; the rows' hash is a scan, taken only when the count agrees)
        if (
            known is not None
            and work.get((schema, table)) == columns
            and row_count(con, schema, table) == known[0]
            and fingerprint(con, schema, table) == known
        ):
            kept[(schema, table)] = known
            continue
        con.execute(f'create schema if not exists "{schema}"')
        con.execute(f'create or replace table "{schema}"."{table}" as from {alias}."{schema}"."{table}"')
        kept[(schema, table)] = fingerprint(con, schema, table)
        copied.append((schema, table))
    keep_fingerprints(con, kept)
    _keep_columns(con, published)
    # A mart copied back no longer has the rows of the parameters the dead run recorded for it: forgotten, so its model
    # is recomputed if it binds any (`main.mart_parameters`, pipelines.transform.runner: "a parameter changed").
    marts = [table for schema, table in copied if schema == "marts"]
    with suppress(duckdb.CatalogException):  # none recorded yet
        con.execute("delete from main.mart_parameters where list_contains($marts, mart)", {"marts": marts})
    mark(con, snapshot_id=publication.snapshot_id, dirty=False)
    con.execute("checkpoint")


def _current_database(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("select current_database()").fetchone()
    assert row is not None
    return str(row[0])


@dataclass(frozen=True)
class Written:
    snapshot_id: int
    tables: dict[str, int]  # schema.table -> rows deleted + inserted (replaced tables: -1; dropped ones: 0)
    # schema.table -> how it was written: "change set" (the run's changed rows, no scan of the table; "change set,
    # scanned" when the old versions' ranges missed one), "diff" (the whole table compared with the lake's; in
    # `tables` only when they differed), "replace" or "drop"
    methods: dict[str, str] = field(default_factory=dict)
    # schema.table -> the column whose range bounded the delete of a change set's old versions, and how many ranges
    # when more than one (none: not bounded)
    bounded_by: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Delta:
    """A changed table's net change set, which the guard found to be exactly the difference from the lake."""

    table: str  # the temp table of the net change (queries/publish/delta.sql)
    deleted: int
    inserted: int
    bound: _Bound | None  # the old versions' range of one column, which the delete is bounded by

    @property
    def bounds(self) -> str:
        """The bound as a condition on the row alias `{alias}` (`true` when none), its values bound (`params`)."""
        return self.bound.condition if self.bound else "true"

    @property
    def params(self) -> dict[str, object]:
        return self.bound.params if self.bound else {}

    @property
    def deletes(self) -> list[tuple[str, dict[str, object]]]:
        """The bounds the old versions are deleted by, a statement each (`true` when none): one per range, because
        DuckDB skips no row group by a condition that or-s ranges."""
        if self.bound is None:
            return [("true", {})]
        return [(bound.condition, bound.params) for bound in self.bound.each_range()]


@dataclass(frozen=True)
class _Bound:
    """A delete's bound: one column's ranges over the old versions."""

    column: str
    data_type: str
    ranges: list[_Range]

    @property
    def condition(self) -> str:
        name, type_ = f'{{alias}}."{_quoted_name(self.column)}"', self.data_type
        between = [
            f"{name} between cast($low_{n} as {type_}) and cast($high_{n} as {type_})" for n in range(len(self.ranges))
        ]
        return f"({' or '.join(between)})"

    @property
    def params(self) -> dict[str, object]:
        return {
            f"{end}_{n}": value
            for n, span in enumerate(self.ranges)
            for end, value in (("low", span.low), ("high", span.high))
        }

    def each_range(self) -> list[_Bound]:
        return [_Bound(self.column, self.data_type, [span]) for span in self.ranges]


# Column types whose range over the old versions is a filter DuckLake prunes files by (per-file min/max statistics).
_RANGED = re.compile(
    r"(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|DATE|TIMESTAMP"
    r"|TIMESTAMP WITH TIME ZONE|VARCHAR|UUID|DECIMAL\(\d+,\d+\))"
)
# Of those, the types whose text (as DuckDB casts them, as DuckLake keeps them) sorts as their values; the rest are
# numbers.
_TEXT_ORDERED = re.compile(r"DATE|TIMESTAMP|TIMESTAMP WITH TIME ZONE|VARCHAR|UUID")
# Of those, the types whose values follow the order rows are written in (creation times, days), so a range of them
# reaches only some of a big file's row groups, which DuckDB skips by their statistics. A range of UUIDs skips none
# (DuckDB does not prune by their statistics): a day at `large`, deleting two late events from the 19M-row first
# file of `staging.user_events`, 0.37 s bounded by their ids, 0.02 s by their times.
_CLUSTERED = re.compile(r"DATE|TIMESTAMP|TIMESTAMP WITH TIME ZONE")
# The rows of a row group in the Parquet files DuckLake writes (DuckDB's default)
_ROW_GROUP_ROWS = 122_880
# A date or time bound is up to this many ranges, split at the widest gaps between the old versions' values of at
# least a day: a day's updates of recent rows and a late change of an old one are two narrow ranges, not one over the
# whole history (a day at `large`: deleting 852 changed generations from `staging.ai_generations` 0.20 s unbounded,
# 0.06 s in two). Each range is a delete of its own (~10 ms of catalog look-ups each): a gap of less than a day is
# not worth one.
MAX_RANGES = 4
MIN_GAP_SECONDS = 86_400


@dataclass(frozen=True)
class _Range:
    """A column's range over a change set's old versions: its values (bound in the delete) and their text (compared
    with the catalog's file statistics)."""

    low: object
    high: object
    low_text: str
    high_text: str


def _change_set_delta(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    columns: list[tuple[str, str]],
    index: int,
    published: Fingerprint | None,
    now: Fingerprint,
    file_stats: _LakeFileStats,
) -> _Delta | None:
    """The table's net change set when the run recorded one and it takes the published fingerprint exactly to the
    working table's; None (compare the whole table) otherwise: no change set, a held-back mart, or any
    change the change set missed."""
    changes = change_sets.recorded(con, f"{schema}.{table}")
    if changes is None or published is None or not change_set_adds_up(con, changes, published, now):
        return None
    delta = f"delta_{index}"
    con.execute(f"create or replace temp table {delta} as {sql_file('publish/delta')}", {"changes": changes})
    deleted, inserted = one_row(
        con.execute(f"select count(*) filter (_version = 'old'), count(*) filter (_version = 'new') from {delta}")
    )
    bound = _bound(con, delta, schema, table, columns, file_stats) if deleted else None
    return _Delta(delta, int(deleted), int(inserted), bound)


@dataclass
class _LakeFileStats:
    """The lake's per-file column statistics (temp table `lake_file_stats`), read from its catalog once a publish,
    when a delete's bounds first need them (each read binds the catalog's tables anew: ~4 ms)."""

    con: duckdb.DuckDBPyConnection
    alias: str
    # (schema, table) of every table with a data file; None until the statistics are read in this publish
    with_files: set[tuple[str, str]] | None = None

    def read(self) -> set[tuple[str, str]]:
        if self.with_files is None:
            catalog = f"__ducklake_metadata_{self.alias}"
            self.con.execute(
                "create or replace temp table lake_file_stats as "
                + _template("publish/lake_file_stats", catalog=catalog)
            )
            rows = self.con.execute("select distinct schema_name, table_name from temp.lake_file_stats").fetchall()
            self.with_files = {(str(schema), str(table)) for schema, table in rows}
        return self.with_files

    def has_files(self, schema: str, table: str) -> bool:
        """Whether any of the table's rows are in data files; none are when DuckLake keeps them all in its catalog
        (data inlining: small tables, and small changes until compaction)."""
        return (schema, table) in self.read()

    def drop(self) -> None:
        self.con.execute("drop table if exists temp.lake_file_stats")
        self.with_files = None


def _bound(
    con: duckdb.DuckDBPyConnection,
    delta: str,
    schema: str,
    table: str,
    columns: list[tuple[str, str]],
    file_stats: _LakeFileStats,
) -> _Bound | None:
    """A condition every old version meets: the range over the old versions of the one column (of a type DuckLake
    keeps ranges of, without NULLs among them) whose range reaches the fewest rows of the lake table's data files,
    by the catalog's per-file statistics (and, for dates and times, split at wide gaps into up to `MAX_RANGES`
    ranges, the share of a big file's row groups they reach); None when no column's range rules out a file or row
    group. One column, not all: DuckLake looks a
    filter column's file statistics up at each delete (~8 ms a column), which cost more than the files the other
    columns ever ruled out. None too, without a query of the old versions, when the table has no data file: its
    rows are all in the catalog, and a bound would rule nothing out."""
    ranged = [(column, data_type) for column, data_type in columns if _RANGED.fullmatch(data_type)]
    if not ranged or not file_stats.has_files(schema, table):
        return None
    selected = ", ".join(
        f'min("{name}"), max("{name}"), count(*) = count("{name}"), min("{name}")::varchar, max("{name}")::varchar'
        for name in (_quoted_name(column) for column, _ in ranged)
    )
    row = one_row(con.execute(f"select {selected} from temp.{delta} where _version = 'old'"))
    types = dict(ranged)
    candidates = {
        column: _ranges(con, delta, column)
        if _CLUSTERED.fullmatch(data_type)
        else [_Range(row[5 * n], row[5 * n + 1], row[5 * n + 3], row[5 * n + 4])]
        for n, (column, data_type) in enumerate(ranged)
        if row[5 * n + 2]  # no NULL among the old versions
    }
    if not candidates:
        return None
    each_range = [(column, span) for column, spans in candidates.items() for span in spans]
    reach = {
        column: (int(reached), int(in_files))
        for column, reached, in_files in con.execute(
            sql_file("publish/bounds_reach"),
            {
                "schema": schema,
                "table": table,
                "columns": [column for column, _ in each_range],
                "lows": [span.low_text for _, span in each_range],
                "highs": [span.high_text for _, span in each_range],
                "numeric": [not _TEXT_ORDERED.fullmatch(types[column]) for column, _ in each_range],
                "clustered": [bool(_CLUSTERED.fullmatch(types[column])) for column, _ in each_range],
                "row_group_rows": _ROW_GROUP_ROWS,
            },
        ).fetchall()
    }
    best = min(reach, key=lambda column: (reach[column][0], list(candidates).index(column)), default=None)
    if best is None or reach[best][0] >= reach[best][1]:
        return None
    return _Bound(best, types[best], candidates[best])


def _ranges(con: duckdb.DuckDBPyConnection, delta: str, column: str) -> list[_Range]:
    """The old versions' values of a date or time column as up to `MAX_RANGES` ranges, split at the widest gaps of at
    least `MIN_GAP_SECONDS`."""
    query = sql_template("publish/old_version_ranges", delta=f"temp.{delta}", column=f'"{_quoted_name(column)}"')
    parameters = {"ranges": MAX_RANGES, "min_gap_seconds": MIN_GAP_SECONDS}
    return [_Range(*row) for row in con.execute(query, parameters).fetchall()]


def _quoted_name(name: str) -> str:
    return name.replace('"', '""')


def _write_delta(
    con: duckdb.DuckDBPyConnection,
    alias: str,
    name: str,
    delta: _Delta,
    key: str,
    written: dict[str, int],
    methods: dict[str, str],
) -> None:
    """Write a net change set to the lake's table (in the publish's transaction): delete the rows equal to an old
    version, put back the copies of them the working table keeps, insert the new versions."""
    target, changed = f"{alias}.{name}", f"temp.{delta.table}"
    if delta.deleted:
        removed = sum(
            _execute_count(
                con,
                _template("publish/delta_delete", target=target, delta=changed, bounds=bounds, alias="target_row"),
                params,
            )
            for bounds, params in delta.deletes
        )
        if removed < delta.deleted:
            # An old version outside its own ranges (a value that did not survive the round trip through Python):
            # the rest are found by a scan of the whole table, and the method says so.
            removed += _execute_count(
                con, _template("publish/delta_delete", target=target, delta=changed, bounds="true", alias="")
            )
            methods[key] = "change set, scanned"
        if removed > delta.deleted:
            # Equal rows: the lake held more copies of a row than the change deletes, and the delete took them all.
            # The working table holds the copies that stay (found by the same ranges, so read little of it).
            bounds = delta.bounds
            copied = _execute_count(
                con,
                _template(
                    "publish/delta_copy", target=target, source=name, delta=changed, bounds=bounds, alias="source_row"
                ),
                delta.params,
            )
            written[key] = removed + copied + delta.inserted
    if delta.inserted:
        _execute_count(con, _template("publish/delta_insert", target=target, delta=changed))


def _template(query: str, *, alias: str = "", **identifiers: str) -> str:
    """A publish query with its identifiers (and the bounds' row alias) formatted in; values stay bound."""
    if "bounds" in identifiers:
        identifiers["bounds"] = identifiers["bounds"].replace("{alias}", alias)
    return sql_template(query, **identifiers)


def _execute_count(con: duckdb.DuckDBPyConnection, statement: str, params: dict[str, object] | None = None) -> int:
    """Run a DELETE or INSERT; how many rows it deleted or inserted."""
    return int(one_row(con.execute(statement, params or {}))[0])


def publish(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    *,
    alias: str = LAKE_ALIAS,
    known: Mapping[tuple[str, str], Fingerprint] | None = None,
    before_commit: Callable[[], None] = lambda: None,
) -> Written:
    """Commit the working file's published schemas to the attached, writable lake as one snapshot tagged `run_id`,
    writing only the difference; then record in the working file that it equals that snapshot.

    `known`: fingerprints the caller already took of tables it has not changed since (the check step's), so they are
    not read twice. `before_commit` is called once every change is written (data files included), before the commit.
    """
    own = _current_database(con)
    work, published = _tables(con, own), published_columns(con) or _tables(con, alias)
    plan: list[str | Callable[[], None]] = []  # statements, or steps that run several (in the commit's transaction)
    written: dict[str, int] = {}
    methods: dict[str, str] = {}
    bounded_by: dict[str, str] = {}
    for schema, table in published:
        if (schema, table) not in work:
            plan.append(f'drop table {alias}."{schema}"."{table}"')
            written[f"{schema}.{table}"] = 0
            methods[f"{schema}.{table}"] = "drop"
    before = published_fingerprints(con)
    known = known or {}
    now = {name: known[name] if name in known else fingerprint(con, *name) for name in work}
    diffs: list[str] = []  # the temp tables of changed row hashes and net change sets, dropped once committed
    file_stats = _LakeFileStats(con, alias)
    file_stats.drop()  # a stopped publish's, if any
    for index, ((schema, table), columns) in enumerate(sorted(work.items())):
        name, key = f'"{schema}"."{table}"', f"{schema}.{table}"
        if published.get((schema, table)) == columns and before.get((schema, table)) == now[(schema, table)]:
            continue  # the same rows as published: not even read from the lake (each lake scan costs round trips)
        if published.get((schema, table)) == columns:
            delta = _change_set_delta(
                con, schema, table, columns, index, before.get((schema, table)), now[(schema, table)], file_stats
            )
            if delta is not None:
                # The run's change set is exactly the difference: neither the lake's table nor the working one is
                # scanned, and an append-only change deletes nothing.
                diffs.append(delta.table)
                written[key] = delta.deleted + delta.inserted
                methods[key] = "change set"
                if delta.bound is not None:
                    spans = len(delta.bound.ranges)
                    bounded_by[key] = delta.bound.column + (f", {spans} ranges" if spans > 1 else "")
                plan.append(partial(_write_delta, con, alias, name, delta, key, written, methods))
                continue
            # Rows are compared by a hash of the whole row, counted (a multiset): every row of a hash whose count
            # differs is deleted from the lake and inserted from the working file.
            changed = f"changed_{index}"
            diffs.append(changed)
            difference = sql_template(
                "marts_refresh/row_hash_difference", before=f"from {alias}.{name}", after=f"from {name}"
            )
            con.execute(f"create or replace temp table {changed} as {difference}")
            row = con.execute(
                f"select count(*), coalesce(sum(before_copies + after_copies), 0) from {changed}"
            ).fetchone()
            assert row is not None
            methods[key] = "diff"
            if row[0]:
                hashes = f"(select row_hash from temp.{changed})"
                plan.append(f"delete from {alias}.{name} l where hash(l) in {hashes}")
                plan.append(f"insert into {alias}.{name} from {name} w where hash(w) in {hashes}")
                written[key] = int(row[1])
        else:
            if (schema, table) in published:
                plan.append(f"drop table {alias}.{name}")
            plan.append(f'create schema if not exists {alias}."{schema}"')
            plan.append(f"create table {alias}.{name} as from {name}")
            written[key] = -1
            methods[key] = "replace"
    row = con.execute("select max(published_at) from meta.publication").fetchone()
    published_at = row[0].astimezone(UTC).isoformat() if row and row[0] else None
    con.execute("begin")
    try:
        for step in plan:
            if callable(step):
                step()
            else:
                con.execute(step)
        before_commit()
        con.execute(
            f"call {alias}.set_commit_message($author, $run_id, extra_info => $extra)",
            {"author": AUTHOR, "run_id": run_id, "extra": json.dumps({"run_id": run_id, "published_at": published_at})},
        )
        con.execute("commit")
    except BaseException:
        with suppress(duckdb.Error):  # a failed commit has ended the transaction already
            con.execute("rollback")
        raise
    row = con.execute(f"select id from {alias}.current_snapshot()").fetchone()
    assert row is not None
    snapshot_id = int(row[0])
    for changed in diffs:
        con.execute(f"drop table temp.{changed}")
    file_stats.drop()
    keep_fingerprints(con, now)
    replaced = "replace" in methods.values()  # the lake's types of a new table are read back, not assumed
    _keep_columns(con, _tables(con, alias) if replaced else {name: published[name] for name in work})
    mark(con, snapshot_id=snapshot_id, dirty=False)
    return Written(snapshot_id=snapshot_id, tables=written, methods=methods, bounded_by=bounded_by)


_FINGERPRINTS_TABLE = (
    "create table if not exists main.published_fingerprints "
    "(schema_name varchar, table_name varchar, rows bigint, fingerprint hugeint)"
)


def published_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], Fingerprint]:
    """The fingerprints of the tables as last published (`keep_fingerprints`; empty in a new file: every table is
    compared)."""
    con.execute(_FINGERPRINTS_TABLE)
    return stored_fingerprints(con)


def stored_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], Fingerprint]:
    """`published_fingerprints` of a working file opened read-only (a CatalogException if it never had them)."""
    rows = con.execute("select schema_name, table_name, rows, fingerprint from main.published_fingerprints").fetchall()
    return {(schema, table): (int(n), int(fingerprint)) for schema, table, n, fingerprint in rows}


def keep_fingerprints(con: duckdb.DuckDBPyConnection, fingerprints: Mapping[tuple[str, str], Fingerprint]) -> None:
    """Replace the kept fingerprints of the tables as last published."""
    con.execute(_FINGERPRINTS_TABLE)
    con.execute("delete from main.published_fingerprints")
    # One insert of them all (a statement per table costs ~4 ms); a fingerprint is a HUGEINT, which Arrow lacks.
    rows = pa.table(
        {
            "schema_name": [schema for schema, _ in fingerprints],
            "table_name": [table for _, table in fingerprints],
            "rows": pa.array([n for n, _ in fingerprints.values()], pa.int64()),
            "fingerprint": [str(fingerprint) for _, fingerprint in fingerprints.values()],
        }
    )
    with registered(con, "kept_fingerprints", rows):
        con.execute(
            "insert into main.published_fingerprints "
            "select schema_name, table_name, rows, fingerprint::hugeint from kept_fingerprints"
        )


# The columns of the tables as last published, so a publish lists the lake's tables only after one was created or
# replaced: listed through the attached lake (information_schema), every published table's columns are loaded, half
# a second at any size. JSON: [[column, type], ...] in order.
_COLUMNS_TABLE = (
    "create table if not exists main.published_columns (schema_name varchar, table_name varchar, columns varchar)"
)


def published_columns(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(schema, table) -> [(column, type)] of the tables as last published (empty in a new file: the lake is listed)."""
    con.execute(_COLUMNS_TABLE)
    rows = con.execute("select schema_name, table_name, columns from main.published_columns").fetchall()
    return {(schema, table): [(name, type_) for name, type_ in json.loads(columns)] for schema, table, columns in rows}


def _keep_columns(con: duckdb.DuckDBPyConnection, tables: Mapping[tuple[str, str], list[tuple[str, str]]]) -> None:
    con.execute(_COLUMNS_TABLE)
    con.execute("delete from main.published_columns")
    rows = pa.table(
        {
            "schema_name": [schema for schema, _ in tables],
            "table_name": [table for _, table in tables],
            "columns": [json.dumps(columns) for columns in tables.values()],
        }
    )
    with registered(con, "kept_columns", rows):
        con.execute("insert into main.published_columns from kept_columns")


# --- retention and compaction ---


def retention_days() -> int:
    return whole_number_setting("publication_retention_days", DEFAULT_RETENTION_DAYS, "days", minimum=1)


def maintenance_due(con: duckdb.DuckDBPyConnection, now: datetime) -> bool:
    """Whether the working file's last retention and compaction (`maintain`) was `MAINTENANCE_INTERVAL` or more
    before `now`, or never."""
    con.execute(_MAINTENANCE_TABLE)
    last = last_maintained(con)
    return last is None or now - last >= MAINTENANCE_INTERVAL


def last_maintained(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When `maintain` last ran, as the working file recorded it (a CatalogException if it never did, read-only)."""
    row = con.execute("select max(maintained_at) from main.work_maintenance").fetchone()
    return row[0] if row else None


def maintained(con: duckdb.DuckDBPyConnection, now: datetime) -> None:
    """Record in the working file that `maintain` ran at `now`."""
    con.execute(_MAINTENANCE_TABLE)
    con.execute("delete from main.work_maintenance")
    con.execute("insert into main.work_maintenance values ($now)", {"now": now})


def maintain(
    con: duckdb.DuckDBPyConnection,
    lake: Lake,
    *,
    now: datetime,
    days: int,
    alias: str = LAKE_ALIAS,
    merge_smaller_than: int = MERGE_SMALLER_THAN_BYTES,
) -> dict[str, int]:
    """Expire the snapshots published more than `days` before `now` (never the latest publication), rewrite mostly
    deleted files and merge small adjacent ones so their number does not grow with every publication, and delete
    the files no kept snapshot reads once `CLEANUP_GRACE` has passed (a reader that opened an expired publication
    just before may still read them), and so the files a killed run wrote but never committed.
    Returns how many snapshots expired, tables had files rewritten and merged, and files were deleted."""
    cutoff = now - timedelta(days=days)
    newest = con.execute(
        f"select max(snapshot_time) from {alias}.snapshots() where author = $author", {"author": AUTHOR}
    ).fetchall()
    if newest and newest[0][0] is not None:
        cutoff = min(cutoff, newest[0][0])  # the latest publication stays, however old
    # Each call's rows are fetched whole: a result left half-read is a transaction DuckDB rolls back.
    expired = con.execute(
        f"select * from ducklake_expire_snapshots('{alias}', older_than => $cutoff)", {"cutoff": cutoff}
    ).fetchall()
    # Files whose rows are mostly deleted are rewritten without them (their delete files go too), then small adjacent
    # files merged; both keep which snapshot each row belongs to, so the kept publications still read as published.
    rewritten = con.execute(
        f"select * from ducklake_rewrite_data_files('{alias}', delete_threshold => $share)",
        {"share": REWRITE_DELETED_SHARE},
    ).fetchall()
    merged = con.execute(
        f"select * from ducklake_merge_adjacent_files('{alias}', max_file_size => $smaller_than)",
        {"smaller_than": merge_smaller_than},
    ).fetchall()
    grace = {"cutoff": now - CLEANUP_GRACE}
    deleted = con.execute(
        f"select * from ducklake_cleanup_old_files('{alias}', older_than => $cutoff)", grace
    ).fetchall()
    return {
        "expired": len(expired),
        "rewritten": len(rewritten),
        "merged": len(merged),
        "deleted": len(deleted),
        "orphans_deleted": _delete_orphans(con, lake, alias, older_than=now - CLEANUP_GRACE),
    }


def _delete_orphans(con: duckdb.DuckDBPyConnection, lake: Lake, alias: str, *, older_than: datetime) -> int:
    """Delete the data files a killed run wrote and never committed (no snapshot reads them): DuckLake lists every
    Parquet file under the data path that its catalog does not know, so only files laid out as DuckLake writes its
    own (`<schema>/<table>/ducklake-*.parquet`) are deleted, never a file someone else keeps in a shared folder."""
    listed = con.execute(
        f"select * from ducklake_delete_orphaned_files('{alias}', dry_run => true, older_than => $cutoff)",
        {"cutoff": older_than},
    ).fetchall()
    own, deleted = lake.data_path.resolve(), 0
    for (name,) in listed:
        path = Path(name).resolve()
        if path.is_relative_to(own):
            parts = path.relative_to(own).parts
            if len(parts) == 3 and parts[2].startswith("ducklake-"):
                path.unlink(missing_ok=True)
                deleted += 1
    return deleted


@contextmanager
def attached(con: duckdb.DuckDBPyConnection, lake: Lake, *, read_only: bool = False) -> Iterator[None]:
    """The lake attached as `lake` to the working file's connection for the block only, so the build's own
    catalog queries (information_schema) never see the published tables."""
    attach(con, lake, read_only=read_only)
    try:
        yield
    finally:
        con.execute(f"detach {LAKE_ALIAS}")


# --- the warehouse path ---


def published_exists(live: Path) -> bool:
    """True for a warehouse this tool published, False when there is none; refuses anything else at the path."""
    published = at(live)
    if published.local is not None and not published.local.exists():
        return False
    if published.local is not None and not is_catalog(published.local):
        raise UserError(
            f"{live} is not a warehouse published by ebook-analytics (not a DuckLake catalog); it was left untouched. "
            "Move it away, or run `ebook-analytics etl run --full --rebuild` to set it aside and build a fresh one"
        )
    try:
        return latest(published) is not None
    except CatalogDiskFull:
        raise  # the catalog may be fine: nothing to move away or rebuild
    except UserError as exc:
        raise UserError(
            f"{live} is not a warehouse published by ebook-analytics ({exc}); it was left untouched. "
            "Move it away, or run `ebook-analytics etl run --full --rebuild` to set it aside and build a fresh one"
        ) from exc


def legacy_warehouse(live: Path) -> Path | None:
    """The single DuckDB file this warehouse was before it became a lake (`analytics.duckdb` beside the catalog),
    when it is still there: its history is what an upgrade must not lose."""
    legacy = live.with_name(LEGACY_FILE)
    return legacy if legacy != live and legacy.is_file() and not is_catalog(legacy) else None


@contextmanager
def legacy_attached(con: duckdb.DuckDBPyConnection, legacy: Path) -> Iterator[str]:
    """A pre-lake warehouse file attached read-only for the block; yields its alias."""
    try:
        con.execute(f"attach '{quoted(str(legacy))}' as {LEGACY_ALIAS} (read_only)")
    except duckdb.Error as exc:
        raise UserError(
            f"cannot read the earlier warehouse file {legacy} to carry its history over ({first_line(exc)}); "
            "move it away if its history is not needed, then rerun"
        ) from exc
    try:
        yield LEGACY_ALIAS
    finally:
        con.execute(f"detach {LEGACY_ALIAS}")


def move_aside(live: Path) -> Path:
    """Rename an unusable file at the live path to `<name>.corrupt-<UTC timestamp>`, keeping it for inspection."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = live.with_name(f"{live.name}.corrupt-{stamp}")
    # A SQLite catalog's write-ahead log goes with it: left behind, it would be replayed into the new catalog.
    for suffix in ("-wal", "-shm"):
        companion = live.with_name(live.name + suffix)
        if companion.exists():
            os.replace(companion, aside.with_name(aside.name + suffix))
    os.replace(live, aside)
    return aside


def new_snapshot(lake: Lake) -> str:
    """Commit a snapshot holding the same data (no publication of its own; what compaction also does): a new version
    for the dashboards, which the bench and the tests use to land "a publication" without running the ETL."""
    con = duckdb.connect(config=CONNECT_CONFIG)
    try:
        attach(con, lake, read_only=False)
        con.execute(f"update {LAKE_ALIAS}.meta.publication set published_at = published_at")
    finally:
        con.close()
    current = version(lake)
    assert current is not None
    return current
