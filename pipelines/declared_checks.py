"""The check vocabulary of the declarative files: mart contracts (`queries/marts/*.yml`) and staging checks
(`queries/staging/checks.yml`) say the same things the same way, parsed here once.

A column check is one of `not_null`, `unique`, `accepted_values: [...]`, `range: {min, max}`, optionally with
`severity: warn`; a table check is a named SQL boolean `expect` that must hold on every row. Severity `error` blocks
publishing, `warn` publishes with a banner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SEVERITIES = ("error", "warn")
COLUMN_CHECK_KINDS = ("not_null", "unique", "accepted_values", "range")


@dataclass(frozen=True)
class ColumnCheck:
    kind: str  # one of COLUMN_CHECK_KINDS
    args: Any = None  # accepted_values: list; range: {min, max}; otherwise None
    severity: str = "error"


@dataclass(frozen=True)
class TableCheck:
    name: str
    expect: str  # a SQL boolean expression that must hold on every row of the table
    severity: str = "error"


def parse_severity(spec: dict[str, Any], where: str) -> str:
    """The `severity` of a declared check (default `error`); `where` names the declaration in errors."""
    severity = spec.get("severity", "error")
    if severity not in SEVERITIES:
        raise ValueError(f"{where}: severity must be one of {SEVERITIES}, not {severity!r}")
    return str(severity)


def parse_column_check(spec: str | dict[str, Any], where: str) -> ColumnCheck:
    """`not_null`, or `{accepted_values: [...], severity: warn}`, ... as a ColumnCheck."""
    if isinstance(spec, str):
        spec = {spec: None}
    kinds = [key for key in spec if key != "severity"]
    if len(kinds) != 1 or kinds[0] not in COLUMN_CHECK_KINDS:
        raise ValueError(f"{where}: a column check is one of {COLUMN_CHECK_KINDS}, got {spec!r}")
    return ColumnCheck(kind=kinds[0], args=spec[kinds[0]], severity=parse_severity(spec, where))


def parse_table_check(spec: dict[str, Any], where: str) -> TableCheck:
    """`{name, expect, severity?}` as a TableCheck."""
    return TableCheck(spec["name"], spec["expect"], parse_severity(spec, f"{where}:{spec['name']}"))
