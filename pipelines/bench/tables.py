"""The bench's statements over the extracted tables (`pipelines.extract.tables`), kept in queries/bench."""

from __future__ import annotations

from psycopg import sql

from pipelines.extract.tables import SourceTable
from pipelines.queries import sql_file


def around_select(name: str, table: SourceTable) -> str:
    """`queries/bench/<name>.sql` wrapped around the extract's select of exactly the staged columns."""
    return sql.SQL(sql_file(f"bench/{name}")).format(select=sql.SQL(table.select())).as_string(None)
