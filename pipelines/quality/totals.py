"""Reconciliations decided on totals kept up to date by the runs' change sets (docs/quality.md, "Checks on what
changed").

A reconciliation compares a mart's total with its source's (`queries/checks/reconcile.sql`: both NULL as 0, compared
exactly). Where a side is an additive aggregate (`count(*)`, `sum(expr)`) over one table (the source side:
`select <aggregate> from <schema>.<table> [where <condition>]`, no join, subquery or other aggregate), its total is
computed by one query and kept with the check results (`meta.check_totals`, published with them), with the digest of
its definition and its table's fingerprint. A later run whose table changed by a recorded change set that adds up
(`change_set_adds_up`) brings the kept total up to date from the change set alone: total + aggregate(new versions)
- aggregate(old versions). Only integers and DECIMAL are kept (a DOUBLE sum is not associative); a total is kept as
the comparison sees it, NULL as 0, which the sum of the parts preserves exactly. Equal totals pass; unequal ones
leave the check to Great Expectations on the whole tables, which alone gives the count and samples.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa

from pipelines.fingerprints import Fingerprint, fingerprint
from pipelines.quality.result import CheckResult
from pipelines.quality.reuse import Changes, Table, young
from pipelines.quality.suites import Check, TableSuite
from pipelines.queries import one_row, registered, sql_file
from pipelines.transform.changes import HOUSE_SCHEMAS, change_table

_SOURCE = re.compile(
    r"select\s+(?P<aggregate>.+?)\s+from\s+(?P<schema>[a-z_]+)\.(?P<table>[a-z_][a-z0-9_]*)"
    r"(?:\s+where\s+(?P<condition>.+))?",
    re.IGNORECASE | re.DOTALL,
)
_AGGREGATE = re.compile(r"count\s*\(\s*\*\s*\)|sum\s*\((?P<argument>.*)\)", re.IGNORECASE | re.DOTALL)
# Anything that could make a part not add up to the whole, or read another table, or the clock: such a side is
# aggregated whole (string literals are blanked first, and `is [not] distinct from` is a comparison).
_NOT_ADDITIVE = re.compile(
    r"\b(select|from|join|union|intersect|except|group|having|window|over|filter|distinct|limit|offset|order|"
    r"qualify|lateral|using|sum|count|avg|min|max|now|current_date|current_timestamp|random|uuid|gen_random_uuid)\b"
    r"|;|--|/\*|\$|\{|\}|\?",
    re.IGNORECASE,
)
_LITERAL = re.compile(r"'(?:[^']|'')*'")
_DISTINCT_FROM = re.compile(r"\bis\s+(not\s+)?distinct\s+from\b", re.IGNORECASE)
# meta.check_totals' columns, for handing a run's totals to DuckDB in one piece
_TOTAL_ROWS = pa.schema([(column, pa.string()) for column in ("name", "side", "table_name", "total", "inputs")])


@dataclass(frozen=True)
class Side:
    """One side of a reconciliation: an additive aggregate over one table, where a condition holds."""

    name: str  # 'mart' | 'source'
    table: Table
    aggregate: str  # count(*) | sum(<expression>)
    condition: str = "true"

    def inputs(self, table_print: Fingerprint) -> str:
        """The digest of what the side's total depends on: its definition and its table's rows."""
        inputs = {"aggregate": self.aggregate, "condition": self.condition, "table": self.table, "rows": table_print}
        return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class KeptTotal:
    """A side's total, as of the tables whose fingerprints `inputs` digests (`Side.inputs`)."""

    table: str  # schema.table
    total: Decimal
    inputs: str


Totals = dict[tuple[str, str], KeptTotal]  # by check name and side


def _plain(text: str) -> bool:
    """Whether `text` (an aggregate's argument or a condition) reads each row alone: no subquery, aggregate,
    window, clock or chance."""
    blanked = _DISTINCT_FROM.sub(" = ", _LITERAL.sub("''", text))  # a comparison, row by row
    return _NOT_ADDITIVE.search(blanked) is None


def _balanced(text: str) -> bool:
    """Whether the parentheses of `text` close in order: `sum(a) - sum(b)` matches `sum(...)` with argument
    `a) - sum(b`, which is not one argument."""
    depth = 0
    for char in _LITERAL.sub("''", text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _additive(aggregate: str) -> bool:
    match = _AGGREGATE.fullmatch(aggregate.strip())
    if match is None:
        return False
    argument = match.group("argument")
    return argument is None or (_balanced(argument) and _plain(argument))


def sides(suite: TableSuite, check: Check) -> tuple[Side, Side] | None:
    """The mart and source sides of a reconciliation whose both sides are additive over one table; None otherwise
    (it is checked whole by Great Expectations, as any other check)."""
    if check.reconciled is None:
        return None
    mart, source = (text.strip() for text in check.reconciled)
    found = _SOURCE.fullmatch(source)
    if found is None or not _additive(mart) or not _additive(found["aggregate"]):
        return None
    if found["schema"].lower() not in HOUSE_SCHEMAS:
        return None
    condition = found["condition"]
    if condition is not None and not (_balanced(condition) and _plain(condition)):
        return None
    source_table = (found["schema"].lower(), found["table"].lower())
    return (
        Side("mart", (suite.schema, suite.table), mart),
        Side("source", source_table, found["aggregate"].strip(), condition.strip() if condition else "true"),
    )


def _exact(value: Any) -> Decimal | None:
    """A total as the comparison sees it (NULL as 0), exactly; None for a type whose sum is not exact (DOUBLE)."""
    if value is None:
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return None


@dataclass(frozen=True)
class _Total:
    value: Decimal
    rows_read: int
    kept: bool  # from a kept total (as is, or brought up to date), not the whole table


class _Sides:
    """Totals of sides in one check step (whether a table's change set adds up: `Changes.add_up`, asked once)."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        stored: Mapping[tuple[str, str], KeptTotal],
        changes: Changes | None,
        taken: dict[Table, Fingerprint],
    ) -> None:
        self.con = con
        self.stored = stored
        self.changes = changes
        self.taken = taken
        self.whole: dict[tuple[Table, str, str], Any] = {}  # a side several checks share is aggregated once

    def fingerprint(self, table: Table) -> Fingerprint:
        if table not in self.taken:
            self.taken[table] = fingerprint(self.con, *table)
        return self.taken[table]

    def total(self, check: str, side: Side, *, may_keep: bool) -> _Total | None:
        """The side's total now: kept (its table unchanged), brought up to date by its table's change set, or
        aggregated whole; None when it cannot be told exactly (then Great Expectations decides)."""
        stored = self.stored.get((check, side.name)) if may_keep else None
        try:
            now = self.fingerprint(side.table)
            if stored is not None and stored.inputs == side.inputs(now):
                return _Total(stored.total, 0, kept=True)
            if stored is not None and self._by_change_set(side, stored):
                return self._brought_up_to_date(side, stored)
            value = self._whole(side)
        except duckdb.Error:  # e.g. a column the contract names that is not there: GX reports it
            return None
        exact = _exact(value)
        return None if exact is None else _Total(exact, now[0], kept=False)

    def _whole(self, side: Side) -> Any:
        key = (side.table, side.aggregate, side.condition)
        if key not in self.whole:
            query = sql_file("checks/side_total").format(
                aggregate=side.aggregate, table=_quoted(side.table), condition=side.condition
            )
            self.whole[key] = one_row(self.con.execute(query))[0]
        return self.whole[key]

    def _by_change_set(self, side: Side, stored: KeptTotal) -> bool:
        """Whether the side's table changed since the kept total by exactly its recorded change set."""
        table = side.table
        if self.changes is None or table not in self.changes.published:
            return False
        if stored.inputs != side.inputs(self.changes.published[table]):
            return False
        return self.changes.add_up(self.con, table, self.taken[table])

    def _brought_up_to_date(self, side: Side, stored: KeptTotal) -> _Total | None:
        query = sql_file("checks/side_total_change").format(
            aggregate=side.aggregate,
            changes=f'temp."{change_table(".".join(side.table))}"',
            condition=side.condition,
        )
        value, rows_read = stored.total, 0
        for version, total, rows in self.con.execute(query).fetchall():
            exact = _exact(total)
            if exact is None:
                return None
            value += exact if version == "new" else -exact
            rows_read += int(rows)
        return _Total(value, rows_read, kept=True)


def _quoted(table: Table) -> str:
    return f'"{table[0]}"."{table[1]}"'


def decide(
    con: duckdb.DuckDBPyConnection,
    suites: list[TableSuite],
    *,
    pending: set[str],
    earlier: Mapping[str, CheckResult],
    stored: Mapping[tuple[str, str], KeptTotal],
    changes: Changes | None,
    taken: dict[Table, Fingerprint],
    digests: Mapping[str, str | None],
    oldest: datetime,
    now: datetime,
    computed: Totals,
) -> dict[str, CheckResult]:
    """The pending reconciliations whose two totals are equal, as passes; `computed` receives every total told.

    A side's kept total (`stored`) is used when the check's last whole result is younger than `oldest`: as is when
    its table is unchanged, brought up to date when it changed by its recorded change set. Such a pass keeps that
    result's `checked_at` (so the full check still comes round) and says `kept totals`; one of two whole totals is a
    whole-table pass of now. Unequal totals are left out, to run on the whole tables for their count and samples.
    """
    told = _Sides(con, stored, changes, taken)
    passed: dict[str, CheckResult] = {}
    for suite in suites:
        for check in suite.checks:
            both = sides(suite, check) if check.name in pending else None
            if both is None:
                continue
            last = earlier.get(check.name)
            may_keep = last is not None and young(last, oldest)
            mart, source = (told.total(check.name, side, may_keep=may_keep) for side in both)
            if mart is None or source is None:
                continue
            for side, total in zip(both, (mart, source), strict=True):
                inputs = side.inputs(taken[side.table])
                computed[(check.name, side.name)] = KeptTotal(".".join(side.table), total.value, inputs)
            if mart.value != source.value:
                continue
            kept = mart.kept or source.kept
            passed[check.name] = CheckResult(
                check.name,
                check.severity,
                True,
                0,
                suite.name,
                inputs=digests.get(check.name),
                checked_at=last.checked_at if kept and last is not None else now,
                kept_totals=kept,
                rows_checked=mart.rows_read + source.rows_read if kept else taken[both[0].table][0],
                element_count=taken[both[0].table][0],
            )
    return passed


def recorded(con: duckdb.DuckDBPyConnection) -> Totals:
    """The totals kept with the last publication's check results (none in a warehouse from before they were)."""
    try:
        rows = con.execute(sql_file("checks/recorded_totals")).fetchall()
    except (duckdb.CatalogException, duckdb.BinderException):
        return {}
    return {(name, side): KeptTotal(table, Decimal(total), inputs) for name, side, table, total, inputs in rows}


def keep(con: duckdb.DuckDBPyConnection, totals: Totals) -> None:
    """Replace `meta.check_totals` with `totals` (the decimal text as is: exact, whatever its scale)."""
    con.execute("delete from meta.check_totals")
    rows = pa.Table.from_pylist(
        [
            {"name": name, "side": side, "table_name": kept.table, "total": str(kept.total), "inputs": kept.inputs}
            for (name, side), kept in sorted(totals.items())
        ],
        schema=_TOTAL_ROWS,
    )
    with registered(con, "check_total_rows", rows):
        con.execute(sql_file("checks/record_totals"))
