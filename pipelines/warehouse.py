"""Connections to the warehouse, configured the same way everywhere.

`connect(paths().warehouse, read_only=True)` (or `open_publication()`) opens the published warehouse: a DuckLake
(`pipelines.publish.lake`) attached read-only at one publication, the latest unless `as_of` names another, with
`marts`, `staging` and `meta` as its schemas. `connect(path)` on any other path opens a plain DuckDB file (the
ETL's working file, a test's scratch file).

Every connection gets the house SQL macros (`queries/macros/*.sql`: `picked`, `utc_day`, ...) as temporary macros,
so the marts, the reports and an analyst's session (`pipelines.warehouse.open_publication()`, or the DuckDB CLI
attaching the lake as docs/etl.md shows, with `-cmd "$(cat queries/macros/*.sql)"`) speak the same SQL. Temporary:
the warehouse holds none, and read-only connections can create them.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import duckdb

from pipelines.config import paths
from pipelines.duckdb_extensions import CONNECT_CONFIG
from pipelines.errors import UserError, first_line
from pipelines.publish import lake
from pipelines.queries import QUERIES_DIR


def open_publication(as_of: str | None = None) -> duckdb.DuckDBPyConnection:
    """The published warehouse of the settings, read-only, at the latest publication or the one `as_of` names (a run
    id or an ISO time)."""
    return connect(paths().warehouse, read_only=True, as_of=as_of)


def connect(
    path: Path | str, *, read_only: bool = False, memory_limit: str | None = None, as_of: str | None = None
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; days are UTC calendar days, so the session time zone is UTC.

    `memory_limit` (e.g. "1GB") caps DuckDB's buffer pool; beyond it DuckDB spills to a temp folder beside the file.
    """
    path = Path(path)
    if read_only and lake.is_catalog(path):
        con, _ = lake.open_publication(lake.at(path), as_of, prepare=_configured)
        return con
    if as_of is not None:
        raise UserError(f"{path} is not a published warehouse; --as-of needs one")
    if read_only and not path.exists():
        raise UserError(f"no warehouse at {path}; run `ebook-analytics etl run` first")
    try:
        config = {**CONNECT_CONFIG, **({"memory_limit": memory_limit} if memory_limit else {})}
        con = duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        raise UserError(f"cannot open the warehouse {path}: {first_line(exc)}") from exc
    except duckdb.Error as exc:
        raise UserError(
            f"{path} is not a readable DuckDB warehouse ({first_line(exc)}); "
            "move it away or run `ebook-analytics etl run --full --rebuild` to build a fresh one"
        ) from exc
    return _configured(con)


def _configured(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    con.execute("set TimeZone = 'UTC'")
    for macro in macros():
        con.execute(macro)
    return con


@cache
def macros() -> tuple[str, ...]:
    """The `create temp macro` statements of `queries/macros/`, in file-name order."""
    return tuple(path.read_text() for path in sorted((QUERIES_DIR / "macros").glob("*.sql")))
