"""Connections to the DuckDB warehouse file, configured the same way everywhere."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.errors import UserError


def connect(path: Path | str, *, read_only: bool = False, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; days are UTC calendar days, so the session time zone is UTC.

    `memory_limit` (e.g. "1GB") caps DuckDB's buffer pool; beyond it DuckDB spills to a temp folder beside the file.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise UserError(f"no warehouse at {path}; run `ebook-analytics etl run` first")
    try:
        config = {"memory_limit": memory_limit} if memory_limit else {}
        con = duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        raise UserError(f"cannot open the warehouse {path}: {str(exc).splitlines()[0]}") from exc
    except duckdb.Error as exc:
        raise UserError(
            f"{path} is not a readable DuckDB warehouse ({str(exc).splitlines()[0]}); "
            "move it away or run `ebook-analytics etl run --full --rebuild` to build a fresh one"
        ) from exc
    con.execute("set TimeZone = 'UTC'")
    return con
