"""The finance export: a month's revenue-share statements as CSV (here) or XLSX (`statement_xlsx`), money exact to
the cent.

The dashboards' download buttons call the same functions, so both give the same file. Every file names the
publication (ETL run) its figures come from: the CSV in a `run_id` column on every row (a comment line or a sidecar
would be lost or break CSV readers), the XLSX on its Info sheet.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import duckdb

from pipelines.days import utc_day
from pipelines.errors import UserError
from pipelines.queries import one_row, sql_file

# The file's columns, in order (the query returns them in this order too).
COLUMNS = (
    "revenue_share_id",
    "author_id",
    "author_email",
    "author_name",
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
    "partial",  # the revenue period had not ended at the snapshot: the figures may still change
    "run_id",  # the publication the figures come from
)
MONEY_COLUMNS = ("book_sales", "platform_revenue", "author_revenue")
PAID_COLUMNS = ("author_revenue_paid", "author_revenue_unpaid")
SUMMARY_COLUMNS = ("author_id", "author_email", "author_name", "statements", *MONEY_COLUMNS, *PAID_COLUMNS)
CURRENCY = "USD"  # the platform bills and pays in US dollars (billing.* amounts carry no currency column)
# What a person reads in a spreadsheet or a PDF; the CSV keeps the column names, which programs read.
LABELS = {
    "revenue_share_id": "Statement id",
    "author_id": "Author id",
    "author_email": "Author email",
    "author_name": "Author",
    "project_id": "Book id",
    "project_title": "Book",
    "period_start": "Period start",
    "period_end": "Period end",
    "book_sales": f"Book sales ({CURRENCY})",
    "commission_rate": "Commission rate",
    "platform_revenue": f"Commission ({CURRENCY})",
    "author_revenue": f"Author share ({CURRENCY})",
    "author_revenue_paid": f"Author share paid ({CURRENCY})",
    "author_revenue_unpaid": f"Author share unpaid ({CURRENCY})",
    "payout_status": "Payout status",
    "payout_date": "Payout date (UTC)",
    "partial": "Partial period",
    "run_id": "Run id",
    "statements": "Statements",
}
CENT = Decimal("0.01")
CURRENCY_FORMAT = '"$"#,##0.00'
RATE_FORMAT = "0.00%"
DATE_FORMAT = "yyyy-mm-dd"
TIMESTAMP_FORMAT = "yyyy-mm-dd hh:mm:ss"

_PERIOD = re.compile(r"(\d{4})-(\d{2})")


def parse_period(text: str, what: str = "--period") -> date:
    """'YYYY-MM' -> the first day of that month; `what` names the argument in the error."""
    match = _PERIOD.fullmatch(text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise UserError(f"{what} {text!r} is not a month; write it as YYYY-MM, e.g. 2024-03")
    return date(int(match.group(1)), int(match.group(2)), 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _require_pii(con: duckdb.DuckDBPyConnection) -> None:
    """Statements go to authors, so they need the emails and names a --redact-pii warehouse does not hold."""
    try:
        (redacted,) = one_row(con.execute("select bool_or(redacted) from meta.publication"))
    except duckdb.CatalogException as exc:
        raise UserError("the warehouse has no publication record; run `ebook-analytics etl run` first") from exc
    if redacted:
        raise UserError(
            "the warehouse was published with --redact-pii, so it has no author emails or names; "
            "run `ebook-analytics etl run --full` without --redact-pii to export statements"
        )


@dataclass(frozen=True)
class Publication:
    """The published run a warehouse file is: what every export names as its source."""

    run_id: str
    snapshot_at: datetime  # "data as of": the source's now() inside the extract transaction


def publication(con: duckdb.DuckDBPyConnection) -> Publication:
    """The warehouse's publication record (the frame's own query, `queries/dashboards/publication.sql`)."""
    row = con.execute(sql_file("dashboards/publication")).fetchone()
    if row is None:
        raise UserError("the warehouse has no publication record; run `ebook-analytics etl run` first")
    return Publication(run_id=str(row[0]), snapshot_at=row[1])


def period_complete(month: date, snapshot_at: datetime, rows: list[dict[str, Any]]) -> bool:
    """Whether the month had ended (UTC) when the data were taken and no statement's revenue period runs on."""
    return utc_day(snapshot_at) >= next_month(month) and not any(row["partial"] for row in rows)


def statement_rows(con: duckdb.DuckDBPyConnection, month: date) -> list[dict[str, Any]]:
    """The statements whose revenue period starts in `month`, by author then project: dicts in COLUMNS order."""
    _require_pii(con)
    start = month.replace(day=1)
    cursor = con.execute(
        sql_file("exports/revenue_share_statements"), {"period_start": start, "period_end": next_month(start)}
    )
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def csv_value(column: str, value: object) -> str:
    if value is None:
        return ""
    if column in MONEY_COLUMNS:
        assert isinstance(value, Decimal)  # DECIMAL columns arrive as Decimal
        return str(value.quantize(CENT))
    if column == "payout_date":
        assert isinstance(value, datetime)  # TIMESTAMPTZ arrives as an aware datetime
        return value.astimezone(UTC).isoformat(sep=" ")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    """UTF-8 CSV with a header; money with exactly two decimals, timestamps in UTC."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([csv_value(column, row[column]) for column in COLUMNS])
    return buffer.getvalue().encode()


def partial_note(rows: list[dict[str, Any]]) -> str | None:
    """What to tell the reader when some statements' revenue periods had not ended at the snapshot; else None."""
    partial = [row for row in rows if row["partial"]]
    if not partial:
        return None
    last_day = max(row["period_end"] for row in partial)
    return (
        f"partial: the revenue period of {len(partial)} of {len(rows)} statement(s) runs to {last_day:%Y-%m-%d} and "
        "had not ended when the warehouse was published; their figures may still change"
    )
