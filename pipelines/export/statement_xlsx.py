"""A month's revenue-share statements as an XLSX workbook (the finance export's `--format xlsx`, the dashboards'
download button), from the rows `revenue_share.statement_rows` returns.

A module of its own so that what needs only the statements' rows (the month close, which every ETL run loads) does
not import openpyxl.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pipelines.export.revenue_share import (
    COLUMNS,
    CURRENCY,
    CURRENCY_FORMAT,
    DATE_FORMAT,
    LABELS,
    MONEY_COLUMNS,
    PAID_COLUMNS,
    RATE_FORMAT,
    SUMMARY_COLUMNS,
    TIMESTAMP_FORMAT,
    Publication,
    partial_note,
    period_complete,
)


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
