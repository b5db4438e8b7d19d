"""The naive peer: what an analyst would write — pandas.read_sql per table, then each frame into a DuckDB file.

When the whole copy would take longer than the time box, or the biggest table's frame would not fit the memory
box (pandas holds a whole table, at several times its size in PostgreSQL, and this machine is shared), the same
share of every table is read (LIMIT) and the time extrapolated; `share` records how much was really read.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import sqlalchemy

from pipelines.bench.tables import around_select
from pipelines.extract.tables import SourceTable

TIME_BOX_S = 600.0
MEMORY_BOX_BYTES = 4 * 2**30
# read_sql's peak over the finished frame's deep size: rows as SQLAlchemy tuples, then the frame built from them
# (a 200,000-row probe of user_events peaked at ~1 KB per row for a 212-byte-per-row frame).
READ_PEAK_FACTOR = 5
SHARES = (0.5, 0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.0025, 0.001)
PROBE_ROWS = 20_000  # enough rows for a stable rows/s figure, few enough to cost a second or two


@dataclass(frozen=True)
class NaiveResult:
    seconds: float  # extrapolated to every row
    measured_seconds: float
    share: float  # fraction of each table actually read


def _engine(url: str) -> sqlalchemy.Engine:
    return sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def _read(engine: sqlalchemy.Engine, table: SourceTable, row_limit: int | None) -> pd.DataFrame:
    query = sqlalchemy.text(around_select("naive_select", table))
    return pd.read_sql(query, engine, params={"row_limit": row_limit})


def choose_share(projected_s: float, peak_bytes: float) -> float:
    """1.0 when the whole copy fits both boxes; else the largest share that takes at most half the time box and
    whose biggest table fits the memory box while read."""
    if projected_s <= TIME_BOX_S and peak_bytes <= MEMORY_BOX_BYTES:
        return 1.0
    fits = (
        share for share in SHARES if projected_s * share <= TIME_BOX_S / 2 and peak_bytes * share <= MEMORY_BOX_BYTES
    )
    return next(fits, SHARES[-1])


def naive_extract(url: str, tables: list[SourceTable], rows: dict[str, int], duckdb_path: Path) -> NaiveResult:
    engine = _engine(url)
    try:
        biggest = max(tables, key=lambda table: rows[table.name])
        started = time.perf_counter()
        probe = _read(engine, biggest, PROBE_ROWS)
        rows_per_s = max(len(probe), 1) / (time.perf_counter() - started)
        bytes_per_row = probe.memory_usage(deep=True).sum() / max(len(probe), 1)
        peak_bytes = rows[biggest.name] * bytes_per_row * READ_PEAK_FACTOR
        share = choose_share(sum(rows.values()) / rows_per_s, peak_bytes)

        duckdb_path.unlink(missing_ok=True)
        started = time.perf_counter()
        with duckdb.connect(str(duckdb_path)) as duck:
            for table in tables:
                row_limit = None if share == 1.0 else math.ceil(rows[table.name] * share)
                duck.from_df(_read(engine, table, row_limit)).create(table.name)
        measured = time.perf_counter() - started
    finally:
        engine.dispose()
        duckdb_path.unlink(missing_ok=True)
    return NaiveResult(seconds=measured / share, measured_seconds=measured, share=share)
