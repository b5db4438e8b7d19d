"""What a run costs the source: tuples PostgreSQL read from the extracted tables (`pg_stat_user_tables`)."""

from __future__ import annotations

from pipelines.queries import sql_file
from pipelines.source.connection import connect


def tuples_read(url: str, tables: list[str]) -> int:
    """seq_tup_read + idx_tup_fetch so far over `tables` (schema.table, partitions included).

    The counters of a session reach the view when it ends (or idles a while), so measure after the run's process
    and its connections are gone.
    """
    with connect(url) as conn:
        return int(conn.execute(sql_file("bench/tuples_read"), {"tables": tables}).fetchone()[0])
