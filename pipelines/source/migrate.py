"""Brings the operational database's schema up to date with the numbered files in `migrations/`.

Each `NNNN_<name>.sql` file is applied once, in its own transaction, and recorded in `system.schema_migrations`.
Every transaction first takes the same advisory lock, so two `source init` runs at once apply each file once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import errors

from pipelines.errors import UserError, first_line
from pipelines.queries import one_row, sql_file

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_MIGRATION_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")
# Any fixed 64-bit number will do; every process changing the schema (migrations, partitions) takes it.
SCHEMA_LOCK_KEY = 0x6562_6F6F_6B5F_6D67  # "ebook_mg"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in version order."""
    migrations = []
    for path in directory.glob("*.sql"):
        match = _MIGRATION_FILE.match(path.name)
        if match:
            migrations.append(Migration(int(match[1]), path.stem, path))
    return sorted(migrations, key=lambda migration: migration.version)


def apply_migrations(conn: psycopg.Connection, directory: Path = MIGRATIONS_DIR) -> tuple[int, list[str]]:
    """Apply the migrations not yet applied; returns (schema version now, names of the files applied now)."""
    applied_now = []
    for migration in load_migrations(directory):
        try:
            applied = _apply(conn, migration)
        except psycopg.Error as exc:
            explained = _explained(exc, migration)
            if explained is None:
                raise
            raise explained from exc
        if applied:
            applied_now.append(migration.name)
    with conn.transaction():
        version = one_row(conn.execute(sql_file("source/migrations_version")))[0]
    return version, applied_now


def _explained(exc: psycopg.Error, migration: Migration) -> UserError | None:
    """A UserError with the fix, for the failures a user can fix."""
    reason = first_line(exc)
    if isinstance(exc, errors.InsufficientPrivilege):
        return UserError(
            f"not allowed to change the schema ({reason}); run `source init` as the database owner "
            "or a superuser (it creates schemas, tables and the pgvector extension)"
        )
    if 'extension "vector"' in reason:
        return UserError(
            f"the server cannot create the pgvector extension ({reason}); install pgvector on the PostgreSQL "
            "server (e.g. the postgresql-NN-pgvector package), or use the embedded server "
            "(`ebook-analytics source start`), which ships it"
        )
    if isinstance(exc, errors.DuplicateTable | errors.DuplicateSchema | errors.DuplicateObject):
        return UserError(
            f"migration {migration.name} clashes with objects already in the database ({reason}) that "
            "system.schema_migrations does not record; run `source init` on an empty database"
        )
    return None


def _apply(conn: psycopg.Connection, migration: Migration) -> bool:
    """Apply one migration in its own transaction unless it is recorded already; True when applied."""
    with conn.transaction():
        conn.execute(sql_file("source/advisory_xact_lock"), {"lock_key": SCHEMA_LOCK_KEY})
        # Under the lock: another process may have created the ledger or applied this file meanwhile.
        conn.execute(sql_file("source/migrations_bootstrap"))
        applied = {row[0] for row in conn.execute(sql_file("source/migrations_applied"))}
        if migration.version in applied:
            return False
        conn.execute(migration.path.read_text())
        conn.execute(sql_file("source/migrations_record"), {"version": migration.version, "name": migration.name})
    return True
