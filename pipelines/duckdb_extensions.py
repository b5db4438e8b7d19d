"""DuckDB extensions loaded from their bundled wheels (never downloaded), by path.

Each wheel (`duckdb-extension-<name>`, pinned to the duckdb release) ships `extensions/v<duckdb>/<file>`. DuckDB looks
an extension up by the name inside the binary, which is not always the wheel's (postgres is `postgres_scanner`,
sqlite is `sqlite_scanner`), so `<home>/duckdb_extensions` links to the file under the name DuckDB expects.
"""

from __future__ import annotations

import os
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
        """The wheel's extension under `<home>/duckdb_extensions` with the name DuckDB expects: a link to the
        installed wheel's file (re-pointed when duckdb and its wheels are upgraded), or a copy where the wheel's
        file is no plain file (a zipped install)."""
        target = paths().home / "duckdb_extensions" / self.loads_as
        bundled = files(self.package) / "extensions" / f"v{duckdb.__version__}" / self.bundled
        target.parent.mkdir(parents=True, exist_ok=True)
        # Concurrent first runs never load a half-made file: each makes its own, then renames it into place.
        partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
        if isinstance(bundled, Path) and bundled.is_file():
            if not (target.is_symlink() and target.readlink() == bundled):
                partial.unlink(missing_ok=True)
                partial.symlink_to(bundled)  # a link: 110 MB less to copy per data folder
                partial.replace(target)
        elif not target.is_file():
            with bundled.open("rb") as reader, partial.open("wb") as writer:
                shutil.copyfileobj(reader, writer)
            partial.replace(target)
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
