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
from pipelines.transform import changes
from pipelines.yaml_files import read_yaml

HISTORY_DIR = QUERIES_DIR / "history"
ENTITIES_FILE = HISTORY_DIR / "entities.yml"
COMPLETIONS_TABLE = "chapter_completions"
_COMPLETIONS_FOLLOW = "staging.chapters"
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
    con: duckdb.DuckDBPyConnection,
    snapshot_at: datetime,
    tables: Collection[str] | None = None,
    touched: dict[str, str] | None = None,
) -> dict[str, int]:
    """Extend the history tables (`tables`: `history.<name>`, None: every one) with the staged values as of
    `snapshot_at`; returns versions opened per table extended (by name). `touched` (`touched_rows`): a table's only
    rows that can change, as a condition on them; the others are neither read nor compared."""
    con.execute("create schema if not exists history")
    touched = touched or {}
    opened: dict[str, int] = {}
    for entity in load_entities():
        table = f"history.{entity.name}"
        if tables is not None and table not in tables:
            continue
        within = touched.get(table, "true")
        con.execute(f"create or replace temp table history_incoming as from ({entity.sql}) where {within}")
        con.execute(_statement("scd2_create", table=entity.name))
        same_values = " and ".join(f"incoming.{c} is not distinct from versions.{c}" for c in entity.columns) or "true"
        con.execute(
            _statement("scd2_close", table=entity.name, key=entity.key, same_values=same_values, touched=within),
            {"snapshot_at": snapshot_at},
        )
        opened[entity.name] = _rows_written(
            con, _statement("scd2_open", table=entity.name, key=entity.key), snapshot_at
        )
        con.execute("drop table history_incoming")
    table = f"history.{COMPLETIONS_TABLE}"
    if tables is not None and table not in tables:
        return opened
    con.execute(_statement("chapter_completions_create"))
    within = touched.get(table, "true")
    opened[COMPLETIONS_TABLE] = _rows_written(
        con, f"insert into {table} from ({_statement(COMPLETIONS_TABLE)}) where {within}", snapshot_at
    )
    return opened


def touched_rows(
    con: duckdb.DuckDBPyConnection, reached: Collection[str], upstream: dict[str, set[str]]
) -> dict[str, str]:
    """For the `reached` history tables an incremental run can extend by their changed keys alone, the condition on
    their rows naming those keys. A history table follows its staged table row by row (each entity is one staged
    table's rows, keyed by its `id`), and the run before left it in step: only the keys of the rows this run changed
    (old and new versions, as recorded) can close or open a version. A chapter becomes completed only by a change
    of its own row: the completions follow the changed chapters (a new version alone completes none). Tables not
    built yet, and those whose staged table changed everywhere or is not one, are extended whole (left out)."""
    keys = {f"history.{entity.name}": entity.key for entity in load_entities()}
    existing = changes.history_tables(con)
    sources = {table: upstream.get(table, set()) for table in reached}
    sources[f"history.{COMPLETIONS_TABLE}"] = {_COMPLETIONS_FOLLOW}
    keys[f"history.{COMPLETIONS_TABLE}"] = "chapter_id"
    touched = {}
    for table in sorted(set(reached) & existing):
        if len(sources[table]) != 1:
            continue
        (source,) = sources[table]
        if changes.changed_everywhere(con, source):
            continue
        recorded = changes.recorded(con, source)
        # no change set recorded: the run changed none of its rows (the completions, when only versions changed)
        touched[table] = "false" if recorded is None else f"{keys[table]} in (select id from temp.{recorded})"
    return touched


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
