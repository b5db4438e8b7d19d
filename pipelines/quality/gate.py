"""The quality gate the ETL run calls between transform and publish: every suite, one result per check.

The caller holds back the marts a failed error-severity check reaches (`held_back`, by lineage) and stores the
results (`as_dict()`) in the run history and `meta.check_results`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from pipelines.config import paths, setting, setting_source
from pipelines.errors import UserError
from pipelines.fingerprints import Fingerprint
from pipelines.quality import bounds, reuse, row_checks, totals
from pipelines.quality.result import CheckResult
from pipelines.quality.reuse import Table
from pipelines.quality.staging_checks import load_staging_checks
from pipelines.quality.suites import (
    TableSuite,
    Thresholds,
    add_freshness,
    add_volume,
    mart_suite,
    staging_suite,
    validation_order,
)
from pipelines.queries import sql_file
from pipelines.transform.contracts import load_contracts
from pipelines.transform.lineage import consumed_tables, lineage
from pipelines.warehouse import connect

# Where the checks not kept run, given their suites (`run_checks`).
ValidatedOn = Callable[[list[TableSuite]], AbstractContextManager[duckdb.DuckDBPyConnection]]

__all__ = ["CheckResult", "held_back", "run_checks", "thresholds"]

DEFAULT_THRESHOLDS = {
    "full_check_hours": "24",
    "freshness_hours": "48",
    "volume_drop_pct": "50",
    "volume_growth_pct": "100",
    "volume_min_rows": "1000",
}


def _non_negative_setting(name: str) -> float:
    default = DEFAULT_THRESHOLDS[name]
    raw = setting(name, default)
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value >= 0:  # NaN too
        raise UserError(f"{setting_source(name)} is {raw!r}, not a non-negative number; set it to e.g. {default}")
    return value


def thresholds() -> Thresholds:
    """The configurable limits (`EBOOK_ANALYTICS_FRESHNESS_HOURS`, ... or the settings file), validated."""
    return Thresholds(
        freshness_hours=_non_negative_setting("freshness_hours"),
        volume_drop_pct=_non_negative_setting("volume_drop_pct"),
        volume_growth_pct=_non_negative_setting("volume_growth_pct"),
        volume_min_rows=int(_non_negative_setting("volume_min_rows")),
    )


def _existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(sql_file("checks/existing_tables")).fetchall()
    return {name for (name,) in rows}


def _database_file(con: duckdb.DuckDBPyConnection) -> Path | None:
    row = con.execute(sql_file("checks/database_file")).fetchone()
    return Path(row[0]).resolve() if row and row[0] else None


def previous_row_counts(con: duckdb.DuckDBPyConnection, previous: dict[str, Any] | None) -> dict[str, int]:
    """Staged row counts of the last published run: from its history record when it carries them (`rows`),
    else from the live warehouse's `meta.extract_state`. Empty on a first run (no volume checks then)."""
    if previous is None:
        return {}
    recorded = previous.get("tables") or {}
    if recorded and all("rows" in counts for counts in recorded.values()):
        return {name: int(counts["rows"]) for name, counts in recorded.items()}
    live = paths().warehouse
    # The history's rows_read are only the rows an incremental run re-read, so the live file is the reference;
    # it cannot be opened a second time if it is the very file being checked.
    if not live.exists() or live.resolve() == _database_file(con):
        return {}
    try:
        live_con = connect(live, read_only=True)
    except UserError:  # e.g. held for writing by another process: no baseline, rather than no run
        return {}
    try:
        return dict(live_con.execute(sql_file("checks/staged_row_counts")).fetchall())
    except duckdb.CatalogException:  # a file from before meta.extract_state existed
        return {}
    finally:
        live_con.close()


def validate(con: duckdb.DuckDBPyConnection, suites: list[TableSuite], **options: Any) -> list[CheckResult]:
    """The checks that pass in DuckDB (`row_checks`), then `validation.validate` for the rest, imported on first use:
    Great Expectations is two seconds of imports that a run whose checks all pass or are kept does without. Data Docs
    show every check as GX ran it."""
    for_docs = options.get("docs_dir") is not None
    passed = [] if for_docs else row_checks.passed(con, suites)
    suites = _unchecked(suites, {result.name for result in passed})
    if not suites and not for_docs:
        return passed
    from pipelines.quality import validation

    return passed + validation.validate(con, suites, **options)


def _missing(suite: TableSuite, severity: str = "error") -> CheckResult:
    return CheckResult(f"{suite.name}.exists", severity, False, 0, suite.name, ("table missing from the warehouse",))


def build_suites(
    con: duckdb.DuckDBPyConnection, *, snapshot_at: datetime | None, previous_rows: dict[str, int]
) -> tuple[list[TableSuite], list[CheckResult]]:
    """The suites for the tables present, and a failed `exists` check for each expected table that is not.

    Without `snapshot_at` there are no freshness checks; tables without a previous count get no volume checks.
    """
    limits = thresholds()
    existing = _existing_tables(con)
    consumed = consumed_tables()
    suites: list[TableSuite] = []
    missing: list[CheckResult] = []
    for table in load_staging_checks():
        # Severity follows impact: the generated checks of a table no mart reads cannot change a published figure.
        severity = "error" if f"staging.{table.table}" in consumed else "warn"
        suite = staging_suite(table, key_severity=severity)
        if suite.name not in existing:
            if not table.pii:  # PII tables are absent by design under `etl run --redact-pii`
                missing.append(_missing(suite, severity))
            continue
        if table.fresh and snapshot_at is not None:
            add_freshness(suite, table.fresh, snapshot_at, limits.freshness_hours)
        if table.table in previous_rows:
            add_volume(suite, previous_rows[table.table], limits, drop_severity=severity)
        suites.append(suite)
    for contract in load_contracts():
        suite = mart_suite(contract)
        if suite.name in existing:
            suites.append(suite)
        else:
            missing.append(_missing(suite))
    return suites, missing


def run_checks(
    con: duckdb.DuckDBPyConnection,
    *,
    snapshot_at: datetime,
    previous: dict[str, Any] | None,
    docs_dir: Path | None = None,
    earlier: dict[str, CheckResult] | None = None,
    changes: reuse.Changes | None = None,
    taken: dict[Table, Fingerprint] | None = None,
    kept_totals: totals.Totals | None = None,
    validated_on: ValidatedOn | None = None,
) -> list[CheckResult]:
    """Every check against the freshly built (not yet published) warehouse behind `con`.

    `con` must have committed what it built: GX reads through cursors of it, which see committed data only.
    `previous` is the last published run's history record (None on a first run): the volume baseline.
    `earlier`: results of an earlier check step (`reuse.recorded`); those whose inputs are unchanged and younger
    than `full_check_hours` are kept instead of run, and with `changes` (what this run changed since) a row-by-row
    check that passed runs on the changed rows only. A reconciliation of additive totals is decided on its totals
    (`pipelines.quality.totals`: the earlier ones kept in `meta.check_totals`, brought up to date by `changes`);
    `kept_totals` receives them, to keep with the results. Neither for Data Docs, which show every check run on its
    table. `taken` receives the tables' fingerprints. `validated_on` gives the connection the checks not kept run on
    (given those checks' suites): `con` by default.
    """
    suites, missing = build_suites(con, snapshot_at=snapshot_at, previous_rows=previous_row_counts(con, previous))
    now = datetime.now(UTC)
    taken = {} if taken is None else taken
    digests = reuse.input_digests(con, suites, taken)
    oldest = now - timedelta(hours=_non_negative_setting("full_check_hours"))
    earlier = earlier if earlier and docs_dir is None else {}
    kept = reuse.kept(earlier, digests, oldest=oldest)
    if changes is not None:
        unkept = {check.name for suite in suites for check in suite.checks if check.name not in kept}
        deltas = reuse.on_changed_rows(con, suites, earlier, changes, taken, pending=unkept, oldest=oldest)
        kept |= _on_changed_rows(con, deltas, earlier, digests, taken)
    if docs_dir is None:
        stored = totals.recorded(con) if earlier else {}
        # A kept result's totals stay as they were (those of checks still declared).
        names = {check.name for suite in suites for check in suite.checks}
        computed = {key: total for key, total in stored.items() if key[0] in names}
        kept |= totals.decide(
            con,
            suites,
            pending={check.name for suite in suites for check in suite.checks if check.name not in kept},
            earlier=earlier,
            stored=stored,
            changes=changes,
            taken=taken,
            digests=digests,
            oldest=oldest,
            now=now,
            computed=computed,
        )
        if kept_totals is not None:
            kept_totals.update(computed)
    pending = _unchecked(suites, kept.keys())
    # Data Docs show every check as GX ran it; otherwise volume and freshness need no GX.
    validated = [] if docs_dir is not None else bounds.decide(con, pending, taken)
    pending = _unchecked(pending, {result.name for result in validated})
    with nullcontext(con) if validated_on is None or not pending else validated_on(pending) as checked:
        validated += validate(checked, pending, docs_dir=docs_dir)
    ran = {
        result.name: replace(
            result,
            inputs=digests[result.name],
            checked_at=now,
            rows_checked=_table_rows(taken, result.table),
            element_count=_table_rows(taken, result.table),
        )
        for result in validated
    }
    results = list(missing)
    for suite in suites:
        order = validation_order(suite.checks)
        results += [kept.get(name) or ran[name] for name in sorted(order, key=order.__getitem__)]
    return results


def _unchecked(suites: list[TableSuite], decided: Collection[str]) -> list[TableSuite]:
    """The suites with only their checks not in `decided`; those left with none dropped."""
    left = [replace(suite, checks=[c for c in suite.checks if c.name not in decided]) for suite in suites]
    return [suite for suite in left if suite.checks]


def _table_rows(taken: dict[Table, Fingerprint], table: str) -> int | None:
    """The rows of `table` (`schema.name`) as its fingerprint counted them, when taken (a whole-table result read
    them all)."""
    schema, _, name = table.partition(".")
    return taken[(schema, name)][0] if (schema, name) in taken else None


def _on_changed_rows(
    con: duckdb.DuckDBPyConnection,
    suites: list[TableSuite],
    earlier: dict[str, CheckResult],
    digests: dict[str, str | None],
    taken: dict[Table, Fingerprint],
) -> dict[str, CheckResult]:
    """The checks of `suites` that pass on their table's changed rows (`changed_rows.<schema>__<table>`): row-by-row
    checks run by GX on those rows, uniqueness by looking their keys up in the whole table. Passes of the table as
    it is now, with its whole row count as the element count; their `checked_at` stays the last check of the whole
    table, so the full check still comes round. A failure is left out, to run on the whole table for its count and
    samples."""
    if not suites:
        return {}
    by_changed_name = {f"{reuse.CHANGED_ROWS}.{reuse.changed_name(suite)}": suite for suite in suites}
    passed: list[tuple[CheckResult, TableSuite]] = []
    with reuse.changed_rows(con, suites) as new_rows:
        row_suites = [
            TableSuite(reuse.CHANGED_ROWS, reuse.changed_name(s), s.key, [c for c in s.checks if c.row_by_row])
            for s in suites
        ]
        for result in validate(con, [suite for suite in row_suites if suite.checks]):
            if result.success:
                passed.append((result, by_changed_name[result.table]))
        for suite in suites:
            for check in suite.checks:
                columns = check.unique_columns
                if columns and reuse.unique_on_changed_keys(con, suite, columns):
                    passed.append((CheckResult(check.name, check.severity, True, 0, suite.name), suite))
    return {
        result.name: replace(
            result,
            table=suite.name,
            inputs=digests[result.name],
            checked_at=earlier[result.name].checked_at,
            changed_rows=True,
            rows_checked=new_rows[suite.name],
            element_count=taken[(suite.schema, suite.table)][0],
        )
        for result, suite in passed
    }


def held_back(results: list[CheckResult]) -> dict[str, list[str]]:
    """The marts (`marts.<name>`) and the write-back (`lineage.WRITEBACK`) that the failed error-severity checks
    reach, each with the names of those checks: a check on a table holds back that table's marts and everything
    built from it, nothing else."""
    failed: dict[str, list[str]] = {}
    for result in results:
        if result.blocks_publish:
            failed.setdefault(result.table, []).append(result.name)
    return lineage().held_back(failed)
