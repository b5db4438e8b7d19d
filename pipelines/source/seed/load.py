"""COPY of generated Arrow tables into the source, with one progress bar on stderr for the whole load."""

from __future__ import annotations

import io
import sys

import psycopg
import pyarrow as pa
import pyarrow.csv as csv
from psycopg import sql
from tqdm import tqdm

from pipelines.queries import sql_file

_CSV = csv.WriteOptions(include_header=False, batch_size=50_000)
_BLOCK_ROWS = 100_000  # rows per CSV block handed to COPY: bounded memory, steady progress


class Loader:
    """Loads tables in the order given (parents before children: foreign keys stay enforced) and counts rows."""

    def __init__(self, conn: psycopg.Connection, total: int | None = None) -> None:
        self.conn = conn
        self.counts: dict[str, int] = {}
        self._bar = tqdm(total=total, unit=" rows", unit_scale=True, file=sys.stderr, disable=None, leave=False)

    def copy(self, table: str, data: pa.Table) -> None:
        """COPY `data` (columns named as in the table) into `schema.table`."""
        schema, name = table.split(".")
        statement = sql.SQL(sql_file("source/seed_copy")).format(
            table=sql.Identifier(schema, name),
            columns=sql.SQL(", ").join(sql.Identifier(column) for column in data.column_names),
        )
        self._bar.set_description(table)
        with self.conn.cursor() as cursor, cursor.copy(statement) as copy:
            for batch in data.to_batches(max_chunksize=_BLOCK_ROWS):
                buffer = io.BytesIO()
                csv.write_csv(batch, buffer, _CSV)
                copy.write(buffer.getbuffer())
                self._bar.update(batch.num_rows)
        self.counts[table] = self.counts.get(table, 0) + data.num_rows

    def close(self) -> None:
        self._bar.close()
