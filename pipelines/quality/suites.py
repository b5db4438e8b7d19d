"""The check suites, built as code from the declarative files, so docs and suites cannot drift.

One `TableSuite` per checked table: the staged source tables (`queries/staging/checks.yml` plus each table's key
from `sources.yml`, freshness and volume) and the marts (their contracts, `queries/marts/<mart>.yml`).
Every check is a built-in Great Expectations expectation that GX compiles to SQL and runs in DuckDB: column checks
as column expectations, row conditions, orphans and reconciliations as `UnexpectedRowsExpectation` queries that
select the offending rows' keys (so the first few keys come back as samples).

A suite holds each expectation as data (`Expectation`: GX's class name and its arguments), and only
`pipelines.quality.validation` makes GX objects of the checks that run: a run whose checks are all kept never
imports GX, two of its seconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from psycopg import sql

from pipelines.declared_checks import ColumnCheck, TableCheck
from pipelines.quality.staging_checks import StagedTableChecks
from pipelines.queries import sql_file
from pipelines.transform.contracts import MartContract, Reconciliation

# The GX expectations the suites use, by their class name in `great_expectations.expectations`.
Kind = Literal[
    "ExpectColumnValuesToNotBeNull",
    "ExpectColumnValuesToBeUnique",
    "ExpectCompoundColumnsToBeUnique",
    "ExpectColumnValuesToBeInSet",
    "ExpectColumnValuesToBeBetween",
    "ExpectColumnMaxToBeBetween",
    "ExpectTableRowCountToBeBetween",
    "UnexpectedRowsExpectation",
]

# How a check that passed on a table can be decided on the rows a run changed (docs/quality.md, "Checks on what
# changed"), by kind; every other kind (freshness, volume, reconciliations) reads the whole table.
# Column expectations whose verdict on a table is the AND of their verdict on each row: the changed rows alone.
_ROW_BY_ROW = ("ExpectColumnValuesToNotBeNull", "ExpectColumnValuesToBeInSet", "ExpectColumnValuesToBeBetween")
# Uniqueness: a table whose keys were unique gains a duplicate only through a changed row, so only the changed
# rows' keys are looked up in the whole table.
_UNIQUE_KEY = ("ExpectColumnValuesToBeUnique", "ExpectCompoundColumnsToBeUnique")


@dataclass(frozen=True)
class Expectation:
    """A GX expectation as data: its class (`kind`) and the arguments it is built with."""

    kind: Kind
    arguments: Mapping[str, Any] = field(default_factory=dict)

    @property
    def column(self) -> str | None:
        column = self.arguments.get("column")
        return column if isinstance(column, str) else None

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns it reads: its column, or its column list (none for a row count or a row query)."""
        return (self.column,) if self.column else tuple(self.arguments.get("column_list") or ())


def expect(kind: Kind, **arguments: Any) -> Expectation:
    return Expectation(kind, arguments)


@dataclass(frozen=True)
class Check:
    name: str
    severity: str  # 'error' | 'warn'
    expectation: Expectation
    # Row counts the check compares against (volume checks): the unexpected count is the difference.
    baseline_rows: int | None = None
    # Each row passes or fails on its own (not null, a range, a row condition, an orphan given its parent): rows
    # added to a table that passed can be checked alone (docs/quality.md, "Checks on what changed").
    row_by_row: bool = False
    # A reconciliation's mart and source totals as its contract declares them (`pipelines.quality.totals` decides
    # it on totals where both are additive); None for the other checks.
    reconciled: tuple[str, str] | None = None
    # An orphan check's parent (schema, table, key column): a change there that keeps every key leaves each child
    # row's verdict as it was, so the check can still be decided on the child's changed rows (`reuse`).
    parent: tuple[str, str, str] | None = None

    @property
    def row_query(self) -> str | None:
        """The SQL of a row query (`UnexpectedRowsExpectation`, `{batch}` for its table); None for the others."""
        query = self.expectation.arguments.get("unexpected_rows_query")
        return query if isinstance(query, str) else None

    @property
    def unique_columns(self) -> tuple[str, ...] | None:
        """The columns a uniqueness check reads (None for the other kinds)."""
        return self.expectation.columns if self.expectation.kind in _UNIQUE_KEY else None


@dataclass
class TableSuite:
    schema: str  # staging | marts
    table: str
    key: tuple[str, ...]  # the columns naming a row, reported as sample ids
    checks: list[Check] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"

    def add(
        self,
        name: str,
        severity: str,
        expectation: Expectation,
        baseline_rows: int | None = None,
        *,
        row_by_row: bool = False,
        reconciled: tuple[str, str] | None = None,
        parent: tuple[str, str, str] | None = None,
    ) -> None:
        """Add a check named `<schema>.<table>.<name>`; a name already present (e.g. a declared key check) is kept.
        `row_by_row`: a row query that selects each offending row on its own merits (column expectations are
        known by their kind). `reconciled`: a reconciliation's mart and source totals. `parent`: an orphan check's
        parent table and key."""
        full_name = f"{self.name}.{name}"
        if any(check.name == full_name for check in self.checks):
            return
        row_by_row = row_by_row or expectation.kind in _ROW_BY_ROW
        self.checks.append(Check(full_name, severity, expectation, baseline_rows, row_by_row, reconciled, parent))


@dataclass(frozen=True)
class Thresholds:
    freshness_hours: float  # newest event/generation/usage older than this before the snapshot: warn
    volume_drop_pct: float  # a staged table shrinking by more than this since the last publish: error
    volume_growth_pct: float  # growing by more than this: warn
    volume_min_rows: int  # tables smaller than this last time are too small for a percentage to mean anything


def _literal_sql(text: str) -> str:
    """SQL text from our declarative files placed in a GX query, where braces are template syntax: escaped."""
    return text.replace("{", "{{").replace("}", "}}")


def _identifier(name: str) -> str:
    return _literal_sql(sql.Identifier(name).as_string(None))  # DuckDB quotes identifiers as PostgreSQL does


def _select_keys(key: tuple[str, ...]) -> str:
    return ", ".join(_identifier(column) for column in key) if key else "*"


def _rows_query(template: str, **parts: str) -> Expectation:
    """An unexpected-rows expectation from `queries/checks/<template>.sql`, its placeholders filled with our
    identifiers and declared SQL (GX binds no parameters; its own `{batch}` placeholder is kept)."""
    query = sql_file(f"checks/{template}").format(**parts)
    return expect("UnexpectedRowsExpectation", unexpected_rows_query=query)


def _column_expectation(column: str, check: ColumnCheck) -> Expectation:
    if check.kind == "not_null":
        return expect("ExpectColumnValuesToNotBeNull", column=column)
    if check.kind == "unique":
        return expect("ExpectColumnValuesToBeUnique", column=column)
    if check.kind == "accepted_values":
        return expect("ExpectColumnValuesToBeInSet", column=column, value_set=list(check.args))
    bounds = check.args or {}
    return expect(
        "ExpectColumnValuesToBeBetween", column=column, min_value=bounds.get("min"), max_value=bounds.get("max")
    )


def _unique(columns: tuple[str, ...]) -> Expectation:
    if len(columns) == 1:
        return expect("ExpectColumnValuesToBeUnique", column=columns[0])
    return expect("ExpectCompoundColumnsToBeUnique", column_list=list(columns))


def _row_condition(suite: TableSuite, check: TableCheck) -> None:
    query = _rows_query("row_condition", key=_select_keys(suite.key), condition=_literal_sql(check.expect))
    suite.add(check.name, check.severity, query, row_by_row=True)


def staging_suite(table: StagedTableChecks, key_severity: str = "error") -> TableSuite:
    """Key not null and unique (at `key_severity`), declared column and row checks, orphans."""
    suite = TableSuite("staging", table.table, (table.key,))
    for kind in ("not_null", "unique"):
        suite.add(f"{table.key}.{kind}", key_severity, _column_expectation(table.key, ColumnCheck(kind)))
    for column, checks in table.columns.items():
        for check in checks:
            suite.add(f"{column}.{check.kind}", check.severity, _column_expectation(column, check))
    for condition in table.checks:
        _row_condition(suite, condition)
    for ref in table.references:
        query = _rows_query(
            "orphans",
            key=_select_keys(suite.key),
            column=_identifier(ref.column),
            parent=_identifier(ref.parent),
            parent_key=_identifier(ref.parent_key),
        )
        parent = ("staging", ref.parent, ref.parent_key)
        suite.add(f"{ref.column}.orphans", ref.severity, query, row_by_row=True, parent=parent)
    return suite


def add_freshness(suite: TableSuite, column: str, snapshot_at: datetime, hours: float) -> None:
    """The newest `column` must be at most `hours` older than the snapshot (the source is still being written)."""
    newest_allowed = snapshot_at - timedelta(hours=hours)
    suite.add("freshness", "warn", expect("ExpectColumnMaxToBeBetween", column=column, min_value=newest_allowed))


def add_volume(suite: TableSuite, previous_rows: int, thresholds: Thresholds, drop_severity: str = "error") -> None:
    """Row count against the last published run: a large drop is a `drop_severity` failure, a large growth warns."""
    if previous_rows < thresholds.volume_min_rows:
        return
    lowest = math.ceil(previous_rows * (1 - thresholds.volume_drop_pct / 100))
    highest = math.floor(previous_rows * (1 + thresholds.volume_growth_pct / 100))
    suite.add("volume_drop", drop_severity, expect("ExpectTableRowCountToBeBetween", min_value=lowest), previous_rows)
    suite.add("volume_growth", "warn", expect("ExpectTableRowCountToBeBetween", max_value=highest), previous_rows)


def _reconcile(suite: TableSuite, rec: Reconciliation) -> None:
    query = _rows_query("reconcile", mart_total=_literal_sql(rec.mart), source_total=_literal_sql(rec.source))
    suite.add(rec.name, rec.severity, query, reconciled=(rec.mart, rec.source))


def mart_suite(contract: MartContract) -> TableSuite:
    """Column checks, the unique key, row conditions and reconciliations of a mart contract."""
    suite = TableSuite("marts", contract.name, contract.unique_key)
    if contract.unique_key:
        suite.add("unique_key", "error", _unique(contract.unique_key))
    for column in contract.columns:
        for check in column.checks:
            suite.add(f"{column.name}.{check.kind}", check.severity, _column_expectation(column.name, check))
    for condition in contract.checks:
        _row_condition(suite, condition)
    for rec in contract.reconcile:
        _reconcile(suite, rec)
    return suite


def validation_order(checks: list[Check]) -> dict[str, int]:
    """Each check's place in the results of one GX validation of all `checks`, as GX orders them: grouped by column,
    the groups (checks naming no single column are one group) in the order of their first check."""
    groups: dict[str | None, list[Check]] = {}
    for check in checks:
        groups.setdefault(check.expectation.column, []).append(check)
    ordered = [check for group in groups.values() for check in group]
    return {check.name: index for index, check in enumerate(ordered)}
