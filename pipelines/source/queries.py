"""DDL templates of the source step: `queries/source/<name>.sql` with `{placeholders}` for identifiers."""

from __future__ import annotations

from psycopg import sql

from pipelines.queries import sql_file


def template(name: str, **parts: sql.Composable) -> sql.Composed:
    """A DDL template: `queries/source/<name>.sql` with its `{placeholders}` filled by quoted identifiers/literals.

    DDL takes no bind parameters, so identifiers from our own config and values we generated are composed
    with psycopg's quoting instead.
    """
    return sql.SQL(sql_file(f"source/{name}")).format(**parts)
