"""Runs the suites with Great Expectations against an open DuckDB warehouse connection, and reads the results.

GX reaches DuckDB through SQLAlchemy (duckdb-engine), but never opens the file itself: a second `duckdb.connect`
to a file this process already has open fails ("different configuration"), and the ETL holds it open for
writing. Instead every SQLAlchemy connection is a cursor of the caller's connection (same database, same
process), so GX sees exactly what the caller committed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
from duckdb_engine import ConnectionWrapper

from pipelines.errors import first_line
from pipelines.quality.result import CheckResult
from pipelines.quality.suites import Check, TableSuite

# GX would otherwise try to send usage statistics over the network on every context.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

import great_expectations as gx  # noqa: E402 - must follow the analytics switch
import great_expectations.expectations as gxe  # noqa: E402
from great_expectations.core import ExpectationValidationResult  # noqa: E402
from great_expectations.core.batch_definition import BatchDefinition  # noqa: E402
from great_expectations.data_context import EphemeralDataContext  # noqa: E402
from great_expectations.data_context.types.base import (  # noqa: E402
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.datasource.fluent import SQLDatasource  # noqa: E402

SAMPLE_SIZE = 5
DOCS_SITE = "local_site"


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
    return gx.get_context(mode="ephemeral", project_config=config)


def _schema_creator(con: duckdb.DuckDBPyConnection, schema: str) -> Callable[[], _ReadOnlyConnection]:
    """SQLAlchemy `creator`: a cursor of `con` whose default schema is `schema`.

    Unqualified table names are what GX's column introspection falls back to with duckdb-engine, so each
    schema gets its own data source in which its tables resolve unqualified.
    """

    def create() -> _ReadOnlyConnection:
        cursor = con.cursor()
        cursor.execute(f"set schema = '{schema}'")  # our own constant: 'staging' or 'marts'
        cursor.execute("set TimeZone = 'UTC'")
        return _ReadOnlyConnection(cursor)

    return create


def _is_row_query(check: Check) -> bool:
    return isinstance(check.expectation, gxe.UnexpectedRowsExpectation)


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


def _run(
    context: EphemeralDataContext,
    batch_definition: BatchDefinition[Any],
    name: str,
    checks: list[Check],
    result_format: dict[str, Any],
) -> list[tuple[Check, ExpectationValidationResult]]:
    """One GX validation of `checks` on the batch: each check with its GX result."""
    expectations = [check.expectation.copy(deep=True) for check in checks]  # a suite takes ownership (ids)
    gx_suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=name, data=batch_definition, suite=gx_suite)
    )
    by_name = {check.name: check for check in checks}
    return [
        (by_name[_check_name(gx_result)], gx_result)
        for gx_result in definition.run(result_format=result_format).results
    ]


def _check_name(gx_result: ExpectationValidationResult) -> str:
    """The check an expectation's result belongs to (its `meta`; every result of a suite run has its expectation)."""
    config = gx_result.expectation_config
    assert config is not None and config.meta is not None
    return str(config.meta["check"])


def _column_checks(
    context: EphemeralDataContext, batch_definition: BatchDefinition[Any], suite: TableSuite, checks: list[Check]
) -> list[CheckResult]:
    """Pass/fail for all in one pass, then counts and sample keys for the failures only.

    Offending values and keys each cost GX another scan per expectation (a window over 20M event ids for
    uniqueness), which clean data does not need: BOOLEAN_ONLY computes just the bundled unexpected counts.
    """
    outcomes = _run(context, batch_definition, suite.name, checks, {"result_format": "BOOLEAN_ONLY"})
    failed = [check for check, gx_result in outcomes if not gx_result.success]
    details = {}
    if failed:
        summary = {
            "result_format": "SUMMARY",
            "partial_unexpected_count": SAMPLE_SIZE,
            "unexpected_index_column_names": list(suite.key),
        }
        rerun = _run(context, batch_definition, f"{suite.name}.failed", failed, summary)
        details = {check.name: gx_result for check, gx_result in rerun}
    return [_to_check_result(check, suite, details.get(check.name, gx_result)) for check, gx_result in outcomes]


def validate(
    con: duckdb.DuckDBPyConnection, suites: list[TableSuite], *, docs_dir: Path | None = None
) -> list[CheckResult]:
    """Run every suite (each table's checks as a few GX validations) and return one result per check."""
    context = _context(docs_dir)
    sources = {
        schema: context.data_sources.add_sql(
            schema,
            connection_string="duckdb:///:memory:",
            kwargs={"creator": _schema_creator(con, schema)},  # type: ignore[call-arg]  # a field GX's stub omits
        )
        for schema in sorted({suite.schema for suite in suites})
    }
    results: list[CheckResult] = []
    try:
        for suite in suites:
            results += _validate_suite(context, sources[suite.schema], suite)
    finally:
        # The pooled cursors hold open transactions on `con`; after a write that also reads another database
        # (the held-back marts copied from the live file) DuckDB would refuse to checkpoint while they live.
        for source in sources.values():
            source.get_engine().dispose()  # the one GX tested the data source with
            source.get_execution_engine().engine.dispose()
    if docs_dir is not None:
        context.build_data_docs(site_names=[DOCS_SITE])
    return results


def _validate_suite(context: EphemeralDataContext, source: SQLDatasource, suite: TableSuite) -> list[CheckResult]:
    """One table's checks: the column checks in one validation, the row queries in another."""
    results: list[CheckResult] = []
    batch = source.add_table_asset(suite.table, table_name=suite.table)
    batch_definition = batch.add_batch_definition_whole_table("whole table")
    column_checks = [check for check in suite.checks if not _is_row_query(check)]
    if column_checks:
        results += _column_checks(context, batch_definition, suite, column_checks)
    # Row queries return their rows (at most 200 fetched) only in COMPLETE, which is why they run apart:
    # for column checks COMPLETE would fetch every offending key.
    query_checks = [check for check in suite.checks if _is_row_query(check)]
    if query_checks:
        outcomes = _run(context, batch_definition, f"{suite.name}.queries", query_checks, {"result_format": "COMPLETE"})
        results += [_to_check_result(check, suite, gx_result) for check, gx_result in outcomes]
    return results
