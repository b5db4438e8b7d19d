"""Connections to the warehouse, configured the same way everywhere.

`connect(paths().warehouse, read_only=True)` (or `open_publication()`) opens the published warehouse: a DuckLake
(`pipelines.publish.lake`) attached read-only at one publication, the latest unless `as_of` names another, with
`marts`, `staging` and `meta` as its schemas. `connect(path)` on any other path opens a plain DuckDB file (the
ETL's working file, a test's scratch file).

Every connection gets the house SQL macros (`queries/macros/*.sql`: `picked`, `utc_day`, ...) as temporary macros,
so the marts, the reports and an analyst's session (`pipelines.warehouse.open_publication()`, or the DuckDB CLI
attaching the lake as docs/etl.md shows, with `-cmd "$(cat queries/macros/*.sql)"`) speak the same SQL. Temporary:
the warehouse holds none, and read-only connections can create them.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import duckdb

from pipelines.config import paths, size_setting
from pipelines.duckdb_extensions import CONNECT_CONFIG
from pipelines.errors import UserError, first_line
from pipelines.publish import lake
from pipelines.queries import QUERIES_DIR

# DuckDB would take 80% of RAM; a cap keeps a run beside the dashboards and spills instead of growing.
DEFAULT_MEMORY_LIMIT = "1GB"


def open_publication(as_of: str | None = None) -> duckdb.DuckDBPyConnection:
    """The published warehouse of the settings, read-only, at the latest publication or the one `as_of` names (a run
    id or an ISO time)."""
    return connect(paths().warehouse, read_only=True, as_of=as_of)


def connect(
    path: Path | str,
    *,
    read_only: bool = False,
    memory_limit: str | None = None,
    spill_limit: str | None = None,
    as_of: str | None = None,
    copies: bool = False,
    reads: Iterable[str] = (),
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; days are UTC calendar days, so the session time zone is UTC.

    `memory_limit` (e.g. "1GB") caps DuckDB's buffer pool; beyond it DuckDB spills to a temp folder beside the file,
    at most `spill_limit` (DuckDB's default: 90% of the free disk).
    `copies` (a published warehouse, read-only): for a long-lived reader making many queries of the house's own SQL
    (the dashboards), the latest publication's small tables are read from an in-memory copy made once per process,
    each when a session first declares it reads it: the session's SQL statements `reads` (`lake.open_publication`,
    setting `reader_copy_max_mb`); a one-shot reader would pay the copy for nothing.
    """
    path = Path(path)
    if read_only and lake.is_catalog(path):
        con, _ = lake.open_publication(
            lake.at(path), as_of, prepare=_configured, copies=_configured_base if copies else None, reads=reads
        )
        return con
    if as_of is not None:
        raise UserError(f"{path} is not a published warehouse; --as-of needs one")
    if read_only and not path.exists():
        raise UserError(f"no warehouse at {path}; run `ebook-analytics etl run` first")
    try:
        config = {
            **CONNECT_CONFIG,
            **({"memory_limit": memory_limit} if memory_limit else {}),
            **({"max_temp_directory_size": spill_limit} if spill_limit else {}),
        }
        con = duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        raise UserError(f"cannot open the warehouse {path}: {first_line(exc)}") from exc
    except duckdb.Error as exc:
        raise UserError(
            f"{path} is not a readable DuckDB warehouse ({first_line(exc)}); "
            "move it away or run `ebook-analytics etl run --full --rebuild` to build a fresh one"
        ) from exc
    return _configured(con)


def work_memory_limit() -> str:
    """DuckDB's buffer pool for building and checking the warehouse (setting `etl_memory_limit`); it spills beyond."""
    return size_setting("etl_memory_limit", DEFAULT_MEMORY_LIMIT)


def work_spill_limit(folder: Path) -> str:
    """How much a build may spill beyond `work_memory_limit()` into `folder` (setting `etl_spill_limit`): by default
    half the space free there when the run starts. DuckDB's own default, 90% of it, lets one runaway query fill the
    disk the embedded source, the lake and the dashboards share before the run fails."""
    return size_setting("etl_spill_limit", f"{shutil.disk_usage(folder).free // 2 // 2**20}MiB")


@contextmanager
def checkpointing(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Checkpoint `con`'s database on another thread while the block runs, and wait for it when the block ends (its
    error raised then). The block must leave `con` alone: DuckDB checkpoints without the GIL, so work that waits on
    another database (the ETL moving its replication slot on, its write-back committing) runs beside it on the other
    core."""
    cursor = con.cursor()
    failed: list[BaseException] = []

    def checkpoint() -> None:
        try:
            cursor.execute("checkpoint")
        except BaseException as exc:  # re-raised on the calling thread
            failed.append(exc)

    thread = threading.Thread(target=checkpoint, name="checkpoint")
    thread.start()
    try:
        yield
    finally:
        thread.join()
        cursor.close()
    if failed:
        raise failed[0]


@contextmanager
def private_copy(
    path: Path | str, tables: Collection[tuple[str, str]] | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The latest publication of the warehouse at `path`, its `tables` ((schema, table); None: all of it) copied
    into a private in-memory database, for work that queries them many times: through DuckLake each query pays its
    catalog lookups (~10 ms however small), and the checks make thousands. Beyond `work_memory_limit()` the copy
    spills to a temporary folder beside the data files. A plain DuckDB file is opened read-only as it is."""
    if not lake.is_catalog(Path(path)):
        con = connect(path, read_only=True)
        try:
            yield con
        finally:
            con.close()
        return
    published = lake.at(Path(path))
    publication = lake.resolve(published, None)
    with tempfile.TemporaryDirectory(prefix=".copy-", dir=published.data_path.parent) as spill:
        config = {**CONNECT_CONFIG, "memory_limit": work_memory_limit(), "temp_directory": spill}
        con = _configured(duckdb.connect(config=config))
        try:
            lake.attach(con, published, snapshot=publication.snapshot_id)
            if tables is None:
                con.execute(f"copy from database {lake.LAKE_ALIAS} to memory")
            else:
                for schema, table in sorted(tables):
                    con.execute(f'create schema if not exists "{schema}"')
                    con.execute(f'create table "{schema}"."{table}" as from {lake.LAKE_ALIAS}."{schema}"."{table}"')
            con.execute(f"detach {lake.LAKE_ALIAS}")
            yield con
        finally:
            con.close()


def _configured(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    con.execute("set TimeZone = 'UTC'")
    for macro in macros():
        con.execute(macro)
    return con


def _configured_base(base: duckdb.DuckDBPyConnection) -> None:
    """`_configured` for every session of a dashboards' base at once: a global time zone, and the macros in the
    base's own catalog, where each cursor finds them (a temporary macro is its one connection's)."""
    base.execute("set global TimeZone = 'UTC'")
    for macro in macros():
        base.execute(_TEMPORARY.sub("create or replace macro", macro))


_TEMPORARY = re.compile(r"\bcreate\s+(or\s+replace\s+)?temp(orary)?\s+macro\b", re.IGNORECASE)


@cache
def macros() -> tuple[str, ...]:
    """The `create temp macro` statements of `queries/macros/`, in file-name order."""
    return tuple(path.read_text() for path in sorted((QUERIES_DIR / "macros").glob("*.sql")))
