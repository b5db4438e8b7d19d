"""Checks that pass, decided in DuckDB without Great Expectations: one query per table.

Most checks pass on most runs, and GX spends milliseconds of Python on each expectation it runs (its metric graph),
however few the rows: on a small warehouse most of the check step. The column checks (not null; in a set, between,
unique: NULLs ignored, as GX ignores them; a compound key: every row, NULLs equal, stricter than GX) and the row
queries (`UnexpectedRowsExpectation`: it passes when its query selects no row) are each one aggregate here, all of a
table's in one statement, on a cursor set up as GX's own (the table's schema as the default, UTC). A condition here
fails whatever GX would fail, so a pass here is a pass there. What does not pass here, or what DuckDB refuses (a bound
of a type the column does not compare with), runs in GX as before, which gives its verdict, counts and samples.
"""

from __future__ import annotations

from contextlib import closing
from decimal import Decimal
from typing import Any

import duckdb
from psycopg import sql

from pipelines.quality.result import CheckResult
from pipelines.quality.suites import Check, TableSuite
from pipelines.queries import one_row


def passed(con: duckdb.DuckDBPyConnection, suites: list[TableSuite]) -> list[CheckResult]:
    """The checks of `suites` that pass here, each as a pass of its table."""
    database = str(one_row(con.execute("select current_database()"))[0])
    results = []
    for suite in suites:
        decided = [(check, found) for n, check in enumerate(suite.checks) if (found := _offending(check, suite, n))]
        counts = _counts(con, database, suite, [found for _, found in decided]) if decided else []
        results += [
            CheckResult(check.name, check.severity, True, 0, suite.name)
            for (check, _), count in zip(decided, counts, strict=True)
            if count == 0
        ]
    return results


# An aggregate counting the rows a check does not pass, and the values its parameters bind.
Offending = tuple[str, dict[str, Any]]


def _counts(con: duckdb.DuckDBPyConnection, database: str, suite: TableSuite, found: list[Offending]) -> list[int]:
    """Each aggregate's count, by one statement over the table; -1 for all when DuckDB refuses it. The statement
    starts with a count of the rows: a row query alone (a subquery, no aggregate of the table) would give one row per
    row of the table, none for an empty one."""
    selected = ", ".join(["count(*)", *(f"{aggregate} as offending_{n}" for n, (aggregate, _) in enumerate(found))])
    parameters = {name: value for _, bound in found for name, value in bound.items()}
    try:
        with closing(schema_cursor(con, database, suite.schema)) as cursor:
            row = one_row(cursor.execute(f"select {selected} from {_table(suite)}", parameters))
    except duckdb.Error:
        return [-1] * len(found)
    return [int(count) for count in row[1:]]


def schema_cursor(con: duckdb.DuckDBPyConnection, database: str, schema: str) -> duckdb.DuckDBPyConnection:
    """A cursor of `con` set up as GX's data source for `schema` sets up its own: that schema of `database` the
    default (unqualified names in a row query resolve there), the session in UTC."""
    cursor = con.cursor()
    cursor.execute(f"use {sql.Identifier(database, schema).as_string(None)}")
    cursor.execute("set TimeZone = 'UTC'")
    return cursor


def _table(suite: TableSuite) -> str:
    return sql.Identifier(suite.schema, suite.table).as_string(None)  # DuckDB quotes identifiers as PostgreSQL does


def _column(name: str) -> str:
    return sql.Identifier(name).as_string(None)


def _offending(check: Check, suite: TableSuite, n: int) -> Offending | None:
    """The check's `Offending` aggregate (its parameters numbered `n`); None for a kind decided elsewhere (volume,
    freshness) or with arguments GX reads in its own way (`mostly`, strict bounds)."""
    expectation, arguments = check.expectation, check.expectation.arguments
    if set(arguments) - {"column", "column_list", "value_set", "min_value", "max_value", "unexpected_rows_query"}:
        return None
    if check.row_query is not None:
        query = check.row_query.format(batch=_table(suite))  # as GX formats it
        return f"(select count(*) from ({query}) as offending)", {}
    if expectation.kind == "ExpectCompoundColumnsToBeUnique" and len(expectation.columns) > 1:
        key = ", ".join(_column(column) for column in expectation.columns)
        return f"count(*) - count(distinct row({key}))", {}
    if expectation.column is None:
        return None
    column = _column(expectation.column)
    match expectation.kind:
        case "ExpectColumnValuesToNotBeNull":
            return f"count(*) filter (where {column} is null)", {}
        case "ExpectColumnValuesToBeUnique":
            return f"count({column}) - count(distinct {column})", {}
        case "ExpectColumnValuesToBeInSet":
            return f"count(*) filter (where not list_contains($values_{n}, {column}))", {
                f"values_{n}": list(arguments["value_set"])
            }
        case "ExpectColumnValuesToBeBetween":
            return _between(column, n, arguments.get("min_value"), arguments.get("max_value"))
    return None


def _between(column: str, n: int, low: Any, high: Any) -> Offending | None:
    """Numeric bounds only: a date or a timestamp compares in GX as GX parses it (bounds.py leaves those to GX too)."""
    if not all(bound is None or _number(bound) for bound in (low, high)):
        return None
    within: list[str] = []
    bound: dict[str, Any] = {}
    if low is not None:
        within.append(f"{column} >= $low_{n}")
        bound[f"low_{n}"] = low
    if high is not None:
        within.append(f"{column} <= $high_{n}")
        bound[f"high_{n}"] = high
    if not within:
        return None  # GX refuses a range without bounds, and says so
    return f"count(*) filter (where not ({' and '.join(within)}))", bound


def _number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)
