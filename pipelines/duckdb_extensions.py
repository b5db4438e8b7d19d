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

# DuckDB checks an extension's signature by hashing the whole file (35-110 MB) at every LOAD into a new database:
# about 0.2 CPU-s per extension and database, a tenth of a small `etl run` and most of a short CLI command, paid
# again by every reader's connection. So this process checks each file once (and again when it changes on disk),
# with a LOAD into a throwaway database under DuckDB's default (signed extensions only); the databases that load
# our extensions are opened with `CONNECT_CONFIG` and skip DuckDB's own check of a file already checked here.
CONNECT_CONFIG: dict[str, str | bool | int | float | list[str]] = {"allow_unsigned_extensions": True}
_checked: dict[Path, tuple[int, int, int]] = {}  # a checked file (resolved) -> its inode, size and mtime then


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
        path = self.path()
        if _skips_signature_check(con):
            check_signature(path)
        con.execute("set autoinstall_known_extensions = false")
        con.execute(f"load '{quoted(str(path))}'")


def check_signatures(directory: Path) -> None:
    """`check_signature` of every bundled extension that is a plain file, through links in `directory` (DuckDB
    wants the file under the extension's own name): for a process that forks workers, which inherit the checks."""
    for extension in (POSTGRES, SQLITE, DUCKLAKE):
        bundled = files(extension.package) / "extensions" / f"v{duckdb.__version__}" / extension.bundled
        if isinstance(bundled, Path) and bundled.is_file():
            link = directory / extension.loads_as
            link.unlink(missing_ok=True)
            link.symlink_to(bundled)
            check_signature(link)


def check_signature(path: Path) -> None:
    """DuckDB's signature check of the extension at `path` (named as DuckDB expects), once per process and version
    of the file it is: raises duckdb.Error when that file is not an extension DuckDB signed."""
    target = path.resolve()
    stat = target.stat()
    version = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if _checked.get(target) == version:
        return
    with duckdb.connect(config={"threads": 1}) as probe:  # DuckDB's default: signed extensions only
        probe.execute("set autoinstall_known_extensions = false")
        probe.execute(f"load '{quoted(str(path))}'")
    _checked[target] = version


def _skips_signature_check(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute("select current_setting('allow_unsigned_extensions')").fetchone()
    return bool(row and row[0])


POSTGRES = Extension("duckdb_extension_postgres", "postgres.duckdb_extension", "postgres_scanner.duckdb_extension")
SQLITE = Extension("duckdb_extension_sqlite", "sqlite.duckdb_extension", "sqlite_scanner.duckdb_extension")
DUCKLAKE = Extension("duckdb_extension_ducklake", "ducklake.duckdb_extension", "ducklake.duckdb_extension")


def quoted(text: str) -> str:
    """A SQL string literal's body: LOAD and ATTACH take no bound parameters, so quotes are doubled."""
    return text.replace("'", "''")
