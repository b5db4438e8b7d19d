"""The declared checks on the staged source tables (`queries/staging/checks.yml`), as objects.

Column and row checks use the vocabulary of the mart contracts (`pipelines.declared_checks`), so both files mean
the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.declared_checks import ColumnCheck, TableCheck, parse_column_check, parse_severity, parse_table_check
from pipelines.extract.tables import SourceTable, load_tables
from pipelines.queries import QUERIES_DIR
from pipelines.yaml_files import read_yaml

CHECKS_FILE = QUERIES_DIR / "staging" / "checks.yml"


@dataclass(frozen=True)
class Reference:
    """`column` must be NULL or the key of a row of staging.`parent`; rows that are not are orphans."""

    column: str
    parent: str
    parent_key: str
    severity: str = "error"


@dataclass(frozen=True)
class StagedTableChecks:
    table: str
    key: str  # the grain, from sources.yml
    pii: bool  # absent from the warehouse under `etl run --redact-pii`
    columns: dict[str, tuple[ColumnCheck, ...]]
    checks: tuple[TableCheck, ...] = ()
    references: tuple[Reference, ...] = ()
    fresh: str | None = None  # timestamp column checked against the snapshot


def _check_names(spec: dict[str, Any], source: SourceTable, sources: dict[str, SourceTable], where: str) -> None:
    """A check naming a column or parent table that is not staged would fail at every run: refuse it here."""
    for column in [*spec.get("columns", {}), *(r["column"] for r in spec.get("references", []))]:
        if column not in source.staged_columns:
            raise ValueError(f"{where}: column {column!r} is not staged (not in sources.yml)")
    for ref in spec.get("references", []):
        if ref["parent"] not in sources:
            raise ValueError(f"{where}: parent table {ref['parent']!r} is not staged (not in sources.yml)")


def load_staging_checks(path: Path = CHECKS_FILE) -> list[StagedTableChecks]:
    """One entry per staged table of sources.yml (in its order), with the checks declared for it."""
    declared = read_yaml(path)["tables"]
    sources = {table.name: table for table in load_tables()}
    unknown = sorted(set(declared) - set(sources))
    if unknown:
        raise ValueError(f"{path}: tables {unknown} are not staged (not in sources.yml)")
    result = []
    for name, source in sources.items():
        spec = declared.get(name) or {}
        where = f"{path}:{name}"
        _check_names(spec, source, sources, where)
        result.append(
            StagedTableChecks(
                table=name,
                key=source.key,
                pii=source.pii,
                columns={
                    column: tuple(parse_column_check(check, f"{where}:{column}") for check in checks)
                    for column, checks in spec.get("columns", {}).items()
                },
                checks=tuple(parse_table_check(c, where) for c in spec.get("checks", [])),
                references=tuple(
                    Reference(r["column"], r["parent"], sources[r["parent"]].key, parse_severity(r, where))
                    for r in spec.get("references", [])
                ),
                fresh=spec.get("fresh"),
            )
        )
    return result
