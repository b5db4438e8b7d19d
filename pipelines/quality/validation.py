"""Runs the suites with Great Expectations against an open DuckDB warehouse connection, and reads the results.

GX reaches DuckDB through SQLAlchemy (duckdb-engine), but never opens the file itself: a second `duckdb.connect`
to a file this process already has open fails ("different configuration"), and the ETL holds it open for
writing. Instead every SQLAlchemy connection is a cursor of the caller's connection (same database, same
process), so GX sees exactly what the caller committed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
from duckdb_engine import ConnectionWrapper

from pipelines.errors import first_line
from pipelines.quality.gx import (
    BatchDefinition,
    DataContextConfig,
    EphemeralDataContext,
    ExpectationValidationResult,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
    Validator,
    gx,
    gxe,
)
from pipelines.quality.result import CheckResult
from pipelines.quality.suites import Check, TableSuite

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

    row = con.execute("select current_database()").fetchone()
    database = str(row[0]) if row else "memory"  # a cursor starts in the default database, not in `con`'s: the lake

    def create() -> _ReadOnlyConnection:
        cursor = con.cursor()
        cursor.execute(f'use "{database}"."{schema}"')  # our own constant: 'staging' or 'marts'
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
    *,
    for_docs: bool,
) -> list[tuple[Check, ExpectationValidationResult]]:
    """One GX validation of `checks` on the batch: each check with its GX result.

    Only Data Docs need the run in the context's stores (suite, validation definition, result): storing serialises
    every expectation and result, about a fifth of the check step on a small warehouse, so the gate runs the same
    suite on GX's validator directly.
    """
    expectations = [check.expectation.copy(deep=True) for check in checks]  # a suite takes ownership (ids)
    gx_suite = gx.ExpectationSuite(name=name, expectations=expectations)
    if for_docs:
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch_definition, suite=context.suites.add(gx_suite))
        )
        validation = definition.run(result_format=result_format)
    else:
        validator = Validator(batch_definition=batch_definition, result_format=result_format)
        validation = validator.validate_expectation_suite(gx_suite)
    by_name = {check.name: check for check in checks}
    return [(by_name[_check_name(gx_result)], gx_result) for gx_result in validation.results]


def _check_name(gx_result: ExpectationValidationResult) -> str:
    """The check an expectation's result belongs to (its `meta`; every result of a suite run has its expectation)."""
    config = gx_result.expectation_config
    assert config is not None and config.meta is not None
    return str(config.meta["check"])


def _table_checks(
    context: EphemeralDataContext, batch_definition: BatchDefinition[Any], suite: TableSuite, *, for_docs: bool
) -> list[CheckResult]:
    """Pass/fail for every check of the table in one pass, then counts and samples for the failures only.

    Offending values and keys each cost GX another scan per expectation (a window over 20M event ids for
    uniqueness), which clean data does not need: BOOLEAN_ONLY computes just the bundled unexpected counts. The
    failures run again: column checks in SUMMARY (counts and the first keys), row queries in COMPLETE, the only
    format that returns their rows (at most 200 fetched; for column checks it would fetch every offending key).
    """
    checks = list(suite.checks)
    outcomes = _run(context, batch_definition, suite.name, checks, {"result_format": "BOOLEAN_ONLY"}, for_docs=for_docs)
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
            rerun = _run(context, batch_definition, name, group, result_format, for_docs=for_docs)
            details.update({check.name: gx_result for check, gx_result in rerun})
    return [_to_check_result(check, suite, details.get(check.name, gx_result)) for check, gx_result in outcomes]


def validate(
    con: duckdb.DuckDBPyConnection, suites: list[TableSuite], *, docs_dir: Path | None = None
) -> list[CheckResult]:
    """Run every suite (a table's checks as one GX validation, one more for its failures); one result per check."""
    context = _context(docs_dir)
    for_docs = docs_dir is not None
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
            batch = sources[suite.schema].add_table_asset(suite.table, table_name=suite.table)
            batch_definition = batch.add_batch_definition_whole_table("whole table")
            if suite.checks:
                results += _table_checks(context, batch_definition, suite, for_docs=for_docs)
    finally:
        # The pooled cursors hold open transactions on `con`; after a write that also reads another database
        # (the held-back marts copied from the live file) DuckDB would refuse to checkpoint while they live.
        for source in sources.values():
            source.get_engine().dispose()  # the one GX tested the data source with
            source.get_execution_engine().engine.dispose()
    if for_docs:
        context.build_data_docs(site_names=[DOCS_SITE])
    return results
