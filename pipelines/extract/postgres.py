"""The DuckDB postgres extension, loaded from the bundled wheel (never downloaded), and the attached source."""

from __future__ import annotations

import shutil
from importlib.resources import files
from pathlib import Path

import duckdb

from pipelines.config import paths
from pipelines.connections import redact
from pipelines.errors import UserError, first_line

SOURCE_ALIAS = "src"
# DuckDB looks an extension up by the name inside the binary, which is `postgres_scanner`.
EXTENSION_FILE = "postgres_scanner.duckdb_extension"


def extension_path() -> Path:
    """The wheel's extension, copied once under `<home>/duckdb_extensions` with the file name DuckDB expects."""
    target = paths().home / "duckdb_extensions" / EXTENSION_FILE
    if not target.is_file():
        wheel = files("duckdb_extension_postgres") / "extensions" / f"v{duckdb.__version__}"
        bundled = wheel / "postgres.duckdb_extension"
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        with bundled.open("rb") as reader, partial.open("wb") as writer:
            shutil.copyfileobj(reader, writer)
        partial.replace(target)  # concurrent first runs never load a half-copied file
    return target


def attach_source(con: duckdb.DuckDBPyConnection, url: str) -> None:
    """Load the extension and attach the source read-only as `src`.

    ATTACH takes no bound parameters, so the URL (checked by `pipelines.connections.connect` before) goes in
    as a SQL string literal with its quotes doubled.
    """
    con.execute("set autoinstall_known_extensions = false")
    con.execute(f"load '{_quoted(str(extension_path()))}'")
    try:
        con.execute(f"attach '{_quoted(url)}' as {SOURCE_ALIAS} (type postgres, read_only)")
    except duckdb.Error as exc:
        raise UserError(
            f"cannot attach the source database at {redact(url)}: {first_line(exc)}; "
            "check EBOOK_ANALYTICS_SOURCE_URL or run `ebook-analytics source start`"
        ) from exc


def _quoted(text: str) -> str:
    return text.replace("'", "''")


def source_scan(parameter: str = "query") -> str:
    """A table function running the PostgreSQL text bound as `$parameter` in the source's open transaction."""
    return f"postgres_query('{SOURCE_ALIAS}', ${parameter})"
