"""SCD-2 history of the attributes the source changes in place (`queries/history/entities.yml`).

The history cannot be rebuilt from the source (the source keeps only the current value), so it lives in the
warehouse and each run extends it: incremental runs build on the ETL's working file, and `etl run --full` carries
the published history over before extending it.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from pipelines.errors import UserError
from pipelines.queries import QUERIES_DIR, sql_file
from pipelines.yaml_files import read_yaml

HISTORY_DIR = QUERIES_DIR / "history"
ENTITIES_FILE = HISTORY_DIR / "entities.yml"
COMPLETIONS_TABLE = "chapter_completions"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class Entity:
    name: str  # the table history.<name>, filled by queries/history/<name>.sql
    key: str
    columns: tuple[str, ...]  # the tracked columns: a change in any of them opens a new version

    @property
    def sql(self) -> str:
        return sql_file(f"history/{self.name}").strip().rstrip(";")


def _identifier(value: object, where: str) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        raise UserError(f"{where}: {value!r} is not a lower-case SQL identifier; fix {ENTITIES_FILE}")
    return value


def load_entities(path: Path = ENTITIES_FILE) -> list[Entity]:
    """The declared entities; identifiers are validated here because they are written into the SQL."""
    entities = []
    for spec in read_yaml(path)["entities"]:
        name = _identifier(spec.get("name"), "history entity name")
        if not (HISTORY_DIR / f"{name}.sql").is_file():
            raise UserError(f"history entity {name} has no queries/history/{name}.sql; add it or remove the entity")
        entities.append(
            Entity(
                name=name,
                key=_identifier(spec.get("key"), f"history entity {name} key"),
                columns=tuple(_identifier(c, f"history entity {name} column") for c in spec.get("columns", [])),
            )
        )
    return entities


def _statement(name: str, **identifiers: str) -> str:
    return sql_file(f"history/{name}").format(**identifiers)


def update_history(
    con: duckdb.DuckDBPyConnection, snapshot_at: datetime, tables: Collection[str] | None = None
) -> dict[str, int]:
    """Extend the history tables (`tables`: `history.<name>`, None: every one) with the staged values as of
    `snapshot_at`; returns versions opened per table extended (by name)."""
    con.execute("create schema if not exists history")
    opened: dict[str, int] = {}
    for entity in load_entities():
        if tables is not None and f"history.{entity.name}" not in tables:
            continue
        con.execute(f"create or replace temp table history_incoming as {entity.sql}")
        con.execute(_statement("scd2_create", table=entity.name))
        same_values = " and ".join(f"incoming.{c} is not distinct from versions.{c}" for c in entity.columns) or "true"
        con.execute(
            _statement("scd2_close", table=entity.name, key=entity.key, same_values=same_values),
            {"snapshot_at": snapshot_at},
        )
        opened[entity.name] = _rows_written(
            con, _statement("scd2_open", table=entity.name, key=entity.key), snapshot_at
        )
        con.execute("drop table history_incoming")
    if tables is not None and f"history.{COMPLETIONS_TABLE}" not in tables:
        return opened
    con.execute(_statement("chapter_completions_create"))
    opened[COMPLETIONS_TABLE] = _rows_written(
        con, f"insert into history.{COMPLETIONS_TABLE} {_statement(COMPLETIONS_TABLE)}", snapshot_at
    )
    return opened


def _rows_written(con: duckdb.DuckDBPyConnection, insert: str, snapshot_at: datetime) -> int:
    """Run an insert; DuckDB answers with one row holding the count it wrote."""
    row = con.execute(insert, {"snapshot_at": snapshot_at}).fetchone()
    return int(row[0]) if row else 0


def carry_over(con: duckdb.DuckDBPyConnection, published: str, tables: Collection[str]) -> None:
    """Copy the history `tables` of the attached publication (catalog `published`) into a fresh build
    (`etl run --full`)."""
    con.execute("create schema if not exists history")
    for name in tables:
        table = _identifier(name, "history table of the live warehouse")
        con.execute(f"create or replace table history.{table} as select * from {published}.history.{table}")


def history_tables_of(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    """The history tables of the attached DuckDB file `catalog` (a warehouse from before the lake)."""
    rows = con.execute(
        "select table_name from information_schema.tables "
        "where table_catalog = $catalog and table_schema = 'history' order by table_name",
        {"catalog": catalog},
    ).fetchall()
    return [name for (name,) in rows]


def quoted_path(path: Path) -> str:
    # ATTACH takes no bound parameter; a quote in the path is doubled as in any SQL string literal.
    return str(path).replace("'", "''")
