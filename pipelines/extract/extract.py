"""Copies the source tables into `staging.*` from one PostgreSQL snapshot, incrementally where it can.

All reads happen inside one DuckDB transaction; the postgres extension runs them in one REPEATABLE READ READ ONLY
transaction on one backend, so every staged table (and the marts built from them) describe the same instant.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime

import duckdb
import pyarrow as pa
from psycopg import sql
from tqdm import tqdm

from pipelines.connections import connect
from pipelines.extract import capture
from pipelines.extract.capture import FULL, LOGICAL, XMIN, Plan, SlotState
from pipelines.extract.pgoutput import UNCHANGED, Change, Row
from pipelines.extract.postgres import SOURCE_ALIAS, source_scan
from pipelines.extract.tables import SourceTable, array_literal
from pipelines.queries import one_row, sql_file
from pipelines.transform import changes

XID_BITS = 32


@dataclass(frozen=True)
class TableCounts:
    rows_read: int  # rows fetched from the source
    rows_changed: int  # staged rows inserted or whose values changed
    rows_deleted: int  # staged rows removed because they left the source
    rows: int  # staged rows after the run (the quality gate's volume baseline)
    capture_method: str  # logical (slot changes), xmin (rows written since the last snapshot) or full (re-read)

    def as_dict(self) -> dict[str, int | str]:
        return asdict(self)


@dataclass(frozen=True)
class Extraction:
    snapshot_at: datetime  # the source's now() in the extract transaction ("data as of")
    tables: dict[str, TableCounts]
    slot: SlotState | None = None  # the slot position the staging reflects: confirmed after the publication
    created_slot: str | None = None  # a slot this run created (dropped again when the run does not publish)


@dataclass
class _Pending:
    """One staged table's changes from the slot, folded to the last state per key (None: deleted)."""

    rows: dict[str, Row | None] = field(default_factory=dict)
    truncated: bool = False
    read: int = 0
    # Keys whose first change since the staged position is an insert: not staged (the stream is exact from that
    # position and the key is unique at the source), so nothing staged needs looking up for them.
    inserted: set[str] = field(default_factory=set)


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


def capture_ready(con: duckdb.DuckDBPyConnection, tables: list[SourceTable]) -> tuple[SlotState | None, str | None]:
    """The build file's slot position, and why the staging cannot continue from a slot (a table new to it)."""
    row = con.execute("select slot_name, lsn from meta.capture_state").fetchone()
    for table in tables:
        if _staged_columns(con, table.name) != list(table.staged_columns):
            return None, f"staging.{table.name} is new or its columns changed"
    return (SlotState(slot=row[0], lsn=row[1]) if row else None), None


def extract(con: duckdb.DuckDBPyConnection, tables: list[SourceTable], plan: Plan, url: str) -> Extraction:
    """Stage every table from one consistent source point and record how far each got in `meta.extract_state`.

    What changed is recorded per table as a change set (pipelines/transform/changes.py) for the marts."""
    changes.start(con)
    con.execute("begin")
    try:
        if plan.incremental:
            extraction = _extract_changes(con, tables, plan, url)
        else:
            extraction = _extract_snapshot(con, tables, plan)
        con.execute("commit")
    except BaseException:
        # A failed commit has already ended the transaction; the original error is the one to report.
        with suppress(duckdb.TransactionException):
            con.execute("rollback")
        raise
    finally:
        plan.release_snapshot()
    return extraction


def _extract_snapshot(con: duckdb.DuckDBPyConnection, tables: list[SourceTable], plan: Plan) -> Extraction:
    """Read the tables in one REPEATABLE READ snapshot: a new slot's exported one, else the xmin method's own."""
    if plan.snapshot is not None:
        # The extension runs this first in its REPEATABLE READ transaction, before any read: every table is then
        # read as of the slot's consistent point. The snapshot id is PostgreSQL's own text, quoted as a literal.
        statement = sql.SQL("set transaction snapshot {}").format(sql.Literal(plan.snapshot)).as_string(None)
        con.execute(f"call postgres_execute('{SOURCE_ALIAS}', $statement)", {"statement": statement})
    snapshot_at, snapshot_xmin = one_row(
        con.execute(
            f"select snapshot_at, snapshot_xmin from {source_scan()}", {"query": sql_file("meta/source_snapshot")}
        )
    )
    plan.release_snapshot()  # imported: the exporting connection may go
    previous = _previous_states(con)
    epoch = snapshot_xmin >> XID_BITS
    counts = {}
    for table in tqdm(tables, desc="extract", unit="table", file=sys.stderr, disable=None, leave=False):
        state = previous.get(table.name)
        if not plan.logical and state is not None and _changes_suffice(con, table, state, epoch):
            counts[table.name] = _apply_changes(con, table, since_xid=state.last_xmin)
        else:
            counts[table.name] = _replace(con, table)
    _record_states(con, counts, tables, snapshot_xmin=snapshot_xmin, extracted_at=snapshot_at)
    slot = None
    if plan.slot is not None and plan.consistent_lsn is not None:
        slot = SlotState(plan.slot, plan.consistent_lsn)
    _record_slot(con, slot)
    return Extraction(snapshot_at=snapshot_at, tables=counts, slot=slot, created_slot=plan.slot)


def _extract_changes(con: duckdb.DuckDBPyConnection, tables: list[SourceTable], plan: Plan, url: str) -> Extraction:
    """Apply the slot's changes committed since the last publication, up to the WAL flushed now."""
    with connect(url) as conn:
        snapshot_at, upto = one_row(conn.execute(sql_file("capture/position")))
    upto_lsn = capture.lsn_number(upto)
    pending = _fold(capture.read_changes(url, plan, upto_lsn), tables)
    for table in tables:
        _add_computed(url, table, pending[table.name])
    counts = {table.name: _apply_pending(con, table, pending[table.name]) for table in tables}
    # The xmin state stays that of the last snapshot: still a valid (if older) start should xmin be needed again.
    con.execute(
        "update meta.extract_state set rows = counted.rows, extracted_at = $at"
        " from (select unnest($names) as table_name, unnest($rows) as rows) as counted"
        " where extract_state.table_name = counted.table_name",
        {
            "names": [table.name for table in tables],
            "rows": [counts[table.name].rows for table in tables],
            "at": snapshot_at,
        },
    )
    assert plan.slot is not None
    slot = SlotState(plan.slot, upto_lsn)
    _record_slot(con, slot)
    return Extraction(snapshot_at=snapshot_at, tables=counts, slot=slot)


def _fold(changes: Iterable[Change], tables: list[SourceTable]) -> dict[str, _Pending]:
    """Each staged table's changes reduced to the last state per key, in commit order."""
    pending = {table.name: _Pending() for table in tables}
    by_source: dict[str, list[SourceTable]] = {}
    for table in tables:
        by_source.setdefault(table.source, []).append(table)
    # A row whose columns are exactly its table's is folded as it arrives, unless another staged table shares it.
    sole_columns = {same[0].name: frozenset(same[0].columns) for same in by_source.values() if len(same) == 1}
    for change in changes:
        for table in by_source.get(change.relation, ()):
            _fold_one(pending[table.name], table, sole_columns.get(table.name), change)
    return pending


def _fold_one(pending: _Pending, table: SourceTable, sole_columns: frozenset[str] | None, change: Change) -> None:
    pending.read += 1
    if change.kind == "truncate":
        pending.rows.clear()
        pending.inserted.clear()
        pending.truncated = True
        return
    assert change.row is not None
    key = change.row[table.key]
    assert key is not None
    if change.kind == "insert" and key not in pending.rows and not pending.truncated:
        pending.inserted.add(key)
    if change.kind == "delete":
        pending.rows[key] = None
        return
    old_key = (change.old_key or {}).get(table.key)
    if old_key is not None and old_key != key:
        pending.rows[old_key] = None  # the key itself changed: the old row is gone
    row = change.row
    values = row if row.keys() == sole_columns else {column: row.get(column) for column in table.columns}
    previous = pending.rows.get(key)
    if previous is not None:  # an unchanged TOASTed value is the one this batch set before
        values = {column: previous[column] if value == UNCHANGED else value for column, value in values.items()}
    pending.rows[key] = values


def _add_computed(url: str, table: SourceTable, pending: _Pending) -> None:
    """The computed columns of the changed rows, read from the source by key: the slot carries source columns only.

    They are read now, a little after the changes were committed; a later change to the row is in the next run's
    changes and re-reads them, and a row gone since is deleted by its own change then.
    """
    keys = [key for key, values in pending.rows.items() if values is not None]
    if not table.computed or not keys:
        return
    with connect(url) as conn:
        # the key as PostgreSQL prints it, as the slot's rows carry it
        found = {
            str(row[0]): row[1:]
            for row in conn.execute(table.select_computed(), {"keys": array_literal(keys)}).fetchall()
        }
    for key in keys:
        values = pending.rows[key]
        assert values is not None
        computed = found.get(key, (None,) * len(table.computed))
        values.update(
            {name: None if value is None else str(value) for name, value in zip(table.computed, computed, strict=True)}
        )


def _apply_pending(con: duckdb.DuckDBPyConnection, table: SourceTable, pending: _Pending) -> TableCounts:
    """Upsert and delete the folded changes in the staged table; counts as the other methods count them."""
    target, key = f"staging.{_identifier(table.name)}", _identifier(table.key)
    if not pending.rows and not pending.truncated:  # no change arrived: the staged table stands, no statement on it
        staged = one_row(con.execute(f"select count(*) from {target}"))[0]
        return TableCounts(rows_read=0, rows_changed=0, rows_deleted=0, rows=staged, capture_method=LOGICAL)
    types = _staged_types(con, table.name)
    rows = list(pending.rows.items())
    # The rows' values by column (a deleted row's: its key alone) laid out by pyarrow, not by a Python list per column
    # (71,000 rows of ten columns: 0.35 -> 0.10 s; applying a `large` day's changes, 1.13-1.19 -> 1.00-1.03 s).
    by_column = pa.Table.from_pylist(
        [{table.key: key_text} if values is None else values for key_text, values in rows],
        schema=pa.schema([(column, pa.string()) for column in table.staged_columns]),
    )
    arrow = pa.table(
        {
            "_deleted": pa.array([values is None for _, values in rows], pa.bool_()),
            "_new": pa.array([key_text in pending.inserted for key_text, _ in rows], pa.bool_()),
            "_unchanged": pa.array([_unchanged_columns(values) for _, values in rows], pa.list_(pa.string())),
            **{column: by_column.column(column) for column in table.staged_columns},
        }
    )
    con.register("capture_rows", arrow)
    key_type = types[table.key]
    # The arriving keys that may be staged; a day of inserts (most of the events) then reads no staged key column.
    staged_keys = f"select cast({key} as {key_type}) from capture_rows where not _new"
    may_be_staged = len(rows) > len(pending.inserted)
    matches = _matching_staged(con, target, key, staged_keys if may_be_staged else None)
    # Values arrive as PostgreSQL's text output, cast to the staged types; an unchanged TOASTed value keeps the
    # staged one.
    selected = ", ".join(
        f"case when list_contains(capture_rows._unchanged, '{column}') then staged.{_identifier(column)} "
        f"else cast(capture_rows.{_identifier(column)} as {types[column]}) end as {_identifier(column)}"
        for column in table.staged_columns
    )
    con.execute(
        f"create or replace temp table incoming as select {selected} from capture_rows "
        f"left join {matches} as staged on staged.{key} = cast(capture_rows.{key} as {key_type}) "
        "where not capture_rows._deleted"
    )
    if pending.truncated:  # every staged row not arriving again is gone: the whole staged table is read
        gone, gone_from = f"{key} not in (select {key} from incoming)", target
    else:
        gone, gone_from = f"{key} in ({staged_keys} and _deleted)", matches
    changed = changes.record_upserts(con, f"staging.{table.name}", matches, key)
    deleted = changes.record(con, f"staging.{table.name}", "old", f"select * from {gone_from} where {gone}")
    if pending.truncated:
        con.execute(f"delete from {target}")
    elif may_be_staged:
        con.execute(f"delete from {target} where {key} in ({staged_keys})")
    con.execute(f"insert into {target} select * from incoming")
    con.execute(f"drop table incoming; drop table {matches}")
    con.unregister("capture_rows")
    staged = one_row(con.execute(f"select count(*) from {target}"))[0]
    return TableCounts(
        rows_read=pending.read, rows_changed=changed, rows_deleted=deleted, rows=staged, capture_method=LOGICAL
    )


def _unchanged_columns(values: Row | None) -> list[str] | None:
    """The columns of a changed row whose staged value stays (an unchanged TOASTed value); None without one (nearly
    every row: a list for each of a `large` day's 122,683 rows took 0.61 s to lay out, None 0.14 s)."""
    if not values or UNCHANGED not in values.values():  # (the membership test runs in C)
        return None
    return [column for column, value in values.items() if value == UNCHANGED]


def _record_slot(con: duckdb.DuckDBPyConnection, slot: SlotState | None) -> None:
    con.execute("delete from meta.capture_state")
    if slot is not None:
        con.execute("insert into meta.capture_state values ($slot, $lsn)", {"slot": slot.slot, "lsn": slot.lsn})


def _identifier(name: str) -> str:
    return sql.Identifier(name).as_string(None)  # DuckDB quotes identifiers the way PostgreSQL does


def _previous_states(con: duckdb.DuckDBPyConnection) -> dict[str, _State]:
    rows = con.execute(
        "select table_name, last_xmin, xid_epoch from meta.extract_state where last_xmin is not null"
    ).fetchall()
    return {name: _State(last_xmin=xmin, xid_epoch=epoch) for name, xmin, epoch in rows}


def _changes_suffice(con: duckdb.DuckDBPyConnection, table: SourceTable, state: _State, epoch: int) -> bool:
    """Whether reading the rows written since the last snapshot brings the staged table up to date.

    Not when the table is re-read whole by design, the xid epoch moved on (32-bit xmin order is only valid within
    one epoch), or its columns changed. (A table without a state, on a first run, newly listed or back after
    --redact-pii, is re-read whole: the caller checks.)
    """
    return (
        table.strategy == "xmin"
        and state.xid_epoch == epoch
        and _staged_columns(con, table.name) == list(table.staged_columns)
    )


def _staged_columns(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    """The staged table's columns in order; none when it does not exist."""
    return list(_staged_types(con, name))


def _staged_types(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, str]:
    """The staged table's columns and their DuckDB types, in order; none when it does not exist.

    Its own catalog entry, not `information_schema`: that lists every attached catalog, the source's included,
    at some 20 ms a call with the source attached."""
    try:
        rows = con.execute(
            "select name, type from pragma_table_info($table) order by cid", {"table": f"staging.{_identifier(name)}"}
        ).fetchall()
    except duckdb.CatalogException:
        return {}
    return dict(rows)


def _fetch_incoming(con: duckdb.DuckDBPyConnection, query: str) -> int:
    con.execute(f"create or replace temp table incoming as select * from {source_scan()}", {"query": query})
    return int(one_row(con.execute("select count(*) from incoming"))[0])


def _matching_staged(con: duckdb.DuckDBPyConnection, target: str, key: str, keys: str | None) -> str:
    """The staged rows whose key is among `keys` (a SELECT; None: no key can be staged), copied into a temp table
    whose name it returns.

    A change compares the arriving rows with the staged rows of their keys several times (which are new, which
    differ, the old versions); each comparison would scan every column of the whole staged table, where this one
    reads its key column (medium, 240 rows into 3.9M events: 0.30 s a comparison, 0.14 s the copy)."""
    matching = f"where {key} in ({keys})" if keys is not None else "limit 0"
    con.execute(f"create or replace temp table staged_matches as select * from {target} {matching}")
    return "temp.staged_matches"


def _replace(con: duckdb.DuckDBPyConnection, table: SourceTable) -> TableCounts:
    """Re-read the whole table; against an existing staged copy, count what actually changed."""
    target, key = f"staging.{_identifier(table.name)}", _identifier(table.key)
    if not _staged_columns(con, table.name):
        con.execute(f"create table {target} as select * from {source_scan()}", {"query": table.select()})
        changes.everything(con, f"staging.{table.name}")
        rows = one_row(con.execute(f"select count(*) from {target}"))[0]
        return TableCounts(rows_read=rows, rows_changed=rows, rows_deleted=0, rows=rows, capture_method=FULL)
    rows_read = _fetch_incoming(con, table.select())
    changed = changes.record_upserts(con, f"staging.{table.name}", target, key)
    deleted = changes.record(
        con, f"staging.{table.name}", "old", f"select * from {target} anti join incoming using ({key})"
    )
    con.execute(f"create or replace table {target} as select * from incoming")
    con.execute("drop table incoming")
    return TableCounts(
        rows_read=rows_read, rows_changed=changed, rows_deleted=deleted, rows=rows_read, capture_method=FULL
    )


def _apply_changes(con: duckdb.DuckDBPyConnection, table: SourceTable, *, since_xid: int) -> TableCounts:
    """Upsert the rows written since the last snapshot's xmin, then remove rows deleted at the source.

    Every row not re-read was visible and unchanged in the last snapshot, so after the upsert the staged rows are
    a superset of the source's: equal counts mean nothing was deleted, and only otherwise are the source's keys read.
    """
    target, key = f"staging.{_identifier(table.name)}", _identifier(table.key)
    rows_read = _fetch_incoming(con, table.select(changed_since_xid=since_xid))
    matches = _matching_staged(con, target, key, f"select {key} from incoming")
    changed = changes.record_upserts(con, f"staging.{table.name}", matches, key)
    con.execute(f"delete from {target} where {key} in (select {key} from incoming)")
    con.execute(f"insert into {target} select * from incoming")
    con.execute(f"drop table incoming; drop table {matches}")
    source_rows = one_row(con.execute(f"select n from {source_scan()}", {"query": table.count_rows()}))[0]
    staged_rows = one_row(con.execute(f"select count(*) from {target}"))[0]
    deleted = 0
    if source_rows != staged_rows:
        con.execute(
            f"create or replace temp table source_keys as select * from {source_scan()}", {"query": table.select_keys()}
        )
        gone = f"{key} not in (select {key} from source_keys)"
        changes.record(con, f"staging.{table.name}", "old", f"select * from {target} where {gone}")
        deleted = one_row(con.execute(f"delete from {target} where {gone}"))[0]
        con.execute("drop table source_keys")
    return TableCounts(
        rows_read=rows_read,
        rows_changed=changed,
        rows_deleted=deleted,
        rows=staged_rows - deleted,
        capture_method=XMIN,
    )


def _record_states(
    con: duckdb.DuckDBPyConnection,
    counts: dict[str, TableCounts],
    tables: list[SourceTable],
    *,
    snapshot_xmin: int,
    extracted_at: datetime,
) -> None:
    con.execute("delete from meta.extract_state")
    con.execute(
        "insert into meta.extract_state select unnest($names), unnest($strategies), $xmin, $epoch, unnest($rows), $at",
        {
            "names": [table.name for table in tables],
            "strategies": [table.strategy for table in tables],
            "xmin": snapshot_xmin % (1 << XID_BITS),
            "epoch": snapshot_xmin >> XID_BITS,
            "rows": [counts[table.name].rows for table in tables],
            "at": extracted_at,
        },
    )
