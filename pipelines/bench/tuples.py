"""What a run costs the source: tuples PostgreSQL read from the extracted tables (`pg_stat_user_tables`)."""

from __future__ import annotations

import time

from pipelines.connections import connect
from pipelines.errors import UserError
from pipelines.queries import one_row, sql_file

QUIET_TIMEOUT_S = 30


def tuples_read(url: str, tables: list[str]) -> dict[str, int]:
    """seq_tup_read + idx_tup_fetch so far per table (schema.table, partitions included).

    A session's counters reach the view when it ends, so call `wait_until_quiet` first.
    """
    with connect(url) as conn:
        rows = conn.execute(sql_file("bench/tuples_read"), {"tables": tables}).fetchall()
    return {name: int(count) for name, count in rows}


def wait_until_quiet(url: str) -> None:
    """Wait until no other session is connected to the database: every backend flushes its statistics on exit."""
    deadline = time.monotonic() + QUIET_TIMEOUT_S
    with connect(url, autocommit=True) as conn:
        while one_row(conn.execute(sql_file("bench/other_sessions")))[0]:
            if time.monotonic() > deadline:
                raise UserError("bench: other sessions stay connected to the source; measure on a quiet database")
            time.sleep(0.1)
