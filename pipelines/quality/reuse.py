"""Checks on what changed: a check whose inputs are the same as when it last ran keeps that result.

A check's inputs are its definition (the expectation with its arguments and severity: a freshness bound moves with
the snapshot, a volume bound with the last row count) and the fingerprint (`pipelines.fingerprints`) of every table
it reads: its own table, and for a row query every table its SQL names (an orphan check's parent, a reconciliation's
source). Their digest is recorded with each result (`meta.check_results.inputs`), so the next check step, or
`check` on the publication, runs only the checks whose digest differs. A result is kept at most `full_check_hours`
(default 24) after it was computed, so every check runs again at least daily whatever changed; `etl run --full` and
`check --full` run every check.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import datetime

import duckdb

from pipelines.fingerprints import Fingerprint, fingerprint
from pipelines.quality.result import CheckResult
from pipelines.quality.suites import Check, TableSuite
from pipelines.queries import sql_file
from pipelines.transform.lineage import every_table_read

Table = tuple[str, str]  # (schema, table)


def tables_read(suite: TableSuite, check: Check) -> frozenset[Table] | None:
    """The tables `check` reads; None when its SQL names something whose changes cannot be told (it always runs)."""
    own = frozenset({(suite.schema, suite.table)})
    query = getattr(check.expectation, "unexpected_rows_query", None)
    if not isinstance(query, str):
        return own
    named = every_table_read(query.format(batch=f'"{suite.schema}"."{suite.table}"'))  # as GX substitutes it
    return None if named is None else own | named


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
            inputs = {
                "expectation": check.expectation.configuration.to_json_dict(),
                "severity": check.severity,
                "tables": {f"{schema}.{name}": list(taken[(schema, name)]) for schema, name in sorted(tables)},
            }
            digests[check.name] = hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()
    return digests


def recorded(con: duckdb.DuckDBPyConnection) -> dict[str, CheckResult]:
    """The results in `con`'s `meta.check_results` that carry their inputs, by check name (none in a warehouse
    from before they were recorded)."""
    try:
        rows = con.execute(sql_file("checks/recorded_results")).fetchall()
    except (duckdb.CatalogException, duckdb.BinderException):
        return {}
    return {
        name: CheckResult(name, severity, success, count, table, tuple(samples or ()), inputs, checked_at)
        for name, severity, success, count, table, samples, inputs, checked_at in rows
    }


def kept(
    earlier: dict[str, CheckResult], digests: dict[str, str | None], *, oldest: datetime
) -> dict[str, CheckResult]:
    """The earlier results whose inputs equal today's and that were computed at or after `oldest`, marked reused."""
    return {
        name: replace(result, reused=True)
        for name, result in earlier.items()
        if digests.get(name) is not None
        and result.inputs == digests[name]
        and result.checked_at is not None
        and result.checked_at >= oldest
    }
