"""The SQL of the source step: one statement (or one DDL template) per file under `queries/source/`."""

from __future__ import annotations

from functools import cache

from psycopg import sql

from pipelines.config import QUERIES_DIR

SOURCE_QUERIES_DIR = QUERIES_DIR / "source"


@cache
def query(name: str) -> str:
    """The text of `queries/source/<name>.sql`."""
    return (SOURCE_QUERIES_DIR / f"{name}.sql").read_text()


def template(name: str, **parts: sql.Composable) -> sql.Composed:
    """A DDL template: `queries/source/<name>.sql` with its `{placeholders}` filled by quoted identifiers/literals.

    DDL takes no bind parameters, so identifiers from our own config and values we generated are composed
    with psycopg's quoting instead.
    """
    return sql.SQL(query(name)).format(**parts)
