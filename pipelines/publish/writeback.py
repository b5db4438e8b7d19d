"""Write-back: the published warehouse's rollups into the operational database, in one transaction.

- `analytics.project_metrics`: one row per project for the run's UTC snapshot date, computed in DuckDB from the
  warehouse; only the rows whose digest differs from the one last written for that project (kept in the data folder)
  are COPY'd into a temp table and upserted `on conflict (project_id, metrics_date)`, and a row equal to the stored
  one is not rewritten.
- `content.content_statistics`: per chapter and per project, computed near the data from the chapters' text; only
  projects with a chapter written since the last write-back (an xmin watermark kept in the data folder) or whose
  rows no longer add up are recomputed, and of their rows only those that differ are written. An incremental run
  on the source database itself names the changed chapters (its change set): then only their projects are
  recomputed, and the whole-table scans (the xmin one and the consistency checks) run once per UTC day.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import threading
from collections.abc import Callable
from contextlib import closing, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb
import psycopg
import pyarrow as pa
from psycopg import sql
from tqdm import tqdm

from pipelines.connections import connect, redact
from pipelines.days import utc_day
from pipelines.errors import UserError, first_line
from pipelines.publish.counted_chapters import ChapterVersion, Counted, CountedChapters
from pipelines.publish.readability import TextCounts, count_from
from pipelines.publish.writeback_cache import open_cache
from pipelines.publish.written_digests import WrittenDigests
from pipelines.queries import one_row, sql_file
from pipelines.run import hooks
from pipelines.transform import changes

XID_BITS = 32
CHAPTER_BATCH = 2000  # chapters read, counted and COPY'd at a time
METRIC_COLUMNS = (
    "project_id",
    "total_words",
    "chapters_completed",
    "ai_generated_percentage",
    "active_writing_time_minutes",
    "ai_generation_time_minutes",
    "collaborator_count",
    "comments_count",
    "revisions_count",
    "metrics_date",
)
STATISTICS_COLUMNS = (
    "content_id",
    "content_type",
    "word_count",
    "character_count",
    "sentence_count",
    "paragraph_count",
    "flesch_reading_ease",
    "flesch_kincaid_grade",
)


@dataclass(frozen=True)
class ChangedChapters:
    """The chapters an incremental run's change set holds: the projects of their old and new versions, and the
    chapters deleted."""

    projects: frozenset[UUID]
    deleted: frozenset[UUID]


@dataclass(frozen=True)
class WriteBackCounts:
    project_metrics: int  # rows of analytics.project_metrics written (inserted or changed; equal rows are not)
    statistics_chapters: int  # chapter rows of content.content_statistics recomputed (those that differ written)
    statistics_projects: int  # project rows recomputed
    chapters_counted: int = 0  # chapters whose text was read and counted (the others' counts were kept)


class NotPublished(Exception):
    """The publication a write-back waited for was not made: the write-back rolls its transaction back."""


@dataclass
class PublicationOutcome:
    """Whether the publication a write-back writes back was committed, for a write-back running beside the publish:
    it commits its own transaction only once the publication has (`wait`), so the source never holds the rollups of
    a run that was not published."""

    _decided: threading.Event = field(default_factory=threading.Event)
    _committed: bool = False

    def committed(self) -> None:
        self._committed = True
        self._decided.set()

    def failed(self) -> None:
        self._decided.set()

    def wait(self) -> None:
        """Return once the publication is committed; raise `NotPublished` if it failed."""
        self._decided.wait()
        if not self._committed:
            raise NotPublished


def write_back(
    metrics: pa.Table | None,
    url: str,
    *,
    snapshot_at: datetime,
    state_path: Path,
    send_all: bool = False,
    changed_chapters: ChangedChapters | None = None,
    before_commit: Callable[[], None] = lambda: None,
) -> WriteBackCounts:
    """Upsert the day's changed project metrics and refresh stale content statistics, all in one transaction.

    `metrics`: the publication's project metrics for `snapshot_at` (`metric_rows`); None: a failed check held them
    back (docs/quality.md, "The gate"), and the source keeps the rows it has. The content statistics are computed
    from the source's own text, so they are always refreshed; the warehouse is not read here.
    `send_all`: send every project's row, whatever the digests say (`etl run --full`).
    `changed_chapters`: the chapters the run changed (`read_changed_chapters`), when `url` is the database it
    extracted; None (unknown): the write-back scans for the stale statistics instead.
    `before_commit` is called once everything is written, before the commit (`PublicationOutcome.wait`: the commit
    waits for the publication); an exception from it rolls the transaction back.
    """
    metrics_date = utc_day(snapshot_at)
    state = _read_state(state_path)
    with connect(url, what="rollup database") as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        snapshot_xmin = one_row(conn.execute(sql_file("writeback/snapshot_xmin")))[0]
        since_xid = _watermark(state, url, snapshot_xmin)
        # The cache is only as good as the watermark beside it: another database, or this one recreated, and its
        # digests describe rows the source may not have, its counts versions it does not.
        cache_path = state_path.with_suffix(".sqlite")
        with closing(open_cache(cache_path, redact(url), forget=not since_xid)) as cache:
            digests = WrittenDigests(cache)
            written, sent, gone = 0, dict[str, str](), list[str]()
            if metrics is not None:  # else held back: the source keeps its rows, and the digests still describe them
                unsent, gone = digests.unsent(metrics)
                sending = metrics if send_all else unsent
                projects = sending.column("project_id").to_pylist()
                _forget_before_commit(digests, cache_path, projects)
                written, skipped = _upsert_project_metrics(conn, _rows(sending))
                # A row the source refused (its project was deleted meanwhile) was not written: no digest, so it is
                # sent again should the project come back.
                row_digests = sending.column("row_digest").to_pylist()
                sent = {
                    project: digest
                    for project, digest in zip(projects, row_digests, strict=True)
                    if project not in skipped
                }
            # The whole-table scans run without a change set, without a usable state, or on the first run of a UTC
            # day.
            scan = (
                changed_chapters is None or not since_xid or state.get("statistics_scanned") != metrics_date.isoformat()
            )
            counted_before = CountedChapters(cache)
            refreshed = _refresh_statistics(
                conn, since_xid=since_xid, changed=changed_chapters, scan=scan, counted_before=counted_before
            )
            before_commit()
            hooks.reached("writeback")  # everything written, not yet committed
            conn.commit()
            # Only a cache, each part: counts not kept are counted again, rows without a digest sent again.
            with suppress(sqlite3.Error):
                counted_before.remember(deleted=changed_chapters.deleted if changed_chapters else ())
            with suppress(sqlite3.Error):
                digests.remember(sent, gone)
    # Saved only after the commit: a crash in between just recomputes the same statistics next time.
    # A run that relied on its change set keeps the previous watermark: the chapters written between its extract's
    # snapshot and this transaction are in the next incremental run's change set, not in this one's, so advancing
    # the watermark would hide them from the next xmin scan (a full run, or a day's first run).
    watermark = snapshot_xmin if scan else state["snapshot_xmin"]
    scanned = metrics_date.isoformat() if scan else state["statistics_scanned"]
    _save_state(state_path, {"rollup": redact(url), "snapshot_xmin": watermark, "statistics_scanned": scanned})
    return WriteBackCounts(
        project_metrics=written,
        statistics_chapters=refreshed.chapters,
        statistics_projects=refreshed.projects,
        chapters_counted=refreshed.counted,
    )


def read_changed_chapters(con: duckdb.DuckDBPyConnection) -> ChangedChapters | None:
    """The chapters an incremental run's change set holds (`con`: its working connection); None when every
    chapter may have changed."""
    changed = changes.read(con)
    if "staging.chapters" in changed.everything:
        return None
    if "staging.chapters" not in changed.rows:
        return ChangedChapters(projects=frozenset(), deleted=frozenset())
    rows = con.execute(sql_file("writeback/changed_chapters")).fetchall()
    return ChangedChapters(
        projects=frozenset(project_id for _, project_id, _ in rows),
        deleted=frozenset(chapter_id for chapter_id, _, deleted in rows if deleted),
    )


def metric_rows(warehouse: duckdb.DuckDBPyConnection, snapshot_at: datetime) -> pa.Table:
    """Rows of analytics.project_metrics for the UTC day of `snapshot_at` (METRIC_COLUMNS, project_id as text) and
    each row's `row_digest`, from the published warehouse (the ETL's working file, equal to the publication it just
    made). As Arrow: only the rows sent become Python objects."""
    parameters = {"metrics_date": utc_day(snapshot_at)}
    return warehouse.execute(sql_file("writeback/project_metrics"), parameters).to_arrow_table()


def _rows(metrics: pa.Table) -> list[tuple[Any, ...]]:
    """The rows of `metrics` in METRIC_COLUMNS order, as Python values (only the rows sent become objects)."""
    return list(zip(*(metrics.column(name).to_pylist() for name in METRIC_COLUMNS), strict=True))


def _read_state(state_path: Path) -> dict[str, Any]:
    try:
        state = json.loads(state_path.read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _save_state(state_path: Path, state: dict[str, Any]) -> None:
    """Replace the state file whole (write a sibling, then rename): a crash leaves the old file or the new one."""
    state_path.parent.mkdir(parents=True, exist_ok=True)
    partial = state_path.with_name(state_path.name + ".partial")
    partial.write_text(json.dumps(state, separators=(",", ":")) + "\n")
    os.replace(partial, state_path)


def _watermark(state: dict[str, Any], url: str, snapshot_xmin: int) -> int:
    """The 32-bit xid from which chapters count as written; 0 (all) without a usable watermark for this database.

    A watermark is usable when it was taken on the same database URL, in the same xid epoch, and is not ahead
    of the database (which would mean it was recreated).
    """
    previous = state.get("snapshot_xmin")
    if state.get("rollup") != redact(url) or not isinstance(previous, int):
        return 0
    if previous >> XID_BITS != snapshot_xmin >> XID_BITS or previous > snapshot_xmin:
        return 0
    return previous % (1 << XID_BITS)


def _forget_before_commit(digests: WrittenDigests, cache_path: Path, projects: list[str]) -> None:
    """The digests of the rows about to be written leave the cache before the commit: should the run die after the
    commit and before they are remembered, the cache must not claim an older row the source no longer has (that row
    would never be sent again). A cache that cannot be changed stops the write-back before anything is written."""
    try:
        digests.forget(projects)
    except sqlite3.Error as exc:
        raise UserError(
            f"cannot update the write-back's cache {cache_path}: {first_line(exc)}; free the disk or delete the file "
            "(only a cache), then run again"
        ) from exc


def _copy_rows(conn: psycopg.Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    statement = sql.SQL("copy {table} ({columns}) from stdin").format(
        table=sql.Identifier(table),
        columns=sql.SQL(", ").join(sql.Identifier(column) for column in columns),
    )
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _upsert_project_metrics(conn: psycopg.Connection, rows: list[tuple[Any, ...]]) -> tuple[int, set[str]]:
    """Upsert `rows`: how many were written, and the projects the source no longer has (not written)."""
    if not rows:
        return 0, set()
    conn.execute(sql_file("writeback/project_metrics_incoming"))
    _copy_rows(conn, "project_metrics_incoming", METRIC_COLUMNS, rows)
    skipped = {str(row[0]) for row in conn.execute(sql_file("writeback/project_metrics_deleted_projects"))}
    return conn.execute(sql_file("writeback/project_metrics_upsert")).rowcount, skipped


@dataclass(frozen=True)
class _Refreshed:
    chapters: int  # chapter rows rewritten
    projects: int  # project rows rewritten
    counted: int  # the chapter versions whose text was read and counted (staged in `counted_before`)


def _refresh_statistics(
    conn: psycopg.Connection,
    *,
    since_xid: int,
    changed: ChangedChapters | None,
    scan: bool,
    counted_before: CountedChapters,
) -> _Refreshed:
    """Recompute the statistics of every chapter of the affected projects and of those projects: the projects of
    the `changed` chapters, and with `scan` those the whole-table scans find. Only the chapters whose version was
    not `counted_before` are read and counted."""
    affected: set[UUID] = set()
    if changed is not None and (changed.projects or changed.deleted):
        given = {"chapter_ids": sorted(changed.deleted), "project_ids": sorted(changed.projects)}
        conn.execute(sql_file("writeback/statistics_delete_changed"), given)
        existing = conn.execute(
            sql_file("writeback/statistics_existing_projects"), {"project_ids": given["project_ids"]}
        )
        affected.update(row[0] for row in existing)
    if scan:
        conn.execute(sql_file("writeback/statistics_delete_orphans"))
        found = conn.execute(sql_file("writeback/statistics_affected_projects"), {"since_xid": since_xid})
        affected.update(row[0] for row in found)
    project_ids = sorted(affected)
    known = counted_before.of_projects(project_ids)
    projects: dict[UUID, TextCounts] = {project_id: TextCounts() for project_id in project_ids}
    counted = 0
    conn.execute(sql_file("writeback/statistics_incoming"))
    chapters = 0
    progress = tqdm(desc="content statistics", unit="chapter", file=sys.stderr, disable=None, leave=False)
    # Server-side cursor, batch by batch: chapter text streams through, never all of it in memory at once.
    conn.execute(sql_file("writeback/read_whole_results"))
    with conn.cursor(name="affected_chapters") as cur, progress:
        cur.execute(sql_file("writeback/statistics_chapters"), {"project_ids": project_ids, **known.parameters})
        while batch := cur.fetchmany(CHAPTER_BATCH):
            rows = []
            fresh: list[tuple[ChapterVersion, Counted]] = []
            for chapter_id, project_id, row_xmin, updated_at, counted_earlier, content in batch:
                if counted_earlier:
                    counts = known.counts(chapter_id)
                else:  # from the chapter's last counted version where the text goes on from it
                    counted_now = count_from(content, known.checkpoint(chapter_id))
                    fresh.append(((chapter_id, project_id, row_xmin, updated_at), counted_now))
                    counts = counted_now[0]
                rows.append(_statistics_row(chapter_id, "chapter", counts))
                projects[project_id] += counts
            _copy_rows(conn, "statistics_incoming", STATISTICS_COLUMNS, rows)
            with suppress(sqlite3.Error):  # only a cache: what is not kept is counted again
                counted_before.stage(fresh)
            counted += len(fresh)
            chapters += len(rows)
            progress.update(len(rows))
    project_rows = [_statistics_row(project_id, "project", counts) for project_id, counts in projects.items()]
    _copy_rows(conn, "statistics_incoming", STATISTICS_COLUMNS, project_rows)
    conn.execute(sql_file("writeback/statistics_by_key"))  # the transaction's last statements, these three
    for statement in ("statistics_delete_duplicates", "statistics_update_changed", "statistics_insert_missing"):
        conn.execute(sql_file(f"writeback/{statement}"))
    return _Refreshed(chapters=chapters, projects=len(projects), counted=counted)


def _statistics_row(content_id: UUID, content_type: str, counts: TextCounts) -> tuple[Any, ...]:
    return (
        content_id,
        content_type,
        counts.words,
        counts.characters,
        counts.sentences,
        counts.paragraphs,
        counts.flesch_reading_ease,
        counts.flesch_kincaid_grade,
    )
