"""Copies the source tables into `staging.*` from one PostgreSQL snapshot, incrementally where it can.

All reads happen inside one DuckDB transaction; the postgres extension runs them in one REPEATABLE READ READ ONLY
transaction on one backend, so every staged table (and the marts built from them) describe the same instant.
"""

from __future__ import annotations

import sys
from contextlib import suppress
from dataclasses import asdict, dataclass
from datetime import datetime

import duckdb
from psycopg import sql
from tqdm import tqdm

from pipelines.extract.postgres import source_scan
from pipelines.extract.tables import SourceTable
from pipelines.queries import sql_file

XID_BITS = 32


@dataclass(frozen=True)
class TableCounts:
    rows_read: int  # rows fetched from the source
    rows_changed: int  # staged rows inserted or whose values changed
    rows_deleted: int  # staged rows removed because they left the source
    rows: int  # staged rows after the run (the quality gate's volume baseline)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Extraction:
    snapshot_at: datetime  # the source's now() in the extract transaction
    snapshot_xmin: int  # the snapshot's xmin as an xid8 (epoch << 32 | xid)
    tables: dict[str, TableCounts]


@dataclass(frozen=True)
class _State:
    last_xmin: int
    xid_epoch: int


def prepare(con: duckdb.DuckDBPyConnection, tables: list[SourceTable]) -> None:
    """Create the warehouse schemas and drop staged tables no longer wanted (e.g. PII under --redact-pii)."""
    con.execute(sql_file("meta/schema"))
    wanted = [table.name for table in tables]
    staged = con.execute(
        "select table_name from information_schema.tables where table_schema = 'staging' "
        "and not list_contains($wanted, table_name)",
        {"wanted": wanted},
    ).fetchall()
    for (name,) in staged:
        con.execute(f"drop table staging.{_identifier(name)}")
    con.execute("delete from meta.extract_state where not list_contains($wanted, table_name)", {"wanted": wanted})


def extract(con: duckdb.DuckDBPyConnection, tables: list[SourceTable]) -> Extraction:
    """Stage every table from one source snapshot and record how far each got in `meta.extract_state`."""
    con.execute("begin")
    try:
        snapshot_at, snapshot_xmin = con.execute(
            f"select snapshot_at, snapshot_xmin from {source_scan()}", {"query": sql_file("meta/source_snapshot")}
        ).fetchone()
        previous = _previous_states(con)
        epoch = snapshot_xmin >> XID_BITS
        counts = {}
        for table in tqdm(tables, desc="extract", unit="table", file=sys.stderr, disable=None, leave=False):
            state = previous.get(table.name)
            if _changes_suffice(con, table, state, epoch):
                counts[table.name] = _apply_changes(con, table, since_xid=state.last_xmin)
            else:
                counts[table.name] = _replace(con, table)
        _record_states(con, counts, tables, snapshot_xmin=snapshot_xmin, extracted_at=snapshot_at)
        con.execute("commit")
    except BaseException:
        # A failed commit has already ended the transaction; the original error is the one to report.
        with suppress(duckdb.TransactionException):
            con.execute("rollback")
        raise
    return Extraction(snapshot_at=snapshot_at, snapshot_xmin=snapshot_xmin, tables=counts)


def _identifier(name: str) -> str:
    return sql.Identifier(name).as_string(None)  # DuckDB quotes identifiers the way PostgreSQL does


def _previous_states(con: duckdb.DuckDBPyConnection) -> dict[str, _State]:
    rows = con.execute(
        "select table_name, last_xmin, xid_epoch from meta.extract_state where last_xmin is not null"
    ).fetchall()
    return {name: _State(last_xmin=xmin, xid_epoch=epoch) for name, xmin, epoch in rows}


def _changes_suffice(con: duckdb.DuckDBPyConnection, table: SourceTable, state: _State | None, epoch: int) -> bool:
    """Whether reading the rows written since the last snapshot brings the staged table up to date.

    Not when the table is re-read whole by design, has no state (first run, newly listed, back after
    --redact-pii), the xid epoch moved on (32-bit xmin order is only valid within one epoch), or its columns changed.
    """
    return (
        table.strategy == "xmin"
        and state is not None
        and state.xid_epoch == epoch
        and _staged_columns(con, table.name) == list(table.columns)
    )


def _staged_columns(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = 'staging' and table_name = $name "
        "order by ordinal_position",
        {"name": name},
    ).fetchall()
    return [column for (column,) in rows]


def _fetch_incoming(con: duckdb.DuckDBPyConnection, query: str) -> int:
    con.execute(f"create or replace temp table incoming as select * from {source_scan()}", {"query": query})
    return con.execute("select count(*) from incoming").fetchone()[0]


def _count_changed(con: duckdb.DuckDBPyConnection, table: SourceTable) -> int:
    """Incoming rows that are new or differ from the staged row with the same key (whole rows compared)."""
    target, key = f"staging.{_identifier(table.name)}", _identifier(table.key)
    return con.execute(
        f"select count(*) from incoming left join {target} as staged on staged.{key} = incoming.{key} "
        f"where staged.{key} is null or incoming is distinct from staged"
    ).fetchone()[0]


def _replace(con: duckdb.DuckDBPyConnection, table: SourceTable) -> TableCounts:
    """Re-read the whole table; against an existing staged copy, count what actually changed."""
    target, key = f"staging.{_identifier(table.name)}", _identifier(table.key)
    if not _staged_columns(con, table.name):
        con.execute(f"create table {target} as select * from {source_scan()}", {"query": table.select()})
        rows = con.execute(f"select count(*) from {target}").fetchone()[0]
        return TableCounts(rows_read=rows, rows_changed=rows, rows_deleted=0, rows=rows)
    rows_read = _fetch_incoming(con, table.select())
    changed = _count_changed(con, table)
    deleted = con.execute(f"select count(*) from {target} as staged anti join incoming using ({key})").fetchone()[0]
    con.execute(f"create or replace table {target} as select * from incoming")
    con.execute("drop table incoming")
    return TableCounts(rows_read=rows_read, rows_changed=changed, rows_deleted=deleted, rows=rows_read)


def _apply_changes(con: duckdb.DuckDBPyConnection, table: SourceTable, *, since_xid: int) -> TableCounts:
    """Upsert the rows written since the last snapshot's xmin, then remove rows deleted at the source.

    Every row not re-read was visible and unchanged in the last snapshot, so after the upsert the staged rows are
    a superset of the source's: equal counts mean nothing was deleted, and only otherwise are the source's keys read.
    """
    target, key = f"staging.{_identifier(table.name)}", _identifier(table.key)
    rows_read = _fetch_incoming(con, table.select(changed_since_xid=since_xid))
    changed = _count_changed(con, table)
    con.execute(f"delete from {target} where {key} in (select {key} from incoming)")
    con.execute(f"insert into {target} select * from incoming")
    con.execute("drop table incoming")
    source_rows = con.execute(f"select n from {source_scan()}", {"query": table.count_rows()}).fetchone()[0]
    staged_rows = con.execute(f"select count(*) from {target}").fetchone()[0]
    deleted = 0
    if source_rows != staged_rows:
        con.execute(
            f"create or replace temp table source_keys as select * from {source_scan()}", {"query": table.select_keys()}
        )
        deleted = con.execute(f"delete from {target} where {key} not in (select {key} from source_keys)").fetchone()[0]
        con.execute("drop table source_keys")
    return TableCounts(rows_read=rows_read, rows_changed=changed, rows_deleted=deleted, rows=staged_rows - deleted)


def _record_states(
    con: duckdb.DuckDBPyConnection,
    counts: dict[str, TableCounts],
    tables: list[SourceTable],
    *,
    snapshot_xmin: int,
    extracted_at: datetime,
) -> None:
    con.execute("delete from meta.extract_state")
    for table in tables:
        con.execute(
            "insert into meta.extract_state values ($name, $strategy, $xmin, $epoch, $rows, $at)",
            {
                "name": table.name,
                "strategy": table.strategy,
                "xmin": snapshot_xmin % (1 << XID_BITS),
                "epoch": snapshot_xmin >> XID_BITS,
                "rows": counts[table.name].rows,
                "at": extracted_at,
            },
        )
