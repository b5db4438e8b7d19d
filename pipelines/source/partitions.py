"""Monthly partitions of the two big time-series tables, created ahead of time.

Both tables have a DEFAULT partition (migration 0001), so a row for a month without its own partition is never
refused; creating that month's partition later moves such rows out of DEFAULT in the same transaction.
Months are UTC calendar months.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import psycopg
from psycopg import sql

from pipelines.queries import sql_file
from pipelines.source.migrate import SCHEMA_LOCK_KEY
from pipelines.source.queries import template


@dataclass(frozen=True)
class PartitionedTable:
    schema: str
    table: str
    key: str
    key_is_timestamptz: bool

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}"

    def partition_name(self, month: date) -> str:
        """`user_events_y2024m01`: the naming of the schema document."""
        return f"{self.table}_y{month.year:04d}m{month.month:02d}"

    def bound(self, month: date) -> date | datetime:
        """The month's first instant in the key's type: midnight UTC for timestamptz keys."""
        return datetime(month.year, month.month, 1, tzinfo=UTC) if self.key_is_timestamptz else month

    def identifiers(self) -> dict[str, sql.Composable]:
        return {
            "parent": sql.Identifier(self.schema, self.table),
            "default_partition": sql.Identifier(self.schema, f"{self.table}_default"),
            "key": sql.Identifier(self.key),
            "stash": sql.Identifier(f"{self.table}_moving"),
        }


PARTITIONED_TABLES = (
    PartitionedTable("analytics", "user_events", "timestamp", key_is_timestamptz=True),
    PartitionedTable("billing", "usage_records", "usage_date", key_is_timestamptz=False),
)


def ensure_monthly_partitions(conn: psycopg.Connection, months_ahead: int, start: date | None = None) -> list[str]:
    """Create the missing monthly partitions from `start` through the current UTC month + `months_ahead`.

    `start` defaults to the earliest month with rows waiting in a DEFAULT partition, else the current month.
    Returns the qualified names of the partitions created, in order.
    """
    this_month = _month_of(datetime.now(UTC).date())
    created = []
    for table in PARTITIONED_TABLES:
        with conn.transaction():
            conn.execute(sql_file("source/session_utc"))
            waiting = _months_waiting_in_default(conn, table)
        first = _month_of(start) if start else (waiting[0] if waiting else this_month)
        for month in _months(first, _add_months(this_month, months_ahead)):
            if _create_partition(conn, table, month):
                created.append(f"{table.schema}.{table.partition_name(month)}")
    return created


def _create_partition(conn: psycopg.Connection, table: PartitionedTable, month: date) -> bool:
    """Create one month's partition unless it exists, moving that month's rows out of DEFAULT; True if created.

    The rows are looked for under the lock on DEFAULT, not before it, so none written meanwhile is missed.
    """
    names = table.identifiers()
    lower, upper = table.bound(month), table.bound(_add_months(month, 1))
    with conn.transaction():
        conn.execute(sql_file("source/advisory_xact_lock"), {"lock_key": SCHEMA_LOCK_KEY})
        existing = {row[0] for row in conn.execute(sql_file("source/partitions_existing"), {"parent": table.qualified})}
        if table.partition_name(month) in existing:
            return False
        conn.execute(template("partitions_lock_default", **names))
        conn.execute(template("partitions_stash_create", **names))
        conn.execute(template("partitions_stash_rows", **names), {"lower": lower, "upper": upper})
        partition = sql.Identifier(table.schema, table.partition_name(month))
        conn.execute(
            template(
                "partitions_create", **names, partition=partition, lower=sql.Literal(lower), upper=sql.Literal(upper)
            )
        )
        conn.execute(template("partitions_restore_rows", **names))
        conn.execute(template("partitions_stash_drop", **names))
    return True


def _months_waiting_in_default(conn: psycopg.Connection, table: PartitionedTable) -> list[date]:
    return [row[0] for row in conn.execute(template("partitions_default_months", **table.identifiers()))]


def _month_of(day: date) -> date:
    return day.replace(day=1)


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def _months(first: date, last: date) -> list[date]:
    months = []
    month = first
    while month <= last:
        months.append(month)
        month = _add_months(month, 1)
    return months
