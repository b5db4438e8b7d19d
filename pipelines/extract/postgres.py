"""The DuckDB postgres extension, loaded from the bundled wheel (never downloaded), and the attached source."""

from __future__ import annotations

import duckdb

from pipelines.connections import redact
from pipelines.duckdb_extensions import POSTGRES, quoted
from pipelines.errors import UserError, first_line

SOURCE_ALIAS = "src"


def attach_source(con: duckdb.DuckDBPyConnection, url: str) -> None:
    """Load the extension and attach the source read-only as `src`.

    ATTACH takes no bound parameters, so the URL (checked by `pipelines.connections.connect` before) goes in
    as a SQL string literal with its quotes doubled.
    """
    POSTGRES.load(con)
    try:
        con.execute(f"attach '{quoted(url)}' as {SOURCE_ALIAS} (type postgres, read_only)")
    except duckdb.Error as exc:
        raise UserError(
            f"cannot attach the source database at {redact(url)}: {first_line(exc)}; "
            "check EBOOK_ANALYTICS_SOURCE_URL or run `ebook-analytics source start`"
        ) from exc


def source_scan(parameter: str = "query") -> str:
    """A table function running the PostgreSQL text bound as `$parameter` in the source's open transaction."""
    return f"postgres_query('{SOURCE_ALIAS}', ${parameter})"
