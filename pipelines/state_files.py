"""The small SQLite files beside the run history that keep state across runs and rebuilds (alert episodes, month
closes, deliveries): one way to open them for writing, one way to read them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipelines.queries import sql_file


@contextmanager
def writing(path: Path, create: str) -> Iterator[sqlite3.Connection]:
    """`path` for writing, its tables made by `queries/<create>.sql` if missing; committed when the block ends
    without error, rolled back otherwise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        conn.executescript(sql_file(create))
        yield conn
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


def read_rows(path: Path, query: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The rows of `queries/<query>.sql` on `path`, opened read-only; none while the file does not exist."""
    if not path.is_file():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(sql_file(query), parameters or {})]
    finally:
        conn.close()
