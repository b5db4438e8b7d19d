"""A table's fingerprint: its row count and the sum of its rows' hashes (`queries/checks/fingerprint.sql`).

Equal fingerprints mean the same rows, whatever their order. The check step keeps the result of a check whose
tables' fingerprints did not change since it ran, and the publish step leaves a table whose fingerprint did not
change since it was published unread in the lake: both read them locally, one scan of each table. Being sums,
they also follow a change set: the fingerprint as published, less its old versions, plus its new ones
(`after_change_set`), is the table's now when the change set is the whole difference (`change_set_adds_up`).
"""

from __future__ import annotations

import duckdb

from pipelines.queries import one_row, sql_file
from pipelines.transform.changes import fingerprint_change

Fingerprint = tuple[int, int]  # rows, and the sum of the rows' hashes


def fingerprint(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> Fingerprint:
    row = one_row(con.execute(sql_file("checks/fingerprint"), {"table": f'"{schema}"."{table}"'}))
    return int(row[0]), int(row[1])


def row_count(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> int:
    """The table's rows, as its fingerprint counts them (DuckDB answers from its storage, without a scan)."""
    return int(one_row(con.execute(f'select count(*) from "{schema}"."{table}"'))[0])


def after_change_set(con: duckdb.DuckDBPyConnection, changes: str, published: Fingerprint) -> Fingerprint:
    """The fingerprint of the table as `published`, less the change set's old versions, plus its new ones
    (`changes`: the change set's temp table, as `pipelines.transform.changes` names it): one read of the changed
    rows, not of the table."""
    old_rows, new_rows, hash_change = fingerprint_change(con, changes)
    return published[0] - old_rows + new_rows, published[1] + hash_change


def change_set_adds_up(con: duckdb.DuckDBPyConnection, changes: str, published: Fingerprint, now: Fingerprint) -> bool:
    """Whether the table as `published`, changed by the change set, is the table as it is `now`. Fingerprints are
    sums, so this holds exactly when the change set is the whole difference: a table changed otherwise (held back,
    restored) does not add up."""
    return after_change_set(con, changes, published) == now
