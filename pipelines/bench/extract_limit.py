"""The physical floor of extraction: PostgreSQL streaming the staged columns as binary COPY, bytes discarded."""

from __future__ import annotations

import time

from pipelines.bench.tables import around_select
from pipelines.connections import connect
from pipelines.extract.tables import SourceTable
from pipelines.queries import one_row


def count_rows(url: str, tables: list[SourceTable]) -> dict[str, int]:
    """Rows per staged table. Run first: it also warms the caches, so no timed reader pays for a cold disk."""
    with connect(url) as conn:
        return {table.name: one_row(conn.execute(table.count_rows()))[0] for table in tables}


def copy_limit_seconds(url: str, tables: list[SourceTable]) -> dict[str, float]:
    """Seconds per table to receive every staged row; nothing is parsed or kept, so nothing can be faster."""
    seconds: dict[str, float] = {}
    with connect(url) as conn:
        for table in tables:
            started = time.perf_counter()
            with conn.cursor().copy(around_select("copy_binary", table)) as copy:
                for _block in copy:
                    pass
            seconds[table.name] = time.perf_counter() - started
    return seconds
