"""The statement pack: one PDF and one CSV per author for a month, and a manifest of the files with their SHA-256.

Every file of a pack is a function of the publication alone (no time of writing, fixed ordering, and reportlab's
invariant mode, which fixes the PDF's creation date and document id), so running the pack twice on the same
publication gives byte-identical files and the manifest's hashes prove which figures an author was sent.

The PDF library is reportlab: maintained since 2000, a pure-Python wheel (no system libraries, unlike weasyprint's
Pango/Cairo), and it has an invariant mode for reproducible files.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from pipelines.errors import UserError
from pipelines.export.revenue_share import (
    CENT,
    COLUMNS,
    CURRENCY,
    LABELS,
    MONEY_COLUMNS,
    PAID_COLUMNS,
    Publication,
    csv_value,
    next_month,
    period_complete,
    publication,
    statement_rows,
)
from pipelines.queries import sql_file

PACK_FORMATS = ("pdf", "csv")
# The author's figures beside the month's lines (on every CSV row, in the manifest, in the PDF's summary).
SUMMARY_COLUMNS = (
    *MONEY_COLUMNS,
    *PAID_COLUMNS,
    "ytd_book_sales",
    "ytd_platform_revenue",
    "ytd_author_revenue",
    "unpaid_statements_carried_forward",
    "unpaid_carried_forward",
)
SUMMARY_LABELS = {
    "ytd_book_sales": f"Book sales, year to date ({CURRENCY})",
    "ytd_platform_revenue": f"Commission, year to date ({CURRENCY})",
    "ytd_author_revenue": f"Author share, year to date ({CURRENCY})",
    "unpaid_statements_carried_forward": "Unpaid statements of earlier months",
    "unpaid_carried_forward": f"Unpaid author share carried forward ({CURRENCY})",
}
# The author's CSV: the month's statement lines, each with the author's year to date and carried-forward amount
# (repeated on every line, so the file stands alone), and the run it comes from last.
AUTHOR_FIGURES = ("ytd_book_sales", "ytd_platform_revenue", "ytd_author_revenue", "unpaid_carried_forward")
CSV_COLUMNS = (*(column for column in COLUMNS if column != "run_id"), *AUTHOR_FIGURES, "run_id")
MANIFEST_COLUMNS = (
    "file",
    "format",
    "author_id",
    "author_name",
    "author_email",
    "rows",
    *SUMMARY_COLUMNS,
    "period",
    "period_complete",
    "run_id",
    "sha256",
)


@dataclass(frozen=True)
class AuthorStatement:
    """One author's part of the month: the statement lines and the summary figures."""

    author_id: str
    author_name: str | None
    author_email: str | None
    lines: list[dict[str, Any]]
    summary: dict[str, Any]  # SUMMARY_COLUMNS and `statements`

    @property
    def file_stem(self) -> str:
        # The author id: unique, stable across name changes, and safe in any file system (a name may not be).
        return f"statement-{self.author_id}"


@dataclass(frozen=True)
class Pack:
    month: date
    source: Publication
    complete: bool
    authors: list[AuthorStatement]


def pack_contents(con: duckdb.DuckDBPyConnection, month: date) -> Pack:
    """The month's statements grouped by author (in the statements' order: by name), with each author's summary."""
    rows = statement_rows(con, month)
    start = month.replace(day=1)
    cursor = con.execute(
        sql_file("exports/statement_pack_authors"),
        {"period_start": start, "period_end": next_month(start), "year_start": start.replace(month=1)},
    )
    names = [column[0] for column in cursor.description]
    summaries = {str(row[0]): dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    lines: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        lines.setdefault(str(row["author_id"]), []).append(row)
    source = publication(con)
    authors = [
        AuthorStatement(
            author_id=author_id,
            author_name=statements[0]["author_name"],
            author_email=statements[0]["author_email"],
            lines=statements,
            summary=summaries[author_id],
        )
        for author_id, statements in lines.items()
    ]
    return Pack(month=start, source=source, complete=period_complete(start, source.snapshot_at, rows), authors=authors)


def author_csv(author: AuthorStatement) -> bytes:
    """The author's CSV: their statement lines of the month (money with two decimals, timestamps in UTC)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in author.lines:
        values = line | {column: author.summary[column] for column in AUTHOR_FIGURES}
        writer.writerow([_pack_value(column, values[column]) for column in CSV_COLUMNS])
    return buffer.getvalue().encode()


def _pack_value(column: str, value: object) -> str:
    if isinstance(value, Decimal) and column in SUMMARY_COLUMNS:
        return str(value.quantize(CENT))
    return csv_value(column, value)


def _amount(value: Decimal) -> str:
    return f"{value.quantize(CENT):,.2f}"


def _rate(value: Decimal) -> str:
    return f"{value * 100:.2f}%"


def _utc(value: datetime) -> str:
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def author_pdf(pack: Pack, author: AuthorStatement) -> bytes:
    """The author's statement as a PDF: who, which month, the lines, the month's totals and payout state, the year
    to date and the unpaid amount carried forward, and the publication the figures come from."""
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    title = f"Revenue-share statement {pack.month:%B %Y}"
    name = author.author_name or author.author_email or author.author_id
    # Short headers (the amounts' currency is said above the table) so that no word breaks in a narrow column.
    header = [
        "Book",
        "Period start",
        "Period end",
        "Rate",
        "Book sales",
        "Commission",
        "Author share",
        "Payout",
        "Payout date (UTC)",
    ]
    table: list[list[Any]] = [[Paragraph(f"<b>{text}</b>", small) for text in header]]
    for line in author.lines:
        table.append(
            [
                Paragraph(escape(line["project_title"] or str(line["project_id"])), small),
                f"{line['period_start']:%Y-%m-%d}",
                f"{line['period_end']:%Y-%m-%d}",
                _rate(line["commission_rate"]),
                *(_amount(line[column]) for column in MONEY_COLUMNS),
                line["payout_status"],
                "" if line["payout_date"] is None else f"{line['payout_date'].astimezone(UTC):%Y-%m-%d %H:%M}",
            ]
        )
    summary = author.summary
    table.append(["Total", "", "", "", *(_amount(summary[column]) for column in MONEY_COLUMNS), "", ""])
    # A4 less the margins is 186 mm: the money columns fit 1,234,567.89 at 8 pt; a long title wraps.
    widths = [38, 17, 17, 13, 20, 20, 20, 16, 25]
    lines_table = Table(table, repeatRows=1, colWidths=[width * mm for width in widths])
    lines_table.setStyle(
        TableStyle(
            [
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ("ALIGN", (3, 1), (6, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
                ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
            ]
        )
    )
    figures = [
        [LABELS["author_revenue_paid"], _amount(summary["author_revenue_paid"])],
        [LABELS["author_revenue_unpaid"], _amount(summary["author_revenue_unpaid"])],
        *([SUMMARY_LABELS[column], _amount(summary[column])] for column in SUMMARY_COLUMNS[5:8]),
        [SUMMARY_LABELS["unpaid_statements_carried_forward"], str(summary["unpaid_statements_carried_forward"])],
        [SUMMARY_LABELS["unpaid_carried_forward"], _amount(summary["unpaid_carried_forward"])],
    ]
    figures_table = Table(figures, colWidths=[80 * mm, 30 * mm])
    figures_table.setStyle(TableStyle([("FONTSIZE", (0, 0), (-1, -1), 9), ("ALIGN", (1, 0), (1, -1), "RIGHT")]))
    story: list[Flowable] = [
        Paragraph(title, styles["Title"]),
        Paragraph(f"<b>{escape(name)}</b>", styles["BodyText"]),
        Paragraph(escape(author.author_email or ""), styles["BodyText"]),
        Paragraph(f"Author id {author.author_id}", small),
        Spacer(1, 4 * mm),
        Paragraph(
            f"Statements whose revenue period starts in {pack.month:%B %Y}. Amounts in {CURRENCY}; rate: the "
            "platform's commission rate; days are UTC calendar days.",
            small,
        ),
        Spacer(1, 2 * mm),
        lines_table,
        Spacer(1, 6 * mm),
        figures_table,
        Spacer(1, 6 * mm),
        Paragraph(
            f"Data as of {_utc(pack.source.snapshot_at)} (run {pack.source.run_id}). "
            + ("The period is complete." if pack.complete else "The period is not complete: figures may change."),
            small,
        ),
    ]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        title=f"{title}, {name}",
        author="ebook-analytics",
        creator="ebook-analytics",
        invariant=1,  # fixed creation date and document id: the same publication gives the same bytes
    )
    document.build(story)
    return buffer.getvalue()


def escape(text: str) -> str:
    """Text for a reportlab Paragraph, which reads a little markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


WRITERS = {"csv": lambda pack, author: author_csv(author), "pdf": author_pdf}


def parse_formats(text: str) -> list[str]:
    """'pdf,csv' -> ['pdf', 'csv'] (each once, in PACK_FORMATS order)."""
    wanted = {part.strip() for part in text.split(",") if part.strip()}
    unknown = sorted(wanted - set(PACK_FORMATS))
    if unknown or not wanted:
        raise UserError(
            f"--format {text!r} is not a list of pack formats; with --per-author use {', '.join(PACK_FORMATS)} "
            "or both, comma-separated (e.g. pdf,csv)"
        )
    return [fmt for fmt in PACK_FORMATS if fmt in wanted]


def pack_files(pack: Pack, formats: Sequence[str]) -> tuple[dict[str, bytes], list[dict[str, Any]]]:
    """Each author's files by name, then `manifest.csv`, and the manifest's rows (made in memory: nothing is
    written before the pack is recorded in the audit log)."""
    files: dict[str, bytes] = {}
    manifest = []
    for author in pack.authors:
        for fmt in formats:
            name = f"{author.file_stem}.{fmt}"
            files[name] = WRITERS[fmt](pack, author)
            manifest.append(_manifest_row(pack, author, name, fmt, files[name]))
    files["manifest.csv"] = manifest_csv(manifest)
    return files, manifest


def write_files(files: Mapping[str, bytes], directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (directory / name).write_bytes(content)
    except OSError as exc:
        raise UserError(
            f"cannot write the statement pack to {directory}: {exc.strerror}; choose another --out"
        ) from exc


def _manifest_row(pack: Pack, author: AuthorStatement, name: str, fmt: str, content: bytes) -> dict[str, Any]:
    return {
        "file": name,
        "format": fmt,
        "author_id": author.author_id,
        "author_name": author.author_name,
        "author_email": author.author_email,
        "rows": len(author.lines),
        **author.summary,
        "period": f"{pack.month:%Y-%m}",
        "period_complete": pack.complete,
        "run_id": pack.source.run_id,
        "sha256": hashlib.sha256(content).hexdigest(),
    }


def manifest_csv(rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    for row in rows:
        writer.writerow([_pack_value(column, row[column]) for column in MANIFEST_COLUMNS])
    return buffer.getvalue().encode()
