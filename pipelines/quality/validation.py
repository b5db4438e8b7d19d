"""Runs the suites with Great Expectations against an open DuckDB warehouse connection, and reads the results.

Two GX execution engines, one verdict. GX spends milliseconds of Python per expectation on SQL (compiling,
reflecting, one round trip per metric bundle), which on a small warehouse is most of the check step. So the column
checks of a small table (at most `FRAME_MAX_ROWS` rows) first run on an in-memory pandas batch fetched from DuckDB
once; row queries (`UnexpectedRowsExpectation`, SQL by nature), large tables and Data Docs run on SQL. Whatever
fails on the batch runs again on SQL, which alone gives counts and samples, so a result differs between the
engines only if the batch passed a check that SQL would fail: the batch keeps DuckDB's values exactly (DECIMAL as
Decimal, dates as dates), a table with a NaN (which pandas takes for a missing value) goes to SQL, and so do the
aggregate checks of an empty table.

GX reaches DuckDB through SQLAlchemy (duckdb-engine), but never opens the file itself: a second `duckdb.connect`
to a file this process already has open fails ("different configuration"), and the ETL holds it open for
writing. Instead every SQLAlchemy connection is a cursor of the caller's connection (same database, same
process), so GX sees exactly what the caller committed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from duckdb_engine import ConnectionWrapper, Dialect
from sqlalchemy.dialects import registry
from sqlalchemy.engine.interfaces import ReflectedPrimaryKeyConstraint

from pipelines.errors import first_line
from pipelines.quality.gx import (
    BatchDefinition,
    DataContextConfig,
    EphemeralDataContext,
    Expectation,
    ExpectationValidationResult,
    FailureSeverity,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
    Validator,
    configurations_built_once,
    gx,
    gxe,
    set_context,
)
from pipelines.quality.result import CheckResult
from pipelines.quality.row_checks import schema_cursor
from pipelines.quality.suites import Check, TableSuite, validation_order
from pipelines.queries import sql_file

SAMPLE_SIZE = 5
DOCS_SITE = "local_site"
# Up to this many rows a table's column checks run on an in-memory batch first (docs/quality.md, "Engines"): a few
# columns of it take megabytes; larger tables are where SQL in DuckDB beats fetching them.
FRAME_MAX_ROWS = 50_000
GX_SEVERITY = {"error": FailureSeverity.CRITICAL, "warn": FailureSeverity.WARNING}


class _ReadOnlyConnection(ConnectionWrapper):
    """A DuckDB cursor for SQLAlchemy, without transactions.

    GX returns each connection to the pool before fetching the result, and SQLAlchemy rolls the connection's
    transaction back on return; in DuckDB that rollback discards the pending result (GX then sees an empty
    result: the known "IndexError in resolve_metric_bundle" with duckdb-engine). GX only reads, so the
    transaction calls are dropped.
    """

    def begin(self) -> None:
        pass

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass


class WarehouseDialect(Dialect):
    """duckdb-engine's dialect, with primary keys read from DuckDB's own catalog.

    duckdb-engine reflects them as PostgreSQL does, through `pg_catalog` views DuckDB emulates: 0.2 s a table, and
    then it fails (a `REGCLASS` cast). GX asks for them each time it computes a table's column types on SQL (every
    failed check's second run does), so a run with three stale tables spent more on that than on its checks."""

    supports_statement_cache = False  # as duckdb-engine says of its own (SQLAlchemy asks every subclass again)

    def get_pk_constraint(
        self, connection: Any, table_name: str, schema: str | None = None, **kw: Any
    ) -> ReflectedPrimaryKeyConstraint:
        row = connection.exec_driver_sql(sql_file("checks/primary_key"), (schema, table_name)).fetchone()
        return {"constrained_columns": list(row[0]) if row else [], "name": row[1] if row else None}


# GX makes its engines from a URL: this one names the dialect above.
registry.register("duckdb.warehouse", __name__, "WarehouseDialect")
WAREHOUSE_URL = "duckdb+warehouse:///:memory:"


class _Context(EphemeralDataContext):
    """GX's in-memory context, without the copy of its whole configuration it serialises to YAML (into an in-memory
    store nothing reads back) at every asset and batch definition added: that copy grows with each table, so on 58
    tables the copies cost a fifth of the check step."""

    def _save_project_config(self) -> None:
        pass


def _context(docs_dir: Path | None) -> EphemeralDataContext:
    sites = {}
    if docs_dir is not None:
        sites[DOCS_SITE] = {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites=sites,
    )
    context = _Context(project_config=config)
    set_context(context)  # as `gx.get_context` does: expectations look the active context up
    return context


def _schema_creator(con: duckdb.DuckDBPyConnection, schema: str) -> Callable[[], _ReadOnlyConnection]:
    """SQLAlchemy `creator`: a cursor of `con` whose default schema is `schema`.

    Unqualified table names are what GX's column introspection falls back to with duckdb-engine, so each
    schema gets its own data source in which its tables resolve unqualified.
    """

    row = con.execute("select current_database()").fetchone()
    database = str(row[0]) if row else "memory"  # a cursor starts in the default database, not in `con`'s: the lake

    def create() -> _ReadOnlyConnection:
        return _ReadOnlyConnection(schema_cursor(con, database, schema))

    return create


def _is_row_query(check: Check) -> bool:
    return check.row_query is not None


def _sample(row: dict[str, Any]) -> str:
    return "/".join("" if value is None else str(value) for value in row.values())


def _failure_message(exception_info: dict[str, Any]) -> str | None:
    """The first line of an exception GX caught while computing a check (e.g. broken SQL in a contract)."""
    infos = exception_info.values() if "raised_exception" not in exception_info else [exception_info]
    for info in infos:
        if isinstance(info, dict) and info.get("raised_exception"):
            return first_line(info.get("exception_message") or "exception")
    return None


def _to_check_result(check: Check, suite: TableSuite, gx_result: ExpectationValidationResult) -> CheckResult:
    result = gx_result.result or {}
    error = _failure_message(gx_result.exception_info or {})
    if error is not None:
        return CheckResult(check.name, check.severity, False, 0, suite.name, (f"check failed to run: {error}",))
    if _is_row_query(check):
        count = int(result.get("observed_value") or 0)
        rows = (result.get("details") or {}).get("unexpected_rows") or []
        samples = tuple(_sample(row) for row in rows[:SAMPLE_SIZE])
    elif "unexpected_count" in result:
        count = int(result["unexpected_count"] or 0)
        # Compound-unique checks list the offending key combinations instead of an index list.
        rows = result.get("partial_unexpected_index_list") or [
            row for row in result.get("partial_unexpected_list") or [] if isinstance(row, dict)
        ]
        # GX adds the checked column to the key columns; only the key names the row (a mart may have none).
        samples = tuple(_sample({k: row.get(k) for k in suite.key}) for row in rows[:SAMPLE_SIZE] if suite.key)
    else:  # a table-level expectation: freshness or volume, with an observed value instead of rows
        observed = result.get("observed_value")
        if gx_result.success:
            count = 0
        elif check.baseline_rows is not None:
            count = abs(int(observed or 0) - check.baseline_rows)
        else:
            count = 1
        samples = () if gx_result.success else (f"observed {observed}",)
    return CheckResult(check.name, check.severity, bool(gx_result.success), count, suite.name, samples)


@dataclass(frozen=True)
class _Batch:
    """A table as GX reads it: through SQL (no parameters), or an in-memory frame handed over at validation."""

    definition: BatchDefinition[Any]
    parameters: dict[str, Any] | None = None
    rows: int = 0  # of an in-memory frame


def _run(
    context: EphemeralDataContext,
    batch: _Batch,
    name: str,
    checks: list[Check],
    result_format: dict[str, Any],
    *,
    for_docs: bool,
) -> list[tuple[Check, ExpectationValidationResult]]:
    """One GX validation of `checks` on the batch: each check with its GX result.

    Only Data Docs need the run in the context's stores (suite, validation definition, result): storing serialises
    every expectation and result, about a fifth of the check step on a small warehouse, so the gate runs the same
    suite on GX's validator directly.
    """
    expectations = [_gx_expectation(check) for check in checks]
    gx_suite = gx.ExpectationSuite(name=name, expectations=expectations)
    if for_docs:
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch.definition, suite=context.suites.add(gx_suite))
        )
        with configurations_built_once():  # the suite is stored (its expectations have their ids) and stays as is
            validation = definition.run(batch_parameters=batch.parameters, result_format=result_format)
    else:
        validator = Validator(
            batch_definition=batch.definition, batch_parameters=batch.parameters, result_format=result_format
        )
        with configurations_built_once():
            validation = validator.validate_expectation_suite(gx_suite)
    by_name = {check.name: check for check in checks}
    return [(by_name[_check_name(gx_result)], gx_result) for gx_result in validation.results]


def _gx_expectation(check: Check) -> Expectation:
    """The check's expectation as a GX object, named for the check (its `meta` finds the check from its result)."""
    expectation: Expectation = getattr(gxe, check.expectation.kind)(**check.expectation.arguments)
    expectation.meta = {"check": check.name, "severity": check.severity}
    expectation.description = check.name
    expectation.severity = GX_SEVERITY[check.severity]
    return expectation


def _check_name(gx_result: ExpectationValidationResult) -> str:
    """The check an expectation's result belongs to (its `meta`; every result of a suite run has its expectation)."""
    config = gx_result.expectation_config
    assert config is not None and config.meta is not None
    return str(config.meta["check"])


def _on_any_batch(check: Check, rows: int) -> bool:
    """Whether a column check comes out the same on the in-memory batch as on SQL: on a table with rows, every one;
    on an empty table, only those decided row by row or by uniqueness (no rows: nothing unexpected), not an
    aggregate of no rows (NULL in SQL, NaN in pandas)."""
    return rows > 0 or check.row_by_row or check.unique_columns is not None


def _frame(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> Any:
    """`columns` of `table` as a pandas DataFrame with DuckDB's values (via Arrow: DECIMAL stays Decimal, DATE stays
    a date, timestamps in UTC; no rows keep their columns' types); None when pandas would read them differently from
    SQL (a NaN, which pandas counts as missing), or when DuckDB refuses (e.g. a column that is not there: SQL then
    reports the check that names it)."""
    cursor = con.cursor()
    try:
        cursor.execute("set TimeZone = 'UTC'")
        relation = cursor.table(table).select(*(duckdb.ColumnExpression(column) for column in columns))
        data: pa.Table = relation.arrow().read_all()
    except duckdb.Error:
        return None
    finally:
        cursor.close()
    has_nan = any(
        pa.types.is_floating(column.type) and pc.any(pc.is_nan(column)).as_py() for column in data.itercolumns()
    )
    return None if has_nan else data.to_pandas()


class _Batches:
    """Where each table is read: one SQL data source per schema, one pandas data source for in-memory frames."""

    def __init__(
        self, context: EphemeralDataContext, con: duckdb.DuckDBPyConnection, schemas: set[str], frame_max_rows: int
    ) -> None:
        self.context = context
        self.con = con
        self.frame_max_rows = frame_max_rows
        self.sql_sources = {
            schema: context.data_sources.add_sql(
                schema,
                connection_string=WAREHOUSE_URL,
                kwargs={"creator": _schema_creator(con, schema)},  # type: ignore[call-arg]  # a field GX's stub omits
            )
            for schema in sorted(schemas)
        }
        self._frames: BatchDefinition[Any] | None = None  # one for every frame (each validation hands its own)
        self.sizes: dict[str, int] = dict(con.execute(sql_file("checks/table_sizes")).fetchall())

    def sql(self, suite: TableSuite) -> _Batch:
        asset = self.sql_sources[suite.schema].add_table_asset(suite.table, table_name=suite.table)
        return _Batch(asset.add_batch_definition_whole_table("whole table"))

    def frame(self, suite: TableSuite, checks: list[Check]) -> _Batch | None:
        """An in-memory batch of the columns `checks` read, for a small table; None where SQL reads it."""
        columns = list(dict.fromkeys(column for check in checks for column in check.expectation.columns))
        if not columns or self.sizes.get(suite.name, self.frame_max_rows + 1) > self.frame_max_rows:
            return None
        frame = _frame(self.con, suite.name, columns)
        if frame is None:
            return None
        if self._frames is None:
            asset = self.context.data_sources.add_pandas("frames").add_dataframe_asset("frame")
            self._frames = asset.add_batch_definition_whole_dataframe("whole frame")
        return _Batch(self._frames, {"dataframe": frame}, rows=len(frame))

    def dispose(self) -> None:
        # The pooled cursors hold open transactions on `con`; after a write that also reads another database
        # (the held-back marts copied from the live file) DuckDB would refuse to checkpoint while they live.
        for source in self.sql_sources.values():
            source.get_engine().dispose()  # the one GX tested the data source with
            source.get_execution_engine().engine.dispose()


def _first_pass(
    context: EphemeralDataContext, batches: _Batches, suite: TableSuite, sql: _Batch, *, for_docs: bool
) -> list[tuple[Check, ExpectationValidationResult]]:
    """Pass/fail of every check of the table (BOOLEAN_ONLY), in the order one GX validation gives: the column checks
    of a small table on its in-memory batch (of an empty one, those `_on_any_batch`), the rest on SQL (all of it for
    Data Docs: one validation per table)."""
    boolean_only = {"result_format": "BOOLEAN_ONLY"}
    checks = list(suite.checks)
    column_checks = [check for check in checks if not _is_row_query(check)]
    frame = None if for_docs else batches.frame(suite, column_checks)
    on_frame = [] if frame is None else [check for check in column_checks if _on_any_batch(check, frame.rows)]
    if frame is not None and on_frame:
        try:
            outcomes = _run(context, frame, suite.name, on_frame, boolean_only, for_docs=False)
        except Exception:  # noqa: BLE001 - the batch only saves time: whatever pandas cannot do, SQL does
            on_frame = []
    if not on_frame:
        return _run(context, sql, suite.name, checks, boolean_only, for_docs=for_docs)
    framed = {check.name for check in on_frame}
    on_sql = [check for check in checks if check.name not in framed]
    if on_sql:
        outcomes += _run(context, sql, f"{suite.name}.queries", on_sql, boolean_only, for_docs=False)
    order = validation_order(checks)
    return sorted(outcomes, key=lambda outcome: order[outcome[0].name])


def _table_checks(
    context: EphemeralDataContext, batches: _Batches, suite: TableSuite, *, for_docs: bool
) -> list[CheckResult]:
    """Pass/fail for every check of the table in one pass, then counts and samples for the failures only.

    Offending values and keys each cost GX another scan per expectation (a window over 20M event ids for
    uniqueness), which clean data does not need: BOOLEAN_ONLY computes just the bundled unexpected counts. The
    failures run again, always on SQL: column checks in SUMMARY (counts and the first keys), row queries in
    COMPLETE, the only format that returns their rows (at most 200 fetched; for column checks it would fetch every
    offending key). Their verdict is the one reported.
    """
    sql = batches.sql(suite)
    outcomes = _first_pass(context, batches, suite, sql, for_docs=for_docs)
    failed = [check for check, gx_result in outcomes if not gx_result.success]
    summary = {
        "result_format": "SUMMARY",
        "partial_unexpected_count": SAMPLE_SIZE,
        "unexpected_index_column_names": list(suite.key),
    }
    details = {}
    for row_queries, name, result_format in (
        (False, f"{suite.name}.failed", summary),
        (True, f"{suite.name}.failed_queries", {"result_format": "COMPLETE"}),
    ):
        group = [check for check in failed if _is_row_query(check) == row_queries]
        if group:
            rerun = _run(context, sql, name, group, result_format, for_docs=for_docs)
            details.update({check.name: gx_result for check, gx_result in rerun})
    return [_to_check_result(check, suite, details.get(check.name, gx_result)) for check, gx_result in outcomes]


def validate(
    con: duckdb.DuckDBPyConnection,
    suites: list[TableSuite],
    *,
    docs_dir: Path | None = None,
    frame_max_rows: int = FRAME_MAX_ROWS,
) -> list[CheckResult]:
    """Run every suite (a table's checks as one GX validation, one more for its failures); one result per check.

    Tables of at most `frame_max_rows` rows have their column checks run on an in-memory batch first (0: all SQL).
    """
    context = _context(docs_dir)
    for_docs = docs_dir is not None
    batches = _Batches(context, con, {suite.schema for suite in suites}, frame_max_rows)
    results: list[CheckResult] = []
    try:
        for suite in suites:
            if suite.checks:
                results += _table_checks(context, batches, suite, for_docs=for_docs)
    finally:
        batches.dispose()
    if for_docs:
        context.build_data_docs(site_names=[DOCS_SITE])
    return results
