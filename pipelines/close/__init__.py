"""Month close: freeze a month's revenue-share statements, so that later changes to their amounts show as restatements.

`close_month` copies the published statements of one complete revenue-period month, with who closed it, when and
from which publication, into `closes.sqlite` beside the run history (like the alert state): a file of its own, so
`etl run --full --rebuild` never loses a close, and SQLite, so the dashboards' "Close month" button and a running ETL
can use it at once. Every run copies the frozen rows into the warehouse (`meta.closed_statements`, `load_into`); the
mart `revenue_share_restatements` compares them with the statements as published then, and its warn-level check
fails while any amount differs. Each close is recorded in the audit log. The command line and the dashboards call
the same function.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipelines import audit, warehouse
from pipelines.config import paths
from pipelines.errors import UserError
from pipelines.export.revenue_share import MONEY_COLUMNS, next_month, period_complete, publication
from pipelines.queries import registered, sql_file
from pipelines.state_files import read_rows, writing

CLOSES_FILE = "closes.sqlite"
AUDIT_ACTION = "close month"
# What the warehouse copy is built from (queries/closes/frozen.sql), in its column order.
FROZEN_COLUMNS = (
    "period_month",
    "revenue_share_id",
    "author_id",
    "project_id",
    "project_title",
    "period_start",
    "period_end",
    "book_sales",
    "commission_rate",
    "platform_revenue",
    "author_revenue",
    "payout_status",
    "payout_date",
    "closed_at",
    "closed_run_id",
)


@dataclass(frozen=True)
class MonthClose:
    """One closed month: who closed it, when, from which publication, and the frozen totals."""

    month: date
    closed_at: datetime
    closed_by: str
    role: str
    run_id: str
    snapshot_at: datetime
    statements: int
    book_sales: Decimal
    platform_revenue: Decimal
    author_revenue: Decimal

    @property
    def counted(self) -> str:
        """ "1 statement", "3 statements"."""
        return f"{self.statements} statement{'' if self.statements == 1 else 's'}"


def closes_path() -> Path:
    return paths().warehouse_dir / CLOSES_FILE


def _open(path: Path) -> AbstractContextManager[sqlite3.Connection]:
    """The closes file for writing, created if missing; committed when the block ends without error."""
    return writing(path, "closes/create")


def _read(path: Path, query: str) -> list[dict[str, Any]]:
    """The rows of `queries/closes/<query>.sql`, read-only; none when nothing was ever closed."""
    return read_rows(path, f"closes/{query}")


def _month_close(row: dict[str, Any]) -> MonthClose:
    return MonthClose(
        month=date.fromisoformat(row["period_month"]),
        closed_at=datetime.fromisoformat(row["closed_at"]),
        closed_by=row["closed_by"],
        role=row["role"],
        run_id=row["run_id"],
        snapshot_at=datetime.fromisoformat(row["snapshot_at"]),
        statements=int(row["statements"]),
        book_sales=Decimal(row["book_sales"]),
        platform_revenue=Decimal(row["platform_revenue"]),
        author_revenue=Decimal(row["author_revenue"]),
    )


def closes(path: Path | None = None) -> list[MonthClose]:
    """Every closed month, newest month first."""
    return [_month_close(row) for row in _read(path or closes_path(), "closes")]


def month_close(month: date, path: Path | None = None) -> MonthClose | None:
    """The close of `month` (its first day), or None while it is open."""
    return next((close for close in closes(path) if close.month == month), None)


def _already_closed(close: MonthClose) -> UserError:
    return UserError(
        f"{close.month:%Y-%m} is already closed (on {close.closed_at:%Y-%m-%d %H:%M} UTC by {close.closed_by}, "
        f"run {close.run_id}); later changes to its amounts show as restatements on the Revenue share page"
    )


def _text(value: object) -> str | None:
    return None if value is None else value.isoformat() if isinstance(value, date | datetime) else str(value)


def close_month(month: date, *, user: str | None = None, role: str = audit.CLI_ROLE) -> MonthClose:
    """Freeze the published statements of `month` (its first day) and record the close in the audit log.

    Refused (UserError) when the month is already closed, has no statements, or was not complete in the published
    data (the month had not ended when they were taken, or a statement's revenue period runs on).
    """
    existing = month_close(month)
    if existing is not None:
        raise _already_closed(existing)
    con = warehouse.connect(paths().warehouse, read_only=True)
    try:
        source = publication(con)
        cursor = con.execute(sql_file("closes/month_statements"), {"month": month})
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()
    if not rows:
        raise UserError(f"no revenue-share statement starts in {month:%Y-%m}; there is nothing to close")
    if not period_complete(month, source.snapshot_at, rows):
        raise UserError(
            f"{month:%Y-%m} is not complete in the published data (as of {source.snapshot_at:%Y-%m-%d %H:%M} UTC: "
            f"the month must have ended by {next_month(month):%Y-%m-%d} and every revenue period with it); "
            "close it after a run that publishes it complete"
        )
    close = MonthClose(
        month=month,
        closed_at=datetime.now(UTC).replace(microsecond=0),
        closed_by=user if user is not None else audit.cli_user(),
        role=role,
        run_id=source.run_id,
        snapshot_at=source.snapshot_at,
        statements=len(rows),
        book_sales=_total(rows, "book_sales"),
        platform_revenue=_total(rows, "platform_revenue"),
        author_revenue=_total(rows, "author_revenue"),
    )
    _store(close, rows)
    return close


def _total(rows: list[dict[str, Any]], column: str) -> Decimal:
    return sum((row[column] for row in rows), start=Decimal(0))


def _store(close: MonthClose, rows: list[dict[str, Any]]) -> None:
    """Write the close and its rows, and its audit entry, in one transaction: no close goes unrecorded."""
    period = close.month.isoformat()
    try:
        with _open(closes_path()) as conn:
            conn.execute(
                sql_file("closes/insert_close"),
                {
                    "period_month": period,
                    "closed_at": close.closed_at.isoformat(),
                    "closed_by": close.closed_by,
                    "role": close.role,
                    "run_id": close.run_id,
                    "snapshot_at": close.snapshot_at.isoformat(),
                    "statements": close.statements,
                    **{name: str(getattr(close, name)) for name in MONEY_COLUMNS},
                },
            )
            conn.executemany(
                sql_file("closes/insert_statement"),
                [
                    {"period_month": period} | {name: _text(value) for name, value in row.items() if name != "partial"}
                    for row in rows
                ],
            )
            audit.record(
                AUDIT_ACTION,
                f"month close {close.month:%Y-%m} ({close.counted})",
                filters={"month": f"{close.month:%Y-%m}"},
                run_id=close.run_id,
                user=close.closed_by,
                role=close.role,
                files=[str(closes_path())],
            )
    except sqlite3.IntegrityError as exc:  # closed by someone else since the check above
        raced = month_close(close.month)
        if raced is None:
            raise
        raise _already_closed(raced) from exc
    except sqlite3.Error as exc:
        raise UserError(f"cannot write the month close to {closes_path()}: {exc}; make the folder writable") from exc


def load_into(con: duckdb.DuckDBPyConnection, path: Path | None = None) -> int:
    """Copy every frozen statement row into the warehouse being built (`meta.closed_statements`); returns the rows.

    Rebuilt from the closes file on every run, so the copy is never older than the closes, whatever the warehouse.
    """
    frozen = pd.DataFrame(_read(path or closes_path(), "frozen"), columns=list(FROZEN_COLUMNS), dtype="string")
    with registered(con, "frozen", frozen):
        con.execute("delete from meta.closed_statements")
        con.execute(sql_file("closes/warehouse_copy"))
    return len(frozen)
