"""The text counts of the chapter versions the write-back has counted, kept beside its state file, so a project with
one chapter edited reads that chapter's text and not its siblings'.

A project's readability adds up its chapters' syllables, which `content.content_statistics` has no column for, so
without these counts every chapter of a touched project would be read and counted again. A version is a chapter row
as it stands: its id, 32-bit `xmin` (a new one at every update of the row) and `updated_at`, read in the same
snapshot as its text. The counts are a function of that text, so a kept entry is right whatever happens to the
write-back's transaction; an entry that does not match (another version, or a version never seen) is counted again.
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
from uuid import UUID

from pipelines.publish.readability import TextCounts

# (chapter id, project id, xmin, updated_at): a chapter version as `writeback/statistics_chapters` reads it.
ChapterVersion = tuple[UUID, UUID, int, datetime | None]

_SCHEMA = (
    "create table if not exists rollup (database text not null)",
    """create table if not exists chapter_counts (
        chapter_id text primary key, project_id text not null, xmin integer not null, updated_at text,
        words integer not null, characters integer not null, sentences integer not null,
        paragraphs integer not null, syllables integer not null
    )""",
)


@dataclass(frozen=True)
class Known:
    """The versions counted of some projects' chapters (as `writeback/statistics_chapters` takes them) and their
    counts."""

    parameters: dict[str, list[object]]
    counts: dict[UUID, TextCounts]


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
                """select chapter_id, xmin, updated_at, words, characters, sentences, paragraphs, syllables
                   from chapter_counts join projects using (project_id)"""
            ).fetchall()
        return Known(
            parameters={
                "known_ids": [chapter_id for chapter_id, *_ in rows],
                "known_xmins": [xmin for _, xmin, *_ in rows],
                "known_updated_at": [updated_at for _, _, updated_at, *_ in rows],
            },
            counts={UUID(chapter_id): TextCounts(*counts) for chapter_id, _, _, *counts in rows},
        )

    def remember(self, counted: dict[ChapterVersion, TextCounts], deleted: Iterable[UUID]) -> None:
        """Keep the counts of newly counted versions (each replacing its chapter's older one); forget `deleted`."""
        with closing(self._con.cursor()) as cursor:
            cursor.execute("begin")
            cursor.executemany("delete from chapter_counts where chapter_id = ?", ((str(c),) for c in deleted))
            cursor.executemany(
                "insert or replace into chapter_counts values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (_row(version, counts) for version, counts in counted.items()),
            )
            cursor.execute("commit")

    def close(self) -> None:
        self._con.close()


def _row(version: ChapterVersion, counts: TextCounts) -> tuple[object, ...]:
    """A `chapter_counts` row."""
    chapter_id, project_id, xmin, updated_at = version
    return (
        str(chapter_id),
        str(project_id),
        xmin,
        None if updated_at is None else updated_at.isoformat(),
        counts.words,
        counts.characters,
        counts.sentences,
        counts.paragraphs,
        counts.syllables,
    )
