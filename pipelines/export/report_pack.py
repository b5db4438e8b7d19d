"""A page's report pack: one XLSX with a cover sheet (page, role, filters, data as of, run id, open warnings) and one
sheet per chart and table holding exactly the rows and columns of that chart's CSV download; or the same as a PDF
(a cover page, then one section per chart and table with its table of values), for mail and print.

Money (a USD metric or a `*_usd` column) stays numeric with a currency format, other DECIMALs numeric; every data
sheet has its header frozen and filters on. What a role may see is decided before the frames get here: the pack holds
the frames the page drew for that role (pseudonyms for analysts, never an email).
"""

from __future__ import annotations

import io
import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from pipelines.export.revenue_share import CURRENCY, CURRENCY_FORMAT, DATE_FORMAT, TIMESTAMP_FORMAT
from pipelines.export.statement_pack import escape
from pipelines.metrics.definitions import definitions

SHEET_NAME_LENGTH = 31  # Excel's limit
_NOT_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\]")
MAX_WIDTH = 60


@dataclass(frozen=True)
class Section:
    """One chart or table of the page: its title, its key (the CSV's file name) and its data."""

    title: str
    key: str
    frame: pd.DataFrame


def sheet_name(key: str, taken: set[str]) -> str:
    """A valid, unique sheet name from a chart key."""
    base = _NOT_IN_SHEET_NAMES.sub("_", key)[:SHEET_NAME_LENGTH] or "sheet"
    name, n = base, 2
    while name.lower() in taken:
        suffix = f"_{n}"
        name, n = base[: SHEET_NAME_LENGTH - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


def _cell(value: Any) -> Any:
    """A cell value: NULLs empty, timestamps as naive UTC (Excel has no time zones), numpy scalars as Python ones."""
    if value is None or (not isinstance(value, str | bytes | Decimal) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, str | bool | int | float | Decimal | date):
        return value
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return str(value)


def is_money(column: str) -> bool:
    """A money column: a metric whose unit is USD (`queries/metrics/*.yml`), or a report column named `*_usd`."""
    metric = definitions().get(column)
    return column.endswith("_usd") or (metric is not None and metric.is_money)


def _number_format(column: str, values: pd.Series) -> str | None:
    sample = values.dropna()
    if sample.empty:
        return None
    first = sample.iloc[0]
    if isinstance(first, Decimal):
        places = max(0, -int(first.as_tuple().exponent))
        digits = "0" * places
        if is_money(column):  # AI costs keep their fractions of a cent: the CSV's exact value, shown in dollars
            return CURRENCY_FORMAT if places == 2 else f'"$"#,##0.{digits}' if places else '"$"#,##0'
        return f"0.{digits}" if places else "0"
    if isinstance(first, pd.Timestamp | datetime):
        return TIMESTAMP_FORMAT if any(v.hour or v.minute or v.second for v in sample) else DATE_FORMAT
    if isinstance(first, date):
        return DATE_FORMAT
    return None


def _write_section(sheet: Worksheet, frame: pd.DataFrame) -> None:
    sheet.append([str(column) for column in frame.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in frame.itertuples(index=False, name=None):
        sheet.append([_cell(value) for value in row])
    for index, column in enumerate(frame.columns, start=1):
        number_format = _number_format(str(column), frame[column])
        if number_format is not None:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = number_format
        longest = max([len(str(column)), *(len(str(value)) + 2 for value in frame[column].head(1000))])
        sheet.column_dimensions[get_column_letter(index)].width = min(longest + 2, MAX_WIDTH)
    sheet.freeze_panes = "A2"
    if len(frame.columns):
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(frame.columns))}{len(frame) + 1}"


def _cover_lines(
    page: str,
    role: str,
    filters: Sequence[tuple[str, str]],
    data_as_of: datetime | None,
    run_id: str | None,
    warnings: Sequence[str],
) -> list[tuple[str, Any]]:
    """The cover's label and value pairs, the same in both formats."""
    return [
        ("Page", page),
        ("Role", role),
        *((f"Filter: {key}", value) for key, value in filters),
        ("Data as of (UTC)", _cell(data_as_of.replace(microsecond=0)) if data_as_of else "unknown"),
        ("Run id", run_id or "unknown"),
        ("Currency", CURRENCY),
        ("Open warnings", len(warnings)),
        *(("Warning", warning) for warning in warnings),
    ]


def report_workbook(
    *,
    page: str,
    role: str,
    filters: Sequence[tuple[str, str]],
    data_as_of: datetime | None,
    run_id: str | None,
    warnings: Sequence[str],
    sections: Sequence[Section],
) -> bytes:
    """The pack: 'Cover', then one sheet per section, in the page's order."""
    workbook = Workbook()
    cover = workbook.active
    assert isinstance(cover, Worksheet)  # a new workbook has one empty worksheet
    cover.title = "Cover"
    taken = {"cover"}
    names = [sheet_name(section.key, taken) for section in sections]
    lines: list[tuple[str, Any]] = [
        *_cover_lines(page, role, filters, data_as_of, run_id, warnings),
        ("Sheets", len(sections)),
        *((name, section.title) for name, section in zip(names, sections, strict=True)),
    ]
    for label, value in lines:
        cover.append([label, value])
        cover.cell(row=cover.max_row, column=1).font = Font(bold=True)
        if isinstance(value, datetime):
            cover.cell(row=cover.max_row, column=2).number_format = TIMESTAMP_FORMAT
    cover.column_dimensions["A"].width = min(max(len(str(label)) for label, _ in lines) + 2, MAX_WIDTH)
    cover.column_dimensions["B"].width = min(max(len(str(value)) for _, value in lines) + 2, MAX_WIDTH)
    for name, section in zip(names, sections, strict=True):
        _write_section(workbook.create_sheet(name), section.frame)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# The PDF: A4 landscape (tables are wide), 7 pt values; columns share the width in proportion to their longest value.
PDF_PAGE = landscape(A4)
PDF_MARGIN = 12 * mm
PDF_FONT_SIZE = 7
PDF_CELL_CHARACTERS = 60  # a longer value is cut (with an ellipsis): the XLSX and the CSV hold it whole


def pdf_text(value: Any) -> str:
    """A value as the PDF shows it: exact decimals, UTC timestamps to the minute (seconds when present), NULL empty."""
    value = _cell(value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}" if value.second else f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return f"{value:%Y-%m-%d}"
    return str(value)


def _cut(text: str) -> str:
    return text if len(text) <= PDF_CELL_CHARACTERS else text[: PDF_CELL_CHARACTERS - 1] + "\u2026"


def _pdf_table(frame: pd.DataFrame, small: Any) -> Table:
    # Spaces for underscores: a narrow column's header then wraps between words, not inside one.
    header = [Paragraph(f"<b>{escape(str(column).replace('_', ' '))}</b>", small) for column in frame.columns]
    rows = [[_cut(pdf_text(value)) for value in row] for row in frame.itertuples(index=False, name=None)]
    longest = [
        max([min(len(str(column)), 16), *(len(row[index]) for row in rows)], default=1)
        for index, column in enumerate(frame.columns)
    ]
    width = PDF_PAGE[0] - 2 * PDF_MARGIN
    total = sum(max(size, 4) for size in longest) or 1
    table = Table([header, *rows], repeatRows=1, colWidths=[width * max(size, 4) / total for size in longest])
    numeric = [index for index, column in enumerate(frame.columns) if frame[column].dropna().map(_is_number).all()]
    table.setStyle(
        TableStyle(
            [
                ("FONTSIZE", (0, 0), (-1, -1), PDF_FONT_SIZE),
                ("LEADING", (0, 0), (-1, -1), PDF_FONT_SIZE + 2),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                *(("ALIGN", (index, 1), (index, -1), "RIGHT") for index in numeric),
            ]
        )
    )
    return table


def _rows(count: int) -> str:
    return "1 row" if count == 1 else f"{count:,} rows"


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def report_pdf(
    *,
    page: str,
    role: str,
    filters: Sequence[tuple[str, str]],
    data_as_of: datetime | None,
    run_id: str | None,
    warnings: Sequence[str],
    sections: Sequence[Section],
) -> bytes:
    """The pack as a PDF: a cover page (the XLSX cover's lines and the list of sections), then one section per chart
    and table: its title, its row count and its table of values. The same inputs give the same bytes (reportlab's
    invariant mode: fixed creation date and document id)."""
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("pack_small", fontSize=PDF_FONT_SIZE, leading=PDF_FONT_SIZE + 2)
    lines = _cover_lines(page, role, filters, data_as_of, run_id, warnings)
    cover = Table(
        [[label, Paragraph(escape(pdf_text(value)), styles["BodyText"])] for label, value in lines],
        colWidths=[50 * mm, PDF_PAGE[0] - 2 * PDF_MARGIN - 50 * mm],
    )
    cover.setStyle(TableStyle([("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold"), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story: list[Flowable] = [
        Paragraph(f"{escape(page)} report pack", styles["Title"]),
        cover,
        Spacer(1, 6 * mm),
        Paragraph(f"Sections ({len(sections)})", styles["Heading2"]),
        *(
            Paragraph(f"{number}. {escape(section.title)}", styles["BodyText"])
            for number, section in enumerate(sections, 1)
        ),
    ]
    for number, section in enumerate(sections, start=1):
        story += [
            PageBreak(),
            Paragraph(f"{number}. {escape(section.title)}", styles["Heading2"]),
            Paragraph(
                f"{_rows(len(section.frame))}; the CSV download {escape(section.key)}.csv holds the same.", small
            ),
            Spacer(1, 2 * mm),
            _pdf_table(section.frame, small) if len(section.frame.columns) else Paragraph("No columns.", small),
        ]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=PDF_PAGE,
        leftMargin=PDF_MARGIN,
        rightMargin=PDF_MARGIN,
        topMargin=PDF_MARGIN,
        bottomMargin=PDF_MARGIN,
        title=f"{page} report pack",
        author="ebook-analytics",
        creator="ebook-analytics",
        invariant=1,  # fixed creation date and document id: the same data gives the same bytes
    )
    document.build(story)
    return buffer.getvalue()


WRITERS = {"xlsx": report_workbook, "pdf": report_pdf}
