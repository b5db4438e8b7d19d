"""`ebook-analytics export statements` (alias `export revenue-share`): a month's author statements for finance, from
the published warehouse, as one file or as a pack of one PDF and one CSV per author; every export is recorded in the
audit log (`pipelines.audit`)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from pipelines import audit, warehouse
from pipelines.errors import UserError
from pipelines.export.revenue_share import (
    parse_period,
    partial_note,
    publication,
    statement_rows,
    to_csv_bytes,
)
from pipelines.export.statement_pack import pack_contents, pack_files, parse_formats, write_files
from pipelines.export.statement_xlsx import to_xlsx_bytes

FILE_FORMATS = ("csv", "xlsx")


def define_export(export: argparse.ArgumentParser) -> None:
    commands = export.add_subparsers(dest="export_command", metavar="EXPORT", required=True)
    for name, help_text in (
        ("statements", "revenue-share statements of one month (revenue period start): one file, or a pack per author"),
        ("revenue-share", "the same as `export statements` (its earlier name)"),
    ):
        statements = commands.add_parser(name, help=help_text)
        statements.add_argument("--period", required=True, metavar="YYYY-MM", help="month of the revenue periods")
        statements.add_argument(
            "--per-author",
            action="store_true",
            help="a statement pack: one file per author and format, and manifest.csv, in the folder --out",
        )
        statements.add_argument(
            "--format",
            required=True,
            metavar="FORMAT",
            help="csv or xlsx for one file; with --per-author pdf, csv or both (pdf,csv)",
        )
        statements.add_argument(
            "--as-of",
            metavar="RUN_ID|TIMESTAMP",
            help="the publication to export from: a run id, or an ISO time (the last publication at or before it); "
            "default the latest",
        )
        statements.add_argument(
            "--out", required=True, type=Path, metavar="PATH", help="file to write (with --per-author: a folder)"
        )
        statements.set_defaults(func=_statements)


def _statements(args: argparse.Namespace) -> int:
    month = parse_period(args.period)
    if args.per_author:
        return _pack(month, parse_formats(args.format), args.out, args.as_of)
    if args.format not in FILE_FORMATS:
        raise UserError(
            f"--format {args.format!r} is not a file format; use csv or xlsx (or --per-author with pdf,csv)"
        )
    con = warehouse.open_publication(args.as_of)
    try:
        rows = statement_rows(con, month)
        source = publication(con)
    finally:
        con.close()
    content = to_csv_bytes(rows) if args.format == "csv" else to_xlsx_bytes(month, rows, source)
    audit.record(
        "export statements",
        f"revenue-share statements {month:%Y-%m} ({args.format})",
        filters={"period": f"{month:%Y-%m}", "format": args.format, **({"as_of": args.as_of} if args.as_of else {})},
        run_id=source.run_id,
        files=[str(args.out.absolute())],
    )
    try:
        args.out.write_bytes(content)
    except OSError as exc:
        raise UserError(f"cannot write {args.out}: {exc.strerror}; choose another --out path") from exc
    sales = sum((row["book_sales"] for row in rows), start=0)
    print(f"wrote {len(rows)} statements for {month:%Y-%m} (book sales {sales:.2f} USD) to {args.out}")
    _warn_partial(rows)
    return 0


def _pack(month: date, formats: list[str], directory: Path, as_of: str | None) -> int:
    con = warehouse.open_publication(as_of)
    try:
        pack = pack_contents(con, month)
    finally:
        con.close()
    files, manifest = pack_files(pack, formats)
    audit.record(
        "statement pack",
        f"revenue-share statement pack {month:%Y-%m} ({','.join(formats)})",
        filters={"period": f"{month:%Y-%m}", "format": ",".join(formats), "per_author": True},
        run_id=pack.source.run_id,
        files=[str(directory.absolute() / name) for name in files],
    )
    write_files(files, directory)
    sales = sum((author.summary["book_sales"] for author in pack.authors), start=0)
    share = sum((author.summary["author_revenue"] for author in pack.authors), start=0)
    print(
        f"wrote statement packs of {len(pack.authors)} authors for {month:%Y-%m} ({len(manifest)} files; book sales "
        f"{sales:.2f} USD, author share {share:.2f} USD) and manifest.csv to {directory}"
    )
    _warn_partial([line for author in pack.authors for line in author.lines])
    return 0


def _warn_partial(rows: list[dict[str, Any]]) -> None:
    note = partial_note(rows)
    if note is not None:
        print(f"warning: {note}", file=sys.stderr)
