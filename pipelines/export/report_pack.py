"""A page's report pack: one XLSX with a cover sheet (page, role, filters, data as of, run id, open warnings) and one
sheet per chart and table holding exactly the rows and columns of that chart's CSV download.

Money (a USD metric or a `*_usd` column) stays numeric with a currency format, other DECIMALs numeric; every data
sheet has its header frozen and filters on. What a role may see is decided before the frames get here: the pack holds
the frames the page drew for that role (pseudonyms for analysts, never an email).
"""

from __future__ import annotations

import io
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

from pipelines.export.revenue_share import CURRENCY, CURRENCY_FORMAT, DATE_FORMAT, TIMESTAMP_FORMAT
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
        ("Page", page),
        ("Role", role),
        *((f"Filter: {key}", value) for key, value in filters),
        ("Data as of (UTC)", _cell(data_as_of.replace(microsecond=0)) if data_as_of else "unknown"),
        ("Run id", run_id or "unknown"),
        ("Currency", CURRENCY),
        ("Open warnings", len(warnings)),
        *(("Warning", warning) for warning in warnings),
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
