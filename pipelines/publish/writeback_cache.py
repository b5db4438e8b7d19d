"""The write-back's cache beside its state file (`writeback_state.sqlite`): the text counts of the chapter versions
it counted (`counted_chapters`) and the digest of each project metrics row it wrote (`written_digests`).

Both describe one rollup database (xids and rows mean nothing elsewhere): opened for another, or with `forget` (the
write-back found no usable watermark: the database may have been recreated), the file starts empty. Only a cache: a
damaged file starts over too; what is missing is counted or sent again.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from pipelines.publish import counted_chapters, written_digests

_ROLLUP = "create table if not exists rollup (database text not null)"
_KEPT = (counted_chapters.TABLE, written_digests.TABLE)


def open_cache(path: Path, database: str, *, forget: bool = False) -> sqlite3.Connection:
    """The cache file at `path` (created when missing) for the rollup `database`, in autocommit mode: each class
    over it makes its own transactions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = _open(path)
    except sqlite3.DatabaseError:  # not a database (a damaged file): only a cache, so it starts over
        path.unlink()
        con = _open(path)
    with closing(con.cursor()) as cursor:
        stored = cursor.execute("select database from rollup").fetchone()
        if forget or stored is None or stored[0] != database:
            cursor.execute("begin")
            for table in _KEPT:
                cursor.execute(f"delete from {table}")
            cursor.execute("delete from rollup")
            cursor.execute("insert into rollup values (?)", (database,))
            cursor.execute("commit")
    return con


def _open(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None)  # explicit transactions
    try:
        counted_chapters.upgrade(con)
        for statement in (_ROLLUP, *counted_chapters.SCHEMA, *written_digests.SCHEMA):
            con.execute(statement)
    except sqlite3.DatabaseError:
        con.close()
        raise
    return con
