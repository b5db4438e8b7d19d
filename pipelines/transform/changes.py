"""Change sets: the rows an incremental run changed, per table, for the marts to refresh only what they reach.

For every staged, history and mart table a run changed, a temp table `changes_<schema>_<table>` (never in the
warehouse file, so never published) holds the old version of each changed row (`_version` 'old': updated or
deleted) and the new one ('new': inserted or updated), with the table's own columns. A table whose every row may
have changed (created or re-read without a staged copy to compare with) is listed as changed everywhere instead.
Which tables have a change set (and how many rows each holds), and which changed everywhere, is kept beside the
connection in Python: a run asks some 400 times, and counting a temp table's rows is a statement each time. The
runner maps the changed rows to the periods each mart refreshes (docs/etl.md, "Incremental marts").
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb

from pipelines.queries import one_row, sql_file, sql_template

_PREFIX = "changes_"
# The schemas the marts are built from and into: every write a run makes in them is in its change sets.
HOUSE_SCHEMAS = ("staging", "history", "marts")


def change_table(table: str) -> str:
    """The temp table holding the changed rows of `schema.table`."""
    schema, name = table.split(".", 1)
    return f"{_PREFIX}{schema}_{name}"


@dataclass
class _Started:
    """A connection's change sets: the temp tables `record` made (by name) with the rows each holds (only `record`
    writes to them), the tables changed everywhere, and what each change set does to its table's fingerprint
    (`fingerprint_change`) since it was last added to."""

    change_tables: dict[str, int] = field(default_factory=dict)
    everywhere: set[str] = field(default_factory=set)
    fingerprint_changes: dict[str, tuple[int, int, int]] = field(default_factory=dict)


# By connection, as its temp tables are: gone with it.
_STARTED: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, _Started] = weakref.WeakKeyDictionary()


def start(con: duckdb.DuckDBPyConnection) -> None:
    """A run's change sets begin empty."""
    for name in sorted(_started(con).change_tables):
        con.execute(f'drop table if exists temp."{name}"')
    _STARTED[con] = _Started()


def _started(con: duckdb.DuckDBPyConnection) -> _Started:
    """This connection's change sets; empty when no run started them in it."""
    return _STARTED.setdefault(con, _Started())


def recorded_rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """How many changed rows (old and new versions) are recorded for `schema.table`; 0 when none."""
    return _started(con).change_tables.get(change_table(table), 0)


def fingerprint_change(con: duckdb.DuckDBPyConnection, name: str) -> tuple[int, int, int]:
    """What the change set in temp table `name` does to its table's fingerprint: the rows its old versions take away,
    the rows its new versions add, the change in the sum of the rows' hashes (`checks/change_set_fingerprint.sql`).
    Read once per change set as it stands: the run (its tables' fingerprints before the checks), the checks and the
    publish each ask for every table."""
    started = _started(con)
    if name not in started.fingerprint_changes:
        row = one_row(con.execute(sql_file("checks/change_set_fingerprint"), {"changes": f'temp."{name}"'}))
        started.fingerprint_changes[name] = (int(row[0]), int(row[1]), int(row[2]))
    return started.fingerprint_changes[name]


def recorded(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    """The temp table of `schema.table`'s changed rows when this connection recorded them and the table did not
    change everywhere; None otherwise (also when no run recorded change sets in this connection)."""
    started = _started(con)
    name = change_table(table)
    return name if name in started.change_tables and table not in started.everywhere else None


def changed_everywhere(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether this run listed `schema.table` as changed everywhere (`everything`)."""
    return table in _started(con).everywhere


def everything(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Every row of `table` may have changed (a mart listed so is rebuilt, and whole what is built from it)."""
    _started(con).everywhere.add(table)


def record(
    con: duckdb.DuckDBPyConnection, table: str, version: str, select: str, params: dict[str, object] | None = None
) -> int:
    """Add rows (a SELECT of the table's columns, in order, binding `params`) as version 'old' or 'new' of changed
    rows of `table`; returns how many."""
    target = change_table(table)
    started = _started(con)
    started.fingerprint_changes.pop(target, None)
    if target in started.change_tables:
        statement = f"insert into {target} select '{version}' as _version, * from ({select})"
    else:
        statement = f"create temp table {target} as select '{version}' as _version, * from ({select})"
    rows = int(one_row(con.execute(statement, params or {}))[0])
    started.change_tables[target] = started.change_tables.get(target, 0) + rows
    return rows


def record_upserts(con: duckdb.DuckDBPyConnection, table: str, staged: str, key: str) -> int:
    """Before temp table `incoming` is upserted into the staged table: its rows that are new or differ (new
    versions) and the staged rows they replace (old versions). `staged`: the staged table, or a copy of at least its
    rows with the incoming keys. Returns how many incoming rows are new or differ."""
    changed = record(
        con,
        table,
        "new",
        f"select incoming.* from incoming left join {staged} as staged on staged.{key} = incoming.{key} "
        f"where staged.{key} is null or incoming is distinct from staged",
    )
    record(
        con,
        table,
        "old",
        f"select staged.* from {staged} as staged inner join incoming on staged.{key} = incoming.{key} "
        "where incoming is distinct from staged",
    )
    return changed


def record_diff(con: duckdb.DuckDBPyConnection, table: str, before: str, after: str) -> int:
    """The rows only in `before` (old) and only in `after` (new), two SELECTs of the same columns, as multisets
    (EXCEPT ALL each way); returns how many."""
    _record_difference(con, table, before, after, hashes="diff_hashes")
    con.execute("drop table diff_hashes")
    return recorded_rows(con, table)


def _record_difference(con: duckdb.DuckDBPyConnection, table: str, before: str, after: str, hashes: str) -> None:
    """`record_diff`, leaving the differing row hashes in the temp table `hashes`."""
    difference = sql_template("marts_refresh/row_hash_difference", before=before, after=after)
    con.execute(f"create or replace temp table {hashes} as {difference}")
    for version, rows, sign in (("old", before, 1), ("new", after, -1)):
        beyond = sql_template("marts_refresh/diff_rows", rows=rows, difference=hashes)
        record(con, table, version, beyond, {"sign": sign})


def replace_differing_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rebuilt: str,
    *,
    subset: tuple[str, str, dict[str, object]] | None = None,
) -> int:
    """Make `table` (or its rows in `subset`) equal the temp table `rebuilt` (the same columns) by replacing only the
    rows that differ, which are recorded as its change set (as `record_diff` records them); returns how many. Every
    row of a hash whose copies differ in number is deleted and inserted again from `rebuilt` (equal rows are never
    told apart). `subset`: (a SELECT of the table's rows in it, the same rows as a condition on the table's row
    `mart_row`, that condition's parameters). The rows left alone are neither deleted nor written again: a row deleted
    from a row group has that row group rewritten at the next checkpoint."""
    current, where, params = subset or (f"from {table}", "true", {})
    _record_difference(con, table, current, f"from temp.{rebuilt}", hashes="replaced_hashes")
    hashes = "(select row_hash from temp.replaced_hashes)"
    # (an alias no mart has as a column name: `hash(model)` on a mart with a `model` column hashes that column)
    con.execute(f"delete from {table} as mart_row where ({where}) and hash(mart_row) in {hashes}", params)
    con.execute(f"insert into {table} from temp.{rebuilt} as fresh where hash(fresh) in {hashes}")
    con.execute("drop table temp.replaced_hashes")
    return recorded_rows(con, table)


def history_reached(con: duckdb.DuckDBPyConnection, upstream: dict[str, set[str]]) -> set[str]:
    """The history tables (`history.<name>`) an incremental run's staged changes reach: those built from a staged
    table it changed (`upstream`: each one's staged tables, transitively), and those not built yet. The others gain
    no version: a history table follows its staged tables alone, and the run before left it in step with them."""
    existing, staged = history_tables(con), read(con).changed
    return {table for table, inputs in upstream.items() if table not in existing or inputs & staged}


@contextmanager
def history_diff(
    con: duckdb.DuckDBPyConnection, reached: set[str], mapped: set[str], touched: dict[str, str]
) -> Iterator[None]:
    """Record what the block changes in the `reached` history tables (`history_reached`; the others change nothing).

    A history table some refresh declaration maps (`mapped`) gets its changed versions (a diff: history tables are
    one row per version of an entity), of its `touched` rows alone where given (`history.touched_rows`: the others
    cannot change); any other one counts as changed everywhere (a mart reading it refreshes whole then anyway), as
    does one not built before."""
    existing = history_tables(con)
    diffed = {
        table: f"from {table} where {touched.get(table, 'true')}"
        for table in sorted(reached)
        if table in existing and table in mapped
    }
    for table, rows in diffed.items():
        con.execute(f"create or replace temp table before_{change_table(table)} as {rows}")
    yield
    for table in sorted(reached):
        if table in diffed:
            record_diff(con, table, f"from before_{change_table(table)}", diffed[table])
            con.execute(f"drop table before_{change_table(table)}")
        else:
            everything(con, table)


def history_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The `history.<name>` tables the working file has."""
    rows = con.execute("select table_name from duckdb_tables() where schema_name = 'history' and not temporary")
    return {f"history.{name}" for (name,) in rows.fetchall()}


@dataclass(frozen=True)
class ChangeSet:
    """What an incremental run changed: tables with recorded rows, and tables where everything may have."""

    everything: frozenset[str]
    rows: frozenset[str]

    @property
    def changed(self) -> frozenset[str]:
        return self.everything | self.rows


def read(con: duckdb.DuckDBPyConnection) -> ChangeSet:
    """The change sets recorded so far in this connection (tables with no changed row are left out)."""
    started = _started(con)
    rows = {_recorded_table(name) for name, count in started.change_tables.items() if count}
    return ChangeSet(frozenset(started.everywhere), frozenset(rows))


def _recorded_table(name: str) -> str:
    """`schema.table` of change table `name` (`change_table`'s inverse: the house schemas have no underscore)."""
    schema, _, table = name.removeprefix(_PREFIX).partition("_")
    return f"{schema}.{table}"
