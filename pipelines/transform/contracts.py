"""The mart contracts (`queries/marts/<mart>.yml`): grain, column meanings and checks, in one place.

The same objects drive the Great Expectations suites and `docs/data-contract.md`, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipelines.queries import QUERIES_DIR

MARTS_DIR = QUERIES_DIR / "marts"
SEVERITIES = ("error", "warn")
COLUMN_CHECK_KINDS = ("not_null", "unique", "accepted_values", "range")


@dataclass(frozen=True)
class ColumnCheck:
    kind: str  # one of COLUMN_CHECK_KINDS
    args: object = None  # accepted_values: list; range: {min, max}; otherwise None
    severity: str = "error"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    checks: tuple[ColumnCheck, ...] = ()


@dataclass(frozen=True)
class TableCheck:
    name: str
    expect: str  # a SQL boolean expression that must hold on every row of the mart
    severity: str = "error"


@dataclass(frozen=True)
class Reconciliation:
    name: str
    mart: str  # an aggregate over the mart, e.g. sum(cost_usd)
    source: str  # a query over staging returning one value
    severity: str = "error"


@dataclass(frozen=True)
class MartContract:
    name: str
    description: str
    grain: str
    unique_key: tuple[str, ...]
    columns: tuple[Column, ...]
    checks: tuple[TableCheck, ...] = field(default=())
    reconcile: tuple[Reconciliation, ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


def _severity(spec: dict, where: str) -> str:
    severity = spec.get("severity", "error")
    if severity not in SEVERITIES:
        raise ValueError(f"{where}: severity must be one of {SEVERITIES}, not {severity!r}")
    return severity


def _column_check(spec: str | dict, where: str) -> ColumnCheck:
    if isinstance(spec, str):
        spec = {spec: None}
    kinds = [key for key in spec if key != "severity"]
    if len(kinds) != 1 or kinds[0] not in COLUMN_CHECK_KINDS:
        raise ValueError(f"{where}: a column check is one of {COLUMN_CHECK_KINDS}, got {spec!r}")
    return ColumnCheck(kind=kinds[0], args=spec[kinds[0]], severity=_severity(spec, where))


def parse_contract(data: dict, where: str) -> MartContract:
    columns = tuple(
        Column(
            name=c["name"],
            type=c["type"],
            description=c["description"],
            checks=tuple(_column_check(check, f"{where}:{c['name']}") for check in c.get("checks", [])),
        )
        for c in data["columns"]
    )
    return MartContract(
        name=data["name"],
        description=data["description"],
        grain=data["grain"],
        unique_key=tuple(data.get("unique_key", [])),
        columns=columns,
        checks=tuple(
            TableCheck(c["name"], c["expect"], _severity(c, f"{where}:{c['name']}")) for c in data.get("checks", [])
        ),
        reconcile=tuple(
            Reconciliation(r["name"], r["mart"], r["source"], _severity(r, f"{where}:{r['name']}"))
            for r in data.get("reconcile", [])
        ),
    )


def load_contracts(directory: Path = MARTS_DIR) -> list[MartContract]:
    """Every mart contract, by name."""
    return [parse_contract(yaml.safe_load(p.read_text()), str(p)) for p in sorted(directory.glob("*.yml"))]
