"""The finance export: a month's revenue-share statements as CSV or XLSX, money exact to the cent.

The dashboards' download buttons call the same functions, so both give the same file. Every file names the
publication (ETL run) its figures come from: the CSV in a `run_id` column on every row (a comment line or a sidecar
would be lost or break CSV readers), the XLSX on its Info sheet.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import duckdb
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
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
    return snapshot_at.astimezone(UTC).date() >= next_month(month) and not any(row["partial"] for row in rows)


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


def _totals(rows: Iterable[dict[str, Any]]) -> dict[str, Decimal]:
    """Sums of the money columns, in Decimal: exact to the cent, like the source."""
    totals = dict.fromkeys(MONEY_COLUMNS, Decimal("0.00"))
    for row in rows:
        for column in MONEY_COLUMNS:
            totals[column] += row[column]
    return totals


def paid_split(rows: Iterable[dict[str, Any]]) -> dict[str, Decimal]:
    """The author share already paid out and the rest (pending, processing or failed payouts)."""
    split = dict.fromkeys(PAID_COLUMNS, Decimal("0.00"))
    for row in rows:
        split["author_revenue_paid" if row["payout_status"] == "paid" else "author_revenue_unpaid"] += row[
            "author_revenue"
        ]
    return split


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
            **paid_split(statements),
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


FORMATS = {column: CURRENCY_FORMAT for column in (*MONEY_COLUMNS, *PAID_COLUMNS)} | {
    "commission_rate": RATE_FORMAT,
    "period_start": DATE_FORMAT,
    "period_end": DATE_FORMAT,
    "payout_date": TIMESTAMP_FORMAT,
}


def _shown_width(value: object, number_format: str) -> int:
    """About how many characters Excel needs to show `value` in `number_format` (so no amount reads '####')."""
    if value is None:
        return 0
    if number_format == CURRENCY_FORMAT and isinstance(value, Decimal | int):
        return len(f"${value:,.2f}")
    if number_format == TIMESTAMP_FORMAT:
        return len("2024-01-31 23:59:59")
    if number_format == DATE_FORMAT:
        return len("2024-01-31")
    if number_format == RATE_FORMAT:
        return len("100.00%")
    return len(str(value))


def _write_sheet(
    sheet: Worksheet, columns: tuple[str, ...], rows: list[dict[str, Any]], totals: Mapping[str, object]
) -> None:
    """Readable header, rows and a bold totals row; money as numbers with a currency format; columns wide enough
    for every value; the header frozen and filters on the statement rows (not on the totals)."""
    bold = Font(bold=True)
    sheet.append([LABELS[column] for column in columns])
    for cell in sheet[1]:
        cell.font = bold
    for row in rows:
        sheet.append([_xlsx_value(row[column]) for column in columns])
    last_row = sheet.max_row
    sheet.append(["Total", *(totals.get(column) for column in columns[1:])])
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for index, column in enumerate(columns, start=1):
        number_format = FORMATS.get(column, "General")
        widths = [len(LABELS[column])]
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            cell.number_format = number_format
            widths.append(_shown_width(cell.value, number_format))
        sheet.column_dimensions[get_column_letter(index)].width = max(widths) + 2
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{last_row}"


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


def _write_info(sheet: Worksheet, month: date, rows: list[dict[str, Any]], source: Publication) -> None:
    """What the file is: the period, whether it is complete, the currency, the publication its figures come from and
    when it was written."""
    complete = period_complete(month, source.snapshot_at, rows)
    lines: list[tuple[str, object]] = [
        ("Report", "Revenue-share statements"),
        ("Period", f"{month:%Y-%m}"),
        ("Period complete", "yes" if complete else "no"),
        ("Currency", CURRENCY),
        ("Statements", len(rows)),
        ("Run id", source.run_id),
        ("Data as of (UTC)", _xlsx_value(source.snapshot_at.replace(microsecond=0))),
        ("Generated at (UTC)", _xlsx_value(datetime.now(UTC).replace(microsecond=0))),
    ]
    note = partial_note(rows)
    if note is not None:
        lines.append(("Note", note))
    for label, value in lines:
        sheet.append([label, value])
        sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
        if isinstance(value, datetime):
            sheet.cell(row=sheet.max_row, column=2).number_format = TIMESTAMP_FORMAT
    sheet.column_dimensions["A"].width = max(len(label) for label, _ in lines) + 2
    # A long note may overflow into the empty cells to its right; the values above it must show whole.
    sheet.column_dimensions["B"].width = min(max(_shown_width(value, "General") for _, value in lines), 40) + 2


def to_xlsx_bytes(month: date, rows: list[dict[str, Any]], source: Publication) -> bytes:
    """A workbook: 'Statements' (one row each, then totals, then a note if partial), 'By author' (with the paid and
    unpaid author share) and 'Info' (period, completeness, currency, publication)."""
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
        {"statements": len(rows), **totals, **paid_split(rows)},
    )
    _write_info(workbook.create_sheet("Info"), month, rows, source)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
