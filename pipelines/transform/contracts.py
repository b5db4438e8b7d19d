"""The mart contracts (`queries/marts/<mart>.yml`): grain, column meanings and checks, in one place.

The same objects drive the Great Expectations suites and `docs/data-contract.md`, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.declared_checks import ColumnCheck, TableCheck, parse_column_check, parse_severity, parse_table_check
from pipelines.queries import QUERIES_DIR
from pipelines.yaml_files import read_yaml

MARTS_DIR = QUERIES_DIR / "marts"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    checks: tuple[ColumnCheck, ...] = ()


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


def parse_contract(data: dict[str, Any], where: str) -> MartContract:
    columns = tuple(
        Column(
            name=c["name"],
            type=c["type"],
            description=c["description"],
            checks=tuple(parse_column_check(check, f"{where}:{c['name']}") for check in c.get("checks", [])),
        )
        for c in data["columns"]
    )
    return MartContract(
        name=data["name"],
        description=data["description"],
        grain=data["grain"],
        unique_key=tuple(data.get("unique_key", [])),
        columns=columns,
        checks=tuple(parse_table_check(c, where) for c in data.get("checks", [])),
        reconcile=tuple(
            Reconciliation(r["name"], r["mart"], r["source"], parse_severity(r, f"{where}:{r['name']}"))
            for r in data.get("reconcile", [])
        ),
    )


def load_contracts(directory: Path = MARTS_DIR) -> list[MartContract]:
    """Every mart contract, by name."""
    return [parse_contract(read_yaml(p), str(p)) for p in sorted(directory.glob("*.yml"))]
