"""The finance export: a month's revenue-share statements as CSV or XLSX, money exact to the cent.

The dashboards' download buttons call the same functions, so both give the same file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import duckdb
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

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
)
MONEY_COLUMNS = ("book_sales", "platform_revenue", "author_revenue")
SUMMARY_COLUMNS = ("author_id", "author_email", "author_name", "statements", *MONEY_COLUMNS)
CENT = Decimal("0.01")
CURRENCY_FORMAT = '"$"#,##0.00'
RATE_FORMAT = "0.00%"
DATE_FORMAT = "yyyy-mm-dd"
TIMESTAMP_FORMAT = "yyyy-mm-dd hh:mm:ss"

_PERIOD = re.compile(r"(\d{4})-(\d{2})")


def parse_period(text: str) -> date:
    """'YYYY-MM' -> the first day of that month."""
    match = _PERIOD.fullmatch(text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise UserError(f"--period {text!r} is not a month; write it as YYYY-MM, e.g. 2024-03")
    return date(int(match.group(1)), int(match.group(2)), 1)


def _next_month(month: date) -> date:
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


def statement_rows(con: duckdb.DuckDBPyConnection, month: date) -> list[dict[str, Any]]:
    """The statements whose revenue period starts in `month`, by author then project: dicts in COLUMNS order."""
    _require_pii(con)
    start = month.replace(day=1)
    cursor = con.execute(
        sql_file("exports/revenue_share_statements"), {"period_start": start, "period_end": _next_month(start)}
    )
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _csv_value(column: str, value: object) -> str:
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
        writer.writerow([_csv_value(column, row[column]) for column in COLUMNS])
    return buffer.getvalue().encode()


def _totals(rows: Iterable[dict[str, Any]]) -> dict[str, Decimal]:
    """Sums of the money columns, in Decimal: exact to the cent, like the source."""
    totals = dict.fromkeys(MONEY_COLUMNS, Decimal("0.00"))
    for row in rows:
        for column in MONEY_COLUMNS:
            totals[column] += row[column]
    return totals


def _author_summaries(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per author, in the statements' order (by author)."""
    by_author: dict[object, list[dict[str, Any]]] = {}
    for row in rows:
        by_author.setdefault(row["author_id"], []).append(row)
    return [
        {
            "author_id": author_id,
            "author_email": statements[0]["author_email"],
            "author_name": statements[0]["author_name"],
            "statements": len(statements),
            **_totals(statements),
        }
        for author_id, statements in by_author.items()
    ]


def _xlsx_value(value: object) -> object:
    """What a cell can hold: UUIDs as text, timestamps as naive UTC (Excel has no time zones)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    if value is None or isinstance(value, bool | int | Decimal | date | str):
        return value
    return str(value)


def _write_sheet(
    sheet: Worksheet, columns: tuple[str, ...], rows: list[dict[str, Any]], totals: Mapping[str, object]
) -> None:
    """Header, rows and a bold totals row; money as numbers with a currency format."""
    bold = Font(bold=True)
    sheet.append(list(columns))
    for cell in sheet[1]:
        cell.font = bold
    for row in rows:
        sheet.append([_xlsx_value(row[column]) for column in columns])
    sheet.append(["Total", *(totals.get(column) for column in columns[1:])])
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    formats = {column: CURRENCY_FORMAT for column in MONEY_COLUMNS} | {
        "commission_rate": RATE_FORMAT,
        "period_start": DATE_FORMAT,
        "period_end": DATE_FORMAT,
        "payout_date": TIMESTAMP_FORMAT,
    }
    for index, column in enumerate(columns, start=1):
        if column in formats:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = formats[column]
    sheet.freeze_panes = "A2"


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


def to_xlsx_bytes(rows: list[dict[str, Any]]) -> bytes:
    """A workbook: 'Statements' (one row each, then totals, then a note if partial) and 'By author'."""
    workbook = Workbook()
    statements = workbook.active
    assert isinstance(statements, Worksheet)  # a new workbook has one empty worksheet
    statements.title = "Statements"
    totals = _totals(rows)
    _write_sheet(statements, COLUMNS, rows, totals)
    note = partial_note(rows)
    if note is not None:
        statements.append([])
        statements.append([f"Note: {note}"])
        statements.cell(row=statements.max_row, column=1).font = Font(bold=True)
    _write_sheet(
        workbook.create_sheet("By author"),
        SUMMARY_COLUMNS,
        _author_summaries(rows),
        {"statements": len(rows), **totals},
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
