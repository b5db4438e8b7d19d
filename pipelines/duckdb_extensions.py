"""DuckDB extensions loaded from their bundled wheels (never downloaded), by path.

Each wheel (`duckdb-extension-<name>`, pinned to the duckdb release) ships `extensions/v<duckdb>/<file>`. DuckDB looks
an extension up by the name inside the binary, which is not always the wheel's (postgres is `postgres_scanner`,
sqlite is `sqlite_scanner`), so `<home>/duckdb_extensions` links to the file under the name DuckDB expects.
"""

from __future__ import annotations

import json
import os
import shutil
from contextlib import suppress
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import duckdb

from pipelines.config import paths

# DuckDB checks an extension's signature by hashing the whole file (35-110 MB) at every LOAD into a new database:
# about 0.1 CPU-s per extension and database, a tenth of a small `etl run` and most of a short CLI command, paid
# again by every reader's connection. So each file is checked once (and again when it changes on disk), with a LOAD
# into a throwaway database under DuckDB's default (signed extensions only); the databases that load our extensions
# are opened with `CONNECT_CONFIG` and skip DuckDB's own check of a file already checked. A process remembers the
# files it checked; the wheels' own files, once checked, are recorded under the home for the next processes (a
# file is trusted from there only where the installed wheel has it: changing it takes the rights that changing this
# code does).
CONNECT_CONFIG: dict[str, str | bool | int | float | list[str]] = {"allow_unsigned_extensions": True}
_checked: dict[Path, list[int]] = {}  # a checked file (resolved) -> its version then (`_version`)
CHECKED_RECORD = "signatures-checked.json"  # in <home>/duckdb_extensions: a wheel's file -> its version when checked


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
        bundled = self.bundled_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        # Concurrent first runs never load a half-made file: each makes its own, then renames it into place.
        partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
        if bundled is not None:
            if not (target.is_symlink() and target.readlink() == bundled):
                partial.unlink(missing_ok=True)
                partial.symlink_to(bundled)  # a link: 110 MB less to copy per data folder
                partial.replace(target)
        elif not target.is_file():
            with self.bundled_file().open("rb") as reader, partial.open("wb") as writer:
                shutil.copyfileobj(reader, writer)
            partial.replace(target)
        return target

    def bundled_file(self) -> Traversable:
        """The extension as the installed wheel ships it, for this duckdb release."""
        return files(self.package) / "extensions" / f"v{duckdb.__version__}" / self.bundled

    def bundled_path(self) -> Path | None:
        """The wheel's file where it is a plain file (None inside a zipped install)."""
        bundled = self.bundled_file()
        return bundled if isinstance(bundled, Path) and bundled.is_file() else None

    def load(self, con: duckdb.DuckDBPyConnection) -> None:
        path = self.path()
        if _skips_signature_check(con):
            check_signature(path)
        con.execute("set autoinstall_known_extensions = false")
        con.execute(f"load '{quoted(str(path))}'")


def check_signatures(directory: Path) -> None:
    """`check_signature` of every bundled extension that is a plain file, through links in `directory` (DuckDB
    wants the file under the extension's own name): for a process that forks workers, which inherit the checks."""
    for extension in EXTENSIONS:
        if (bundled := extension.bundled_path()) is not None:
            link = directory / extension.loads_as
            link.unlink(missing_ok=True)
            link.symlink_to(bundled)
            check_signature(link)


def check_signature(path: Path) -> None:
    """DuckDB's signature check of the extension at `path` (named as DuckDB expects), once per version of the file
    it is: raises duckdb.Error when that file is not an extension DuckDB signed."""
    target = path.resolve()
    version = _version(target)
    if _checked.get(target) == version:
        return
    record = paths().home / "duckdb_extensions" / CHECKED_RECORD
    bundled = target in _bundled_files()
    recorded = _read_record(record) if bundled else {}
    if recorded.get(str(target)) != version:
        with duckdb.connect(config={"threads": 1}) as probe:  # DuckDB's default: signed extensions only
            probe.execute("set autoinstall_known_extensions = false")
            probe.execute(f"load '{quoted(str(path))}'")
        if bundled:
            _write_record(record, {**recorded, str(target): version})
    _checked[target] = version


def _version(file: Path) -> list[int]:
    """What changes when the file does: its inode, size, modification and status-change times."""
    stat = file.stat()
    return [stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]


def _bundled_files() -> set[Path]:
    """The extension files of the installed wheels (resolved) that are plain files."""
    return {bundled.resolve() for extension in EXTENSIONS if (bundled := extension.bundled_path()) is not None}


def _read_record(record: Path) -> dict[str, list[int]]:
    try:
        recorded = json.loads(record.read_text())
    except (OSError, ValueError):  # none yet, or unreadable: every file is checked again
        return {}
    return recorded if isinstance(recorded, dict) else {}


def _write_record(record: Path, checked: dict[str, list[int]]) -> None:
    """Replace the record whole (a sibling renamed into place): a concurrent reader sees the old one or the new."""
    partial = record.with_name(f"{record.name}.{os.getpid()}.partial")
    with suppress(OSError):  # only saves the next process a check
        record.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(checked))
        partial.replace(record)


def _skips_signature_check(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute("select current_setting('allow_unsigned_extensions')").fetchone()
    return bool(row and row[0])


POSTGRES = Extension("duckdb_extension_postgres", "postgres.duckdb_extension", "postgres_scanner.duckdb_extension")
SQLITE = Extension("duckdb_extension_sqlite", "sqlite.duckdb_extension", "sqlite_scanner.duckdb_extension")
DUCKLAKE = Extension("duckdb_extension_ducklake", "ducklake.duckdb_extension", "ducklake.duckdb_extension")
EXTENSIONS = (POSTGRES, SQLITE, DUCKLAKE)


def quoted(text: str) -> str:
    """A SQL string literal's body: LOAD and ATTACH take no bound parameters, so quotes are doubled."""
    return text.replace("'", "''")
