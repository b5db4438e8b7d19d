"""Checks on what changed: a check whose inputs are the same as when it last ran keeps that result.

A check's inputs are its definition (its name, the expectation with its arguments and severity: a freshness bound
moves with the snapshot, a volume bound with the last row count) and the fingerprint (`pipelines.fingerprints`) of
every table it reads: its own table, and for a row query every table its SQL names (an orphan check's parent, a
reconciliation's source). Their digest is recorded with each result (`meta.check_results.inputs`), so the next check
step, or `check` on the publication, runs only the checks whose digest differs. A result is kept at most
`full_check_hours` (default 24) after it was computed, so every check runs again at least daily whatever changed;
`etl run --full` and `check --full` run every check.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

import duckdb

from pipelines.fingerprints import Fingerprint, change_set_adds_up, fingerprint
from pipelines.quality.result import CheckResult
from pipelines.quality.suites import Check, TableSuite
from pipelines.queries import one_row, sql_file
from pipelines.transform.changes import change_table
from pipelines.transform.lineage import every_table_read

Table = tuple[str, str]  # (schema, table)
CHANGED_ROWS = "changed_rows"  # the schema `changed_rows()` fills for the check step


def tables_read(suite: TableSuite, check: Check) -> frozenset[Table] | None:
    """The tables `check` reads; None when its SQL names something whose changes cannot be told (it always runs)."""
    own = frozenset({(suite.schema, suite.table)})
    if check.row_query is None:
        return own
    named = every_table_read(check.row_query.format(batch=f'"{suite.schema}"."{suite.table}"'))  # as GX does
    return None if named is None else own | named


def tables_checked(suites: list[TableSuite]) -> set[Table] | None:
    """Every table the checks of `suites` read; None when one reads a table it cannot name."""
    tables: set[Table] = set()
    for suite in suites:
        for check in suite.checks:
            read = tables_read(suite, check)
            if read is None:
                return None
            tables |= read
    return tables


def input_digests(
    con: duckdb.DuckDBPyConnection, suites: list[TableSuite], taken: dict[Table, Fingerprint]
) -> dict[str, str | None]:
    """Each check's inputs as one digest (None: never kept). `taken` holds fingerprints already taken of the
    unchanged tables, and receives the ones taken here (the publish step reuses them)."""
    digests: dict[str, str | None] = {}
    for suite in suites:
        for check in suite.checks:
            tables = tables_read(suite, check)
            if tables is None:
                digests[check.name] = None
                continue
            for table in tables - taken.keys():
                taken[table] = fingerprint(con, *table)
            digests[check.name] = _digest(check, tables, taken)
    return digests


def _digest(check: Check, tables: frozenset[Table], prints: Mapping[Table, Fingerprint]) -> str:
    inputs = {
        "check": check.name,
        "expectation": [check.expectation.kind, check.expectation.arguments],
        "severity": check.severity,
        "tables": {f"{schema}.{name}": list(prints[(schema, name)]) for schema, name in sorted(tables)},
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Changes:
    """What this run changed since the publication the earlier results describe: every table's fingerprint as
    published (`lake.published_fingerprints`), and the tables whose changed rows it recorded
    (`pipelines.transform.changes`: temp table `changes_<schema>_<table>`, `_version` 'old' and 'new')."""

    published: Mapping[Table, Fingerprint]
    recorded: frozenset[Table]
    _adds_up: dict[Table, bool] = field(default_factory=dict, compare=False, repr=False)
    _keeps_keys: dict[tuple[Table, str], bool] = field(default_factory=dict, compare=False, repr=False)

    def add_up(self, con: duckdb.DuckDBPyConnection, table: Table, now: Fingerprint) -> bool:
        """Whether `table` changed since its publication by exactly its recorded change set (`change_set_adds_up`,
        against its fingerprint `now`); asked once per table, whichever check step path asks first."""
        if table not in self.recorded or table not in self.published:
            return False
        if table not in self._adds_up:
            changes = change_table(".".join(table))
            self._adds_up[table] = change_set_adds_up(con, changes, self.published[table], now)
        return self._adds_up[table]

    def keeps_every_key(self, con: duckdb.DuckDBPyConnection, table: Table, key: str) -> bool:
        """Whether every key of `table`'s recorded old versions is still held by a row of the table
        (`queries/checks/keys_removed.sql`); asked once per table and key."""
        if (table, key) not in self._keeps_keys:
            removed = sql_file("checks/keys_removed").format(
                changes=f'temp."{change_table(".".join(table))}"',
                checked=f'"{table[0]}"."{table[1]}"',
                key=f'"{key}"',
            )
            self._keeps_keys[(table, key)] = int(one_row(con.execute(removed))[0]) == 0
        return self._keeps_keys[(table, key)]


def on_changed_rows(
    con: duckdb.DuckDBPyConnection,
    suites: list[TableSuite],
    earlier: Mapping[str, CheckResult],
    changes: Changes,
    taken: Mapping[Table, Fingerprint],
    *,
    pending: set[str],
    oldest: datetime,
) -> list[TableSuite]:
    """The pending checks that can be decided on the changed rows, by table: row-by-row and uniqueness checks of a
    staged table or mart whose changed rows are recorded and lead from the table as published to the table as it
    is (`change_set_adds_up`), that passed on the table as published (less than the full-check age ago) with every other
    input as it is now. Deleted rows cannot make them fail, so they pass if the new and updated rows do."""
    found = []
    for suite in suites:
        table = (suite.schema, suite.table)
        if table not in changes.recorded or table not in changes.published or table not in taken:
            continue
        as_published = {**taken, table: changes.published[table]}
        checks = [
            check
            for check in suite.checks
            if check.name in pending
            and (check.row_by_row or check.unique_columns)
            and _passed_on(
                earlier.get(check.name), suite, check, _with_parent(con, check, as_published, changes), oldest
            )
        ]
        if checks and changes.add_up(con, table, taken[table]):
            found.append(TableSuite(suite.schema, suite.table, suite.key, checks))
    return found


def _with_parent(
    con: duckdb.DuckDBPyConnection, check: Check, inputs: Mapping[Table, Fingerprint], changes: Changes
) -> Mapping[Table, Fingerprint]:
    """`inputs` (the check's table as published, every other table as it is), with an orphan check's parent as
    published too when this run changed it by exactly its recorded change set and every key it held is still there:
    rows added or updated in the parent turn no child row into an orphan, so the child's changed rows decide it."""
    if check.parent is None:
        return inputs
    schema, name, key = check.parent
    parent = (schema, name)
    if parent not in inputs or parent not in changes.published or inputs[parent] == changes.published[parent]:
        return inputs
    if not changes.add_up(con, parent, inputs[parent]) or not changes.keeps_every_key(con, parent, key):
        return inputs
    return {**inputs, parent: changes.published[parent]}


def _passed_on(
    result: CheckResult | None,
    suite: TableSuite,
    check: Check,
    prints: Mapping[Table, Fingerprint],
    oldest: datetime,
) -> bool:
    """Whether `result` is a pass of `check` on exactly the tables fingerprinted `prints`, young enough."""
    if result is None or not result.success or not young(result, oldest):
        return False
    tables = tables_read(suite, check)
    if tables is None or _reads_its_table_again(suite, check):
        return False
    return result.inputs == _digest(check, tables, prints)


def _reads_its_table_again(suite: TableSuite, check: Check) -> bool:
    """A row query naming its own table besides the checked rows (e.g. a parent key in the same table): a deleted
    row could make an unchanged one fail, so its changed rows alone decide nothing."""
    if check.row_query is None:
        return False
    # The batch named in the table's own schema (a name no table has): the lineage reads only the house schemas.
    named = every_table_read(check.row_query.format(batch=f'"{suite.schema}"."{CHANGED_ROWS}__batch"'))
    return named is None or (suite.schema, suite.table) in named


def changed_name(suite: TableSuite) -> str:
    """The table in schema `changed_rows` holding the new and updated rows of `suite`'s table."""
    return f"{suite.schema}__{suite.table}"


@contextmanager
def changed_rows(con: duckdb.DuckDBPyConnection, suites: list[TableSuite]) -> Iterator[dict[str, int]]:
    """For the block: `changed_rows.<schema>__<table>`, the new and updated rows recorded for each suite's table,
    as a table GX reads like any other (a temp table is only visible to the connection that made it, not to GX's
    cursors); yields their row counts by suite name. Dropped afterwards: never published."""
    con.execute(f"create schema if not exists {CHANGED_ROWS}")
    try:
        counts = {}
        for suite in suites:
            recorded = change_table(suite.name)
            con.execute(
                f'create or replace table {CHANGED_ROWS}."{changed_name(suite)}" as '
                f"select * exclude (_version) from temp.\"{recorded}\" where _version = 'new'"
            )
            counts[suite.name] = int(
                one_row(con.execute(f'select count(*) from {CHANGED_ROWS}."{changed_name(suite)}"'))[0]
            )
        yield counts
    finally:
        con.execute(f"drop schema if exists {CHANGED_ROWS} cascade")


def unique_on_changed_keys(con: duckdb.DuckDBPyConnection, suite: TableSuite, columns: tuple[str, ...]) -> bool:
    """Whether the keys (`columns`) of the changed rows of `suite`'s table (`changed_rows`) are each held by one
    row of the whole table: then a table whose keys were unique still is. A NULL key among the changed rows leaves
    it to the whole table (Great Expectations' own NULL rules decide it there)."""
    quoted = ", ".join(f'"{column}"' for column in columns)
    query = sql_file("checks/changed_keys_duplicated").format(
        columns=quoted,
        checked=f'"{suite.schema}"."{suite.table}"',
        changed=f'"{CHANGED_ROWS}"."{changed_name(suite)}"',
        any_null=" or ".join(f'"{column}" is null' for column in columns),
    )
    duplicated, with_null = one_row(con.execute(query))
    return int(duplicated) == 0 and int(with_null) == 0


def recorded(con: duckdb.DuckDBPyConnection) -> dict[str, CheckResult]:
    """The results in `con`'s `meta.check_results` that carry their inputs, by check name (none in a warehouse
    from before they were recorded)."""
    try:
        rows = con.execute(sql_file("checks/recorded_results")).fetchall()
    except (duckdb.CatalogException, duckdb.BinderException):
        return {}
    return {
        name: CheckResult(
            name,
            severity,
            success,
            count,
            table,
            tuple(samples or ()),
            inputs,
            checked_at,
            changed_rows=scope == "changed rows",
            kept_totals=scope == "kept totals",
            rows_checked=rows_checked,
            element_count=element_count,
        )
        for name, severity, success, count, table, samples, inputs, checked_at, scope, rows_checked, element_count in (
            rows
        )
    }


def kept(
    earlier: dict[str, CheckResult], digests: dict[str, str | None], *, oldest: datetime
) -> dict[str, CheckResult]:
    """The earlier results whose inputs equal today's and that were computed at or after `oldest`, marked reused."""
    return {
        name: replace(result, reused=True)
        for name, result in earlier.items()
        if digests.get(name) is not None and result.inputs == digests[name] and young(result, oldest)
    }


def young(result: CheckResult, oldest: datetime) -> bool:
    """Computed on its whole table at or after `oldest`: young enough to keep (`full_check_hours`)."""
    return result.checked_at is not None and result.checked_at >= oldest
