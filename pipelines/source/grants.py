"""Least-privilege login roles for the ETL: a reader for the extract, a writer for the rollup write-back.

The reader may SELECT exactly the columns `queries/staging/sources.yml` stages (never a secret column) plus what
the write-back reads; the writer may only write the two rollup tables, and read them and the few chapter and
project columns the write-back needs. Re-running revokes everything first, so the privileges are always exactly
these, even after sources.yml changed.
"""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from collections.abc import Iterable, Mapping

import psycopg
from psycopg import errors, sql

from pipelines.config import setting
from pipelines.errors import UserError, first_line
from pipelines.extract.tables import load_tables
from pipelines.queries import sql_file
from pipelines.source.queries import template

PLATFORM_SCHEMAS = ("users", "content", "ai_processing", "billing", "analytics", "system")
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Read by the write-back (content statistics from chapter text; project metrics from staged columns) but not staged:
# granted to the reader and, since the write-back reads them on the rollup connection, to the writer.
WRITEBACK_READS = {
    "content.chapters": ("id", "project_id", "content", "updated_at"),
    "content.projects": ("id",),
}
# Row-version system columns, no data: the incremental extract filters on xmin, DuckDB's scanner splits by ctid.
# PostgreSQL checks column privileges on system columns too.
ROW_VERSION_COLUMNS = ("xmin", "ctid")
WRITER_SCHEMAS = ("analytics", "content", "system")
WRITER_TABLES = ("analytics.project_metrics", "content.content_statistics")
# Fired alerts become jobs in the platform's own queue (docs/alerts.md): the writer may add rows there, nothing more
# (no SELECT: it never reads the queue; the job id comes from the column default).
ALERT_JOBS_TABLE = "system.background_jobs"


def grant_roles(
    conn: psycopg.Connection, reader: str | None, writer: str | None, *, replication: bool = False
) -> list[str]:
    """Create or update the reader and/or writer role with exactly their privileges; returns lines to print.

    `replication`: the reader may also capture changes (docs/etl.md, "Change capture"): the REPLICATION attribute
    (to create and read its slot) and our publication over the staged columns, owned by the caller (a role may only
    publish tables it owns). Without it the reader has no REPLICATION and the ETL uses the xmin method.
    """
    for role in (reader, writer):
        if role is not None and not _ROLE_NAME.match(role):
            raise UserError(f"role name {role!r} is not allowed; use lowercase letters, digits and _ (max 63)")
    if reader and reader == writer:
        raise UserError("the reader and the writer must be two different roles; pick another name for one")
    lines = []
    try:
        with conn.transaction():
            if reader:
                lines.append(_ensure_role(conn, reader, "reader"))
                lines.append(_grant_reader(conn, reader))
                lines.append(_grant_replication(conn, reader, replication))
            if writer:
                lines.append(_ensure_role(conn, writer, "writer"))
                lines.append(_grant_writer(conn, writer))
    except errors.InsufficientPrivilege as exc:
        raise UserError(
            f"not allowed to create roles or grant privileges ({first_line(exc)}); "
            "run `source grant` as the owner of the platform tables with CREATEROLE, or as a superuser"
        ) from exc
    return lines


def reader_columns() -> dict[str, list[str]]:
    """Qualified table -> the columns the reader may SELECT: the staged ones and those the computed ones read (a
    prompt's fingerprint is computed from the prompt at the source), then the write-back's extras."""
    columns: dict[str, list[str]] = defaultdict(list)
    for table in load_tables():
        columns[table.source].extend(c for c in (*table.columns, *table.reads) if c not in columns[table.source])
    for qualified, extra in WRITEBACK_READS.items():
        columns[qualified].extend(c for c in extra if c not in columns[qualified])
    return dict(columns)


def _ensure_role(conn: psycopg.Connection, role: str, kind: str) -> str:
    """Create the LOGIN role (or set its password when one is configured); returns the line to print."""
    row = conn.execute(sql_file("source/grants_role_attributes"), {"role": role}).fetchone()
    if row and row[0]:
        raise UserError(
            f"role {role!r} is a superuser or bypasses row security, so no grant can restrict it; "
            f"pick another --{kind} name"
        )
    configured = setting(f"{kind}_password")
    password = configured or secrets.token_urlsafe(24)
    variable = f"EBOOK_ANALYTICS_{kind.upper()}_PASSWORD"
    parts = {"role": sql.Identifier(role), "password": sql.Literal(password)}
    if row is None:
        conn.execute(template("grants_create_role", **parts))
        shown = f"password from {variable}" if configured else f"password {password} (shown once; or set {variable})"
        return f"{kind} role {role}: created, {shown}"
    if configured:
        conn.execute(template("grants_set_password", **parts))
        return f"{kind} role {role}: exists, password set from {variable}"
    return f"{kind} role {role}: exists, password unchanged"


def _revoke_everything(conn: psycopg.Connection, role: str) -> None:
    for schema in PLATFORM_SCHEMAS:
        conn.execute(template("grants_revoke_schema", schema=sql.Identifier(schema), role=sql.Identifier(role)))


def _grant_reader(conn: psycopg.Connection, role: str) -> str:
    _revoke_everything(conn, role)
    tables = reader_columns()
    schemas = sorted({table.split(".")[0] for table in tables})
    _grant_usage(conn, role, schemas)
    _grant_select_columns(conn, role, tables)
    count = sum(len(columns) for columns in tables.values())
    return f"reader role {role}: USAGE on {', '.join(schemas)}; SELECT on {count} columns of {len(tables)} tables"


def _grant_replication(conn: psycopg.Connection, role: str, replication: bool) -> str:
    from pipelines.extract.capture import PUBLICATION, ensure_publication, publication_columns, version_refused

    too_old = version_refused(conn.info.server_version) if replication else None
    if too_old:
        raise UserError(f"cannot set up change capture: {too_old}; grant without --replication (the xmin method)")
    conn.execute(template("grants_replication" if replication else "grants_no_replication", role=sql.Identifier(role)))
    if not replication:
        return f"reader role {role}: NOREPLICATION (the ETL reads with the xmin method; --replication allows more)"
    problem = ensure_publication(conn, load_tables())
    if problem:
        raise UserError(f"cannot set up change capture: {problem}; run `source grant` as the tables' owner")
    return (
        f"reader role {role}: REPLICATION; publication {PUBLICATION} over the staged columns of "
        f"{len(publication_columns())} tables"
    )


def _grant_writer(conn: psycopg.Connection, role: str) -> str:
    _revoke_everything(conn, role)
    _grant_usage(conn, role, WRITER_SCHEMAS)
    for table in WRITER_TABLES:
        conn.execute(template("grants_write_table", table=sql.Identifier(*table.split(".")), role=sql.Identifier(role)))
    # The write-back reads chapter text and project ids on its own connection, to find what to recompute.
    _grant_select_columns(conn, role, WRITEBACK_READS)
    conn.execute(
        template("grants_insert_table", table=sql.Identifier(*ALERT_JOBS_TABLE.split(".")), role=sql.Identifier(role))
    )
    reads = "; ".join(f"{table}({', '.join(columns)})" for table, columns in WRITEBACK_READS.items())
    return (
        f"writer role {role}: SELECT, INSERT, UPDATE, DELETE on {', '.join(WRITER_TABLES)} only; SELECT on {reads}; "
        f"INSERT on {ALERT_JOBS_TABLE}"
    )


def _grant_usage(conn: psycopg.Connection, role: str, schemas: Iterable[str]) -> None:
    for schema in schemas:
        conn.execute(template("grants_schema_usage", schema=sql.Identifier(schema), role=sql.Identifier(role)))


def _grant_select_columns(conn: psycopg.Connection, role: str, tables: Mapping[str, Iterable[str]]) -> None:
    for table, columns in tables.items():
        conn.execute(
            template(
                "grants_select_columns",
                columns=sql.SQL(", ").join(sql.Identifier(c) for c in (*columns, *ROW_VERSION_COLUMNS)),
                table=sql.Identifier(*table.split(".")),
                role=sql.Identifier(role),
            )
        )
