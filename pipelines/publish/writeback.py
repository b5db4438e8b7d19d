"""Write-back: the published warehouse's rollups into the operational database, in one transaction.

- `analytics.project_metrics`: one row per project for the run's UTC snapshot date, computed in DuckDB from the
  warehouse, COPY'd into a temp table and upserted `on conflict (project_id, metrics_date)`.
- `content.content_statistics`: per chapter and per project, computed near the data from the chapters' text; only
  projects with a chapter written since the last write-back (an xmin watermark kept in the data folder) or whose
  rows no longer add up are recomputed.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb
import psycopg
from psycopg import sql
from tqdm import tqdm

from pipelines.connections import connect, redact
from pipelines.publish.readability import TextCounts, count_text
from pipelines.queries import one_row, sql_file
from pipelines.run import hooks

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
class WriteBackCounts:
    project_metrics: int  # rows upserted into analytics.project_metrics
    statistics_chapters: int  # chapter rows of content.content_statistics rewritten
    statistics_projects: int  # project rows rewritten


def write_back(
    warehouse: duckdb.DuckDBPyConnection,
    url: str,
    *,
    snapshot_at: datetime,
    state_path: Path,
    project_metrics: bool = True,
) -> WriteBackCounts:
    """Upsert the day's project metrics and refresh stale content statistics, all in one transaction.

    `warehouse`: the published warehouse; the ETL passes its working file, which equals the publication it just
    made (opening the publication again would load the lake's extensions and read through its catalog).
    `project_metrics` False: a failed check held them back (docs/quality.md, "The gate"); the source keeps the
    rows it has. The content statistics are computed from the source's own text, so they are always refreshed.
    """
    metrics = metric_rows(warehouse, snapshot_at.astimezone(UTC).date()) if project_metrics else []
    with connect(url, what="rollup database") as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        snapshot_xmin = one_row(conn.execute(sql_file("writeback/snapshot_xmin")))[0]
        since_xid = _watermark(state_path, url, snapshot_xmin)
        upserted = _upsert_project_metrics(conn, metrics) if project_metrics else 0
        hooks.reached("writeback")  # upserts done, not yet committed
        chapters, projects = _refresh_statistics(conn, since_xid=since_xid)
        conn.commit()
    # Saved only after the commit: a crash in between just recomputes the same rows next time.
    state_path.parent.mkdir(parents=True, exist_ok=True)
    state_path.write_text(json.dumps({"rollup": redact(url), "snapshot_xmin": snapshot_xmin}) + "\n")
    return WriteBackCounts(project_metrics=upserted, statistics_chapters=chapters, statistics_projects=projects)


def metric_rows(warehouse: duckdb.DuckDBPyConnection, metrics_date: date) -> list[tuple[Any, ...]]:
    """Rows of analytics.project_metrics for `metrics_date`, in METRIC_COLUMNS order, from the published warehouse."""
    return warehouse.execute(sql_file("writeback/project_metrics"), {"metrics_date": metrics_date}).fetchall()


def _watermark(state_path: Path, url: str, snapshot_xmin: int) -> int:
    """The 32-bit xid from which chapters count as written; 0 (all) without a usable watermark for this database.

    A watermark is usable when it was taken on the same database URL, in the same xid epoch, and is not ahead
    of the database (which would mean it was recreated).
    """
    try:
        state = json.loads(state_path.read_text())
    except (OSError, ValueError):
        return 0
    previous = state.get("snapshot_xmin")
    same_epoch = isinstance(previous, int) and previous >> XID_BITS == snapshot_xmin >> XID_BITS
    if state.get("rollup") != redact(url) or not same_epoch or previous > snapshot_xmin:
        return 0
    return int(previous) % (1 << XID_BITS)


def _copy_rows(conn: psycopg.Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    statement = sql.SQL("copy {table} ({columns}) from stdin").format(
        table=sql.Identifier(table),
        columns=sql.SQL(", ").join(sql.Identifier(column) for column in columns),
    )
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _upsert_project_metrics(conn: psycopg.Connection, rows: list[tuple[Any, ...]]) -> int:
    conn.execute(sql_file("writeback/project_metrics_incoming"))
    _copy_rows(conn, "project_metrics_incoming", METRIC_COLUMNS, rows)
    return conn.execute(sql_file("writeback/project_metrics_upsert")).rowcount


def _refresh_statistics(conn: psycopg.Connection, *, since_xid: int) -> tuple[int, int]:
    """Recompute the statistics of every chapter of the affected projects and of those projects."""
    conn.execute(sql_file("writeback/statistics_delete_orphans"))
    project_ids = [
        row[0] for row in conn.execute(sql_file("writeback/statistics_affected_projects"), {"since_xid": since_xid})
    ]
    projects: dict[UUID, TextCounts] = {project_id: TextCounts() for project_id in project_ids}
    conn.execute(sql_file("writeback/statistics_incoming"))
    chapters = 0
    progress = tqdm(desc="content statistics", unit="chapter", file=sys.stderr, disable=None, leave=False)
    # Server-side cursor, batch by batch: chapter text streams through, never all of it in memory at once.
    with conn.cursor(name="affected_chapters") as cur, progress:
        cur.execute(sql_file("writeback/statistics_chapters"), {"project_ids": project_ids})
        while batch := cur.fetchmany(CHAPTER_BATCH):
            rows = []
            for chapter_id, project_id, content in batch:
                counts = count_text(content)
                rows.append(_statistics_row(chapter_id, "chapter", counts))
                projects[project_id] += counts
            _copy_rows(conn, "statistics_incoming", STATISTICS_COLUMNS, rows)
            chapters += len(rows)
            progress.update(len(rows))
    project_rows = [_statistics_row(project_id, "project", counts) for project_id, counts in projects.items()]
    _copy_rows(conn, "statistics_incoming", STATISTICS_COLUMNS, project_rows)
    conn.execute(sql_file("writeback/statistics_replace_delete"))
    conn.execute(sql_file("writeback/statistics_replace_insert"))
    return chapters, len(projects)


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
