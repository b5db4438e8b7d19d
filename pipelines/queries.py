"""The one loader of the SQL files under the top-level `queries/` folder (shipped in the wheel as package data).

`sql_file("source/seed_copy")` is the text of `queries/source/seed_copy.sql`. The folder is found through the
imported `queries` package, so an installed CLI works from any working directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import duckdb

import queries

QUERIES_DIR = Path(queries.__file__).resolve().parent


@cache
def sql_file(name: str) -> str:
    """The text of `queries/<name>.sql` (`name` is a path relative to `queries/`, without the suffix)."""
    return (QUERIES_DIR / f"{name}.sql").read_text()


def sql_template(name: str, **identifiers: str) -> str:
    """`sql_file(name)` with its `{identifier}` placeholders (table names, SELECTs: never values, which stay bound)
    filled in."""
    text = sql_file(name)
    for key, value in identifiers.items():
        text = text.replace(f"{{{key}}}", value)
    return text


class _Cursor(Protocol):
    def fetchone(self) -> tuple[Any, ...] | None: ...


def one_row(cursor: _Cursor) -> tuple[Any, ...]:
    """The row of a statement that always returns exactly one (an aggregate, `exists`), from a DuckDB or psycopg
    cursor: no row is a bug, not a user's problem."""
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError("a single-row statement returned no row")
    return row


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, data: object) -> Iterator[None]:
    """`data` (an Arrow table, a pandas frame) readable on `con` as the view `name` for the block only."""
    con.register(name, data)
    try:
        yield
    finally:
        con.unregister(name)
