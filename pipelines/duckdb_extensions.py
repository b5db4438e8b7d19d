"""DuckDB extensions loaded from their bundled wheels (never downloaded), by path.

Each wheel (`duckdb-extension-<name>`, pinned to the duckdb release) ships `extensions/v<duckdb>/<file>`. DuckDB looks
an extension up by the name inside the binary, which is not always the wheel's (postgres is `postgres_scanner`,
sqlite is `sqlite_scanner`), so the file is copied once under `<home>/duckdb_extensions` with the name DuckDB expects.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import duckdb

from pipelines.config import paths


@dataclass(frozen=True)
class Extension:
    package: str  # the wheel's import name
    bundled: str  # the file in the wheel
    loads_as: str  # the file name DuckDB expects

    def path(self) -> Path:
        """The wheel's extension, copied once under `<home>/duckdb_extensions` with the name DuckDB expects."""
        target = paths().home / "duckdb_extensions" / self.loads_as
        if not target.is_file():
            bundled = files(self.package) / "extensions" / f"v{duckdb.__version__}" / self.bundled
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".partial")
            with bundled.open("rb") as reader, partial.open("wb") as writer:
                shutil.copyfileobj(reader, writer)
            partial.replace(target)  # concurrent first runs never load a half-copied file
        return target

    def load(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute("set autoinstall_known_extensions = false")
        con.execute(f"load '{quoted(str(self.path()))}'")


POSTGRES = Extension("duckdb_extension_postgres", "postgres.duckdb_extension", "postgres_scanner.duckdb_extension")
SQLITE = Extension("duckdb_extension_sqlite", "sqlite.duckdb_extension", "sqlite_scanner.duckdb_extension")
DUCKLAKE = Extension("duckdb_extension_ducklake", "ducklake.duckdb_extension", "ducklake.duckdb_extension")


def quoted(text: str) -> str:
    """A SQL string literal's body: LOAD and ATTACH take no bound parameters, so quotes are doubled."""
    return text.replace("'", "''")
