"""The bench's statements over the extracted tables (`pipelines.extract.tables`), kept in queries/bench."""

from __future__ import annotations

from psycopg import sql

from pipelines.config import QUERIES_DIR
from pipelines.extract.tables import SourceTable

BENCH_QUERIES = QUERIES_DIR / "bench"


def query(name: str) -> str:
    return (BENCH_QUERIES / f"{name}.sql").read_text()


def around_select(name: str, table: SourceTable) -> str:
    """`queries/bench/<name>.sql` wrapped around the extract's select of exactly the staged columns."""
    return sql.SQL(query(name)).format(select=sql.SQL(table.select())).as_string(None)
