"""The mart contracts (`queries/marts/<mart>.yml`): grain, column meanings and checks, in one place.

The same objects drive the Great Expectations suites and `docs/data-contract.md`, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pipelines.declared_checks import ColumnCheck, TableCheck, parse_column_check, parse_severity, parse_table_check
from pipelines.queries import QUERIES_DIR
from pipelines.yaml_files import read_yaml

MARTS_DIR = QUERIES_DIR / "marts"
# The refresh mappings several marts declare, each written once and named (`{mapping: NAME}` in a declaration).
SHARED_MAPPINGS = MARTS_DIR / "refresh" / "mappings.yml"


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


# How a mart refreshes in an incremental run (docs/etl.md, "Incremental marts"): `whole` (rebuilt when an input
# changed), by the `day` / `month` periods the changed input rows touch, or by the values of a `key` column they
# reach (the rows of a chapter, whose inputs cannot be mapped to days).
REFRESH_MODES = ("whole", "day", "month", "key")


@dataclass(frozen=True)
class Refresh:
    by: str  # one of REFRESH_MODES
    column: str | None = None  # the mart's period column (by day or month), or its key column (by key)
    lookback: int = 0  # a changed period P also changes P .. P+lookback (trailing windows: WAU/MAU)
    # Rows exist for every period from the first to the last (a day spine): the refresh adds the periods the spine
    # may gain at either end, and one that lost an end is refreshed again from its first period on
    # (pipelines/transform/runner.py), so it lands as in a full build.
    spine: bool = False
    # Per input table (`staging.x`, `history.x`, `marts.x`): a SQL expression over one changed row (`changed`, its
    # old or new version) giving the period (or, through unnest, the periods) of this mart it reaches, or by key the
    # key value(s). A changed input not listed here makes the whole mart refresh.
    inputs: tuple[tuple[str, str], ...] = ()


def parse_refresh(spec: Any, columns: list[str], where: str, shared: dict[str, str] | None = None) -> Refresh:
    """`whole`, `{by: day|month, column, lookback_days|lookback_months, spine, inputs: {table: expression}}`, or
    `{by: key, column, inputs: {table: expression}}`; an expression may be `{mapping: NAME}`, one of the `shared`
    mappings (SHARED_MAPPINGS)."""
    if spec == "whole":
        return Refresh("whole")
    if not isinstance(spec, dict) or spec.get("by") not in REFRESH_MODES:
        raise ValueError(f"{where}: refresh must be `whole` or {{by: day|month|key, column: ...}}, got {spec!r}")
    by = str(spec["by"])
    if by == "whole":
        return Refresh("whole")
    column = spec.get("column")
    if column not in columns:
        raise ValueError(f"{where}: refresh by {by} needs `column`, one of the mart's columns, got {column!r}")
    # A key has no order: no lookback, no spine.
    known = {"by", "column", "inputs"} if by == "key" else {"by", "column", f"lookback_{by}s", "spine", "inputs"}
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"{where}: refresh by {by} does not know {', '.join(sorted(unknown))}")
    lookback = spec.get(f"lookback_{by}s", 0)
    if not isinstance(lookback, int) or lookback < 0:
        raise ValueError(f"{where}: lookback_{by}s must be a whole number >= 0, got {lookback!r}")
    inputs = spec.get("inputs") or {}
    if not isinstance(inputs, dict):
        raise ValueError(f"{where}: refresh inputs map each input table to a SQL expression")
    expressions = {table: _expression(value, shared or {}, f"{where}:{table}") for table, value in inputs.items()}
    return Refresh(by, column, lookback, bool(spec.get("spine", False)), tuple(sorted(expressions.items())))


def _expression(value: Any, shared: dict[str, str], where: str) -> str:
    """A refresh input's SQL expression: written out, or named (`{mapping: NAME}`) among the `shared` mappings."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"mapping"}:
        if value["mapping"] in shared:
            return shared[value["mapping"]]
        raise ValueError(
            f"{where}: no mapping {value['mapping']!r} in {SHARED_MAPPINGS.name}; it names {sorted(shared)}"
        )
    raise ValueError(f"{where}: a refresh input maps to a SQL expression or {{mapping: NAME}}, got {value!r}")


def shared_mappings(path: Path = SHARED_MAPPINGS) -> dict[str, str]:
    """The named refresh mappings (SHARED_MAPPINGS): name -> SQL expression."""
    data = read_yaml(path) or {}
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"{path}: each shared mapping names a SQL expression")
    return {str(name): expression for name, expression in data.items()}


@dataclass(frozen=True)
class MartContract:
    name: str
    description: str
    grain: str
    unique_key: tuple[str, ...]
    columns: tuple[Column, ...]
    checks: tuple[TableCheck, ...] = field(default=())
    reconcile: tuple[Reconciliation, ...] = field(default=())
    refresh: Refresh = field(default=Refresh("whole"))

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


def parse_contract(data: dict[str, Any], where: str, shared: dict[str, str] | None = None) -> MartContract:
    """A mart's contract from its YAML (`shared`: the named refresh mappings its declaration may use)."""
    columns = tuple(
        Column(
            name=c["name"],
            type=c["type"],
            description=c["description"],
            checks=tuple(parse_column_check(check, f"{where}:{c['name']}") for check in c.get("checks", [])),
        )
        for c in data["columns"]
    )
    refresh = parse_refresh(data.get("refresh"), [c.name for c in columns], f"{where}:refresh", shared)
    if refresh.by == "key" and not any(
        c.name == refresh.column and any(k.kind == "not_null" for k in c.checks) for c in columns
    ):
        # rows without a key could not be reached by key: NULL reaches nothing
        raise ValueError(f"{where}:refresh: the key column {refresh.column} must be checked not_null")
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
        refresh=refresh,
    )


def load_contracts(directory: Path = MARTS_DIR) -> list[MartContract]:
    """Every mart contract, by name (with the shared mappings of `directory`/refresh/mappings.yml, if any).

    A run asks four times (transform, its inputs, checks): the files are parsed once per version of them, since
    parsing is a tenth of a small incremental run; a long-running process (`etl run --every`) sees edits.
    """
    files = tuple(_version(path) for path in sorted(directory.glob("*.yml")))
    mappings = directory / SHARED_MAPPINGS.relative_to(MARTS_DIR)
    return list(_parsed(files, _version(mappings) if mappings.is_file() else None))


def _version(path: Path) -> tuple[Path, int, int]:
    stat = path.stat()
    return path, stat.st_mtime_ns, stat.st_size


@cache
def _parsed(
    files: tuple[tuple[Path, int, int], ...], mappings: tuple[Path, int, int] | None
) -> tuple[MartContract, ...]:
    shared = shared_mappings(mappings[0]) if mappings else {}
    return tuple(parse_contract(read_yaml(path), str(path), shared) for path, _, _ in files)
