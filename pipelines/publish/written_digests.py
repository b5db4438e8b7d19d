"""The digest of each `analytics.project_metrics` row the write-back wrote (`project_metrics.sql`'s `row_digest`,
which covers the row's `metrics_date`: yesterday's digest never matches today's row), kept in the write-back's cache
(`writeback_cache`), so a run sends only the rows whose digest differs: its cost follows the change, not the number
of projects. A row-by-row store: a run forgets and remembers only the projects it sends."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from contextlib import closing

import pyarrow as pa
import pyarrow.compute as pc

TABLE = "written_digests"
SCHEMA = ("create table if not exists written_digests (project_id text primary key, digest text not null)",)
_DELETE = "delete from written_digests where project_id = ?"


class WrittenDigests:
    """The digests kept in the write-back's cache (`writeback_cache.open_cache`)."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self._con = con

    def unsent(self, metrics: pa.Table) -> tuple[pa.Table, list[str]]:
        """The rows of `metrics` (`project_id`, `row_digest`, ...) whose digest is not the one last written for
        their project, and the projects with a digest that `metrics` no longer holds."""
        with closing(self._con.cursor()) as cursor:
            stored = cursor.execute("select project_id, digest from written_digests").fetchall()
        projects = pa.array([project for project, _ in stored], pa.string())
        written = pc.binary_join_element_wise(projects, pa.array([digest for _, digest in stored], pa.string()), ":")
        arriving = pc.binary_join_element_wise(metrics["project_id"], metrics["row_digest"], ":")
        gone = projects.filter(pc.invert(pc.is_in(projects, value_set=metrics["project_id"])))
        return metrics.filter(pc.invert(pc.is_in(arriving, value_set=written))), gone.to_pylist()

    def forget(self, projects: Collection[str]) -> None:
        """Before the source commits rows of `projects`: their digests go first, so a run dying after that commit
        and before `remember` sends them again, never trusting a digest of a row the source no longer has."""
        self._write(_DELETE, [(project,) for project in projects])

    def remember(self, written: dict[str, str], gone: Collection[str]) -> None:
        """After the commit: the digest of each project's row `written`; the projects `gone` drop theirs."""
        self._write(_DELETE, [(project,) for project in gone])
        self._write("insert or replace into written_digests values (?, ?)", list(written.items()))

    def _write(self, statement: str, rows: list[tuple[str, ...]]) -> None:
        if not rows:
            return
        with closing(self._con.cursor()) as cursor:
            cursor.execute("begin")
            cursor.executemany(statement, rows)
            cursor.execute("commit")
