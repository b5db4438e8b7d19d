"""The text counts of the chapter versions the write-back has counted, kept beside its state file, so a project with
one chapter edited reads that chapter's text and not its siblings'.

A project's readability adds up its chapters' syllables, which `content.content_statistics` has no column for, so
without these counts every chapter of a touched project would be read and counted again. A version is a chapter row
as it stands: its id, 32-bit `xmin` (a new one at every update of the row) and `updated_at`, read in the same
snapshot as its text. The counts are a function of that text, so a kept entry is right whatever happens to the
write-back's transaction; an entry that does not match (another version, or a version never seen) is counted again,
from the entry's checkpoint (`readability.Checkpoint`) when the new text begins as the old one did: only what was
written since is read. The file and its life: `writeback_cache`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pipelines.publish.readability import Checkpoint, TextCounts

# (chapter id, project id, xmin, updated_at): a chapter version as `writeback/statistics_chapters` reads it.
ChapterVersion = tuple[UUID, UUID, int, datetime | None]
Counted = tuple[TextCounts, Checkpoint | None]  # a version's counts, and its text's checkpoint

_COUNTS = ("words", "characters", "sentences", "paragraphs", "syllables")
_CHECKPOINT = ("cut_length", "cut_digest", *(f"cut_{name}" for name in _COUNTS))
TABLE = "chapter_counts"
SCHEMA = (
    """create table if not exists chapter_counts (
        chapter_id text primary key, project_id text not null, xmin integer not null, updated_at text,
        words integer not null, characters integer not null, sentences integer not null,
        paragraphs integer not null, syllables integer not null,
        cut_length integer, cut_digest blob, cut_words integer, cut_characters integer, cut_sentences integer,
        cut_paragraphs integer, cut_syllables integer
    )""",
    # a touched project's chapters are looked up by project (`of_projects`), not found by scanning them all
    "create index if not exists chapter_counts_by_project on chapter_counts (project_id)",
)


@dataclass(frozen=True)
class Known:
    """The versions counted of some projects' chapters (as `writeback/statistics_chapters` takes them) and their
    counts, made into objects only for the chapters asked about (tens of thousands are kept, a few read)."""

    parameters: dict[str, list[object]]
    rows: dict[str, tuple[Any, ...]]  # chapter id -> its `chapter_counts` row

    def counts(self, chapter_id: UUID) -> TextCounts:
        return TextCounts(*self.rows[str(chapter_id)][3:8])

    def checkpoint(self, chapter_id: UUID) -> Checkpoint | None:
        """The checkpoint of the chapter's version counted, for its next version; None without one."""
        row = self.rows.get(str(chapter_id))
        if row is None or row[8] is None:
            return None
        return Checkpoint(row[8], row[9], TextCounts(*row[10:15]))


def upgrade(con: sqlite3.Connection) -> None:
    """Drop the counts of a file from before checkpoints: only a cache, so they are counted again."""
    columns = {row[1] for row in con.execute("pragma table_info(chapter_counts)")}
    if columns and not columns.issuperset(_CHECKPOINT):
        con.execute("drop table chapter_counts")


# The versions counted by the write-back under way, until its commit: in SQLite's temp store, not in the process (the
# first fill at `large` counts 580,879 chapters: ~600 MB as Python objects, the ETL's peak memory).
_STAGED = "counted_since_commit"


class CountedChapters:
    """The counts kept in the write-back's cache (`writeback_cache.open_cache`)."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self._con = con
        self._staging = False

    def of_projects(self, project_ids: Iterable[UUID]) -> Known:
        """The versions counted of the chapters last seen in `project_ids` (a chapter moved since is counted
        again)."""
        with closing(self._con.cursor()) as cursor:
            cursor.execute("create temp table if not exists projects (project_id text primary key)")
            cursor.execute("delete from projects")
            cursor.executemany("insert into projects values (?)", ((str(project),) for project in project_ids))
            rows = cursor.execute(
                # (projects first: SQLite keeps the order of a cross join, so the index finds each one's chapters)
                f"""select chapter_id, xmin, updated_at, {", ".join(_COUNTS)}, {", ".join(_CHECKPOINT)}
                   from projects cross join chapter_counts on chapter_counts.project_id = projects.project_id"""
            ).fetchall()
        return Known(
            parameters={
                "known_ids": [chapter_id for chapter_id, *_ in rows],
                "known_xmins": [xmin for _, xmin, *_ in rows],
                "known_updated_at": [updated_at for _, _, updated_at, *_ in rows],
            },
            rows={row[0]: row for row in rows},
        )

    def stage(self, counted: Iterable[tuple[ChapterVersion, Counted]]) -> None:
        """Versions just counted, set aside until `remember` keeps them (after the write-back's commit)."""
        with closing(self._con.cursor()) as cursor:
            if not self._staging:
                cursor.execute(f"create temp table if not exists {_STAGED} as select * from chapter_counts where false")
                cursor.execute(f"delete from temp.{_STAGED}")
                self._staging = True
            rows = (_row(version, counts) for version, counts in counted)
            cursor.executemany(f"insert into temp.{_STAGED} values ({', '.join('?' * 16)})", rows)

    def remember(self, deleted: Iterable[UUID]) -> None:
        """Keep the counts of the versions staged (each replacing its chapter's older one); forget `deleted`."""
        with closing(self._con.cursor()) as cursor:
            cursor.execute("begin")
            cursor.executemany("delete from chapter_counts where chapter_id = ?", ((str(c),) for c in deleted))
            if self._staging:
                cursor.execute(f"insert or replace into chapter_counts select * from temp.{_STAGED}")
            cursor.execute("commit")
            if self._staging:
                cursor.execute(f"drop table temp.{_STAGED}")
                self._staging = False


def _row(version: ChapterVersion, counted: Counted) -> tuple[object, ...]:
    """A `chapter_counts` row."""
    chapter_id, project_id, xmin, updated_at = version
    counts, checkpoint = counted
    cut: tuple[object, ...] = (None,) * len(_CHECKPOINT)
    if checkpoint is not None:
        cut = (checkpoint.length, checkpoint.digest, *_values(checkpoint.counts))
    updated = None if updated_at is None else updated_at.isoformat()
    return (str(chapter_id), str(project_id), xmin, updated, *_values(counts), *cut)


def _values(counts: TextCounts) -> tuple[int, ...]:
    return tuple(getattr(counts, name) for name in _COUNTS)
