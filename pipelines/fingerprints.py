"""A table's fingerprint: its row count and the sum of its rows' hashes (`queries/checks/fingerprint.sql`).

Equal fingerprints mean the same rows, whatever their order. The check step keeps the result of a check whose
tables' fingerprints did not change since it ran, and the publish step leaves a table whose fingerprint did not
change since it was published unread in the lake: both read them locally, one scan of each table.
"""

from __future__ import annotations

import duckdb

from pipelines.queries import one_row, sql_file

Fingerprint = tuple[int, int]  # rows, and the sum of the rows' hashes


def fingerprint(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> Fingerprint:
    row = one_row(con.execute(sql_file("checks/fingerprint"), {"table": f'"{schema}"."{table}"'}))
    return int(row[0]), int(row[1])
