"""The text counts of the chapter versions the write-back has counted, kept beside its state file, so a project with
one chapter edited reads that chapter's text and not its siblings'.

A project's readability adds up its chapters' syllables, which `content.content_statistics` has no column for, so
without these counts every chapter of a touched project would be read and counted again. A version is a chapter row
as it stands: its id, 32-bit `xmin` (a new one at every update of the row) and `updated_at`, read in the same
snapshot as its text. The counts are a function of that text, so a kept entry is right whatever happens to the
write-back's transaction; an entry that does not match (another version, or a version never seen) is counted again,
from the entry's checkpoint (`readability.Checkpoint`) when the new text begins as the old one did: only what was
written since is read.
The file belongs to one rollup database (xids mean nothing elsewhere): opened for another, or with `forget` (the
write-back found no usable watermark: the database may have been recreated), it starts empty.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from pipelines.publish.readability import Checkpoint, TextCounts

# (chapter id, project id, xmin, updated_at): a chapter version as `writeback/statistics_chapters` reads it.
ChapterVersion = tuple[UUID, UUID, int, datetime | None]
Counted = tuple[TextCounts, Checkpoint | None]  # a version's counts, and its text's checkpoint

_COUNTS = ("words", "characters", "sentences", "paragraphs", "syllables")
_CHECKPOINT = ("cut_length", "cut_digest", *(f"cut_{name}" for name in _COUNTS))
_SCHEMA = (
    "create table if not exists rollup (database text not null)",
    """create table if not exists chapter_counts (
        chapter_id text primary key, project_id text not null, xmin integer not null, updated_at text,
        words integer not null, characters integer not null, sentences integer not null,
        paragraphs integer not null, syllables integer not null,
        cut_length integer, cut_digest blob, cut_words integer, cut_characters integer, cut_sentences integer,
        cut_paragraphs integer, cut_syllables integer
    )""",
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


class CountedChapters:
    """The counts kept for one rollup database in the SQLite file at `path` (created when missing)."""

    def __init__(self, path: Path, database: str, *, forget: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = self._open(path)
        except sqlite3.DatabaseError:  # not a database (a damaged file): only a cache, so it starts over
            path.unlink()
            self._con = self._open(path)
        with closing(self._con.cursor()) as cursor:
            stored = cursor.execute("select database from rollup").fetchone()
            if forget or stored is None or stored[0] != database:
                cursor.execute("begin")
                cursor.execute("delete from chapter_counts")
                cursor.execute("delete from rollup")
                cursor.execute("insert into rollup values (?)", (database,))
                cursor.execute("commit")

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        con = sqlite3.connect(path, isolation_level=None)  # explicit transactions: `remember` is one
        try:
            columns = {row[1] for row in con.execute("pragma table_info(chapter_counts)")}
            if columns and not columns.issuperset(_CHECKPOINT):  # a file from before checkpoints: only a cache
                con.execute("drop table chapter_counts")
            for statement in _SCHEMA:
                con.execute(statement)
        except sqlite3.DatabaseError:
            con.close()
            raise
        return con

    def of_projects(self, project_ids: Iterable[UUID]) -> Known:
        """The versions counted of the chapters last seen in `project_ids` (a chapter moved since is counted
        again)."""
        with closing(self._con.cursor()) as cursor:
            cursor.execute("create temp table if not exists projects (project_id text primary key)")
            cursor.execute("delete from projects")
            cursor.executemany("insert into projects values (?)", ((str(project),) for project in project_ids))
            rows = cursor.execute(
                f"""select chapter_id, xmin, updated_at, {", ".join(_COUNTS)}, {", ".join(_CHECKPOINT)}
                   from chapter_counts join projects using (project_id)"""
            ).fetchall()
        return Known(
            parameters={
                "known_ids": [chapter_id for chapter_id, *_ in rows],
                "known_xmins": [xmin for _, xmin, *_ in rows],
                "known_updated_at": [updated_at for _, _, updated_at, *_ in rows],
            },
            rows={row[0]: row for row in rows},
        )

    def remember(self, counted: dict[ChapterVersion, Counted], deleted: Iterable[UUID]) -> None:
        """Keep the counts of newly counted versions (each replacing its chapter's older one); forget `deleted`."""
        with closing(self._con.cursor()) as cursor:
            cursor.execute("begin")
            cursor.executemany("delete from chapter_counts where chapter_id = ?", ((str(c),) for c in deleted))
            cursor.executemany(
                f"insert or replace into chapter_counts values ({', '.join('?' * 16)})",
                (_row(version, counts) for version, counts in counted.items()),
            )
            cursor.execute("commit")

    def close(self) -> None:
        self._con.close()


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
